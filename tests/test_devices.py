"""The device table and ``plan.roofline``: figures by hand, the precision rules, detection by
``device_kind``, errors, and the CLI's roofline lines."""

from __future__ import annotations

import math

import pytest

import dotsum
from dotsum import cli, devices, ops
from dotsum import keras as K

GEMM = K.dot.plan((4096, 4096), (4096, 4096))


def test_the_table_has_the_devices_users_run():
    assert set(devices.DEVICES) == {"a100", "a100-pcie", "a100-40gb", "h100", "h100-pcie",
                                    "h100-nvl", "h200", "b200", "tpu-v4", "tpu-v5e", "tpu-v5p",
                                    "tpu-v6e", "tpu7x"}
    kinds = [k for d in devices.DEVICES.values() for k in d.kinds]
    assert len(kinds) == len(set(kinds))  # a device_kind names one entry
    for device in devices.DEVICES.values():
        assert device.source and device.bandwidth > 1e11 and "bfloat16" in device.peak
        assert device.platform in ("cuda", "tpu")
        assert all(1e12 < peak < 1e16 for peak in device.peak.values()), device


def test_roofline_by_hand():
    r = GEMM.roofline("h100", "bfloat16")
    flops, nbytes = 2 * 4096 ** 3, 3 * 4096 * 4096 * 2
    assert (r.flops, r.bytes) == (flops, nbytes)
    assert r.intensity == pytest.approx(flops / nbytes)
    assert r.bound == "compute" and r.seconds == pytest.approx(flops / 989.5e12)
    # a small batched product is memory-bound: its bytes at 3.35 TB/s
    small = K.batch_dot.plan((64, 512, 64), (64, 512, 64), axes=(2, 2)).roofline("h100",
                                                                                 "bfloat16")
    small_bytes = (3 * 64 * 512 * 64 - 64 * 512 * 64 + 64 * 512 * 512) * 2
    assert small.bound == "memory" and small.bytes == small_bytes
    assert small.seconds == pytest.approx(small_bytes / 3.35e12)


def test_result_bytes_follow_the_plans_dtype_policy():
    """Keras 3's int8 matmul writes int32: 4 bytes per result element, operands 1."""
    r = ops.matmul.plan((256, 256), (256, 256)).roofline("h100", "int8")
    assert r.bytes == 2 * 256 * 256 + 4 * 256 * 256 and r.dtype == "int8"
    assert r.peak == 1979e12


@pytest.mark.parametrize("device, precision, peak", [
    ("h100", None, 494.5e12),  # XLA's GPU default runs f32 on TF32 tensor cores
    ("h100", "highest", 67e12),
    ("a100", "high", 156e12),
    ("tpu-v5e", None, 197e12),  # one bf16 pass
    ("tpu-v5e", "high", 197e12 / 3),
    ("tpu-v5e", dotsum.keras.dot.plan((2, 3), (3, 4), precision="highest").precision,
     197e12 / 6),
    ("tpu-v6e", ("default", "highest"), 918e12 / 6),  # a pair: the finer one decides
])
def test_float32_peak_follows_the_precision(device, precision, peak):
    assert devices.get(device).peak_for("float32", precision) == pytest.approx(peak)


def test_the_plans_precision_is_the_default():
    plan = K.dot.plan((4096, 4096), (4096, 4096), precision="highest")
    assert plan.roofline("h100").peak == 67e12
    assert plan.roofline("h100", precision="default").peak == 494.5e12


def test_measured_column():
    r = GEMM.roofline("h200", "bfloat16", measured=True)
    assert (r.peak, r.bandwidth) == (790e12, 4.3e12)
    with pytest.raises(ValueError, match="no measured peak for float8"):
        GEMM.roofline("h200", "float8_e4m3fn", measured=True)
    with pytest.raises(ValueError, match="no measured bandwidth for NVIDIA H100"):
        devices.get("h100").bandwidth_for(measured=True)


@pytest.mark.parametrize("kind, name", [
    ("NVIDIA H200", "h200"), ("NVIDIA H100 80GB HBM3", "h100"), ("NVIDIA A100-SXM4-80GB", "a100"),
    ("NVIDIA H100 PCIe", "h100-pcie"), ("NVIDIA H100 NVL", "h100-nvl"),
    ("NVIDIA A100-SXM4-40GB", "a100-40gb"), ("NVIDIA A100-PCIE-40GB", "a100-40gb"),
    ("NVIDIA A100 80GB PCIe", "a100-pcie"),
    ("NVIDIA B200", "b200"), ("TPU v4", "tpu-v4"), ("TPU v5 lite", "tpu-v5e"),
    ("TPU v5", "tpu-v5p"), ("TPU v5p", "tpu-v5p"), ("TPU v6 lite", "tpu-v6e"), ("TPU7x", "tpu7x"),
    ("cpu", None), ("NVIDIA L4", None),
    # exact matches only: a prefix or a near name is not the device
    ("H100 NVL", None), ("NVIDIA H100", None), ("TPU v5 litepod", None), ("NVIDIA H200 NVL", None),
])
def test_detect_by_device_kind(kind, name):
    found = devices.detect(kind)
    assert (found.name if found else None) == name


@pytest.mark.parametrize("name, bandwidth, bf16", [
    ("h100-pcie", 2.0e12, 756.5e12), ("h100-nvl", 3.9e12, 835.5e12),
    ("a100-40gb", 1.555e12, 312e12), ("a100-pcie", 1.935e12, 312e12), ("tpu7x", 7.38e12, 2307e12),
])
def test_variants_have_their_own_figures(name, bandwidth, bf16):
    device = devices.get(name)
    assert (device.bandwidth, device.peak["bfloat16"]) == (bandwidth, bf16)
    assert devices.get(device.kinds[0]) is device


def test_errors():
    with pytest.raises(ValueError, match="unknown device 'x100'; one of: a100, a100-pcie"):
        GEMM.roofline("x100")
    with pytest.raises(ValueError, match="TPU v4 has no published peak for float16"):
        GEMM.roofline("tpu-v4", "float16")
    with pytest.raises(ValueError, match="unknown precision 'quickest'"):
        GEMM.roofline("h100", precision="quickest")
    with pytest.raises(ValueError, match=r"^keras\.dot: a roofline needs concrete sizes; this "
                                         r"plan's are symbolic \(flops 24\*b\)"):
        K.dot.plan(("b", 3), (3, 4)).roofline("h100")
    assert devices.get("v5e") is devices.get("TPU-V5E") is devices.DEVICES["tpu-v5e"]


def test_explain_prints_a_roofline_for_every_device():
    out = cli.run(["explain", "keras.dot", "4096,4096", "4096,4096", "--device", "all",
                   "--dtype", "bfloat16"])
    lines = [line for line in out.splitlines() if line.lstrip().startswith("roofline")]
    assert [line.split()[1] for line in lines] == list(devices.DEVICES)
    assert all("compute-bound" in line for line in lines), lines
    one = cli.run(["explain", "keras.dot", "4096,4096", "4096,4096", "--device", "h100"])
    assert "roofline  h100 float32: 682.67 flop/B vs ridge 148 -> compute-bound, ideal 278 us" \
        in one


def test_time_shows_the_share_of_the_roofline_on_a_known_device(monkeypatch):
    """On a machine whose device is in the table (faked here: the CPU as an H100), --time adds
    the roofline and the measured share of it."""
    monkeypatch.setattr(devices, "detect", lambda kind=None: devices.DEVICES["h100"])
    out = cli.run(["explain", "keras.dot", "64,64", "64,64", "--time"])
    share = [line for line in out.splitlines() if "of the roofline" in line]
    assert len(share) == 1 and share[0].strip().startswith("measured: ")
    percent = float(share[0].split("measured: ")[1].split("%")[0])
    assert 0 < percent < 100 and not math.isnan(percent)


def test_cli_rejects_an_unknown_device_or_platform(capsys):
    assert cli.main(["explain", "keras.dot", "2,3", "3,4", "--device", "x100"]) == 2
    assert "unknown device 'x100'" in capsys.readouterr().err
    assert cli.main(["explain", "keras.dot", "2,3", "3,4", "--platform", "gpu"]) == 2
    assert "unknown --platform 'gpu'; one of: cpu, cuda, rocm, tpu" in capsys.readouterr().err
    assert cli.main(["explain", "keras.dot", "2,3", "3,4", "--platform", "tpu", "--time"]) == 2
    assert "cannot time --platform tpu" in capsys.readouterr().err


def test_cli_hlo_for_another_platform_is_its_export():
    out = cli.run(["explain", "ops.einsum", "bqhd,bkhd->bhqk", "2,16,8,64", "2,16,8,64",
                   "--platform", "tpu", "--hlo"])
    assert "xla          tpu: dot_general(operands[0], operands[1]" in out
    assert "StableHLO exported for tpu:" in out and "#loc" not in out
    assert out.rstrip().endswith("transposes in it: 0 (the plan emits 0)")


def test_explain_sizes_the_result_in_its_own_dtype():
    """ops.matmul of int8 operands returns int32: bytes, flop/B and the roofline agree."""
    plan = ops.matmul.plan((1024, 1024), (1024, 1024))
    nbytes, operand, out = devices.traffic(plan, "int8")
    assert (nbytes, operand.name, out.name) == (2 * 1024 ** 2 + 4 * 1024 ** 2, "int8", "int32")
    text = cli.explain(plan, devices.np.dtype("int8"), devices=["h100"])
    assert "6,291,456 (int8 operands read once, int32 result written once)" in text
    intensity = f"{plan.flops / nbytes:.2f}"
    assert f"flop/B  {intensity}" in text and f"int8: {intensity} flop/B" in text


@pytest.mark.parametrize("name, level", [("float32", "highest"), ("tensorfloat32", "high"),
                                         ("bfloat16_3x", "high"), ("bfloat16", "default"),
                                         ("fastest", "default"), ("HIGHEST", "highest")])
def test_every_precision_name_jax_takes(name, level):
    assert GEMM.roofline("h100", precision=name).peak == GEMM.roofline(
        "h100", precision=level).peak
    assert GEMM.roofline("tpu-v5e", precision=name).peak == GEMM.roofline(
        "tpu-v5e", precision=level).peak
