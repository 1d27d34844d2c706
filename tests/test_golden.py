"""The compiler's golden table: (op, shapes, params) -> (subscripts, output shape).

Covers every call in the seed document and every row of SEMANTICS §2, plus the legacy quirks of
§3, tf.matmul's flags and the NumPy-semantics ops of §6. Each row is checked three ways: the
string and shape first, then the plan's einsum run by ``np.einsum`` on the prepared operands, then
the op's values against an independent NumPy definition of the semantics. Runs without any
reference framework.
"""

from __future__ import annotations

import numpy as np
import pytest
from references import np_batch_dot, np_legacy_batch_dot, np_tf_matmul

from dotsum import keras as K
from dotsum import ops
from dotsum import tf as dtf
from dotsum._plan import Term, make_plan

GOLDEN = [
    # -- keras.dot: the seed's calls, then numpy.dot's 1-D cases ---------------------------------
    ("keras.dot", (3, 4), (4, 5), {}, "ak,kc->ac", (3, 5)),
    ("keras.dot", (2, 3, 4), (7, 4, 5), {}, "abk,cke->abce", (2, 3, 7, 5)),
    ("keras.dot", (1, 2, 3, 4), (8, 7, 4, 5), {}, "abck,dekg->abcdeg", (1, 2, 3, 8, 7, 5)),
    ("keras.dot", (1, 2, 4), (8, 7, 4, 5), {}, "abk,cdkf->abcdf", (1, 2, 8, 7, 5)),
    ("keras.dot", (2, 3, 4), (7, 6, 4, 5), {}, "abk,cdkf->abcdf", (2, 3, 7, 6, 5)),  # the design's
    ("keras.dot", (3,), (3,), {}, "k,k->", ()),
    ("keras.dot", (2, 3), (3,), {}, "ak,k->a", (2,)),
    ("keras.dot", (2, 2, 3), (3,), {}, "abk,k->ab", (2, 2)),
    ("keras.dot", (3,), (2, 3, 4), {}, "k,akc->ac", (2, 4)),
    ("keras.dot", (3,), (3, 4), {}, "k,kb->b", (4,)),
    ("keras.dot", (2, 0), (0, 4), {}, "ak,kc->ac", (2, 4)),
    # -- keras.batch_dot: every row of SEMANTICS §2 (the error row is in test_errors.py) ---------
    ("keras.batch_dot", (32, 20), (32, 20), {}, "ak,ak->a", (32, 1)),
    ("keras.batch_dot", (32, 20), (32, 20), {"axes": 1}, "ak,ak->a", (32, 1)),
    ("keras.batch_dot", (4, 2, 3), (4, 3, 5), {}, "abk,ake->abe", (4, 2, 5)),
    ("keras.batch_dot", (4, 2, 3), (4, 5, 3), {"axes": (2, 2)}, "abk,adk->abd", (4, 2, 5)),
    ("keras.batch_dot", (4, 2, 3), (4, 3), {}, "abk,ak->ab", (4, 2)),
    ("keras.batch_dot", (4, 2), (4, 2, 3), {"axes": (1, 1)}, "ak,akd->ad", (4, 3)),
    ("keras.batch_dot", (4, 20, 1), (4, 30, 20), {"axes": (1, 2)}, "akc,adk->acd", (4, 1, 30)),
    ("keras.batch_dot", (10, 12, 4, 5), (10, 12, 5, 8), {}, "abck,aekg->abceg",
     (10, 12, 4, 12, 8)),
    ("keras.batch_dot", (9, 8, 7, 4, 2), (9, 8, 7, 2, 5), {}, "abcdk,afgki->abcdfgi",
     (9, 8, 7, 4, 8, 7, 5)),
    ("keras.batch_dot", (4, 3, 4, 5), (4, 2, 3, 4), {"axes": (2, 3)}, "abkd,aefk->abdef",
     (4, 3, 5, 2, 3)),
    ("keras.batch_dot", (4, 3, 4), (4, 5, 3), {"axes": (-2, -1)}, "akc,adk->acd", (4, 4, 5)),
    # -- legacy batch_dot (Keras <= 2.2.4): the seed's outputs and the §3 quirks ------------------
    ("legacy", (10, 12, 4, 5), (10, 12, 5, 8), {}, "abck,abkg->abcg", (10, 12, 4, 8)),
    ("legacy", (9, 8, 7, 4, 2), (9, 8, 7, 2, 5), {}, "abcdk,abcki->abcdi", (9, 8, 7, 4, 5)),
    # unnormalised negative axes: -1 != ndim-1, so x enters conjugate-transposed: bki,bkj->bij
    ("legacy", (3, 2, 2), (3, 2, 2), {"axes": -1}, "akc,ake->ace", (3, 2, 2)),
    # rank 2: an elementwise product summed over one axis; axis 0 is allowed
    ("legacy", (4, 3), (4, 3), {"axes": 1}, "ak,ak->a", (4, 1)),
    ("legacy", (4, 3), (4, 3), {"axes": 0}, "kb,kb->b", (3, 1)),
    ("legacy", (3, 3), (3, 3), {"axes": (0, 1)}, "kb,bk->b", (3, 1)),
    ("legacy", (3, 3), (3, 3), {"axes": (1, 0)}, "ak,ka->a", (3, 1)),
    # rank padding: the lower-rank operand gets trailing size-1 axes, squeezed afterwards
    ("legacy", (4, 3, 2), (4, 2), {}, "abk,ake->abe", (4, 3)),
    ("legacy", (4, 2), (4, 2, 3), {"axes": (1, 1)}, "akc,ake->ace", (4, 3)),
    ("legacy", (4, 3, 2), (4, 2), {"axes": (2, 1)}, "abk,ake->abe", (4, 3)),
    ("legacy", (4, 3, 5), (4, 3), {"axes": (1, 1)}, "akc,ake->ace", (4, 5)),
    ("legacy", (4, 2, 3), (4, 5, 3), {"axes": (2, 2)}, "abk,adk->abd", (4, 2, 5)),
    # -- tf.matmul ------------------------------------------------------------------------------
    ("tf.matmul", (3, 4), (4, 5), {}, "ak,kc->ac", (3, 5)),
    ("tf.matmul", (10, 12, 4, 5), (10, 12, 5, 8), {}, "abck,abkg->abcg", (10, 12, 4, 8)),
    ("tf.matmul", (9, 8, 7, 4, 2), (9, 8, 7, 2, 5), {}, "abcdk,abcki->abcdi", (9, 8, 7, 4, 5)),
    ("tf.matmul", (5, 1, 2, 3), (4, 3, 6), {}, "abk,cke->acbe", (5, 4, 2, 6)),
    ("tf.matmul", (8, 3, 2), (8, 4, 3), {"transpose_a": True, "transpose_b": True},
     "akc,adk->acd", (8, 2, 4)),
    ("tf.matmul", (8, 3, 2), (3, 4), {"adjoint_a": True}, "akc,kd->acd", (8, 2, 4)),
    ("tf.matmul", (2, 3), (4, 3), {"adjoint_b": True}, "ak,bk->ab", (2, 4)),
    # -- dotsum.ops (NumPy semantics) ------------------------------------------------------------
    ("ops.dot", (2, 3, 4), (7, 4, 5), {}, "abk,cke->abce", (2, 3, 7, 5)),
    ("ops.dot", (), (3, 4), {}, ",ab->ab", (3, 4)),  # a 0-D operand multiplies
    ("ops.dot", (2, 3), (), {}, "ab,->ab", (2, 3)),
    ("ops.matmul", (5, 1, 2, 3), (4, 3, 6), {}, "abk,cke->acbe", (5, 4, 2, 6)),
    ("ops.matmul", (3,), (2, 3, 4), {}, "k,akc->ac", (2, 4)),  # 1-D promoted, then removed
    ("ops.matmul", (2, 3, 4), (4,), {}, "abk,k->ab", (2, 3)),
    ("ops.matmul", (3,), (3,), {}, "k,k->", ()),
    ("ops.tensordot", (2, 3, 4), (3, 4, 5), {}, "akl,kld->ad", (2, 5)),
    ("ops.tensordot", (2, 3, 4), (4, 3, 5), {"axes": ([1, 2], [1, 0])}, "akl,lkd->ad", (2, 5)),
    ("ops.tensordot", (2, 3), (4, 5), {"axes": 0}, "ab,cd->abcd", (2, 3, 4, 5)),
    ("ops.inner", (2, 3), (4, 3), {}, "ak,bk->ab", (2, 4)),
    ("ops.inner", (2, 3, 4), (5, 4), {}, "abk,ck->abc", (2, 3, 5)),
    ("ops.outer", (2, 3), (4,), {}, "a,b->ab", (6, 4)),  # both flattened
    ("ops.vdot", (2, 3), (6,), {}, "k,k->", ()),  # both flattened, x1 conjugated
]

OPS = {
    "keras.dot": (K.dot, lambda x, y: np.dot(x, y)),
    "keras.batch_dot": (K.batch_dot, np_batch_dot),
    "legacy": (lambda x, y, **p: K.batch_dot(x, y, legacy=True, **p), np_legacy_batch_dot),
    "tf.matmul": (dtf.matmul, np_tf_matmul),
    **{f"ops.{name}": (getattr(ops, name), getattr(np, name))
       for name in ("dot", "matmul", "tensordot", "inner", "outer", "vdot")},
}
PLANNERS = {
    "keras.dot": K.dot.plan,
    "keras.batch_dot": K.batch_dot.plan,
    "legacy": lambda x, y, **p: K.batch_dot.plan(x, y, legacy=True, **p),
    "tf.matmul": dtf.matmul.plan,
    **{f"ops.{name}": getattr(ops, name).plan
       for name in ("dot", "matmul", "tensordot", "inner", "outer", "vdot")},
}
IDS = [f"{op}-{x}-{y}-{p}" for op, x, y, p, *_ in GOLDEN]


def _operands(x_shape, y_shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    make = (lambda s: rng.standard_normal(s) + 1j * rng.standard_normal(s)) if np.dtype(
        dtype).kind == "c" else rng.standard_normal
    return make(x_shape).astype(dtype), make(y_shape).astype(dtype)


@pytest.mark.parametrize("op, x, y, params, subscripts, out_shape", GOLDEN, ids=IDS)
def test_plan(op, x, y, params, subscripts, out_shape):
    plan = PLANNERS[op](x, y, **params)
    assert plan.subscripts == subscripts
    assert plan.out_shape == out_shape


@pytest.mark.parametrize("op, x, y, params, subscripts, out_shape", GOLDEN, ids=IDS)
def test_plan_einsum_is_what_runs(op, x, y, params, subscripts, out_shape):
    """The printed plan is honest: np.einsum of its subscripts gives the op's result."""
    plan = PLANNERS[op](x, y, **params)
    xs, ys = _operands(x, y, np.complex128)
    prepared = [
        np.conj(a.reshape(o.einsum_shape)) if o.conj else a.reshape(o.einsum_shape)
        for a, o in zip((xs, ys), plan.operands)
    ]
    expected = np.einsum(plan.subscripts, *prepared).reshape(plan.out_shape)
    fn, _ = OPS[op]
    got = np.asarray(fn(xs.astype(np.complex64), ys.astype(np.complex64), **params))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op, x, y, params, subscripts, out_shape", GOLDEN, ids=IDS)
def test_values_match_definition(op, x, y, params, subscripts, out_shape):
    fn, reference = OPS[op]
    xs, ys = _operands(x, y)
    got = fn(xs, ys, **params)
    expected = reference(xs, ys, **params)
    assert got.shape == expected.shape == out_shape
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-5)


def test_seed_worked_value():
    """SEMANTICS §2's worked value."""
    got = K.batch_dot([[1, 2], [3, 4]], [[5, 6], [7, 8]], axes=1)
    np.testing.assert_array_equal(np.asarray(got), [[17], [53]])


@pytest.mark.parametrize("plan, platform, text", [
    (ops.einsum.plan("iij->j", (3, 3, 4)), "cpu",
     "diagonal(operands[0], axes=((0, 1),)); sum(operands[0], axes=(1,))"),
    (ops.einsum.plan("ij->ij", (2, 3)), "cpu", "identity"),
    (ops.einsum.plan("ij,jk->", (2, 3), (3, 1)), "cpu",
     "sum(operands[0], axes=(0,)); squeeze(operands[1], axes=(1,)); "
     "dot_general(operands[0], operands[1], contract=(0,)x(0,), batch=()x())"),
    (ops.einsum.plan("i,i->i", (3,), (3,)), "cpu",
     "multiply(operands[0], operands[1], broadcast=(0,)x(0,))"),
    # GPU/TPU: a product that sums nothing is dot_general without contraction, as in jnp.einsum
    (ops.einsum.plan("i,i->i", (3,), (3,)), "cuda",
     "dot_general(operands[0], operands[1], contract=()x(), batch=(0,)x(0,))"),
    # GPU/TPU: no operand transposed (CPU copies both into GEMM layout)
    (ops.einsum.plan("bqhd,bkhd->bhqk", (2, 3, 4, 5), (2, 6, 4, 5)), "tpu",
     "dot_general(operands[0], operands[1], contract=(3,)x(3,), batch=(0, 2)x(0, 2))"),
    # CPU: bare where explicit transposes would copy as much as XLA does itself ...
    (ops.einsum.plan("bqhd,bkhd->bhqk", (2, 3, 4, 5), (2, 6, 4, 5)), "cpu",
     "dot_general(operands[0], operands[1], contract=(3,)x(3,), batch=(0, 2)x(0, 2))"),
    # ... transposed where that saves the result's copy (free axes sorted into output order)
    (ops.einsum.plan("fhda,fgde->faheg", (4, 17, 11, 3), (4, 2, 11, 13)), "cpu",
     "dot_general(transpose(operands[0], (0, 3, 1, 2)), transpose(operands[1], (0, 2, 3, 1)), "
     "contract=(3,)x(1,), batch=(0,)x(0,))"),
    # GPU/TPU: a result transpose only where no operand or batch order gives the output's
    (K.dot.plan((2, 3), (4, 3, 5)), "rocm",
     "dot_general(x, y, contract=(1,)x(1,), batch=()x())"),
    (ops.einsum.plan("ij,jk->kij", (2, 3), (3, 4)), "cuda",
     "dot_general(operands[0], operands[1], contract=()x(), batch=(1,)x(0,)) -> "
     "transpose(2, 1, 0)"),
])
def test_lowering_describes_every_step(plan, platform, text):
    """The xla line of plan.describe(platform): per-operand diagonals, sums and squeezes,
    multiplies, and the platform's layout."""
    (xla,) = [line.split(None, 1)[1] for line in plan.describe(platform).splitlines()
              if line.startswith("  xla ")]
    assert xla == f"{platform}: {text}"


@pytest.mark.parametrize("terms, out_ids, out_shape, options, message", [
    ([Term("x", (2, 3), ("a", "k"), (2, 3)), Term("y", (4, 5), ("k", "b"), (4, 5))],
     ("a", "b"), (2, 5), {}, r"axis sizes do not match \(3 != 4\)"),
    ([Term("x", (2, 3), ("a", "k"), (2, 3)), Term("y", (3, 5), ("k", "b"), (3, 5))],
     ("a", "b"), (2, 6), {}, r"cannot reshape the product \(2, 5\) to \(2, 6\)"),
    ([Term("x", (2, 3), ("a", "k"), (2, 3), normalize=(1,)),
      Term("y", (3, 5), ("k", "b"), (3, 5))], ("a", "b"), (2, 5), {},
     r"operands that L2-normalise need an epsilon"),
])
def test_make_plan_refuses_an_inconsistent_rule(terms, out_ids, out_shape, options, message):
    """The safety nets behind every op rule: a rule that labels sizes inconsistently, asks for an
    impossible reshape or normalises without an epsilon gets a clear error, not a wrong plan."""
    with pytest.raises(ValueError, match=r"^test\.op: " + message + r" \(x\.shape=\(2, 3\), "):
        make_plan("test.op", (), terms, out_ids, out_shape, **options)
