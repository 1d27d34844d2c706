"""Exactness where narrow dtypes, caches and history could make a result silently wrong.

* Accumulation: values that overflow a narrow accumulator (int8 100s: 4 of them already pass
  int8's 127) on every path of the lowering — per-operand sums, diagonals, multiply-only steps,
  contractions, 3-operand paths — against ``jnp.einsum`` (and Keras 3 itself where it is the
  reference), for every integer dtype and for ``preferred_element_type``.
* Keys by value: a cached call never answers for another (list subclasses, mutated lists,
  frozen keys that equal raw tuples, values Python calls equal).
* Verdicts keyed on everything that decides them, in a fresh process and after a history.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from references import optional

import dotsum
from dotsum import keras as K
from dotsum import ops
from dotsum import tf as dtf
from dotsum.testing import assert_matches_reference

INTS = ["int8", "uint8", "int16", "uint16", "int32"]

# (subscripts, shapes): each lowering path, with enough terms that int8 sums overflow
PATHS = [
    ("ij->", [(4, 8)]),  # a sum inside one operand
    ("ij->i", [(4, 8)]),
    ("ii->", [(8, 8)]),  # a diagonal, then a sum
    ("ii->i", [(8, 8)]),  # a diagonal alone (no arithmetic) ...
    ("iij->j", [(8, 8, 3)]),
    ("ij->ji", [(4, 8)]),  # no contraction at all: only the final cast
    ("ij,j->", [(4, 8), (8,)]),  # a per-operand sum, then a contraction
    ("ij,jk->ik", [(3, 8), (8, 2)]),  # one dot_general
    ("bij,bjk->bik", [(2, 3, 8), (2, 8, 2)]),
    ("i,j->ij", [(5,), (6,)]),  # a multiply-only step
    ("i,j->", [(5,), (6,)]),  # both sums, then a multiply of scalars
    ("ij,jk,kl->il", [(3, 8), (8, 8), (8, 2)]),  # a 3-operand path
    ("ij,k,kl->il", [(3, 4), (8,), (8, 2)]),  # a path with a multiply-only step
]


def full(shape, value, dtype):
    return jnp.full(shape, value, dtype)


def big(dtype):
    """A value whose sums and products overflow ``dtype`` but not int32."""
    return {"int8": 100, "uint8": 200, "int16": 3000, "uint16": 60000, "int32": 3000}[dtype]


@pytest.mark.parametrize("subscripts, shapes", PATHS, ids=[p[0] for p in PATHS])
@pytest.mark.parametrize("dtype", INTS)
def test_preferred_element_type_accumulates_every_path(subscripts, shapes, dtype):
    """With preferred_element_type=int32 nothing wraps in the operand dtype, on any path; the
    values and dtype are jnp.einsum's, which sums in the preferred type too."""
    arrays = [full(s, big(dtype), dtype) for s in shapes]
    expected = jnp.einsum(subscripts, *arrays, preferred_element_type=jnp.int32)
    for op in (ops.einsum, dtf.einsum):
        got = op(subscripts, *arrays, preferred_element_type=jnp.int32)
        assert got.dtype == expected.dtype == jnp.int32
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected), err_msg=op.__name__)
    exact = np.einsum(subscripts, *[np.asarray(a, np.int64) for a in arrays])
    if np.abs(exact).max(initial=0) < 2**31:  # the reference itself is exact where int32 is
        np.testing.assert_array_equal(np.asarray(expected), exact)


@pytest.mark.parametrize("subscripts, shapes", PATHS, ids=[p[0] for p in PATHS])
def test_ops_einsum_int8_accumulates_like_keras3(subscripts, shapes):
    """Keras 3 on JAX runs int8 einsums with preferred_element_type=int32: no int8 sum wraps
    (``ij->`` of 32 hundreds was -128)."""
    optional("keras")
    assert_matches_reference(ops.einsum, subscripts, *[full(s, 100, "int8") for s in shapes])


@pytest.mark.parametrize("subscripts, shapes", PATHS, ids=[p[0] for p in PATHS])
@pytest.mark.parametrize("preferred", ["int8", "int16", "float32", "bfloat16"])
def test_other_preferred_types_are_jnp_einsums(subscripts, shapes, preferred):
    """Narrower, wider and floating preferred types: jnp.einsum's result dtype and values (or
    its kind of error), never the operand dtype."""
    arrays = [full(s, 100, "int32") for s in shapes]
    try:
        expected = jnp.einsum(subscripts, *arrays, preferred_element_type=preferred)
    except TypeError:  # dot_general refuses a preferred type narrower than its operands
        with pytest.raises(TypeError, match=r"^ops\.einsum: .*narrower"):
            ops.einsum(subscripts, *arrays, preferred_element_type=preferred)
        return
    got = ops.einsum(subscripts, *arrays, preferred_element_type=preferred)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(got, np.float64), np.asarray(expected, np.float64))


def test_the_int8_policy_yields_to_the_users_preferred_type():
    """Keras 3's int8 -> int32 rule applies only when no preferred_element_type is given."""
    x = full((3, 8), 100, "int8")
    for preferred in ("int16", "float32", "int8"):
        got = ops.matmul(x, x.T, preferred_element_type=preferred)
        expected = jnp.matmul(x, x.T, preferred_element_type=preferred)
        assert got.dtype == expected.dtype == jnp.dtype(preferred)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
        got = ops.einsum("ij->", x, preferred_element_type=preferred)
        assert got.dtype == jnp.dtype(preferred)


def test_int32_operands_with_int8_preferred_wrap_like_jnp():
    """A sum-only plan sums in the operand dtype (int32 is wider than int8) and casts at the
    end, as jnp.einsum does."""
    x = full((4, 8), 100, "int32")
    for subscripts in ("ij->", "ij->ji"):
        got = ops.einsum(subscripts, x, preferred_element_type=jnp.int8)
        expected = jnp.einsum(subscripts, x, preferred_element_type=jnp.int8)
        assert got.dtype == jnp.int8
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


CALLS = [  # every other op with int8 hundreds and output int32: numpy in int64 is exact
    (lambda x, y, **p: K.dot(x, y, **p), (3, 8), (8, 2), lambda x, y: x @ y),
    (lambda x, y, **p: K.batch_dot(x, y, **p), (2, 3, 8), (2, 8, 2), lambda x, y: x @ y),
    (lambda x, y, **p: K.batch_dot(x, y, legacy=True, **p), (2, 3, 8), (2, 8, 2),
     lambda x, y: x @ y),
    (lambda x, y, **p: K.batch_dot(x, y, 1, legacy=True, **p), (4, 8), (4, 8),
     lambda x, y: (x * y).sum(1, keepdims=True)),  # legacy rank 2: multiply and sum
    (lambda x, y, **p: K.Dot(1)([x, y], **p), (4, 8), (4, 8),
     lambda x, y: (x * y).sum(1, keepdims=True)),
    (lambda x, y, **p: dtf.matmul(x, y, transpose_b=True, **p), (3, 8), (2, 8),
     lambda x, y: x @ y.T),
    (lambda x, y, **p: dtf.matvec(x, y, **p), (3, 8), (8,), lambda x, y: x @ y),
    (lambda x, y, **p: dtf.tensordot(x, y, 1, **p), (3, 8), (8, 2), lambda x, y: x @ y),
    (lambda x, y, **p: ops.dot(x, y, **p), (3, 8), (8, 2), lambda x, y: x @ y),
    (lambda x, y, **p: ops.tensordot(x, y, 2, **p), (3, 8), (3, 8),
     lambda x, y: (x * y).sum()),
    (lambda x, y, **p: ops.inner(x, y, **p), (3, 8), (2, 8), lambda x, y: x @ y.T),
    (lambda x, y, **p: ops.outer(x, y, **p), (3, 8), (8,), lambda x, y: np.outer(x, y)),
    (lambda x, y, **p: ops.vdot(x, y, **p), (3, 8), (24,), lambda x, y: x.ravel() @ y),
]


@pytest.mark.parametrize("call, x_shape, y_shape, exact", CALLS)
def test_every_op_accumulates_in_the_preferred_type(call, x_shape, y_shape, exact):
    x, y = full(x_shape, 100, "int8"), full(y_shape, 100, "int8")
    got = call(x, y, preferred_element_type=jnp.int32)
    assert got.dtype == jnp.int32
    expected = exact(np.asarray(x, np.int64), np.asarray(y, np.int64))
    np.testing.assert_array_equal(np.asarray(got), expected)


def test_tf_matmul_output_type_accumulates_int8_in_int32():
    x = full((1, 64), 100, "int8")
    got = dtf.matmul(x, x, transpose_b=True, output_type=jnp.int32)
    assert got.dtype == jnp.int32 and int(got[0, 0]) == 64 * 100 * 100


def test_low_precision_floats_accumulate_in_the_preferred_type():
    """bfloat16 holds 256 + 1 as 256: a sum of 300 ones kept in bfloat16 would stall there."""
    ones = jnp.ones((300,), jnp.bfloat16)
    for subscripts, operands in (("i->", [ones]), ("i,i->", [ones, ones])):
        got = ops.einsum(subscripts, *operands, preferred_element_type=jnp.float32)
        assert got.dtype == jnp.float32 and float(got) == 300.0


# -- caches keyed by value --------------------------------------------------------------------
class TrackedList(list):
    """A list subclass, as Keras 3's TrackedList is: unhashable."""


def test_a_list_subclass_is_keyed_by_its_content():
    a, b = jnp.ones((3, 4)), jnp.ones((4, 3))
    assert dtf.tensordot(a, b, TrackedList([[1], [0]])).shape == (3, 3)
    assert dtf.tensordot(a, b, TrackedList([[0], [1]])).shape == (4, 4)
    assert dtf.tensordot(a, b, TrackedList([[1], [0]])).shape == (3, 3)


def test_a_list_mutated_in_place_is_not_a_cached_call():
    a, b = jnp.ones((3, 4)), jnp.ones((4, 3))
    axes = [[1], [0]]
    assert dtf.tensordot(a, b, axes).shape == (3, 3)
    axes[0][0], axes[1][0] = 0, 1
    assert dtf.tensordot(a, b, axes).shape == (4, 4)
    assert K.batch_dot.plan((2, 3, 4), (2, 4, 3), TrackedList([2, 1])).out_shape == (2, 3, 3)
    assert K.batch_dot.plan((2, 3, 4), (2, 4, 3), TrackedList([1, 2])).out_shape == (2, 4, 4)


def test_a_frozen_list_never_equals_a_raw_tuple():
    """A list precision is frozen; the raw tuple its frozen form used to equal is invalid and
    stays invalid after the list was cached."""
    a, b = jnp.ones((3, 4)), jnp.ones((4, 3))
    ops.matmul(a, b, precision=["highest", "highest"])
    with pytest.raises(TypeError, match=r"^ops\.matmul: precision must be"):
        ops.matmul(a, b, precision=("seq", "highest", "highest"))
    frozen = dotsum._keys.freeze(["highest", "highest"])
    with pytest.raises(TypeError, match=r"^ops\.matmul: precision must be"):
        ops.matmul(a, b, precision=frozen)


def test_values_python_calls_equal_keep_their_verdicts():
    """``(True, 2) == (1, 2)`` and ``1.0 == 1``: a cached valid call must not let them through."""
    x, y = jnp.ones((2, 3, 4)), jnp.ones((2, 4, 3))
    K.batch_dot(x, y, (2, 1))
    with pytest.raises(TypeError, match=r"^keras\.batch_dot: axes must hold ints; got bool"):
        K.batch_dot(x, y, (2, True))
    K.batch_dot(x, y, [2, 1])
    with pytest.raises(TypeError, match=r"got float 2\.0"):
        K.batch_dot(x, y, [2.0, 1])


def test_unkeyable_values_are_planned_afresh_and_rejected():
    dotsum.clear_caches()
    x = jnp.ones((2, 3))
    for _ in range(2):
        with pytest.raises(TypeError, match=r"^keras\.batch_dot: axes must be None, an int"):
            K.batch_dot(x, x, {"axes": 1})
        with pytest.raises(TypeError, match=r"^keras\.batch_dot: precision must be"):
            K.batch_dot(x, x, precision={"p": 1})
    assert K._BATCH_DOT.cache_size() == 0


# -- verdicts keyed on everything that decides them ----------------------------------------------
def test_output_type_verdict_sees_weak_types():
    """float32 (weak, a Python scalar turned array) by bfloat16 promotes to bfloat16, so
    output_type=float32 is an error; the same dtypes strongly typed promote to float32. Neither
    verdict may answer for the other, in either order."""
    weak = jnp.broadcast_to(jnp.asarray(2.0), (2, 2))  # weak float32
    strong = jnp.ones((2, 2), jnp.float32)
    half = jnp.ones((2, 2), jnp.bfloat16)
    assert weak.weak_type and not strong.weak_type
    for _ in range(2):
        assert dtf.matmul(strong, half, output_type=jnp.float32).dtype == jnp.float32
        with pytest.raises(TypeError, match=r"^tf\.matmul: output_type must be int32"):
            dtf.matmul(weak, half, output_type=jnp.float32)


def test_output_type_verdict_sees_the_x64_flag():
    a = np.ones((2, 2), np.int64)
    assert dtf.matmul(a, a, output_type=jnp.int32).dtype == jnp.int32  # int64 is int32 here
    with jax.enable_x64(True):
        with pytest.raises(TypeError, match=r"^tf\.matmul: output_type must be int32"):
            dtf.matmul(jnp.asarray(a), jnp.asarray(a), output_type=jnp.int32)


def test_output_type_verdict_sees_the_promotion_mode():
    """int8 by uint8 promotes in the standard mode (output_type=int32 is accepted) and does not
    in the strict one, whichever was asked first."""
    a, b = jnp.ones((2, 2), jnp.int8), jnp.ones((2, 2), jnp.uint8)
    for _ in range(2):
        assert dtf.matmul(a, b, output_type=jnp.int32).dtype == jnp.int32
        with jax.numpy_dtype_promotion("strict"):
            with pytest.raises(TypeError, match=r"^tf\.matmul: the operands' dtypes do not "
                                                r"promote: .* \(a\.shape=\(2, 2\), b\.shape="):
                dtf.matmul(a, b, output_type=jnp.int32)


HISTORY = """
import jax.numpy as jnp
from dotsum import tf as dtf, ops
weak = jnp.broadcast_to(jnp.asarray(2.0), (2, 2))
half = jnp.ones((2, 2), jnp.bfloat16)
{history}
try:
    dtf.matmul(weak, half, output_type=jnp.float32)
    print("accepted")
except TypeError as e:
    print(str(e).split(":")[0])
print(int(ops.einsum("ij->", jnp.full((4, 8), 100, jnp.int8))))
"""


@pytest.mark.parametrize("history", [
    "",
    "dtf.matmul(jnp.ones((2, 2)), half, output_type=jnp.float32)",
    "ops.einsum('ij->', jnp.full((4, 8), 1, jnp.int8)); ops.einsum('ij->', jnp.ones((4, 8)))",
], ids=["fresh", "after-strong", "after-other-dtypes"])
def test_same_answer_in_a_fresh_process_and_after_a_history(history):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(HISTORY.format(history=history))],
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out == ["tf.matmul", "3200"]


# -- what mutants used to get away with -------------------------------------------------------
def test_both_precisions_of_a_pair_reach_dot_general():
    x = jnp.ones((2, 3))
    jaxpr = jax.make_jaxpr(lambda a, b: ops.matmul(a, b, precision=("highest", "default")))(
        x, x.T)
    (eqn,) = [e for e in jaxpr.jaxpr.eqns if e.primitive.name == "dot_general"]
    assert eqn.params["precision"] == (lax.Precision.HIGHEST, lax.Precision.DEFAULT)


def test_the_fallback_lettering_runs():
    """53 labels do not fit; 52 do, but not positionally: axis p of y would need letter
    25 + p > 51. The compact fallback letters free labels in order of first appearance."""
    plan = K.dot.plan((1,) * 26, (1,) * 27)
    assert plan.subscripts == ("abcdefghijlmnopqrstuvwxyzk,ABCDEFGHIJKLMNOPQRSTUVWXYkZ->"
                               "abcdefghijlmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert len(set(plan.subscripts) - set(",->")) == 52
    x, y = np.full((1,) * 26, 2.0), np.full((1,) * 27, 3.0)
    assert np.einsum(plan.subscripts, x, y).shape == plan.out_shape
    assert float(K.dot(x, y).reshape(())) == 6.0


@pytest.mark.parametrize("plan, flops", [
    (ops.outer.plan((3,), (4,)), 12),  # a multiply per element, nothing summed
    (dtf.tensordot.plan((2, 3), (4,), 0), 24),
    (ops.einsum.plan("i,j,k->ijk", (2,), (3,), (4,)), 6 + 24),
    (ops.matmul.plan((2, 3), (3, 4)), 2 * 2 * 3 * 4),
    (ops.einsum.plan("ij,jk,kl->il", (2, 3), (3, 4), (4, 5)), 2 * (2 * 3 * 4 + 2 * 4 * 5)),
])
def test_flops(plan, flops):
    assert plan.flops == flops


def test_the_executor_cache_overflows_and_rebuilds():
    """More distinct plans than EXECUTOR_CACHE_SIZE: the LRU keeps its bound, evicts the oldest,
    and an evicted plan gets a fresh executor that computes the same."""
    executor = dotsum._lower.executor
    size = dotsum._lower.EXECUTOR_CACHE_SIZE
    dotsum.clear_caches()
    plans = [K.batch_dot.plan((1, n), (1, n)) for n in range(1, size + 2)]
    first = executor(plans[0])
    for plan in plans[1:]:
        executor(plan)
    assert executor.cache_info().currsize == size
    rebuilt = executor(plans[0])
    assert rebuilt is not first
    np.testing.assert_array_equal(np.asarray(rebuilt(jnp.ones((1, 1)), jnp.ones((1, 1)))),
                                  [[1.0]])
    dotsum.clear_caches()
