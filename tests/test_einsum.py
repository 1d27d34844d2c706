"""ops.einsum (NumPy / jnp.einsum rules, Keras 3 dtypes) and tf.einsum (TensorFlow's rules)
against np.einsum, keras.ops.einsum on JAX and live tf.einsum: a commented corpus, hypothesis-
generated equations, error parity, the error catalogue, and the compiled structure."""

from __future__ import annotations

import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import opt_einsum
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax import lax
from jaxprs import assert_one_contraction, platform_programs
from references import optional
from strategies import assert_same, compares_values, outcome, random, x64_if

from dotsum import ops
from dotsum import tf as dtf

CORPUS = [
    # matrix products and their layouts
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit output
    ("ij,kj->ik", [(2, 3), (4, 3)]),
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("bqhd,bkhd->bhqk", [(2, 3, 4, 5), (2, 6, 4, 5)]),  # attention scores
    ("bhqk,bkhd->bqhd", [(2, 4, 3, 6), (2, 6, 4, 5)]),  # attention values
    ("abk,cdkf->abcdf", [(2, 3, 4), (7, 6, 4, 5)]),  # keras.dot rank 3 . rank 4
    # one operand: transpose, sums, diagonal, trace
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ji", [(3, 3, 2)]),
    ("aBc", [(2, 3, 4)]),  # implicit: sorted, uppercase first
    # outer products, elementwise, scalars
    ("i,j->ij", [(2,), (3,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    (",ij->ij", [(), (2, 3)]),
    ("i,i->", [(4,), (4,)]),
    # ellipsis broadcasting
    ("...ij,...jk->...ik", [(5, 1, 2, 3), (4, 3, 6)]),
    ("...ij,...jk", [(5, 1, 2, 3), (4, 3, 6)]),
    ("i...,i...->...", [(3, 2, 4), (3, 1, 4)]),
    ("...,...->...", [(2, 3), (3,)]),
    # three and more operands: a contraction path
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("abc,cd,de,ef->abf", [(2, 3, 4), (4, 5), (5, 6), (6, 2)]),
    ("ij,jk,ki->", [(2, 3), (3, 4), (4, 2)]),
    ("i,j,k->ijk", [(2,), (3,), (4,)]),
    ("ab,ab,ab->", [(2, 3), (2, 3), (2, 3)]),
    ("iij,jk,kl->il", [(2, 2, 3), (3, 4), (4, 5)]),
    # empty axes
    ("ij,jk->ik", [(2, 0), (0, 4)]),
    ("ij,jk->ik", [(0, 3), (3, 4)]),
    # named labels broadcasting size 1 (NumPy/JAX only; TensorFlow rejects these)
    ("i,i->i", [(1,), (3,)]),
    ("ij,jk", [(2, 1), (3, 4)]),
]
IDS = [f"{s}-{shapes}" for s, shapes in CORPUS]
DTYPES = ["float32", "float64", "complex64"]


def keras_einsum():
    if importlib.util.find_spec("keras") is None:  # Keras 3 on JAX: jnp.einsum, int8 -> int32
        return lambda s, *ops: jnp.einsum(s, *ops, preferred_element_type=(
            jnp.int32 if all(o.dtype == jnp.int8 for o in ops) else None))
    return importlib.import_module("keras").ops.einsum


def unequal_diagonal(subscripts, shapes):
    """A label repeated within one operand at different sizes: NumPy rejects it and jnp.einsum
    returns a masked diagonal; dotsum rejects it (a documented divergence from jnp)."""
    for term, shape in zip(subscripts.split("->")[0].split(","), shapes):
        head, _, tail = term.partition("...")
        pairs = list(zip(head, shape)) + (list(zip(tail, shape[len(shape) - len(tail):]))
                                          if tail else [])
        seen = {}
        for label, size in pairs:
            if seen.setdefault(label, size) != size:
                return True
    return False


def check_ops(subscripts, shapes, dtype):
    arrays = [random(s, dtype, i) for i, s in enumerate(shapes)]
    if unequal_diagonal(subscripts, shapes):
        with pytest.raises(ValueError, match="in operands.* but size .* in operands"):
            ops.einsum(subscripts, *arrays)
        return
    with x64_if(dtype):
        status, expected = outcome(lambda: np.asarray(keras_einsum()(subscripts, *arrays)))
        if status == "ok":
            got = ops.einsum(subscripts, *arrays)
            assert_same(got, expected, dtype)
            numpy_status, numpy_result = outcome(lambda: np.einsum(subscripts, *arrays))
            if np.dtype(dtype) == np.float64 and numpy_status == "ok":  # NumPy, independently
                np.testing.assert_allclose(np.asarray(got), numpy_result, rtol=1e-12,
                                           atol=1e-12)
        else:
            with pytest.raises((ValueError, TypeError)):
                ops.einsum(subscripts, *arrays)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("subscripts, shapes", CORPUS, ids=IDS)
def test_ops_einsum_corpus(subscripts, shapes, dtype):
    check_ops(subscripts, shapes, dtype)


@pytest.mark.parametrize("subscripts, shapes", CORPUS, ids=IDS)
def test_tf_einsum_corpus(subscripts, shapes):
    tf = optional("tensorflow")
    arrays = [random(s, "float32", i) for i, s in enumerate(shapes)]
    status, expected = outcome(lambda: tf.einsum(subscripts, *map(tf.constant, arrays)).numpy())
    if status == "ok":
        assert_same(dtf.einsum(subscripts, *arrays), expected, "float32")
    else:
        with pytest.raises(ValueError):
            dtf.einsum(subscripts, *arrays)


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype float64")  # x64 is off: f32
@pytest.mark.parametrize("dtypes", [("int8", "int8"), ("int8", "uint8"), ("bfloat16", "float16"),
                                    ("float32", "float64"), ("int32", "float32")])
def test_ops_einsum_result_dtypes(dtypes):
    """SEMANTICS §6: int8 . int8 -> int32, int8 . uint8 -> int16, bf16 . f16 -> f32, …"""
    x, y = jnp.ones((2, 3), dtypes[0]), jnp.ones((3, 4), dtypes[1])
    expected = keras_einsum()("ij,jk->ik", x, y)
    got = ops.einsum("ij,jk->ik", x, y)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(got, np.float64), np.asarray(expected, np.float64))


# -- hypothesis-generated equations ---------------------------------------------------------------
@st.composite
def equations(draw, broadcast_labels: bool):
    letters = "abcdA"
    sizes = {c: draw(st.integers(1, 3)) for c in letters}
    n = draw(st.integers(1, 3))
    use_ellipsis = draw(st.booleans())
    ell = draw(st.lists(st.integers(1, 3), max_size=2))
    terms, shapes = [], []
    for _ in range(n):
        term = draw(st.lists(st.sampled_from(letters), max_size=4))
        shape = [sizes[c] if not (broadcast_labels and draw(st.integers(0, 5)) == 0) else 1
                 for c in term]
        if use_ellipsis and draw(st.booleans()):
            cut = draw(st.integers(0, len(term)))
            mine = ell[draw(st.integers(0, len(ell))):]
            mine = [d if draw(st.integers(0, 3)) else 1 for d in mine]
            term = term[:cut] + ["..."] + term[cut:]
            shape = shape[:cut] + mine + shape[cut:]
        terms.append("".join(term))
        shapes.append(tuple(shape))
    used = sorted({c for t in terms for c in t if c != "."})
    subscripts = ",".join(terms)
    if draw(st.booleans()):
        out = draw(st.permutations(used))[: draw(st.integers(0, len(used)))]
        if any("..." in t for t in terms) and draw(st.booleans()):
            out = ["..."] + list(out)
        subscripts += "->" + "".join(out)
    return subscripts, shapes


@compares_values
@given(case=equations(broadcast_labels=True), dtype=st.sampled_from(DTYPES))
def test_ops_einsum_hypothesis(case, dtype):
    check_ops(*case, dtype)


@compares_values
@given(case=equations(broadcast_labels=False))
def test_tf_einsum_hypothesis(case):
    tf = optional("tensorflow")
    subscripts, shapes = case
    arrays = [random(s, "float32", i) for i, s in enumerate(shapes)]
    status, expected = outcome(lambda: tf.einsum(subscripts, *map(tf.constant, arrays)).numpy())
    if status == "ok":
        assert_same(dtf.einsum(subscripts, *arrays), expected, "float32")
    else:
        with pytest.raises((ValueError, TypeError)):
            dtf.einsum(subscripts, *arrays)


# -- errors ---------------------------------------------------------------------------------------
ERRORS = [
    ("i1->i", [(2, 3)], r"^ops\.einsum: invalid character '1' in term 0 'i1' of subscripts "
                        r"'i1->i'; labels are the letters a-z, A-Z, and '\.\.\.'$"),
    ("ij->i->j", [(2, 3)], r"^ops\.einsum: subscripts 'ij->i->j' have more than one '->'$"),
    ("ij->z", [(2, 3)], r"^ops\.einsum: output label 'z' appears in no input term \(subscripts "
                        r"'ij->z'\) \(operands\[0\]\.shape=\(2, 3\)\)$"),
    ("ij->ii", [(2, 2)], r"^ops\.einsum: output label 'i' appears more than once"),
    ("ij,jk->ik", [(2, 3)], r"^ops\.einsum: subscripts 'ij,jk->ik' name 2 operand\(s\) but 1 "
                            r"were given \(operands\[0\]\.shape=\(2, 3\)\)$"),
    ("ij,jk->ik", [(2, 3), (4, 5)],
     r"^ops\.einsum: label 'j' has size 3 in operands\[0\] \(axis 1\) but size 4 in "
     r"operands\[1\] \(axis 0\) \(subscripts 'ij,jk->ik'\) \(operands\[0\]\.shape=\(2, 3\), "
     r"operands\[1\]\.shape=\(4, 5\)\)$"),
    ("ii->i", [(2, 3)], r"^ops\.einsum: label 'i' has size 2 in operands\[0\] \(axis 0\) but "
                        r"size 3 in operands\[0\] \(axis 1\)"),
    ("ij,jk", [(2, 3), (2, 4)], r"^ops\.einsum: label 'j' has size 3 in operands\[0\] \(axis 1\) "
                                r"but size 2 in operands\[1\] \(axis 0\)"),
    ("ijk->i", [(2, 3)], r"^ops\.einsum: operands\[0\] has rank 2 but its term 'ijk' names 3 "
                         r"axes"),
    ("i......->i", [(2, 3)], r"^ops\.einsum: term 0 'i\.\.\.\.\.\.' has more than one '\.\.\.'"),
    ("i.j->i", [(2, 3)], r"^ops\.einsum: invalid character '\.' in term 0 'i\.j'"),
]


@pytest.mark.parametrize("subscripts, shapes, pattern", ERRORS, ids=[e[0] for e in ERRORS])
def test_einsum_errors(subscripts, shapes, pattern):
    with pytest.raises(ValueError, match=pattern):
        ops.einsum(subscripts, *[jnp.ones(s) for s in shapes])


def test_einsum_argument_errors():
    x = jnp.ones((2, 2))
    with pytest.raises(TypeError, match=r"^ops\.einsum: subscripts must be a str; got int 3$"):
        ops.einsum(3, x)
    with pytest.raises(TypeError, match=r"^ops\.einsum: the out argument is not supported"):
        ops.einsum("ij->ij", x, out=x)
    with pytest.raises(ValueError, match=r"^ops\.einsum: optimize='bogus' is not an opt_einsum"):
        ops.einsum("ij,jk,kl", x, x, x, optimize="bogus")
    with pytest.raises(ValueError, match=r"^ops\.einsum: the contraction path \[\(0, 5\)"):
        ops.einsum("ij,jk,kl", x, x, x, optimize=[(0, 5)])
    with pytest.raises(ValueError, match=r"^tf\.einsum: label 'i' has size 1 in operands\[0\]"):
        dtf.einsum("i,i->i", jnp.ones(1), jnp.ones(3))  # TF never broadcasts named labels
    with pytest.raises(ValueError, match=r"^tf\.einsum: implicit output has no '\.\.\.' since"):
        dtf.einsum("...ij,...jk", jnp.ones((5, 2, 3)), jnp.ones((5, 3, 4)))


# -- compiled structure and caching ---------------------------------------------------------------
def test_two_operand_einsum_is_one_dot_general():
    x, y = jnp.ones((2, 3, 4, 5)), jnp.ones((2, 6, 4, 5))
    assert_one_contraction(lambda a, b: ops.einsum("bqhd,bkhd->bhqk", a, b), x, y)
    cpu, xla = platform_programs(jax.make_jaxpr(lambda a, b: ops.einsum("bqhd,bkhd->bhqk", a,
                                                                        b))(x, y))
    # b and h lead neither operand: XLA moves both into GEMM layout, as the plan reports; it
    # leaves the dot_general bare for that (explicit transposes would copy as much)
    moves = ops.einsum.plan("bqhd,bkhd->bhqk", x.shape, y.shape).lowering.moves
    assert [m.what for m in moves] == ["operands[0]", "operands[1]"]
    assert "transpose" not in cpu and "transpose" not in xla, (cpu, xla)
    # where sorting free axes into output order saves the result's copy, CPU transposes
    x, y = jnp.ones((4, 17, 11, 3)), jnp.ones((4, 2, 11, 13))
    assert_one_contraction(lambda a, b: ops.einsum("fhda,fgde->faheg", a, b), x, y)
    cpu, xla = platform_programs(jax.make_jaxpr(lambda a, b: ops.einsum("fhda,fgde->faheg", a,
                                                                        b))(x, y))
    assert cpu.count("transpose") == 2 and xla.count("transpose") == 1, (cpu, xla)


def test_path_is_planned_once(monkeypatch):
    shapes = [(2, 3), (3, 4), (4, 5)]
    plan = ops.einsum.plan("ij,jk,kl->il", *shapes, optimize="optimal")
    assert plan.path is not None and len(plan.path) == 2
    arrays = [jnp.ones(s) for s in shapes]
    ops.einsum("ij,jk,kl->il", *arrays, optimize="optimal")

    def forbidden(*args, **kwargs):
        raise AssertionError("contract_path ran on a cached call")

    monkeypatch.setattr(opt_einsum, "contract_path", forbidden)
    for _ in range(3):
        ops.einsum("ij,jk,kl->il", *arrays, optimize="optimal")


def test_explicit_and_left_to_right_paths():
    shapes = [(2, 3), (3, 4), (4, 5)]
    assert ops.einsum.plan("ij,jk,kl->il", *shapes, optimize=False).path == ((0, 1), (0, 1))
    assert ops.einsum.plan("ij,jk,kl->il", *shapes, optimize=[(1, 2), (0, 1)]).path == (
        (1, 2), (0, 1))
    x = [random(s, "float32", i) for i, s in enumerate(shapes)]
    np.testing.assert_allclose(np.asarray(ops.einsum("ij,jk,kl->il", *x, optimize=[(1, 2),
                                                                                  (0, 1)])),
                               x[0] @ x[1] @ x[2], rtol=1e-5)
    # numpy.einsum_path's path starts with an "einsum_path" marker: skipped, as numpy.einsum
    # does (jnp.einsum and Keras 3 fail on it with a TypeError; docs/design.md)
    path, _ = np.einsum_path("ij,jk,kl->il", *x, optimize="optimal")
    assert path[0] == "einsum_path"
    assert ops.einsum.plan("ij,jk,kl->il", *shapes, optimize=path).path == tuple(
        tuple(step) for step in path[1:])
    np.testing.assert_allclose(np.asarray(ops.einsum("ij,jk,kl->il", *x, optimize=path)),
                               np.einsum("ij,jk,kl->il", *x, optimize=path), rtol=1e-5)


def test_outer_product_keeps_dot_generals_preferred_element_type_rules():
    """A product that sums nothing runs as a broadcast multiply; preferred_element_type still
    means what it means to dot_general (the product, not the inputs, takes that type)."""
    x, y = jnp.arange(3, dtype=jnp.int32) + 100, jnp.arange(4, dtype=jnp.int32) + 3
    with pytest.raises(TypeError, match="narrower"):
        ops.einsum("i,j->ij", x, y, preferred_element_type=jnp.int8)
    wide = ops.einsum("i,j->ij", x.astype(jnp.int8), y.astype(jnp.int8),
                      preferred_element_type=jnp.int32)
    assert wide.dtype == jnp.int32 and int(wide[2, 3]) == 102 * 6  # beyond int8, exact
    for a, b, dtype in [(jnp.array([1 + 2j, 3j]), jnp.array([1j, 2]), jnp.float32),
                        (jnp.array([1.5, -2.5]), jnp.array([1.5]), jnp.int32)]:
        expected = lax.dot_general(a, b, (((), ()), ((), ())), preferred_element_type=dtype)
        got = ops.einsum("i,j->ij", a, b, preferred_element_type=dtype)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
