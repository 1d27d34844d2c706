"""Hypothesis strategies and comparison helpers shared by the reference tests."""

from __future__ import annotations

import contextlib
import functools

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


@st.composite
def legacy_cases(draw, valid_share=0.85):
    """``(x_shape, y_shape, axes)`` for Keras 2.2.4's ``batch_dot``: mostly equal ranks whose
    sizes agree under its own rules (rank 2: an elementwise product, x transposed when the axes
    differ; higher: a broadcasting matmul whose transposes the unnormalised axes choose), the
    rest any two shapes (ranks 1-4, often sharing leading sizes) and axes."""
    axes = draw(st.one_of(st.none(), st.integers(-3, 3),
                          st.tuples(st.integers(-3, 3), st.integers(-3, 3))))
    if draw(st.floats(0, 1)) >= valid_share:
        x, y = draw(shapes(1, 4)), draw(shapes(1, 4))
        if draw(st.booleans()):
            y = (x + y)[: len(y) - 1] + y[-1:]
        return x, y, axes
    rank = draw(st.integers(2, 4))
    x = draw(shapes(rank, rank))
    y = list(draw(shapes(rank, rank)))
    a0, a1 = (rank - 1, rank - 2) if axes is None else (axes, axes) if isinstance(
        axes, int) else axes
    if rank == 2:
        y = list(x if a0 == a1 else x[::-1])
        if 0 <= a0 == a1 < 2 and draw(st.booleans()):
            y[1 - a0] = 1  # ... broadcast against x's size
    else:
        y[:-2] = x[:-2]
        k = x[-2] if a0 != rank - 1 else x[-1]  # transpose_a, as 2.2.4 chose it
        y[-1 if a1 == rank - 1 else -2] = k
    return x, tuple(y), axes


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
    compared()


def outcome(fn):
    """``("ok", result)`` or ``("error", exception)``."""
    try:
        result = "ok", fn()
    except Exception as e:  # noqa: BLE001 - the references raise anything
        result = "error", e
    if currently_in_test_context():  # hypothesis statistics: how often the reference failed
        event(f"reference: {result[0]}")
    return result


# -- how often a property reaches a value comparison --------------------------------------------
MIN_SHARE = 0.6
_RUNS: list[dict[str, int]] = []


def compared(values: bool = True) -> None:
    """Mark the running example of a :func:`compares_values` property as one that compared
    values (``assert_same`` marks it; so does a true ``assert_matches_reference``)."""
    if _RUNS and values:
        _RUNS[-1]["now"] = 1


def compares_values(test, min_share: float = MIN_SHARE):
    """Put above ``@given``: the property must compare values (not only error parity) in at least
    ``min_share`` of the examples it runs, so a strategy that drifts into invalid calls fails
    loudly instead of testing nothing. The share is printed (``pytest -s``)."""
    inner = test.hypothesis.inner_test

    @functools.wraps(inner)
    def counted(*args, **kwargs):  # one example: did it reach a value comparison?
        run = _RUNS[-1]
        run["now"] = 0
        inner(*args, **kwargs)
        run["examples"] += 1
        run["compared"] += run["now"]

    test.hypothesis.inner_test = counted

    @functools.wraps(test)
    def checked(*args, **kwargs):
        _RUNS.append({"examples": 0, "compared": 0, "now": 0})
        try:
            test(*args, **kwargs)
        finally:
            run = _RUNS.pop()
        total, done = run["examples"], run["compared"]
        share = done / total if total else 0.0
        print(f"{test.__name__}: {done} of {total} examples compared values ({share:.0%})")
        assert share >= min_share, (
            f"{test.__name__}: only {done} of {total} examples compared values ({share:.0%} < "
            f"{min_share:.0%}); the others only checked errors: draw more valid calls")

    return checked
