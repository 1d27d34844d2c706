"""keras.dot and keras.batch_dot against the live tf_keras backend (Keras 2 semantics).

A commented corpus and hypothesis-generated shapes/axes; float32, float64 and complex64 values.
Where tf_keras rejects a call, dotsum must raise ValueError or TypeError (error parity).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from references import np_batch_dot, optional
from strategies import DTYPES, assert_same, compares_values, outcome, random, shapes, x64_if

from dotsum import keras as K

tf = optional("tensorflow")
tfk = optional("tf_keras").backend


def reference(fn, *arrays, **params):
    return fn(*(tf.constant(a) for a in arrays), **params).numpy()


def check(op, ref, x_shape, y_shape, dtype, empty_fallback=None, **params):
    """Same values as the reference when it succeeds; a clear error when it fails.

    tf_keras reshapes with ``-1`` internally, which TensorFlow cannot infer when another
    dimension is 0, so some empty inputs fail there for no semantic reason. For those, and only
    those, ``empty_fallback`` (the NumPy definition) is the reference.
    """
    x, y = random(x_shape, dtype, 1), random(y_shape, dtype, 2)
    status, expected = outcome(lambda: reference(ref, x, y, **params))
    if (status == "error" and empty_fallback is not None and 0 in x_shape + y_shape
            and "Input to reshape is a tensor with" in str(expected)):
        status, expected = "ok", empty_fallback(x, y, **params)
    with x64_if(dtype):
        if status == "ok":
            assert_same(op(x, y, **params), expected, dtype)
        else:
            with pytest.raises((ValueError, TypeError)):
                op(x, y, **params)
    return status


# -- dot ---------------------------------------------------------------------------------------
DOT_CORPUS = [
    ((3, 4), (4, 5)),  # the seed's 2-D case
    ((2, 3, 4), (7, 4, 5)),  # the seed: (2, 3, 7, 5)
    ((1, 2, 3, 4), (8, 7, 4, 5)),  # the seed: (1, 2, 3, 8, 7, 5)
    ((1, 2, 4), (8, 7, 4, 5)),  # the seed: (1, 2, 8, 7, 5)
    ((2, 3, 4), (7, 6, 4, 5)),  # the design's rank-3 . rank-4
    ((3,), (2, 3, 4)),  # 1-D . N-D works in TF too
    ((2, 0), (0, 4)),  # empty contraction gives zeros
    ((2, 3, 0), (5, 0, 4)),
    ((0, 3), (3, 2)),  # empty free axis
    ((3, 4, 5, 2), (2, 5, 3, 7)),  # the seed's failing call: both must fail
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, y_shape", DOT_CORPUS)
def test_dot_corpus(x_shape, y_shape, dtype):
    check(K.dot, tfk.dot, x_shape, y_shape, dtype, np.dot)


@compares_values
@given(
    x_shape=shapes(2, 4),
    y_shape=shapes(2, 4),
    match=st.booleans(),
    dtype=st.sampled_from(DTYPES),
)
def test_dot_hypothesis(x_shape, y_shape, match, dtype):
    if match:  # most generated pairs should contract
        y_shape = y_shape[:-2] + (x_shape[-1],) + y_shape[-1:]
    check(K.dot, tfk.dot, x_shape, y_shape, dtype, np.dot)


# -- batch_dot ---------------------------------------------------------------------------------
BATCH_DOT_CORPUS = [  # SEMANTICS §2's table, plus edge cases
    ((32, 20), (32, 20), None),
    ((32, 20), (32, 20), 1),
    ((4, 2, 3), (4, 3, 5), None),
    ((4, 2, 3), (4, 5, 3), (2, 2)),
    ((4, 2, 3), (4, 3), None),
    ((4, 2), (4, 2, 3), (1, 1)),
    ((4, 3), (4, 5, 3), None),  # 3 != 5: both fail
    ((4, 20, 1), (4, 30, 20), (1, 2)),
    ((10, 12, 4, 5), (10, 12, 5, 8), None),  # the seed's call, current semantics
    ((9, 8, 7, 4, 2), (9, 8, 7, 2, 5), None),
    ((4, 3, 4, 5), (4, 2, 3, 4), (2, 3)),
    ((4, 3, 4), (4, 5, 3), (-2, -1)),
    ([4, 3, 4], [4, 5, 3], [-2, -1]),  # axes as a list
    ((4, 3), (5, 3), None),  # different batch sizes
    ((4, 3), (4, 3), 0),  # axis 0 is the batch axis
    ((4,), (4, 3), None),  # rank < 2
    ((4, 3), (4, 3), [[1], [1]]),  # multiple target dimensions
    ((0, 3, 2), (0, 2, 3), None),  # empty batch
    ((4, 3, 0), (4, 0, 3), None),  # empty contraction
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, y_shape, axes", BATCH_DOT_CORPUS)
def test_batch_dot_corpus(x_shape, y_shape, axes, dtype):
    check(K.batch_dot, tfk.batch_dot, tuple(x_shape), tuple(y_shape), dtype, axes=axes)


@st.composite
def batch_dot_cases(draw):
    x_shape = draw(shapes(2, 4))
    y_shape = draw(shapes(2, 4))
    if draw(st.integers(0, 15)):  # mostly one batch size, so most calls reach a result
        y_shape = x_shape[:1] + y_shape[1:]

    def axis(rank: int) -> int:  # mostly a non-batch axis in range; a sixteenth any in [-5, 4]
        if draw(st.integers(0, 15)):
            a = draw(st.integers(1, rank - 1))
            return a - rank if draw(st.booleans()) else a  # as positive or negative index
        return draw(st.integers(-5, 4))

    form = draw(st.integers(0, 2))
    axes = (None if form == 0 else axis(min(len(x_shape), len(y_shape))) if form == 1
            else (axis(len(x_shape)), axis(len(y_shape))))
    if draw(st.integers(0, 15)):  # mostly make the contracted sizes agree
        a0, a1 = ((axes, axes) if isinstance(axes, int) else axes or (-1, len(y_shape) - 2))
        if (-len(x_shape) <= a0 < len(x_shape) and -len(y_shape) <= a1 < len(y_shape)
                and a1 % len(y_shape)):  # never resize y's batch axis
            y_list = list(y_shape)
            y_list[a1] = x_shape[a0]
            y_shape = tuple(y_list)
    return x_shape, y_shape, axes


@compares_values
@given(case=batch_dot_cases(), dtype=st.sampled_from(DTYPES))
def test_batch_dot_hypothesis(case, dtype):
    x_shape, y_shape, axes = case
    a0, a1 = (axes, axes) if isinstance(axes, int) else axes or (-1, -1)
    if not (-len(x_shape) <= a0 < len(x_shape) and -len(y_shape) <= a1 < len(y_shape)):
        # tf_keras adds ndim once and then indexes, so e.g. axes=-4 on rank 2 may "work" as
        # Python's x.shape[-2]; SEMANTICS §2 makes any axis out of range a ValueError.
        with pytest.raises(ValueError, match="out of range|rank >= 2|batch sizes differ|axis 0"):
            K.batch_dot(random(x_shape, dtype), random(y_shape, dtype), axes=axes)
        return
    check(K.batch_dot, tfk.batch_dot, x_shape, y_shape, dtype, np_batch_dot, axes=axes)


def test_numpy_integer_axes_are_accepted():
    """tf_keras raises TypeError on NumPy integer axes; dotsum treats them as ints."""
    x, y = random((4, 2, 3), "float32"), random((4, 5, 3), "float32")
    expected = reference(tfk.batch_dot, x, y, axes=(2, 2))
    assert_same(K.batch_dot(x, y, axes=(np.int64(2), np.int32(2))), expected, "float32")
    assert_same(K.batch_dot(x, y, axes=np.int64(2)), expected, "float32")
