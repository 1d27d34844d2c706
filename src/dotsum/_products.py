"""The NumPy family of products, as rules: ``dot``, ``matmul``, ``tensordot``, ``inner``,
``outer``, ``vdot``, ``vecdot``, ``matvec``, ``vecmat`` and ``einsum``.

Two namespaces reproduce them: ``dotsum.ops`` (Keras 3, whose ``matmul``/``einsum`` accumulate
int8 in int32) and ``dotsum.numpy`` (``jax.numpy``). They share every shape rule; what differs
is named when the rules are built: the operands' names and the result-dtype policy
(:mod:`dotsum._dtypes`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from dotsum._dispatch import Op
from dotsum._einsum import einsum_plan
from dotsum._errors import fail
from dotsum._plan import Plan, Term, make_plan
from dotsum._rules import (
    broadcast,
    drop_labels,
    is_int,
    matmul_terms,
    numpy_dot_terms,
    require_rank,
    tensordot_axes,
    tensordot_terms,
)
from dotsum._symbolic import differ

Rule = Callable[..., Plan]


def dot_rule(names: tuple[str, str], policy: str) -> Rule:
    x, y = names

    def rule(op: str, xs, ys, **options: Any) -> Plan:
        terms, out_ids, out_shape = numpy_dot_terms(op, {x: xs, y: ys}, x, y, scalars=True)
        return make_plan(op, (), terms, out_ids, out_shape, dtype_policy=policy, **options)
    return rule


def _matmul(op: str, shapes, x: str, a, y: str, b, drop: set, policy: str, options,
            conj_a: bool = False) -> Plan:
    """``matmul_terms`` of the padded shapes ``a`` and ``b``, the padding axes ``drop`` removed
    again."""
    terms, out_ids, out_shape = matmul_terms(op, shapes, x, a, y, b, conj_a=conj_a)
    terms, out_ids, out_shape = drop_labels(terms, out_ids, out_shape, drop)
    return make_plan(op, (), terms, out_ids, out_shape, dtype_policy=policy, **options)


def matmul_rule(names: tuple[str, str], policy: str) -> Rule:
    x, y = names

    def rule(op: str, xs, ys, **options: Any) -> Plan:
        shapes = {x: xs, y: ys}
        for name in shapes:
            require_rank(op, name, shapes, 1, " (numpy.matmul semantics)")
        a = (1,) + xs if len(xs) == 1 else xs  # numpy promotes 1-D operands, then drops the axis
        b = ys + (1,) if len(ys) == 1 else ys
        drop = ({"m"} if len(xs) == 1 else set()) | ({"n"} if len(ys) == 1 else set())
        return _matmul(op, shapes, x, a, y, b, drop, policy, options)
    return rule


def matvec_rule(names: tuple[str, str], policy: str) -> Rule:
    """``matvec(x1, x2)``: ``(..., m, n) . (..., n) -> (..., m)``, leading axes broadcast."""
    x, y = names

    def rule(op: str, xs, ys, **options: Any) -> Plan:
        shapes = {x: xs, y: ys}
        require_rank(op, x, shapes, 2, " (a stack of matrices)")
        require_rank(op, y, shapes, 1, " (a stack of vectors)")
        return _matmul(op, shapes, x, xs, y, ys + (1,), {"n"}, policy, options)
    return rule


def vecmat_rule(names: tuple[str, str], policy: str) -> Rule:
    """``vecmat(x1, x2)``: ``conj(..., m) . (..., m, n) -> (..., n)``, leading axes broadcast."""
    x, y = names

    def rule(op: str, xs, ys, **options: Any) -> Plan:
        shapes = {x: xs, y: ys}
        require_rank(op, x, shapes, 1, " (a stack of vectors)")
        require_rank(op, y, shapes, 2, " (a stack of matrices)")
        return _matmul(op, shapes, x, xs[:-1] + (1,) + xs[-1:], y, ys, {"m"}, policy, options,
                       conj_a=True)
    return rule


def vecdot_rule(names: tuple[str, str], policy: str) -> Rule:
    """``vecdot(x1, x2, axis)``: ``sum(conj(x1) * x2)`` over ``axis`` of each (counted in each
    operand's own rank), the other axes broadcast."""
    x, y = names

    def rule(op: str, xs, ys, axis: Any, **options: Any) -> Plan:
        shapes = {x: xs, y: ys}
        if not is_int(axis):
            fail(op, f"axis must be an int; got {type(axis).__name__}", shapes, kind=TypeError)
        where = {}
        for name, shape in shapes.items():
            n = axis + len(shape) if axis < 0 else axis
            if not 0 <= n < len(shape):
                fail(op, f"axis {axis} is out of range for {name} of rank {len(shape)}", shapes)
            where[name] = n
        n, m = where[x], where[y]
        if differ(op, shapes, xs[n], ys[m], f"axis {axis} of {x} (size {xs[n]}) matches axis "
                                           f"{axis} of {y} (size {ys[m]})"):
            fail(op, f"axis {axis} of {x} (size {xs[n]}) does not match axis {axis} of {y} "
                     f"(size {ys[m]})", shapes)
        rest = xs[:n] + xs[n + 1:], ys[:m] + ys[m + 1:]
        x_ids, x_kept, y_ids, y_kept, out_ids, out_shape = broadcast(
            op, shapes, x, rest[0], y, rest[1])
        terms = []
        for name, shape, ids, kept, at, conj in ((x, xs, x_ids, x_kept, n, True),
                                                (y, ys, y_ids, y_kept, m, False)):
            # the contracted axis sits among the kept batch axes where it was in the operand
            before = sum(1 for i in ids if i[1] - (len(out_ids) - len(shape) + 1) < at)
            terms.append(Term(name, shape, ids[:before] + ("k",) + ids[before:],
                              kept[:before] + (shape[at],) + kept[before:], conj))
        return make_plan(op, (("axis", int(axis)),), terms, out_ids, out_shape,
                         dtype_policy=policy, **options)
    return rule


def tensordot_rule(names: tuple[str, str], policy: str) -> Rule:
    x, y = names

    def rule(op: str, xs, ys, axes: Any, **options: Any) -> Plan:
        shapes = {x: xs, y: ys}
        spelled, normal = tensordot_axes(op, shapes, x, y, axes, jax_wording=policy == "jnp")
        terms, out_ids, out_shape = tensordot_terms(op, shapes, x, y, spelled, normal)
        return make_plan(op, (("axes", normal),), terms, out_ids, out_shape,
                         dtype_policy=policy, **options)
    return rule


def inner_rule(names: tuple[str, str], policy: str) -> Rule:
    x, y = names
    dot = dot_rule(names, policy)

    def rule(op: str, xs, ys, **options: Any) -> Plan:
        if not xs or not ys:  # a 0-D operand multiplies, as in numpy.inner
            return dot(op, xs, ys, **options)
        last = ((-1,), (-1,)), ((len(xs) - 1,), (len(ys) - 1,))
        terms, out_ids, out_shape = tensordot_terms(op, {x: xs, y: ys}, x, y, *last)
        return make_plan(op, (), terms, out_ids, out_shape, dtype_policy=policy, **options)
    return rule


def _flat(name: str, shape: tuple[int, ...], label: str, conj: bool = False) -> Term:
    return Term(name, shape, (label,), (math.prod(shape),), conj)


def outer_rule(names: tuple[str, str], policy: str) -> Rule:
    x, y = names

    def rule(op: str, xs, ys, **options: Any) -> Plan:
        terms = [_flat(x, xs, "a"), _flat(y, ys, "b")]
        shape = (terms[0].einsum_shape[0], terms[1].einsum_shape[0])
        return make_plan(op, (), terms, ("a", "b"), shape, dtype_policy=policy, **options)
    return rule


def vdot_rule(names: tuple[str, str], policy: str) -> Rule:
    x, y = names

    def rule(op: str, xs, ys, **options: Any) -> Plan:
        terms = [_flat(x, xs, "k", conj=True), _flat(y, ys, "k")]
        n1, n2 = terms[0].einsum_shape[0], terms[1].einsum_shape[0]
        if differ(op, {x: xs, y: ys}, n1, n2,
                  f"{x} and {y} have the same number of elements ({n1} and {n2})"):
            fail(op, f"{x} and {y} must have the same number of elements; got {n1} and {n2}",
                 {x: xs, y: ys})
        return make_plan(op, (), terms, (), (), dtype_policy=policy, **options)
    return rule


AUTO = "auto"  # einsum's default optimize: its public functions test it by identity, first


def einsum_rule(policy: str) -> Rule:
    """``optimize=True`` is opt_einsum's ``'optimal'``, as ``jnp.einsum`` (and so Keras 3 on JAX)
    reads it."""

    def rule(op: str, shapes, subscripts: Any, optimize: Any, **options: Any) -> Plan:
        if optimize is True:
            optimize = "optimal"
        return einsum_plan(op, shapes, subscripts, optimize, "numpy", dtype_policy=policy,
                           **options)
    return rule


def planner(op: Op, names: tuple[str, str], doc_name: str):
    """``op.plan`` with the public function's signature: ``plan(x1_shape, x2_shape)``; shapes
    may be given as arrays (or anything with a ``.shape``)."""

    def plan(x1_shape: Any, x2_shape: Any, *, precision: Any = None,
             preferred_element_type: Any = None) -> Plan:
        return op.plan((x1_shape, x2_shape), (), precision, preferred_element_type)

    plan.__doc__ = (f"The plan of ``{doc_name}({names[0]}, {names[1]})`` for these shapes (or "
                    f"arrays), without running it.")
    return plan
