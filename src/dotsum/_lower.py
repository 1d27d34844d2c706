"""Lowering: a plan becomes ``lax.dot_general`` calls (plus free reshapes), jitted once per plan.

Per operand, first what one operand can do alone: take diagonals of repeated labels
(``ii->i``) and sum labels no one else needs. Then one ``dot_general`` per step of the plan's
contraction path, then at most one transpose into the output order.

Layout is chosen per platform (:mod:`dotsum._layout`): on CPU the steps are laid out so that
XLA:CPU copies the fewest elements (explicit transposes where they copy less than XLA would
for the bare ``dot_general``, else XLA's own copies), and ``Lowering.moves`` lists every
element XLA will move (``tests/test_compiled.py`` checks that list
against the compiled HLO); on GPU and TPU no operand is transposed and XLA lays them out. Where
the two lowerings differ the executor holds both under ``lax.platform_dependent``, so a program
lowered or exported for a platform runs that platform's. Size-1 axes are squeezed away first (a
free reshape) and come back in the final reshape, so no layout decision depends on them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from dotsum._dtypes import weak_result
from dotsum._errors import fail
from dotsum._jax import INLINE, ShardingTypeError, make_weak
from dotsum._layout import contract_cpu, contract_xla, model, multiply_cpu
from dotsum._origin import register, scope
from dotsum._symbolic import Inconclusive, hint

if TYPE_CHECKING:
    from dotsum._plan import Plan

EXECUTOR_CACHE_SIZE = 4096
# DOTSUM_LOWERING=jnp (read once, at import): every plan's contraction is jnp.einsum of its
# subscripts, so dotsum.numpy.einsum runs jnp.einsum's own program and equals it bit for bit
# (the default lowering's CPU layout may sum in another order: last-bit differences).
JNP_LOWERING = os.environ.get("DOTSUM_LOWERING", "").strip().lower() == "jnp"

DimensionNumbers = tuple[tuple[tuple[int, ...], tuple[int, ...]],
                         tuple[tuple[int, ...], tuple[int, ...]]]


@dataclasses.dataclass(frozen=True)
class Prepare:
    """What one operand does alone: drop size-1 axes, take diagonals of repeated labels, sum."""

    diagonals: tuple[tuple[int, int], ...]  # axis pairs; each diagonal moves to the last axis
    sum_axes: tuple[int, ...]
    labels: str  # the labels afterwards
    squeeze: tuple[int, ...] = ()  # size-1 axes, dropped first
    # GPU/TPU: a diagonal stays where its first axis was (no transpose), instead of moving last
    in_place: bool = False


@dataclasses.dataclass(frozen=True)
class Contraction:
    """One ``dot_general``: operands ``lhs`` and ``rhs`` of the current list are removed and the
    result (labelled ``labels``) is appended, as in opt_einsum's paths."""

    lhs: int
    rhs: int
    dimension_numbers: DimensionNumbers  # of the operands after lhs_perm / rhs_perm
    labels: str
    lhs_perm: tuple[int, ...] | None = None  # transpose lhs into GEMM layout first
    rhs_perm: tuple[int, ...] | None = None
    # Set when nothing is summed: the step is then an elementwise ``multiply`` of the operands,
    # transposed and broadcast to these result axes (XLA fuses it all), not a ``dot_general``.
    broadcast: tuple[tuple[int, ...], tuple[int, ...]] | None = None


class Move(NamedTuple):
    """Elements XLA copies to change layout: an operand transposed before a ``dot_general``
    (explicitly, or by XLA itself where the plan leaves the ``dot_general`` bare) or the
    result transposed into the output order."""

    what: str  # "x", "t0", "out", …
    perm: tuple[int, ...]
    elements: int


@dataclasses.dataclass(frozen=True)
class Lowering:
    """The XLA-level recipe of a plan."""

    prepare: tuple[Prepare, ...]
    contractions: tuple[Contraction, ...]
    transpose: tuple[int, ...] | None  # permutation of the last result, if not identity
    moves: tuple[Move, ...] = ()  # every layout copy: operand transposes, then the result's
    layout: str = "cpu"  # the layout model it was chosen by (dotsum._layout.MODELS)

    @property
    def moved(self) -> int:
        """Elements copied to change layout (0 for a transpose-free lowering)."""
        return sum(m.elements for m in self.moves)

    def step_operands(self) -> tuple[tuple[str, str], ...]:
        """The labels of each step's two operands as the step takes them (after squeezes,
        diagonals, sums and the layout transposes): ``dot_general``'s or the multiply's."""
        current = [p.labels for p in self.prepare]
        steps = []
        for c in self.contractions:
            lhs, rhs = current[c.lhs], current[c.rhs]
            lhs = lhs if c.lhs_perm is None else "".join(lhs[p] for p in c.lhs_perm)
            rhs = rhs if c.rhs_perm is None else "".join(rhs[p] for p in c.rhs_perm)
            steps.append((lhs, rhs))
            current = [o for k, o in enumerate(current) if k not in (c.lhs, c.rhs)] + [c.labels]
        return tuple(steps)

    def describe(self, names: Sequence[str] | None = None) -> str:
        """One line: ``dot_general(x, y, contract=(2,)x(2,), batch=()x())`` and friends."""
        if names is None:
            names = ("x", "y") if len(self.prepare) == 2 else [
                f"operands[{i}]" for i in range(len(self.prepare))]
        names = list(names)
        parts = []
        for name, prep in zip(names, self.prepare):
            if prep.squeeze:
                parts.append(f"squeeze({name}, axes={prep.squeeze})")
            if prep.diagonals:
                parts.append(f"diagonal({name}, axes={prep.diagonals})")
            if prep.sum_axes:
                parts.append(f"sum({name}, axes={prep.sum_axes})")
        for step, c in enumerate(self.contractions):
            (lc, rc), (lb, rb) = c.dimension_numbers
            lhs, rhs = names[c.lhs], names[c.rhs]
            if c.lhs_perm is not None:
                lhs = f"transpose({lhs}, {c.lhs_perm})"
            if c.rhs_perm is not None:
                rhs = f"transpose({rhs}, {c.rhs_perm})"
            if c.broadcast is not None:
                lx, rx = c.broadcast
                parts.append(f"multiply({lhs}, {rhs}, broadcast={lx}x{rx})")
            else:
                parts.append(f"dot_general({lhs}, {rhs}, contract={lc}x{rc}, batch={lb}x{rb})")
            names = [n for k, n in enumerate(names) if k not in (c.lhs, c.rhs)]
            names.append(f"t{step}" if step < len(self.contractions) - 1 else "out")
        text = "; ".join(parts) if parts else "identity"
        if self.transpose is not None:
            text += f" -> transpose{self.transpose}"
        return text

    __str__ = describe


def _prepare(labels: str, others: set[str], unit: set[str], in_place: bool = False) -> Prepare:
    squeeze = tuple(p for p, c in enumerate(labels) if c in unit)
    diagonals = []
    current = [c for c in labels if c not in unit]
    for label in list(current):
        while current.count(label) > 1:
            p = current.index(label)
            q = current.index(label, p + 1)
            diagonals.append((p, q))
            current = ([c for k, c in enumerate(current) if k != q] if in_place else
                       [c for k, c in enumerate(current) if k not in (p, q)] + [label])
    sum_axes = tuple(p for p, c in enumerate(current) if c not in others)
    kept = "".join(c for c in current if c in others)
    return Prepare(tuple(diagonals), sum_axes, kept, squeeze, in_place and bool(diagonals))


def lower(plan: Plan, platform: str = "cpu") -> Lowering:
    """The lowering of ``plan`` for ``platform`` along its contraction path (pairs in order, for
    2 operands), laid out by that platform's model (:mod:`dotsum._layout`)."""
    layout = model(platform)
    sizes = plan.sizes
    unit = {c for c, n in sizes.items() if n == 1}  # a symbol is not 1: keeping its axis is exact
    priced = {c: hint(n) for c, n in sizes.items()}  # a symbol prices the layout as large
    labels = [o.labels for o in plan.operands]
    out = "".join(c for c in plan.output if c not in unit)  # run() reshapes size-1 axes back in
    prepare = []
    for k, mine in enumerate(labels):
        others = set(out).union(*(set(o) for j, o in enumerate(labels) if j != k))
        prepare.append(_prepare(mine, others, unit, in_place=layout != "cpu"))
    current = [p.labels for p in prepare]
    names = [o.name for o in plan.operands]
    path = plan.path if plan.path is not None else ((0, 1),) * (len(current) - 1)
    contractions, moves = [], []
    result_moves = False
    for step, pair in enumerate(path):
        i, j = sorted(pair)
        rest = [c for k, c in enumerate(current) if k not in (i, j)]
        last = step == len(path) - 1
        needed = set(out).union(*map(set, rest))
        if layout == "cpu" and set(current[i]) | set(current[j]) <= needed:  # sums nothing
            lhs_perm, rhs_perm, broadcast, result = multiply_cpu(current[i], current[j],
                                                                 out if last else None)
            contractions.append(Contraction(i, j, (((), ()), ((), ())), result, lhs_perm,
                                            rhs_perm, broadcast))
        else:
            swap, lhs_copy, rhs_copy, dims, result, result_moves, bare = (
                contract_cpu(current[i], current[j], needed, out if last else None, priced)
                if layout == "cpu" else
                contract_xla(current[i], current[j], needed, out if last else None))
            lhs, rhs = (j, i) if swap else (i, j)
            for k, perm in ((lhs, lhs_copy), (rhs, rhs_copy)):
                if perm is not None:  # copied: by our transpose, or by XLA for a bare step
                    moves.append(Move(names[k], perm, math.prod(sizes[c] for c in current[k])))
            contractions.append(Contraction(lhs, rhs, dims, result,
                                            *((None, None) if bare else (lhs_copy, rhs_copy))))
        current = rest + [result]
        names = [n for k, n in enumerate(names) if k not in (i, j)] + [
            f"t{step}" if not last else "out"]
    (final,) = current  # holds only output labels: _prepare summed the rest
    perm = tuple(final.index(c) for c in out)
    transpose = None if perm == tuple(range(len(perm))) else perm
    if transpose is not None and (not contractions or result_moves):
        moves.append(Move("out", transpose, math.prod(sizes[c] for c in out)))
    return Lowering(tuple(prepare), tuple(contractions), transpose, tuple(moves), layout)


def _accumulator(dtype, preferred):
    """The dtype a sum over ``dtype`` values runs in, as ``jnp.einsum`` sums: ``preferred`` if
    promoting ``dtype`` with it changes anything (int8 with int32: no wrap-around at 128),
    else ``dtype`` itself."""
    if preferred is None or jnp.result_type(dtype, preferred) == dtype:
        return dtype
    return preferred


def _prepared(a: jax.Array, operand, prep: Prepare, dtype, preferred, epsilon) -> jax.Array:
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
    if prep.squeeze:
        a = lax.squeeze(a, prep.squeeze)
    for p, q in prep.diagonals:
        a = _diagonal_in_place(a, p, q) if prep.in_place else jnp.diagonal(a, axis1=p, axis2=q)
    if prep.sum_axes:
        acc = _accumulator(a.dtype, preferred)
        a = jnp.sum(a.astype(acc), axis=prep.sum_axes, dtype=acc)
    return a


def _diagonal_in_place(a: jax.Array, p: int, q: int) -> jax.Array:
    """The diagonal of axes ``p < q``, at axis ``p``, the other axes in order: no transpose.
    Adjacent axes are one strided slice of their merged axis; others a mask and a reduction
    over ``q`` (exact: one term is kept, the rest are zero), as ``jnp.einsum`` does."""
    n = a.shape[p]
    if q == p + 1:
        merged = a.reshape(a.shape[:p] + (n * n,) + a.shape[q + 1:])
        return lax.slice_in_dim(merged, 0, n * n, stride=n + 1, axis=p)
    eye = lax.broadcasted_iota(np.int32, a.shape, p) == lax.broadcasted_iota(np.int32, a.shape, q)
    kept = jnp.where(eye, a, jnp.zeros((), a.dtype))
    return jnp.any(kept, axis=q) if a.dtype == jnp.bool_ else jnp.sum(kept, axis=q, dtype=a.dtype)


def _multiply_run(lhs, rhs, broadcast, rank: int, preferred) -> jax.Array:
    shape = [1] * rank
    for a, dims in zip((lhs, rhs), broadcast):
        for d, n in zip(dims, a.shape):
            shape[d] = n
    lhs = lax.broadcast_in_dim(lhs, shape, broadcast[0])
    rhs = lax.broadcast_in_dim(rhs, shape, broadcast[1])
    if preferred is not None and not _widens(lhs.dtype, preferred):
        # int32 -> int8, complex -> float, …: dot_general's own rules (and errors) apply
        everything = tuple(range(rank))
        return lax.dot_general(lhs, rhs, (((), ()), (everything, everything)),
                               preferred_element_type=preferred)
    if preferred is not None:  # exact: a product of two narrow numbers fits the wider type
        lhs, rhs = lhs.astype(preferred), rhs.astype(preferred)
    return jnp.multiply(lhs, rhs)  # bool: logical and


def _widens(dtype, preferred) -> bool:
    """``preferred`` holds every value of ``dtype`` and is of the same kind (int, float, …)."""
    dtype, preferred = np.dtype(dtype), np.dtype(preferred)
    return dtype.kind == preferred.kind and np.promote_types(dtype, preferred) == preferred


def run(plan: Plan, *arrays: jax.Array) -> jax.Array:
    """Execute ``plan`` on arrays, one per operand (traceable; the jitted executor calls it).

    What JAX rejects while tracing (a ``preferred_element_type`` narrower than the operands, a
    dot algorithm the dtypes do not allow) is re-raised as the same kind of error, named for the
    op and showing every operand's shape."""
    try:
        return _run(plan, *arrays)
    except (TypeError, ValueError, Inconclusive, ShardingTypeError) as e:
        message = str(e)
        if message.startswith(f"{plan.op}:"):  # ours, already in the house format
            raise
        fail(plan.op, message.strip().splitlines()[0] if message.strip() else type(e).__name__,
             {o.name: o.shape for o in plan.operands}, kind=TypeError if isinstance(
                 e, TypeError) else ValueError)


def _run(plan: Plan, *arrays: jax.Array) -> jax.Array:
    register(plan)  # so that dotsum.inspect can name the plan behind these operations
    with jax.named_scope(scope(plan)):
        dtype, preferred = plan.result_dtypes(arrays)
        if plan.epsilon is not None and not jnp.issubdtype(dtype, jnp.inexact):
            fail(plan.op, "normalize=True needs floating-point or complex operands; got "
                 f"{jnp.dtype(dtype).name}", {o.name: o.shape for o in plan.operands},
                 kind=TypeError)
        cpu, xla = plan.lowering_for("cpu"), plan.lowering_for("tpu")
        if JNP_LOWERING:
            out = _execute_jnp(plan, dtype, preferred, *arrays)
        elif _same_program(cpu, xla):
            out = _execute(plan, cpu, dtype, preferred, *arrays)
        else:
            # Resolved when the program is lowered (for one platform only that branch is
            # emitted; an export for several keeps both and XLA picks one before compiling).
            out = lax.platform_dependent(
                *arrays, cpu=functools.partial(_execute, plan, cpu, dtype, preferred),
                default=functools.partial(_execute, plan, xla, dtype, preferred))
        if weak_result(plan.dtype_policy, arrays, plan.preferred_element_type):
            out = make_weak(out)
        return out


def _execute_jnp(plan: Plan, dtype, preferred, *arrays: jax.Array) -> jax.Array:
    """The plan as ``jnp.einsum`` of its subscripts (``DOTSUM_LOWERING=jnp``): its steps that
    einsum cannot express (reshapes, conjugates, normalisation) as in :func:`_execute`."""
    ops = [_prepared(a, o, Prepare((), (), ""), dtype, preferred, plan.epsilon)
           for a, o in zip(arrays, plan.operands)]
    optimize = [tuple(step) for step in plan.path] if plan.path else "auto"
    out = jnp.einsum(plan.subscripts, *ops, optimize=optimize, precision=plan.precision,
                     preferred_element_type=preferred)
    if preferred is not None and out.dtype != preferred:
        out = out.astype(preferred)
    return out.reshape(plan.out_shape) if out.shape != plan.out_shape else out


def _same_program(a: Lowering, b: Lowering) -> bool:
    return (a.prepare, a.contractions, a.transpose) == (b.prepare, b.contractions, b.transpose)


def _execute(plan: Plan, low: Lowering, dtype, preferred, *arrays: jax.Array) -> jax.Array:
    ops = [_prepared(a, o, p, dtype, preferred, plan.epsilon)
           for a, o, p in zip(arrays, plan.operands, low.prepare)]
    for c in low.contractions:
        lhs, rhs = ops[c.lhs], ops[c.rhs]
        if c.lhs_perm is not None:
            lhs = lax.transpose(lhs, c.lhs_perm)
        if c.rhs_perm is not None:
            rhs = lax.transpose(rhs, c.rhs_perm)
        if c.broadcast is not None:
            out = _multiply_run(lhs, rhs, c.broadcast, len(c.labels), preferred)
        else:
            out = lax.dot_general(lhs, rhs, c.dimension_numbers, precision=plan.precision,
                                  preferred_element_type=preferred)
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
    """The plan's jitted executor, built once per plan. Inlined while tracing (``_jax.INLINE``),
    a call inside a user's ``jax.jit`` appears as the bare contraction in their jaxpr, not as a
    nested call."""
    return jax.jit(functools.partial(run, plan), inline=INLINE)
