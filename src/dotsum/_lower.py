"""Lowering: a plan becomes one ``lax.dot_general`` (plus free reshapes), jitted once per plan.

``dot_general`` returns axes in the order ``batch…, lhs_free…, rhs_free…``. We order the batch
dimensions as the output wants them and, when the output lists the second operand's free axes
first, swap the operands, so that the canonical products need no transpose of the result.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from jax import lax

if TYPE_CHECKING:
    from dotsum._plan import Plan

EXECUTOR_CACHE_SIZE = 4096


@dataclasses.dataclass(frozen=True)
class Lowering:
    """The XLA-level recipe of a two-operand plan."""

    sum_axes: tuple[tuple[int, ...], ...]  # per operand: axes summed away before the product
    swap: bool  # feed the operands to dot_general as (y, x)
    dimension_numbers: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    transpose: tuple[int, ...] | None  # permutation of dot_general's result, if not identity

    def describe(self, names: tuple[str, ...] | list[str] = ("x", "y")) -> str:
        (lc, rc), (lb, rb) = self.dimension_numbers
        lhs, rhs = names[::-1] if self.swap else names
        text = f"dot_general({lhs}, {rhs}, contract={lc}x{rc}, batch={lb}x{rb})"
        for name, axes in zip(names, self.sum_axes):
            if axes:
                text = f"sum({name}, axes={axes}); " + text
        if self.transpose is not None:
            text += f" -> transpose{self.transpose}"
        return text

    __str__ = describe


def lower(plan: Plan) -> Lowering:
    """Dimension numbers for a two-operand plan (no label repeated within an operand)."""
    if len(plan.operands) != 2:
        raise ValueError(f"{plan.op}: only two-operand plans can be lowered, got {plan.subscripts}")
    x, y = (o.labels for o in plan.operands)
    out = plan.output
    sum_axes = tuple(
        tuple(p for p, c in enumerate(mine) if c not in other and c not in out)
        for mine, other in ((x, y), (y, x))
    )
    x = "".join(c for c in x if c in y or c in out)
    y = "".join(c for c in y if c in x or c in out)
    batch = [c for c in out if c in x and c in y]
    contract = [c for c in x if c in y and c not in out]
    x_free = [c for c in x if c not in y]
    y_free = [c for c in y if c not in x]
    natural = batch + x_free + y_free
    swap = natural != list(out) and batch + y_free + x_free == list(out)
    lhs, rhs = (y, x) if swap else (x, y)
    result = batch + (y_free + x_free if swap else x_free + y_free)
    dimension_numbers = (
        (tuple(lhs.index(c) for c in contract), tuple(rhs.index(c) for c in contract)),
        (tuple(lhs.index(c) for c in batch), tuple(rhs.index(c) for c in batch)),
    )
    perm = tuple(result.index(c) for c in out)
    transpose = None if perm == tuple(range(len(perm))) else perm
    return Lowering(sum_axes, swap, dimension_numbers, transpose)


def _prepare(a: jax.Array, operand: Any, sum_axes: tuple[int, ...], dtype: Any) -> jax.Array:
    a = a.astype(dtype)
    if operand.reshaped:
        a = a.reshape(operand.einsum_shape)
    if operand.conj:
        a = jnp.conjugate(a)
    if sum_axes:
        a = jnp.sum(a, axis=sum_axes, dtype=dtype)
    return a


def run(plan: Plan, *arrays: jax.Array) -> jax.Array:
    """Execute ``plan`` on arrays, one per operand (traceable; the jitted executor calls it)."""
    low = plan.lowering
    x, y = arrays
    with jax.named_scope(f"{plan.op}[{plan.subscripts}]"):
        dtype = jnp.result_type(x, y)
        x, y = (
            _prepare(a, o, s, dtype) for a, o, s in zip((x, y), plan.operands, low.sum_axes)
        )
        if low.swap:
            x, y = y, x
        out = lax.dot_general(
            x,
            y,
            low.dimension_numbers,
            precision=plan.precision,
            preferred_element_type=plan.preferred_element_type,
        )
        if low.transpose is not None:
            out = lax.transpose(out, low.transpose)
        if out.shape != plan.out_shape:
            out = out.reshape(plan.out_shape)
        return out


@functools.lru_cache(maxsize=EXECUTOR_CACHE_SIZE)
def executor(plan: Plan):
    """The plan's jitted executor, built once per plan. ``inline=True`` makes a call traced inside
    a user's ``jax.jit`` appear as the bare contraction in their jaxpr, not as a nested call."""
    return jax.jit(functools.partial(run, plan), inline=True)
