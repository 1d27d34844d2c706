"""Ceiling: what fraction of the machine's peak do the products reach?

Question: what is the best large GEMM any contender reaches on this device (the practical
ceiling: n = 1024 and 2048 on CPU, 4096 and 8192 on accelerators, plus the large square
``K.dot`` cases of ``throughput.py`` when run together), what is the device's nominal
peak, and what fraction of both does each throughput case's best contender (and dotsum) reach?

The GEMMs are measured like ``throughput.py`` (same contenders, checks and interleaving). The
nominal peak is arithmetic, never measured: on CPU cores × f32 FLOP/cycle × GHz, with FLOP/cycle
read off the vector flags in ``/proc/cpuinfo`` and the clock from ``lscpu``/``cpuinfo`` (the
assumption is printed); on GPU/TPU the datasheet peak of ``dotsum.devices``, which also gives
each case's roofline (``plan.roofline``: peak or memory bandwidth, whichever binds) and so the
fraction of it each case reaches.

Run::

    python benchmarks/ceiling.py --quick
    python benchmarks/ceiling.py --throughput-json tp.json   # fractions for throughput.py's rows
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import cases as C
import common
import throughput

LARGE_TARGET = common.LARGE_TARGET


# -- nominal peak ---------------------------------------------------------------------------------
def _lscpu_max_mhz() -> float | None:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"CPU max MHz:\s*([\d.]+)", out)
    return float(m.group(1)) if m else None


def cpu_peak() -> tuple[float, str]:
    """(nominal f32 GFLOP/s, the assumption in words) from the CPU's flags and clock."""
    info = common.cpu_info()
    flags = set(info.get("flags", "").split())
    amd = info.get("vendor_id") == "AuthenticAMD"
    family = int(info.get("cpu family", "0") or 0)
    if "avx512f" in flags and amd and family < 26:
        fpc, why = 32, "AVX-512 on AMD Zen 4 (two 256-bit FMA pipes: 16 f32 FMA/cycle)"
    elif "avx512f" in flags:
        fpc, why = 64, "AVX-512 with two 512-bit FMA units (32 f32 FMA/cycle)"
    elif "avx2" in flags and "fma" in flags:
        fpc, why = 32, "AVX2 with two 256-bit FMA units (16 f32 FMA/cycle)"
    elif "avx" in flags:
        fpc, why = 16, "AVX without FMA (8 f32 mul + 8 add/cycle)"
    else:
        fpc, why = 8, "SSE (4 f32 mul + 4 add/cycle)"
    mhz = _lscpu_max_mhz()
    clock = "lscpu max MHz"
    if mhz is None and info.get("cpu MHz"):
        mhz, clock = float(info["cpu MHz"]), "/proc/cpuinfo cpu MHz; boost not counted"
    if mhz is None and info.get("bogomips"):
        mhz, clock = float(info["bogomips"]) / 2, "BogoMIPS / 2 (the TSC clock; boost not counted)"
    mhz = mhz or 2000.0
    cores = common.cpu_count()
    peak = cores * fpc * mhz / 1e3
    return peak, (f"{cores} cores × {fpc} f32 FLOP/cycle ({why}) × {mhz / 1e3:.2f} GHz "
                  f"({clock}) = {peak:.0f} GFLOP/s")


def accel_peak(kind: str, platform: str, opts: common.Options) -> tuple[float | None, str]:
    """(nominal GFLOP/s or None, the assumption) for a GPU/TPU ``device_kind``, from the
    datasheet table ``dotsum.devices`` (f32 runs on TF32 tensor cores at precision default on
    NVIDIA GPUs, as 6 bf16 passes at highest on TPUs)."""
    device = common.table_device({"platform": platform, "kind": kind})
    if device is None:
        return None, f"no nominal peak known for device_kind {kind!r} (dotsum.devices)"
    try:
        peak = device.peak_for(opts.dtype_name, opts.lax_precision)
    except ValueError as e:
        return None, str(e)
    return peak / 1e9, (f"nominal dense peak of {device.title} for {opts.dtype_name} at "
                        f"precision {opts.precision} from dotsum.devices ({device.source}; "
                        f"{peak / 1e12:.4g} TFLOP/s), not measured")


def nominal_peak(dev: dict[str, str], opts: common.Options) -> tuple[float | None, str]:
    if dev["platform"] == "cpu":
        peak, text = cpu_peak()
        if opts.dtype == "bf16":
            text += " (the f32 figure; XLA:CPU computes bf16 dots in f32)"
        return peak, text
    return accel_peak(dev["kind"], dev["platform"], opts)


# -- fractions ------------------------------------------------------------------------------------
def best_rates(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per case: flops, large, dotsum's GFLOP/s and the best contender's (name, GFLOP/s)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["metric"] != throughput.METRIC_RATE:
            continue
        case = out.setdefault(r["case"], {"flops": r["flops"], "large": r["large"],
                                          "best": ("", 0.0), "dotsum": None,
                                          "roofline": r.get("roofline_gflops")})
        if r["contender"] == "dotsum":
            case["dotsum"] = r["value"]
        if r["value"] > case["best"][1]:
            case["best"] = (r["contender"], r["value"])
    return out


def fraction_rows(rates: dict[str, dict[str, Any]], gemm: float, peak: float | None,
                  opts: common.Options, dev: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for case, r in rates.items():
        for who, rate in (("best", r["best"][1]), ("dotsum", r["dotsum"])):
            extra = dict(flops=r["flops"], large=r["large"],
                         best_contender=r["best"][0] if who == "best" else "dotsum")
            rows.append(common.row(case, who, "fraction_of_best_gemm", rate / gemm, "ratio",
                                   opts, dev, **extra))
            if peak:
                rows.append(common.row(case, who, "fraction_of_nominal_peak", rate / peak,
                                       "ratio", opts, dev, **extra))
            if r.get("roofline"):
                rows.append(common.row(case, who, "fraction_of_roofline", rate / r["roofline"],
                                       "ratio", opts, dev, roofline_gflops=r["roofline"],
                                       **extra))
    return rows


def markdown(gemm_best: tuple[str, str, float], peak: float | None, peak_text: str,
             rates: dict[str, dict[str, Any]], opts: common.Options, dev: dict[str, str]) -> str:
    case, who, gemm = gemm_best
    lines = [
        "## Fraction of the machine's ceiling",
        "",
        common.settings_line(opts, dev),
        f"- best large GEMM (the practical ceiling): **{gemm:.1f} GFLOP/s**, {who} on {case}",
        f"- nominal peak: **{common.fmt(peak)} GFLOP/s** — {peak_text}" if peak else
        f"- nominal peak: unknown — {peak_text}",
        f"- best GEMM ÷ nominal: {gemm / peak:.2f}" + (
            " — above 1: the cores ran faster than the assumed clock (boost), so the nominal "
            "figure is a floor here" if gemm > peak else "") if peak else "",
        f"- large GEMM-like cases (marked ★) should have dotsum ≥ {LARGE_TARGET} × the best GEMM",
        "",
    ]
    table = []
    for name, r in rates.items():
        best_name, best = r["best"]
        d = r["dotsum"]
        roof = r.get("roofline")
        table.append([name + (" ★" if r["large"] else ""), common.fmt(r["flops"]),
                      f"{best_name} {best:.1f}", f"{best / gemm:.2f}",
                      f"{best / peak:.2f}" if peak else "—", f"{d:.1f}", f"{d / gemm:.2f}",
                      f"{d / peak:.2f}" if peak else "—", f"{d / roof:.2f}" if roof else "—"])
    lines.append(common.md_table(["case", "flops", "best contender (GFLOP/s)", "÷ best GEMM",
                                  "÷ nominal", "dotsum GFLOP/s", "÷ best GEMM", "÷ nominal",
                                  "÷ roofline"], table, "lrlrrrrrr"))
    if not any(r.get("roofline") for r in rates.values()):
        lines.append("\n÷ roofline: this device is not in dotsum.devices (a CPU has no entry)")
    return "\n".join(lines)


def steps(opts: common.Options, platform: str) -> int:
    return len(C.gemm_cases(platform))


def run(opts: common.Options, progress: common.Progress | None = None,
        mods: dict[str, Any] | None = None,
        throughput_rows: list[dict[str, Any]] | None = None) -> common.Section:
    notes: list[str] = []
    mods = mods if mods is not None else common.import_optional(notes)
    common.configure(opts)
    dev = common.device()
    fws = throughput.frameworks(opts, dev, mods, notes)
    gemm_rows = []
    for case in C.gemm_cases(dev["platform"]):
        if progress:
            progress.start(f"ceiling: {case.name}")
        times = throughput.measure(case, mods, opts, fws, notes)
        gemm_rows += throughput.rows_for(case, times, opts, dev)
        if progress:
            progress.advance(f"ceiling: {case.name}")
    square = [r for r in throughput_rows or () if r.get("group") == "sweep" and r.get("large")]
    best = max((r for r in gemm_rows + square if r["metric"] == throughput.METRIC_RATE),
               key=lambda r: r["value"])  # the sweep's large square K.dots are GEMMs too
    gemm = best["value"]
    peak, peak_text = nominal_peak(dev, opts)
    rows = list(gemm_rows)  # also jit throughput cases: the same metrics
    rows.append(common.row(best["case"], best["contender"], "best_gemm", gemm, "GFLOP/s",
                           opts, dev))
    if peak:
        rows.append(common.row("nominal peak", "device", "nominal_peak", peak, "GFLOP/s", opts,
                               dev, assumption=peak_text))
    rates = best_rates(gemm_rows + list(throughput_rows or []))
    rows += fraction_rows(rates, gemm, peak, opts, dev)
    text = markdown((best["case"], best["contender"], gemm), peak, peak_text, rates, opts, dev)
    return common.Section("ceiling", rows, text, notes)


def main(argv: list[str] | None = None) -> int:
    parser = common.parser_for(__doc__)
    parser.add_argument("--throughput-json", metavar="PATH",
                        help="rows written by throughput.py --json, to report their fractions")
    args = parser.parse_args(argv)
    opts = common.options_from(args)
    tp = None
    if args.throughput_json:
        with open(args.throughput_json, encoding="utf-8") as f:
            tp = json.load(f)
    section = run(opts, common.Progress(steps(opts, common.device()["platform"])),
                  throughput_rows=tp)
    common.emit(section, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
