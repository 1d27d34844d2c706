"""Reading a jaxpr for :func:`dotsum.inspect`: which equations run, and which are contractions.

*Which run.* An equation none of whose results is used (a gradient's forward product, whose
value ``jax.grad`` discards) is removed by XLA before anything runs, so it is not counted: the
walk keeps only live equations, as XLA's dead-code elimination would, through nested programs
whose results map one to one onto their equation's (``jit``, ``checkpoint``, ``custom_jvp``/
``custom_vjp``, ``cond`` branches, ``shard_map``). A loop (``scan``, ``while``) is live whole
once any of its results is used: its carries feed each other. Equations with effects are live.

*Which are contractions.* Every multiply-add, whatever carries it: a ``dot_general``; a ``mul``
whose result only a ``reduce_sum`` reads (``(x[:, :, None] * y).sum(1)``, ``jnp.sum(x * y)``:
the summed axes are contracted); and a ``mul`` of two operands that each lack some axis of the
result (an outer product: dotsum's multiply-only steps on CPU, ``jnp.outer``), with each operand
followed back through ``broadcast_in_dim``, ``transpose`` and ``convert_element_type`` to the
array it came from. A ``mul`` that scales (one operand covers the whole result) is not one.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

from jax.extend import core as jex

from dotsum._jax import jaxprs_in_params
from dotsum._lettering import letter

LOOPS = ("scan", "while")


def live(jaxpr: Any, used_out: Sequence[bool] | None = None) -> list[tuple[Any, tuple[bool, ...]]]:
    """The equations of ``jaxpr`` whose results are needed for the outputs marked in
    ``used_out`` (all, if None), in order, each with which of its own results are needed."""
    used_out = [True] * len(jaxpr.outvars) if used_out is None else list(used_out)
    needed = {v for v, u in zip(jaxpr.outvars, used_out) if u and _is_var(v)}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        used = tuple(v in needed for v in eqn.outvars)
        if eqn.effects:
            used = (True,) * len(used)
        if any(used):
            kept.append((eqn, used))
            needed.update(v for v in eqn.invars if _is_var(v))
    return kept[::-1]


def sub_used(eqn: Any, used: tuple[bool, ...], sub: Any) -> tuple[bool, ...] | None:
    """Which outputs of a nested program ``sub`` of ``eqn`` are needed: those of the
    equation's needed results, where they map one to one; all (None) for a loop."""
    if eqn.primitive.name in LOOPS or len(sub.outvars) != len(used):
        return None
    return used


def nested(eqn: Any) -> list[Any]:
    """The jaxprs an equation holds (a ``cond``'s branches, a ``jit``'s program, …)."""
    return list(jaxprs_in_params(eqn.params))


def _is_var(v: Any) -> bool:
    return not isinstance(v, jex.Literal) and type(v).__name__ != "DropVar"


class Product(NamedTuple):
    """A contraction found in a jaxpr: the equation that carries it and what it does."""

    eqn: Any  # the dot_general or mul (its name stack and traceback are the row's)
    subscripts: str
    shapes: tuple[tuple[Any, ...], tuple[Any, ...]]
    dtypes: tuple[Any, Any, Any]  # lhs, rhs, result
    flops: Any  # 2 per multiply-add, 1 per multiply where nothing is summed


def products(jaxpr: Any, kept: list[tuple[Any, tuple[bool, ...]]]) -> dict[int, Product]:
    """The contractions among the live equations ``kept`` of ``jaxpr``, by equation index in
    ``kept``: each ``dot_general``, and each ``mul`` that multiplies (module docstring)."""
    producer = {v: eqn for eqn, _ in kept for v in eqn.outvars}
    readers: dict[Any, list[Any]] = {}
    for eqn, _ in kept:
        for v in eqn.invars:
            if _is_var(v):
                readers.setdefault(v, []).append(eqn)
    for v in jaxpr.outvars:
        if _is_var(v):
            readers.setdefault(v, []).append(None)
    found = {}
    for i, (eqn, _) in enumerate(kept):
        if eqn.primitive.name == "dot_general":
            found[i] = _dot_general(eqn)
        elif eqn.primitive.name == "mul" and len(eqn.invars) == 2:
            product = _mul(eqn, producer, readers)
            if product is not None:
                found[i] = product
    return found


def _dot_general(eqn: Any) -> Product:
    lhs, rhs = (v.aval for v in eqn.invars)
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    sizes = [*lhs.shape, *(n for p, n in enumerate(rhs.shape) if p not in rc and p not in rb)]
    return Product(eqn, lettered(lhs.ndim, rhs.ndim, ((lc, rc), (lb, rb))),
                   (tuple(lhs.shape), tuple(rhs.shape)),
                   (lhs.dtype, rhs.dtype, eqn.outvars[0].aval.dtype),
                   math.prod(sizes) * (2 if lc else 1))


def _origin(v: Any, producer: dict[Any, Any]) -> tuple[Any, tuple[int | None, ...]]:
    """The array ``v`` was made from by broadcasts, transposes and casts, and for each of its
    axes the axis of ``v`` it became (None: a size-1 axis broadcast away)."""
    rank = len(v.aval.shape)
    axes: tuple[int | None, ...] = tuple(range(rank))  # axes of the current array -> of v
    while _is_var(v) and v in producer:
        eqn = producer[v]
        name = eqn.primitive.name
        if name == "convert_element_type":
            pass
        elif name == "transpose":
            perm = eqn.params["permutation"]
            axes = tuple(axes[perm.index(i)] for i in range(len(perm)))
        elif name == "broadcast_in_dim":
            source = eqn.invars[0].aval.shape
            dims = eqn.params["broadcast_dimensions"]
            out = eqn.outvars[0].aval.shape
            axes = tuple(axes[d] if source[i] == out[d] else None for i, d in enumerate(dims))
        else:
            break
        v = eqn.invars[0]
    return v, axes


def _mul(eqn: Any, producer: dict[Any, Any], readers: dict[Any, list[Any]]) -> Product | None:
    out = eqn.outvars[0]
    shape = tuple(out.aval.shape)
    sides = []
    for v in eqn.invars:
        source, axes = _origin(v, producer) if _is_var(v) else (v, ())
        if not hasattr(source, "aval") or not source.aval.shape:
            return None  # a scalar: scaling
        # an axis of the mul's own operand of size 1 is broadcast by mul itself
        own = v.aval.shape
        axes = tuple(a if a is not None and (own[a] == shape[a]) else None for a in axes)
        sides.append((source, axes))
    summed: tuple[int, ...] = ()
    users = readers.get(out, [])
    if len(users) == 1 and users[0] is not None and users[0].primitive.name == "reduce_sum":
        summed = tuple(users[0].params["axes"])
        reduce = users[0]
    covered = [{a for a in axes if a is not None} for _, axes in sides]
    nontrivial = {p for p, n in enumerate(shape) if not _is_one(n)}
    if not summed and any(nontrivial <= c for c in covered):
        return None  # scaling: one operand covers the whole result, the other is broadcast
    ids: list[tuple[Hashable, ...]] = []
    shapes = []
    for source, axes in sides:
        keep = [i for i, a in enumerate(axes) if a is not None]
        ids.append(tuple(("o", axes[i]) for i in keep))
        shapes.append(tuple(source.aval.shape[i] for i in keep))
    out_ids = tuple(("o", p) for p in range(len(shape)) if p not in summed)
    (xl, yl), ol = letter(ids, out_ids)
    result = (reduce if summed else eqn).outvars[0].aval.dtype
    flops = math.prod(shape) * (2 if summed else 1)
    return Product(eqn, f"{xl},{yl}->{ol}", (shapes[0], shapes[1]),
                   (sides[0][0].aval.dtype, sides[1][0].aval.dtype, result), flops)


def lettered(lhs_rank: int, rhs_rank: int, dimension_numbers) -> str:
    """The einsum string of a ``dot_general`` with these ranks and dimension numbers, lettered
    by dotsum's rule; its output is ``dot_general``'s: batch, lhs free, rhs free.

    >>> lettered(2, 2, (((1,), (0,)), ((), ())))
    'ak,kc->ac'
    >>> lettered(3, 3, (((2,), (1,)), ((0,), (0,))))
    'abk,ake->abe'
    """
    (lc, rc), (lb, rb) = dimension_numbers

    def ids(rank: int, contract: Sequence[int], batch: Sequence[int], side: str
            ) -> tuple[Hashable, ...]:
        return tuple(("b", batch.index(p)) if p in batch else ("k", contract.index(p))
                     if p in contract else (side, p) for p in range(rank))

    x, y = ids(lhs_rank, lc, lb, "x"), ids(rhs_rank, rc, rb, "y")
    out = tuple(("b", i) for i in range(len(lb))) + tuple(
        i for i in x if i[0] == "x") + tuple(i for i in y if i[0] == "y")
    (xl, yl), ol = letter([x, y], out)
    return f"{xl},{yl}->{ol}"


def _is_one(n: Any) -> bool:
    return isinstance(n, int) and n == 1
