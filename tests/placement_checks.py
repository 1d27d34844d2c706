"""Where results land, run by ``tests/test_placement.py`` in a JAX with 4 CPU devices: operands
committed to different devices, and ``out_sharding`` on a mesh that no mesh context sets and no
operand is on, each against ``jax.numpy`` live. Not collected by the main run."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from dotsum import keras as K
from dotsum import lax as dlax
from dotsum import numpy as dnp
from dotsum import ops

A, B, C = np.ones((4, 6), "f4"), np.ones((6, 2), "f4"), np.ones((2, 2), "f4")


def _sharding():
    mesh = jax.make_mesh((4,), ("x",), axis_types=(AxisType.Explicit,))
    return NamedSharding(mesh, P("x", None))


CALLS = {
    "dot": (lambda a, b, s: jnp.dot(a, b, out_sharding=s),
            lambda a, b, s: dnp.dot(a, b, out_sharding=s)),
    "matmul": (lambda a, b, s: jnp.matmul(a, b, out_sharding=s),
               lambda a, b, s: dnp.matmul(a, b, out_sharding=s)),
    "einsum": (lambda a, b, s: jnp.einsum("ij,jk->ik", a, b, out_sharding=s),
               lambda a, b, s: dnp.einsum("ij,jk->ik", a, b, out_sharding=s)),
    "dot_general": (lambda a, b, s: jax.lax.dot_general(a, b, (((1,), (0,)), ((), ())),
                                                        out_sharding=s),
                    lambda a, b, s: dlax.dot_general(a, b, (((1,), (0,)), ((), ())),
                                                     out_sharding=s)),
}


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("traced", [False, True])
def test_off_the_mesh_a_product_lands_where_jnp_puts_it(name, traced):
    """No mesh set, operands on one device: jnp's one-dot_general products drop the
    NamedSharding (the result stays on the operands' device), eagerly and under jit."""
    ref, ours = CALLS[name]
    s = _sharding()
    if traced:
        ref, ours = (jax.jit(lambda a, b, f=f: f(a, b, s)) for f in (ref, ours))
        expected, got = ref(A, B), ours(A, B)
    else:
        expected, got = ref(A, B, s), ours(A, B, s)
    assert got.sharding == expected.sharding
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


@pytest.mark.parametrize("traced", [False, True])
def test_off_the_mesh_a_multi_step_einsum_fails_as_jnp_does_named(traced):
    s = _sharding()

    def ref(a, b, c):
        return jnp.einsum("ij,jk,kl->il", a, b, c, out_sharding=s)

    def ours(a, b, c):
        return dnp.einsum("ij,jk,kl->il", a, b, c, out_sharding=s)

    if traced:
        ref, ours = jax.jit(ref), jax.jit(ours)
    with pytest.raises(ValueError):
        ref(A, B, C)
    with pytest.raises(ValueError, match=r"^numpy\.einsum: out_sharding=.* is on a mesh of 4 "
                                         r"devices, but no mesh is set and no operand is on it"):
        ours(A, B, C)


@pytest.mark.parametrize("call", [
    lambda x, y: dnp.matmul(x, y), lambda x, y: K.dot(x, y), lambda x, y: ops.matmul(x, y),
    lambda x, y: dnp.einsum("ij,jk", x, y, precision="highest"),
    lambda x, y: dlax.dot_general(x, y, (((1,), (0,)), ((), ()))),
], ids=["numpy.matmul", "keras.dot", "ops.matmul", "numpy.einsum", "lax.dot_general"])
def test_operands_on_different_devices_are_named(call):
    devices = jax.devices()
    x = jax.device_put(jnp.ones((2, 3)), devices[0])
    y = jax.device_put(jnp.ones((3, 4)), devices[1])
    with pytest.raises(ValueError, match=r"Received incompatible devices"):
        jnp.matmul(x, y)  # jnp's kind, which ours keeps
    with pytest.raises(ValueError) as info:
        call(x, y)
    message = str(info.value)
    assert re.match(r"^[a-z.]+\.[a-z_]+: the operands are committed to different devices \(",
                    message), message
    assert str(devices[0]) in message and str(devices[1]) in message
    assert "partial" not in message
    assert message.endswith("shape=(3, 4))")
