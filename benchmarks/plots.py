"""PNG charts of the suite's rows (matplotlib, Agg backend). Not a benchmark; ``run.py`` calls
:func:`write_all`, which draws whichever charts the rows allow and returns their file names.

- ``dispatch.png``: eager µs per call, one panel per case (log scale), dotsum highlighted;
- ``throughput.png``: GFLOP/s against n for the square GEMM sweep, one line per contender, with
  the best GEMM and the nominal peak as horizontal lines;
- ``jit_ratio.png``: per case, dotsum's throughput ÷ the best jit peer's, with the 0.97 target;
- ``first_call.png``: first-call ms per case and contender.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

Rows = Sequence[dict[str, Any]]
DPI = 80
DOTSUM = "#d62728"
OTHERS = "#7f7f7f"


def _title(rows: Rows, what: str) -> str:
    r = rows[0]
    return f"{what}\n{r['device']} · {r['dtype']} · precision {r['precision']}"


def dispatch(rows: Rows, path: str) -> bool:
    rows = [r for r in rows if r["metric"] == "eager_dispatch"]
    if not rows:
        return False
    cases: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in rows:
        cases[r["case"]].append((r["contender"], r["value"]))
    cols = 2
    nrows = math.ceil(len(cases) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(11, 2.3 * nrows), squeeze=False)
    for ax, (case, got) in zip(axes.flat, cases.items()):
        got.sort(key=lambda p: p[1])
        names = [n for n, _ in got]
        ax.barh(names, [v for _, v in got],
                color=[DOTSUM if n == "dotsum" else OTHERS for n in names])
        ax.set_xscale("log")
        ax.set_title(case, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("µs per call (log)", fontsize=7)
    for ax in list(axes.flat)[len(cases):]:
        ax.axis("off")
    fig.suptitle(_title(rows, "Eager dispatch, small inputs, plan cached"), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return True


def throughput(rows: Rows, path: str) -> bool:
    sweep = [r for r in rows if r["metric"] == "jit_throughput" and r.get("size")
             and r.get("group") in ("sweep", "gemm")]
    if not sweep:
        return False
    lines: dict[str, dict[int, float]] = defaultdict(dict)
    for r in sweep:  # the sweep (K.dot) and the ceiling GEMMs (ops.matmul) share n
        best = lines[r["contender"]].get(r["size"], 0.0)
        lines[r["contender"]][r["size"]] = max(best, r["value"])
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for name, pts in sorted(lines.items()):
        xs = sorted(pts)
        style = ":" if name.startswith("np.") else "--" if name.startswith("tf") else (
            "-." if name.startswith("keras") else "-")
        ax.plot(xs, [pts[x] for x in xs], marker="o", ms=3, ls=style,
                lw=2.5 if name == "dotsum" else 1, color=DOTSUM if name == "dotsum" else None,
                label=name, zorder=3 if name == "dotsum" else 2)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    for metric, style, va in (("best_gemm", "--", "bottom"), ("nominal_peak", ":", "top")):
        for r in rows:
            if r["metric"] == metric:
                ax.axhline(r["value"], ls=style, color="k", lw=1)
                ax.annotate(f"{metric.replace('_', ' ')} {r['value']:,.0f} GFLOP/s",
                            (ax.get_xlim()[0], r["value"]), fontsize=7, va=va,
                            xytext=(4, 2 if va == "bottom" else -2),
                            textcoords="offset points")
    ax.set_xlabel("n  (square (n,n)·(n,n) product: K.dot sweep and ops.matmul ceiling GEMMs)")
    ax.set_ylabel("GFLOP/s (plan.flops / median time)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(_title(sweep, "Jit throughput against size"), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return True


def jit_ratio(rows: Rows, path: str, target: float = 0.97) -> bool:
    best: dict[str, tuple[float, bool]] = {}
    for r in rows:
        if (r["metric"] == "jit_time" and r["contender"] != "dotsum"
                and not r["mode"].startswith("NumPy")):
            got = (r["ratio_to_dotsum"], bool(r.get("same_program")))
            best[r["case"]] = min(best.get(r["case"], got), got)
    if not best:
        return False
    cases = list(best)
    fig, ax = plt.subplots(figsize=(10, 0.3 * len(cases) + 1.8))
    vals = [best[c][0] for c in cases]
    colors = ["#2ca02c" if v >= target else ("#ff7f0e" if best[c][1] else DOTSUM)
              for c, v in zip(cases, vals)]
    ax.barh(cases, vals, color=colors)
    ax.axvline(target, color="k", ls="--", lw=1)
    ax.axvline(1.0, color="k", lw=0.5)
    ax.invert_yaxis()
    ax.tick_params(labelsize=7)
    ax.set_xlabel(f"best jit peer's time ÷ dotsum's (> 1: dotsum faster)\ngreen: ≥ {target}; "
                  "orange: below, but that peer runs dotsum's very program (noise); red: missed",
                  fontsize=8)
    ax.set_title(_title(rows, "Inside jit: dotsum against the best peer"), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return True


def first_call(rows: Rows, path: str) -> bool:
    rows = [r for r in rows if r["metric"].startswith("first_call")]
    if not rows:
        return False
    groups = sorted({(r["case"], r["metric"].rsplit("_", 1)[1]) for r in rows})
    who = sorted({r["contender"] for r in rows}, key=lambda n: (n != "dotsum", n))
    value = {(r["case"], r["metric"].rsplit("_", 1)[1], r["contender"]): r["value"] for r in rows}
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(groups) * len(who) / 2 + 1.5))
    h = 0.8 / len(who)
    for k, name in enumerate(who):
        ys = [i + k * h for i in range(len(groups))]
        ax.barh(ys, [value.get((c, m, name), 0) for c, m in groups], height=h, label=name,
                color=DOTSUM if name == "dotsum" else None)
    ax.set_yticks([i + 0.4 - h / 2 for i in range(len(groups))],
                  [f"{c} ({m})" for c, m in groups], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("ms, first call in a fresh process (median)")
    ax.legend(fontsize=7)
    ax.set_title(_title(rows, "First-call latency (trace + compile + run)"), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return True


def write_all(rows: Rows, out: str) -> list[str]:
    """Draw every chart the rows allow into ``out``; return the file names written."""
    made = []
    for name, draw in (("dispatch.png", dispatch), ("throughput.png", throughput),
                       ("jit_ratio.png", jit_ratio), ("first_call.png", first_call)):
        if draw(rows, os.path.join(out, name)):
            made.append(name)
    return made
