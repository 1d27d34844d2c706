"""Training steps: how fast is the value and gradient of a loss through each product, compiled?

Question: for the cases a model trains through (attention scores, Dense-like ``K.dot``, the
layout cases where dotsum's forward lowering copies less than ``jnp.einsum``'s, the seed's
``batch_dot``, current and legacy), how long does ``jax.jit(jax.value_and_grad(loss))`` take
with the product written with dotsum, ``jnp.einsum``, ``jnp.matmul`` (where a matmul form
computes the same thing) and Keras 3 ops (JAX backend)? The loss is ``sum(product(x, y) * c)``
for a fixed random ``c`` of the result's shape, differentiated with respect to both operands, so
a step is the forward product and its two cotangent products (JAX's transpose rules write
those, for every contender alike).

Method: every contender's step is compiled and checked against dotsum's (loss and both
gradients, ``close_enough`` by dtype), then timed paired with dotsum's (``common.time_paired``:
A B A C … A, each peer's ratio its time over the mean of the dotsum batches around it, the
median over rounds; each batch lasts at least 3 ms). A figure above 1 means dotsum's step is
faster. Each peer's row also says whether its compiled step is dotsum's own program
(``cases.program_fingerprint``): there a figure away from 1 is noise, and ``report.py`` judges
the case a tie.

Run::

    python benchmarks/train.py --quick
    python benchmarks/train.py --json out.json
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import cases as C
import common
import jax
import jax.numpy as jnp
import numpy as np

METRIC = "train_step"
NAMES = (  # the throughput cases a model trains through
    "K.batch_dot (10,12,4,5)·(10,12,5,8)",
    "K.batch_dot legacy (10,12,4,5)·(10,12,5,8)",
    "K.dot (256,512)·(512,512)",
    "K.dot (8,128,256)·(256,256)",
    "K.batch_dot (32,128,64)·(32,128,64) axes=(2,2)",
    "ops.einsum 'bqhd,bkhd->bhqk' (4,128,8,64)·(4,128,8,64)",
    "ops.einsum 'bhqk,bhkd->hbqd' (4,8,256,256)·(4,8,256,64)",
    "ops.einsum 'nhd,hdu->nu' (512,16,64)·(16,64,1024)",
)


def train_cases(platform: str) -> list[C.Case]:
    known = {c.name: c for c in C.throughput_cases(platform, quick=True)}
    return [known[name] for name in NAMES]


def step(fn, cotangent: jax.Array):
    """``jit(value_and_grad(sum(fn(x, y) * c)))`` with respect to both operands."""
    def loss(*args):
        return jnp.sum(fn(*args) * cotangent)
    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))


def _flat(result) -> list[np.ndarray]:
    value, grads = result
    return [np.asarray(value), *map(np.asarray, grads)]


def measure(case: C.Case, mods: dict[str, Any], opts: common.Options, notes: list[str]):
    inputs = C.make_inputs(case, opts.dtype)
    args = inputs.jax
    out = case.op(*args, precision=common.PRECISIONS[opts.precision])
    cotangent = jax.random.normal(jax.random.key(1), out.shape, out.dtype)
    contenders = [c for c in C.contenders(case, mods, common.PRECISIONS[opts.precision],
                                          frameworks=("jax", "keras"))
                  if c.name in ("dotsum", "jnp.einsum", "jnp.matmul", "jnp.dot",
                                "keras.ops.einsum", "keras.ops.matmul", "keras.ops.dot")]
    fns: dict[str, Any] = {}
    prints: dict[str, str] = {}  # the compiled step's fingerprint: equal ones run one program
    reference = None
    for c in contenders:
        f = step(c.fn, cotangent)
        try:
            got = _flat(f(*args))
        except Exception as e:  # noqa: BLE001 - a peer failing is a note
            notes.append(f"{case.name}: {c.name} skipped: {type(e).__name__}: {e}".split("\n")[0])
            continue
        if reference is None:
            reference = got
        elif not all(common.close_enough(g, r, opts.dtype_name) for g, r in zip(got, reference)):
            notes.append(f"{case.name}: {c.name} skipped: its loss or gradients differ")
            continue
        fns[c.name] = (lambda f=f: jax.block_until_ready(f(*args)))
        prints[c.name] = C.program_fingerprint(f, args)
    rounds, deadline = (25, 8) if opts.quick else (60, 25)
    samples, ratios = common.time_paired(fns, "dotsum", rounds, batch_size(fns["dotsum"]),
                                         deadline_s=deadline)
    return {name: (float(np.median(samples[name])), ratios.get(name, 1.0),
                   prints[name] == prints["dotsum"]) for name in fns}


def batch_size(fn, batch_s: float = 0.003) -> int:
    """Calls per timed batch: enough for ``batch_s`` seconds (at least 3, at most 200). Batches
    of 3 made the 0.2-0.3 ms steps of the seed's ``batch_dot`` mostly noise: timed against a
    second jit of itself, one read 0.91-0.95× in three runs (2026-12-02, a one-off script)."""
    fn()
    start = time.perf_counter()
    fn()
    return max(3, min(200, math.ceil(batch_s / max(time.perf_counter() - start, 1e-6))))


def run(opts: common.Options, progress: common.Progress | None = None,
        mods: dict[str, Any] | None = None) -> common.Section:
    notes: list[str] = []
    mods = mods if mods is not None else common.import_optional(notes, tf=False)
    common.configure(opts)
    dev = common.device()
    rows, table = [], []
    for case in train_cases(dev["platform"]):
        if progress:
            progress.start(f"train: {case.name}")
        for name, (us, ratio, same) in measure(case, mods, opts, notes).items():
            rows.append(common.row(case.name, name, METRIC, us, "us", opts, dev,
                                   group=case.group, ratio_to_dotsum=round(ratio, 4),
                                   same_program=same))
            table.append((case.name, name, f"{us:,.0f}", "1.00" if name == "dotsum" else
                          f"{ratio:.2f}", "" if name == "dotsum" else "yes" if same else "no"))
        if progress:
            progress.advance(f"train: {case.name}")
    text = "\n\n".join([
        "## Training steps: jit(value_and_grad) of sum(product · c), both operands",
        f"- versions: {common.versions(mods)}\n{common.settings_line(opts, dev)}",
        common.md_table(("case", "contender", "µs/step (median)", "time ÷ dotsum's",
                         "dotsum's program"), table),
        "A peer whose compiled step is dotsum's own (optimised HLO equal but for names and "
        "metadata) can differ from it only by noise.",
    ])
    return common.Section("train", rows, text, notes)


def steps(opts: common.Options, platform: str = "") -> int:
    return len(NAMES)


def main(argv: list[str] | None = None) -> int:
    return common.main_for(__doc__, run, steps, argv)


if __name__ == "__main__":
    sys.exit(main())
