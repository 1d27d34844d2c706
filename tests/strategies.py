"""Hypothesis strategies and comparison helpers shared by the reference tests."""

from __future__ import annotations

import contextlib

import chex
import jax
import numpy as np
from hypothesis import currently_in_test_context, event
from hypothesis import strategies as st

DTYPES = ["float32", "float64", "complex64"]
TOLERANCE = {"float32": 2e-5, "float64": 1e-12, "complex64": 2e-5}

sizes = st.integers(0, 4)


def shapes(min_rank: int, max_rank: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(sizes, min_size=min_rank, max_size=max_rank).map(tuple)


def random(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    out = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        out = out + 1j * rng.standard_normal(shape)
    return out.astype(dtype)


@contextlib.contextmanager
def x64_if(dtype):
    """float64 needs JAX's x64 mode; everything else runs as users run it."""
    with jax.enable_x64(True) if np.dtype(dtype).itemsize == 8 and np.dtype(
            dtype).kind == "f" else contextlib.nullcontext():
        yield


def assert_same(got, expected, dtype):
    """Same shape, same dtype, values within the dtype's tolerance."""
    expected = np.asarray(expected)
    chex.assert_shape(got, expected.shape)
    assert np.dtype(got.dtype) == expected.dtype, (got.dtype, expected.dtype)
    tol = TOLERANCE[str(np.dtype(dtype))]
    chex.assert_trees_all_close(np.asarray(got), expected, rtol=tol, atol=tol)


def outcome(fn):
    """``("ok", result)`` or ``("error", exception)``."""
    try:
        result = "ok", fn()
    except Exception as e:  # noqa: BLE001 - the references raise anything
        result = "error", e
    if currently_in_test_context():  # hypothesis statistics: how often the reference failed
        event(f"reference: {result[0]}")
    return result
