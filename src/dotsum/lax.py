"""``jax.lax.dot_general`` with its exact semantics, planned and lowered by dotsum:
``from dotsum import lax as dlax``.

It fills Flax's ``dot_general=`` hooks (``nnx.Linear``, ``nnx.LinearGeneral``,
``nnx.MultiHeadAttention``'s ``qkv_dot_general``/``out_dot_general``): the result is
``lax.dot_general``'s, in its axis order (batch, then ``lhs``'s free axes, then ``rhs``'s), with
its dtype rule (no promotion: the operand of higher precision gives the dtype), while the plan
picks the layout of the ``dot_general`` it emits where the output order allows.

>>> import jax.numpy as jnp
>>> from dotsum import lax as dlax
>>> dlax.dot_general(jnp.ones((8, 2, 3)), jnp.ones((3, 8, 5)), (((2,), (0,)), ((0,), (1,)))).shape
(8, 2, 5)
>>> dlax.dot_general.plan((8, 2, 3), (3, 8, 5), (((2,), (0,)), ((0,), (1,)))).subscripts
'abk,kae->abe'
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import jax
import numpy as np

from dotsum._dispatch import Op
from dotsum._errors import fail
from dotsum._out_sharding import placed
from dotsum._plan import Plan, Term, make_plan
from dotsum._rules import is_int
from dotsum._symbolic import differ

__all__ = ["dot_general"]

_FORM = ("dimension_numbers must be ((lhs_contracting_dims, rhs_contracting_dims), "
         "(lhs_batch_dims, rhs_batch_dims)), each a sequence of ints")


def _dims(op: str, dimension_numbers: Any, shapes: dict) -> tuple[tuple[tuple[int, ...], ...],
                                                                  ...]:
    if dimension_numbers is None:  # as lax: a plain matrix/vector product, contracting
        lhs, rhs = shapes["lhs"], shapes["rhs"]  # lhs's last axis with rhs's first
        if 1 <= len(lhs) <= 2 and 1 <= len(rhs) <= 2 and not differ(
                op, shapes, lhs[-1], rhs[0], f"axis -1 of lhs (size {lhs[-1]}) matches axis 0 "
                                             f"of rhs (size {rhs[0]})"):
            return (len(lhs) - 1,), (0,), (), ()
        fail(op, "dimension_numbers=None is lax's plain product of a matrix or vector by a "
                 "matrix or vector (ranks 1-2, lhs's last axis as long as rhs's first); give "
                 "the dimension numbers for these operands", shapes)
    try:
        (lc, rc), (lb, rb) = dimension_numbers
        groups = tuple(tuple(g) for g in (lc, rc, lb, rb))
    except (TypeError, ValueError):
        fail(op, f"{_FORM}; got {dimension_numbers!r}", shapes, kind=TypeError)
    if not all(is_int(d) for g in groups for d in g):
        fail(op, f"{_FORM}; got {dimension_numbers!r}", shapes, kind=TypeError)
    return tuple(tuple(int(d) for d in g) for g in groups)


def _check(op: str, shapes: dict, lc, rc, lb, rb) -> None:
    """lax.dot_general's own checks (its errors are TypeErrors), worded for these operands."""
    for side, (contract, batch) in (("lhs", (lc, lb)), ("rhs", (rc, rb))):
        rank = len(shapes[side])
        if not all(0 <= d < rank for d in contract + batch):
            fail(op, f"{side} dimension numbers must be non-negative and less than the rank of "
                     f"{side} ({rank}); got {side}_contracting={contract}, {side}_batch={batch}",
                 shapes, kind=TypeError)
        for what, dims in (("batch", batch), ("contracting", contract)):
            if len(set(dims)) != len(dims):
                fail(op, f"{side} {what} dimensions must be distinct; got {dims}", shapes,
                     kind=TypeError)
        if set(contract) & set(batch):
            fail(op, f"{side} batch dimensions must be disjoint from its contracting "
                     f"dimensions; got {side}_batch={batch}, {side}_contracting={contract}",
                 shapes, kind=TypeError)
    for what, left, right in (("batch", lb, rb), ("contracting", lc, rc)):
        if len(left) != len(right):
            fail(op, f"lhs and rhs must have as many {what} dimensions; got {left} and {right}",
                 shapes, kind=TypeError)
        for i, j in zip(left, right):
            n, m = shapes["lhs"][i], shapes["rhs"][j]
            if differ(op, shapes, n, m, f"{what} axis {i} of lhs (size {n}) matches axis {j} of "
                                        f"rhs (size {m})"):
                fail(op, f"{what} dimensions must have the same sizes; axis {i} of lhs has size "
                         f"{n}, axis {j} of rhs has size {m}", shapes, kind=TypeError)


def _flat(dimension_numbers: Any) -> tuple:
    """``dimension_numbers`` as flat ints (three lengths, then the four groups), so that the
    call's key is built from flat values and their types, with no nested ``freeze``; as given
    when it does not unpack (the rule then says why)."""
    try:
        (lc, rc), (lb, rb) = dimension_numbers
        return (len(lc), len(rc), len(lb), *lc, *rc, *lb, *rb)
    except (TypeError, ValueError):
        return (dimension_numbers,)


def _unflat(static: tuple) -> Any:
    if len(static) == 1:
        return static[0]
    n_lc, n_rc, n_lb, *dims = static
    cut = np.cumsum([n_lc, n_rc, n_lb]).tolist()
    lc, rc, lb, rb = (tuple(dims[a:b]) for a, b in zip([0, *cut], [*cut, len(dims)]))
    return (lc, rc), (lb, rb)


def _rule(op: str, lhs, rhs, *static: Any, **options: Any) -> Plan:
    shapes = {"lhs": lhs, "rhs": rhs}
    dimension_numbers = _unflat(static)
    lc, rc, lb, rb = _dims(op, dimension_numbers, shapes)
    _check(op, shapes, lc, rc, lb, rb)
    ids: dict[str, list[Hashable]] = {}
    for side, shape, contract, batch in (("lhs", lhs, lc, lb), ("rhs", rhs, rc, rb)):
        ids[side] = [(side, p) for p in range(len(shape))]
        for k, d in enumerate(contract):
            ids[side][d] = ("k", k)
        for k, d in enumerate(batch):
            ids[side][d] = ("batch", k)
    free = [i for side in ("lhs", "rhs") for i in ids[side] if i[0] == side]
    out_ids = tuple([("batch", k) for k in range(len(lb))] + free)
    sizes = {i: s for side, shape in (("lhs", lhs), ("rhs", rhs))
             for i, s in zip(ids[side], shape)}
    terms = [Term("lhs", lhs, tuple(ids["lhs"]), lhs), Term("rhs", rhs, tuple(ids["rhs"]), rhs)]
    normal = ((lc, rc), (lb, rb))
    return make_plan(op, (("dimension_numbers", normal),), terms, out_ids,
                     tuple(sizes[i] for i in out_ids), dtype_policy="lax", **options)


_INTS = frozenset({int})
# The last exact-int dimension_numbers made only of tuples, and its flat form: held, so that its
# identity cannot pass to another object, and unchangeable, so that it still flattens the same.
_LAST: tuple = (object(), ())


def _immutable(dimension_numbers: Any) -> bool:
    """Tuples all the way down to the ints (which the caller has checked are exact)."""
    return type(dimension_numbers) is tuple and all(
        type(pair) is tuple and all(type(dims) is tuple for dims in pair)
        for pair in dimension_numbers)


_DOT_GENERAL = Op("lax.dot_general", _rule, ("lhs", "rhs"), lists=False, jax_kinds=True)


def dot_general(lhs: Any, rhs: Any, dimension_numbers: Any, precision: Any = None,
                preferred_element_type: Any = None, *, out_sharding: Any = None) -> jax.Array:
    """``lax.dot_general``: contract ``lhs_contracting_dims`` with ``rhs_contracting_dims``,
    pair ``lhs_batch_dims`` with ``rhs_batch_dims``; the result is the batch axes, then the
    free axes of ``lhs``, then those of ``rhs``, each in order. No broadcasting, no promotion.

    >>> print(dot_general.plan((4, 3), (3, 5), (((1,), (0,)), ((), ()))).subscripts)
    ak,kc->ac
    """
    global _LAST
    last = _LAST  # one read: the pair is replaced whole, never half-written
    if (dimension_numbers is last[0] and precision is None and preferred_element_type is None
            and out_sharding is None):  # the very tuple seen last: a literal in a caller's loop
        return _DOT_GENERAL.fast2(lhs, rhs, last[1])
    static = _flat(dimension_numbers)
    exact = _INTS.issuperset(map(type, static))  # exact ints hash type-faithfully
    if exact and _immutable(dimension_numbers):
        _LAST = (dimension_numbers, static)
    if out_sharding is None:
        if exact and precision is None and preferred_element_type is None:
            return _DOT_GENERAL.fast2(lhs, rhs, static)
        return _DOT_GENERAL((lhs, rhs), static, precision, preferred_element_type)
    return placed(_DOT_GENERAL.name, ("lhs", "rhs"),
                  lambda *a: _DOT_GENERAL(a, static, precision, preferred_element_type),
                  (lhs, rhs), out_sharding)


def _plan(lhs_shape: Any, rhs_shape: Any, dimension_numbers: Any, precision: Any = None,
          preferred_element_type: Any = None) -> Plan:
    """The plan of ``dot_general(lhs, rhs, dimension_numbers)`` for these shapes (or arrays)."""
    return _DOT_GENERAL.plan((lhs_shape, rhs_shape), _flat(dimension_numbers), precision,
                             preferred_element_type)


dot_general.plan = _plan  # type: ignore[attr-defined]
