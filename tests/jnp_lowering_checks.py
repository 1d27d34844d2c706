"""Run by ``tests/test_jnp_lowering.py`` with ``DOTSUM_LOWERING=jnp``: ``dotsum.numpy.einsum``
is then ``jnp.einsum``'s own program, equal bit for bit (the einsum strings of Flax's Gemma
example, where the default CPU layout differs in the last bits), and every other op keeps its
semantics. Not collected by the main run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dotsum import _lower
from dotsum import keras as K
from dotsum import numpy as dnp

GEMMA = [("BTD,NDH->BTNH", (2, 16, 64), (4, 64, 16)),
         ("BTNH,BSNH->BTNS", (2, 16, 4, 16), (2, 16, 4, 16)),
         ("BTNS,BSNH->BTNH", (2, 16, 4, 16), (2, 16, 4, 16)),
         ("BTNH,NHD->BTD", (2, 16, 4, 16), (4, 16, 64)),
         ("BTD,DF->BTF", (2, 16, 64), (64, 128)), ("BTF,FD->BTD", (2, 16, 128), (128, 64)),
         ("BTD,KDNH->KBTNH", (2, 16, 64), (2, 64, 4, 16)),
         ("BSD,KNDH->KBSNH", (2, 16, 64), (2, 4, 64, 16))]


def test_the_switch_is_on():
    assert _lower.JNP_LOWERING


@pytest.mark.parametrize("subscripts, x, y", GEMMA, ids=[c[0] for c in GEMMA])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_einsum_is_jnps_bit_for_bit(subscripts, x, y, dtype):
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.standard_normal(x), dtype)
    b = jnp.asarray(rng.standard_normal(y), dtype)
    expected = jax.jit(lambda a, b: jnp.einsum(subscripts, a, b))(a, b)
    for got in (dnp.einsum(subscripts, a, b),
                jax.jit(lambda a, b: dnp.einsum(subscripts, a, b))(a, b)):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(np.asarray(got, np.float32),
                                      np.asarray(expected, np.float32))


def test_three_operands_and_the_plans_own_steps():
    rng = np.random.default_rng(1)
    x, y, z = (jnp.asarray(rng.standard_normal(s), jnp.float32)
               for s in ((3, 4), (4, 5), (5, 6)))
    np.testing.assert_array_equal(np.asarray(dnp.einsum("ij,jk,kl->il", x, y, z)),
                                  np.asarray(jnp.einsum("ij,jk,kl->il", x, y, z)))
    a, b = (jnp.asarray(rng.standard_normal(s), jnp.float32) for s in ((10, 12, 4, 5),
                                                                      (10, 12, 5, 8)))
    legacy = K.batch_dot(a, b, legacy=True)  # padding and squeezing: steps einsum has not
    np.testing.assert_allclose(np.asarray(legacy), np.einsum("abij,abjk->abik", a, b),
                               rtol=1e-5, atol=1e-5)
