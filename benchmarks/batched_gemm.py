"""Why is XLA:CPU behind TensorFlow and OpenBLAS on small batched GEMMs, and what can a lowering
change about it?

Question: on ``(64, 128, 128) · (64, 128, 128)`` float32 (and neighbours), how fast are the ways
one could emit the same batched product from JAX, next to TensorFlow (``tf.matmul`` under
``tf.function(jit_compile=True)`` and eagerly) and NumPy (``np.matmul``: OpenBLAS per matrix)?

The JAX variants, each compiled by ``jax.jit`` and checked against NumPy:

* ``dot_general`` batched: what dotsum and ``jnp.matmul`` emit (one batched ``dot``);
* ``dot_general`` with the batch axis last in the output (a transpose XLA may fold);
* ``lax.map`` over the batch: one 2-D ``dot`` per matrix in a loop (``scan``);
* the batch split in 2 or 4 chunks (several batched ``dot``s XLA may run concurrently);
* precision / dot algorithm: ``Precision.DEFAULT``, ``DotAlgorithmPreset.F32_F32_F32``;
* ``jax.pure_callback`` to ``np.matmul`` (OpenBLAS from inside jit: the host round trip).

Method: as ``dispatch.py``: every variant is warmed up, checked, then timed interleaved in
rounds with the GC off; the figure is the median of per-round means, reported as GFLOP/s and
as a ratio to the batched ``dot_general``.

Run::

    python benchmarks/batched_gemm.py            # the three shapes, ~1 minute on 2 cores
    python benchmarks/batched_gemm.py --quick
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

import common  # first: sets KERAS_BACKEND and OPENBLAS_THREAD_TIMEOUT
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

SHAPES = [(64, 128, 128), (256, 64, 64), (16, 256, 256)]
BATCHED = (((2,), (1,)), ((0,), (0,)))


def jax_variants(b: int) -> dict[str, Callable[..., Any]]:
    hi = lax.Precision.HIGHEST

    def chunks(n):
        def f(x, y):
            parts = [lax.dot_general(xs, ys, BATCHED, precision=hi)
                     for xs, ys in zip(jnp.split(x, n), jnp.split(y, n))]
            return jnp.concatenate(parts)
        return f

    def host(x, y):
        spec = jax.ShapeDtypeStruct((x.shape[0], x.shape[1], y.shape[2]), x.dtype)
        return jax.pure_callback(lambda a, b: np.matmul(a, b), spec, x, y)

    return {
        "dot_general batched (dotsum, jnp.matmul)": lambda x, y: lax.dot_general(
            x, y, BATCHED, precision=hi),
        "dot_general, batch last in the output": lambda x, y: jnp.moveaxis(
            jnp.moveaxis(lax.dot_general(x, y, BATCHED, precision=hi), 0, -1), -1, 0),
        "lax.map of 2-D dots": lambda x, y: lax.map(
            lambda p: lax.dot(p[0], p[1], precision=hi), (x, y)),
        "batch in 2 chunks": chunks(2),
        "batch in 4 chunks": chunks(4) if b % 4 == 0 else chunks(2),
        "Precision.DEFAULT": lambda x, y: lax.dot_general(x, y, BATCHED),
        "DotAlgorithmPreset.F32_F32_F32": lambda x, y: lax.dot_general(
            x, y, BATCHED, precision=lax.DotAlgorithmPreset.F32_F32_F32),
        "pure_callback to np.matmul": host,
    }


def measure(shape: tuple[int, int, int], mods: dict[str, Any], quick: bool):
    b, m, k = shape
    rng = np.random.default_rng(0)
    xn, yn = (rng.standard_normal((b, m, k)).astype(np.float32) for _ in range(2))
    want = np.matmul(xn.astype(np.float64), yn.astype(np.float64))
    x, y = jax.block_until_ready((jnp.asarray(xn), jnp.asarray(yn)))
    fns: dict[str, Callable[[], Any]] = {}
    for name, f in jax_variants(b).items():
        g = jax.jit(f)
        fns[name] = lambda g=g: g(x, y).block_until_ready()
    fns["np.matmul (OpenBLAS)"] = lambda: np.matmul(xn, yn)
    tf = mods.get("tf")
    if tf is not None:
        tx, ty = tf.constant(xn), tf.constant(yn)
        xla = tf.function(tf.linalg.matmul, jit_compile=True)
        fns["tf.matmul, jit_compile"] = lambda: xla(tx, ty).numpy()
        fns["tf.matmul, eager"] = lambda: tf.linalg.matmul(tx, ty).numpy()
    kept = {}
    for name, fn in fns.items():
        got = np.asarray(fn())
        if np.allclose(got, want, rtol=1e-3, atol=1e-3):
            kept[name] = fn
    rounds, inner = (10, 3) if quick else (30, 5)
    times = common.time_interleaved(kept, rounds, inner)
    return times, 2 * b * m * m * k


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    notes: list[str] = []
    mods = common.import_optional(notes)
    print(f"- versions: {common.versions(mods)}; {common.cpu_model()} "
          f"({os.cpu_count()} cores); XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    for shape in SHAPES[:1] if args.quick else SHAPES:
        times, flops = measure(shape, mods, args.quick)
        base = times["dot_general batched (dotsum, jnp.matmul)"]
        print(f"\n### {shape} · {shape} float32\n")
        print(common.md_table(("variant", "µs (median)", "GFLOP/s", "÷ batched dot_general"),
                              [(n, f"{t:,.0f}", f"{flops / t / 1e3:.1f}", f"{t / base:.2f}")
                               for n, t in sorted(times.items(), key=lambda p: p[1])]))
    for note in notes:
        print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
