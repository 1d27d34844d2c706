"""``Report.roofline``: each row priced on a device with its tiles' padding, figures by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import dotsum
from dotsum import devices
from dotsum import keras as K
from dotsum import numpy as dnp

BF16 = jnp.bfloat16


def spec(*shape, dtype=BF16):
    return jax.ShapeDtypeStruct(shape, dtype)


def legacy_report():
    """The seed's batch_dot: (10, 12, 4, 5) . (10, 12, 5, 8), 120 products of 4x5 by 5x8."""
    return dotsum.inspect(lambda x, y: K.batch_dot(x, y, legacy=True), spec(10, 12, 4, 5),
                          spec(10, 12, 5, 8))


def tiled(*shape):
    """Elements of an array in (8, 128) TPU tiles."""
    *lead, rows, cols = shape
    n = 1
    for d in lead:
        n *= d
    return n * -(-rows // 8) * 8 * -(-cols // 128) * 128


@pytest.mark.parametrize("device, width", [("tpu-v5e", 128), ("tpu-v4", 128), ("tpu-v6e", 256),
                                           ("tpu7x", 256)])
def test_a_small_batch_dot_fills_a_sliver_of_the_mxu(device, width):
    (cost,) = legacy_report().roofline(device).rows
    flops = 2 * 120 * 4 * 5 * 8
    padded = 2 * 120 * 8 * width * width  # M 4 -> 8 sublanes, K 5 and N 8 -> the MXU's width
    assert (cost.flops, cost.padded_flops) == (flops, padded)
    assert cost.utilisation == pytest.approx(flops / padded)
    assert cost.bytes == 2 * (120 * 20 + 120 * 40 + 120 * 32)
    assert cost.padded_bytes == 2 * (tiled(10, 12, 4, 5) + tiled(10, 12, 5, 8)
                                     + tiled(10, 12, 4, 8))
    d = devices.get(device)
    assert cost.seconds == pytest.approx(max(padded / d.peak["bfloat16"],
                                             cost.padded_bytes / d.bandwidth))
    assert cost.bound == "memory"
    assert cost.advice == f"k: 5 of {width} ({5 / width:.0%}); grow it or fold into it"


def test_nvidia_tensor_cores_pad_to_16_bytes():
    (cost,) = legacy_report().roofline("h100").rows
    assert cost.padded_flops == 2 * 120 * 8 * 8 * 8  # bf16: multiples of 8 elements
    assert cost.padded_bytes == cost.bytes  # no padding in memory
    (f32,) = legacy_report().roofline("h100", "float32").rows
    assert f32.padded_flops == 2 * 120 * 4 * 8 * 8  # tf32: multiples of 4
    (i8,) = legacy_report().roofline("h100", "int8").rows
    assert i8.padded_flops == 2 * 120 * 16 * 16 * 16
    assert i8.bytes == 120 * 20 + 120 * 40 + 4 * 120 * 32  # an int32 result


def test_a_large_gemm_fills_its_tiles_and_needs_no_advice():
    report = dotsum.inspect(lambda x, w: x @ w, spec(4096, 4096), spec(4096, 4096))
    for device in ("tpu-v5e", "tpu-v6e", "h100"):
        (cost,) = report.roofline(device).rows
        assert (cost.utilisation, cost.advice, cost.bound) == (1.0, "", "compute")
        assert cost.seconds == pytest.approx(2 * 4096 ** 3 / devices.get(device).peak["bfloat16"])


def test_the_cheaper_side_is_streamed():
    """(2048, 8) x (8, 3): N = 3 should be the streamed side on TPU (rounded to 8), M = 2048
    the MXU's (a multiple of 128 already): 2*2048*128*8, not 2*2048*128*128."""
    report = dotsum.inspect(lambda x, w: x @ w, spec(2048, 8), spec(8, 3))
    (cost,) = report.roofline("tpu-v5e").rows
    assert cost.padded_flops == 2 * 2048 * 8 * 128


def test_shares_and_totals():
    report = dotsum.inspect(lambda x, w, v: (x @ w) @ v, spec(256, 512), spec(512, 1024),
                            spec(1024, 3))
    priced = report.roofline("tpu-v5e")
    assert sum(priced.share(c) for c in priced.rows) == pytest.approx(1.0)
    assert priced.seconds == pytest.approx(sum(c.seconds for c in priced.rows))
    assert priced.utilisation == pytest.approx(
        sum(c.flops for c in priced.rows) / sum(c.padded_flops for c in priced.rows))
    text = str(priced)
    assert text.splitlines()[0].split() == ["time", "share", "util", "bound", "einsum",
                                            "shapes", "advice"]
    assert text.splitlines()[-1].startswith("tpu-v5e (each row's dtype): ideal ")


def test_counts_multiply_the_time():
    def f(x, w):
        return jax.lax.scan(lambda c, _: (c @ w, None), x, None, length=5)[0]

    (cost,) = dotsum.inspect(f, spec(64, 64), spec(64, 64)).roofline("h100").rows
    (once,) = dotsum.inspect(lambda x, w: x @ w, spec(64, 64), spec(64, 64)).roofline("h100").rows
    assert cost.row.count == 5 and cost.seconds == pytest.approx(5 * once.seconds)


def test_an_outer_product_is_elementwise_work():
    (cost,) = dotsum.inspect(lambda x, y: dnp.outer(x, y), spec(100), spec(3)).roofline(
        "tpu-v5e").rows
    assert cost.padded_flops == 104 * 128  # the result's (8, 128) tiles
    assert cost.bound == "memory"


def test_errors():
    b, = jax.export.symbolic_shape("b")
    report = dotsum.inspect(lambda x, w: x @ w, spec(b, 8), spec(8, 8))
    with pytest.raises(ValueError, match="a roofline needs concrete sizes"):
        report.roofline("h100")
    with pytest.raises(ValueError, match="unknown device 'x100'"):
        legacy_report().roofline("x100")
    with pytest.raises(ValueError, match="TPU v5e has no published peak for float16"):
        legacy_report().roofline("tpu-v5e", "float16")
