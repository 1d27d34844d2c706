"""Shared by the benchmark scripts: settings, the device, timing, result checks, rows, progress.

Not a benchmark itself. Every script imports this module (directly or through ``cases``) before
NumPy or Keras: it sets ``KERAS_BACKEND=jax`` and ``OPENBLAS_THREAD_TIMEOUT`` (see below).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# OpenBLAS's idle threads busy-wait ~0.1 s after each NumPy call, stealing the cores from the
# contender timed next: an XLA GEMM right after np.matmul ran 1.5-1.8x slower on 2 cores. With
# this they sleep at once (read when NumPy loads, so it must be set before the first import).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

DTYPES = {"f32": "float32", "bf16": "bfloat16"}
PRECISIONS = {"highest": lax.Precision.HIGHEST, "default": None}

# The project's targets, judged by report.py and quoted by the scripts.
DISPATCH_TARGET = 1.5  # eager: dotsum ≤ this × jnp.matmul (jnp.dot for K.dot)
FLOOR_TARGET = 1.10  # eager: dotsum ≤ this × its plan's pre-jitted executor called directly
EINSUM_TARGET = 20  # eager: dotsum ≥ this many times faster than jnp.einsum
KERAS_TARGET = 50  # eager: ≥ this many times faster than the Keras Dot layer, tf_keras batch_dot
KERAS_PEERS = ("keras Dot layer", "tf_keras K.batch_dot")
JIT_TARGET = 0.97  # inside jit: dotsum's throughput ≥ this × the best peer's
LARGE_TARGET = 0.90  # large GEMM-like cases: dotsum ≥ this × the best GEMM
TRAIN_TARGET = 1.0  # jit value_and_grad: dotsum's step ≥ this × jnp.einsum's speed
LAYOUT_TRAIN_TARGET = 1.15  # ... on the layout cases


# -- settings -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Options:
    """What every script runs under: sweep size, dtype and matmul precision."""

    quick: bool = False
    dtype: str = "f32"  # a key of DTYPES
    precision: str = "highest"  # a key of PRECISIONS

    @property
    def dtype_name(self) -> str:
        return DTYPES[self.dtype]

    @property
    def lax_precision(self) -> Any:
        """What the JAX contenders get as ``precision=`` (None means XLA's default)."""
        return PRECISIONS[self.precision]


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="the small sweep (minutes)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32",
                        help="operand dtype (bf16 is meant for accelerators; NumPy is skipped)")
    parser.add_argument("--precision", choices=sorted(PRECISIONS), default="highest",
                        help="matmul precision of every JAX/Keras/TF contender (default: highest)")


def options_from(args: argparse.Namespace) -> Options:
    return Options(quick=args.quick, dtype=args.dtype, precision=args.precision)


def configure(opts: Options) -> None:
    """Make the precision global, so peers without a ``precision`` argument (Keras 3 ops, the
    Keras ``Dot`` layer, TensorFlow) run at the same one as dotsum, ``jnp`` and ``lax``."""
    jax.config.update("jax_default_matmul_precision",
                      "highest" if opts.precision == "highest" else None)
    if "tensorflow" in sys.modules:  # TF32 off when the run asks for full float32
        sys.modules["tensorflow"].config.experimental.enable_tensor_float_32_execution(
            opts.precision != "highest")


# -- the device -----------------------------------------------------------------------------------
def cpu_info() -> dict[str, str]:
    """The first CPU's ``/proc/cpuinfo`` fields (empty where there is none)."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if ":" in line:
                    key, value = (s.strip() for s in line.split(":", 1))
                    info.setdefault(key, value)
    except OSError:
        pass
    return info


def cpu_model() -> str:
    return cpu_info().get("model name") or platform.processor() or platform.machine()


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def device() -> dict[str, str]:
    """The JAX default device: platform (cpu/gpu/tpu), device_kind, and a one-line label."""
    dev = jax.devices()[0]
    if dev.platform == "cpu":
        label = f"cpu: {cpu_model()} ({cpu_count()} cores)"
    else:
        label = f"{dev.platform}: {dev.device_kind} (×{jax.device_count()}, benchmarks use 1)"
    return {"platform": dev.platform, "kind": dev.device_kind, "label": label}


def table_device(dev: dict[str, str]):
    """This device's entry in ``dotsum.devices`` (peaks, bandwidth), or None (a CPU, say)."""
    from dotsum import devices

    return devices.detect(dev["kind"]) if dev["platform"] != "cpu" else None


def roofline_rate(plan: Any, opts: Options, dev: dict[str, str]) -> float | None:
    """The GFLOP/s ``plan`` would reach at its roofline on this device (``plan.roofline``:
    the datasheet peak or bandwidth, whichever binds), or None where the table has no entry."""
    device = table_device(dev)
    if device is None or not plan.flops:
        return None
    try:
        ideal = plan.roofline(device, opts.dtype_name, precision=opts.lax_precision)
    except ValueError:  # no peak for this dtype on this device
        return None
    return plan.flops / ideal.seconds / 1e9


def out_folder(dev: dict[str, str]) -> str:
    """``benchmarks/results/<device>``: the table's name (``h200``), else the platform."""
    device = table_device(dev)
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                        device.name if device is not None else dev["platform"])


def versions(mods: dict[str, Any]) -> str:
    parts = [f"jax {jax.__version__}", f"numpy {np.__version__}"]
    parts += [f"{name} {mods[name].__version__}" for name in ("keras", "tf_keras", "tf")
              if name in mods]
    return ", ".join(parts) + f"; python {sys.version.split()[0]}"


# -- optional frameworks --------------------------------------------------------------------------
def import_optional(notes: list[str], tf: bool = True) -> dict[str, Any]:
    """Import keras (on JAX), and tensorflow and tf_keras if ``tf``; note what is skipped."""
    mods: dict[str, Any] = {}
    try:
        import keras

        if keras.backend.backend() == "jax":
            mods["keras"] = keras
        else:
            notes.append(f"keras skipped: backend is {keras.backend.backend()!r}, not 'jax' "
                         "(unset KERAS_BACKEND)")
    except ImportError as e:
        notes.append(f"keras skipped: not installed ({e})")
    if not tf:
        return mods
    try:
        import tensorflow

        mods["tf"] = tensorflow
    except ImportError as e:
        notes.append(f"tensorflow skipped: not installed ({e})")
    try:
        import tf_keras

        mods["tf_keras"] = tf_keras
    except ImportError as e:
        notes.append(f"tf_keras skipped: not installed ({e})")
    return mods


# -- measurement ----------------------------------------------------------------------------------
def _batch_us(fn: Callable[[], Any], inner: int, prime: bool) -> float:
    """Mean µs per call of ``inner`` back-to-back calls (after one untimed call if ``prime``)."""
    if prime:
        fn()
    t0 = time.perf_counter_ns()
    for _ in range(inner):
        fn()
    return (time.perf_counter_ns() - t0) / inner / 1e3


@contextlib.contextmanager
def _rounds(rounds: int, deadline_s: float | None):
    """Yield the round numbers with the garbage collector off; after ``deadline_s`` seconds no
    new round starts once 3 are done (a busy machine can make calls far slower than planned)."""
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    start = time.monotonic()

    def numbers():
        for done in range(rounds):
            if deadline_s and done >= 3 and time.monotonic() - start > deadline_s:
                return
            yield done

    try:
        yield numbers()
    finally:
        if gc_was_enabled:
            gc.enable()


def time_samples(fns: dict[str, Callable[[], Any]], rounds: int, inner: int,
                 seed: int = 0, prime: bool = True,
                 deadline_s: float | None = None) -> dict[str, list[float]]:
    """Per contender, one sample per round: the mean µs per call of ``inner`` back-to-back calls.

    Each round runs every contender once, in a freshly shuffled order, so that no contender
    always follows the same neighbour; with ``prime``, one untimed call before each timed batch
    takes the cold-cache cost of switching contenders out of the figure (steady state). Each
    ``fn`` must return only when its result is ready. The garbage collector is off meanwhile.
    After ``deadline_s`` seconds no new round starts once 3 are done."""
    names = list(fns)
    samples: dict[str, list[float]] = {n: [] for n in names}
    order = random.Random(seed)
    with _rounds(rounds, deadline_s) as numbers:
        for _ in numbers:
            order.shuffle(names)
            for name in names:
                samples[name].append(_batch_us(fns[name], inner, prime))
    return {n: samples[n] for n in fns}


def time_interleaved(fns: dict[str, Callable[[], Any]], rounds: int, inner: int,
                     seed: int = 0, prime: bool = True) -> dict[str, float]:
    """Median over rounds of the mean µs per call (see :func:`time_samples`)."""
    samples = time_samples(fns, rounds, inner, seed, prime)
    return {n: statistics.median(s) for n, s in samples.items()}


def time_paired(fns: dict[str, Callable[[], Any]], base: str, rounds: int, inner: int,
                seed: int = 0, prime: bool | set[str] = True, deadline_s: float | None = None,
                ) -> tuple[dict[str, list[float]], dict[str, float]]:
    """A B A C A D … A: every contender is timed between two batches of ``base``, in a shuffled
    order each round, and its ratio to ``base`` is its time over the mean of those two
    neighbours. Pairing calls that ran milliseconds apart cancels the load that drifts on a
    shared machine far better than comparing medians. Returns (µs samples per contender, median
    ratio to ``base`` per contender); batches are timed as in :func:`time_samples`, ``prime``
    being all, none, or the set of contenders whose batches get an untimed call first."""
    peers = [n for n in fns if n != base]
    samples: dict[str, list[float]] = {n: [] for n in fns}
    ratios: dict[str, list[float]] = {n: [] for n in fns}
    order = random.Random(seed)

    def batch(name: str) -> float:
        us = _batch_us(fns[name], inner, prime is True or bool(prime and name in prime))
        samples[name].append(us)
        return us

    with _rounds(rounds, deadline_s) as numbers:
        for _ in numbers:
            order.shuffle(peers)
            before = batch(base)
            for name in peers:
                mine = batch(name)
                after = batch(base)
                ratios[name].append(2 * mine / (before + after))
                before = after
    ratio = {n: statistics.median(r) for n, r in ratios.items() if r}
    ratio[base] = 1.0
    return samples, ratio


def close_enough(got: Any, want: Any, dtype: str) -> bool:
    """Same shape and values up to the dtype's rounding, relative to the result's scale (sums of
    many products round differently in different libraries)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    tol = 5e-2 if dtype == "bf16" else 1e-4
    return bool(np.all(np.abs(got - want) <= tol * scale))


# -- results --------------------------------------------------------------------------------------
@dataclasses.dataclass
class Section:
    """What one script returns: rows for results.json, Markdown for results.md, notes."""

    name: str
    rows: list[dict[str, Any]]
    markdown: str
    notes: list[str] = dataclasses.field(default_factory=list)


def row(case: str, contender: str, metric: str, value: float, unit: str, opts: Options,
        dev: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"case": case, "contender": contender, "metric": metric,
            "value": round(float(value), 4), "unit": unit, "device": dev["label"],
            "device_kind": dev["kind"], "platform": dev["platform"], "dtype": opts.dtype_name,
            "precision": opts.precision, **extra}


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> str:
    """A Markdown table; ``align``: 'l' or 'r' per column (default: first left, rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def fmt(x: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, thousands separated; '—' for None."""
    if x is None:
        return "—"
    if x == 0:
        return "0"
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def settings_line(opts: Options, dev: dict[str, str]) -> str:
    prec = ("highest (`lax.Precision.HIGHEST` passed to dotsum/jnp/lax, "
            "`jax_default_matmul_precision=highest` for Keras, TF32 off in TF)"
            if opts.precision == "highest" else "default (XLA's, TF's and NumPy's own)")
    return f"- device: {dev['label']}; dtype: {opts.dtype_name}; precision: {prec}"


# -- progress -------------------------------------------------------------------------------------
class Progress:
    """A one-line progress bar on stderr: ``[#####-----] 12/40  30%  1:02  throughput: …``.

    Redrawn in place on a terminal; one line per step otherwise (logs, CI)."""

    def __init__(self, total: int, stream: Any = None, width: int = 28):
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream or sys.stderr
        self.width = width
        self.t0 = time.monotonic()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def start(self, label: str) -> None:
        """Say what runs now (on a terminal only; logs get one line per finished step)."""
        if self.tty:
            self._draw(label)

    def advance(self, label: str, steps: int = 1) -> None:
        """Count ``steps`` as done and show the bar."""
        self.done = min(self.done + steps, self.total)
        self._draw(label)

    def _draw(self, label: str) -> None:
        filled = self.width * self.done // self.total
        elapsed = int(time.monotonic() - self.t0)
        line = (f"[{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{self.total} "
                f"{100 * self.done // self.total:3d}%  {elapsed // 60}:{elapsed % 60:02d}  "
                f"{label}")
        if self.tty:
            self.stream.write("\r\033[K" + line[:160])
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def emit(section: Section, json_path: str | None) -> None:
    """Print a script's section (table, then notes) and write its rows to ``json_path``."""
    print(section.markdown)
    if section.notes:
        print("\nNotes:\n" + "\n".join(f"- {n}" for n in section.notes))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(section.rows, f, indent=1, ensure_ascii=False)


def parser_for(doc: str) -> argparse.ArgumentParser:
    """A script's argument parser: the common options and ``--json PATH``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    add_options(parser)
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")
    return parser


def main_for(doc: str, run: Callable[..., Section], steps: Callable[..., int],
             argv: list[str] | None) -> int:
    """``main()`` of a script whose ``run(opts, progress)`` needs nothing else."""
    args = parser_for(doc).parse_args(argv)
    opts = options_from(args)
    emit(run(opts, Progress(steps(opts, device()["platform"]))), args.json)
    return 0
