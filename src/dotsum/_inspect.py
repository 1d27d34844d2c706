"""``dotsum.inspect``: every contraction a JAX function runs, as einsum strings.

The function is traced, not run (``jax.make_jaxpr``); every contraction in the jaxpr that XLA
would keep (``_jaxpr``: a ``dot_general``, a ``mul`` summed by ``reduce_sum``, an outer-product
``mul``; dead code is dropped) — from jnp, lax, ``@``, Flax, Equinox or dotsum — becomes a row,
found also inside ``jit``, ``custom_jvp``/``custom_vjp``, ``checkpoint``, ``scan`` (counted
``length`` times), ``while`` (counted once: the trip count is unknown), ``cond``/``switch``
(each branch, marked) and ``shard_map``; a gradient's own products are in its jaxpr like any
other, marked ``backward``. Of a ``lax.platform_dependent`` (a dotsum executor holds one where
CPU and GPU/TPU layouts differ) only the branch of this machine's platform counts. Each row is
lettered by dotsum's rule (``docs/design.md``), so ``x @ w`` of ``(8, 512)`` by ``(512, 64)``
reads ``ak,kc->ac``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any

import jax
from jax.extend import core as jex

from dotsum._jax import user_frames
from dotsum._jaxpr import Product, live, nested, products, sub_used
from dotsum._layout import current_platform
from dotsum._origin import origin
from dotsum._plan import Plan
from dotsum._symbolic import count, hint


@dataclasses.dataclass(frozen=True)
class Row:
    """One contraction (or a group of identical ones) of an inspected function."""

    subscripts: str  # lettered by dotsum's rule: batch, then lhs free, then rhs free
    shapes: tuple[tuple[int, ...], tuple[int, ...]]
    dtype: str  # the operands' dtype(s) -> the result's, e.g. "bfloat16->float32"
    flops: int  # per execution: 2 per multiply-add (1 per multiply if nothing is summed)
    count: int  # executions per call of the function (scan lengths multiplied in)
    source: str  # "file.py:12 (function)", the user's line that produced it
    op: str | None = None  # the dotsum op whose executor emitted it (a gradient's products too)
    plan: Plan | None = None  # ... and that executor's plan
    notes: tuple[str, ...] = ()  # "while loop: trip count unknown, counted once", "cond ..."

    @property
    def total_flops(self) -> int:
        return self.flops * self.count


@dataclasses.dataclass(frozen=True)
class Report:
    """What :func:`inspect` found: ``rows`` sorted by total FLOPs, largest first."""

    rows: tuple[Row, ...]

    @property
    def total_flops(self) -> int:
        """FLOPs of one call, every contraction and repetition counted (every branch of a
        ``cond`` as if taken, a ``while`` body once)."""
        return sum(r.total_flops for r in self.rows)

    def share(self, row: Row) -> float:
        """``row``'s share of the FLOPs; with symbolic sizes, at each symbol = ``HINT`` (1024)."""
        total = hint(self.total_flops)
        return hint(row.total_flops) / total if total else 0.0

    def __str__(self) -> str:
        header = ("share", "flops", "count", "einsum", "shapes", "dtype", "source")
        table = [header]
        for r in self.rows:
            source = r.source + (f" [{r.op}]" if r.op else "")
            source += "".join(f" ({note})" for note in r.notes)
            table.append((f"{self.share(r):.1%}", count(r.total_flops), str(r.count),
                          r.subscripts, " x ".join(str(s) for s in r.shapes), r.dtype, source))
        widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
        lines = ["  ".join(cell.ljust(w) if i >= 3 else cell.rjust(w)
                           for i, (cell, w) in enumerate(zip(line, widths))) + "  " + line[-1]
                 for line in table]
        lines.append(f"total {count(self.total_flops)} flops in {sum(r.count for r in self.rows)} "
                     f"contractions ({len(self.rows)} distinct)")
        return "\n".join(line.rstrip() for line in lines)

    def roofline(self, device: Any, dtype: Any = None, *, precision: Any = None) -> Any:
        """Every row on ``device`` (a name of :mod:`dotsum.devices`), its operands of ``dtype``
        (default: each row's own), tile padding included: each row's ideal time, share of the
        call, utilisation after padding and the axis to grow or fold (a
        :class:`~dotsum._roofline.ReportRoofline`; rules and sources in ``dotsum._roofline``).

        >>> import jax, jax.numpy as jnp, dotsum
        >>> from dotsum import keras as K
        >>> x = jax.ShapeDtypeStruct((10, 12, 4, 5), jnp.bfloat16)
        >>> y = jax.ShapeDtypeStruct((10, 12, 5, 8), jnp.bfloat16)
        >>> report = dotsum.inspect(lambda x, y: K.batch_dot(x, y, legacy=True), x, y)
        >>> (cost,) = report.roofline("tpu-v5e").rows
        >>> f"{cost.utilisation:.2%}", cost.advice
        ('0.12%', 'k: 5 of 128 (4%); grow it or fold into it')
        """
        from dotsum._roofline import roofline

        return roofline(self, device, dtype, precision=precision)

    def plot(self, path: str | os.PathLike, *, top: int = 20) -> None:
        """A horizontal bar chart of the ``top`` rows' FLOP shares, saved to ``path``
        (needs matplotlib: ``pip install 'dotsum[plot]'``)."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("Report.plot needs matplotlib: pip install 'dotsum[plot]'") from e
        rows = self.rows[:top]
        fig, ax = plt.subplots(figsize=(8, 0.4 * len(rows) + 1.2))
        labels = [f"{r.subscripts}  {' x '.join(map(str, r.shapes))}" for r in rows]
        ax.barh(range(len(rows)), [100 * self.share(r) for r in rows])
        ax.set_yticks(range(len(rows)), labels, fontsize=8, family="monospace")
        ax.invert_yaxis()
        ax.set_xlabel("share of FLOPs (%)")
        ax.set_title(f"{count(self.total_flops)} FLOPs per call")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)


def backward(plan: Plan, dtype: Any = "float32") -> Report:
    """``plan.grad()``: the backward contractions of ``jax.vjp`` through the plan's executor,
    traced (not run) for operands of ``dtype``."""
    import jax.numpy as jnp

    from dotsum._lower import executor

    def cotangents(*operands):
        out, vjp = jax.vjp(executor(plan), *operands)
        return vjp(jnp.ones(out.shape, out.dtype))

    specs = [jax.ShapeDtypeStruct(o.shape, dtype) for o in plan.operands]
    return Report(tuple(r for r in inspect(cotangents, *specs).rows if "backward" in r.notes))


def inspect(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Report:
    """Every contraction ``fn(*args, **kwargs)`` runs, traced without running it.

    ``args`` and ``kwargs`` may be arrays, ``jax.ShapeDtypeStruct``\\ s or pytrees of them (a
    Flax NNX module's state, say). Identical contractions from the same line are grouped.

    >>> import jax, jax.numpy as jnp
    >>> from dotsum import inspect
    >>> x = jax.ShapeDtypeStruct((8, 512), jnp.float32)
    >>> w = jax.ShapeDtypeStruct((512, 64), jnp.float32)
    >>> report = inspect(lambda x, w: jnp.tanh(x @ w) @ w.T, x, w)
    >>> [(r.subscripts, r.shapes, r.flops) for r in report.rows]
    [('ak,kc->ac', ((8, 512), (512, 64)), 524288), ('ak,kc->ac', ((8, 64), (64, 512)), 524288)]
    """
    try:
        closed = jax.make_jaxpr(fn)(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"dotsum.inspect: cannot trace {getattr(fn, '__name__', fn)!r} with "
                        f"these arguments: {str(e).splitlines()[0]}") from None
    found: list[Row] = []
    _walk(closed.jaxpr, 1, (), found)
    groups: dict[tuple, Row] = {}
    for row in found:
        key = dataclasses.replace(row, count=0)
        known = groups.get(key)
        groups[key] = row if known is None else dataclasses.replace(
            known, count=known.count + row.count)
    rows = sorted(groups.values(), key=lambda r: -hint(r.total_flops))  # symbols count as large
    return Report(tuple(rows))


def _walk(jaxpr: jex.Jaxpr, count: int, notes: tuple[str, ...], found: list[Row],
          scope: str = "", outer: tuple[Any, ...] = (),
          used: Sequence[bool] | None = None) -> None:
    """``scope``: the name stack outside ``jaxpr``; ``outer``: the equations that hold it,
    outermost first; ``used``: which of its outputs are needed (None: all). A nested program's
    equations (a ``jit``'s, a ``scan`` body's, a ``cond`` branch's) carry name stacks that
    start afresh and tracebacks that may end at the nested program, so each nested walk gets
    the enclosing equation's stack in front and its traceback behind: a gradient's
    ``transpose(...)``, a dotsum executor's scope and the user's line reach every depth,
    whether or not this JAX inlined the program. Only live equations count (``_jaxpr``)."""
    kept = live(jaxpr, used)
    found_here = products(jaxpr, kept)
    for i, (eqn, eqn_used) in enumerate(kept):
        name = eqn.primitive.name
        inner = f"{scope}{eqn.source_info.name_stack}/"
        within = (*outer, eqn)
        if i in found_here:
            found.append(_row(found_here[i], count, notes, scope, outer))
        elif name == "scan":
            _walk(eqn.params["jaxpr"].jaxpr, count * eqn.params["length"], notes, found, inner,
                  within)
        elif name == "while":
            note = "while loop: trip count unknown, counted once"
            for key in ("cond_jaxpr", "body_jaxpr"):
                _walk(eqn.params[key].jaxpr, count, (*notes, note), found, inner, within)
        elif name == "cond" and eqn.params.get("branches_platforms") is not None:
            # lax.platform_dependent (a dotsum executor's per-platform layouts): only the
            # branch of the platform it runs on here is ever compiled
            _walk(_platform_branch(eqn.params).jaxpr, count, notes, found, inner, within,
                  eqn_used)
        elif name == "cond":
            branches = eqn.params["branches"]
            for k, branch in enumerate(branches):
                _walk(branch.jaxpr, count, (*notes, f"cond branch {k} of {len(branches)}"),
                      found, inner, within, eqn_used)
        else:  # jit, custom_jvp/vjp, checkpoint, shard_map, ...: once per execution
            for sub in nested(eqn):
                _walk(sub, count, notes, found, inner, within, sub_used(eqn, eqn_used, sub))


def _platform_branch(params: dict[str, Any]):
    platform = current_platform()
    for branch, platforms in zip(params["branches"], params["branches_platforms"]):
        if platforms is None or platform in platforms:
            return branch
    raise ValueError(f"dotsum.inspect: no branch of lax.platform_dependent for {platform!r}")


def _row(product: Product, count: int, notes: tuple[str, ...], scope: str = "",
         outer: tuple[Any, ...] = ()) -> Row:
    eqn = product.eqn
    lhs, rhs, out = (str(d) for d in product.dtypes)
    dtypes = [lhs] if lhs == rhs else [lhs, rhs]
    dtype = ",".join(dtypes) + ("" if out == dtypes[0] and len(dtypes) == 1 else f"->{out}")
    name_stack = scope + str(eqn.source_info.name_stack)
    op, plan = origin(name_stack)
    if "rematted_computation" in name_stack:  # a checkpointed forward product, run again
        notes = (*notes, "recomputed")
    elif "transpose(" in name_stack:  # JAX's transpose rule wrote it: a gradient's product
        notes = (*notes, "backward")
    return Row(product.subscripts, product.shapes, dtype, product.flops, count,
               _source((*outer, eqn)), op, plan, notes)


def _source(eqns: Sequence[Any]) -> str:
    """``path:line (function)`` of the innermost frame in the user's code: not JAX, not
    dotsum, and not an installed package (Flax's ``Linear`` shows the line that called it).
    ``eqns``: the row's equation last, after those that hold it, whose frames are read next
    (a nested program's traceback may end where it was traced)."""
    frames = [f for eqn in reversed(eqns) for f in user_frames(eqn.source_info.traceback)
              if not f.file_name.startswith(_PACKAGE)]
    own = [f for f in frames if not _installed(f.file_name)]
    frame = (own or frames or [None])[0]
    if frame is None:
        return "?"
    path = frame.file_name
    try:
        relative = os.path.relpath(path)
        path = relative if not relative.startswith("..") else path
    except ValueError:  # another drive
        pass
    return f"{path}:{frame.line} ({frame.function_name.rpartition('.')[2]})"


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _installed(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return "site-packages" in parts or "dist-packages" in parts
