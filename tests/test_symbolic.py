"""Symbolic shapes: every op under ``jax.export`` shape polymorphism, and plans of symbolic shapes.

Each golden row and einsum of the corpus is exported with a symbol standing for one of its
sizes (every occurrence of that size, so the concrete call is the symbolic one at that value),
then called at that size and another: both equal the concrete call, and the symbolic plan's
subscripts equal the concrete plan's. The undecidable comparisons are in test_errors.py.
"""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import compared, compares_values, legacy_cases, outcome
from test_einsum import CORPUS, equations
from test_golden import GOLDEN, OPS, PLANNERS

import dotsum
from dotsum import keras as K
from dotsum import lax as dlax
from dotsum import numpy as dnp
from dotsum import ops
from dotsum import tf as dtf
from dotsum._symbolic import HINT

EXTRA = [  # (id, function, planner, shapes, params) beyond the golden rows and the corpus
    ("tf.matvec", dtf.matvec, dtf.matvec.plan, [(6, 3, 4), (4,)], {}),
    ("tf.matvec-batch", dtf.matvec, dtf.matvec.plan, [(6, 3, 4), (6, 3)], {"adjoint_a": True}),
    ("tf.tensordot", dtf.tensordot, dtf.tensordot.plan, [(6, 3, 4), (4, 3, 5)],
     {"axes": [[1, 2], [1, 0]]}),
    ("keras.Dot", lambda x, y: K.Dot(-1)([x, y]), lambda x, y: K.Dot(-1).plan(x, y),
     [(6, 3, 5), (6, 4, 5)], {}),
    ("keras.Dot-normalize", lambda x, y: K.Dot((1, 2), normalize=True)([x, y]),
     lambda x, y: K.Dot((1, 2), normalize=True).plan(x, y), [(6, 5, 3), (6, 4, 5)], {}),
    ("tf.einsum", lambda x, y: dtf.einsum("bqhd,bkhd->bhqk", x, y),
     lambda x, y: dtf.einsum.plan("bqhd,bkhd->bhqk", x, y), [(6, 3, 4, 5), (6, 7, 4, 5)], {}),
    ("tf.einsum-ellipsis", lambda x, y: dtf.einsum("...ij,...jk->...ik", x, y),
     lambda x, y: dtf.einsum.plan("...ij,...jk->...ik", x, y), [(6, 2, 3), (6, 3, 4)], {}),
    ("legacy-capsule", lambda x, y: K.batch_dot(x, y, (2, 3), legacy=True),
     lambda x, y: K.batch_dot.plan(x, y, (2, 3), legacy=True), [(6, 10, 16), (6, 10, 8, 16)],
     {}),
    ("numpy.matmul", dnp.matmul, dnp.matmul.plan, [(6, 1, 3, 4), (5, 4, 2)], {}),
    ("numpy.vecdot", dnp.vecdot, dnp.vecdot.plan, [(6, 3, 4), (4, 3)], {"axis": 1}),
    ("numpy.einsum-interleaved", lambda x, y: dnp.einsum(x, [0, 1, 2], y, [0, 2, 3]),
     lambda x, y: dnp.einsum.plan(x, [0, 1, 2], y, [0, 2, 3]), [(6, 3, 4), (6, 4, 5)], {}),
    ("lax.dot_general", dlax.dot_general, dlax.dot_general.plan, [(6, 3, 4), (4, 6, 5)],
     {"dimension_numbers": (((2,), (0,)), ((0,), (1,)))}),
]


def _calls():
    for op, x, y, params, *_ in GOLDEN:
        yield f"{op}-{x}-{y}-{params}", OPS[op][0], PLANNERS[op], [x, y], params
    for subscripts, shapes in CORPUS:
        yield (f"ops.einsum-{subscripts}-{shapes}",
               lambda *a, s=subscripts: ops.einsum(s, *a),
               lambda *a, s=subscripts: ops.einsum.plan(s, *a), shapes, {})
    yield from EXTRA


def symbolic(shapes, value, name="b"):
    """``shapes`` with every size ``value`` replaced by the symbol ``name``."""
    return [tuple(name if d == value else d for d in s) for s in shapes]


def substitute(shapes, value, name="b"):
    return [tuple(value if d == name else d for d in s) for s in shapes]


# one case per (call, size >= 2 that it uses): that size becomes the symbol b (size 1 is not a
# symbol's job: a symbol is never taken to be 1, so it cannot broadcast as a literal 1 does)
def _values(shapes):
    """The sizes >= 2 of a call: all of them with DOTSUM_SYMBOLIC_ALL=1 (311 cases, 85 s), else
    the first (the leading, batch-like axis where it is one); the hypothesis property below
    draws the others."""
    values = list(dict.fromkeys(d for s in shapes for d in s if d >= 2))
    return values if os.environ.get("DOTSUM_SYMBOLIC_ALL") else values[:1]


CASES = [(name, fn, planner, shapes, params, value)
         for name, fn, planner, shapes, params in _calls() for value in _values(shapes)]


def at(d, size):
    """A size or count with the symbol ``b`` set to ``size``."""
    return d if isinstance(d, int) else int(d._evaluate({"b": size}))


def _arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def check_plan(plan, concrete, size):
    """The symbolic ``plan`` at ``b = size`` is ``concrete`` (the plan of those sizes), but for a
    contraction path: that is priced with b large, so it is the path of ``b = HINT``."""
    assert plan.subscripts == concrete.subscripts
    assert [tuple(at(d, size) for d in o.einsum_shape) for o in plan.operands] == [
        o.einsum_shape for o in concrete.operands]
    assert tuple(at(d, size) for d in plan.out_shape) == concrete.out_shape
    if plan.path == concrete.path:
        assert at(plan.flops, size) == concrete.flops


def check_exported(fn, planner, shapes, params, value, sizes):
    """Export ``fn`` with the symbol ``b`` for ``value``, check its plan against the concrete
    plans, call it at each of ``sizes``."""
    names = symbolic(shapes, value)
    plan = planner(*names, **params)
    if plan.path is not None:
        assert plan.path == planner(*substitute(names, HINT), **params).path
    (b,) = jax.export.symbolic_shape("b")
    specs = [jax.ShapeDtypeStruct(tuple(b if d == "b" else d for d in s), np.float32)
             for s in names]
    exported = jax.export.export(jax.jit(lambda *a: fn(*a, **params)))(*specs)
    # still one dot_general per contraction step
    steps = len(planner(*shapes, **params).lowering.contractions)
    assert exported.mlir_module().count("stablehlo.dot_general") <= steps
    for size in sizes:
        concrete = substitute(names, size)
        if size != 1:  # at 1 the concrete plan drops the axis; the symbolic one keeps it
            check_plan(plan, planner(*concrete, **params), size)
        arrays = _arrays(concrete, seed=size)
        expected = np.asarray(fn(*arrays, **params))  # at `value`, compiled by test_golden
        got = np.asarray(exported.call(*arrays))
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name, fn, planner, shapes, params, value", CASES,
                         ids=[f"{c[0]}-b={c[5]}" for c in CASES])
def test_exported_equals_the_concrete_call(name, fn, planner, shapes, params, value):
    try:
        planner(*symbolic(shapes, value), **params)
    except ValueError as e:  # only where a comparison really depends on b (vdot's sizes)
        assert "cannot decide whether" in str(e)
        assert name.startswith("ops.vdot"), e
        return
    check_exported(fn, planner, shapes, params, value, sizes=(value, value + 3))


# -- a symbol anywhere: random calls, a random size of theirs made symbolic, a random size -------
def _legacy(case):
    x, y, axes = case
    return (lambda a, b: K.batch_dot(a, b, axes, legacy=True),
            lambda a, b: K.batch_dot.plan(a, b, axes, legacy=True), [x, y], {})


def _einsum(case):
    subscripts, shapes = case
    return (lambda *a: ops.einsum(subscripts, *a), lambda *a: ops.einsum.plan(subscripts, *a),
            shapes, {})


def _matmul(case):
    (x, y), flags = case
    return dtf.matmul, dtf.matmul.plan, [x, y], flags


_matmuls = st.tuples(
    st.tuples(st.lists(st.sampled_from([1, 2, 3]), max_size=2), st.integers(1, 4),
              st.integers(1, 4), st.integers(1, 4), st.booleans()).map(
        lambda t: ((*t[0], t[1], t[2]), (*(t[0][-1:] if t[4] else t[0]), t[2], t[3]))),
    st.fixed_dictionaries({}, optional={"transpose_a": st.booleans()}))


def _transposed(case):
    (x, y), flags = case
    if flags.get("transpose_a"):
        x = (*x[:-2], x[-1], x[-2])
    return (x, y), flags


@compares_values
@given(case=st.one_of(legacy_cases(valid_share=0.95).map(_legacy),
                      equations(broadcast_labels=True).map(_einsum),
                      _matmuls.map(_transposed).map(_matmul)),
       data=st.data())
def test_a_symbol_at_any_size(case, data):
    fn, planner, shapes, params = case
    values = sorted({d for s in shapes for d in s if d >= 2})
    assume(values)
    value = data.draw(st.sampled_from(values), label="symbol for")
    size = data.draw(st.integers(2, 9), label="called at")
    status, concrete = outcome(lambda: planner(*shapes, **params))

    symbolic_status, plan = outcome(lambda: planner(*symbolic(shapes, value), **params))
    if status == "error":  # what is wrong at one size is wrong (or undecided) for a symbol
        assert symbolic_status == "error" and isinstance(plan, (ValueError, TypeError)), plan
        return
    if symbolic_status == "error":
        assert isinstance(plan, ValueError) and "cannot decide whether" in str(plan), plan
        return
    check_exported(fn, planner, shapes, params, value, sizes=(value, size))
    compared()


# -- plans of symbolic shapes ---------------------------------------------------------------------
SYMBOLIC_GOLDEN = [  # (id, plan, subscripts, out_shape, flops) as str(plan) prints them
    ("legacy", lambda: K.batch_dot.plan(("b", 12, 4, 5), ("b", 12, 5, 8), legacy=True),
     "abck,abkg->abcg", "(b, 12, 4, 8)", "3840*b"),
    ("batch_dot", lambda: K.batch_dot.plan(("b", 12, 4, 5), ("b", 12, 5, 8)),
     "abck,aekg->abceg", "(b, 12, 4, 12, 8)", "46080*b"),
    ("batch_dot-2d", lambda: K.batch_dot.plan(("b", 20), ("b", 20)), "ak,ak->a", "(b, 1)",
     "40*b"),
    ("legacy-padded", lambda: K.batch_dot.plan(("b", 3, 2), ("b", 2), legacy=True),
     "abk,ake->abe", "(b, 3)", "12*b"),
    ("legacy-capsule", lambda: K.batch_dot.plan(("b", 10, 16), ("b", 10, 8, 16), (2, 3),
                                                legacy=True),
     "abkd,abfk->abdf", "(b, 10, 8)", "2560*b"),
    ("dense", lambda: K.dot.plan(("b", "t", 64), (64, 32)), "abk,kd->abd", "(b, t, 32)",
     "4096*b*t"),
    ("Dot-normalize", lambda: K.Dot(-1, normalize=True).plan(("b", 5), ("b", 5)), "ak,ak->a",
     "(b, 1)", "10*b"),
    ("matmul-broadcast", lambda: dtf.matmul.plan(("b", 3, 4), (1, 4, 5)), "abk,kd->abd",
     "(b, 3, 5)", "120*b"),
    ("matmul-adjoint", lambda: dtf.matmul.plan(("b", "n", 4), ("b", "n", 5), adjoint_a=True),
     "akc,ake->ace", "(b, 4, 5)", "40*b*n"),
    ("matvec", lambda: dtf.matvec.plan(("b", 3, 4), (4,)), "abk,k->ab", "(b, 3)", "24*b"),
    ("tensordot", lambda: dtf.tensordot.plan(("b", 3, 4), (4, 3, 5), [[1, 2], [1, 0]]),
     "akl,lkd->ad", "(b, 5)", "120*b"),
    ("attention", lambda: ops.einsum.plan("bqhd,bkhd->bhqk", ("b", "q", 4, 8), ("b", "k", 4, 8)),
     "bqhd,bkhd->bhqk", "(b, 4, q, k)", "64*b*k*q"),
    ("tf.einsum-ellipsis", lambda: dtf.einsum.plan("...ij,...jk->...ik", ("b", 2, 3), ("b", 3, 4)),
     "aij,ajk->aik", "(b, 2, 4)", "48*b"),
    # b counts as large: the weights are contracted first (at b = 8 the path is left to right)
    ("path", lambda: ops.einsum.plan("bi,ij,jk->bk", ("b", 64), (64, 32), (32, 16)),
     "bi,ij,jk->bk", "(b, 16)", "2048*b + 65536"),
    ("outer-2b", lambda: ops.outer.plan(("b", 2), (3,)), "a,b->ab", "(2*b, 3)", "6*b"),
    ("vdot", lambda: ops.vdot.plan(("b", 2), ("2*b",)), "k,k->", "()", "4*b"),
    ("b+1", lambda: K.dot.plan(("b + 1", 3), (3, 4)), "ak,kc->ac", "(b + 1, 4)", "24*b + 24"),
    ("matmul-vector", lambda: ops.matmul.plan(("n",), ("b", "n", 4)), "k,akc->ac", "(b, 4)",
     "8*b*n"),
]


@pytest.mark.parametrize("plan, subscripts, out_shape, flops", [r[1:] for r in SYMBOLIC_GOLDEN],
                         ids=[r[0] for r in SYMBOLIC_GOLDEN])
def test_symbolic_plan(plan, subscripts, out_shape, flops):
    plan = plan()
    assert (plan.subscripts, str(plan.out_shape), str(plan.flops)) == (subscripts, out_shape,
                                                                        flops)
    lines = {line.split()[0]: line for line in str(plan).splitlines()[1:]}
    assert lines["flops"].split(None, 1)[1] == flops
    assert f" {out_shape}" in lines["out"]


def test_a_symbolic_path_is_priced_with_b_large():
    symbolic_path = ops.einsum.plan("bi,ij,jk->bk", ("b", 64), (64, 32), (32, 16)).path
    assert symbolic_path == ops.einsum.plan("bi,ij,jk->bk", (HINT, 64), (64, 32), (32, 16)).path
    assert symbolic_path != ops.einsum.plan("bi,ij,jk->bk", (8, 64), (64, 32), (32, 16)).path


def test_one_scope_per_call_and_jax_dimensions():
    plan = K.dot.plan(("b", 3), (3, "b"))  # the same name is the same dimension
    assert str(plan.out_shape) == "(b, b)" and str(plan.flops) == "6*b^2"
    (b,) = jax.export.symbolic_shape("b")
    plan = K.batch_dot.plan((b, 12, 4, 5), ("b", 12, 5, 8), legacy=True)  # strings join b's scope
    assert plan.out_shape == (b, 12, 4, 8)
    assert K.dot.plan(("b", 3), (3, 4)) is K.dot.plan(("b", 3), (3, 4))  # cached by the names


def test_a_symbol_is_not_taken_to_be_one():
    """A size-1 axis is dropped from the contraction; a symbol's axis never is (exact for every
    value), and broadcasting against a literal 1 drops the 1."""
    plan = dtf.matmul.plan(("b", 1, 3, 4), (1, "c", 4, 5))
    assert plan.subscripts == "abk,cke->acbe"  # as for (5, 1, 2, 3) . (4, 3, 6)
    assert [str(o.einsum_shape) for o in plan.operands] == ["(b, 3, 4)", "(c, 4, 5)"]
    assert str(plan.out_shape) == "(b, c, 3, 5)"
    plan = dtf.matmul.plan(("b", "n", 3, 4), ("b", 1, 4, 5))  # b equals itself: a batch axis
    assert plan.subscripts == "abck,akf->abcf"


@pytest.mark.parametrize("x, y", [((4, 3, 4), (1, 4, 5)), ((4, 3, 4), (4, 4, 5)),
                                  ((4, 1, 3, 4), (1, 4, 4, 5))])
def test_exported_at_b_equal_to_one(x, y):
    """Keeping a symbol's axis is exact when the symbol turns out to be 1 (b = 1 broadcasts
    like a literal 1 then)."""
    check_exported(dtf.matmul, dtf.matmul.plan, [x, y], {}, 4, sizes=(1, 2))


def test_the_copies_line_shows_symbolic_elements():
    text = str(K.batch_dot.plan(("b", 12, 4, 5), ("b", 12, 5, 8)))
    assert "copies  y 480*b elements (to change layout)" in text


def test_a_round_trip_through_serialization():
    (b,) = jax.export.symbolic_shape("b")
    exported = jax.export.export(jax.jit(lambda x, y: K.batch_dot(x, y, legacy=True)))(
        jax.ShapeDtypeStruct((b, 12, 4, 5), np.float32),
        jax.ShapeDtypeStruct((b, 12, 5, 8), np.float32))
    restored = jax.export.deserialize(exported.serialize())
    assert str(restored.out_avals[0].shape) == "(b, 12, 4, 8)"
    for size in (1, 3):
        x, y = _arrays([(size, 12, 4, 5), (size, 12, 5, 8)])
        np.testing.assert_allclose(np.asarray(restored.call(x, y)), np.matmul(x, y), rtol=2e-5,
                                   atol=2e-5)


def test_inspect_with_a_symbolic_batch():
    (b,) = jax.export.symbolic_shape("b")

    def model(x, w, y):
        return K.batch_dot(K.dot(x, w), y, legacy=True)

    report = dotsum.inspect(model, jax.ShapeDtypeStruct((b, 7, 4), np.float32),
                            jax.ShapeDtypeStruct((4, 5), np.float32),
                            jax.ShapeDtypeStruct((b, 5, 3), np.float32))
    assert [(r.subscripts, str(r.flops), r.op) for r in report.rows] == [
        ("abk,kd->abd", "280*b", "keras.dot"), ("abk,ake->abe", "210*b", "keras.batch_dot[legacy]")]
    assert report.rows[0].plan is not None and str(report.rows[0].plan.out_shape) == "(b, 7, 5)"
    assert str(report.total_flops) == "490*b"
    text = str(report)
    assert "57.1%  280*b" in text and "total 490*b flops in 2 contractions" in text


def test_a_gradient_exports_with_a_symbolic_batch():
    """A training step's products (forward and backward) under a symbolic batch."""
    def loss(w, x, y):
        return (K.batch_dot(K.dot(x, w), y, axes=(2, 1)) ** 2).sum()

    (b,) = jax.export.symbolic_shape("b")
    specs = [jax.ShapeDtypeStruct(s, np.float32) for s in ((4, 5), (b, 3, 4), (b, 5, 2))]
    exported = jax.export.export(jax.jit(jax.grad(loss)))(*specs)
    w, x, y = _arrays([(4, 5), (6, 3, 4), (6, 5, 2)])
    np.testing.assert_allclose(np.asarray(exported.call(w, x, y)),
                               np.asarray(jax.grad(loss)(w, x, y)), rtol=1e-4, atol=1e-5)
