"""Faults and load: NaN/Inf propagate as in the references, threads calling ops (and clearing
caches) get the serial results, caches stay bounded under many shapes, results are
deterministic."""

from __future__ import annotations

import concurrent.futures
import re

import jax.numpy as jnp
import numpy as np
import pytest

import dotsum
from dotsum import keras as K
from dotsum import lax as dlax
from dotsum import numpy as dnp
from dotsum import ops
from dotsum import tf as dtf


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_propagate_like_numpy(bad):
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    y = np.ones((2, 2, 4), np.float32)
    x[0, 1, 1] = bad
    with np.errstate(invalid="ignore"):
        cases = [
            (K.batch_dot(x, y), np.matmul(x, y)),
            (dtf.matmul(x, y), np.matmul(x, y)),
            (K.dot(x, y[0]), np.dot(x, y[0])),
            (ops.einsum("bij,bjk->bik", x, y), np.einsum("bij,bjk->bik", x, y)),
            (K.batch_dot(x, y, legacy=True), np.matmul(x, y)),
        ]
    for got, expected in cases:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))
        finite = np.isfinite(expected)
        np.testing.assert_allclose(np.asarray(got)[finite], expected[finite], rtol=1e-6)


def _calls():
    """Valid calls of several ops with mixed shapes."""
    rng = np.random.default_rng(0)

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    return [
        (K.batch_dot, (r(4, 2, 3), r(4, 3, 5)), {}),
        (K.batch_dot, (r(4, 3), r(4, 3)), {}),
        (K.batch_dot, (r(4, 3, 5), r(4, 2, 5)), {"axes": 2}),
        (K.batch_dot, (r(3, 2, 2), r(3, 2, 2)), {"axes": -1, "legacy": True}),
        (K.dot, (r(2, 3, 4), r(5, 4, 2)), {}),
        (dtf.matmul, (r(5, 1, 2, 3), r(4, 3, 6)), {}),
        (ops.einsum, ("bqd,bkd->bqk", r(2, 3, 4), r(2, 5, 4)), {}),
        (ops.einsum, ("ij,jk,kl->il", r(2, 3), r(3, 4), r(4, 5)), {}),
        (ops.tensordot, (r(2, 3, 4), r(3, 4, 5)), {}),
        # two dimension numbers in turn: lax.dot_general remembers the last one it saw
        (dlax.dot_general, (r(2, 3, 4), r(2, 4, 5), (((2,), (1,)), ((0,), (0,)))), {}),
        (dlax.dot_general, (r(2, 3, 4), r(2, 4, 5), (((0,), (0,)), ((), ()))), {}),
    ]


def test_threads_get_serial_results_even_while_caches_are_cleared():
    calls = _calls()  # NumPy operands (the general path), then the same as JAX arrays (fast)
    calls += [(fn, tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args), p)
              for fn, args, p in calls]
    serial = [np.asarray(fn(*args, **params)) for fn, args, params in calls]

    def work(i):
        fn, args, params = calls[i % len(calls)]
        if i % 40 == 0:
            dotsum.clear_caches()
        return i % len(calls), np.asarray(fn(*args, **params))

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(200)))
    for index, got in results:
        np.testing.assert_array_equal(got, serial[index])


def test_caches_stay_bounded_under_many_shapes(monkeypatch):
    """Each op keeps at most CALL_CACHE_SIZE calls and PLAN_CACHE_SIZE plans (4096 each by
    default): here scaled down so that a few hundred distinct plans, and a few dozen compiled
    calls, overflow them."""
    op = K._BATCH_DOT
    for cache in (op._calls, op._plans):
        monkeypatch.setattr(cache, "maxsize", 64)
    for n in range(1, 301):
        K.batch_dot.plan((2, n), (2, n))  # planning only: cheap, and still bounded
    assert len(op._plans) <= 64
    monkeypatch.setattr(op._calls, "maxsize", 8)
    for n in range(1, 25):
        K.batch_dot(jnp.ones((2, n)), jnp.ones((2, n)))
    assert len(op._calls) <= 8 and len(op._plans) <= 64
    # an evicted call is planned and dispatched again, correctly
    np.testing.assert_array_equal(np.asarray(K.batch_dot(jnp.ones((2, 1)), jnp.ones((2, 1)))),
                                  [[1.0], [1.0]])
    # the executor LRU is overflowed for real in test_exactness.py


def test_fast_path_keeps_at_most_its_size_of_static_params(monkeypatch):
    """The fast path keeps one jax.jit per static params (einsum's subscripts, say), at most
    FAST_CACHE_SIZE (4096) of them, oldest first out: scaled down here to 4."""
    op = ops._EINSUM
    op.cache_clear()
    monkeypatch.setattr(op._fast, "maxsize", 4)
    x, y = jnp.arange(6.0).reshape(2, 3), jnp.arange(12.0).reshape(3, 4)
    letters = "abcdefghij"
    for i in range(10):
        a, b, c = letters[i], "k", letters[(i + 1) % 10]
        np.testing.assert_array_equal(ops.einsum(f"{a}{b},{b}{c}->{a}{c}", x, y), x @ y)
        assert len(op._fast) <= 4
    assert op.cache_size() == 4  # one compiled call in each jit kept
    np.testing.assert_array_equal(ops.einsum("ak,kb->ab", x, y), x @ y)  # evicted: built again


def test_results_are_deterministic():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 64, 32)).astype(np.float32)
    y = rng.standard_normal((8, 32, 16)).astype(np.float32)
    first = np.asarray(K.batch_dot(x, y))
    for _ in range(5):
        np.testing.assert_array_equal(np.asarray(K.batch_dot(x, y)), first)
    dotsum.clear_caches()
    np.testing.assert_array_equal(np.asarray(K.batch_dot(x, y)), first)


FAST_CALLS = [  # (op, call with default arguments on two JAX arrays)
    (K._DOT, lambda x, y: K.dot(x, y[0])),
    (K._BATCH_DOT, K.batch_dot),
    (dtf._MATMUL, dtf.matmul),
    (ops._OPS["matmul"], ops.matmul),
    (ops._EINSUM, lambda x, y: ops.einsum("bij,bjk->bik", x, y)),
    (dnp._MATMUL, dnp.matmul),
    (dnp._EINSUM, lambda x, y: dnp.einsum("bij,bjk->bik", x, y)),
    (dlax._DOT_GENERAL, lambda x, y: dlax.dot_general(x, y, (((2,), (1,)), ((0,), (0,))))),
]


@pytest.mark.parametrize("op, call", FAST_CALLS, ids=[op.name for op, _ in FAST_CALLS])
def test_default_calls_take_the_fast_path(monkeypatch, op, call):
    """A call with default arguments on concrete JAX arrays skips Op.__call__ (and its key)
    once cached, shares the bounded call cache, and equals the general path's result."""
    x, y = jnp.ones((2, 3, 4)), jnp.ones((2, 4, 5))
    expected = np.asarray(call(np.ones((2, 3, 4)), np.ones((2, 4, 5))))  # NumPy: general path
    size = op.cache_size()
    first = call(x, y)
    assert op.cache_size() == size + 1
    monkeypatch.setattr(type(op), "__call__", lambda *a: pytest.fail("general path taken"))
    monkeypatch.setattr(type(op), "plan", lambda *a: pytest.fail("planned again"))
    np.testing.assert_array_equal(call(x, y), first)
    np.testing.assert_array_equal(first, expected)
    assert op.cache_size() == size + 1  # traced and compiled once for these operands


@pytest.mark.parametrize("op, call", FAST_CALLS, ids=[op.name for op, _ in FAST_CALLS])
def test_fast_path_refusals_are_the_ops_own(op, call):
    """Shapes the rule refuses, on JAX arrays with default arguments, raise the general path's
    error (named for the op, no chained JAX trace; lax.dot_general's is a TypeError, as lax's),
    however often, and repeating it caches nothing more."""
    x, y = jnp.ones((2, 3, 4)), jnp.ones((2, 5, 6))
    sizes = []
    for _ in range(3):
        with pytest.raises((ValueError, TypeError), match=r"^" + re.escape(op.name) + ": ") as info:
            call(x, y)
        assert info.value.__cause__ is None and info.value.__suppress_context__
        sizes.append(op.cache_size())
    assert sizes[0] == sizes[1] == sizes[2]  # JAX keeps the failed signature, empty; no growth


def test_the_fast_path_keeps_bad_input_errors():
    x = jnp.ones((2, 3, 4))
    K.batch_dot(x, x.transpose(0, 2, 1))  # cached on the fast path
    with pytest.raises(TypeError, match=r"^keras\.batch_dot: axes must be"):
        K.batch_dot(x, x.transpose(0, 2, 1), axes=2.0)
    with pytest.raises(TypeError, match=r"^keras\.batch_dot: legacy must be a bool"):
        K.batch_dot(x, x.transpose(0, 2, 1), legacy=1)
    with pytest.raises(ValueError, match=r"^keras\.batch_dot: "):
        K.batch_dot(x, x)  # the same shapes' miss plans and fails as before
