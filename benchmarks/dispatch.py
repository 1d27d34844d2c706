"""Eager dispatch benchmark: what does ONE eager call on small inputs cost?

Question: once dotsum's plan and executor are cached, how many microseconds does an eager call of
a dotsum op on small float32 inputs take, next to its peers (``jnp.matmul``/``jnp.dot``,
``jnp.einsum``, ``lax.dot_general``, Keras 3 on JAX, tf_keras, ``tf.matmul``, NumPy), all measured
side by side in one process? The inputs are tiny, so the numbers are per-call overhead, not FLOPs.

Method: every contender is warmed up (compiled, cached) and
checked against dotsum's result; each timed call waits for its result (``block_until_ready`` for
JAX, ``np.asarray`` for TensorFlow); contenders are interleaved in rounds (A B C, B C A, …) with
the garbage collector off; the figure is the median over rounds of the mean µs per call within a
round. Ratios are to ``jnp.matmul`` (``jnp.dot`` for ``K.dot`` cases), the dispatch baseline;
the floor is ``dotsum executor (floor)``, the plan's pre-jitted executor called directly (what
an eager call costs with no dotsum Python in front of it); dotsum ÷ floor, the floor verdict,
is measured again with the two alone in alternation (``floor_ratio``).
The project's targets (``common.DISPATCH_TARGET`` and friends) are judged by ``report.py``
and printed, never asserted.

Run::

    python benchmarks/dispatch.py              # full run
    python benchmarks/dispatch.py --quick      # fewer rounds (well under a minute)
    python benchmarks/dispatch.py --json out.json
    python benchmarks/run.py --only dispatch --quick --out DIR   # the same, with the suite's files

Optional frameworks (keras, tf_keras, tensorflow) are skipped with a note when missing.
``run(opts, progress, mods)`` returns the rows and Markdown for ``run.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable
from typing import Any

import common  # first: sets KERAS_BACKEND and OPENBLAS_THREAD_TIMEOUT
import jax
import jax.numpy as jnp
import numpy as np
import report
from cases import bare_dot_general, plain_subscripts

from dotsum import keras as K
from dotsum import lax as dlax
from dotsum import numpy as dnp
from dotsum import ops
from dotsum import tf as dtf
from dotsum._lower import executor

DTYPE = np.float32
METRIC = "eager_dispatch"
BATCHED = (((2,), (1,)), ((0,), (0,)))  # lax.dot_general's batched matmul
EXECUTOR = "dotsum executor (floor)"


@dataclasses.dataclass(frozen=True)
class Case:
    """One product call: a dotsum op, its operand shapes, and which peers compute the same."""

    name: str
    kind: str  # "batch_dot" | "dot" | "matmul" | "einsum"
    op: Callable[..., Any]
    x_shape: tuple[int, ...]
    y_shape: tuple[int, ...]
    subscripts: str = ""  # einsum cases only
    planner: Callable[..., Any] | None = None  # the op's .plan, where ``op`` is a partial

    @property
    def plan(self):
        if self.planner is not None:
            return self.planner(self.x_shape, self.y_shape)
        if self.kind == "einsum":
            return ops.einsum.plan(self.subscripts, self.x_shape, self.y_shape)
        return self.op.plan(self.x_shape, self.y_shape)

    @property
    def baseline(self) -> str:
        return "jnp.dot" if self.kind == "dot" else "jnp.matmul"


CASES = (
    Case("K.batch_dot (8,4,5)·(8,5,3)", "batch_dot", K.batch_dot, (8, 4, 5), (8, 5, 3)),
    Case("K.batch_dot (10,12,4,5)·(10,12,5,8)", "batch_dot", K.batch_dot, (10, 12, 4, 5),
         (10, 12, 5, 8)),
    Case("K.dot (4,5)·(5,3)", "dot", K.dot, (4, 5), (5, 3)),
    Case("K.dot (2,3,4)·(7,4,5)", "dot", K.dot, (2, 3, 4), (7, 4, 5)),
    Case("tf.matmul (8,4,5)·(8,5,3)", "matmul", dtf.matmul, (8, 4, 5), (8, 5, 3)),
    Case("ops.einsum 'bij,bjk->bik' (8,4,5)·(8,5,3)", "einsum",
         functools.partial(ops.einsum, "bij,bjk->bik"), (8, 4, 5), (8, 5, 3), "bij,bjk->bik"),
    Case("ops.einsum 'bqhd,bkhd->bhqk' (2,4,2,8)·(2,4,2,8)", "einsum",
         functools.partial(ops.einsum, "bqhd,bkhd->bhqk"), (2, 4, 2, 8), (2, 4, 2, 8),
         "bqhd,bkhd->bhqk"),
    Case("numpy.matmul (8,4,5)·(8,5,3)", "matmul", dnp.matmul, (8, 4, 5), (8, 5, 3)),
    Case("numpy.einsum 'bij,bjk->bik' (8,4,5)·(8,5,3)", "einsum",
         functools.partial(dnp.einsum, "bij,bjk->bik"), (8, 4, 5), (8, 5, 3), "bij,bjk->bik",
         functools.partial(dnp.einsum.plan, "bij,bjk->bik")),
    Case("lax.dot_general (8,4,5)·(8,5,3)", "matmul",
         functools.partial(dlax.dot_general, dimension_numbers=BATCHED), (8, 4, 5), (8, 5, 3),
         planner=functools.partial(dlax.dot_general.plan, dimension_numbers=BATCHED)),
)


@dataclasses.dataclass(frozen=True)
class Inputs:
    """The same values as NumPy, JAX and (when installed) TensorFlow arrays."""

    np: tuple[np.ndarray, np.ndarray]
    jax: tuple[jax.Array, jax.Array]
    tf: tuple[Any, Any] | None


# -- inputs ---------------------------------------------------------------------------------------
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
    floor = executor(plan)  # the plan's pre-jitted executor, called directly: the floor
    out = {
        "dotsum": lambda: case.op(x, y).block_until_ready(),
        EXECUTOR: lambda: floor(x, y).block_until_ready(),
        case.baseline: lambda: base(x, y).block_until_ready(),
    }
    subs = case.subscripts or plain_subscripts(plan)
    if subs:
        out[f"jnp.einsum '{subs}'"] = lambda: jnp.einsum(subs, x, y).block_until_ready()
    dot_general = bare_dot_general(plan, None)
    if dot_general:
        out["lax.dot_general"] = lambda: dot_general(x, y).block_until_ready()
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
        out["keras Dot layer"] = lambda: layer([x, y]).block_until_ready()
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


def floor_ratio(fns: dict[str, Callable], rounds: int, inner: int) -> float | None:
    """dotsum's time over the floor's, the two timed in alternation (floor, dotsum, floor, …;
    ``common.time_paired``), each dotsum batch over the mean of the floor batches around it.

    The interleaved medians above put every contender after a random neighbour; after one
    whose program ran on XLA:CPU's worker threads (1,000 FLOPs or more) or TensorFlow's, the
    next batch often pays microseconds for threads still spinning, which on a 10 µs call moved
    the dotsum ÷ floor median by ±20% between runs. Alternating the two alone, both after the
    same neighbour, leaves only what dotsum adds."""
    if "dotsum" not in fns or EXECUTOR not in fns:
        return None
    pair = {EXECUTOR: fns[EXECUTOR], "dotsum": fns["dotsum"]}
    return common.time_paired(pair, EXECUTOR, rounds, inner)[1]["dotsum"]


# -- reporting ------------------------------------------------------------------------------------
def header(mods: dict[str, Any], rounds: int, inner: int, opts: common.Options,
           dev: dict[str, str]) -> str:
    return "\n".join([
        "## Eager dispatch: µs per call on small inputs, plan cached",
        "",
        f"- versions: {common.versions(mods)}",
        common.settings_line(opts, dev),
        f"- method: warm-up, result awaited per call, interleaved; {rounds} rounds × {inner} "
        "calls, median of per-round means",
    ])


def table(results: list[tuple[Case, dict[str, float], float | None]]) -> str:
    lines = ["| case | contender | µs/call (median) | ratio vs jnp.matmul† | ÷ dotsum |",
             "|---|---|---:|---:|---:|"]
    for case, times, _ in results:
        base = times.get(case.baseline)
        mine = times["dotsum"]
        for name, us in times.items():
            ratio = f"{us / base:.2f}" if base else "n/a"
            lines.append(f"| {case.name} | {name} | {us:.1f} | {ratio} | {us / mine:.1f} |")
    lines.append("")
    lines.append("† the baseline is jnp.matmul, or jnp.dot for K.dot cases (numpy.dot semantics)")
    return "\n".join(lines)


def floor_table(results: list[tuple[Case, dict[str, float], float | None]]) -> str:
    lines = ["dotsum ÷ its pre-jitted executor, the two alone in alternation (the floor verdict):",
             "", "| case | dotsum ÷ floor (paired) | the medians above |", "|---|---:|---:|"]
    for case, times, paired in results:
        if paired is not None:
            medians = times["dotsum"] / times[EXECUTOR]
            lines.append(f"| {case.name} | {paired:.3f} | {medians:.3f} |")
    return "\n".join(lines)


def json_rows(results: list[tuple[Case, dict[str, float], float | None]], opts: common.Options,
              dev: dict[str, str]) -> list[dict[str, Any]]:
    return [
        common.row(case.name, name, METRIC, us, "us", opts, dev, kind=case.kind,
                   baseline=case.baseline,
                   **({"floor_ratio": round(paired, 4)} if name == "dotsum" and paired else {}))
        for case, times, paired in results
        for name, us in times.items()
    ]


def steps(opts: common.Options, platform: str = "") -> int:
    return len(CASES)


def run(opts: common.Options, progress: common.Progress | None = None,
        mods: dict[str, Any] | None = None, rounds: int | None = None) -> common.Section:
    """Measure every case; float32 whatever ``opts.dtype`` says (NumPy and TF need it)."""
    opts = dataclasses.replace(opts, dtype="f32")
    rounds = rounds or (60 if opts.quick else 300)
    inner = 10 if opts.quick else 20
    warm = 5 if opts.quick else 20
    notes: list[str] = []
    mods = mods if mods is not None else common.import_optional(notes)
    common.configure(opts)
    dev = common.device()
    results = []
    for case in CASES:
        if progress:
            progress.start(f"dispatch: {case.name}")
        inp = make_inputs(case, mods)
        fns = warm_up(case, contenders_for(case, inp, mods), warm, notes)
        times = common.time_interleaved(fns, rounds, inner)
        results.append((case, times, floor_ratio(fns, rounds, inner)))
        if progress:
            progress.advance(f"dispatch: {case.name}")
    rows = json_rows(results, opts, dev)
    judged = [v for v in report.verdicts(rows) if v.met is not None]  # the eager targets
    text = "\n\n".join([header(mods, rounds, inner, opts, dev), table(results),
                         floor_table(results), report.targets_markdown(judged)])
    return common.Section("dispatch", rows, text, notes)


def main(argv: list[str] | None = None) -> int:
    parser = common.parser_for(__doc__)
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    args = parser.parse_args(argv)
    opts = common.options_from(args)
    common.emit(run(opts, common.Progress(len(CASES)), rounds=args.rounds), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
