"""Jit benchmark: large dotsum products on the default device, in TFLOP/s and % of a nominal peak.

Three products, each in bfloat16 and float32 with an explicit ``precision``:

* GEMM: ``ops.matmul`` of ``(m, k) @ (k, n)``;
* attention scores: ``ops.einsum("bhqd,bhkd->bhqk", q, k)``;
* a batched matmul: ``keras.batch_dot`` of ``(b, m, k)`` and ``(b, k, n)``.

Each is ``jax.jit``-compiled, warmed up, then timed call by call with ``block_until_ready``,
interleaved with the same product written in ``jnp`` (``jnp.matmul``/``jnp.einsum``) so the
ratio shows what dotsum adds inside a jit (nothing: both are one ``dot_general``). Achieved
TFLOP/s is ``plan.flops / median time``. The peak it is compared with is looked up by
``jax.devices()[0].device_kind`` in a small table of **nominal** vendor figures (dense, no
sparsity, boost clocks); real sustained peaks are lower (power and clock limits), so read the
percentage as a rough utilisation, not a grade.

Precision: bfloat16 runs with ``precision="default"`` (one bf16 pass, f32 accumulation on
GPU/TPU). float32 runs with ``precision="highest"`` by default, i.e. true float32 (no TF32 on
NVIDIA GPUs, several bf16 passes on TPU); ``--f32-precision default`` lets XLA use TF32 or a
single bf16 pass instead, which is faster and less exact.

Sizes are chosen for the platform: large on GPU/TPU, moderate on CPU, tiny with ``--quick``.

Run::

    python examples/jit_benchmark.py --quick             # seconds, any machine
    python examples/jit_benchmark.py                     # on a GPU/TPU host
    python examples/jit_benchmark.py --iters 50 --f32-precision default
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from dotsum import keras as K
from dotsum import ops

# Nominal dense peaks in TFLOP/s by device_kind substring (first match wins, so the more
# specific names come first): bf16 tensor-core/MXU peak; float32 at precision="highest" (GPU:
# FP32 CUDA cores; TPU has no nominal f32 figure); float32 at "default" (GPU: TF32 tensor cores;
# TPU: one bf16 pass, i.e. the bf16 peak). Vendor datasheet figures, not measurements.
PEAKS: list[tuple[str, str, dict[str, float]]] = [
    ("H200 NVL", "NVIDIA H200 NVL", {"bf16": 835, "f32/highest": 60, "f32/default": 418}),
    ("H200", "NVIDIA H200 SXM", {"bf16": 989, "f32/highest": 67, "f32/default": 494}),
    ("H100 PCIe", "NVIDIA H100 PCIe", {"bf16": 756, "f32/highest": 51, "f32/default": 378}),
    ("H100", "NVIDIA H100 SXM", {"bf16": 989, "f32/highest": 67, "f32/default": 494}),
    ("A100", "NVIDIA A100", {"bf16": 312, "f32/highest": 19.5, "f32/default": 156}),
    ("TPU v6 lite", "TPU v6e", {"bf16": 918, "f32/default": 918}),
    ("TPU v5 lite", "TPU v5e", {"bf16": 197, "f32/default": 197}),
    ("TPU v5p", "TPU v5p", {"bf16": 459, "f32/default": 459}),
    ("TPU v5", "TPU v5p", {"bf16": 459, "f32/default": 459}),
    ("TPU v4", "TPU v4", {"bf16": 275, "f32/default": 275}),
]


def nominal_peak(device_kind: str) -> tuple[str, dict[str, float]]:
    """(name, peaks) for a ``device_kind`` such as ``'NVIDIA H100 80GB HBM3'`` or ``'TPU v4'``;
    an empty dict when the device is not in the table (CPUs among them)."""
    for key, name, peaks in PEAKS:
        if key.lower() in device_kind.lower():
            return name, peaks
    return device_kind, {}


class Case(NamedTuple):
    name: str
    shapes: str
    dotsum: Callable[..., Any]  # (x, y, precision) -> array
    jnp: Callable[..., Any]
    plan: Any  # dotsum.Plan
    x_shape: tuple[int, ...]
    y_shape: tuple[int, ...]


def cases(scale: str) -> list[Case]:
    """The three products at sizes for ``scale`` in {"quick", "cpu", "accelerator"}."""
    m = {"quick": 128, "cpu": 1024, "accelerator": 8192}[scale]
    b, h, t, d = {"quick": (2, 2, 64, 32), "cpu": (4, 8, 256, 64),
                  "accelerator": (8, 16, 2048, 128)}[scale]
    nb, nm = {"quick": (4, 64), "cpu": (16, 256), "accelerator": (64, 2048)}[scale]
    spec = "bhqd,bhkd->bhqk"
    return [
        Case("ops.matmul", f"({m},{m})@({m},{m})",
             lambda x, y, p: ops.matmul(x, y, precision=p),
             lambda x, y, p: jnp.matmul(x, y, precision=p),
             ops.matmul.plan((m, m), (m, m)), (m, m), (m, m)),
        Case("ops.einsum", f"{spec} b{b} h{h} q=k{t} d{d}",
             lambda x, y, p: ops.einsum(spec, x, y, precision=p),
             lambda x, y, p: jnp.einsum(spec, x, y, precision=p),
             ops.einsum.plan(spec, (b, h, t, d), (b, h, t, d)), (b, h, t, d), (b, h, t, d)),
        Case("keras.batch_dot", f"({nb},{nm},{nm})·({nb},{nm},{nm})",
             lambda x, y, p: K.batch_dot(x, y, precision=p),
             lambda x, y, p: jnp.matmul(x, y, precision=p),
             K.batch_dot.plan((nb, nm, nm), (nb, nm, nm)), (nb, nm, nm), (nb, nm, nm)),
    ]


def median_times(fns: list[Callable[[], Any]], iters: int, warmup: int) -> list[float]:
    """Median wall time of each thunk: all warmed up first (compile included), then timed call
    by call, interleaved, each waited for with ``block_until_ready``."""
    for fn in fns:
        for _ in range(warmup):
            jax.block_until_ready(fn())
    runs: list[list[float]] = [[] for _ in fns]
    for _ in range(iters):
        for fn, times in zip(fns, runs):
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in runs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 3 iterations")
    parser.add_argument("--iters", type=int, help="timed calls per product (default 20, "
                        "3 with --quick)")
    parser.add_argument("--f32-precision", default="highest", choices=["highest", "high",
                        "default"], help="precision of the float32 runs (default: highest)")
    args = parser.parse_args(argv)

    device = jax.devices()[0]
    scale = "quick" if args.quick else "cpu" if device.platform == "cpu" else "accelerator"
    iters = args.iters or (3 if args.quick else 20)
    peak_name, peaks = nominal_peak(device.device_kind)
    print(f"device: {device.device_kind} ({device.platform}), jax {jax.__version__}; "
          f"sizes: {scale}; median of {iters} calls after 2 warm-up calls")
    if peaks:
        listed = ", ".join(f"{k} {v:g}" for k, v in peaks.items())
        print(f"nominal peak ({peak_name}, dense, TFLOP/s): {listed}: vendor figures, not "
              "measured")
    else:
        print("nominal peak: unknown for this device (CPUs are not in the table); "
              "% of peak is not shown")

    configs = [("bfloat16", "default", "bf16"),
               ("float32", args.f32_precision, f"f32/{args.f32_precision}")]
    header = (f"{'product':<16} {'shapes':<34} {'dtype':<9} {'precision':<9} "
              f"{'GFLOP':>9} {'median ms':>10} {'TFLOP/s':>9} {'% peak':>7} {'vs jnp':>7}")
    print(f"\n{header}\n{'-' * len(header)}")
    key = jax.random.key(0)
    for case in cases(scale):
        for dtype_name, precision, peak_key in configs:
            dtype = jnp.dtype(dtype_name)
            kx, ky, key = jax.random.split(key, 3)
            x = jax.random.normal(kx, case.x_shape, dtype)
            y = jax.random.normal(ky, case.y_shape, dtype)
            ours = jax.jit(lambda x, y, f=case.dotsum, p=precision: f(x, y, p))
            theirs = jax.jit(lambda x, y, f=case.jnp, p=precision: f(x, y, p))
            got, expected = ours(x, y), theirs(x, y)
            # the same dot_general, so the same numbers up to the accumulation order
            scale_ = float(jnp.max(jnp.abs(expected.astype(jnp.float32)))) or 1.0
            err = float(jnp.max(jnp.abs((got - expected).astype(jnp.float32)))) / scale_
            assert got.shape == case.plan.out_shape and err < 1e-2, (case.name, err)
            t_ours, t_theirs = median_times([functools.partial(ours, x, y),
                                             functools.partial(theirs, x, y)], iters, warmup=2)
            tflops = case.plan.flops / t_ours / 1e12
            peak = peaks.get(peak_key)
            frac = f"{100 * tflops / peak:.1f}" if peak else "n/a"
            print(f"{case.name:<16} {case.shapes:<34} {dtype_name:<9} {precision:<9} "
                  f"{case.plan.flops / 1e9:>9.3g} {t_ours * 1e3:>10.3f} {tflops:>9.3f} "
                  f"{frac:>7} {t_ours / t_theirs:>6.2f}x")
    print("\nplans:")
    for case in cases(scale):
        print(f"  {case.name:<16} {case.plan.subscripts:<18} out {case.plan.out_shape}, "
              f"{case.plan.flops:,} flops")
    print("\nvs jnp: dotsum's median time / the same product in jnp under the same jit "
          "(1.00x = no overhead).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
