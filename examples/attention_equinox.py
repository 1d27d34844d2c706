"""Multi-head attention as an Equinox module, with its two products run by dotsum.

The block projects its input with ``eqx.nn.Linear`` layers, splits the heads, and computes

* the scores with ``dotsum.keras.batch_dot(q, k, axes=2)`` on ``(batch * heads, T, d_head)``
  operands: Keras's "per-sample dot over one axis", here ``q[n] @ k[n].T`` for every batch-head
  ``n`` (einsum ``abk,adk->abd``);
* the head outputs with ``dotsum.ops.einsum("bhqk,bhkd->bhqd", probs, v)``.

Each product is planned once per shape and runs as one ``dot_general`` inside the
``eqx.filter_jit``-compiled forward and training step. The example prints both plans, checks the
block's output and gradients against a pure ``jnp.einsum`` implementation of the same block, and
takes a few SGD steps.

Why merge batch and heads for ``batch_dot``? Its axis 0 is the only batch axis: on the rank-4
``(batch, heads, T, d_head)`` tensors ``batch_dot(q, k, axes=3)`` would pair every head with
every other head and return ``(batch, heads, T, heads, T)``. (The example prints that plan too.)

Run::

    python examples/attention_equinox.py --quick   # tiny sizes
    python examples/attention_equinox.py           # batch 8, 256 tokens, width 512, 8 heads
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from dotsum import keras as K
from dotsum import ops

try:
    import equinox as eqx
except ImportError:  # not a dotsum dependency
    sys.exit("examples/attention_equinox.py needs equinox: pip install equinox")

LR = 1.0
PRECISION = "highest"  # full float32 products on GPU/TPU too, so the two blocks compare tightly


class MultiHeadAttention(eqx.Module):
    """Self-attention over ``x`` of shape ``(batch, T, dim)``, optionally causal."""

    query_proj: eqx.nn.Linear
    key_proj: eqx.nn.Linear
    value_proj: eqx.nn.Linear
    output_proj: eqx.nn.Linear
    num_heads: int = eqx.field(static=True)
    causal: bool = eqx.field(static=True)

    def __init__(self, dim: int, num_heads: int, *, causal: bool = True, key: jax.Array):
        if dim % num_heads:
            raise ValueError(f"dim={dim} is not divisible by num_heads={num_heads}")
        kq, kk, kv, ko = jax.random.split(key, 4)
        self.query_proj = eqx.nn.Linear(dim, dim, key=kq)
        self.key_proj = eqx.nn.Linear(dim, dim, key=kk)
        self.value_proj = eqx.nn.Linear(dim, dim, key=kv)
        self.output_proj = eqx.nn.Linear(dim, dim, key=ko)
        self.num_heads = num_heads
        self.causal = causal

    def heads(self, linear: eqx.nn.Linear, x: jax.Array) -> jax.Array:
        """Project every token, then split the width into heads: ``(batch, heads, T, d_head)``."""
        b, t, d = x.shape
        y = jax.vmap(jax.vmap(linear))(x)  # eqx.nn.Linear maps one vector
        return y.reshape(b, t, self.num_heads, d // self.num_heads).transpose(0, 2, 1, 3)

    def __call__(self, x: jax.Array) -> jax.Array:
        q, k, v = (self.heads(lin, x) for lin in (self.query_proj, self.key_proj,
                                                  self.value_proj))
        b, h, t, dh = q.shape
        # scores[n, i, j] = q[n, i] . k[n, j] for every batch-head n: batch_dot over d_head
        scores = K.batch_dot(q.reshape(b * h, t, dh), k.reshape(b * h, t, dh), axes=2,
                             precision=PRECISION).reshape(b, h, t, t)
        probs = jax.nn.softmax(_masked(scores / math.sqrt(dh), self.causal), axis=-1)
        ctx = ops.einsum("bhqk,bhkd->bhqd", probs, v, precision=PRECISION)
        merged = ctx.transpose(0, 2, 1, 3).reshape(b, t, h * dh)
        return jax.vmap(jax.vmap(self.output_proj))(merged)


def _masked(scores: jax.Array, causal: bool) -> jax.Array:
    if not causal:
        return scores
    t = scores.shape[-1]
    return jnp.where(jnp.tril(jnp.ones((t, t), bool)), scores, -jnp.inf)


def reference(model: MultiHeadAttention, x: jax.Array) -> jax.Array:
    """The same block with nothing but ``jnp.einsum``: the check for the dotsum version."""
    def linear(lin: eqx.nn.Linear, z: jax.Array) -> jax.Array:
        return jnp.einsum("btd,ed->bte", z, lin.weight, precision=PRECISION) + lin.bias

    b, t, d = x.shape
    h = model.num_heads
    q, k, v = (linear(lin, x).reshape(b, t, h, d // h)
               for lin in (model.query_proj, model.key_proj, model.value_proj))
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k, precision=PRECISION) / math.sqrt(d // h)
    probs = jax.nn.softmax(_masked(scores, model.causal), axis=-1)
    ctx = jnp.einsum("bhqk,bkhd->bqhd", probs, v, precision=PRECISION)
    return linear(model.output_proj, ctx.reshape(b, t, d))


def mse(model, x: jax.Array, target: jax.Array, block=None) -> jax.Array:
    out = model(x) if block is None else block(model, x)
    return jnp.mean((out - target) ** 2)


@eqx.filter_jit
def train_step(model: MultiHeadAttention, x: jax.Array, target: jax.Array, lr: float):
    """One SGD step on the mean squared error; returns the new model and the loss before it."""
    loss, grads = eqx.filter_value_and_grad(mse)(model, x, target)
    return eqx.apply_updates(model, jax.tree.map(lambda g: -lr * g, grads)), loss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a few seconds)")
    args = parser.parse_args(argv)
    batch, tokens, dim, heads = (2, 8, 16, 4) if args.quick else (8, 256, 512, 8)
    steps = 3 if args.quick else 10
    dh = dim // heads

    key_model, key_x, key_teacher = jax.random.split(jax.random.key(0), 3)
    model = MultiHeadAttention(dim, heads, key=key_model)
    x = jax.random.normal(key_x, (batch, tokens, dim))
    # the task: match the output of another, randomly initialised block (a "teacher")
    target = jax.jit(reference)(MultiHeadAttention(dim, heads, key=key_teacher), x)
    print(f"multi-head attention: batch {batch}, {tokens} tokens, width {dim}, {heads} heads "
          f"of {dh}, causal, on {jax.devices()[0].device_kind}\n")

    print("== the two products, as planned ==")
    print(K.batch_dot.plan((batch * heads, tokens, dh), (batch * heads, tokens, dh), axes=2,
                           precision=PRECISION))
    print(ops.einsum.plan("bhqk,bhkd->bhqd", (batch, heads, tokens, tokens),
                          (batch, heads, tokens, dh), precision=PRECISION))
    wrong = K.batch_dot.plan((batch, heads, tokens, dh), (batch, heads, tokens, dh), axes=3)
    print(f"(not this: batch_dot on the unmerged rank-4 heads is '{wrong.subscripts}' -> "
          f"{wrong.out_shape}: axis 0 is its only batch axis)\n")

    # The projections (eqx.nn.Linear) use the default matmul precision; make it full float32 so
    # the comparison is as tight on GPU/TPU as on CPU.
    with jax.default_matmul_precision("highest"):
        forward = eqx.filter_jit(lambda m, z: m(z))
        out = forward(model, x)
        expected = jax.jit(reference)(model, x)
        np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-5, atol=1e-5)
        print(f"forward: {out.shape}, max |dotsum - jnp.einsum| = "
              f"{float(jnp.max(jnp.abs(out - expected))):.2e}")

        grads = eqx.filter_jit(eqx.filter_grad(mse))(model, x, target)
        ref_grads = eqx.filter_jit(eqx.filter_grad(mse))(model, x, target, reference)
        pairs = list(zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads), strict=True))
        for g, r in pairs:
            np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-4, atol=1e-6)
        print(f"gradients: {len(pairs)} parameter arrays equal the jnp.einsum block's")

        losses, times = [], []
        for _ in range(steps):
            start = time.perf_counter()
            model, loss = train_step(model, x, target, LR)
            losses.append(float(loss))  # float() waits for the step
            times.append(time.perf_counter() - start)
        print(f"SGD, lr {LR}: loss {' -> '.join(f'{v:.5f}' for v in losses)}")
        print(f"train step: first call {times[0]:.2f} s (trace + compile), then "
              f"{np.median(times[1:]) * 1e3:.1f} ms median")
        assert losses[-1] < losses[0], losses
    return 0


if __name__ == "__main__":
    sys.exit(main())
