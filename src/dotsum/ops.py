"""Keras 3 ``keras.ops`` / NumPy products: ``from dotsum import ops``.

Semantics and result dtypes are those of Keras 3 on the JAX backend (docs/semantics.md).
"""

from __future__ import annotations

import math
from typing import Any

import jax

from dotsum._dispatch import Op
from dotsum._einsum import einsum_plan
from dotsum._errors import fail
from dotsum._plan import Plan, Term, make_plan
from dotsum._rules import (
    drop_labels,
    matmul_terms,
    numpy_dot_terms,
    require_rank,
    tensordot_axes,
    tensordot_terms,
)
from dotsum._symbolic import differ

__all__ = ["dot", "einsum", "inner", "matmul", "outer", "tensordot", "vdot"]


# -- dot, matmul, tensordot, inner, outer, vdot ----------------------------------------------------
def _dot_rule(op: str, x1, x2, **options: Any) -> Plan:
    terms, out_ids, out_shape = numpy_dot_terms(op, {"x1": x1, "x2": x2}, "x1", "x2",
                                                scalars=True)
    return make_plan(op, (), terms, out_ids, out_shape, **options)


def _matmul_rule(op: str, x1, x2, **options: Any) -> Plan:
    shapes = {"x1": x1, "x2": x2}
    for name in shapes:
        require_rank(op, name, shapes, 1, " (numpy.matmul semantics)")
    a = (1,) + x1 if len(x1) == 1 else x1  # numpy promotes 1-D operands, then drops the axis
    b = x2 + (1,) if len(x2) == 1 else x2
    terms, out_ids, out_shape = matmul_terms(op, shapes, "x1", a, "x2", b)
    drop = {"m"} if len(x1) == 1 else set()
    drop |= {"n"} if len(x2) == 1 else set()
    terms, out_ids, out_shape = drop_labels(terms, out_ids, out_shape, drop)
    return make_plan(op, (), terms, out_ids, out_shape, dtype_policy="keras3-int8", **options)


def _tensordot_rule(op: str, x1, x2, axes: Any, **options: Any) -> Plan:
    shapes = {"x1": x1, "x2": x2}
    spelled, normal = tensordot_axes(op, shapes, "x1", "x2", axes)
    terms, out_ids, out_shape = tensordot_terms(op, shapes, "x1", "x2", spelled, normal)
    return make_plan(op, (("axes", normal),), terms, out_ids, out_shape, **options)


def _inner_rule(op: str, x1, x2, **options: Any) -> Plan:
    shapes = {"x1": x1, "x2": x2}
    if not x1 or not x2:  # a 0-D operand multiplies, as in numpy.inner
        return _dot_rule(op, x1, x2, **options)
    last = ((-1,), (-1,)), ((len(x1) - 1,), (len(x2) - 1,))
    terms, out_ids, out_shape = tensordot_terms(op, shapes, "x1", "x2", *last)
    return make_plan(op, (), terms, out_ids, out_shape, **options)


def _flat(name: str, shape: tuple[int, ...], label: str, conj: bool = False) -> Term:
    return Term(name, shape, (label,), (math.prod(shape),), conj)


def _outer_rule(op: str, x1, x2, **options: Any) -> Plan:
    terms = [_flat("x1", x1, "a"), _flat("x2", x2, "b")]
    shape = (terms[0].einsum_shape[0], terms[1].einsum_shape[0])
    return make_plan(op, (), terms, ("a", "b"), shape, **options)


def _vdot_rule(op: str, x1, x2, **options: Any) -> Plan:
    terms = [_flat("x1", x1, "k", conj=True), _flat("x2", x2, "k")]
    n1, n2 = terms[0].einsum_shape[0], terms[1].einsum_shape[0]
    if differ(op, {"x1": x1, "x2": x2}, n1, n2,
              f"x1 and x2 have the same number of elements ({n1} and {n2})"):
        fail(op, f"x1 and x2 must have the same number of elements; got "
                 f"{terms[0].einsum_shape[0]} and {terms[1].einsum_shape[0]}", {"x1": x1, "x2": x2})
    return make_plan(op, (), terms, (), (), **options)


_OPS = {
    name: Op(f"ops.{name}", rule, ("x1", "x2"))
    for name, rule in [("dot", _dot_rule), ("matmul", _matmul_rule),
                       ("tensordot", _tensordot_rule), ("inner", _inner_rule),
                       ("outer", _outer_rule), ("vdot", _vdot_rule)]
}
_DOT, _MATMUL, _TENSORDOT, _INNER, _OUTER, _VDOT = _OPS.values()


def _planner(op: Op):
    """``op.plan`` with the public function's signature: ``plan(x1_shape, x2_shape)``."""

    def plan(x1_shape: Any, x2_shape: Any, *, precision: Any = None,
             preferred_element_type: Any = None) -> Plan:
        return op.plan((x1_shape, x2_shape), (), precision, preferred_element_type)

    plan.__doc__ = f"The plan of ``{op.name}(x1, x2)`` for these shapes, without arrays."
    return plan


def _tensordot_plan(x1_shape: Any, x2_shape: Any, axes: Any = 2, *, precision: Any = None,
                    preferred_element_type: Any = None) -> Plan:
    """The plan of ``ops.tensordot(x1, x2, axes)`` for these shapes, without arrays."""
    return _TENSORDOT.plan((x1_shape, x2_shape), (axes,), precision, preferred_element_type)


def dot(x1: Any, x2: Any, *, precision: Any = None, preferred_element_type: Any = None):
    """``keras.ops.dot`` / ``numpy.dot``: the last axis of ``x1`` with the second-to-last of
    ``x2`` (its only axis if 1-D), every other axis kept; a 0-D operand multiplies.

    >>> dot.plan((2, 3, 4), (7, 4, 5)).subscripts
    'abk,cke->abce'
    >>> dot.plan((), (3, 4)).subscripts
    ',ab->ab'
    """
    return _DOT((x1, x2), (), precision, preferred_element_type)


def matmul(x1: Any, x2: Any, *, precision: Any = None, preferred_element_type: Any = None):
    """``keras.ops.matmul`` / ``numpy.matmul``: matrix product of the last two axes, leading
    axes broadcast; a 1-D operand is promoted to a matrix and the added axis removed; 0-D is an
    error. int8 . int8 accumulates into int32, as Keras 3 does.

    >>> matmul.plan((5, 1, 2, 3), (4, 3, 6)).subscripts
    'abk,cke->acbe'
    >>> matmul.plan((3,), (2, 3, 4)).out_shape
    (2, 4)
    """
    return _MATMUL((x1, x2), (), precision, preferred_element_type)


def tensordot(x1: Any, x2: Any, axes: Any = 2, *, precision: Any = None,
              preferred_element_type: Any = None):
    """``keras.ops.tensordot`` / ``numpy.tensordot``: contract the last ``axes`` axes of ``x1``
    with the first ``axes`` of ``x2``, or the pairs ``axes=(x1_axes, x2_axes)`` name.

    >>> tensordot.plan((2, 3, 4), (3, 4, 5)).subscripts
    'akl,kld->ad'
    >>> tensordot.plan((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])).subscripts
    'akl,lkd->ad'

    A negative int is a ``ValueError`` (NumPy and ``jnp.tensordot`` silently return the outer
    product).
    """
    return _TENSORDOT((x1, x2), (axes,), precision, preferred_element_type)


def inner(x1: Any, x2: Any, *, precision: Any = None, preferred_element_type: Any = None):
    """``keras.ops.inner`` / ``numpy.inner``: sum over the last axes of both; the output is
    ``x1.shape[:-1] + x2.shape[:-1]``; a 0-D operand multiplies.

    >>> inner.plan((2, 3), (4, 3)).subscripts
    'ak,bk->ab'
    """
    return _INNER((x1, x2), (), precision, preferred_element_type)


def outer(x1: Any, x2: Any, *, precision: Any = None, preferred_element_type: Any = None):
    """``keras.ops.outer`` / ``numpy.outer``: both operands flattened, ``(x1.size, x2.size)``.

    >>> outer.plan((2, 3), (4,)).subscripts
    'a,b->ab'
    """
    return _OUTER((x1, x2), (), precision, preferred_element_type)


def vdot(x1: Any, x2: Any, *, precision: Any = None, preferred_element_type: Any = None):
    """``keras.ops.vdot`` / ``numpy.vdot``: both flattened, ``x1`` conjugated, a scalar.

    >>> print(vdot.plan((2, 3), (6,)))  # doctest: +NORMALIZE_WHITESPACE
    ops.vdot(x1: (2, 3), x2: (6,))
      einsum  k,k->
      x1      k  (2, 3)  reshape to (6,), conjugate
      x2      k  (6,)
      out        ()
      flops   12
      xla     cpu: dot_general(x1, x2, contract=(0,)x(0,), batch=()x())
    """
    return _VDOT((x1, x2), (), precision, preferred_element_type)


dot.plan = _planner(_DOT)  # type: ignore[attr-defined]
matmul.plan = _planner(_MATMUL)  # type: ignore[attr-defined]
tensordot.plan = _tensordot_plan  # type: ignore[attr-defined]
inner.plan = _planner(_INNER)  # type: ignore[attr-defined]
outer.plan = _planner(_OUTER)  # type: ignore[attr-defined]
vdot.plan = _planner(_VDOT)  # type: ignore[attr-defined]


def _einsum_rule(op: str, shapes, subscripts: Any, optimize: Any, **options: Any) -> Plan:
    return einsum_plan(op, shapes, subscripts, optimize, "numpy", dtype_policy="keras3-int8",
                       **options)


_EINSUM = Op("ops.einsum", _einsum_rule, None)


def einsum(subscripts: str, /, *operands: Any, out: None = None, optimize: Any = "auto",
           precision: Any = None, preferred_element_type: Any = None) -> jax.Array:
    """``keras.ops.einsum`` / ``jnp.einsum``, planned once per (subscripts, shapes).

    Explicit (``'ij,jk->ik'``) and implicit (``'ij,jk'``) modes, ``...`` broadcasting, size-1
    broadcasting of named labels, repeated labels (``'ii->i'``, ``'ii'``), any number of
    operands. For three or more operands the contraction path (opt_einsum, ``optimize``) is
    computed once and kept in the plan (``plan.path``). Result dtypes follow Keras 3: JAX
    promotion, except that int8 operands only accumulate into int32.

    >>> import jax.numpy as jnp
    >>> einsum("bqd,bkd->bqk", jnp.ones((2, 3, 4)), jnp.ones((2, 5, 4))).shape
    (2, 3, 5)
    >>> plan = einsum.plan("ij,jk,kl->il", (2, 3), (3, 4), (4, 5))
    >>> plan.subscripts, plan.path
    ('ij,jk,kl->il', ((0, 1), (0, 1)))

    Args:
      subscripts: the einsum equation: letters ``a-z``, ``A-Z`` and ``...``.
      operands: arrays (JAX, NumPy, nested lists, scalars).
      out: unsupported, as in ``jnp.einsum``; must be None.
      optimize: the contraction-path strategy for opt_einsum (``'auto'``, ``'greedy'``,
        ``'optimal'``, …), ``True``/``False`` (left to right), or an explicit path.
      precision: passed to ``lax.dot_general``.
      preferred_element_type: passed to ``lax.dot_general``; the result has this dtype.
    """
    if out is not None:
        fail("ops.einsum", "the out argument is not supported (JAX arrays are immutable)",
             kind=TypeError)
    return _EINSUM(operands, (subscripts, optimize), precision, preferred_element_type)


def _einsum_plan(subscripts: str, /, *shapes: Any, optimize: Any = "auto",
                 precision: Any = None, preferred_element_type: Any = None) -> Plan:
    """The plan of ``einsum`` for these operand shapes, without arrays."""
    return _EINSUM.plan(shapes, (subscripts, optimize), precision, preferred_element_type)


einsum.plan = _einsum_plan  # type: ignore[attr-defined]
