"""The accelerator sweep: one command, the quick suite in bf16 and in f32, into one folder.

Question: on this GPU/TPU, how far is each contraction from the device's roofline and from the
best GEMM measured here, and how does dotsum compare side by side with ``jnp.einsum``,
``jnp.matmul`` and ``lax.dot_general`` (and Keras/TensorFlow where installed)?

Runs ``run.py --quick`` twice, each in a fresh process:

  bf16  precision default (bf16 tensor cores / MXU): every script
  f32   precision highest (true float32: no TF32, six bf16 passes on TPU): throughput,
        ceiling and memory (dispatch always runs float32, and first calls do not depend on it)

into ``benchmarks/results/<device>/{bf16,f32}/`` (``<device>`` as ``dotsum.devices`` names it,
e.g. ``h200``), then writes ``benchmarks/results/<device>/README.md``: the machine, both runs'
settings and target tables, and links to their reports and charts. Contenders whose framework
is missing (a GPU image without TensorFlow or Keras) are skipped, and each report says so.

Run::

    python benchmarks/accelerator.py              # on the GPU/TPU machine; meant to fit 8 min
    python benchmarks/accelerator.py --dry-run    # print the two commands, run nothing
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time

import common

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = (  # (folder, run.py arguments)
    ("bf16", ["--dtype", "bf16", "--precision", "default"]),
    ("f32", ["--dtype", "f32", "--precision", "highest", "--only", "throughput,ceiling,memory"]),
)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="folder (default: benchmarks/results/<device>)")
    parser.add_argument("--budget", type=float, default=480.0,
                        help="seconds for both runs together (default 480: 8 minutes); a run "
                             "that would start with under a minute left is skipped")
    parser.add_argument("--full", action="store_true", help="the full sweep, not --quick")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="run on a CPU too (to try the command; the CPU has its own report)")
    return parser.parse_args(argv)


def commands(out: str, full: bool) -> list[tuple[str, list[str]]]:
    run = [sys.executable, os.path.join(HERE, "run.py"), *([] if full else ["--quick"])]
    return [(name, [*run, *extra, "--out", os.path.join(out, name)]) for name, extra in RUNS]


def targets(path: str) -> str:
    """The Targets table of one run's results.md (or why there is none)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return "no results.md: the run did not finish"
    start = text.find("## Targets")
    if start < 0:
        return "no targets table"
    body = text[start:].split("\n<details>")[0].split("\n## ", 2)
    return "\n## ".join(body[:2]).replace("## Targets", "", 1).strip()


def index(out: str, dev: dict[str, str], done: list[tuple[str, list[str], float, str]]) -> str:
    lines = [f"# dotsum on {dev['kind']}", "",
             f"- machine: {dev['label']}",
             f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
             "- command: `python benchmarks/accelerator.py`", ""]
    for name, cmd, seconds, status in done:
        lines += [f"## {name}", "",
                  f"`{' '.join(['python', *map(os.path.basename, cmd[1:2]), *cmd[2:]])}` — "
                  f"{status}, {seconds:.0f} s; [report]({name}/results.md)", "",
                  targets(os.path.join(out, name, "results.md")), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    dev = common.device()
    if dev["platform"] == "cpu" and not args.allow_cpu:
        print("accelerator.py: no GPU or TPU here (JAX's default device is the CPU); "
              "use run.py, or --allow-cpu to try this command anyway", file=sys.stderr)
        return 2
    out = args.out or common.out_folder(dev)
    planned = commands(out, args.full)
    if args.dry_run:
        print("\n".join(" ".join(cmd) for _, cmd in planned))
        return 0
    os.makedirs(out, exist_ok=True)
    start, done = time.monotonic(), []
    for name, cmd in planned:
        left = args.budget - (time.monotonic() - start)
        if left < 60:
            done.append((name, cmd, 0.0, f"skipped: {left:.0f} s of the budget left"))
            continue
        t0 = time.monotonic()
        try:
            code = subprocess.run(cmd, timeout=left, check=False).returncode
            status = "done" if code == 0 else f"failed (exit status {code})"
        except subprocess.TimeoutExpired:
            status = f"stopped at the budget ({args.budget:.0f} s)"
        done.append((name, cmd, time.monotonic() - t0, status))
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write(index(out, dev, done))
    print(f"wall time {time.monotonic() - start:.0f} s; wrote {out}/README.md")
    return 0 if all(status == "done" for *_, status in done) else 1


if __name__ == "__main__":
    sys.exit(main())
