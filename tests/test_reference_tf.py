"""tf.matmul against live TensorFlow: every flag combination, batch broadcasting, dtypes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from references import optional
from strategies import DTYPES, assert_same, compares_values, outcome, random, shapes, x64_if

from dotsum import tf as dtf

tf = optional("tensorflow")

FLAGS = [
    dict(zip(("transpose_a", "transpose_b", "adjoint_a", "adjoint_b"), bits))
    for bits in itertools.product((False, True), repeat=4)
]  # 16 combinations, 7 of them invalid (transpose and adjoint of one operand)

MATMUL_CORPUS = [
    ((3, 4), (4, 5)),
    ((10, 12, 4, 5), (10, 12, 5, 8)),  # the seed's call: (10, 12, 4, 8)
    ((9, 8, 7, 4, 2), (9, 8, 7, 2, 5)),  # the seed's call: (9, 8, 7, 4, 5)
    ((5, 1, 2, 3), (4, 3, 6)),  # broadcasting: (5, 4, 2, 6)
    ((1, 3, 3), (2, 1, 3, 3)),
    ((0, 3, 3), (1, 3, 3)),  # an empty batch broadcasts against 1
    ((3, 3), (3, 3)),  # square, so every flag combination is valid
    ((2, 3, 3), (3, 3)),
]


def check(a_shape, b_shape, dtype, flags):
    a, b = random(a_shape, dtype, 1), random(b_shape, dtype, 2)
    status, expected = outcome(lambda: tf.matmul(tf.constant(a), tf.constant(b), **flags).numpy())
    with x64_if(dtype):
        if status == "ok":
            assert_same(dtf.matmul(a, b, **flags), expected, dtype)
        else:
            with pytest.raises((ValueError, TypeError)):
                dtf.matmul(a, b, **flags)


@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: "-".join(k for k, v in f.items() if v))
@pytest.mark.parametrize("a_shape, b_shape", MATMUL_CORPUS)
def test_matmul_flags(a_shape, b_shape, flags):
    check(a_shape, b_shape, "complex64", flags)  # complex: adjoint conjugates, transpose doesn't


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a_shape, b_shape", MATMUL_CORPUS)
def test_matmul_dtypes(a_shape, b_shape, dtype):
    check(a_shape, b_shape, dtype, {})


@st.composite
def matmul_cases(draw):
    batch = draw(shapes(0, 3))
    a_batch = tuple(d if draw(st.booleans()) else 1 for d in batch)
    b_batch = tuple(d if draw(st.booleans()) else 1 for d in batch)
    a_batch = a_batch[draw(st.integers(0, len(a_batch))):]  # ranks may differ
    m, k, n = draw(st.tuples(*(st.integers(0, 4),) * 3))
    valid = [f for f in FLAGS if not (f["transpose_a"] and f["adjoint_a"] or
                                      f["transpose_b"] and f["adjoint_b"])]
    flags = draw(st.sampled_from(FLAGS if draw(st.integers(0, 7)) == 0 else valid))
    a_mat = (k, m) if flags["transpose_a"] or flags["adjoint_a"] else (m, k)
    b_mat = (n, k) if flags["transpose_b"] or flags["adjoint_b"] else (k, n)
    if draw(st.integers(0, 7)) == 0:  # one example in 8 breaks a size
        b_mat = (b_mat[0] + 1, b_mat[1])
    return a_batch + a_mat, b_batch + b_mat, flags


@compares_values
@given(case=matmul_cases(), dtype=st.sampled_from(DTYPES))
def test_matmul_hypothesis(case, dtype):
    a_shape, b_shape, flags = case
    check(a_shape, b_shape, dtype, flags)


@given(a_shape=shapes(0, 4), b_shape=shapes(0, 4))
def test_matmul_error_parity(a_shape, b_shape):
    """Arbitrary shapes: wherever TensorFlow rejects them, dotsum says so clearly."""
    check(a_shape, b_shape, "float32", {})
