"""Lowering: a plan becomes ``lax.dot_general`` calls (plus free reshapes), jitted once per plan.

Per operand, first what one operand can do alone: take diagonals of repeated labels
(``ii->i``) and sum labels no one else needs. Then one ``dot_general`` per step of the plan's
contraction path, then at most one transpose into the output order.

``dot_general`` returns axes in the order ``batch…, lhs_free…, rhs_free…``. In the last
contraction we order the batch dimensions as the output wants them and, when the output lists the
second operand's free axes first, swap the operands, so that canonical products need no transpose.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from jax import lax

if TYPE_CHECKING:
    from dotsum._plan import Plan

EXECUTOR_CACHE_SIZE = 4096

DimensionNumbers = tuple[tuple[tuple[int, ...], tuple[int, ...]],
                         tuple[tuple[int, ...], tuple[int, ...]]]


@dataclasses.dataclass(frozen=True)
class Prepare:
    """What one operand does alone: diagonals of repeated labels, then sums."""

    diagonals: tuple[tuple[int, int], ...]  # axis pairs; each diagonal moves to the last axis
    sum_axes: tuple[int, ...]
    labels: str  # the labels afterwards


@dataclasses.dataclass(frozen=True)
class Contraction:
    """One ``dot_general``: operands ``lhs`` and ``rhs`` of the current list are removed and the
    result (labelled ``labels``) is appended, as in opt_einsum's paths."""

    lhs: int
    rhs: int
    dimension_numbers: DimensionNumbers
    labels: str


@dataclasses.dataclass(frozen=True)
class Lowering:
    """The XLA-level recipe of a plan."""

    prepare: tuple[Prepare, ...]
    contractions: tuple[Contraction, ...]
    transpose: tuple[int, ...] | None  # permutation of the last result, if not identity

    def describe(self, names: Sequence[str] | None = None) -> str:
        """One line: ``dot_general(x, y, contract=(2,)x(2,), batch=()x())`` and friends."""
        if names is None:
            names = ("x", "y") if len(self.prepare) == 2 else [
                f"operands[{i}]" for i in range(len(self.prepare))]
        names = list(names)
        parts = []
        for name, prep in zip(names, self.prepare):
            if prep.diagonals:
                parts.append(f"diagonal({name}, axes={prep.diagonals})")
            if prep.sum_axes:
                parts.append(f"sum({name}, axes={prep.sum_axes})")
        for step, c in enumerate(self.contractions):
            (lc, rc), (lb, rb) = c.dimension_numbers
            lhs, rhs = names[c.lhs], names[c.rhs]
            parts.append(f"dot_general({lhs}, {rhs}, contract={lc}x{rc}, batch={lb}x{rb})")
            names = [n for k, n in enumerate(names) if k not in (c.lhs, c.rhs)]
            names.append(f"t{step}" if step < len(self.contractions) - 1 else "out")
        text = "; ".join(parts) if parts else "identity"
        if self.transpose is not None:
            text += f" -> transpose{self.transpose}"
        return text

    __str__ = describe


def _prepare(labels: str, others: set[str]) -> Prepare:
    diagonals = []
    current = list(labels)
    for label in labels:
        while current.count(label) > 1:
            p = current.index(label)
            q = current.index(label, p + 1)
            diagonals.append((p, q))
            current = [c for k, c in enumerate(current) if k not in (p, q)] + [label]
    sum_axes = tuple(p for p, c in enumerate(current) if c not in others)
    kept = "".join(c for c in current if c in others)
    return Prepare(tuple(diagonals), sum_axes, kept)


def _contract(lhs: str, rhs: str, needed: set[str], out: str | None):
    """Dimension numbers for one pairwise contraction; ``out`` is given for the last one."""
    batch = [c for c in (out if out is not None else lhs) if c in lhs and c in rhs]
    batch = [c for c in batch if c in needed]
    contract = [c for c in lhs if c in rhs and c not in needed]
    lhs_free = [c for c in lhs if c not in rhs]
    rhs_free = [c for c in rhs if c not in lhs]
    swap = out is not None and (batch + lhs_free + rhs_free != list(out)
                                and batch + rhs_free + lhs_free == list(out))
    if swap:
        lhs, rhs, lhs_free, rhs_free = rhs, lhs, rhs_free, lhs_free
    dims = (
        (tuple(lhs.index(c) for c in contract), tuple(rhs.index(c) for c in contract)),
        (tuple(lhs.index(c) for c in batch), tuple(rhs.index(c) for c in batch)),
    )
    return swap, dims, "".join(batch + lhs_free + rhs_free)


def lower(plan: Plan) -> Lowering:
    """The lowering of ``plan`` along its contraction path (pairs in order, for 2 operands)."""
    labels = [o.labels for o in plan.operands]
    out = plan.output
    prepare = []
    for k, mine in enumerate(labels):
        others = set(out).union(*(set(o) for j, o in enumerate(labels) if j != k))
        prepare.append(_prepare(mine, others))
    current = [p.labels for p in prepare]
    path = plan.path if plan.path is not None else ((0, 1),) * (len(current) - 1)
    contractions = []
    for step, pair in enumerate(path):
        i, j = sorted(pair)
        rest = [c for k, c in enumerate(current) if k not in (i, j)]
        last = step == len(path) - 1
        needed = set(out).union(*map(set, rest))
        swap, dims, result = _contract(current[i], current[j], needed, out if last else None)
        lhs, rhs = (j, i) if swap else (i, j)
        contractions.append(Contraction(lhs, rhs, dims, result))
        current = rest + [result]
    (final,) = current  # holds only output labels: _prepare summed the rest
    perm = tuple(final.index(c) for c in out)
    transpose = None if perm == tuple(range(len(perm))) else perm
    return Lowering(tuple(prepare), tuple(contractions), transpose)


def _prepared(a: jax.Array, operand, prep: Prepare, dtype, epsilon) -> jax.Array:
    a = a.astype(dtype)
    if operand.reshaped:
        a = a.reshape(operand.einsum_shape)
    if operand.conj:
        a = jnp.conjugate(a)
    if operand.normalize:  # |a|^2, as tf.math.l2_normalize computes it for complex a too
        magnitude = jnp.square(a.real) + jnp.square(a.imag) if jnp.iscomplexobj(a) else (
            jnp.square(a))
        squares = jnp.sum(magnitude, axis=operand.normalize, keepdims=True)
        a = a * lax.rsqrt(jnp.maximum(squares, jnp.asarray(epsilon, squares.dtype)))
    for p, q in prep.diagonals:
        a = jnp.diagonal(a, axis1=p, axis2=q)
    if prep.sum_axes:
        a = jnp.sum(a, axis=prep.sum_axes, dtype=dtype)
    return a


def run(plan: Plan, *arrays: jax.Array) -> jax.Array:
    """Execute ``plan`` on arrays, one per operand (traceable; the jitted executor calls it)."""
    low = plan.lowering
    with jax.named_scope(f"{plan.op}[{plan.subscripts}]"):
        dtype, preferred = plan.result_dtypes(arrays)
        if plan.epsilon is not None and not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(f"{plan.op}: normalize=True needs floating-point or complex "
                            f"operands; got {jnp.dtype(dtype).name} ("
                            + ", ".join(f"{o.name}.shape={o.shape}" for o in plan.operands)
                            + ")") from None
        ops = [_prepared(a, o, p, dtype, plan.epsilon)
               for a, o, p in zip(arrays, plan.operands, low.prepare)]
        for c in low.contractions:
            out = lax.dot_general(ops[c.lhs], ops[c.rhs], c.dimension_numbers,
                                  precision=plan.precision, preferred_element_type=preferred)
            ops = [o for k, o in enumerate(ops) if k not in (c.lhs, c.rhs)] + [out]
        (out,) = ops
        if low.transpose is not None:
            out = lax.transpose(out, low.transpose)
        if preferred is not None and out.dtype != preferred:  # no contraction ran
            out = out.astype(preferred)
        if out.shape != plan.out_shape:
            out = out.reshape(plan.out_shape)
        return out


@functools.lru_cache(maxsize=EXECUTOR_CACHE_SIZE)
def executor(plan: Plan):
    """The plan's jitted executor, built once per plan. ``inline=True`` makes a call traced inside
    a user's ``jax.jit`` appear as the bare contraction in their jaxpr, not as a nested call."""
    return jax.jit(functools.partial(run, plan), inline=True)
