"""Porting a Keras 2.2 model that depends on legacy ``batch_dot``: capsule routing.

The CapsNet implementations written for Keras in 2017-2018 ran "dynamic routing between
capsules" (Sabour et al., 2017) with three ``K.batch_dot`` calls on rank-3 and rank-4 tensors:

* the prediction vectors: per sample, ``batch_dot(x_tiled, W, [2, 3])`` with ``x_tiled`` of shape
  ``(J, I, d_in)`` and ``W`` of shape ``(J, I, d_out, d_in)`` -> ``(J, I, d_out)``;
* each routing iteration: ``batch_dot(c, u_hat, [2, 2])`` with ``c (B, J, I)`` and
  ``u_hat (B, J, I, d_out)`` -> ``(B, J, d_out)``, the coupling-weighted sum over input capsules;
* and the agreement update: ``batch_dot(v, u_hat, [2, 3])`` with ``v (B, J, d_out)`` ->
  ``(B, J, I)``.

(``B`` samples, ``I`` input capsules, ``J`` output capsules.) Up to Keras 2.2.4 ``batch_dot`` of
rank >= 3 tensors was ``tf.matmul`` after padding the lower-rank operand with a trailing size-1
axis: *every* leading axis was a batch axis, and ``axes`` only chose which operand to transpose.
So those calls meant ``bji,bjie->bje`` and friends. Keras 2.2.5 made axis 0 the only batch
axis: the same calls now return ``(B, J, J, d_out)``, ``(B, J, J, I)`` and, per sample,
``(J, I, I, d_out)``, an outer product over the capsule axes, so a trained model no longer loads
into the same computation.

This example runs the routing step three ways and checks they agree:

1. ``dotsum.keras.batch_dot(..., legacy=True)``: the old calls, unchanged, jitted;
2. NumPy with ``dotsum.testing.legacy_batch_dot``: a transcription of Keras 2.2.4's algorithm;
3. the port: one explicit ``jnp.einsum``/``dotsum.ops.einsum`` per call, read off the plans.

Then it shows what the current semantics make of the same calls (shapes, values, work).

Run::

    python examples/capsule_routing_legacy.py --quick   # tiny sizes
    python examples/capsule_routing_legacy.py           # MNIST CapsNet sizes (1152 -> 10 capsules)
"""

from __future__ import annotations

import argparse
import functools
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from dotsum import keras as K
from dotsum import ops
from dotsum.testing import legacy_batch_dot

EPS = 1e-7  # Keras's K.epsilon(), used inside squash


# -- the model step as written for Keras <= 2.2.4, on dotsum's legacy batch_dot ----------------
def squash(s, xp=jnp):
    """The capsule non-linearity: scale each vector (last axis) to length |s|^2 / (1 + |s|^2)."""
    norm2 = xp.sum(s * s, axis=-1, keepdims=True)
    return s * (norm2 / (1 + norm2) / xp.sqrt(norm2 + EPS))


def softmax(b, axis, xp=jnp):
    e = xp.exp(b - b.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def predictions_legacy(x, W):
    """u_hat: for every sample, ``batch_dot(x_tiled, W, [2, 3])`` (Keras mapped this over the
    batch with ``K.map_fn``; here ``jax.vmap`` does)."""
    num_out = W.shape[0]
    x_tiled = jnp.broadcast_to(x[:, None], (x.shape[0], num_out) + x.shape[1:])  # (B, J, I, d_in)
    return jax.vmap(lambda xs: K.batch_dot(xs, W, (2, 3), legacy=True))(x_tiled)


@functools.partial(jax.jit, static_argnames="routings")
def route_legacy(x, W, b, routings=3):
    """Dynamic routing, written with the three legacy ``batch_dot`` calls of the old models.

    ``b`` holds the initial routing logits, zeros of shape ``(B, J, I)``. (It is an argument
    rather than a ``jnp.zeros`` inside the jit because XLA would spend seconds constant-folding
    the first softmax of a large constant.)"""
    u_hat = predictions_legacy(x, W)                           # (B, J, I, d_out)
    for i in range(routings):
        c = jax.nn.softmax(b, axis=1)                          # couplings: over output capsules
        v = squash(K.batch_dot(c, u_hat, (2, 2), legacy=True))  # (B, J, d_out)
        if i < routings - 1:
            b = b + K.batch_dot(v, u_hat, (2, 3), legacy=True)  # (B, J, I) agreement
    return v


# -- the NumPy reference: Keras 2.2.4's algorithm, transcribed -------------------------------
def route_numpy(x, W, b, routings=3):
    num_out = W.shape[0]
    x_tiled = np.broadcast_to(x[:, None], (x.shape[0], num_out) + x.shape[1:])
    u_hat = np.stack([legacy_batch_dot(xs, W, (2, 3)) for xs in x_tiled])  # like K.map_fn
    for i in range(routings):
        c = softmax(b, 1, np)
        v = squash(legacy_batch_dot(c, u_hat, (2, 2)), np)
        if i < routings - 1:
            b = b + legacy_batch_dot(v, u_hat, (2, 3))
    return v


# -- the port: what each legacy call is, as an explicit einsum ----------------------------------
PORT = {  # (legacy call, its einsum without the padded size-1 axis)
    "u_hat": ("batch_dot(x_tiled, W, [2, 3])  per sample", "jid,jied->jie"),
    "s": ("batch_dot(c, u_hat, [2, 2])", "bji,bjie->bje"),
    "agreement": ("batch_dot(v, u_hat, [2, 3])", "bje,bjie->bji"),
}


@functools.partial(jax.jit, static_argnames="routings")
def route_einsum(x, W, b, routings=3):
    """The same step with no batch_dot at all: what a port to Keras 3 / JAX should write."""
    u_hat = ops.einsum("bid,jied->bjie", x, W)                 # the tiling is a free broadcast
    for i in range(routings):
        c = jax.nn.softmax(b, axis=1)
        v = squash(ops.einsum(PORT["s"][1], c, u_hat))
        if i < routings - 1:
            b = b + ops.einsum(PORT["agreement"][1], v, u_hat)
    return v


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a second or two)")
    args = parser.parse_args(argv)
    # B = batch samples, I = n_in input capsules (6*6*32 primary capsules in the MNIST model),
    # J = n_out output capsules (one per digit), capsule dimensions d_in -> d_out
    batch, n_in, n_out, d_in, d_out = (2, 12, 3, 4, 5) if args.quick else (32, 1152, 10, 8, 16)
    routings = 3

    rng = np.random.default_rng(0)
    x = squash(rng.standard_normal((batch, n_in, d_in)), np).astype(np.float32)  # primary caps
    W = rng.standard_normal((n_out, n_in, d_out, d_in)) * 0.5 * np.sqrt(12 / n_in)
    W = W.astype(np.float32)
    u_hat_shape = (batch, n_out, n_in, d_out)
    print(f"capsule routing: B={batch} samples, I={n_in} -> J={n_out} capsules, "
          f"dims {d_in} -> {d_out}, {routings} routings\n")

    # 1. the plans of the three legacy calls, next to the current semantics of the same calls
    calls = {
        "u_hat": ((n_out, n_in, d_in), (n_out, n_in, d_out, d_in), (2, 3)),
        "s": ((batch, n_out, n_in), u_hat_shape, (2, 2)),
        "agreement": ((batch, n_out, d_out), u_hat_shape, (2, 3)),
    }
    print("== the legacy calls: Keras <= 2.2.4 (legacy=True) vs Keras >= 2.2.5 (default) ==")
    print("(\"conjugate\": Keras 2.2.4 chose tf.matmul's adjoint flags; a no-op on real values)")
    for name, (xs, ys, axes) in calls.items():
        legacy = K.batch_dot.plan(xs, ys, axes, legacy=True)
        current = K.batch_dot.plan(xs, ys, axes)
        print(f"\n{name} = {PORT[name][0]}")
        print(legacy)
        print(f"  port    jnp.einsum('{PORT[name][1]}', ...)   (the plan without its padded "
              "size-1 axis)")
        print(f"  current Keras: '{current.subscripts}' -> {current.out_shape}, "
              f"{current.flops / legacy.flops:.0f}x the flops")
        assert ops.einsum.plan(PORT[name][1], xs, ys).out_shape == legacy.out_shape

    # 2. the legacy step, three ways
    print("\n== legacy routing: dotsum (jit) vs the NumPy transcription vs the einsum port ==")
    start = time.perf_counter()
    b0 = np.zeros((batch, n_out, n_in), np.float32)  # routing logits start at 0: uniform couplings
    v = route_legacy(x, W, b0, routings).block_until_ready()
    elapsed = time.perf_counter() - start
    v_numpy = route_numpy(x.astype(np.float64), W.astype(np.float64), b0, routings)
    v_port = route_einsum(x, W, b0, routings)
    np.testing.assert_allclose(np.asarray(v), v_numpy, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(v_port), np.asarray(v), rtol=1e-5, atol=1e-6)
    print(f"v: {v.shape}, |v| of sample 0 = {np.round(np.linalg.norm(v[0], axis=-1), 4)}")
    print(f"dotsum legacy == NumPy legacy_batch_dot == einsum port  (first call, incl. compile:"
          f" {elapsed:.2f} s)")

    # each legacy call on its own against the transcription of Keras 2.2.4
    u_hat = predictions_legacy(x, W)
    c = jax.nn.softmax(rng.standard_normal((batch, n_out, n_in)).astype(np.float32), axis=1)
    v0 = np.asarray(v)
    x0_tiled = np.repeat(x[:1], n_out, axis=0)  # sample 0, tiled over the output capsules
    checks = [
        ("u_hat", K.batch_dot(x0_tiled, W, (2, 3), legacy=True),
         legacy_batch_dot(x0_tiled, W, (2, 3))),
        ("s", K.batch_dot(c, u_hat, (2, 2), legacy=True), legacy_batch_dot(c, u_hat, (2, 2))),
        ("agreement", K.batch_dot(v0, u_hat, (2, 3), legacy=True),
         legacy_batch_dot(v0, u_hat, (2, 3))),
    ]
    for name, got, expected in checks:
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-5)
        print(f"  {name:<9} {str(got.shape):<18} matches legacy_batch_dot")

    # 3. the same calls with the current semantics
    print("\n== the same calls with Keras >= 2.2.5 semantics (legacy=False) ==")
    s_now = K.batch_dot(c, u_hat, (2, 2))
    a_now = K.batch_dot(v0, u_hat, (2, 3))
    s_old = K.batch_dot(c, u_hat, (2, 2), legacy=True)
    a_old = K.batch_dot(v0, u_hat, (2, 3), legacy=True)
    print(f"  s         {s_now.shape} instead of {s_old.shape}")
    print(f"  agreement {a_now.shape} instead of {a_old.shape}")
    # The current result pairs every output capsule j with every j'; the old one is its j == j'
    # diagonal. Nothing else of the J x J block is wanted.
    for name, now, old in (("s", s_now, s_old), ("agreement", a_now, a_old)):
        diag = jnp.moveaxis(jnp.diagonal(now, axis1=1, axis2=2), -1, 1)
        np.testing.assert_allclose(np.asarray(diag), np.asarray(old), rtol=1e-4, atol=1e-5)
        print(f"  {name:<9} the legacy result is its j == j' diagonal; the other "
              f"{n_out * (n_out - 1)} (j, j') pairs are work the old model never did")
    per_sample = K.batch_dot.plan((n_out, n_in, d_in), (n_out, n_in, d_out, d_in), (2, 3))
    now_bytes, old_bytes = (4 * batch * int(np.prod(shape))
                            for shape in (per_sample.out_shape, (n_out, n_in, d_out)))
    print(f"  u_hat     per sample {per_sample.out_shape} instead of {(n_out, n_in, d_out)}: "
          f"{_size(now_bytes)} of float32 for the batch instead of {_size(old_bytes)}")
    print("\nPorting rule: keep legacy=True to load the old weights unchanged, or replace each "
          "call by its einsum above (ops.einsum / jnp.einsum / dotsum.tf.matmul).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
