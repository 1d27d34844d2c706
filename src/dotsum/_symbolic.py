"""Symbolic dimensions (``jax.export`` shape polymorphism) in plans.

A size is an ``int`` or one of JAX's dimension expressions (``b``, ``2*b``, ``b + 1``), which
JAX takes to be >= 1. Rules ask three questions of sizes, and each has a definite answer or is
an error (never a guess):

* :func:`differ`: are two sizes different? (a contracted pair, a batch pair, a diagonal)
* :func:`broadcastable`: are they equal, or is one of them 1? (batch broadcasting)
* :func:`is_one`: is a size 1, where the answer changes the result? (legacy squeezes)

Where the answer depends on the symbols' values (``3`` vs ``c``), they raise ``ValueError``
naming the comparison. Where a size only prices a choice (the CPU layout, the contraction path),
a symbol counts as :data:`HINT`; where a size-1 axis would merely be dropped as an optimisation,
a symbol is not 1 (keeping the axis is right for every value).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
from jax import export

from dotsum._errors import Shapes, fail
from dotsum._jax import Inconclusive

HINT = 1024
"""The size a symbolic dimension stands for when a size only prices a choice: large, since
symbols are batch sizes and sequence lengths, so static (weight) operands are the cheap ones to
move and to contract first."""

__all__ = ["HINT", "Inconclusive", "broadcastable", "check_size", "count", "differ", "hint",
           "is_one", "is_symbolic", "known_equal", "parse_shapes"]


def is_symbolic(size: Any) -> bool:
    return export.is_symbolic_dim(size)


def known_equal(a: Any, b: Any) -> bool | None:
    """``a == b`` for every value of the symbols (True), for none (False), or it depends
    (None)."""
    if not (is_symbolic(a) or is_symbolic(b)):
        return a == b
    difference = a - b
    if not is_symbolic(difference):
        return difference == 0
    for provably_different in (lambda: difference >= 1, lambda: difference <= -1):
        try:
            if provably_different():
                return False
        except Inconclusive:
            pass
    return None


def _undecided(op: str, shapes: Shapes, what: str, claim: str) -> None:
    fail(op, f"cannot decide whether {what}: it depends on the values of the symbolic "
             f"dimensions ({claim} for some, not for others); give the sizes one name, or "
             f"concrete values", shapes)


def differ(op: str, shapes: Shapes, a: Any, b: Any, what: str) -> bool:
    """Whether sizes ``a`` and ``b`` differ; ``what`` says which comparison this is, for the
    ``ValueError`` raised when the symbols do not decide it."""
    same = known_equal(a, b)
    if same is None:
        _undecided(op, shapes, what, f"{a} == {b}")
    return not same


def broadcastable(op: str, shapes: Shapes, a: Any, b: Any, what: str) -> bool:
    """Whether ``a`` and ``b`` are equal or one of them is 1 (NumPy broadcasting)."""
    answers = (known_equal(a, b), known_equal(a, 1), known_equal(b, 1))
    if True in answers:
        return True
    if None in answers:
        _undecided(op, shapes, what, f"{a} == {b} or one of them is 1")
    return False


def is_one(op: str, shapes: Shapes, a: Any, what: str) -> bool:
    """Whether size ``a`` is 1, where the answer changes the result."""
    one = known_equal(a, 1)
    if one is None:
        _undecided(op, shapes, what, f"{a} == 1")
    return one


def hint(size: Any) -> int:
    """``size`` with every symbol taken as :data:`HINT`: for prices, never for semantics.
    Evaluated in Python's integers from the expression JAX prints (JAX's own evaluation is
    private and multiplies in int32: ``67108864*b`` wrapped to a negative number)."""
    if not is_symbolic(size):
        return int(size)
    return _evaluate(ast.parse(str(size).replace("^", "**"), mode="eval").body)


_FUNCTIONS = {"max": max, "min": min, "floordiv": operator.floordiv, "mod": operator.mod,
              "non_negative": lambda n: max(n, 0)}
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}


def _evaluate(node: ast.AST) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        return HINT
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS and not node.keywords):
        return _FUNCTIONS[node.func.id](*(_evaluate(a) for a in node.args))
    raise ValueError(f"cannot price the symbolic size {ast.unparse(node)!r}")


def count(n: Any) -> str:
    """A count for people: ``7,680``, or JAX's polynomial (``7680*b``) for a symbolic one."""
    return str(n) if is_symbolic(n) else f"{n:,}"


def parse_shapes(op: str, names: Sequence[str], raw: Sequence[tuple[Any, ...]]
                 ) -> tuple[tuple[Any, ...], ...]:
    """Shapes whose sizes are ints, dimension expressions or strings in
    ``jax.export.symbolic_shape``'s language (``"b"``, ``"2*b"``, ``"b + 1"``): strings are
    parsed in one scope per call (the scope of the call's own dimension expressions, if any), so
    the same name is the same dimension."""
    scopes = {id(d.scope): (name, d) for name, shape in zip(names, raw) for d in shape
              if is_symbolic(d)}
    if len(scopes) > 1:
        (a, da), (b, db) = list(scopes.values())[:2]
        fail(op, f"the symbolic dimensions of {a} ({da}) and {b} ({db}) come from different "
                 "symbolic scopes; create them with one jax.export.symbolic_shape call or one "
                 "jax.export.SymbolicScope", dict(zip(names, raw)), kind=TypeError)
    if not any(isinstance(d, str) for shape in raw for d in shape):
        return tuple(raw)
    scope = next(iter(scopes.values()))[1].scope if scopes else export.SymbolicScope()
    out = []
    for name, shape in zip(names, raw):
        parsed = []
        for axis, d in enumerate(shape):
            if isinstance(d, str):
                try:
                    (d,) = export.symbolic_shape(d, scope=scope)
                except (ValueError, TypeError) as e:
                    reason = str(e).split("\n")[0]
                    fail(op, f"axis {axis} of {name}'s shape, {d!r}, is not a dimension "
                             f"expression ({reason})", dict(zip(names, raw)), kind=TypeError)
                except Inconclusive as e:  # a negative or ill-formed polynomial
                    fail(op, f"axis {axis} of {name}'s shape, {d!r}: {str(e).splitlines()[0]}",
                         dict(zip(names, raw)))
            parsed.append(d if is_symbolic(d) else int(d))
        out.append(tuple(parsed))
    return tuple(out)


def check_size(d: Any) -> Any:
    """``d`` as a plan size: a Python int, a dimension expression or a str (parsed later by
    :func:`parse_shapes`); ``TypeError`` for anything else."""
    if isinstance(d, (str, np.str_)):
        return str(d)
    if is_symbolic(d):
        return d
    return operator.index(d)
