"""Sharding: run a plan over a device mesh, partitioned by its einsum labels.

A plan names every axis with a letter, so "split the batch over the ``data`` devices and the
contracted axis over the ``model`` devices" is one keyword per letter: ``a="data", k="model"``.
Each operand's ``PartitionSpec`` puts a mesh axis on the axes carrying its label, and the result's
lists the output labels. Batch and free labels then split the work with no communication; a
sharded contracted label leaves each device a partial sum that XLA reduces across that mesh axis
(an all-reduce, or a reduce-scatter when the result is sharded over the same devices).

Labels map to the *user's* axes, so an operand or result that the plan reshapes is followed
through reshapes that only add or drop size-1 axes (``batch_dot``'s ``(b, 1)``, broadcast axes);
any other reshape, or a label repeated within an operand, is an error.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
from jax.sharding import AbstractMesh, Mesh, NamedSharding, PartitionSpec

from dotsum._errors import fail, type_name
from dotsum._lower import run
from dotsum._plan import Plan

MeshAxes = str | Sequence[str] | None  # what a label maps to: one mesh axis, several, none
SHARDED_CACHE_SIZE = 256


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a plan's labels sit on a mesh: the validated result of ``label=mesh_axes`` keywords."""

    labels: tuple[tuple[str, tuple[str, ...]], ...]  # (label, mesh axes), sharded labels only
    operands: tuple[PartitionSpec, ...]  # one per operand, over the user's axes
    output: PartitionSpec  # over the axes of the final result (``plan.out_shape``)
    reduced: tuple[str, ...]  # sharded labels that are summed: XLA reduces across their axes


def shard(plan: Plan, mesh: Mesh, /, **labels: MeshAxes) -> Callable[..., jax.Array]:
    """Compile ``plan`` to run on ``mesh``, sharded by its einsum labels.

    Each keyword maps a label of ``plan.subscripts`` to a mesh axis name (or a tuple of them,
    or ``None`` to leave it unsharded). The returned function is ``jax.jit(run, in_shardings,
    out_shardings)`` with one ``NamedSharding`` per operand and one for the result, so
    ``f.lower(x, y).compile().as_text()`` shows the partitioned HLO. Arguments that are NumPy
    arrays or uncommitted are placed for you; committed arrays sharded differently are rejected
    by ``jax.jit`` (``jax.device_put`` them first). Built once per (plan, mesh, labels).

    Sharding a batch or free label splits the work with no communication. Sharding a contracted
    label leaves partial sums that XLA reduces across that mesh axis (all-reduce or
    reduce-scatter); :func:`describe_sharding` says which.

    >>> import jax, numpy as np
    >>> from dotsum import keras as K
    >>> plan = K.batch_dot.plan((8, 6, 4), (8, 4, 2))
    >>> plan.subscripts
    'abk,ake->abe'
    >>> mesh = jax.make_mesh((1, 1), ("data", "model"), devices=jax.devices()[:1])
    >>> f = shard(plan, mesh, a="data", k="model")   # jax.jit(run, in_shardings=..., ...)
    >>> out = f(np.ones((8, 6, 4)), np.ones((8, 4, 2)))
    >>> out.shape, tuple(out.sharding.spec)
    ((8, 6, 2), ('data', None, None))

    Args:
      plan: the plan to run, e.g. ``dotsum.keras.batch_dot.plan(x_shape, y_shape)``.
      mesh: a ``jax.sharding.Mesh`` (``jax.make_mesh(...)``); explicit and auto axes both work.
      **labels: ``label=axis`` or ``label=(axis, ...)``, for labels of ``plan.subscripts`` and
        axes of ``mesh.axis_names``; a mesh axis shards at most one label.

    Returns:
      ``f(*arrays)``, taking one array per operand with the plan's operand shapes and returning
      the result sharded as :func:`describe_sharding` shows (``out.sharding.spec``).

    Raises:
      ValueError: for an unknown label or mesh axis, a mesh axis used for two labels, a label
        whose size the mesh axes do not divide, or a label that is not an axis of its operand
        (or of the result) because the plan reshapes it.
      TypeError: if ``mesh`` is not a ``Mesh`` or a label maps to something other than axis names.
    """
    where = f"{plan.op}.shard"
    if not isinstance(mesh, Mesh):
        fail(where, f"mesh must be a jax.sharding.Mesh; got {type_name(mesh)}", _shapes(plan),
             kind=TypeError)
    layout = _checked_layout(plan, mesh, labels, where)
    return _sharded(plan, mesh, layout.operands, layout.output)


def describe_sharding(plan: Plan, mesh: Any, /, **labels: MeshAxes) -> str:
    """A few lines showing how :func:`shard` with these labels lays ``plan`` out on ``mesh``.

    One line per operand and for the result (labels, global shape, ``PartitionSpec``, per-device
    shape), then which contracted labels are sharded, i.e. across which mesh axes the product
    will be reduced. ``mesh`` may be a ``jax.sharding.AbstractMesh``: no devices are needed.

    >>> from jax.sharding import AbstractMesh
    >>> from dotsum import keras as K
    >>> plan = K.batch_dot.plan((8, 6, 4), (8, 4, 2))
    >>> mesh = AbstractMesh((4, 2), ("data", "model"))   # describing needs no devices
    >>> print(describe_sharding(plan, mesh, a="data", k="model"))
    keras.batch_dot(x: (8, 6, 4), y: (8, 4, 2), axes=(2, 1)) on mesh {'data': 4, 'model': 2}
      shard   a -> 'data', k -> 'model'
      x       abk  (8, 6, 4)  P('data', None, 'model')  per device (2, 6, 2)
      y       ake  (8, 4, 2)  P('data', 'model', None)  per device (2, 2, 2)
      out     abe  (8, 6, 2)  P('data', None, None)     per device (2, 6, 2)
      reduce  k is contracted and sharded: XLA sums partial results across mesh axis 'model'
              (all-reduce, or reduce-scatter)

    Args:
      plan: the plan, as for :func:`shard`.
      mesh: a ``jax.sharding.Mesh`` or ``jax.sharding.AbstractMesh``.
      **labels: as for :func:`shard`.

    Raises:
      ValueError, TypeError: as :func:`shard` does, for the same labels.
    """
    where = f"{plan.op}.describe_sharding"
    if not isinstance(mesh, (Mesh, AbstractMesh)):
        fail(where, f"mesh must be a jax.sharding.Mesh or AbstractMesh; got {type_name(mesh)}",
             _shapes(plan), kind=TypeError)
    layout = _checked_layout(plan, mesh, labels, where)
    sizes = dict(mesh.shape)
    rows = [(o.name, o.labels, o.shape, spec)
            for o, spec in zip(plan.operands, layout.operands, strict=True)]
    rows.append(("out", plan.output, plan.out_shape, layout.output))
    label_w = max(len(r[1]) for r in rows)
    shape_w = max(len(str(r[2])) for r in rows)
    spec_w = max(len(_spec_str(r[3])) for r in rows)
    assigned = ", ".join(f"{label} -> {_axes_str(axes)}" for label, axes in layout.labels)
    lines = [f"{str(plan).splitlines()[0]} on mesh {sizes}",
             f"  {'shard':<6}  {assigned or 'nothing (every device computes the whole product)'}"]
    for name, letters, shape, spec in rows:
        local = tuple(n // _devices(entry, sizes) for n, entry in zip(shape, spec, strict=True))
        lines.append(f"  {name:<6}  {letters:<{label_w}}  {str(shape):<{shape_w}}  "
                     f"{_spec_str(spec):<{spec_w}}  per device {local}")
    by_label = dict(layout.labels)
    if layout.reduced:
        for label in layout.reduced:
            axes = by_label[label]
            noun = "mesh axis" if len(axes) == 1 else "mesh axes"
            lines.append(f"  {'reduce':<6}  {label} is contracted and sharded: XLA sums partial "
                         f"results across {noun} {_axes_str(axes)}")
        lines.append(f"  {'':<6}  (all-reduce, or reduce-scatter)")
    else:
        lines.append(f"  {'reduce':<6}  none: no contracted label is sharded, so the devices do "
                     "not communicate")
    return "\n".join(lines)


def make_layout(plan: Plan, mesh: Any, labels: Mapping[str, MeshAxes], where: str) -> Layout:
    """Validate ``label=mesh_axes`` keywords against ``plan`` and ``mesh``; errors say ``where``."""
    shapes = _shapes(plan)
    known = list(dict.fromkeys(c for o in plan.operands for c in o.labels))
    mesh_sizes = dict(mesh.shape)
    empty = [name for name, size in mesh_sizes.items() if size < 1]
    if empty:
        fail(where, f"every mesh axis needs at least one device; got {mesh_sizes}", shapes)
    sizes = plan.sizes
    owner: dict[str, str] = {}  # mesh axis -> the label it shards
    assigned: dict[str, tuple[str, ...]] = {}
    for label, value in labels.items():
        if label not in known:
            fail(where, f"unknown label {label!r}; the labels of {plan.subscripts!r} are "
                        f"{_names(known)}", shapes)
        axes = _mesh_axes(where, label, value, shapes)
        for axis in axes:
            if axis not in mesh_sizes:
                fail(where, f"unknown mesh axis {axis!r} for label {label!r}; the mesh's axes "
                            f"are {_names(mesh.axis_names)}", shapes)
            if axis in owner:
                first = owner[axis]
                problem = (f"mesh axis {axis!r} is given twice for label {label!r}"
                           if first == label else
                           f"mesh axis {axis!r} shards both label {first!r} and label {label!r}")
                fail(where, f"{problem}; a mesh axis can shard one label only", shapes)
            owner[axis] = label
        devices = _devices(axes, mesh_sizes)
        if sizes[label] % devices:
            across = (f"mesh axis {axes[0]!r} of size {devices}" if len(axes) == 1 else
                      f"mesh axes {axes} of sizes "
                      f"{'*'.join(str(mesh_sizes[a]) for a in axes)}={devices}")
            fail(where, f"label {label!r} has size {sizes[label]}, which is not divisible by "
                        f"{across}", shapes)
        if axes:
            assigned[label] = axes
    operands = tuple(
        _spec(where, plan, assigned, o.name, o.labels, o.shape, o.einsum_shape, shapes)
        for o in plan.operands
    )
    output = _spec(where, plan, assigned, "out", plan.output, plan.out_shape,
                   plan.einsum_out_shape, shapes)
    ordered = tuple((label, assigned[label]) for label in known if label in assigned)
    reduced = tuple(label for label, _ in ordered if label not in plan.output)
    return Layout(ordered, operands, output, reduced)


def _checked_layout(plan: Plan, mesh: Any, labels: Mapping[str, MeshAxes], where: str) -> Layout:
    try:
        return make_layout(plan, mesh, labels, where)
    except (ValueError, TypeError) as e:
        raise e.with_traceback(None) from None  # end the traceback at the user's call


@functools.lru_cache(maxsize=SHARDED_CACHE_SIZE)
def _sharded(plan: Plan, mesh: Mesh, in_specs: tuple[PartitionSpec, ...],
             out_spec: PartitionSpec) -> Callable[..., jax.Array]:
    """The jitted, sharded executor; cached so that ``plan.shard(mesh, ...)(x, y)`` in a loop
    compiles once."""
    out = NamedSharding(mesh, out_spec)
    body = functools.partial(run, plan)
    explicit = getattr(jax.sharding.AxisType, "Explicit", None)
    if explicit is not None and explicit in getattr(mesh, "axis_types", ()):
        # With explicit axes (jax.make_mesh's default) dot_general refuses a sharded contracted
        # axis unless told the result's sharding: let the partitioner choose inside, as with
        # auto axes, and pin the result to `out`.
        body = jax.sharding.auto_axes(body, out_sharding=out)
    return jax.jit(body, in_shardings=tuple(NamedSharding(mesh, s) for s in in_specs),
                   out_shardings=out)


def _spec(where: str, plan: Plan, assigned: Mapping[str, tuple[str, ...]], name: str,
          letters: str, shape: tuple[int, ...], einsum_shape: tuple[int, ...],
          shapes: Mapping[str, tuple[int, ...]]) -> PartitionSpec:
    """The PartitionSpec over ``shape`` of an operand (or the result) whose contraction axes
    carry ``letters`` with sizes ``einsum_shape``."""
    entries: list[Any] = [None] * len(shape)
    axis_of = _axis_map(shape, einsum_shape)
    subject = "the result" if name == "out" else name
    for pos, label in enumerate(letters):
        axes = assigned.get(label)
        if not axes:
            continue
        if letters.count(label) > 1:
            fail(where, f"label {label!r} appears {letters.count(label)} times in {subject} "
                        f"({letters!r}); a mesh axis can shard only one axis of an array", shapes)
        axis = axis_of[pos]
        if axis is None:
            if name == "out":
                why = (f"the plan reshapes its einsum result {einsum_shape} to {shape}, so "
                       f"{label!r} is not an axis of the result")
            else:
                why = (f"the plan reshapes {name} from {shape} to {einsum_shape} before the "
                       f"contraction, so {label!r} is not an axis of {name}")
            fail(where, f"cannot shard label {label!r}: {why}; leave {label!r} unsharded "
                        f"(plan: {plan.subscripts!r})", shapes)
        entries[axis] = axes[0] if len(axes) == 1 else axes
    return PartitionSpec(*entries)


def _axis_map(shape: tuple[int, ...], einsum_shape: tuple[int, ...]) -> tuple[int | None, ...]:
    """For each axis of ``einsum_shape``, the axis of ``shape`` holding it, or ``None``.

    The identity when nothing is reshaped. A reshape that only adds or drops size-1 axes keeps
    the other axes in order, so they map one to one; its size-1 axes, and every axis of any other
    reshape (which merges or splits axes), map to nothing.
    """
    if shape == einsum_shape:
        return tuple(range(len(shape)))
    kept = [i for i, n in enumerate(shape) if n != 1]
    if [shape[i] for i in kept] != [n for n in einsum_shape if n != 1]:
        return (None,) * len(einsum_shape)
    user_axes = iter(kept)
    return tuple(None if n == 1 else next(user_axes) for n in einsum_shape)


def _mesh_axes(where: str, label: str, value: Any,
               shapes: Mapping[str, tuple[int, ...]]) -> tuple[str, ...]:
    """``'data'`` -> ``('data',)``; a tuple or list of names -> a tuple; ``None`` -> ``()``."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    fail(where, f"label {label!r} must map to a mesh axis name, a tuple of them, or None; got "
                f"{type_name(value)}", shapes, kind=TypeError)


def _devices(entry: Any, mesh_sizes: Mapping[str, int]) -> int:
    """How many devices a PartitionSpec entry (None, a name, or a tuple of names) splits over."""
    if entry is None:
        return 1
    names = (entry,) if isinstance(entry, str) else entry
    return math.prod(mesh_sizes[a] for a in names)


def _spec_str(spec: PartitionSpec) -> str:
    return "P(" + ", ".join(repr(e) if e is None or isinstance(e, str) else repr(tuple(e))
                            for e in spec) + ")"


def _axes_str(axes: tuple[str, ...]) -> str:
    return repr(axes[0]) if len(axes) == 1 else repr(axes)


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _shapes(plan: Plan) -> dict[str, tuple[int, ...]]:
    return {o.name: o.shape for o in plan.operands}
