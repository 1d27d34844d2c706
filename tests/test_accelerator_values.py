"""The cuda/rocm/tpu lowerings' values, run here on the CPU: each platform's program of a plan
(``Plan.lowering_for``) against ``jnp.einsum`` on the einsum corpus and on random einsums with
repeated labels (diagonals, in place on accelerators), over every dtype family: values, dtype
and shape. Plus the few places the lowering or a memo could drop what the user asked for."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax import export
from strategies import compared, compares_values
from test_einsum import CORPUS

from dotsum import lax as dlax
from dotsum import numpy as dnp
from dotsum._lower import _execute, _same_program

PLATFORMS = ("cuda", "rocm", "tpu", "cpu")
FAMILIES = ["int8", "uint8", "int16", "int32", "bool", "bfloat16", "float16", "float32",
            "complex64"]


def operand(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(jnp.dtype(dtype))
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":  # the dtype's whole range: sums and products wrap as jnp's do
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -100), min(info.max, 100), shape, endpoint=True).astype(
            dtype)
    values = rng.standard_normal(shape) + (1j * rng.standard_normal(shape)
                                           if dtype.kind == "c" else 0)
    return jnp.asarray(values.astype(np.complex64 if dtype.kind == "c" else np.float32), dtype)


def run_on(platform, subscripts, arrays):
    """``platform``'s program of ``dotsum.numpy.einsum``'s plan, jitted and run here."""
    plan = dnp.einsum.plan(subscripts, *(a.shape for a in arrays))
    dtype, preferred = plan.result_dtypes(arrays)
    low = plan.lowering_for(platform)
    return jax.jit(lambda *a: _execute(plan, low, dtype, preferred, *a))(*arrays)


def check(subscripts, arrays):
    expected = jnp.einsum(subscripts, *arrays)
    tolerance = {"bfloat16": 5e-2, "float16": 1e-2}.get(str(expected.dtype), 1e-5)
    for platform in PLATFORMS:
        got = run_on(platform, subscripts, arrays)
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape), (platform, subscripts)
        if expected.dtype.kind in "iub":
            np.testing.assert_array_equal(np.asarray(got), np.asarray(expected),
                                          err_msg=f"{platform} {subscripts}")
        else:
            np.testing.assert_allclose(np.asarray(got, np.complex128),
                                       np.asarray(expected, np.complex128), rtol=tolerance,
                                       atol=tolerance * 4, err_msg=f"{platform} {subscripts}")


@pytest.mark.parametrize("subscripts, shapes", [c for c in CORPUS if 0 not in sum(c[1], ())],
                         ids=[f"{s}-{sh}" for s, sh in CORPUS if 0 not in sum(sh, ())])
def test_corpus_on_every_platforms_lowering(subscripts, shapes):
    for k, dtype in enumerate(FAMILIES):
        check(subscripts, [operand(s, dtype, k + i) for i, s in enumerate(shapes)])


@st.composite
def repeated_labels(draw):
    """One or two operands whose terms repeat labels (``iji``, ``kk``): diagonals, sums of
    labels one operand has, and contractions over them."""
    labels = "abcd"
    sizes = {c: draw(st.integers(1, 3)) for c in labels}
    terms = []
    for _ in range(draw(st.integers(1, 2))):
        term = draw(st.lists(st.sampled_from(labels), min_size=1, max_size=3))
        terms.append("".join(term))
    first = terms[0]  # a label the first operand repeats: a diagonal, at a drawn position
    at = draw(st.integers(0, len(first)))
    terms[0] = first[:at] + draw(st.sampled_from(first)) + first[at:]
    used = sorted(set("".join(terms)))
    out = "".join(draw(st.permutations(draw(st.lists(st.sampled_from(used), unique=True)))))
    dtype = draw(st.sampled_from(FAMILIES))
    return (",".join(terms) + "->" + out, [tuple(sizes[c] for c in t) for t in terms], dtype,
            draw(st.integers(0, 2 ** 16)))


@compares_values
@given(case=repeated_labels())
def test_repeated_labels_on_every_platforms_lowering(case):
    subscripts, shapes, dtype, seed = case
    check(subscripts, [operand(s, dtype, seed + i) for i, s in enumerate(shapes)])
    compared()


def test_int8_sums_keep_jnps_dtype_on_accelerators():
    """A label one operand sums alone (``ij,j->``'s ``i``... here ``ijk,k->j``'s ``i``) is summed
    in jnp's accumulator on every platform, and the result has jnp's dtype."""
    x = operand((8, 3, 5), "int8", 0)
    y = operand((5,), "int8", 1)
    check("ijk,k->j", [x, y])
    check("iij->j", [operand((4, 4, 3), "int8", 2)])
    check("iji->ij", [operand((4, 3, 4), "int8", 3)])  # a diagonal of axes apart: a mask, a sum


def test_a_plan_that_differs_only_in_its_diagonal_keeps_both_programs():
    """``ijkj->ik``: CPU takes the diagonal with jnp.diagonal (which moves it last), GPU/TPU in
    place; the contraction is the same. Both must be emitted, so the TPU program has no
    transpose."""
    plan = dnp.einsum.plan("ijkj->ik", (2, 3, 4, 3))
    cpu, tpu = plan.lowering_for("cpu"), plan.lowering_for("tpu")
    assert cpu.contractions == tpu.contractions and cpu.prepare != tpu.prepare
    assert not _same_program(cpu, tpu)
    spec = jax.ShapeDtypeStruct((2, 3, 4, 3), jnp.float32)
    for platform, transposes in (("tpu", 0), ("cpu", 1)):
        text = export.export(jax.jit(lambda a: dnp.einsum("ijkj->ik", a)),
                             platforms=(platform,))(spec).mlir_module()
        assert text.count("stablehlo.transpose ") == transposes, platform


def test_lax_memo_keeps_precision_and_preferred_type():
    """The same dimension-number tuple twice (a literal in a loop): the second call's precision
    and preferred type reach dot_general."""
    dims = (((1,), (0,)), ((), ()))
    x, y = jnp.ones((2, 3)), jnp.ones((3, 4))

    def f(x, y):
        return (dlax.dot_general(x, y, dims), dlax.dot_general(x, y, dims, precision="highest"),
                dlax.dot_general(x, y, dims, preferred_element_type=jnp.int32))

    dlax.dot_general(x, y, dims)  # remembered, eagerly
    eqns = [e for e in jax.make_jaxpr(f)(x, y).jaxpr.eqns if e.primitive.name == "dot_general"]
    assert eqns[0].params["precision"] is None
    assert eqns[1].params["precision"] == (jax.lax.Precision.HIGHEST, jax.lax.Precision.HIGHEST)
    assert eqns[2].params["preferred_element_type"] == jnp.int32
    eager = dlax.dot_general(x, y, dims, precision="highest")
    np.testing.assert_array_equal(np.asarray(eager), np.asarray(dlax.dot_general(x, y, dims)))


@pytest.mark.parametrize("call", [
    lambda m: m.dot(2.0, 3.0, preferred_element_type=jnp.float32),
    lambda m: m.dot(2.0, 3.0),
    lambda m: m.matmul(jnp.ones(3), 2.0 * jnp.ones(3), preferred_element_type=jnp.float32),
    lambda m: m.einsum("i,i->", jnp.ones(3), jnp.ones(3), preferred_element_type=jnp.float32),
])
def test_weak_types_as_jnp_with_a_preferred_type(call):
    """A preferred_element_type makes jnp's result strong, even of two Python scalars."""
    expected, got = call(jnp), call(dnp)
    assert (got.dtype, got.weak_type) == (expected.dtype, expected.weak_type)
