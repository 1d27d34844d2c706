"""Memory: does dotsum's compiled program need more scratch memory than its JAX peers'?

Question: for every throughput case, how many bytes of temporaries (and of arguments and
outputs) does XLA allocate for dotsum's program next to ``jnp.einsum``, ``jnp.matmul``/
``jnp.dot``, ``lax.dot_general`` and Keras 3 (JAX backend), and how many elements does the
program copy only to change layout (the usual source of temporaries and lost speed)?

Method: ``jax.jit(f).lower(*shape_structs).compile()``, then ``memory_analysis()`` (temp,
argument and output bytes) and ``dotsum.testing.copied_elements`` (elements of the top-level
transposes and layout copies in the compiled HLO), next to what dotsum's plan predicts
(``plan.lowering.moved``). Nothing is executed or allocated, so it is fast at any size.
TensorFlow and NumPy do not expose these figures and are not listed.

Run::

    python benchmarks/memory.py --quick
    python benchmarks/memory.py --json out.json
"""

from __future__ import annotations

import sys
from typing import Any

import cases as C
import common
import jax

from dotsum.testing import copied_elements

METRICS = (("temp_bytes", "temp_size_in_bytes"), ("argument_bytes", "argument_size_in_bytes"),
           ("output_bytes", "output_size_in_bytes"))


def analyse(fn: Any, args: tuple[Any, ...]) -> dict[str, int] | None:
    """Bytes per category and the elements copied to change layout, of ``jit(fn)`` at ``args``."""
    compiled = jax.jit(fn).lower(*args).compile()
    stats = compiled.memory_analysis()
    if stats is None:
        return None
    out = {metric: int(getattr(stats, attr)) for metric, attr in METRICS}
    out["copied"] = copied_elements(compiled)
    return out


def steps(opts: common.Options, platform: str) -> int:
    return len(C.throughput_cases(platform, opts.quick))


def markdown(results: list[tuple[C.Case, dict[str, dict[str, int]]]], opts: common.Options,
             dev: dict[str, str]) -> str:
    summary, detail = [], []
    lean = 0
    for case, stats in results:
        mine = stats["dotsum"]
        peers = {n: s for n, s in stats.items() if n != "dotsum"}
        least = min((s["temp_bytes"] for s in peers.values()), default=None)
        if least is None or mine["temp_bytes"] <= least:
            lean += 1
        most = max((s["temp_bytes"] for s in peers.values()), default=None)
        fewest = min((s["copied"] for s in peers.values()), default=None)
        summary.append([case.name, common.fmt(mine["temp_bytes"]), common.fmt(least),
                        common.fmt(most), common.fmt(mine["copied"]),
                        common.fmt(case.plan.lowering.moved), common.fmt(fewest)])
        for name, s in stats.items():
            detail.append([case.name, name, common.fmt(s["temp_bytes"]),
                           common.fmt(s["argument_bytes"]), common.fmt(s["output_bytes"]),
                           common.fmt(s["copied"])])
    return "\n".join([
        "## Memory (XLA's `memory_analysis()` of the compiled program)",
        "",
        common.settings_line(opts, dev),
        f"- dotsum's temp bytes are ≤ every JAX peer's on {lean} of {len(results)} cases",
        "",
        common.md_table(["case", "dotsum temp bytes", "least peer temp bytes",
                         "most peer temp bytes", "dotsum layout copies (elements)",
                         "plan predicts", "fewest peer layout copies"], summary),
        "",
        "<details><summary>every JAX contender</summary>",
        "",
        common.md_table(["case", "contender", "temp bytes", "argument bytes", "output bytes",
                         "layout copies (elements)"], detail, "llrrrr"),
        "",
        "</details>",
    ])


def run(opts: common.Options, progress: common.Progress | None = None,
        mods: dict[str, Any] | None = None) -> common.Section:
    notes: list[str] = []
    mods = mods if mods is not None else common.import_optional(notes, tf=False)
    common.configure(opts)
    dev = common.device()
    results, rows = [], []
    for case in C.throughput_cases(dev["platform"], opts.quick):
        if progress:
            progress.start(f"memory: {case.name}")
        args = C.abstract_args(case, opts.dtype)
        stats: dict[str, dict[str, int]] = {}
        for c in C.contenders(case, mods, opts.lax_precision, ("jax", "keras")):
            try:
                got = analyse(c.fn, args)
            except Exception as e:  # noqa: BLE001 - a peer failing is a note, not a crash
                notes.append(f"{case.name}: {c.name} skipped: {type(e).__name__}")
                continue
            if got is None:
                notes.append(f"{case.name}: {c.name}: no memory_analysis on this backend")
                continue
            stats[c.name] = got
            for metric, _ in METRICS:
                rows.append(common.row(case.name, c.name, metric, got[metric], "bytes", opts,
                                       dev, flops=case.flops))
            rows.append(common.row(case.name, c.name, "layout_copied_elements", got["copied"],
                                   "elements", opts, dev, flops=case.flops))
        if "dotsum" in stats:
            results.append((case, stats))
        if progress:
            progress.advance(f"memory: {case.name}")
    return common.Section("memory", rows, markdown(results, opts, dev), notes)


def main(argv: list[str] | None = None) -> int:
    return common.main_for(__doc__, run, steps, argv)


if __name__ == "__main__":
    sys.exit(main())
