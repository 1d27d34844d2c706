"""Keras 2 backend products: ``from dotsum import keras as K``.

Each op is a rule from shapes and static params to a :class:`~dotsum.Plan`; ``op.plan(...)``
returns it without arrays. See ``docs/semantics.md`` for what each rule reproduces.
"""

from __future__ import annotations

from typing import Any

import jax

from dotsum._dispatch import Op
from dotsum._errors import fail, type_name
from dotsum._plan import Plan, Term, make_plan
from dotsum._rules import broadcast, is_int, matmul_terms, require_rank

__all__ = ["batch_dot", "dot"]


# -- dot --------------------------------------------------------------------------------------
def _dot_rule(op: str, x: tuple[int, ...], y: tuple[int, ...], **options: Any) -> Plan:
    shapes = {"x": x, "y": y}
    for name in shapes:
        require_rank(op, name, shapes, 1, " (numpy.dot semantics; 0-D operands are rejected)")
    ya = -2 if len(y) >= 2 else -1
    if x[-1] != y[ya]:
        fail(op, f"axis -1 of x (size {x[-1]}) does not match axis {ya} of y (size {y[ya]})",
             shapes)
    x_ids = tuple(("x", i) for i in range(len(x) - 1)) + ("k",)
    y_ids = tuple("k" if i == len(y) + ya else ("y", i) for i in range(len(y)))
    out_ids = x_ids[:-1] + tuple(i for i in y_ids if i != "k")
    out_shape = x[:-1] + y[:ya] + (y[-1:] if ya == -2 else ())
    terms = [Term("x", x, x_ids, x), Term("y", y, y_ids, y)]
    return make_plan(op, (), terms, out_ids, out_shape, **options)


_DOT = Op("keras.dot", _dot_rule, ("x", "y"))


def dot(x: Any, y: Any, *, precision: Any = None, preferred_element_type: Any = None) -> jax.Array:
    """Keras 2 ``K.dot``: ``numpy.dot`` for every rank >= 1.

    The last axis of ``x`` contracts with the second-to-last axis of ``y`` (its only axis when
    ``y`` is 1-D); every other axis of both is kept, ``x``'s first. Output shape:
    ``x.shape[:-1] + y.shape[:-2] + y.shape[-1:]``.

    >>> import jax.numpy as jnp
    >>> dot(jnp.ones((2, 3, 4)), jnp.ones((7, 6, 4, 5))).shape
    (2, 3, 7, 6, 5)
    >>> dot.plan((2, 3, 4), (7, 6, 4, 5)).subscripts   # jnp.einsum('abk,cdkf->abcdf', x, y)
    'abk,cdkf->abcdf'

    Unlike the TensorFlow backend, 1-D operands follow numpy (TF rejects some of them), and a size
    mismatch is reported on your axes rather than on a reshaped 2-D view. Dtypes follow JAX type
    promotion (TF requires equal dtypes).

    Args:
      x, y: arrays (JAX, NumPy, or nested lists) of rank >= 1.
      precision: passed to ``lax.dot_general``.
      preferred_element_type: passed to ``lax.dot_general``; the result has this dtype.
    """
    return _DOT((x, y), (), precision, preferred_element_type)


def _dot_plan(
    x_shape: Any, y_shape: Any, *, precision: Any = None, preferred_element_type: Any = None
) -> Plan:
    """The plan of ``dot`` for these shapes, without arrays."""
    return _DOT.plan((x_shape, y_shape), (), precision, preferred_element_type)


dot.plan = _dot_plan  # type: ignore[attr-defined]


# -- batch_dot ----------------------------------------------------------------------------------
def _parse_axes(op: str, axes: Any, default: tuple[int, int], shapes: dict) -> tuple[int, int]:
    """``None`` -> default, an int ``a`` -> ``(a, a)``, a pair of ints -> itself."""
    if axes is None:
        return default
    if is_int(axes):
        return int(axes), int(axes)
    if isinstance(axes, (list, tuple)):
        if any(isinstance(a, (list, tuple)) for a in axes):
            fail(op, f"axes must name one axis of each operand; got {axes!r} (multiple target "
                     "dimensions are not supported: use tensordot or einsum)", shapes)
        if len(axes) != 2:
            fail(op, f"axes must be an int or a pair of ints; got {len(axes)} values {axes!r}",
                 shapes)
        for a in axes:
            if not is_int(a):
                fail(op, f"axes must be ints; got {type_name(a)} in axes={axes!r}", shapes,
                     kind=TypeError)
        return int(axes[0]), int(axes[1])
    fail(op, f"axes must be None, an int or a pair of ints; got {type_name(axes)}", shapes,
         kind=TypeError)


def _batch_dot_rule(op: str, x: tuple[int, ...], y: tuple[int, ...], axes: Any,
                    **options: Any) -> Plan:
    """Keras >= 2.2.5 semantics (tf_keras, Keras 3 ``Dot``): SEMANTICS §2."""
    shapes = {"x": x, "y": y}
    for name in shapes:
        require_rank(op, name, shapes, 2, " (axis 0 is the batch axis)")
    if x[0] != y[0]:
        fail(op, f"batch sizes differ: x.shape[0]={x[0]}, y.shape[0]={y[0]}", shapes)
    default = (len(x) - 1, len(y) - (1 if len(y) == 2 else 2))
    parsed = _parse_axes(op, axes, default, shapes)
    normal = []
    for name, a, rank in (("x", parsed[0], len(x)), ("y", parsed[1], len(y))):
        n = a + rank if a < 0 else a
        if not 0 <= n < rank:
            fail(op, f"axis {a} is out of range for {name} of rank {rank} (axes={axes!r})",
                 shapes)
        if n == 0:
            fail(op, f"cannot contract over axis 0 of {name}, the batch axis (axes={axes!r})",
                 shapes)
        normal.append(n)
    a0, a1 = normal
    if x[a0] != y[a1]:
        fail(op, f"contracted axes differ in size: x.shape[{a0}] != y.shape[{a1}] "
                 f"({x[a0]} != {y[a1]}) for axes={axes!r}", shapes)
    x_ids = tuple("b" if i == 0 else "k" if i == a0 else ("x", i) for i in range(len(x)))
    y_ids = tuple("b" if i == 0 else "k" if i == a1 else ("y", i) for i in range(len(y)))
    out_ids = ("b",) + tuple(i for i in x_ids + y_ids if i not in ("b", "k"))
    out_shape = (x[0],) + tuple(s for i, s in enumerate(x) if i not in (0, a0)) + tuple(
        s for i, s in enumerate(y) if i not in (0, a1))
    if len(out_shape) == 1:  # 2-D . 2-D: Keras returns (batch, 1)
        out_shape += (1,)
    terms = [Term("x", x, x_ids, x), Term("y", y, y_ids, y)]
    return make_plan(op, (("axes", (a0, a1)),), terms, out_ids, out_shape, **options)


def _legacy_rule(op: str, x: tuple[int, ...], y: tuple[int, ...], axes: Any,
                 **options: Any) -> Plan:
    """Keras <= 2.2.4 semantics (TensorFlow backend), values included: SEMANTICS §3.

    Step by step as Keras 2.2.4 computed it: pad the lower-rank operand with trailing size-1
    axes; rank 2 is an elementwise product summed over one axis, any other rank is a ``tf.matmul``
    whose adjoints ``axes`` choose (all leading axes broadcast as batch axes; negative axes are
    compared unnormalised); then the padded axes are squeezed and a 1-D result becomes ``(b, 1)``.
    """
    shapes = {"x": x, "y": y}
    for name in shapes:
        require_rank(op, name, shapes, 1)
    a0, a1 = _parse_axes(op, axes, (len(x) - 1, len(y) - 2), shapes)
    rank = max(len(x), len(y))
    diff = abs(len(x) - len(y))
    xp, yp = x + (1,) * (rank - len(x)), y + (1,) * (rank - len(y))
    if rank == 1:
        fail(op, "Keras 2.2.4 fails here: both operands are 1-D and tf.matmul needs rank >= 2",
             shapes)
    if rank == 2:
        terms, out_ids, out_shape = _legacy_rank2(op, shapes, xp, yp, a0, a1)
    else:
        terms, out_ids, out_shape = matmul_terms(
            op, shapes, "x", xp, "y", yp,
            transpose_a=a0 != rank - 1, conj_a=a0 != rank - 1,
            transpose_b=a1 == rank - 1, conj_b=a1 == rank - 1,
        )
    if diff:
        start = len(x) + len(y) - 3 if len(x) > len(y) else len(x) - 1
        squeeze = range(start, start + diff)
        if not all(-len(out_shape) <= i < len(out_shape) and out_shape[i] == 1 for i in squeeze):
            fail(op, f"Keras 2.2.4 fails here: it squeezes axes {tuple(squeeze)} of its "
                     f"intermediate product of shape {out_shape}, which are not all of size 1",
                 shapes)
        out_shape = tuple(s for i, s in enumerate(out_shape) if i not in squeeze)
    if len(out_shape) == 1:
        out_shape += (1,)
    params = (("axes", axes if axes is None or is_int(axes) else (a0, a1)),)
    return make_plan(op, params, terms, out_ids, out_shape, **options)


def _legacy_rank2(op, shapes, xp, yp, a0, a1):
    """``sum(x * y, a0)`` if ``a0 == a1`` else ``sum(transpose(x) * y, a1)``, broadcasting."""
    summed_axis = a0 if a0 == a1 else a1  # the only axis Keras 2.2.4 indexes with
    if not -2 <= summed_axis < 2:
        fail(op, f"Keras 2.2.4 fails here: axis {summed_axis} is out of range for its rank-2 "
                 f"product (axes={(a0, a1)!r})", shapes)
    left = xp if a0 == a1 else xp[::-1]
    if not all(p == q or 1 in (p, q) for p, q in zip(left, yp)):
        product = "x * y" if a0 == a1 else "transpose(x) * y"
        fail(op, f"Keras 2.2.4 fails here: {product} does not broadcast ({left} vs {yp}, "
                 "after padding)", shapes)
    x_ids, x_kept, y_ids, y_kept, out_ids, out_sizes = broadcast(op, shapes, "x", left, "y", yp)
    if a0 != a1:  # x enters transposed: read its (at most two) labels back in x's axis order
        x_ids, x_kept = x_ids[::-1], x_kept[::-1]
    summed = out_ids[summed_axis]
    terms = [Term("x", shapes["x"], x_ids, x_kept), Term("y", shapes["y"], y_ids, y_kept)]
    keep = tuple(i for i in out_ids if i != summed)
    return terms, keep, tuple(s for i, s in zip(out_ids, out_sizes) if i != summed)


_BATCH_DOT = Op("keras.batch_dot", _batch_dot_rule, ("x", "y"))
_LEGACY_BATCH_DOT = Op("keras.batch_dot[legacy]", _legacy_rule, ("x", "y"))


def _batch_dot_op(legacy: Any) -> Op:
    if legacy is True or legacy is False:
        return _LEGACY_BATCH_DOT if legacy else _BATCH_DOT
    fail("keras.batch_dot", f"legacy must be a bool; got {type_name(legacy)}", kind=TypeError)


def batch_dot(
    x: Any,
    y: Any,
    axes: Any = None,
    *,
    legacy: bool = False,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> jax.Array:
    """Keras 2 ``K.batch_dot``: a per-sample product over ONE axis of each operand.

    Axis 0 is the only batch axis. ``axes`` names the contracted axis of ``x`` and of ``y``
    (counted with the batch axis): an int ``a`` means ``(a, a)``; ``None`` means the last axis of
    ``x`` with the second-to-last of ``y`` (the last, if ``y`` is 2-D). The output is the batch
    axis, then ``x``'s remaining axes, then ``y``'s; 2-D . 2-D gives ``(batch, 1)``.

    >>> import jax.numpy as jnp
    >>> batch_dot(jnp.array([[1, 2], [3, 4]]), jnp.array([[5, 6], [7, 8]]), axes=1)
    Array([[17],
           [53]], dtype=int32)
    >>> batch_dot.plan((10, 12, 4, 5), (10, 12, 5, 8)).out_shape   # not a batched matmul!
    (10, 12, 4, 12, 8)
    >>> batch_dot.plan((10, 12, 4, 5), (10, 12, 5, 8), legacy=True).out_shape
    (10, 12, 4, 8)

    Args:
      x, y: arrays (JAX, NumPy, or nested lists).
      axes: ``None``, an int, or a pair of ints (NumPy integers too; negative ones count from
        the end).
      legacy: reproduce Keras <= 2.2.4 (TensorFlow backend) instead, values included: all
        leading axes batch-broadcast like ``tf.matmul``, ``axes`` only choose (conjugate)
        transposes and are not normalised, and rank-2 inputs are an elementwise product summed
        over one axis. Old trained models that call ``batch_dot`` need this.
      precision: passed to ``lax.dot_general``.
      preferred_element_type: passed to ``lax.dot_general``.
    """
    return _batch_dot_op(legacy)((x, y), (axes,), precision, preferred_element_type)


def _batch_dot_plan(
    x_shape: Any,
    y_shape: Any,
    axes: Any = None,
    *,
    legacy: bool = False,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Plan:
    """The plan of ``batch_dot`` for these shapes, without arrays."""
    return _batch_dot_op(legacy).plan((x_shape, y_shape), (axes,), precision,
                                      preferred_element_type)


batch_dot.plan = _batch_dot_plan  # type: ignore[attr-defined]
