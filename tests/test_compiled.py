"""Compiled dispatch: eager and jit agree, transformations work, nothing retraces, each op is one
contraction, caches are bounded and clearable, XLA options reach dot_general."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads
from jaxprs import assert_one_contraction
from references import np_batch_dot, np_legacy_batch_dot, np_tf_matmul
from test_golden import GOLDEN, PLANNERS
from test_golden import OPS as GOLDEN_OPS

import dotsum
from dotsum import keras as K
from dotsum import ops
from dotsum import tf as dtf
from dotsum.testing import copied_elements

# (name, op, numpy definition, x shape, y shape, params)
CALLS = [
    ("dot", K.dot, np.dot, (2, 3, 4), (7, 4, 5), {}),
    ("batch_dot", K.batch_dot, np_batch_dot, (4, 3, 5), (4, 2, 5), {"axes": (2, 2)}),
    ("batch_dot_2d", K.batch_dot, np_batch_dot, (4, 3), (4, 3), {}),
    ("legacy", lambda x, y, **p: K.batch_dot(x, y, legacy=True, **p), np_legacy_batch_dot,
     (3, 2, 2), (3, 2, 2), {"axes": -1}),
    ("matmul", dtf.matmul, np_tf_matmul, (5, 1, 2, 3), (4, 6, 3), {"transpose_b": True}),
    ("ops.dot", ops.dot, np.dot, (2, 3, 4), (7, 4, 5), {}),
    ("ops.matmul", ops.matmul, np.matmul, (3,), (2, 3, 4), {}),
    ("ops.tensordot", ops.tensordot, np.tensordot, (2, 3, 4), (4, 3, 5),
     {"axes": ([1, 2], [1, 0])}),
    ("ops.inner", ops.inner, np.inner, (2, 3), (4, 3), {}),
    ("ops.outer", ops.outer, np.outer, (2, 3), (4,), {}),
    ("ops.vdot", ops.vdot, np.vdot, (2, 3), (6,), {}),
    ("ops.einsum", lambda x, y: ops.einsum("bqhd,bkhd->bhqk", x, y),
     lambda x, y: np.einsum("bqhd,bkhd->bhqk", x, y), (2, 3, 4, 5), (2, 6, 4, 5), {}),
    ("ops.einsum-diagonal", lambda x, y: ops.einsum("ii,ij->j", x, y),
     lambda x, y: np.einsum("ii,ij->j", x, y), (3, 3), (3, 4), {}),
    ("tf.einsum", lambda x, y: dtf.einsum("ij,jk->ik", x, y),
     lambda x, y: np.einsum("ij,jk->ik", x, y), (2, 3), (3, 4), {}),
]
IDS = [c[0] for c in CALLS]


def _inputs(x_shape, y_shape, dtype=np.float32):
    rng = np.random.default_rng(0)
    return rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(y_shape).astype(dtype)


class TestEagerAndJit(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_values(self):
        for _, op, reference, x_shape, y_shape, params in CALLS:
            x, y = _inputs(x_shape, y_shape)
            fn = self.variant(lambda a, b, op=op, params=params: op(a, b, **params))
            chex.assert_trees_all_close(np.asarray(fn(x, y)), reference(x, y, **params),
                                        rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, op, reference, x_shape, y_shape, params", CALLS, ids=IDS)
def test_gradients(name, op, reference, x_shape, y_shape, params):
    with jax.enable_x64(True):
        x, y = _inputs(x_shape, y_shape, np.float64)
        check_grads(lambda a, b: op(a, b, **params), (x, y), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name, op, reference, x_shape, y_shape, params", CALLS, ids=IDS)
def test_vmap(name, op, reference, x_shape, y_shape, params):
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((3, *x_shape)).astype(np.float32)
    ys = rng.standard_normal((3, *y_shape)).astype(np.float32)
    got = jax.vmap(lambda a, b: op(a, b, **params))(xs, ys)
    expected = np.stack([reference(a, b, **params) for a, b in zip(xs, ys)])
    chex.assert_trees_all_close(np.asarray(got), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, op, reference, x_shape, y_shape, params", CALLS, ids=IDS)
def test_executor_traced_once(name, op, reference, x_shape, y_shape, params, monkeypatch):
    """dotsum's executor is traced once per plan and dtype: not again for new values, not for
    each user function that jits or differentiates the op."""
    traces = []
    original = dotsum._lower.run

    def counting_run(plan, *arrays):
        traces.append(plan)
        return original(plan, *arrays)

    dotsum.clear_caches()
    monkeypatch.setattr(dotsum._lower, "run", counting_run)
    x, y = _inputs(x_shape, y_shape)
    for seed in range(3):
        op(x + seed, y, **params).block_until_ready()
    for wrap in (lambda out: out * 2, lambda out: out + 1):
        f = jax.jit(lambda a, b, wrap=wrap: wrap(op(a, b, **params)))
        for seed in range(2):
            f(x + seed, y).block_until_ready()
    jax.grad(lambda a: op(a, y, **params).real.sum())(x)
    assert len(traces) == 1, traces
    dotsum.clear_caches()  # drop executors built around the counting run


@pytest.mark.parametrize("name, op, reference, x_shape, y_shape, params", CALLS, ids=IDS)
def test_one_contraction_in_the_jaxpr(name, op, reference, x_shape, y_shape, params):
    x, y = _inputs(x_shape, y_shape)
    assert_one_contraction(lambda a, b: op(a, b, **params), x, y)


CANONICAL = [  # products whose compiled HLO must not move data around
    ("matmul-like", lambda x, y: dtf.matmul(x, y), (8, 16, 32), (8, 32, 24)),
    ("batch_dot default", lambda x, y: K.batch_dot(x, y), (8, 16, 32), (8, 32, 24)),
    ("Dense-like dot", lambda x, y: K.dot(x, y), (8, 16, 32), (32, 24)),
    ("attention scores", lambda x, y: K.batch_dot(x, y, axes=(2, 2)), (8, 16, 32), (8, 24, 32)),
    ("2-D batch_dot", lambda x, y: K.batch_dot(x, y), (8, 32), (8, 32)),
]


@pytest.mark.parametrize("name, fn, x_shape, y_shape", CANONICAL, ids=[c[0] for c in CANONICAL])
def test_canonical_products_compile_without_transpose(name, fn, x_shape, y_shape):
    x, y = _inputs(x_shape, y_shape)
    hlo = jax.jit(fn).lower(x, y).compile().as_text()
    assert "transpose(" not in hlo and " copy(" not in hlo, hlo
    assert "keras." in hlo or "tf." in hlo, "the plan's name scope labels the HLO ops"


def test_operands_swapped_when_output_wants_y_first():
    """dot_general emits lhs free axes before rhs free axes; swap instead of transposing."""
    from dotsum._lower import lower
    from dotsum._plan import Term, make_plan

    plan = make_plan("test", (), [Term("x", (3, 4), ("i", "k"), (3, 4)),
                                  Term("y", (4, 5), ("k", "j"), (4, 5))], ("j", "i"), (5, 3))
    lowering = lower(plan)
    (step,) = lowering.contractions
    assert (step.lhs, step.rhs) == (1, 0) and lowering.transpose is None
    x, y = _inputs((3, 4), (4, 5))
    np.testing.assert_allclose(np.asarray(dotsum._lower.run(plan, x, y)), (x @ y).T, rtol=1e-5)
    # a tie on copies (XLA would fold the transpose of x·y into the GEMM here) still swaps:
    # the program has no transpose at all
    for plan in (dtf.matvec.plan((2, 3), (5, 3)), ops.einsum.plan("bik,bjk->bji", (4, 2, 3),
                                                                   (4, 5, 3))):
        (step,) = plan.lowering.contractions
        assert (step.lhs, step.rhs) == (1, 0) and plan.lowering.transpose is None, plan


def test_eager_calls_reuse_one_compiled_executor():
    dotsum.clear_caches()
    x, y = _inputs((4, 3, 5), (4, 5, 2))
    for _ in range(3):
        K.batch_dot(x, y)
    assert K.batch_dot.plan((4, 3, 5), (4, 5, 2)) is K.batch_dot.plan((4, 3, 5), (4, 5, 2))
    jitted = dotsum._lower.executor(K.batch_dot.plan((4, 3, 5), (4, 5, 2)))
    assert jitted._cache_size() == 1  # traced and compiled once for these avals


def test_clear_caches():
    x, y = _inputs((4, 3), (3, 2))
    K.dot(x, y)
    assert K._DOT.cache_size() >= 1
    dotsum.clear_caches()
    assert K._DOT.cache_size() == 0
    assert dotsum._lower.executor.cache_info().currsize == 0
    np.testing.assert_allclose(np.asarray(K.dot(x, y)), x @ y, rtol=1e-5)  # rebuilt on demand


def test_operand_kinds_agree():
    x, y = _inputs((2, 3), (3, 4))
    expected = x @ y
    for a, b in [(x, y), (jnp.asarray(x), jnp.asarray(y)), (x.tolist(), y.tolist())]:
        np.testing.assert_allclose(np.asarray(K.dot(a, b)), expected, rtol=1e-5)


def test_precision_and_preferred_element_type_reach_dot_general():
    x = jnp.ones((2, 3), jnp.bfloat16)
    jaxpr = str(jax.make_jaxpr(lambda a, b: K.dot(a, b, precision="highest",
                                                  preferred_element_type=jnp.float32))(x, x.T))
    assert "precision=(Precision.HIGHEST, Precision.HIGHEST)" in jaxpr, jaxpr
    assert "preferred_element_type=float32" in jaxpr, jaxpr
    assert K.dot(x, x.T, preferred_element_type=jnp.float32).dtype == jnp.float32


@pytest.mark.parametrize("dtypes", [("float32", "float32"), ("int32", "float32"),
                                    ("bfloat16", "float16"), ("int8", "int8"),
                                    ("int8", "uint8"), ("bool", "bool"),
                                    ("complex64", "float32")])
def test_dtypes_follow_jax_promotion(dtypes):
    x = jnp.ones((2, 3), dtypes[0])
    y = jnp.ones((3, 4), dtypes[1])
    assert K.dot(x, y).dtype == jnp.einsum("ij,jk->ik", x, y).dtype
    assert dtf.matmul(x, y).dtype == jnp.matmul(x, y).dtype


# -- layout: what XLA copies, predicted by the plan ----------------------------------------------
# The rule in _lower.py was measured on XLA:CPU; other backends lay GEMM operands out their own way.
cpu_only = pytest.mark.skipif(jax.default_backend() != "cpu",
                              reason="the layout rule is XLA:CPU's (measured there)")


def _copied(fn, *arrays) -> int:
    return copied_elements(jax.jit(fn).lower(*arrays).compile())


def _gemm_shaped(plan) -> bool:
    """A two-operand matrix-matrix product: a summed label and a free axis on each side (the
    prepared labels, which have no size-1 axes left)."""
    steps = plan.lowering.contractions
    if len(steps) != 1 or len(plan.operands) != 2 or steps[0].broadcast is not None:
        return False
    x, y = (p.labels for p in plan.lowering.prepare)
    return bool(set(x) - set(y)) and bool(set(y) - set(x))


def _jnp_einsum(plan):
    def einsum(*arrays):
        prepared = [t.reshape(o.einsum_shape) for t, o in zip(arrays, plan.operands)]
        return jnp.einsum(plan.subscripts, *prepared).reshape(plan.out_shape)
    return einsum


@cpu_only
@pytest.mark.parametrize("op, x, y, params", [row[:4] for row in GOLDEN],
                         ids=[f"{r[0]}-{r[1]}-{r[2]}-{r[3]}" for r in GOLDEN])
def test_golden_layout_copies(op, x, y, params):
    """Each golden product copies exactly what its plan reports when it is a GEMM (at most that
    otherwise: XLA may fuse a transpose into a multiply-and-reduce), and never more than
    jnp.einsum of its plan."""
    plan = PLANNERS[op](x, y, **params)
    arrays = (jnp.ones(x, jnp.float32), jnp.ones(y, jnp.float32))
    ours = _copied(lambda a, b: GOLDEN_OPS[op][0](a, b, **params), *arrays)
    if _gemm_shaped(plan):
        assert ours == plan.lowering.moved, plan
    else:
        assert ours <= plan.lowering.moved, plan
    assert ours <= _copied(_jnp_einsum(plan), *arrays), plan


SIZES = dict(zip("abcdefgh", (3, 5, 7, 11, 13, 1, 17, 2)))  # f: size-1 axes are squeezed


@st.composite
def gemm_einsums(draw):
    """Two-operand einsums with a summed label and a free axis on each side, axes in any order
    (one of them may have size 1, and then the product may be a matrix-vector one)."""
    letters = draw(st.permutations("abcdefgh"))
    n_batch, n_sum, n_x, n_y = (draw(st.integers(lo, 2)) for lo in (0, 1, 1, 1))
    batch, summed = letters[:n_batch], letters[n_batch:n_batch + n_sum]
    x_free = letters[n_batch + n_sum:n_batch + n_sum + n_x]
    y_free = letters[n_batch + n_sum + n_x:n_batch + n_sum + n_x + n_y]
    x = "".join(draw(st.permutations(batch + summed + x_free)))
    y = "".join(draw(st.permutations(batch + summed + y_free)))
    out = "".join(draw(st.permutations(batch + x_free + y_free)))
    return f"{x},{y}->{out}"


@cpu_only
@settings(deadline=None)
@given(spec=gemm_einsums())
# where XLA folds the result transpose into the GEMM after an operand copy (rare in the draw)
@example(spec="cdea,cbda->ceb")
@example(spec="eag,eac->gc")
def test_gemm_layout_copies_are_predicted_exactly(spec):
    """The plan's ``lowering.moves`` is what XLA:CPU copies, and no more than jnp.einsum does."""
    shapes = [tuple(SIZES[c] for c in part) for part in spec.split("->")[0].split(",")]
    plan = ops.einsum.plan(spec, *shapes)
    arrays = [jnp.ones(s, jnp.float32) for s in shapes]
    ours = _copied(lambda a, b: ops.einsum(spec, a, b), *arrays)
    if _gemm_shaped(plan):
        assert ours == plan.lowering.moved, plan
    else:  # XLA may fuse a matrix-vector product's transposes into its reduce
        assert ours <= plan.lowering.moved, plan
    assert ours <= _copied(_jnp_einsum(plan), *arrays), plan


def test_no_folded_transpose_that_leaves_the_gemm_a_transposed_lhs():
    """Swapping x and y here copies x (0.5M elements) and XLA folds the result's transpose into
    the GEMM, which then takes x contracted-first: XLA:CPU's slower kernel. Copying y (1M) with
    x kept as lhs is charged the same and wins the tie, so the GEMM stays on the fast path."""
    low = ops.einsum.plan("nhd,udh->nu", (512, 16, 64), (1024, 64, 16)).lowering
    (step,) = low.contractions
    assert (step.lhs, step.lhs_perm, low.transpose) == (0, None, None), low


LAYOUT_WINS = [  # where choosing the layout copies less than jnp.einsum's fixed choice
    # scores (b, h, q, k) are 4x the output: transpose the small result, not the scores
    ("bhqk,bhkd->hbqd", (2, 4, 64, 64), (2, 4, 64, 16)),
    # two contracted axes: take them in the order both operands already share
    ("nhd,hdu->nu", (8, 16, 16), (16, 16, 512)),
]


@cpu_only
@pytest.mark.parametrize("spec, x, y", LAYOUT_WINS, ids=[w[0] for w in LAYOUT_WINS])
def test_layout_choice_copies_less_than_jnp_einsum(spec, x, y):
    arrays = (jnp.ones(x, jnp.float32), jnp.ones(y, jnp.float32))
    plan = ops.einsum.plan(spec, x, y)
    ours = _copied(lambda a, b: ops.einsum(spec, a, b), *arrays)
    assert ours == plan.lowering.moved < _copied(_jnp_einsum(plan), *arrays), plan
