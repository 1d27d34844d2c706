"""The plan: what one call of a product compiles to, frozen and hashable.

A plan is the compiler's output for one (op, operand shapes, static params). It holds the einsum
``subscripts`` and the few steps einsum cannot express: reshaping an operand before the
contraction (rank padding, dropping size-1 broadcast axes), conjugating it (adjoints),
L2-normalising it along some axes (the Keras ``Dot`` layer's ``normalize=True``), and reshaping
the result (``batch_dot``'s ``(b, 1)``, legacy squeezes). Running a plan means exactly::

    operands = [conj(reshape(a, op.einsum_shape)) for a, op in zip(arrays, plan.operands)]
    operands = [a * rsqrt(max(sum(a**2, op.normalize), plan.epsilon)) if op.normalize else a …]
    result = reshape(einsum(plan.subscripts, *operands), plan.out_shape)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np

from dotsum._errors import fail
from dotsum._lettering import TooManyLabels, letter
from dotsum._symbolic import count


class Term(NamedTuple):
    """An op rule's description of one operand, before lettering."""

    name: str  # the argument's name in the op's signature: "x", "a", …
    shape: tuple[int, ...]  # the shape the user passed
    ids: tuple[Hashable, ...]  # one label id per axis of the operand fed to the contraction
    einsum_shape: tuple[int, ...]  # that operand's shape (differs from `shape` if reshaped)
    conj: bool = False
    normalize: tuple[int, ...] = ()  # axes (of einsum_shape) to L2-normalise along


@dataclasses.dataclass(frozen=True)
class Operand:
    """One operand of a plan: the user's shape, and what the contraction sees."""

    name: str
    shape: tuple[int, ...]
    labels: str
    einsum_shape: tuple[int, ...]
    conj: bool = False
    normalize: tuple[int, ...] = ()

    @property
    def reshaped(self) -> bool:
        return self.shape != self.einsum_shape


@dataclasses.dataclass(frozen=True)
class Plan:
    """The compiled form of one product call. ``str(plan)`` shows it; ``plan.lowering`` shows the
    ``dot_general`` it runs as.

    >>> from dotsum import keras as K
    >>> plan = K.dot.plan((2, 3, 4), (7, 6, 4, 5))
    >>> plan.subscripts, plan.out_shape, plan.flops
    ('abk,cdkf->abcdf', (2, 3, 7, 6, 5), 10080)
    """

    op: str
    params: tuple[tuple[str, Any], ...]
    operands: tuple[Operand, ...]
    output: str
    out_shape: tuple[int, ...]
    precision: Any = None
    preferred_element_type: np.dtype | None = None
    path: tuple[tuple[int, ...], ...] | None = None  # contraction order, for 3+ operands
    dtype_policy: str = "jax"  # a key of dotsum._dtypes.POLICIES
    epsilon: float | None = None  # floor of the squared norm, for operands that normalise

    @property
    def subscripts(self) -> str:
        """The einsum string over the (prepared) operands, e.g. ``'abk,cdkf->abcdf'``."""
        return ",".join(o.labels for o in self.operands) + "->" + self.output

    @property
    def sizes(self) -> dict[str, int]:
        """Each label's size."""
        return {
            label: size
            for o in self.operands
            for label, size in zip(o.labels, o.einsum_shape)
        }

    @property
    def einsum_out_shape(self) -> tuple[int, ...]:
        """The shape the einsum produces, before the final reshape to ``out_shape``."""
        sizes = self.sizes
        return tuple(sizes[label] for label in self.output)

    @property
    def flops(self) -> int:
        """Floating-point operations: 2 per multiply-add (the GEMM convention, ``2·m·n·k``) when
        some label is summed, 1 per multiply when none is (an outer product); for three or more
        operands, summed over the steps of the contraction path. With symbolic sizes, JAX's
        polynomial of the symbols (``3840*b``)."""
        sizes = self.sizes
        if self.path is None:
            summed = any(label not in self.output for label in sizes)
            return math.prod(sizes.values()) * (2 if summed else 1)
        current = [set(o.labels) for o in self.operands]
        total = 0
        for i, j in self.path:
            rest = [c for k, c in enumerate(current) if k not in (i, j)]
            needed = set(self.output).union(*rest)
            both = current[i] | current[j]
            summed = not both <= needed
            total += math.prod(sizes[c] for c in both) * (2 if summed else 1)
            current = rest + [both & needed]
        return total

    def result_dtypes(self, arrays) -> tuple[np.dtype, np.dtype | None]:
        """(dtype the operands are promoted to, ``preferred_element_type`` of ``dot_general``)
        for these (traced) operands, by the plan's dtype policy."""
        from dotsum._dtypes import POLICIES

        return POLICIES[self.dtype_policy](arrays, self.preferred_element_type)

    @property
    def lowering(self):  # -> dotsum._lower.Lowering (imported lazily: it needs jax)
        """How the plan runs on XLA on this machine's default platform: per-operand steps,
        ``dot_general`` dimension numbers and the transpose (if any) of its result."""
        from dotsum._layout import current_platform

        return self.lowering_for(current_platform())

    def lowering_for(self, platform: str):
        """How the plan runs when lowered for ``platform`` (``'cpu'``, ``'cuda'``, ``'rocm'``,
        ``'tpu'``), built once per layout model (:mod:`dotsum._layout`)."""
        from dotsum._layout import model
        from dotsum._lower import lower

        layout = model(platform)
        cache = self.__dict__.setdefault("_lowerings", {})  # frozen: no attribute assignment
        if layout not in cache:
            cache[layout] = lower(self, platform)
        return cache[layout]

    def grad(self, dtype="float32"):
        """The contractions of this plan's backward pass: the cotangent products that JAX's
        transpose rules write for ``jax.grad`` through it (one per differentiable operand),
        as a :class:`dotsum.Report` of rows (subscripts, shapes, FLOPs).

        >>> from dotsum import ops
        >>> plan = ops.einsum.plan("nhd,hdu->nu", (8, 2, 4), (2, 4, 16))
        >>> [(r.subscripts, r.shapes) for r in plan.grad().rows]
        [('kb,kcd->bcd', ((8, 16), (8, 2, 4))), ('ak,bck->abc', ((8, 16), (2, 4, 16)))]
        """
        from dotsum._inspect import backward

        return backward(self, dtype)

    def roofline(self, device, dtype="float32", *, precision=None, measured=False):
        """FLOPs, minimum bytes, arithmetic intensity, what bounds it and the ideal seconds on
        ``device`` (``"h100"``, ``"tpu-v5e"``, …; :mod:`dotsum.devices`)."""
        from dotsum.devices import roofline

        return roofline(self, device, dtype, precision=precision, measured=measured)

    def shard(self, mesh, /, **labels):
        """Run this plan on a device ``mesh``, sharded by its einsum labels
        (``plan.shard(mesh, a="data", k="model")``); see :func:`dotsum._shard.shard`."""
        from dotsum._shard import shard

        return shard(self, mesh, **labels)

    def describe_sharding(self, mesh, /, **labels) -> str:
        """How :meth:`shard` with these labels lays the plan out on ``mesh`` (a ``Mesh`` or an
        ``AbstractMesh``): each operand's ``PartitionSpec`` and what XLA must reduce."""
        from dotsum._shard import describe_sharding

        return describe_sharding(self, mesh, **labels)

    def __str__(self) -> str:
        return self.describe()

    def describe(self, platform: str | None = None) -> str:
        """``str(plan)``, its ``xla`` lines describing what is emitted for ``platform``
        (default: this machine's)."""
        from dotsum._layout import current_platform

        platform = platform or current_platform()
        lowering = self.lowering_for(platform)
        call = ", ".join(f"{o.name}: {o.shape}" for o in self.operands)
        call += "".join(f", {k}={v!r}" for k, v in self.params)
        width = max(len(o.labels) for o in self.operands)
        width = max(width, len(self.output))
        names = max(6, *(len(o.name) for o in self.operands))
        lines = [f"{self.op}({call})", f"  {'einsum':<{names}}  {self.subscripts}"]
        for o in self.operands:
            steps = [f"reshape to {o.einsum_shape}"] if o.reshaped else []
            steps += ["conjugate"] if o.conj else []
            steps += [f"l2-normalise over axes {o.normalize} (epsilon {self.epsilon:g})"
                      ] if o.normalize else []
            lines.append(f"  {o.name:<{names}}  {o.labels:<{width}}  {o.shape}  {', '.join(steps)}")
        reshape = "" if self.einsum_out_shape == self.out_shape else (
            f"reshaped from {self.einsum_out_shape}")
        lines.append(f"  {'out':<{names}}  {self.output:<{width}}  {self.out_shape}  {reshape}")
        lines.append(f"  {'flops':<{names}}  {count(self.flops)}")
        if self.path is not None:
            lines.append(f"  {'path':<{names}}  {list(self.path)}")
        operand_names = [o.name for o in self.operands]
        lines.append(f"  {'xla':<{names}}  {platform}: {lowering.describe(operand_names)}")
        if lowering.moves:
            moved = ", ".join(f"{m.what} {count(m.elements)}" for m in lowering.moves)
            why = "to change layout" if lowering.layout == "cpu" else (
                "into the output order; XLA may fold it into its layout")
            lines.append(f"  {'copies':<{names}}  {moved} elements ({why})")
        return "\n".join(line.rstrip() for line in lines)


def make_plan(
    op: str,
    params: Sequence[tuple[str, Any]],
    terms: Sequence[Term],
    out_ids: Sequence[Hashable],
    out_shape: Sequence[int],
    *,
    precision: Any = None,
    preferred_element_type: np.dtype | None = None,
    lettering: Callable[..., tuple[tuple[str, ...], str]] = letter,
    path: tuple[tuple[int, ...], ...] | None = None,
    dtype_policy: str = "jax",
    epsilon: float | None = None,
) -> Plan:
    """Letter an op rule's labelled contraction and freeze it into a :class:`Plan`."""
    shapes = {t.name: t.shape for t in terms}
    sizes: dict[Hashable, int] = {}
    for t in terms:
        for i, size in zip(t.ids, t.einsum_shape, strict=True):
            if sizes.setdefault(i, size) != size:
                # Op rules validate sizes with precise messages; this is the safety net.
                fail(op, f"axis sizes do not match ({sizes[i]} != {size})", shapes)
    einsum_out = tuple(sizes[i] for i in out_ids)
    if math.prod(einsum_out) != math.prod(out_shape):
        fail(op, f"cannot reshape the product {einsum_out} to {tuple(out_shape)}", shapes)
    try:
        labels, output = lettering([t.ids for t in terms], out_ids)
    except TooManyLabels as e:
        fail(op, str(e), shapes)
    operands = tuple(
        Operand(t.name, tuple(t.shape), lab, tuple(t.einsum_shape), t.conj, tuple(t.normalize))
        for t, lab in zip(terms, labels)
    )
    if any(t.normalize for t in terms) and epsilon is None:
        fail(op, "operands that L2-normalise need an epsilon", shapes)
    return Plan(op, tuple(params), operands, output, tuple(out_shape), precision,
                preferred_element_type, path, dtype_policy, epsilon)
