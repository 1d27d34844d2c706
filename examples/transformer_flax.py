"""A Flax NNX transformer block whose every contraction is dotsum, trained a few SGD steps.

The stock modules take dotsum through their hooks, nothing is forked:

* ``nnx.MultiHeadAttention(qkv_dot_general=dlax.dot_general, out_dot_general=...,
  attention_fn=attention)``: the projections are ``dotsum.lax.dot_general`` plans, and
  :func:`attention` (a drop-in for ``nnx.dot_product_attention``) computes the scores and the
  weighted values with ``dotsum.numpy.einsum``;
* the MLP is two ``nnx.Linear(..., dot_general=dlax.dot_general)``;
* the logits are ``nnx.Einsum("btd,dv->btv", ..., einsum_op=dnp.einsum)``.

``dotsum.inspect`` then lists every ``dot_general`` of the training step (forward and backward)
and the example checks that each forward contraction came from a dotsum plan. The task: predict
the next token of a random periodic sequence; the loss goes down.

Run::

    python examples/transformer_flax.py --quick   # tiny sizes, 20 steps
    python examples/transformer_flax.py           # width 128, 4 heads, 64 tokens, 100 steps
"""

from __future__ import annotations

import argparse
import sys

import jax
import jax.numpy as jnp

import dotsum
from dotsum import lax as dlax
from dotsum import numpy as dnp

try:
    from flax import nnx
except ImportError:  # not a dotsum dependency
    sys.exit("examples/transformer_flax.py needs flax: pip install flax")


def attention(query, key, value, bias=None, mask=None, *, dtype=None, precision=None,
              **unused):
    """``nnx.dot_product_attention`` (no dropout) with both products run by ``dotsum.numpy``:
    ``query``/``key``/``value`` are ``(batch, length, heads, head_dim)``."""
    del unused  # dropout and module hooks: this block trains without dropout
    depth = query.shape[-1]
    query = query / jnp.sqrt(depth).astype(query.dtype)
    scores = dnp.einsum("...qhd,...khd->...hqk", query, key, precision=precision)
    if bias is not None:
        scores = scores + bias
    if mask is not None:
        scores = jnp.where(mask, scores, jnp.finfo(scores.dtype).min)
    weights = jax.nn.softmax(scores, axis=-1).astype(dtype or value.dtype)
    return dnp.einsum("...hqk,...khd->...qhd", weights, value, precision=precision)


class Block(nnx.Module):
    """Pre-norm causal self-attention and MLP, with token embedding and logits."""

    def __init__(self, vocab: int, width: int, heads: int, *, rngs: nnx.Rngs):
        self.embed = nnx.Embed(vocab, width, rngs=rngs)
        self.norm1, self.norm2 = nnx.LayerNorm(width, rngs=rngs), nnx.LayerNorm(width, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(
            heads, width, decode=False, attention_fn=attention, rngs=rngs,
            qkv_dot_general=dlax.dot_general, out_dot_general=dlax.dot_general)
        self.up = nnx.Linear(width, 4 * width, dot_general=dlax.dot_general, rngs=rngs)
        self.down = nnx.Linear(4 * width, width, dot_general=dlax.dot_general, rngs=rngs)
        self.logits = nnx.Einsum("btd,dv->btv", (width, vocab), einsum_op=dnp.einsum, rngs=rngs)

    def __call__(self, tokens):
        x = self.embed(tokens)
        causal = nnx.make_causal_mask(tokens)
        x = x + self.attn(self.norm1(x), mask=causal)
        x = x + self.down(jax.nn.gelu(self.up(self.norm2(x))))
        return self.logits(x)


def loss_fn(model: Block, tokens):
    logits = model(tokens[:, :-1])
    targets = jax.nn.one_hot(tokens[:, 1:], logits.shape[-1])
    return -jnp.mean(jnp.sum(targets * jax.nn.log_softmax(logits), axis=-1))


@nnx.jit
def train_step(model: Block, tokens, lr):
    loss, grads = nnx.value_and_grad(loss_fn)(model, tokens)
    params = nnx.state(model, nnx.Param)
    nnx.update(model, jax.tree.map(lambda p, g: p - lr * g, params, grads))
    return loss


def data(batch: int, length: int, vocab: int, seed: int = 0):
    """Sequences that repeat a random pattern of 4 tokens: learnable next-token prediction."""
    pattern = jax.random.randint(jax.random.key(seed), (batch, 4), 0, vocab)
    return jnp.tile(pattern, (1, length // 4 + 1))[:, :length + 1]


def inspected(model: Block, tokens, grad: bool) -> dotsum.Report:
    """``dotsum.inspect`` of the forward pass, or of the loss and its gradient."""
    graph, state = nnx.split(model)

    def forward(s, t):
        return nnx.merge(graph, s)(t)

    def step(s, t):
        return jax.value_and_grad(lambda s: loss_fn(nnx.merge(graph, s), t))(s)

    return dotsum.inspect(step if grad else forward, state, tokens)


def sums(row) -> bool:
    """A matrix product (some label summed), not an elementwise outer product such as
    LayerNorm's ``rsqrt(var)[..., None] * scale``, which no dot_general hook carries."""
    inputs, output = row.subscripts.split("->")
    return any(label not in output for label in inputs.replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 20 steps")
    args = parser.parse_args(argv)
    vocab, width, heads, length, batch, steps, lr = (
        (16, 32, 2, 16, 8, 20, 0.5) if args.quick else (32, 128, 4, 64, 16, 100, 0.5))
    model = Block(vocab, width, heads, rngs=nnx.Rngs(0))
    tokens = data(batch, length, vocab)
    rows = [r for r in inspected(model, tokens[:, :-1], grad=False).rows if sums(r)]
    ours, total = sum(r.count for r in rows if r.op is not None), sum(r.count for r in rows)
    print(f"forward: {ours} of {total} matrix products are dotsum plans:")
    for r in rows:
        print(f"  {r.count} x {r.op or 'not dotsum':<16} {r.subscripts:<16} {r.shapes}")
    report = inspected(model, tokens, grad=True)
    print(f"loss and gradient: {sum(r.count for r in report.rows)} contractions, "
          f"{report.total_flops:,} FLOPs")
    losses = [float(train_step(model, tokens, lr)) for _ in range(steps)]
    for step in sorted({0, steps // 2, steps - 1}):
        print(f"step {step:3d}  loss {losses[step]:.4f}")
    if ours != total or not losses[-1] < losses[0]:
        print("FAILED: every forward matrix product must be dotsum's, and the loss must go down")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
