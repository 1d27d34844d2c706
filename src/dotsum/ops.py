"""Keras 3 ``keras.ops`` / NumPy products: ``from dotsum import ops``.

Semantics and result dtypes are those of Keras 3 on the JAX backend (docs/semantics.md).
"""

from __future__ import annotations

from typing import Any

import jax

from dotsum._dispatch import Op
from dotsum._errors import fail
from dotsum._plan import Plan
from dotsum._products import (
    AUTO,
    dot_rule,
    einsum_rule,
    inner_rule,
    matmul_rule,
    outer_rule,
    planner,
    tensordot_rule,
    vdot_rule,
)

__all__ = ["dot", "einsum", "inner", "matmul", "outer", "tensordot", "vdot"]


_X = ("x1", "x2")
_OPS = {
    name: Op(f"ops.{name}", factory(_X, policy), _X)
    for name, factory, policy in [
        ("dot", dot_rule, "jax"), ("matmul", matmul_rule, "keras3-int8"),
        ("tensordot", tensordot_rule, "jax"), ("inner", inner_rule, "jax"),
        ("outer", outer_rule, "jax"), ("vdot", vdot_rule, "jax")]
}
_DOT, _MATMUL, _TENSORDOT, _INNER, _OUTER, _VDOT = _OPS.values()


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
    if precision is None and preferred_element_type is None:
        return _DOT.fast2(x1, x2)
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
    if precision is None and preferred_element_type is None:
        return _MATMUL.fast2(x1, x2)
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


for _f, _op in ((dot, _DOT), (matmul, _MATMUL), (inner, _INNER), (outer, _OUTER),
                (vdot, _VDOT)):
    _f.plan = planner(_op, _X, _op.name)  # type: ignore[attr-defined]
tensordot.plan = _tensordot_plan  # type: ignore[attr-defined]

_EINSUM = Op("ops.einsum", einsum_rule("keras3-int8"), None)


def einsum(subscripts: str, /, *operands: Any, out: None = None, optimize: Any = AUTO,
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
        ``'optimal'``, …), ``True`` (``'optimal'``, as ``jnp.einsum`` reads it, which Keras 3
        on JAX calls), ``False`` (left to right), or an explicit path.
      precision: passed to ``lax.dot_general``.
      preferred_element_type: passed to ``lax.dot_general``; the result has this dtype.
    """
    if (optimize is AUTO and out is None and precision is None
            and preferred_element_type is None and len(operands) == 2
            and type(subscripts) is str):  # the default call: the cheapest tests first
        return _EINSUM.fast2(operands[0], operands[1], (subscripts, AUTO))  # no *-call
    if out is not None:
        fail("ops.einsum", "the out argument is not supported (JAX arrays are immutable)",
             kind=TypeError)
    return _EINSUM(operands, (subscripts, optimize), precision, preferred_element_type)


def _einsum_plan(subscripts: str, /, *shapes: Any, optimize: Any = "auto",
                 precision: Any = None, preferred_element_type: Any = None) -> Plan:
    """The plan of ``einsum`` for these operand shapes, without arrays."""
    return _EINSUM.plan(shapes, (subscripts, optimize), precision, preferred_element_type)


einsum.plan = _einsum_plan  # type: ignore[attr-defined]
