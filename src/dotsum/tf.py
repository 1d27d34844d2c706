"""TensorFlow products: ``from dotsum import tf as dtf`` (no TensorFlow needed).

Each op is a rule from shapes and static params to a :class:`~dotsum.Plan`; ``op.plan(...)``
returns it without arrays.
"""

from __future__ import annotations

from typing import Any

import jax

from dotsum._dispatch import Op
from dotsum._einsum import einsum_plan
from dotsum._errors import fail
from dotsum._plan import Plan, make_plan
from dotsum._rules import check_flag, matmul_terms, require_rank

__all__ = ["einsum", "matmul"]


def _matmul_rule(op: str, a: tuple[int, ...], b: tuple[int, ...], transpose_a: Any,
                 transpose_b: Any, adjoint_a: Any, adjoint_b: Any, **options: Any) -> Plan:
    flags = {"transpose_a": transpose_a, "transpose_b": transpose_b,
             "adjoint_a": adjoint_a, "adjoint_b": adjoint_b}
    flags = {name: check_flag(op, name, value) for name, value in flags.items()}
    shapes = {"a": a, "b": b}
    for side in "ab":
        if flags[f"transpose_{side}"] and flags[f"adjoint_{side}"]:
            fail(op, f"only one of transpose_{side} and adjoint_{side} can be True", shapes)
    for name in shapes:
        require_rank(op, name, shapes, 2, " (tf.matmul does not promote 1-D operands)")
    terms, out_ids, out_shape = matmul_terms(
        op, shapes, "a", a, "b", b,
        transpose_a=flags["transpose_a"] or flags["adjoint_a"], conj_a=flags["adjoint_a"],
        transpose_b=flags["transpose_b"] or flags["adjoint_b"], conj_b=flags["adjoint_b"],
    )
    params = tuple((name, True) for name, value in flags.items() if value)
    return make_plan(op, params, terms, out_ids, out_shape, **options)


_MATMUL = Op("tf.matmul", _matmul_rule, ("a", "b"))


def matmul(
    a: Any,
    b: Any,
    transpose_a: bool = False,
    transpose_b: bool = False,
    adjoint_a: bool = False,
    adjoint_b: bool = False,
    *,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> jax.Array:
    """``tf.matmul``: matrix product of the last two axes, leading axes broadcast NumPy-style.

    Both operands need rank >= 2 (no 1-D promotion). ``transpose_x`` swaps the last two axes of
    an operand; ``adjoint_x`` also conjugates it; setting both for one operand is an error.

    >>> import jax.numpy as jnp
    >>> matmul(jnp.ones((5, 1, 2, 3)), jnp.ones((4, 3, 6))).shape
    (5, 4, 2, 6)
    >>> print(matmul.plan((8, 2, 3), (8, 4, 3), transpose_b=True).subscripts)
    abk,adk->abd

    Dtypes follow JAX type promotion (TensorFlow requires equal dtypes).

    Args:
      a, b: arrays (JAX, NumPy, or nested lists) of rank >= 2.
      transpose_a, transpose_b, adjoint_a, adjoint_b: bools, as in ``tf.matmul``.
      precision: passed to ``lax.dot_general``.
      preferred_element_type: passed to ``lax.dot_general``.
    """
    return _MATMUL((a, b), (transpose_a, transpose_b, adjoint_a, adjoint_b), precision,
                   preferred_element_type)


def _matmul_plan(
    a_shape: Any,
    b_shape: Any,
    transpose_a: bool = False,
    transpose_b: bool = False,
    adjoint_a: bool = False,
    adjoint_b: bool = False,
    *,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Plan:
    """The plan of ``matmul`` for these shapes, without arrays."""
    return _MATMUL.plan((a_shape, b_shape), (transpose_a, transpose_b, adjoint_a, adjoint_b),
                        precision, preferred_element_type)


matmul.plan = _matmul_plan  # type: ignore[attr-defined]


# -- einsum ------------------------------------------------------------------------------------
def _einsum_rule(op: str, shapes, equation: Any, optimize: Any, **options: Any) -> Plan:
    return einsum_plan(op, shapes, equation, optimize, "tf", **options)


_EINSUM = Op("tf.einsum", _einsum_rule, None)


def einsum(equation: str, *inputs: Any, optimize: Any = "greedy", precision: Any = None,
           preferred_element_type: Any = None) -> jax.Array:
    """``tf.einsum`` with TensorFlow's rules, planned once per (equation, shapes).

    Differences from ``dotsum.ops.einsum`` (NumPy's rules), kept so TF code ports unchanged: a
    named label never broadcasts a size-1 axis; the implicit output (labels appearing once,
    sorted, uppercase first) keeps ``...`` only when a single input has one, so otherwise
    broadcast axes need an explicit output; an explicit output must keep ``...`` when the
    inputs have one. Dtypes follow JAX promotion
    (TensorFlow requires equal dtypes).

    >>> import jax.numpy as jnp
    >>> einsum("aBc", jnp.ones((2, 3, 4))).shape      # implicit: sorted, uppercase first
    (3, 2, 4)
    >>> einsum.plan("...ij,...jk->...ik", (5, 1, 2, 3), (4, 3, 6)).subscripts
    'aij,bjk->abik'
    """
    return _EINSUM(inputs, (equation, optimize), precision, preferred_element_type)


def _einsum_plan(equation: str, *shapes: Any, optimize: Any = "greedy", precision: Any = None,
                 preferred_element_type: Any = None) -> Plan:
    """The plan of ``einsum`` for these input shapes, without arrays."""
    return _EINSUM.plan(shapes, (equation, optimize), precision, preferred_element_type)


einsum.plan = _einsum_plan  # type: ignore[attr-defined]
