"""First-call latency: how long does the FIRST call of a new product take (trace + compile + run)?

Question: in a fresh process, how many milliseconds does the first call of a dotsum op take —
planning, tracing, XLA compilation and the run — next to the first call of ``jnp.einsum`` and
``jnp.matmul`` computing the same product? Eagerly (what a user's first step pays), and, in the
full run, wrapped in ``jax.jit`` as well.

Method: each (case, contender, mode) runs in its own fresh Python process (this script with
``--child``), so no cache of a previous variant helps it; the child imports everything, warms up
the backend with an unrelated elementwise op, creates its inputs, and only then times one call
(awaited with ``block_until_ready``). Variants are interleaved over repeats (shuffled order);
the figure is the median over repeats. The persistent compilation cache is off.

Run::

    python benchmarks/first_call.py --quick     # eager, 3 cases, 3 repeats (~30 s)
    python benchmarks/first_call.py             # eager and jit, 4 cases, 5 repeats
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from typing import Any

import common

CASES = (
    "K.batch_dot legacy (10,12,4,5)·(10,12,5,8)",
    "K.dot (256,512)·(512,512)",
    "ops.einsum 'ij,jk,kl->il' (256,256)·(256,256)·(256,256)",
    "K.batch_dot (32,128,64)·(32,128,64) axes=(2,2)",
)
CONTENDERS = ("dotsum", "jnp.einsum", "jnp.matmul")
METRIC = "first_call"


def plan(opts: common.Options) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """(cases, modes, repeats) for this run."""
    if opts.quick:
        return CASES[:3], ("eager",), 3
    return CASES, ("eager", "jit"), 5


def variants(opts: common.Options) -> list[tuple[str, str, str]]:
    cases, modes, _ = plan(opts)
    return [(c, who, m) for c in cases for m in modes for who in CONTENDERS]


def steps(opts: common.Options, platform: str = "") -> int:
    return len(variants(opts)) * plan(opts)[2]


# -- the child: one variant, one fresh process ----------------------------------------------------
def child(spec: dict[str, str]) -> dict[str, float]:
    """Time the first call of one variant in this process."""
    import cases as C
    import jax
    import jax.numpy as jnp

    import dotsum

    opts = common.Options(dtype=spec["dtype"], precision=spec["precision"])
    common.configure(opts)
    jax.block_until_ready(jax.jit(lambda a: a * 2 + 1)(jnp.ones(3)))  # backend up, nothing dot
    case = C.find(spec["case"], jax.devices()[0].platform)
    fn = {c.name: c.fn for c in C.jax_contenders(case, opts.lax_precision)}[spec["contender"]]
    if spec["mode"] == "jit":
        fn = jax.jit(fn)
    args = C.make_inputs(case, opts.dtype).jax
    dotsum.clear_caches()  # building the cases planned some calls: forget them
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t0
    return {"first_ms": first * 1e3}


def spawn(spec: dict[str, str], timeout: float = 300) -> dict[str, float]:
    # no persistent compilation cache; on GPUs, no preallocation (the parent holds 75%)
    env = dict(os.environ, JAX_ENABLE_COMPILATION_CACHE="false",
               XLA_PYTHON_CLIENT_PREALLOCATE="false")
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the parent -----------------------------------------------------------------------------------
def markdown(medians: dict[tuple[str, str, str], float], opts: common.Options,
             dev: dict[str, str], repeats: int) -> str:
    cases, modes, _ = plan(opts)
    table = []
    for case in cases:
        for mode in modes:
            got = {who: medians.get((case, who, mode)) for who in CONTENDERS}
            d, e = got["dotsum"], got["jnp.einsum"]
            table.append([case, mode] + [common.fmt(got[w]) for w in CONTENDERS] + [
                f"{d / e:.2f}" if d and e else "—",
                f"{d / got['jnp.matmul']:.2f}" if d and got["jnp.matmul"] else "—"])
    return "\n".join([
        "## First-call latency (ms; trace + compile + run, each in a fresh process)",
        "",
        common.settings_line(opts, dev),
        f"- median of {repeats} fresh processes per variant, variants interleaved; the backend "
        "is warmed up with an unrelated op first, so JAX's start-up is not counted",
        "- eager: the op called directly (dotsum plans, builds and compiles its executor); "
        "jit: the op inside `jax.jit`; `jnp.matmul` is the matmul form of the case",
        "",
        common.md_table(["case", "mode", "dotsum", "jnp.einsum", "jnp.matmul",
                         "dotsum ÷ jnp.einsum", "dotsum ÷ jnp.matmul"], table, "llrrrrr"),
    ])


def run(opts: common.Options, progress: common.Progress | None = None,
        mods: dict[str, Any] | None = None) -> common.Section:
    del mods  # the children import what they need
    notes: list[str] = []
    dev = common.device()
    _, _, repeats = plan(opts)
    samples: dict[tuple[str, str, str], list[float]] = {v: [] for v in variants(opts)}
    order = random.Random(0)
    for _ in range(repeats):
        todo = list(samples)
        order.shuffle(todo)
        for case, who, mode in todo:
            label = f"first call: {who} {mode} {case}"
            if progress:
                progress.start(label)
            spec = dict(case=case, contender=who, mode=mode, dtype=opts.dtype,
                        precision=opts.precision)
            try:
                samples[(case, who, mode)].append(spawn(spec)["first_ms"])
            except (RuntimeError, subprocess.SubprocessError) as e:
                notes.append(f"{case}: {who} ({mode}) failed: {e}")
            if progress:
                progress.advance(label)
    medians = {v: statistics.median(s) for v, s in samples.items() if s}
    rows = [common.row(case, who, f"{METRIC}_{mode}", ms, "ms", opts, dev, repeats=len(
        samples[(case, who, mode)])) for (case, who, mode), ms in medians.items()]
    return common.Section("first_call", rows, markdown(medians, opts, dev, repeats), notes)


def main(argv: list[str] | None = None) -> int:
    parser = common.parser_for(__doc__)
    parser.add_argument("--child", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    opts = common.options_from(args)
    section = run(opts, common.Progress(steps(opts)))
    common.emit(section, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
