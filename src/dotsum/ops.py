"""Keras 3 ``keras.ops`` / NumPy products: ``from dotsum import ops``.

Semantics and result dtypes are those of Keras 3 on the JAX backend (SEMANTICS §6).
"""

from __future__ import annotations

from typing import Any

import jax

from dotsum._dispatch import Op
from dotsum._einsum import einsum_plan
from dotsum._errors import fail
from dotsum._plan import Plan

__all__ = ["einsum"]


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
