"""``dotsum.numpy`` and ``dotsum.lax``: the forms, options and errors the fuzz does not reach.

Values, dtypes and weak types over random calls: ``test_fuzz_jax.py``; JAX's own tests:
``test_jax_suite.py``; ``out_sharding`` on 4 devices: ``out_sharding_checks.py`` (run here).
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from subprocess_checks import run_on_devices

from dotsum import keras as K
from dotsum import lax as dlax
from dotsum import numpy as dnp
from dotsum import ops
from dotsum import tf as dtf
from dotsum.testing import assert_matches_reference, copied_elements


def _rand(*shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


X, Y, Z = _rand(3, 4), _rand(4, 5, seed=1), _rand(5, 2, seed=2)
B = _rand(2, 3, 4, seed=3)

INTERLEAVED = [
    (X, [0, 1], Y, [1, 2]),
    (X, [0, 1], Y, [1, 2], [2, 0]),
    (X, [0, 1], Y, [1, 2], Z, [2, 3], [0, 3]),
    (B, [Ellipsis, 0, 1], X.T, [1, 2], [Ellipsis, 2]),
    (B, [Ellipsis, 1], [Ellipsis]),
    (X, [25, 26], Y, [26, 51]),  # z, A, Z: implicit output by number (z, Z), not by letter
    (B, [Ellipsis, 0, 1], X.T, [1, 2]),  # implicit, with an ellipsis
    (np.ones((3, 3)), [0, 0]),
]


@pytest.mark.parametrize("args", INTERLEAVED, ids=range(len(INTERLEAVED)))
def test_interleaved_form(args):
    assert assert_matches_reference(dnp.einsum, *args)


def test_interleaved_plan_names_letters():
    assert dnp.einsum.plan((3, 4), [0, 1], (4, 5), [1, 2], [2, 0]).subscripts == "ab,bc->ca"
    assert dnp.einsum.plan((3, 4), [25, 26], (4, 5), [26, 51]).subscripts == "zA,AZ->zZ"
    assert dnp.einsum.plan("zA,AZ", (3, 4), (4, 5)).subscripts == "zA,AZ->Zz"  # by letter


@pytest.mark.parametrize("args, kind, message", [
    ((X, [0, 52]), ValueError, r"axis labels of the interleaved form must be in \[0, 52\); got "
                               r"52 for operands\[0\]"),
    ((X, [0, -1]), ValueError, r"axis labels of the interleaved form must be in \[0, 52\); got "
                               r"-1"),
    ((X, [0, 1.0]), TypeError, r"axis labels of the interleaved form must be ints or Ellipsis; "
                               r"got float 1\.0 for operands\[0\]"),
    ((X, "ab"), TypeError, r"the interleaved form takes a list of axis ints \(or Ellipsis\) "
                           r"after each operand; got str for operands\[0\]"),
    ((X, [0, 1], Y, [1, 2], ["a"]), TypeError, r"axis labels of the interleaved form must be "
                                               r"ints or Ellipsis; got str for the output"),
])
def test_interleaved_errors(args, kind, message):
    """jnp takes some of these (labels past 52 become opt_einsum's Unicode symbols, for float32
    NumPy operands); a plan's subscripts have 52 letters, so dotsum refuses them all."""
    with pytest.raises(kind, match=r"^numpy\.einsum: " + message):
        dnp.einsum(*args)


THREE = ("ij,jk,kl->il", _rand(2, 30), _rand(30, 3), _rand(3, 40))


@pytest.mark.parametrize("optimize", ["auto", "greedy", "optimal", "eager", "dp", True, False])
def test_optimize_strategies(optimize):
    assert assert_matches_reference(dnp.einsum, *THREE, optimize=optimize)


def test_optimize_true_is_optimal_and_explicit_paths_run():
    subs, *ops_ = THREE
    shapes = [o.shape for o in ops_]
    assert dnp.einsum.plan(subs, *shapes, optimize=True).path == dnp.einsum.plan(
        subs, *shapes, optimize="optimal").path
    assert dnp.einsum.plan(subs, *shapes, optimize=False).path == ((0, 1), (0, 1))
    # five operands, where opt_einsum's 'auto' (greedy past 4) and 'optimal' differ
    chain = ("ab,bc,cd,de,ef->af", (5, 3), (3, 3), (3, 8), (8, 8), (8, 3))
    assert dnp.einsum.plan(*chain, optimize=True).path == dnp.einsum.plan(
        *chain, optimize="optimal").path != dnp.einsum.plan(*chain).path
    assert ops.einsum.plan(*chain, optimize=True).path == dnp.einsum.plan(*chain,
                                                                          optimize=True).path
    path, _ = jnp.einsum_path(subs, *ops_, optimize="greedy")  # ['einsum_path', (i, j), …]
    assert dnp.einsum.plan(subs, *shapes, optimize=path).path == tuple(map(tuple, path))
    assert assert_matches_reference(dnp.einsum, *THREE, optimize=path)


@pytest.mark.parametrize("optimize, kind, message", [
    ("fastest", ValueError, r"optimize='fastest' is not an opt_einsum path strategy"),
    ([(0, 1, 2)], ValueError, r"the contraction path \[\(0, 1, 2\)\] must contract two of the "
                              r"remaining operands at each step"),
    (3, TypeError, r"optimize must be a bool, a str or an explicit path; got int"),
])
def test_optimize_errors(optimize, kind, message):
    with pytest.raises(Exception):  # noqa: B017 - jnp raises several kinds
        jnp.einsum("ij,jk,kl->il", *THREE[1:], optimize=optimize)
    with pytest.raises(kind, match=r"^numpy\.einsum: " + message):
        dnp.einsum("ij,jk,kl->il", *THREE[1:], optimize=optimize)


@pytest.mark.parametrize("x, y", [((3, 4, 5), (3, 4, 5)), ((2, 1, 3, 4), (5, 3, 4)),
                                  ((4, 3), (2, 1, 4, 3)), ((2, 3), (2, 3))])
def test_vecdot_every_axis(x, y):
    """Each axis of each operand's own rank, batch axes broadcast either side of it."""
    for axis in range(-min(len(x), len(y)), max(len(x), len(y))):
        try:
            jnp.vecdot(jnp.ones(x), jnp.ones(y), axis=axis)
        except (ValueError, IndexError):
            continue
        a, b = _rand(*x, dtype="complex64", seed=1), _rand(*y, dtype="complex64", seed=2)
        assert assert_matches_reference(dnp.vecdot, a + 1j * a[::-1], b, axis=axis), axis


@pytest.mark.parametrize("name, x, y", [("vecmat", (2, 3), (2, 3, 4)), ("vecdot", (2, 3), (2, 3)),
                                        ("vdot", (2, 3), (6,)), ("matvec", (2, 4, 3), (3,))])
def test_conjugating_products(name, x, y):
    """vecmat, vecdot and vdot conjugate x1 (matvec does not), as jnp: complex operands."""
    a = _rand(*x, seed=4) + 1j * _rand(*x, seed=5)
    b = _rand(*y, seed=6) + 1j * _rand(*y, seed=7)
    assert assert_matches_reference(getattr(dnp, name), a.astype("complex64"),
                                    b.astype("complex64"))


def _dot_params(fn, *args, **kw):
    jaxpr = jax.make_jaxpr(functools.partial(fn, **kw))(*args)
    return [e.params for e in jaxpr.eqns if e.primitive == lax.dot_general_p]


PRECISION_CALLS = {
    "dot": ((X, Y), {}), "matmul": ((X, Y), {}), "tensordot": ((X, Y), {"axes": 1}),
    "inner": ((X, X), {}), "vdot": ((X, X), {}), "vecdot": ((X, X), {}),
    "einsum": (("ij,jk->ik", X, Y), {}),
}


@pytest.mark.parametrize("name", list(PRECISION_CALLS))
def test_precision_and_dot_algorithms_reach_dot_general(name):
    args, kw = PRECISION_CALLS[name]
    for precision in (lax.Precision.HIGHEST, "high", lax.DotAlgorithmPreset.F32_F32_F32):
        ours, theirs = (functools.partial(getattr(ns, name), *args, precision=precision, **kw)
                        for ns in (dnp, jnp))
        (params,) = _dot_params(ours)
        (expected,) = _dot_params(theirs)
        assert params["precision"] == expected["precision"]
        np.testing.assert_allclose(ours(), theirs(), rtol=1e-5)


def test_dot_general_is_told_the_result_dtype_as_jnp_tells_it():
    """jnp passes preferred_element_type=result_type(a, b) to dot_general; so do we."""
    x8 = X.astype(jnp.bfloat16)
    for fn, jfn in ((dnp.dot, jnp.dot), (dnp.matmul, jnp.matmul)):
        (ours,), (theirs,) = _dot_params(fn, x8, x8.T), _dot_params(jfn, x8, x8.T)
        assert ours["preferred_element_type"] == theirs["preferred_element_type"] == jnp.bfloat16
        (ours,) = _dot_params(fn, x8, x8.T, preferred_element_type="float32")
        assert ours["preferred_element_type"] == jnp.float32


def test_int8_stays_int8_unlike_keras():
    a = np.full((2, 64), 3, np.int8)
    assert dnp.matmul(a, a.T).dtype == jnp.int8 == jnp.matmul(a, a.T).dtype
    assert ops.matmul(a, a.T).dtype == jnp.int32  # Keras 3 accumulates int8 in int32
    np.testing.assert_array_equal(dnp.einsum("ij,kj->ik", a, a), jnp.einsum("ij,kj->ik", a, a))


@pytest.mark.parametrize("call", [
    lambda ns: ns.dot(2, 3.0), lambda ns: ns.dot(jnp.ones(3, jnp.int32), 2.5),
    lambda ns: ns.outer(2, 3), lambda ns: ns.inner(2.0, jnp.ones(3)),
    lambda ns: ns.einsum(",->", 2.0, 3),
], ids=["scalars", "int-array-float-scalar", "outer-ints", "inner-strong", "einsum"])
def test_weak_types_as_jnp(call):
    ours, theirs = call(dnp), call(jnp)
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)
    # and where it matters: a weak result does not widen a bfloat16 array it meets
    assert (ours * jnp.ones((), jnp.bfloat16)).dtype == (theirs * jnp.ones((), jnp.bfloat16)).dtype


@pytest.mark.parametrize("a, b", [(2.0, jnp.ones(3)), (2.0, 3.0), (jnp.ones(3), 2), (2, 3)],
                         ids=["weak-strong", "weak-weak", "strong-weak", "ints"])
def test_dot_general_weak_types_as_lax(a, b):
    """lax.dot_general's result is weak only when both operands are."""
    dn = (((), ()), ((), ()))
    ours, theirs = dlax.dot_general(a, b, dn), lax.dot_general(a, b, dn)
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)


def test_lists_are_refused_as_in_jax():
    with pytest.raises(TypeError, match=r"^numpy\.dot: b must be an array or a scalar, as in "
                                        r"jax\.numpy \(which refuses lists"):
        dnp.dot(X, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(TypeError, match=r"^lax\.dot_general: lhs must be an array or a scalar"):
        dlax.dot_general([1.0], jnp.ones(1), (((0,), (0,)), ((), ())))
    assert ops.dot(X, [1.0, 2.0, 3.0, 4.0]).shape == (3,)  # dotsum.ops takes lists, as Keras


def test_jit_traces_once_and_matches():
    traces = []

    @jax.jit
    def f(x, y):
        traces.append(1)
        return dnp.einsum("ij,jk->ik", x, y) + dlax.dot_general(x, y, (((1,), (0,)), ((), ())))

    for _ in range(3):
        out = f(X, Y)
    assert len(traces) == 1
    np.testing.assert_allclose(out, 2 * jnp.einsum("ij,jk->ik", X, Y), rtol=1e-5)


# -- lax.dot_general -------------------------------------------------------------------------------
def test_dot_general_layout_and_order():
    """Output: batch, lhs free, rhs free; one dot_general, laid out by the CPU model, whose
    predicted copies are what XLA copies."""
    for lhs, rhs, dn, subscripts in [
            ((8, 2, 3), (3, 8, 5), (((2,), (0,)), ((0,), (1,))), "abk,kae->abe"),
            ((3, 4), (5, 3), (((0,), (1,)), ((), ())), "kb,ck->bc")]:
        plan = dlax.dot_general.plan(lhs, rhs, dn)
        assert plan.subscripts == subscripts and len(plan.lowering.contractions) == 1
        hlo = jax.jit(functools.partial(dlax.dot_general, dimension_numbers=dn)).lower(
            jnp.ones(lhs), jnp.ones(rhs)).compile().as_text()
        assert copied_elements(hlo) == plan.lowering.moved


DTYPES = ["bool", "int8", "uint8", "int16", "int32", "float16", "bfloat16", "float32",
          "complex64"]


def test_dot_general_dtype_rule_is_laxs_for_every_pair():
    """No promotion: XLA's higher-precision operand decides (float16 . bfloat16 -> bfloat16)."""
    dn = (((0,), (0,)), ((), ()))
    for a, b in itertools.product(DTYPES, repeat=2):
        x, y = jnp.ones(2, a), jnp.ones(2, b)
        try:
            expected = lax.dot_general(x, y, dn)
        except TypeError:
            with pytest.raises(TypeError, match=r"^lax\.dot_general: "):
                dlax.dot_general(x, y, dn)
            continue
        got = dlax.dot_general(x, y, dn)
        assert (got.dtype, got.weak_type) == (expected.dtype, expected.weak_type), (a, b)
        np.testing.assert_array_equal(np.asarray(got.astype(jnp.complex64)),
                                      np.asarray(expected.astype(jnp.complex64)))


@pytest.mark.parametrize("dn, message", [
    ((((-1,), (0,)), ((), ())), r"lhs dimension numbers must be non-negative and less than the "
                                r"rank of lhs \(2\); got lhs_contracting=\(-1,\), lhs_batch=\(\)"),
    ((((0,), (0, 1)), ((), ())), r"lhs and rhs must have as many contracting dimensions; got "
                                 r"\(0,\) and \(0, 1\)"),
    ((((0,), (0,)), ((0,), (0,))), r"lhs batch dimensions must be disjoint from its contracting"),
    ((((1, 1), (0, 0)), ((), ())), r"lhs contracting dimensions must be distinct; got \(1, 1\)"),
    ((((0,), (0,)), ((), ())), r"contracting dimensions must have the same sizes; axis 0 of lhs "
                               r"has size 3, axis 0 of rhs has size 4 "
                               r"\(lhs\.shape=\(3, 4\), rhs\.shape=\(4, 5\)\)"),
    ((((0,), (0,)),), r"dimension_numbers must be \(\(lhs_contracting_dims, "
                      r"rhs_contracting_dims\), \(lhs_batch_dims, rhs_batch_dims\)\)"),
    ((((0.5,), (0,)), ((), ())), r"dimension_numbers must be .*, each a sequence of ints; got "
                                 r"\(\(\(0\.5,\), \(0,\)\), \(\(\), \(\)\)\)"),
])
def test_dot_general_errors_are_type_errors_as_in_lax(dn, message):
    with pytest.raises((TypeError, ValueError)):
        lax.dot_general(X, Y, dn)
    with pytest.raises(TypeError, match=r"^lax\.dot_general: " + message):
        dlax.dot_general(X, Y, dn)


@pytest.mark.parametrize("kind", ["numpy", "jax"])  # the general path; the jitted fast path
def test_dot_general_keys_keep_types(kind):
    """dimension_numbers key the call cache as flat values with their types: a cached int call
    does not let the same numbers as bools (or floats) through."""
    x, y = (X, Y) if kind == "numpy" else (jnp.asarray(X), jnp.asarray(Y))
    assert dlax.dot_general(x, y, (((1,), (0,)), ((), ()))).shape == (3, 5)
    for bad in ((((True,), (0,)), ((), ())), (((1.0,), (0,)), ((), ())), (((1,), (0,)), 0)):
        with pytest.raises(TypeError, match=r"^lax\.dot_general: dimension_numbers must be"):
            dlax.dot_general(x, y, bad)
    assert dlax.dot_general(x, y, [[[1], [0]], [[], []]]).shape == (3, 5)  # lists, as lax


@pytest.mark.parametrize("lists", [
    lambda: [[[1], [0]], [[], []]],  # lists all the way
    lambda: (([1], [0]), ([], [])),  # tuples around lists
])
def test_dot_general_remembers_only_unchangeable_numbers(lists):
    """The last dimension_numbers is remembered by identity only when it is tuples all the
    way down: the same list, changed between two calls, is read afresh (its new numbers are
    lax's answer, not the stale ones)."""
    x, y = jnp.ones((3, 4)), jnp.ones((4, 3))
    same = (((1,), (0,)), ((), ()))
    assert dlax.dot_general(x, y, same).shape == dlax.dot_general(x, y, same).shape == (3, 3)
    dn = lists()
    for _ in range(2):  # twice: the second call is the one a stale memory would answer
        np.testing.assert_array_equal(dlax.dot_general(x, y, dn), lax.dot_general(x, y, dn))
    dn[0][0][0], dn[0][1][0] = 0, 1  # now x's axis 0 contracts with y's axis 1
    np.testing.assert_array_equal(dlax.dot_general(x, y * jnp.arange(3.0), dn),
                                  lax.dot_general(x, y * jnp.arange(3.0), dn))


# -- errors where JAX would raise for us -----------------------------------------------------------
@pytest.mark.parametrize("call, kind, message", [
    (lambda: dnp.dot(X, Y, preferred_element_type="float128"), TypeError,
     r"^numpy\.dot: preferred_element_type must be None or a numeric dtype that JAX supports; "
     r"got 'float128'"),
    (lambda: dlax.dot_general(X, Y, (((1,), (0,)), ((), ())), preferred_element_type="float128"),
     TypeError, r"^lax\.dot_general: preferred_element_type must be None or a numeric dtype"),
    (lambda: dnp.einsum("ij,jk", X, Y, out=np.empty((3, 5))), TypeError,
     r"^numpy\.einsum: the out argument is not supported"),
    (lambda: dnp.outer(X, Y, out=np.empty((12, 20))), TypeError,
     r"^numpy\.outer: the out argument is not supported"),
    (lambda: dnp.dot(X, Y, precision="quick"), ValueError,
     r"^numpy\.dot: precision must be None, a jax\.lax\.Precision or one of"),
    (lambda: dnp.vecdot(X, Y, axis=2), ValueError,
     r"^numpy\.vecdot: axis 2 is out of range for x1 of rank 2"),
    (lambda: dnp.vecdot(X, X, axis=1.0), TypeError, r"^numpy\.vecdot: axis must be an int"),
    (lambda: dnp.matvec(X[0], X[0]), ValueError,
     r"^numpy\.matvec: x1 must have rank >= 2 \(a stack of matrices\); got rank 1"),
    (lambda: dnp.vecmat(X, X), ValueError,
     r"^numpy\.vecmat: axis -1 of x1 \(size 4\) does not match axis -2 of x2 \(size 3\)"),
    (lambda: dnp.matmul(X, 2.0), ValueError, r"^numpy\.matmul: b must have rank >= 1"),
    # testTensordotErrors' four calls: jnp's words after the op's name (test_jax_suite.py runs
    # JAX's test itself), dotsum's detail after them; every one a TypeError, as jnp's are
    (lambda: dnp.tensordot(_rand(3, 2, 2), _rand(2), axes=2), TypeError,
     r"^numpy\.tensordot: Number of tensordot axes exceeds input ranks: axes=2 contracts more "
     r"axes than b has \(rank 1\)"),
    (lambda: dnp.tensordot(_rand(3, 2, 2), _rand(2), axes=([0], [0, 1])), TypeError,
     r"^numpy\.tensordot: tensordot requires axes lists to have equal length: 1 for a, 2 for b"),
    (lambda: dnp.tensordot(_rand(3, 2, 2), _rand(2), axes=("bad", "axes")), TypeError,
     r"^numpy\.tensordot: tensordot requires both axes lists to be either ints, tuples or lists "
     r"of ints; got str"),
    (lambda: dnp.tensordot(_rand(3, 2, 2), _rand(2), axes="badaxes"), TypeError,
     r"^numpy\.tensordot: tensordot axes argument must be an int, a pair of ints, or a pair of "
     r"lists of ints \(an int N >= 0\); got str"),
])
def test_errors_name_the_op(call, kind, message):
    with pytest.raises(kind, match=message):
        call()


# -- plans of what you have ------------------------------------------------------------------------
@pytest.mark.parametrize("make", [np.ones, jnp.ones, lambda s: jax.ShapeDtypeStruct(s, "f4")],
                         ids=["numpy", "jax", "ShapeDtypeStruct"])
def test_plans_take_arrays(make):
    x, y = make((2, 3, 4)), make((2, 4, 5))
    for op, args in ((dnp.matmul, ()), (K.batch_dot, ()), (dtf.matmul, ()), (ops.dot, ()),
                     (dlax.dot_general, ((((2,), (1,)), ((0,), (0,))),))):
        assert op.plan(x, y, *args) is op.plan((2, 3, 4), (2, 4, 5), *args)
    assert dnp.einsum.plan("bij,bjk->bik", x, y) is dnp.einsum.plan(
        "bij,bjk->bik", (2, 3, 4), (2, 4, 5))


def test_plans_take_symbolic_arrays():
    (b,) = jax.export.symbolic_shape("b")
    x, y = jax.ShapeDtypeStruct((b, 3, 4), "f4"), jax.ShapeDtypeStruct((b, 4, 5), "f4")
    plan = dnp.matmul.plan(x, y)
    assert str(plan.out_shape) == "(b, 3, 5)" and plan.subscripts == "abk,ake->abe"


def test_out_sharding_on_4_devices(tmp_path):
    run_on_devices(Path(__file__).with_name("out_sharding_checks.py"), 4, tmp_path)
