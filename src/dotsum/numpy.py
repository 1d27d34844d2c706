"""``jax.numpy``'s products with their exact semantics: ``from dotsum import numpy as dnp``.

A drop-in for JAX model code: the same signatures, shapes, result dtypes (JAX's promotion, weak
types included, ``preferred_element_type``, ``precision`` with dot algorithms) and
``out_sharding``, each call compiled to one plan (``dnp.einsum.plan(...)``) like every dotsum
op. ``dotsum.ops`` is the Keras 3 flavour of the same family: there ``matmul`` and ``einsum``
accumulate int8 in int32, as Keras does; here int8 stays int8, as in ``jax.numpy``.

>>> import jax.numpy as jnp
>>> from dotsum import numpy as dnp
>>> dnp.einsum("bqd,bkd->bqk", jnp.ones((2, 3, 4)), jnp.ones((2, 5, 4))).shape
(2, 3, 5)
>>> dnp.einsum(jnp.ones((2, 3)), [0, 1], jnp.ones((3, 4)), [1, 2], [0, 2]).shape
(2, 4)
>>> dnp.matmul.plan(jnp.ones((5, 1, 2, 3)), (4, 3, 6)).subscripts
'abk,cke->acbe'

Deliberate differences, each an error where ``jax.numpy`` would answer: a negative int
``axes`` of ``tensordot`` (``jnp`` returns the outer product) is a ``ValueError``; a contraction
path that contracts three operands at once is a ``ValueError`` (``jnp`` refuses it with its own
exception type).
Errors are ``ValueError``/``TypeError`` starting with the op's name (``numpy.dot: …``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from dotsum._dispatch import Op
from dotsum._errors import fail, type_name
from dotsum._out_sharding import placed
from dotsum._plan import Plan
from dotsum._products import (
    AUTO,
    dot_rule,
    einsum_rule,
    inner_rule,
    matmul_rule,
    matvec_rule,
    outer_rule,
    planner,
    tensordot_rule,
    vdot_rule,
    vecdot_rule,
    vecmat_rule,
)
from dotsum._rules import is_int

__all__ = ["dot", "einsum", "inner", "matmul", "matvec", "outer", "tensordot", "vdot", "vecdot",
           "vecmat"]

_AB, _X = ("a", "b"), ("x1", "x2")
_OPS = {
    name: Op(f"numpy.{name}", factory(names, "jnp"), names, lists=False, jax_kinds=True)
    for name, factory, names in [
        ("dot", dot_rule, _AB), ("matmul", matmul_rule, _AB), ("tensordot", tensordot_rule, _AB),
        ("inner", inner_rule, _AB), ("outer", outer_rule, _AB), ("vdot", vdot_rule, _AB),
        ("vecdot", vecdot_rule, _X), ("matvec", matvec_rule, _X), ("vecmat", vecmat_rule, _X)]
}
_DOT, _MATMUL, _TENSORDOT, _INNER, _OUTER, _VDOT, _VECDOT, _MATVEC, _VECMAT = _OPS.values()
_EINSUM = Op("numpy.einsum", einsum_rule("jnp"), None, lists=False, jax_kinds=True)


def _call(op: Op, arrays: tuple, static: tuple, precision: Any, preferred: Any,
          out_sharding: Any) -> jax.Array:
    if out_sharding is None:
        return op(arrays, static, precision, preferred)
    names = op.arg_names or [f"operands[{i}]" for i in range(len(arrays))]
    return placed(op.name, names, lambda *a: op(a, static, precision, preferred), arrays,
                  out_sharding)


def dot(a: Any, b: Any, *, precision: Any = None, preferred_element_type: Any = None,
        out_sharding: Any = None) -> jax.Array:
    """``jnp.dot``: the last axis of ``a`` with the second-to-last of ``b`` (its only axis if
    1-D), the other axes stacked; a 0-D operand multiplies.

    >>> dot.plan((3, 2, 4), (5, 4, 1)).subscripts
    'abk,cke->abce'
    """
    if precision is None and preferred_element_type is None and out_sharding is None:
        return _DOT.fast2(a, b)
    return _call(_DOT, (a, b), (), precision, preferred_element_type, out_sharding)


def matmul(a: Any, b: Any, *, precision: Any = None, preferred_element_type: Any = None,
           out_sharding: Any = None) -> jax.Array:
    """``jnp.matmul``: the product of the last two axes, leading axes broadcast; a 1-D operand
    is a matrix with its added axis removed from the result; 0-D is an error.

    >>> matmul.plan((3,), (2, 3, 4)).out_shape
    (2, 4)
    """
    if precision is None and preferred_element_type is None and out_sharding is None:
        return _MATMUL.fast2(a, b)
    return _call(_MATMUL, (a, b), (), precision, preferred_element_type, out_sharding)


def tensordot(a: Any, b: Any, axes: Any = 2, *, precision: Any = None,
              preferred_element_type: Any = None, out_sharding: Any = None) -> jax.Array:
    """``jnp.tensordot``: the last ``axes`` axes of ``a`` with the first ``axes`` of ``b``, or
    the pairs ``axes=(a_axes, b_axes)`` names.

    >>> tensordot.plan((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])).subscripts
    'akl,lkd->ad'
    """
    return _call(_TENSORDOT, (a, b), (axes,), precision, preferred_element_type, out_sharding)


def inner(a: Any, b: Any, *, precision: Any = None,
          preferred_element_type: Any = None) -> jax.Array:
    """``jnp.inner``: the sum over the last axes of both; a 0-D operand multiplies.

    >>> inner.plan((2, 3), (4, 3)).subscripts
    'ak,bk->ab'
    """
    return _INNER((a, b), (), precision, preferred_element_type)


def outer(a: Any, b: Any, out: None = None) -> jax.Array:
    """``jnp.outer``: both operands flattened, ``(a.size, b.size)``.

    >>> outer.plan((2, 3), (4,)).out_shape
    (6, 4)
    """
    if out is not None:
        fail("numpy.outer", "the out argument is not supported (JAX arrays are immutable)",
             kind=TypeError)
    return _OUTER((a, b), (), None, None)


def vdot(a: Any, b: Any, *, precision: Any = None,
         preferred_element_type: Any = None) -> jax.Array:
    """``jnp.vdot``: both flattened, ``a`` conjugated, a scalar.

    >>> vdot.plan((2, 3), (6,)).subscripts
    'k,k->'
    """
    return _VDOT((a, b), (), precision, preferred_element_type)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1, precision: Any = None,
           preferred_element_type: Any = None) -> jax.Array:
    """``jnp.vecdot``: ``sum(conj(x1) * x2)`` over ``axis`` (of each operand), the other axes
    broadcast.

    >>> vecdot.plan((4, 3), (1, 3)).subscripts
    'ak,k->a'
    """
    return _VECDOT((x1, x2), (axis,), precision, preferred_element_type)


def matvec(x1: Any, x2: Any, /) -> jax.Array:
    """``jnp.matvec``: ``(..., m, n) @ (..., n) -> (..., m)``, leading axes broadcast.

    >>> matvec.plan((5, 2, 3), (3,)).subscripts
    'abk,k->ab'
    """
    return _MATVEC((x1, x2), (), None, None)


def vecmat(x1: Any, x2: Any, /) -> jax.Array:
    """``jnp.vecmat``: ``conj(..., m) @ (..., m, n) -> (..., n)``, leading axes broadcast.

    >>> vecmat.plan((3,), (5, 3, 2)).subscripts
    'k,akc->ac'
    """
    return _VECMAT((x1, x2), (), None, None)


for _f, _op, _names in ((dot, _DOT, _AB), (matmul, _MATMUL, _AB), (inner, _INNER, _AB),
                        (outer, _OUTER, _AB), (vdot, _VDOT, _AB), (matvec, _MATVEC, _X),
                        (vecmat, _VECMAT, _X)):
    _f.plan = planner(_op, _names, _op.name)  # type: ignore[attr-defined]


def _tensordot_plan(a_shape: Any, b_shape: Any, axes: Any = 2, *, precision: Any = None,
                    preferred_element_type: Any = None) -> Plan:
    """The plan of ``numpy.tensordot(a, b, axes)`` for these shapes (or arrays)."""
    return _TENSORDOT.plan((a_shape, b_shape), (axes,), precision, preferred_element_type)


def _vecdot_plan(x1_shape: Any, x2_shape: Any, /, *, axis: int = -1, precision: Any = None,
                 preferred_element_type: Any = None) -> Plan:
    """The plan of ``numpy.vecdot(x1, x2, axis=axis)`` for these shapes (or arrays)."""
    return _VECDOT.plan((x1_shape, x2_shape), (axis,), precision, preferred_element_type)


tensordot.plan = _tensordot_plan  # type: ignore[attr-defined]
vecdot.plan = _vecdot_plan  # type: ignore[attr-defined]


# -- einsum ----------------------------------------------------------------------------------------
_SUBLIST_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _sublist(op: str, sublist: Any, where: str) -> str:
    if isinstance(sublist, str) or not isinstance(sublist, Sequence):
        fail(op, f"the interleaved form takes a list of axis ints (or Ellipsis) after each "
                 f"operand; got {type_name(sublist)} {where}", kind=TypeError)
    letters = []
    for s in sublist:
        if s is Ellipsis:
            letters.append("...")
        elif is_int(s) and 0 <= s < len(_SUBLIST_LETTERS):
            letters.append(_SUBLIST_LETTERS[s])
        elif is_int(s):
            fail(op, f"axis labels of the interleaved form must be in [0, 52); got {s} {where}")
        else:
            fail(op, f"axis labels of the interleaved form must be ints or Ellipsis; got "
                     f"{type_name(s)} {where}", kind=TypeError)
    return "".join(letters)


def _listed(sublist: Any) -> Any:
    """A 1-D NumPy array of ints as the list it holds (jnp.einsum takes either)."""
    if isinstance(sublist, np.ndarray) and sublist.ndim == 1 and sublist.dtype.kind in "iu":
        return sublist.tolist()
    return sublist


def _interleaved(op: str, args: tuple) -> tuple[str, tuple]:
    """``einsum(x, [0, 1], y, [1, 2], [0, 2])`` as ``('ab,bc->ac', (x, y))``."""
    operands, specs = args[0::2][: len(args) // 2], [_listed(s) for s in args[1::2]]
    inputs = [_sublist(op, s, f"for operands[{i}]") for i, s in enumerate(specs)]
    if len(args) % 2:
        output = _sublist(op, _listed(args[-1]), "for the output")
    else:  # implicit: the labels used once, by number (z, 25, before A, 26), as NumPy orders them
        counts = Counter(s for spec in specs for s in spec if s is not Ellipsis)
        output = ("..." if any(s is Ellipsis for spec in specs for s in spec) else "") + "".join(
            _SUBLIST_LETTERS[s] for s in sorted(counts) if counts[s] == 1)
    return ",".join(inputs) + "->" + output, tuple(operands)


def einsum(subscripts: Any, /, *operands: Any, out: None = None, optimize: Any = AUTO,
           precision: Any = None, preferred_element_type: Any = None,
           out_sharding: Any = None) -> jax.Array:
    """``jnp.einsum``, planned once per (subscripts, shapes): explicit (``'ij,jk->ik'``),
    implicit (``'ij,jk'``), ``...`` broadcasting, repeated labels, any number of operands, and
    the interleaved form ``einsum(x, [0, 1], y, [1, 2], [0, 2])`` (with ``Ellipsis`` in the
    lists). ``optimize`` is what ``jnp.einsum`` takes: an opt_einsum strategy (``'auto'``,
    ``'greedy'``, ``'optimal'``, ``'eager'``, …), ``True`` (``'optimal'``), ``False`` (left to
    right) or an explicit path (``jnp.einsum_path(...)[0]``).

    >>> plan = einsum.plan("ij,jk,kl->il", (2, 3), (3, 4), (4, 5))
    >>> plan.subscripts, plan.path
    ('ij,jk,kl->il', ((0, 1), (0, 1)))
    >>> einsum.plan((2, 3), [0, 1], (3, 4), [1, 2]).subscripts
    'ab,bc->ac'
    """
    if (optimize is AUTO and out is None and precision is None
            and preferred_element_type is None and out_sharding is None and len(operands) == 2
            and type(subscripts) is str):  # the default call: the cheapest tests first
        return _EINSUM.fast2(operands[0], operands[1], (subscripts, AUTO))  # no *-call
    if out is not None:
        fail("numpy.einsum", "the out argument is not supported (JAX arrays are immutable)",
             kind=TypeError)
    if not isinstance(subscripts, str):
        subscripts, operands = _interleaved("numpy.einsum", (subscripts, *operands))
    return _call(_EINSUM, operands, (subscripts, optimize), precision, preferred_element_type,
                 out_sharding)


def _einsum_plan(subscripts: Any, /, *shapes: Any, optimize: Any = "auto", precision: Any = None,
                 preferred_element_type: Any = None) -> Plan:
    """The plan of ``einsum`` for these operand shapes (or arrays), in either form."""
    if not isinstance(subscripts, str):
        subscripts, shapes = _interleaved("numpy.einsum", (subscripts, *shapes))
    return _EINSUM.plan(shapes, (subscripts, optimize), precision, preferred_element_type)


einsum.plan = _einsum_plan  # type: ignore[attr-defined]
