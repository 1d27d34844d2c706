"""``out_sharding=``: the result placed as asked, as ``jax.numpy``'s products place it.

On a mesh with explicit axes, JAX types every array with its sharding and asks for the result's
sharding where it cannot infer one (a contracted axis that is sharded). ``jnp.einsum`` answers
by running the contraction with the mesh's explicit axes made automatic (``auto_axes``) and
resharding the result to ``out_sharding``; dotsum does the same for every op and every plan, so
a plan of several ``dot_general`` steps (or one laid out with transposes) is placed exactly as
one ``jnp`` call would be. The plan itself is unchanged: sharding is a property of the call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
from jax.sharding import AxisType, NamedSharding, PartitionSpec

from dotsum._errors import fail, type_name
from dotsum._jax import ShardingTypeError


def _mesh_and_spec(op: str, out_sharding: Any, shapes: dict):
    if isinstance(out_sharding, NamedSharding):
        return out_sharding.mesh, out_sharding.spec
    if isinstance(out_sharding, PartitionSpec):
        mesh = jax.sharding.get_abstract_mesh()
        if mesh.empty:
            fail(op, f"out_sharding={out_sharding} is a PartitionSpec, which needs a mesh: "
                     f"call under jax.set_mesh(mesh), or pass a NamedSharding", shapes)
        return mesh, out_sharding
    fail(op, f"out_sharding must be None, a jax.sharding.NamedSharding or a PartitionSpec; got "
             f"{type_name(out_sharding)}", shapes, kind=TypeError)


def _named_axes(spec: PartitionSpec) -> list[str]:
    names = []
    for entry in spec:
        names.extend(entry if isinstance(entry, tuple) else () if entry is None else (entry,))
    return names


def _off_the_mesh(out_sharding: Any, arrays: Sequence[Any]) -> bool:
    """A ``NamedSharding`` with no mesh set (``jax.set_mesh``) and no operand on any mesh: the
    program runs on the operands' device, not the sharding's mesh."""
    if not isinstance(out_sharding, NamedSharding) or out_sharding.mesh.size == 1:
        return False
    if not jax.sharding.get_abstract_mesh().empty:
        return False
    for a in arrays:
        aval = getattr(a, "aval", None)
        mesh = getattr(getattr(aval, "sharding", None), "mesh", None)
        if mesh is not None and not mesh.empty:
            return False
    return True


def placed(op: str, names: Sequence[str], call: Callable[..., jax.Array],
           arrays: Sequence[Any], out_sharding: Any) -> jax.Array:
    """``call(*arrays)`` with its result sharded as ``out_sharding`` (eagerly or traced);
    ``names`` name the operands in messages.

    Off the mesh (:func:`_off_the_mesh`) ``jax.numpy`` is not consistent, and neither are we:
    its one-``dot_general`` products (``dot``, ``matmul``, two-operand ``einsum``, ...) return
    the result on the operands' device, the sharding dropped, eagerly and under ``jit``, and so
    do ours; its multi-step ``einsum`` fails for the mesh's size, and ours says so, named for
    the op (JAX 0.8-0.12)."""
    arrays = tuple(arrays)
    shapes = {name: tuple(getattr(a, "shape", ())) for name, a in zip(names, arrays)}
    if _off_the_mesh(out_sharding, arrays):
        if len(arrays) <= 2:
            return call(*arrays)
        fail(op, f"out_sharding={out_sharding} is on a mesh of {out_sharding.mesh.size} "
                 f"devices, but no mesh is set and no operand is on it: call under "
                 f"jax.set_mesh(mesh), or put the operands on the mesh", shapes)
    mesh, spec = _mesh_and_spec(op, out_sharding, shapes)
    types = dict(zip(mesh.axis_names, mesh.axis_types))
    for name in _named_axes(spec):
        if name not in types:
            fail(op, f"out_sharding names mesh axis {name!r}, which the mesh does not have; its "
                     f"axes are {', '.join(map(repr, mesh.axis_names))}", shapes)
        if types[name] != AxisType.Explicit:
            fail(op, f"out_sharding may name only explicit mesh axes, as jax.numpy requires; "
                     f"axis {name!r} is {types[name].name}", shapes)
    explicit = tuple(n for n, t in types.items() if t == AxisType.Explicit)
    try:
        if explicit:
            return jax.sharding.auto_axes(call, axes=explicit, out_sharding=out_sharding)(
                *arrays)
        return jax.lax.with_sharding_constraint(call(*arrays), out_sharding)
    except (ValueError, TypeError, ShardingTypeError) as e:
        message = str(e).strip()
        if message.startswith(f"{op}:"):
            raise
        fail(op, f"out_sharding={out_sharding}: {message.splitlines()[0]}", shapes,
             kind=TypeError if isinstance(e, TypeError) else ValueError)
