"""Accelerators' limits, and how close a plan can get to them (``plan.roofline``).

Each :class:`Device` holds the vendor's dense (no structured sparsity) peak FLOP/s per operand
dtype and its memory bandwidth, each with its source, and, where dotsum has run on one, what we
measured there. A plan's roofline is the time it needs at the better of two limits: its FLOPs at
the peak, or its minimum bytes (each operand read once, the result written once) at the
bandwidth.

>>> from dotsum import keras as K
>>> r = K.dot.plan((4096, 4096), (4096, 4096)).roofline("h100", "bfloat16")
>>> r.bound, f"{r.intensity:.0f} flop/B", f"{r.seconds * 1e6:.1f} us"
('compute', '1365 flop/B', '138.9 us')
>>> plan = K.batch_dot.plan((64, 512, 64), (64, 512, 64), axes=(2, 2))
>>> print(plan.roofline("h100", "bfloat16"))  # doctest: +NORMALIZE_WHITESPACE
h100 bfloat16: 51.20 flop/B vs ridge 295 -> memory-bound, ideal 12.5 us
    (peak 989.5 TFLOP/s, 3.35 TB/s)

Peak tensor-core rates assume the dtype's fastest path: on NVIDIA GPUs a float32 product runs on
TF32 tensor cores unless ``precision="highest"`` (XLA's GPU default), on TPUs float32 runs as
1, 3 or 6 bf16 passes for precision default, high and highest (XLA's TPU rules), so its peak is
the bf16 one divided by that number: derived, not published.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from dotsum._plan import Plan

T = 1e12


@dataclasses.dataclass(frozen=True)
class Device:
    """One accelerator: dense peak FLOP/s per dtype and memory bandwidth (bytes/s)."""

    name: str  # what dotsum calls it: "h100"
    title: str  # "NVIDIA H100 SXM"
    platform: str  # "cuda" or "tpu": the layout it gets (dotsum._layout)
    peak: Mapping[str, float]  # "float32", "tf32", "bfloat16", "float16", "float8", "int8"
    bandwidth: float
    kinds: tuple[str, ...]  # jax's device_kind strings of this device, matched exactly
    measured_peak: Mapping[str, float] = dataclasses.field(default_factory=dict)
    measured_bandwidth: float | None = None
    source: str = ""

    def peak_for(self, dtype: Any, precision: Any = None, *, measured: bool = False) -> float:
        """Peak FLOP/s of a product of ``dtype`` operands at ``precision`` (``None``,
        ``"default"``, ``"high"``, ``"highest"`` or a ``lax.Precision``)."""
        key, passes = self._rate_key(dtype, precision)
        table = self.measured_peak if measured else self.peak
        if key not in table:
            have = ", ".join(table) or "none"
            what = "measured" if measured else "published"
            raise ValueError(f"dotsum.devices: {self.title} has no {what} peak for {key} "
                             f"(operands {np.dtype(dtype).name}); it has: {have}")
        return table[key] / passes

    def bandwidth_for(self, *, measured: bool = False) -> float:
        if measured and self.measured_bandwidth is None:
            raise ValueError(f"dotsum.devices: no measured bandwidth for {self.title}")
        return self.measured_bandwidth if measured else self.bandwidth

    def _rate_key(self, dtype: Any, precision: Any) -> tuple[str, int]:
        name = np.dtype(dtype).name
        level = _precision_level(precision)
        if name == "float32":
            if self.platform == "tpu":
                return "bfloat16", {"default": 1, "high": 3, "highest": 6}[level]
            return ("float32" if level == "highest" or "tf32" not in self.peak else "tf32"), 1
        if name.startswith("float8"):
            return "float8", 1
        if name in ("int8", "uint8"):
            return "int8", 1
        return name, 1


def _precision_level(precision: Any) -> str:
    if precision is None:
        return "default"
    if isinstance(precision, tuple):  # (lhs, rhs): the finer one decides
        levels = [_precision_level(p) for p in precision]
        return max(levels, key=("default", "high", "highest").index)
    from jax import lax

    try:  # lax.Precision reads every name JAX takes: "float32", "tensorfloat32", "bfloat16", ...
        return lax.Precision(precision if isinstance(precision, lax.Precision)
                             else str(precision).lower()).name.lower()
    except (ValueError, KeyError):
        raise ValueError(f"dotsum.devices: unknown precision {precision!r}: expected None, a "
                         "lax.Precision or one of its names ('default', 'high', 'highest', "
                         "'bfloat16', 'tensorfloat32', 'float32', ...)") from None


# NVIDIA: dense tensor-core figures (the datasheets print sparse ones twice as large).
_A100 = {"float32": 19.5 * T, "tf32": 156 * T, "bfloat16": 312 * T, "float16": 312 * T,
         "int8": 624 * T}
_H100 = {"float32": 67 * T, "tf32": 494.5 * T, "bfloat16": 989.5 * T, "float16": 989.5 * T,
         "float8": 1979 * T, "int8": 1979 * T}
DEVICES: dict[str, Device] = {d.name: d for d in (
    # NVIDIA A100 Tensor Core GPU datasheet: FP32 19.5 TF, TF32 156, BF16/FP16 312, INT8 624
    # TOPS for every form factor; HBM2e 2,039 GB/s (SXM4 80GB), 1,935 (80GB PCIe), HBM2
    # 1,555 (40GB, SXM4 and PCIe).
    Device("a100", "NVIDIA A100 SXM4 80GB", "cuda", _A100, 2.039e12, ("NVIDIA A100-SXM4-80GB",),
           source="NVIDIA A100 datasheet"),
    Device("a100-pcie", "NVIDIA A100 80GB PCIe", "cuda", _A100, 1.935e12,
           ("NVIDIA A100 80GB PCIe", "NVIDIA A100-PCIE-80GB"), source="NVIDIA A100 datasheet"),
    Device("a100-40gb", "NVIDIA A100 40GB", "cuda", _A100, 1.555e12,
           ("NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB"), source="NVIDIA A100 datasheet"),
    # NVIDIA H100 Tensor Core GPU datasheet (SXM5): FP32 67 TF, TF32 494.5, BF16/FP16 989.5,
    # FP8 1,979, INT8 1,979 TOPS; HBM3 3.35 TB/s.
    Device("h100", "NVIDIA H100 SXM", "cuda", _H100, 3.35e12, ("NVIDIA H100 80GB HBM3",),
           source="NVIDIA H100 datasheet"),
    # The same datasheet, H100 PCIe: FP32 51 TF, TF32 378, BF16/FP16 756.5, FP8 and INT8
    # 1,513; HBM2e 2.0 TB/s.
    Device("h100-pcie", "NVIDIA H100 PCIe", "cuda",
           {"float32": 51 * T, "tf32": 378 * T, "bfloat16": 756.5 * T, "float16": 756.5 * T,
            "float8": 1513 * T, "int8": 1513 * T}, 2.0e12, ("NVIDIA H100 PCIe",),
           source="NVIDIA H100 datasheet"),
    # H100 NVL (94 GB): FP32 60 TF, TF32 417.5, BF16/FP16 835.5, FP8 and INT8 1,670.5; HBM3
    # 3.9 TB/s.
    Device("h100-nvl", "NVIDIA H100 NVL", "cuda",
           {"float32": 60 * T, "tf32": 417.5 * T, "bfloat16": 835.5 * T, "float16": 835.5 * T,
            "float8": 1670.5 * T, "int8": 1670.5 * T}, 3.9e12, ("NVIDIA H100 NVL",),
           source="NVIDIA H100 datasheet"),
    # NVIDIA H200 Tensor Core GPU datasheet (SXM): the H100's compute, HBM3e 4.8 TB/s.
    # Measured on the lent H200 (shared/device KINDS.md, 2026-10-28 and 11-04, PyTorch):
    # 8192³ bf16 matmul 769-798 TFLOP/s on random data; device-to-device copy 4.3 TB/s.
    Device("h200", "NVIDIA H200 SXM", "cuda", _H100, 4.8e12, ("NVIDIA H200",),
           measured_peak={"bfloat16": 790 * T}, measured_bandwidth=4.3e12,
           source="NVIDIA H200 datasheet; measured column: our H200"),
    # NVIDIA HGX B200 datasheet, per GPU (8-GPU figures / 8, tensor cores dense): FP32 75 TF,
    # TF32 1.1 PF, BF16/FP16 2.25 PF, FP8 4.5 PF, INT8 4.5 POPS; HBM3e 8 TB/s.
    Device("b200", "NVIDIA B200", "cuda",
           {"float32": 75 * T, "tf32": 1100 * T, "bfloat16": 2250 * T, "float16": 2250 * T,
            "float8": 4500 * T, "int8": 4500 * T}, 8e12, ("NVIDIA B200",),
           source="NVIDIA HGX B200 datasheet"),
    # Google Cloud TPU docs, "TPU v4": 275 TFLOPs bf16, 275 TOPs int8, HBM2 1,200 GBps.
    Device("tpu-v4", "TPU v4", "tpu", {"bfloat16": 275 * T, "int8": 275 * T}, 1.2e12,
           ("TPU v4",), source="cloud.google.com/tpu/docs/v4"),
    # "TPU v5e": 197 TFLOPs bf16, 393 TOPs int8, HBM2 819 GBps.
    Device("tpu-v5e", "TPU v5e", "tpu", {"bfloat16": 197 * T, "int8": 393 * T}, 0.819e12,
           ("TPU v5 lite", "TPU v5e"), source="cloud.google.com/tpu/docs/v5e"),
    # "TPU v5p": 459 TFLOPs bf16 (and fp8), 918 TOPs int8, HBM2e 2,765 GBps.
    Device("tpu-v5p", "TPU v5p", "tpu", {"bfloat16": 459 * T, "float8": 459 * T,
                                         "int8": 918 * T}, 2.765e12,
           ("TPU v5", "TPU v5p"), source="cloud.google.com/tpu/docs/v5p"),
    # "TPU v6e" (Trillium): 918 TFLOPs bf16, 1,836 TOPs int8, HBM 1,638 GBps.
    Device("tpu-v6e", "TPU v6e", "tpu", {"bfloat16": 918 * T, "int8": 1836 * T}, 1.638e12,
           ("TPU v6 lite", "TPU v6e"), source="cloud.google.com/tpu/docs/v6e"),
    # "TPU7x (Ironwood)": 2,307 TFLOPs bf16, 4,614 fp8 per chip, HBM 7,380 GBps (no int8 figure).
    Device("tpu7x", "TPU7x (Ironwood)", "tpu", {"bfloat16": 2307 * T, "float8": 4614 * T},
           7.38e12, ("TPU7x",), source="cloud.google.com/tpu/docs/tpu7x"),
)}


def get(name: str | Device) -> Device:
    """The device called ``name`` (``"h100"``, ``"tpu-v5e"``, also ``"v5e"`` or ``"H100"``), or
    one whose JAX ``device_kind`` is ``name`` exactly (``"NVIDIA H100 PCIe"``)."""
    if isinstance(name, Device):
        return name
    key = str(name).strip().lower()
    found = DEVICES.get(key) or DEVICES.get(f"tpu-{key}") or detect(str(name))
    if found is None:
        raise ValueError(f"dotsum.devices: unknown device {name!r}; one of: "
                         f"{', '.join(DEVICES)}")
    return found


def detect(device_kind: str | None = None) -> Device | None:
    """The table's entry for a JAX device kind (default: this machine's first device), or
    ``None`` if the table has none (a CPU, say)."""
    if device_kind is None:
        import jax

        device_kind = jax.devices()[0].device_kind
    kind = device_kind.strip()
    for device in DEVICES.values():
        if kind in device.kinds:
            return device
    return None


class Roofline(NamedTuple):
    """A plan's limits on one device: ``seconds`` is the ideal time, the larger of
    ``flops / peak`` and ``bytes / bandwidth``."""

    device: str
    dtype: str
    flops: int
    bytes: int  # each operand read once, the result written once
    intensity: float  # flops per byte
    bound: str  # "compute" or "memory"
    seconds: float
    peak: float  # FLOP/s
    bandwidth: float  # bytes/s

    def __str__(self) -> str:
        ridge = self.peak / self.bandwidth
        return (f"{self.device} {self.dtype}: {self.intensity:.2f} flop/B vs ridge {ridge:.0f} "
                f"-> {self.bound}-bound, ideal {_seconds(self.seconds)} (peak "
                f"{self.peak / T:g} TFLOP/s, {self.bandwidth / 1e12:g} TB/s)")


def _seconds(s: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def traffic(plan: Plan, dtype: Any = "float32") -> tuple[int, np.dtype, np.dtype]:
    """The fewest bytes ``plan`` moves with ``dtype`` operands: each operand read once in the
    dtype the plan computes in, the result written once in its own dtype (int8 operands of
    ``ops.matmul`` give an int32 result); with those two dtypes."""
    import jax

    dtype = np.dtype(dtype)
    specs = [jax.ShapeDtypeStruct(o.shape, dtype) for o in plan.operands]
    result, preferred = plan.result_dtypes(specs)
    operand, out = np.dtype(result), np.dtype(preferred if preferred is not None else result)
    nbytes = sum(math.prod(o.shape) for o in plan.operands) * operand.itemsize
    return nbytes + math.prod(plan.out_shape) * out.itemsize, operand, out


def roofline(plan: Plan, device: str | Device, dtype: Any = "float32", *,
             precision: Any = None, measured: bool = False) -> Roofline:
    """``plan`` on ``device`` with ``dtype`` operands; ``precision`` defaults to the plan's;
    ``measured=True`` uses our measured peak and bandwidth where the table has them."""
    device = get(device)
    from dotsum._symbolic import is_symbolic

    if any(is_symbolic(d) for o in plan.operands for d in o.shape):
        raise ValueError(f"{plan.op}: a roofline needs concrete sizes; this plan's are symbolic "
                         f"(flops {plan.flops}): plan the call with the sizes to price") from None
    nbytes, result, _ = traffic(plan, dtype)
    peak = device.peak_for(result, plan.precision if precision is None else precision,
                           measured=measured)
    bandwidth = device.bandwidth_for(measured=measured)
    compute, memory = plan.flops / peak, nbytes / bandwidth
    return Roofline(device.name, np.dtype(result).name, plan.flops, nbytes,
                    plan.flops / nbytes if nbytes else math.inf,
                    "compute" if compute >= memory else "memory", max(compute, memory), peak,
                    bandwidth)
