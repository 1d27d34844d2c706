"""Flax NNX's stock modules with dotsum in their hooks equal the stock modules, on outputs and
on gradients (of the parameters and the inputs); the example transformer block trains.

``nnx.Einsum(einsum_op=dotsum.numpy.einsum)``, ``nnx.Linear`` / ``nnx.LinearGeneral`` with
``dot_general=dotsum.lax.dot_general``, ``nnx.MultiHeadAttention`` with dotsum's
``qkv_dot_general`` / ``out_dot_general`` (and, separately, the example's dotsum
``attention_fn``). Each pair is built from the same seed, so the parameters are equal.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import optional

import dotsum
from dotsum import lax as dlax
from dotsum import numpy as dnp

EXAMPLE = Path(__file__).parent.parent / "examples" / "transformer_flax.py"


@pytest.fixture(scope="module")
def flax_nnx():
    optional("flax")
    from flax import nnx as module
    return module


@pytest.fixture(scope="module")
def example():
    optional("flax")
    spec = importlib.util.spec_from_file_location("transformer_flax", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["transformer_flax"] = module
    spec.loader.exec_module(module)
    return module


def _modules(nnx, example):
    """(name, stock module, the same with dotsum, input) per case, f32 at highest precision."""
    hp = "highest"
    x2, x3 = (jax.random.normal(jax.random.key(i), s) for i, s in enumerate([(4, 6), (2, 5, 6)]))
    r = lambda: nnx.Rngs(0)  # noqa: E731 - the same parameters for both
    return [
        ("Einsum", nnx.Einsum("btd,dhk->bthk", (6, 2, 3), (2, 3), precision=hp, rngs=r()),
         nnx.Einsum("btd,dhk->bthk", (6, 2, 3), (2, 3), precision=hp, einsum_op=dnp.einsum,
                    rngs=r()), x3),
        ("Linear", nnx.Linear(6, 3, precision=hp, rngs=r()),
         nnx.Linear(6, 3, precision=hp, dot_general=dlax.dot_general, rngs=r()), x2),
        ("LinearGeneral", nnx.LinearGeneral((5, 6), (2, 4), axis=(-2, -1), precision=hp,
                                            rngs=r()),
         nnx.LinearGeneral((5, 6), (2, 4), axis=(-2, -1), precision=hp,
                           dot_general=dlax.dot_general, rngs=r()), x3),
        ("LinearGeneral-batch", nnx.LinearGeneral(6, 4, axis=-1, batch_axis={0: 2},
                                                  precision=hp, rngs=r()),
         nnx.LinearGeneral(6, 4, axis=-1, batch_axis={0: 2}, precision=hp,
                           dot_general=dlax.dot_general, rngs=r()), x3),
        ("MultiHeadAttention", nnx.MultiHeadAttention(2, 6, 8, decode=False, precision=hp,
                                                      rngs=r()),
         nnx.MultiHeadAttention(2, 6, 8, decode=False, precision=hp,
                                qkv_dot_general=dlax.dot_general,
                                out_dot_general=dlax.dot_general, rngs=r()), x3),
        ("MultiHeadAttention-dotsum-attention",
         nnx.MultiHeadAttention(2, 6, 8, decode=False, precision=hp, rngs=r()),
         nnx.MultiHeadAttention(2, 6, 8, decode=False, precision=hp,
                                qkv_dot_general=dlax.dot_general,
                                out_dot_general=dlax.dot_general,
                                attention_fn=example.attention, rngs=r()), x3),
    ]


CASES = ["Einsum", "Linear", "LinearGeneral", "LinearGeneral-batch", "MultiHeadAttention",
         "MultiHeadAttention-dotsum-attention"]


@pytest.mark.parametrize("name", CASES)
def test_stock_module_with_dotsum_hooks_matches(flax_nnx, example, name):
    nnx = flax_nnx
    (_, stock, ours, x), = [c for c in _modules(nnx, example) if c[0] == name]

    def loss(module, x):
        return jnp.sum(jnp.sin(module(x)))

    expected, got = stock(x), ours(x)
    chex.assert_trees_all_close(got, expected, rtol=1e-5, atol=1e-6)
    g_stock = nnx.grad(loss, argnums=(0, 1))(stock, x)
    g_ours = nnx.grad(loss, argnums=(0, 1))(ours, x)
    chex.assert_trees_all_close(jax.tree.leaves(g_ours), jax.tree.leaves(g_stock), rtol=1e-5,
                                atol=1e-6)
    # and under nnx.jit, where Flax passes out_sharding=None through the hooks
    chex.assert_trees_all_close(nnx.jit(lambda m, x: m(x))(ours, x), expected, rtol=1e-5,
                                atol=1e-6)


def test_every_hooked_contraction_is_dotsum(flax_nnx, example):
    nnx = flax_nnx
    for name, _, ours, x in _modules(nnx, example):
        graph, state = nnx.split(ours)
        rows = dotsum.inspect(lambda s, x, g=graph: nnx.merge(g, s)(x), state, x).rows
        if name == "MultiHeadAttention":  # the stock attention_fn runs jnp.einsum
            assert sum(r.op is None for r in rows) == 2
            rows = [r for r in rows if r.op is not None]
        assert rows and all(r.op in ("lax.dot_general", "numpy.einsum") for r in rows), name


def test_example_transformer_trains(example, capsys):
    """Its forward pass is all dotsum and a few SGD steps at least halve the loss."""
    assert example.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "forward: 9 of 9 matrix products are dotsum plans" in out
    losses = [float(line.split()[-1]) for line in out.splitlines() if line.startswith("step")]
    assert len(losses) == 3 and losses[-1] < 0.5 * losses[0]


def test_equinox_module_with_dotsum_numpy():
    """An Equinox module written against ``jnp`` runs unchanged on ``dotsum.numpy``: the same
    output and gradients (of the parameters and the input) under ``eqx.filter_jit``."""
    eqx = optional("equinox")

    class Mixer(eqx.Module):
        w: jax.Array
        xp: object = eqx.field(static=True)

        def __call__(self, x):
            h = self.xp.matmul(x, self.w)
            return self.xp.einsum("btd,bsd->bts", h, h)

    w = jax.random.normal(jax.random.key(0), (6, 3))
    x = jax.random.normal(jax.random.key(1), (4, 5, 6))

    @eqx.filter_jit
    def grads(model, x):
        return eqx.filter_grad(lambda m, x: jnp.sum(m(x) ** 2))(model, x).w

    ours, stock = Mixer(w, dnp), Mixer(w, jnp)
    np.testing.assert_allclose(ours(x), stock(x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grads(ours, x), grads(stock, x), rtol=1e-5, atol=1e-5)
    rows = dotsum.inspect(ours, x).rows
    assert {r.op for r in rows} == {"numpy.matmul", "numpy.einsum"}
