"""Every contraction of an Equinox transformer block, forward and gradient: ``dotsum.inspect``.

The block is pre-norm self-attention (``attention_equinox.py``'s ``MultiHeadAttention``: its
projections are ``eqx.nn.Linear``, its scores ``dotsum.keras.batch_dot``, its head outputs
``dotsum.ops.einsum``) followed by a two-layer MLP. ``dotsum.inspect`` traces the forward pass
and ``eqx.filter_grad`` of a loss through it, without running either, and prints each
contraction as an einsum string with its shapes, FLOPs, count and the line that made it; rows
that came from a dotsum op name it. The forward pass is then priced on a TPU v5e in bfloat16
(``Report.roofline``): each row's ideal time, its share, the share of the MXU tiles it fills
and the axis to grow. The README's table is this script's ``--quick`` output
(``tests/test_inspect.py`` checks that it has not drifted).

Run from the repository root::

    python examples/inspect_transformer.py --quick   # batch 2, 16 tokens, width 32, 4 heads
    python examples/inspect_transformer.py           # batch 8, 512 tokens, width 768, 12 heads
"""

from __future__ import annotations

import argparse
import sys

import jax
import jax.numpy as jnp

import dotsum

try:
    import equinox as eqx
except ImportError:  # not a dotsum dependency
    sys.exit("examples/inspect_transformer.py needs equinox: pip install equinox")

from attention_equinox import MultiHeadAttention  # noqa: E402 (the example beside this one)


class Block(eqx.Module):
    """``x + attention(norm(x))``, then ``x + mlp(norm(x))``, on ``(batch, T, dim)``."""

    attention: MultiHeadAttention
    norm1: eqx.nn.LayerNorm
    norm2: eqx.nn.LayerNorm
    up: eqx.nn.Linear
    down: eqx.nn.Linear

    def __init__(self, dim: int, heads: int, *, key: jax.Array):
        ka, ku, kd = jax.random.split(key, 3)
        self.attention = MultiHeadAttention(dim, heads, key=ka)
        self.norm1, self.norm2 = eqx.nn.LayerNorm(dim), eqx.nn.LayerNorm(dim)
        self.up = eqx.nn.Linear(dim, 4 * dim, key=ku)
        self.down = eqx.nn.Linear(4 * dim, dim, key=kd)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = x + self.attention(per_token(self.norm1)(x))
        hidden = jax.nn.gelu(per_token(self.up)(per_token(self.norm2)(x)))
        return x + per_token(self.down)(hidden)


def per_token(layer):
    """An Equinox layer (which maps one vector) over every token of ``(batch, T, dim)``."""
    return jax.vmap(jax.vmap(layer))


def loss(block: Block, x: jax.Array) -> jax.Array:
    return jnp.mean(block(x) ** 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    args = parser.parse_args(argv)
    batch, tokens, dim, heads = (2, 16, 32, 4) if args.quick else (8, 512, 768, 12)
    block = Block(dim, heads, key=jax.random.key(0))
    x = jax.ShapeDtypeStruct((batch, tokens, dim), jnp.float32)  # nothing is computed
    print(f"forward, x: {x.shape}")
    forward = dotsum.inspect(lambda b, x: b(x), block, x)
    print(forward)
    print("\nthe forward pass priced on a TPU v5e in bfloat16, tile padding included")
    print(forward.roofline("tpu-v5e", "bfloat16"))
    print("\ngradient of mean(block(x)**2) with respect to the block's parameters")
    print(dotsum.inspect(eqx.filter_grad(loss), block, x))
    return 0


if __name__ == "__main__":
    sys.exit(main())
