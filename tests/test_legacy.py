"""Legacy batch_dot (Keras <= 2.2.4, TensorFlow backend) against its SEMANTICS §3 definition.

Keras 2.2.4 needs TensorFlow 1.x, so the reference is ``dotsum.testing.legacy_batch_dot``: the
2.2.4 algorithm op for op in NumPy, independent of dotsum's planner (its TF ops map one to one onto
NumPy's: ``matmul`` and elementwise products broadcast the same way). Runs without TensorFlow.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from references import np_legacy_batch_dot
from strategies import DTYPES, assert_same, compares_values, legacy_cases, outcome, random, x64_if

from dotsum import keras as K

QUIRKS = [
    # the seed's two calls: batch_dot equalled tf.matmul then
    ((10, 12, 4, 5), (10, 12, 5, 8), None),
    ((9, 8, 7, 4, 2), (9, 8, 7, 2, 5), None),
    # unnormalised negative axes: -1 != ndim - 1, so x is conjugate-transposed
    ((3, 2, 2), (3, 2, 2), -1),
    ((3, 2, 2), (3, 2, 2), (-1, 2)),
    ((3, 2, 2), (3, 2, 2), (2, -1)),
    # axes=0 is allowed, on rank 2 it sums over the batch axis
    ((4, 3), (4, 3), 0),
    ((4, 3, 3), (4, 3, 3), 0),
    # rank 2: elementwise product summed over one axis, x transposed when the axes differ
    ((4, 3), (4, 3), 1),
    ((3, 3), (3, 3), (0, 1)),
    ((3, 3), (3, 3), (1, 0)),
    ((3, 1), (1, 3), (1, 0)),  # ... and broadcast
    ((4, 3), (1, 3), 1),
    # rank padding with trailing size-1 axes, squeezed afterwards
    ((4, 3, 2), (4, 2), None),
    ((4, 2), (4, 2, 3), (1, 1)),
    ((4, 3, 5), (4, 3), (1, 1)),
    ((4, 3, 5, 2), (4, 2), None),
    ((4, 3, 2), (4,), None),
    ((4, 2), (4,), None),
    ((4, 1), (4,), None),
    ((), (1, 1, 1), None),  # a 0-D x is padded too, and every padded axis squeezed: shape ()
    ((), (3, 1, 1), None),
    ((), (0, 1), None),  # squeezes axes -1 and 0 of a rank-1 product: the same axis, once
    ((1, 4), (4,), None),
    # all leading axes broadcast, like tf.matmul
    ((5, 1, 2, 3), (1, 4, 3, 6), None),
    # Keras 2.2.4 failed on these; so does dotsum, clearly
    ((3,), (3,), None),
    ((4, 3, 2), (4, 5, 2), None),
    ((4, 3), (4, 3), 2),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, y_shape, axes", QUIRKS)
def test_quirks(x_shape, y_shape, axes, dtype):
    check(x_shape, y_shape, axes, dtype)


def check(x_shape, y_shape, axes, dtype):
    x, y = random(x_shape, dtype, 1), random(y_shape, dtype, 2)
    status, expected = outcome(lambda: np_legacy_batch_dot(x, y, axes))
    with x64_if(dtype):
        if status == "ok":
            assert_same(K.batch_dot(x, y, axes, legacy=True), expected, dtype)
        else:
            with pytest.raises(ValueError, match=r"^keras\.batch_dot\[legacy\]: "):
                K.batch_dot(x, y, axes, legacy=True)


@compares_values
@given(case=legacy_cases(), dtype=st.sampled_from(DTYPES))
def test_legacy_hypothesis(case, dtype):
    check(*case, dtype)


def test_hand_computed_values():
    """Values worked out by hand, independent of the NumPy transcription the other tests use:
    rank 2 multiplies and sums the named axis, then a 1-D result becomes (b, 1); rank 4 with
    default axes is a matmul over the leading axes (the seed's case)."""
    got = K.batch_dot([[1, 2], [3, 4]], [[5, 6], [7, 8]], axes=0, legacy=True)
    np.testing.assert_array_equal(np.asarray(got), [[1 * 5 + 3 * 7], [2 * 6 + 4 * 8]])
    x = np.arange(8.0).reshape(1, 2, 2, 2)
    y = np.arange(8.0, 16.0).reshape(1, 2, 2, 2)
    expected = [[[[0 * 8 + 1 * 10, 0 * 9 + 1 * 11], [2 * 8 + 3 * 10, 2 * 9 + 3 * 11]],
                 [[4 * 12 + 5 * 14, 4 * 13 + 5 * 15], [6 * 12 + 7 * 14, 6 * 13 + 7 * 15]]]]
    np.testing.assert_array_equal(np.asarray(K.batch_dot(x, y, legacy=True)), expected)
