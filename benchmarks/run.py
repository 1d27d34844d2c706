"""Run the whole benchmark suite and write its results: JSON rows, a Markdown report, PNG charts.

Question: does dotsum meet the project's speed targets on this device? Runs, in one process
(first-call children aside), each script's question:

  dispatch    eager µs per call on small inputs, plan cached            (dispatch.py)
  throughput  GFLOP/s inside jit, tiny to compute-bound                  (throughput.py)
  ceiling     best large GEMM, nominal peak, each case's fraction        (ceiling.py)
  memory      XLA temp/argument/output bytes, transposes left            (memory.py)
  first_call  trace + compile + run of a first call, fresh processes     (first_call.py)
  train       jit(value_and_grad) of a loss through each product         (train.py)

and writes ``DIR/results.json`` (one row per measurement: case, contender, metric, value, unit,
device, dtype, precision, …), ``DIR/results.md`` (the targets, then each script's tables) and
``DIR/*.png``. A progress bar runs on stderr.

Run::

    python benchmarks/run.py --quick --out benchmarks/results/cpu     # 3-3.5 minutes on 2 CPU cores
    python benchmarks/run.py --out /tmp/full                          # the full sweep
    python benchmarks/run.py --quick --out /tmp/x --only dispatch     # one script (smoke test)
    python benchmarks/accelerator.py           # on a GPU/TPU: the quick sweep in bf16 and f32
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
import traceback
from typing import Any

import ceiling
import common
import dispatch
import first_call
import memory
import plots
import report
import throughput
import train

SCRIPTS = {"dispatch": dispatch, "throughput": throughput, "ceiling": ceiling,
           "memory": memory, "first_call": first_call, "train": train}
NEEDS_TF = {"dispatch", "throughput", "ceiling"}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_options(parser)
    parser.add_argument("--out", default=None,
                        help="output folder (default: benchmarks/results/<device>: the "
                             "dotsum.devices name, e.g. h200, else the platform)")
    parser.add_argument("--only", default="",
                        help=f"comma-separated scripts to run, of: {', '.join(SCRIPTS)}")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCRIPTS)
    unknown = [s for s in args.only if s not in SCRIPTS]
    if unknown:
        parser.error(f"unknown script(s) {unknown}; choose from {list(SCRIPTS)}")
    return args


def loadavg() -> str:
    try:
        with open("/proc/loadavg", encoding="utf-8") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def run_all(names: list[str], opts: common.Options, progress: common.Progress,
            mods: dict[str, Any]) -> tuple[list[common.Section], dict[str, float]]:
    sections, seconds = [], {}
    for name in names:
        t0 = time.monotonic()
        try:
            if name == "ceiling":
                tp = [r for s in sections if s.name == "throughput" for r in s.rows]
                section = ceiling.run(opts, progress, mods, throughput_rows=tp)
            else:
                section = SCRIPTS[name].run(opts, progress, mods)
        except Exception as e:  # noqa: BLE001 - one broken script must not lose the others
            traceback.print_exc()
            section = common.Section(name, [], f"## {name}\n\nfailed: {type(e).__name__}: {e}",
                                     [f"{name} failed: {type(e).__name__}: {e}"])
        for r in section.rows:
            r["section"] = name
        sections.append(section)
        seconds[name] = time.monotonic() - t0
    return sections, seconds


def header(argv: list[str], opts: common.Options, dev: dict[str, str], mods: dict[str, Any],
           wall: float, seconds: dict[str, float], loads: tuple[str, str]) -> list[str]:
    per = ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
    lines = [
        f"- command: `python benchmarks/run.py {' '.join(argv)}`",
        f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; wall time "
        f"{wall:.0f} s ({per})",
        f"- versions: {common.versions(mods)}",
        common.settings_line(opts, dev),
        f"- load average (1, 5, 15 min) before: {loads[0]}; after: {loads[1]} "
        f"({common.cpu_count()} cores)",
    ]
    busy = max(float(load.split()[0]) for load in loads if load != "n/a") if any(
        load != "n/a" for load in loads) else 0.0
    if dev["platform"] == "cpu" and busy > common.cpu_count():
        lines.append("- ⚠ the machine was busy with other work: single figures are noisy; "
                     "trust the paired ratios and repeat before concluding")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    opts = common.options_from(args)
    dev = common.device()
    out = args.out or common.out_folder(dev)
    os.makedirs(out, exist_ok=True)
    t0, load_before = time.monotonic(), loadavg()
    notes: list[str] = []
    mods = common.import_optional(notes, tf=bool(NEEDS_TF & set(args.only)))
    common.configure(opts)
    progress = common.Progress(sum(SCRIPTS[n].steps(opts, dev["platform"]) for n in args.only))
    sections, seconds = run_all(args.only, opts, progress, mods)
    progress.close()
    wall = time.monotonic() - t0
    if notes:
        sections[0].notes[:0] = notes

    rows = [r for s in sections for r in s.rows]
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(rows, f, indent=1, ensure_ascii=False)
        f.write("\n")
    made = plots.write_all(rows, out)
    found = report.verdicts(rows)
    head = header(argv, opts, dev, mods, wall, seconds, (load_before, loadavg()))
    with open(os.path.join(out, "results.md"), "w", encoding="utf-8") as f:
        f.write(report.results_markdown(head, found, sections, made))

    print(report.targets_markdown(found).split("\n<details>")[0])
    print(f"\nwall time {wall:.0f} s; wrote {len(rows)} rows, results.md and "
          f"{len(made)} charts to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
