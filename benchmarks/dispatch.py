"""Eager dispatch benchmark: what does ONE eager call on small inputs cost?

Question: once dotsum's plan and executor are cached, how many microseconds does an eager call of
a dotsum op on small float32 inputs take, next to its peers (``jnp.matmul``/``jnp.dot``,
``jnp.einsum``, ``lax.dot_general``, Keras 3 on JAX, tf_keras, ``tf.matmul``, NumPy), all measured
side by side in one process? The inputs are tiny, so the numbers are per-call overhead, not FLOPs.

Method (``shared/reference/PERFORMANCE.md``): every contender is warmed up (compiled, cached) and
checked against dotsum's result; each timed call waits for its result (``block_until_ready`` for
JAX, ``np.asarray`` for TensorFlow); contenders are interleaved in rounds (A B C, B C A, …) with
the garbage collector off; the figure is the median over rounds of the mean µs per call within a
round. Ratios are to ``jnp.matmul`` (``jnp.dot`` for ``K.dot`` cases), the dispatch baseline.
The project's target, dotsum ≤ 1.5× the baseline, is printed, never asserted.

Run::

    python benchmarks/dispatch.py              # full run
    python benchmarks/dispatch.py --quick      # fewer rounds (well under a minute)
    python benchmarks/dispatch.py --json out.json

Optional frameworks (keras, tf_keras, tensorflow) are skipped with a note when missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

from dotsum import keras as K  # noqa: E402
from dotsum import ops  # noqa: E402
from dotsum import tf as dtf  # noqa: E402

DTYPE = np.float32
TARGET = 1.5  # dotsum / baseline, the project's eager-dispatch target
EINSUM_TARGET = 10  # jnp.einsum / dotsum ops.einsum, the einsum dispatch target
METRIC = "eager_dispatch"


@dataclasses.dataclass(frozen=True)
class Case:
    """One product call: a dotsum op, its operand shapes, and which peers compute the same."""

    name: str
    kind: str  # "batch_dot" | "dot" | "matmul" | "einsum"
    op: Callable[..., Any]
    x_shape: tuple[int, ...]
    y_shape: tuple[int, ...]
    subscripts: str = ""  # einsum cases only

    @property
    def plan(self):
        if self.kind == "einsum":
            return ops.einsum.plan(self.subscripts, self.x_shape, self.y_shape)
        return self.op.plan(self.x_shape, self.y_shape)

    @property
    def baseline(self) -> str:
        return "jnp.dot" if self.kind == "dot" else "jnp.matmul"


CASES = (
    Case("K.batch_dot (8,4,5)·(8,5,3)", "batch_dot", K.batch_dot, (8, 4, 5), (8, 5, 3)),
    Case("K.dot (4,5)·(5,3)", "dot", K.dot, (4, 5), (5, 3)),
    Case("K.dot (2,3,4)·(7,4,5)", "dot", K.dot, (2, 3, 4), (7, 4, 5)),
    Case("tf.matmul (8,4,5)·(8,5,3)", "matmul", dtf.matmul, (8, 4, 5), (8, 5, 3)),
    Case("ops.einsum 'bij,bjk->bik' (8,4,5)·(8,5,3)", "einsum",
         functools.partial(ops.einsum, "bij,bjk->bik"), (8, 4, 5), (8, 5, 3), "bij,bjk->bik"),
    Case("ops.einsum 'bqhd,bkhd->bhqk' (2,4,2,8)·(2,4,2,8)", "einsum",
         functools.partial(ops.einsum, "bqhd,bkhd->bhqk"), (2, 4, 2, 8), (2, 4, 2, 8),
         "bqhd,bkhd->bhqk"),
)


@dataclasses.dataclass(frozen=True)
class Inputs:
    """The same values as NumPy, JAX and (when installed) TensorFlow arrays."""

    np: tuple[np.ndarray, np.ndarray]
    jax: tuple[jax.Array, jax.Array]
    tf: tuple[Any, Any] | None


# -- optional frameworks -------------------------------------------------------------------------
def import_optional(notes: list[str]) -> dict[str, Any]:
    """Import keras (on JAX), tf_keras and tensorflow where installed; note what is skipped."""
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
    try:
        import tensorflow as tf

        mods["tf"] = tf
    except ImportError as e:
        notes.append(f"tensorflow skipped: not installed ({e})")
    try:
        import tf_keras

        mods["tf_keras"] = tf_keras
    except ImportError as e:
        notes.append(f"tf_keras skipped: not installed ({e})")
    return mods


def make_inputs(case: Case, mods: dict[str, Any], seed: int = 0) -> Inputs:
    rng = np.random.default_rng(seed)
    xn = rng.standard_normal(case.x_shape).astype(DTYPE)
    yn = rng.standard_normal(case.y_shape).astype(DTYPE)
    xj, yj = jax.block_until_ready((jnp.asarray(xn), jnp.asarray(yn)))
    tf = mods.get("tf")
    xt = (tf.constant(xn), tf.constant(yn)) if tf is not None else None
    return Inputs((xn, yn), (xj, yj), xt)


# -- contenders: name -> zero-argument callable returning a finished result -----------------------
def jax_contenders(case: Case, inp: Inputs) -> dict[str, Callable[[], Any]]:
    x, y = inp.jax
    plan = case.plan
    base = jnp.dot if case.kind == "dot" else jnp.matmul
    out = {
        f"dotsum {case.name.split(' ')[0]}": lambda: case.op(x, y).block_until_ready(),
        case.baseline: lambda: base(x, y).block_until_ready(),
    }
    plain = not any(o.reshaped or o.conj for o in plan.operands) and (
        plan.einsum_out_shape == plan.out_shape)
    if plain:
        subs = case.subscripts or plan.subscripts
        out[f"jnp.einsum '{subs}'"] = lambda: jnp.einsum(subs, x, y).block_until_ready()
    low = plan.lowering
    if plain and low.transpose is None and len(low.contractions) == 1 and not any(
            p.sum_axes or p.diagonals for p in low.prepare):
        (step,) = low.contractions
        lhs, rhs = (x, y)[step.lhs], (x, y)[step.rhs]
        dims = step.dimension_numbers
        out["lax.dot_general"] = lambda: lax.dot_general(lhs, rhs, dims).block_until_ready()
    return out


def keras_contenders(case: Case, inp: Inputs, mods: dict[str, Any]) -> dict[str, Callable]:
    keras = mods.get("keras")
    if keras is None:
        return {}
    x, y = inp.jax
    out: dict[str, Callable] = {}
    if case.kind == "dot":
        out["keras.ops.dot"] = lambda: keras.ops.dot(x, y).block_until_ready()
    elif case.kind == "einsum":
        subs = case.subscripts
        out["keras.ops.einsum"] = lambda: keras.ops.einsum(subs, x, y).block_until_ready()
    else:
        out["keras.ops.matmul"] = lambda: keras.ops.matmul(x, y).block_until_ready()
    if case.kind == "batch_dot":
        axes = dict(case.plan.params)["axes"]
        layer = keras.layers.Dot(axes=axes)
        out[f"keras.layers.Dot(axes={axes})"] = lambda: layer([x, y]).block_until_ready()
    return out


def tf_contenders(case: Case, inp: Inputs, mods: dict[str, Any]) -> dict[str, Callable]:
    if inp.tf is None:
        return {}
    x, y = inp.tf
    out: dict[str, Callable] = {}
    tfk = mods.get("tf_keras")
    if tfk is not None and case.kind == "batch_dot":
        out["tf_keras K.batch_dot"] = lambda: np.asarray(tfk.backend.batch_dot(x, y))
    if tfk is not None and case.kind == "dot":
        out["tf_keras K.dot"] = lambda: np.asarray(tfk.backend.dot(x, y))
    tf = mods["tf"]
    if case.kind == "einsum":
        out["tf.einsum"] = lambda: np.asarray(tf.einsum(case.subscripts, x, y))
    elif case.kind != "dot" or len(case.x_shape) == len(case.y_shape) == 2:
        out["tf.matmul"] = lambda: np.asarray(tf.matmul(x, y))
    return out


def numpy_contenders(case: Case, inp: Inputs) -> dict[str, Callable]:
    x, y = inp.np
    if case.kind == "dot":
        return {"np.dot": lambda: np.dot(x, y)}
    if case.kind == "einsum":
        return {"np.einsum": lambda: np.einsum(case.subscripts, x, y)}
    return {"np.matmul": lambda: np.matmul(x, y)}


def contenders_for(case: Case, inp: Inputs, mods: dict[str, Any]) -> dict[str, Callable]:
    return {
        **jax_contenders(case, inp),
        **keras_contenders(case, inp, mods),
        **tf_contenders(case, inp, mods),
        **numpy_contenders(case, inp),
    }


# -- measurement ----------------------------------------------------------------------------------
def warm_up(case: Case, fns: dict[str, Callable], calls: int, notes: list[str]) -> dict:
    """Call every contender ``calls`` times; drop (with a note) any that fails or disagrees with
    dotsum's result, so the table only compares equal computations."""
    reference = np.asarray(next(iter(fns.values()))())
    kept = {}
    for name, fn in fns.items():
        try:
            for _ in range(calls):
                got = np.asarray(fn())
        except Exception as e:  # noqa: BLE001 - a peer failing is a note, not a crash
            notes.append(f"{case.name}: {name} skipped: {type(e).__name__}: {e}".split("\n")[0])
            continue
        if got.shape != reference.shape or not np.allclose(got, reference, rtol=1e-4, atol=1e-5):
            notes.append(f"{case.name}: {name} skipped: result {got.shape} differs from "
                         f"dotsum's {reference.shape}")
            continue
        kept[name] = fn
    return kept


def time_interleaved(fns: dict[str, Callable], rounds: int, inner: int,
                     seed: int = 0) -> dict[str, float]:
    """Median over rounds of the mean µs per call of ``inner`` back-to-back calls.

    Each round runs every contender once, in a freshly shuffled order, so that no contender
    always follows the same neighbour; one untimed call before each timed batch takes the
    cold-cache cost of switching contenders out of the figure (steady-state dispatch)."""
    names = list(fns)
    samples: dict[str, list[float]] = {n: [] for n in names}
    order = random.Random(seed)
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            order.shuffle(names)
            for name in names:
                fn = fns[name]
                fn()
                t0 = time.perf_counter_ns()
                for _ in range(inner):
                    fn()
                samples[name].append((time.perf_counter_ns() - t0) / inner / 1e3)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {n: statistics.median(samples[n]) for n in fns}


# -- reporting ------------------------------------------------------------------------------------
def header(mods: dict[str, Any], rounds: int, inner: int) -> str:
    versions = [f"jax {jax.__version__}", f"numpy {np.__version__}"]
    versions += [f"{name} {mods[name].__version__}" for name in ("keras", "tf_keras", "tf")
                 if name in mods]
    dev = jax.devices()[0]
    return "\n".join([
        "# Eager dispatch: µs per call on small inputs, plan cached",
        "",
        f"- versions: {', '.join(versions)}; python {sys.version.split()[0]}",
        f"- device: {dev} ({dev.device_kind}); dtype: {np.dtype(DTYPE).name}",
        f"- method: warm-up, result awaited per call, interleaved; {rounds} rounds × {inner} "
        "calls, median of per-round means",
    ])


def table(results: list[tuple[Case, dict[str, float]]]) -> str:
    lines = ["| case | contender | µs/call (median) | ratio vs jnp.matmul† |",
             "|---|---|---:|---:|"]
    for case, times in results:
        base = times.get(case.baseline)
        for name, us in times.items():
            ratio = f"{us / base:.2f}" if base else "n/a"
            lines.append(f"| {case.name} | {name} | {us:.1f} | {ratio} |")
    lines.append("")
    lines.append("† the baseline is jnp.matmul, or jnp.dot for K.dot cases (numpy.dot semantics)")
    return "\n".join(lines)


def verdicts(results: list[tuple[Case, dict[str, float]]]) -> str:
    lines = [f"dotsum vs baseline (target ≤ {TARGET}×; reported, not enforced):"]
    for case, times in results:
        dotsum = next(us for name, us in times.items() if name.startswith("dotsum"))
        einsum = next((us for name, us in times.items() if name.startswith("jnp.einsum")), None)
        if case.kind == "einsum" and einsum:
            speedup = einsum / dotsum
            lines.append(f"- {case.name}: jnp.einsum / dotsum = {speedup:.1f}x faster "
                         f"(target ≥ {EINSUM_TARGET}×: {speedup >= EINSUM_TARGET})")
        base = times.get(case.baseline)
        if not base:
            if case.kind != "einsum":
                lines.append(f"- {case.name}: baseline {case.baseline} missing")
            continue
        ratio = dotsum / base
        mark = "meets target" if ratio <= TARGET else "ABOVE target"
        lines.append(f"- {case.name}: dotsum / {case.baseline} = {ratio:.2f} "
                     f"(≤ {TARGET}: {ratio <= TARGET}; {mark})")
    return "\n".join(lines)


def json_rows(results: list[tuple[Case, dict[str, float]]]) -> list[dict[str, Any]]:
    return [
        {"case": case.name, "contender": name, "metric": METRIC, "value": round(us, 3),
         "unit": "us"}
        for case, times in results
        for name, us in times.items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (CI smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    args = parser.parse_args(argv)
    rounds = args.rounds or (60 if args.quick else 300)
    inner = 10 if args.quick else 20
    warm = 5 if args.quick else 20

    notes: list[str] = []
    mods = import_optional(notes)
    results = []
    for case in CASES:
        inp = make_inputs(case, mods)
        fns = warm_up(case, contenders_for(case, inp, mods), warm, notes)
        results.append((case, time_interleaved(fns, rounds, inner)))

    print(header(mods, rounds, inner))
    print()
    print(table(results))
    print()
    print(verdicts(results))
    if notes:
        print()
        print("Notes:")
        print("\n".join(f"- {n}" for n in notes))
    if args.json:
        rows = json_rows(results)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"\nwrote {len(rows)} rows to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
