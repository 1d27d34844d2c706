"""Jit throughput: inside a compiled program, is dotsum as fast as its peers, tiny to compute-bound?

Question: for the seed's calls, Keras-model shapes (Dense-like ``dot``, attention-like
``batch_dot`` and ``einsum``), batched matmuls, 3-operand einsums and a square ``K.dot`` sweep,
how many GFLOP/s (``plan.flops`` / median time per call) does dotsum reach inside ``jax.jit``, next
to ``jnp.einsum``, ``jnp.matmul``/``jnp.dot`` (where they compute the same thing),
``lax.dot_general``, Keras 3 ops and the ``Dot`` layer (JAX backend, inside ``jax.jit``),
TensorFlow and tf_keras (inside ``tf.function(jit_compile=True)``, i.e. XLA) and NumPy (eager)?

Method: every contender is compiled, then checked once against dotsum's result (values and
dtype) and dropped with a note if it differs. Timing runs in passes (JAX and Keras peers; TF;
NumPy), each a series of rounds with the GC off; a round times dotsum, peer, dotsum, peer, …
dotsum (peers shuffled), each batch awaiting its results (``block_until_ready``; ``.numpy()``
for TF). A peer's ratio is its batch time over the mean of the two dotsum batches around it,
the median over rounds: pairing calls milliseconds apart cancels the load that drifts on a
shared machine. Separate passes keep TF's and OpenBLAS's spinning thread pools from slowing the
XLA programs that the target compares. A dotsum batch lasts ~0.3 ms; a case gets as many
rounds as a time budget allows (at least 5). Times are medians; GFLOP/s credit every contender
with dotsum's ``plan.flops`` (a peer on a worse contraction path is slower, not "more FLOPs")
over dotsum's median time × the peer's ratio, so one case's figures share a time base. Peers
whose optimised HLO is exactly dotsum's are marked: their spread is the run's noise.

Run::

    python benchmarks/throughput.py --quick              # the small sweep (~2 minutes on 2 cores)
    python benchmarks/throughput.py --dtype bf16 --precision default   # on an accelerator
    python benchmarks/throughput.py --json out.json
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import cases as C
import common
import jax
import numpy as np

METRIC_TIME, METRIC_RATE = "jit_time", "jit_throughput"
JIT_TARGET = common.JIT_TARGET
MODES = {"jax": "jax.jit", "keras": "jax.jit", "tf": "tf.function(jit_compile=True)",
         "numpy": "NumPy (eager)"}


def runner(c: C.Contender, inputs: C.Inputs, tf: Any) -> Callable[[], Any]:
    """A zero-argument call of the compiled contender that returns its finished result."""
    if c.framework in ("jax", "keras"):
        f, args = jax.jit(c.fn), inputs.jax
        return lambda: f(*args).block_until_ready()
    if c.framework == "tf":
        g, targs = tf.function(c.fn, jit_compile=True), inputs.tf
        return lambda: g(*targs).numpy()
    return lambda: c.fn(*inputs.np)


def frameworks(opts: common.Options, dev: dict[str, str], mods: dict[str, Any],
               notes: list[str]) -> tuple[str, ...]:
    """JAX and Keras always; TF only where it runs on the same kind of device as JAX; NumPy only
    on CPU and for float32."""
    out = ["jax", "keras"]
    if "tf" in mods:
        tf_gpu = bool(mods["tf"].config.list_physical_devices("GPU"))
        if dev["platform"] == "cpu" or (dev["platform"] == "gpu" and tf_gpu):
            out.append("tf")
        else:
            notes.append(f"TensorFlow skipped: it would run on another device than JAX "
                         f"({dev['platform']})")
    if dev["platform"] == "cpu" and opts.dtype == "f32":
        out.append("numpy")
    else:
        notes.append("NumPy skipped: it only runs float32 on the host CPU")
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Timing:
    framework: str
    us: float  # median µs per call
    ratio: float  # median over rounds of (this time ÷ dotsum's), paired by round
    same_program: bool = False  # compiles to exactly dotsum's optimised HLO (JAX peers only)


def checked(case: C.Case, runners: dict[str, Callable[[], Any]], opts: common.Options,
            notes: list[str]) -> tuple[dict[str, Callable[[], Any]], dict[str, float]]:
    """Run each contender once (compiling it) and keep those whose result matches dotsum's;
    with them, the seconds one more call of each took (to size the timed batches)."""
    reference = np.asarray(runners["dotsum"]())
    kept, per_call = {}, {}
    for name, fn in runners.items():
        try:
            got = fn()
            t0 = time.perf_counter()
            fn()
            per_call[name] = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - a peer failing is a note, not a crash
            notes.append(f"{case.name}: {name} dropped: {type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}")
            continue
        if np.asarray(got).dtype.name != reference.dtype.name:
            notes.append(f"{case.name}: {name} dropped: it returns {np.asarray(got).dtype.name}, "
                         f"dotsum {reference.dtype.name} (it computes in another dtype)")
            continue
        if not common.close_enough(got, reference, opts.dtype):
            notes.append(f"{case.name}: {name} dropped: its result {np.shape(got)} differs from "
                         f"dotsum's {reference.shape}")
            continue
        kept[name] = fn
    return kept, per_call


def budget_s(quick: bool) -> float:
    """Seconds of timed calls per case and pass."""
    return 3.0 if quick else 12.0


def schedule(per_call: dict[str, float], quick: bool) -> tuple[int, int, set[str]]:
    """(rounds, calls per timed batch, contenders to prime): batches of ~0.3 ms of dotsum calls
    (short, so that a millisecond-long preemption spoils few of them),
    an untimed call before batches of short calls (cache state; for long ones it only costs
    time), as many rounds as the case's time budget allows (at least 5)."""
    dotsum = per_call["dotsum"]
    inner = max(1, min(1000, math.ceil(0.0003 / max(dotsum, 1e-7))))
    prime = {n for n, t in per_call.items() if t < 0.005}
    cost = {n: t * inner * (2 if n in prime else 1) for n, t in per_call.items()}
    round_s = sum(cost.values()) + (len(cost) - 1) * cost["dotsum"]  # dotsum between each peer
    return max(5, min(1000, int(budget_s(quick) / max(round_s, 1e-6)))), inner, prime


def same_programs(case: C.Case, cons: list[C.Contender], dtype: str) -> set[str]:
    """The JAX/Keras contenders whose optimised HLO is exactly dotsum's."""
    args = C.abstract_args(case, dtype)
    prints = {c.name: C.program_fingerprint(c.fn, args) for c in cons
              if c.framework in ("jax", "keras")}
    return {n for n, p in prints.items() if p == prints["dotsum"] and n != "dotsum"}


GROUPS = (("jax", "keras"), ("tf",), ("numpy",))  # timed in separate passes, see measure()


def measure(case: C.Case, mods: dict[str, Any], opts: common.Options,
            fws: tuple[str, ...], notes: list[str]) -> dict[str, Timing]:
    """Every contender of one case, checked and timed against dotsum, one pass per group of
    ``GROUPS``: TF's Eigen pool and OpenBLAS keep spinning after a call and slow down whichever
    XLA program runs next, which drowned 3% differences when all ran in one pass. dotsum's own
    time is the first pass's."""
    inputs = C.make_inputs(case, opts.dtype, mods.get("tf") if "tf" in fws else None)
    cons = C.contenders(case, mods, opts.lax_precision, fws)
    fw = {c.name: c.framework for c in cons}
    runners = {c.name: runner(c, inputs, mods.get("tf")) for c in cons}
    runners, per_call = checked(case, runners, opts, notes)
    same = same_programs(case, [c for c in cons if c.name in runners], opts.dtype)
    out: dict[str, Timing] = {}
    for group in GROUPS:
        names = ["dotsum"] + [n for n in runners if n != "dotsum" and fw[n] in group]
        if len(names) == 1:
            continue
        share = {n: per_call[n] for n in names}
        rounds, inner, prime = schedule(share, opts.quick)
        samples, ratios = common.time_paired({n: runners[n] for n in names}, "dotsum", rounds,
                                             inner, prime=prime,
                                             deadline_s=2 * budget_s(opts.quick))
        for n in names:
            if n not in out:
                out[n] = Timing(fw[n], statistics.median(samples[n]), ratios[n], n in same)
    return out


def best_peer(times: dict[str, Timing], jit_only: bool,
              other_program: bool = False) -> tuple[str, float] | None:
    """(name, time ÷ dotsum's) of the fastest peer: NumPy excluded if ``jit_only``, peers that
    run dotsum's very program excluded if ``other_program``."""
    peers = [(t.ratio, name) for name, t in times.items()
             if name != "dotsum" and (t.framework != "numpy" or not jit_only)
             and not (other_program and t.same_program)]
    return (min(peers)[1], min(peers)[0]) if peers else None


def noise(times: dict[str, Timing]) -> str:
    """The spread of the ratios of peers that run dotsum's own program: pure measurement noise."""
    same = [t.ratio for t in times.values() if t.same_program]
    return f"{min(same):.2f}–{max(same):.2f}" if same else "—"


def verdict(times: dict[str, Timing]) -> tuple[str, float | None]:
    """('yes' | 'no' | 'noise', the deciding ratio): the target holds if no jit peer that runs a
    different program is ≥ 3% faster; a faster peer running dotsum's own program is noise."""
    other = best_peer(times, True, other_program=True)
    raw = best_peer(times, True)
    if other and other[1] < JIT_TARGET:
        return "no", other[1]
    if raw and raw[1] < JIT_TARGET:
        return "noise", other[1] if other else None
    return "yes", other[1] if other else (raw[1] if raw else None)


def paired_rate(case: C.Case, times: dict[str, Timing], name: str) -> float:
    """GFLOP/s of a contender on dotsum's time base: dotsum's median time times the paired
    ratio. Passes run seconds apart and the machine's speed drifts; the ratio does not."""
    return case.flops / (times["dotsum"].us * times[name].ratio) / 1e3


def rows_for(case: C.Case, times: dict[str, Timing], opts: common.Options,
             dev: dict[str, str]) -> list[dict[str, Any]]:
    flops = case.flops
    extra = dict(flops=flops, group=case.group, size=case.size, large=case.large,
                 roofline_gflops=common.roofline_rate(case.plan, opts, dev))
    out = []
    for name, t in times.items():
        mode = MODES[t.framework]
        out.append(common.row(case.name, name, METRIC_TIME, t.us, "us", opts, dev, mode=mode,
                              ratio_to_dotsum=round(t.ratio, 4), same_program=t.same_program,
                              **extra))
        out.append(common.row(case.name, name, METRIC_RATE, paired_rate(case, times, name),
                              "GFLOP/s", opts, dev, mode=mode,
                              raw_gflops=round(flops / t.us / 1e3, 4), **extra))
    return out


def markdown(results: list[tuple[C.Case, dict[str, Timing]]], opts: common.Options,
             dev: dict[str, str]) -> str:
    summary, detail = [], []
    # accelerators: TFLOP/s (rows keep GFLOP/s)
    scale, unit = (1e3, "TFLOP/s") if dev["platform"] != "cpu" else (1, "GFLOP/s")
    for case, times in results:
        rate = case.flops / times["dotsum"].us / 1e3 / scale
        jit, other = best_peer(times, True), best_peer(times, True, other_program=True)
        anyp = best_peer(times, False)
        said, _ = verdict(times)
        summary.append([
            case.name, common.fmt(case.flops), common.fmt(rate),
            f"{jit[0]} ({jit[1]:.2f})" if jit else "—",
            f"{other[0]} ({other[1]:.2f})" if other else "—", noise(times),
            {"yes": "yes", "no": "**no**", "noise": "yes (noise)"}[said],
            f"{anyp[0]} ({anyp[1]:.2f})" if anyp and anyp != jit else "same",
        ])
        for name, t in sorted(times.items(), key=lambda kv: kv[1].ratio):
            detail.append([case.name, name + (" =" if t.same_program else ""),
                           MODES[t.framework], common.fmt(t.us),
                           common.fmt(paired_rate(case, times, name) / scale),
                           f"{t.ratio:.2f}"])
    doc = [c for c, _ in results if c.matmul_doc]
    forms = "; ".join(f"{c.name}: `{c.matmul_doc}`" for c in doc)
    return "\n".join([
        f"## Jit throughput ({unit} = dotsum's plan.flops / time per call)",
        "",
        common.settings_line(opts, dev),
        "- JAX and Keras 3 contenders run inside `jax.jit`; TensorFlow and tf_keras inside "
        "`tf.function(jit_compile=True)` (XLA); NumPy eagerly.",
        "- (÷) is a peer's time over dotsum's: the median over rounds of its batch time over "
        "the mean of the dotsum batches just before and after it (> 1: dotsum is "
        f"faster; the target is ≥ {JIT_TARGET} against every jit peer). NumPy is not a jit "
        "peer; it is shown apart.",
        f"- dotsum's {unit} use its median time; a peer's use dotsum's median time × the "
        "peer's paired ratio, so one case's figures share a time base (µs/call are raw medians).",
        "- Peers marked `=` compile to exactly dotsum's optimised HLO (names and metadata "
        "aside): their spread ('noise') is what this run's measurement can resolve, and a "
        "verdict only fails on a faster peer that runs a *different* program.",
        f"- matmul forms: {forms}" if forms else "",
        "",
        common.md_table(["case", "flops", f"dotsum {unit}", "best jit peer (÷)",
                         "best other-program peer (÷)", "noise (÷ of `=` peers)",
                         f"≥ {JIT_TARGET}", "fastest incl. NumPy (÷)"],
                        summary, "lrrllrll"),
        "",
        "<details><summary>every contender (µs per call; time ÷ dotsum's)</summary>",
        "",
        common.md_table(["case", "contender", "run as", "µs/call", unit, "÷ dotsum"],
                        detail, "lllrrr"),
        "",
        "</details>",
    ])


def steps(opts: common.Options, platform: str) -> int:
    return len(C.throughput_cases(platform, opts.quick))


def run(opts: common.Options, progress: common.Progress | None = None,
        mods: dict[str, Any] | None = None) -> common.Section:
    notes: list[str] = []
    mods = mods if mods is not None else common.import_optional(notes)
    common.configure(opts)
    dev = common.device()
    fws = frameworks(opts, dev, mods, notes)
    results, rows = [], []
    for case in C.throughput_cases(dev["platform"], opts.quick):
        if progress:
            progress.start(f"throughput: {case.name}")
        times = measure(case, mods, opts, fws, notes)
        results.append((case, times))
        rows += rows_for(case, times, opts, dev)
        if progress:
            progress.advance(f"throughput: {case.name}")
    return common.Section("throughput", rows, markdown(results, opts, dev), notes)


def main(argv: list[str] | None = None) -> int:
    return common.main_for(__doc__, run, steps, argv)


if __name__ == "__main__":
    sys.exit(main())
