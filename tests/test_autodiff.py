"""Every transformation JAX users apply to a product works through dotsum's ops, and equals the
same transformation of the jnp/lax call that computes the same product: forward mode
(``jax.jvp``, ``jax.jacfwd``), reverse mode (``jax.grad``, ``jax.vjp``), both
(``jax.hessian``), ``jax.linear_transpose``, and ``jax.vmap`` around and inside gradients.

This is why dotsum's backward pass is JAX's own (the transpose rules of ``dot_general``, shown
by ``plan.grad()``) rather than a ``custom_vjp`` (no forward mode, no ``linear_transpose``) or
a ``custom_jvp`` with a custom transpose (``linear_call`` has no batching rule in JAX 0.10, so
``vmap`` of a gradient and ``hessian`` fail): docs/design.md.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from dotsum import keras as K
from dotsum import lax as dlax
from dotsum import numpy as dnp
from dotsum import ops
from dotsum import tf as dtf

X, Y = (jax.random.normal(jax.random.key(i), s) for i, s in enumerate([(2, 3, 4), (2, 4, 5)]))
PAIRS = [  # (id, dotsum call, an equal jnp/lax call)
    ("keras.batch_dot", K.batch_dot, lambda x, y: jnp.matmul(x, y)),
    ("keras.batch_dot-legacy", functools.partial(K.batch_dot, legacy=True), jnp.matmul),
    ("keras.dot", lambda x, y: K.dot(x, y[0]), lambda x, y: jnp.dot(x, y[0])),
    ("tf.matmul-adjoint", lambda x, y: dtf.matmul(x, jnp.swapaxes(y, 1, 2), adjoint_b=True),
     jnp.matmul),
    ("ops.einsum", functools.partial(ops.einsum, "bij,bjk->bki"),
     functools.partial(jnp.einsum, "bij,bjk->bki")),
    ("numpy.matmul", dnp.matmul, jnp.matmul),
    ("numpy.vecdot", lambda x, y: dnp.vecdot(x, jnp.swapaxes(y, 1, 2)[:, :x.shape[1]]),
     lambda x, y: jnp.vecdot(x, jnp.swapaxes(y, 1, 2)[:, :x.shape[1]])),
    ("lax.dot_general", lambda x, y: dlax.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))),
     lambda x, y: lax.dot_general(x, y, (((2,), (1,)), ((0,), (0,))))),
]
IDS = [p[0] for p in PAIRS]


def close(a, b):
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-5), a, b)


def loss(f):
    return lambda x, y: jnp.sum(jnp.sin(f(x, y)))


@pytest.mark.parametrize("ours, ref", [p[1:] for p in PAIRS], ids=IDS)
def test_forward_and_reverse_mode(ours, ref):
    tangents = (jnp.cos(X), jnp.sin(Y))
    close(jax.jvp(ours, (X, Y), tangents), jax.jvp(ref, (X, Y), tangents))
    close(jax.jacfwd(loss(ours), argnums=(0, 1))(X, Y), jax.jacfwd(loss(ref), argnums=(0, 1))(X, Y))
    close(jax.grad(loss(ours), argnums=(0, 1))(X, Y), jax.grad(loss(ref), argnums=(0, 1))(X, Y))
    out, vjp = jax.vjp(ours, X, Y)
    close(vjp(jnp.ones_like(out)), jax.vjp(ref, X, Y)[1](jnp.ones_like(out)))


@pytest.mark.parametrize("ours, ref", [p[1:] for p in PAIRS], ids=IDS)
def test_hessian_and_linear_transpose(ours, ref):
    x, y = X[:1, :2], Y[:1]  # a small Hessian
    close(jax.hessian(loss(ours), argnums=(0, 1))(x, y),
          jax.hessian(loss(ref), argnums=(0, 1))(x, y))
    out = ours(X, Y)
    for f in (ours, ref):
        assert jax.linear_transpose(lambda x, f=f: f(x, Y), X)(out)[0].shape == X.shape
    close(jax.linear_transpose(lambda x: ours(x, Y), X)(out),
          jax.linear_transpose(lambda x: ref(x, Y), X)(out))


@pytest.mark.parametrize("ours, ref", [p[1:] for p in PAIRS], ids=IDS)
def test_vmap_around_and_inside_gradients(ours, ref):
    xs, ys = jnp.stack([X, 2 * X]), jnp.stack([Y, -Y])
    per_example = jax.vmap(jax.grad(loss(ours), argnums=(0, 1)))
    close(per_example(xs, ys), jax.vmap(jax.grad(loss(ref), argnums=(0, 1)))(xs, ys))
    batched = jax.grad(lambda x, y: jnp.sum(jax.vmap(ours)(x, y)), argnums=(0, 1))
    close(batched(xs, ys), jax.grad(lambda x, y: jnp.sum(jax.vmap(ref)(x, y)),
                                    argnums=(0, 1))(xs, ys))
