"""dotsum.ops (dot, matmul, tensordot, inner, outer, vdot) against Keras 3's keras.ops on the JAX
backend: values, shapes and result dtypes (SEMANTICS §6), a commented corpus and hypothesis
cases, with error parity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from references import optional
from strategies import assert_same, compares_values, outcome, random, shapes, x64_if

from dotsum import ops

keras = optional("keras")
DTYPES = ["float32", "float64", "complex64"]

CORPUS = {
    "dot": [((2, 3, 4), (7, 4, 5)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3, 4)), ((), (3, 4)),
            ((2, 3), ()), ((2, 0), (0, 4)), ((3, 4, 5, 2), (2, 5, 3, 7))],
    "matmul": [((2, 3), (3, 4)), ((5, 1, 2, 3), (4, 3, 6)), ((3,), (2, 3, 4)), ((2, 3, 4), (4,)),
               ((3,), (3,)), ((), (3,)), ((2, 3), (4, 5)), ((0, 2, 3), (1, 3, 2))],
    "inner": [((2, 3), (4, 3)), ((3,), (3,)), ((), (2, 3)), ((2, 3, 4), (5, 4)),
              ((2, 3), (3, 4))],
    "outer": [((2, 3), (4,)), ((), (3,)), ((0,), (3,)), ((2, 2), (3, 1, 2))],
    "vdot": [((2, 3), (6,)), ((3,), (3,)), ((), ()), ((2, 3), (7,))],
}
TENSORDOT = [  # (x1, x2, axes)
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3, 4), (4, 5), 1),
    ((2, 3), (4, 5), 0),
    ((), (3, 4), 0),
    ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])),
    ((2, 3, 4), (4, 3, 5), ([-1], [0])),
    ((2, 3), (3, 4), (1, 0)),
    ((2, 3), (3, 4), 3),  # more axes than the ranks: both fail
    ((2, 3), (4, 5), 1),  # sizes differ: both fail
]


def check(name, x_shape, y_shape, dtype, *static):
    x, y = random(x_shape, dtype, 1), random(y_shape, dtype, 2)
    with x64_if(dtype):
        status, expected = outcome(lambda: np.asarray(getattr(keras.ops, name)(x, y, *static)))
        if status == "ok":
            assert_same(getattr(ops, name)(x, y, *static), expected, dtype)
        else:
            with pytest.raises((ValueError, TypeError)):
                getattr(ops, name)(x, y, *static)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, x_shape, y_shape",
                         [(n, x, y) for n, cases in CORPUS.items() for x, y in cases])
def test_corpus(name, x_shape, y_shape, dtype):
    check(name, x_shape, y_shape, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, y_shape, axes", TENSORDOT)
def test_tensordot_corpus(x_shape, y_shape, axes, dtype):
    check("tensordot", x_shape, y_shape, dtype, axes)


def test_negative_tensordot_axes_are_an_error():
    """NumPy/JAX return an outer product for axes=-1 (an empty range); dotsum says no."""
    x, y = random((2, 3), "float32"), random((3, 4), "float32")
    assert keras.ops.tensordot(x, y, -1).shape == (2, 3, 3, 4)
    with pytest.raises(ValueError, match=r"^ops\.tensordot: axes must be >= 0 when it is an "
                                         r"int; got -1"):
        ops.tensordot(x, y, -1)


@pytest.mark.parametrize("name", ["dot", "matmul", "tensordot", "inner", "outer"])
@pytest.mark.parametrize("dtypes", [("int8", "int8"), ("int8", "uint8"), ("bfloat16", "float16"),
                                    ("int32", "float32"), ("bool", "bool")])
def test_result_dtypes(name, dtypes):
    """SEMANTICS §6: e.g. matmul int8 . int8 -> int32, dot int8 . int8 -> int8."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 3)) * 3).astype(dtypes[0])
    y = (rng.standard_normal((3, 3)) * 3).astype(dtypes[1])
    status, expected = outcome(lambda: getattr(keras.ops, name)(x, y))
    if status == "error":
        with pytest.raises((ValueError, TypeError)):
            getattr(ops, name)(x, y)
        return
    got = getattr(ops, name)(x, y)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_array_equal(np.asarray(got, np.float64), np.asarray(expected, np.float64))


# -- hypothesis -----------------------------------------------------------------------------------
@st.composite
def pairs(draw, name):
    x = draw(shapes(0 if name != "matmul" else 1, 4))
    y = draw(shapes(0, 4))
    if draw(st.integers(0, 3)):  # mostly make the contracted sizes agree
        if name == "dot" and x and len(y) >= 2:
            y = y[:-2] + (x[-1],) + y[-1:]
        elif name in ("dot", "inner") and x and y:
            y = y[:-1] + (x[-1],)
        elif name == "matmul" and y:
            y = (y[:-2] + (x[-1],) + y[-1:]) if len(y) >= 2 else (x[-1],)
        elif name == "vdot":
            y = (int(np.prod(x)),)
    return x, y


@compares_values
@given(data=st.data(), name=st.sampled_from(["dot", "matmul", "inner", "outer", "vdot"]),
       dtype=st.sampled_from(DTYPES))
def test_hypothesis(data, name, dtype):
    x, y = data.draw(pairs(name))
    check(name, x, y, dtype)


@compares_values
@given(x=shapes(0, 4), y=shapes(0, 4), data=st.data(), dtype=st.sampled_from(DTYPES))
def test_tensordot_hypothesis(x, y, data, dtype):
    if data.draw(st.booleans()):
        n = data.draw(st.integers(0, 3))
        axes = n
        if data.draw(st.integers(0, 7)) and n <= min(len(x), len(y)):  # mostly sizes agree
            y = x[len(x) - n:] + y[n:]
    else:
        k = data.draw(st.integers(0, min(2, len(x), len(y))))
        axes = (data.draw(st.permutations(range(len(x))))[:k],
                data.draw(st.permutations(range(len(y))))[:k])
        if data.draw(st.integers(0, 7)):  # mostly in range, with sizes that agree
            y = list(y)
            for i, j in zip(*axes):
                y[j] = x[i]
            y = tuple(y)
            axes = tuple([a - r * data.draw(st.booleans()) for a in ax]
                         for ax, r in zip(axes, (len(x), len(y))))
        else:  # anything in [-4, 3]
            axis = st.integers(-4, 3)
            axes = (data.draw(st.lists(axis, min_size=k, max_size=k)),
                    data.draw(st.lists(axis, min_size=k, max_size=k)))
    check("tensordot", x, y, dtype, axes)
