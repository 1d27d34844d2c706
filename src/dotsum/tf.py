"""TensorFlow products: ``from dotsum import tf as dtf`` (no TensorFlow needed).

Each op is a rule from shapes and static params to a :class:`~dotsum.Plan`; ``op.plan(...)``
returns it without arrays.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from dotsum._dispatch import Op, as_array
from dotsum._einsum import einsum_plan
from dotsum._errors import fail
from dotsum._options import normalize_dtype
from dotsum._plan import Plan, make_plan
from dotsum._rules import (
    check_flag,
    drop_labels,
    matmul_terms,
    require_rank,
    tensordot_axes,
    tensordot_terms,
)
from dotsum._symbolic import differ

__all__ = ["einsum", "matmul", "matvec", "tensordot"]


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


_PLAIN = (False, False, False, False)  # matmul's flags at their defaults


def matmul(
    a: Any,
    b: Any,
    transpose_a: bool = False,
    transpose_b: bool = False,
    adjoint_a: bool = False,
    adjoint_b: bool = False,
    *,
    output_type: Any = None,
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

    ``output_type=int32`` accumulates (u)int8 operands in int32, as TensorFlow does:

    >>> x = jnp.full((1, 2), 100, jnp.int8)
    >>> matmul(x, x, transpose_b=True, output_type=jnp.int32)
    Array([[20000]], dtype=int32)

    Dtypes follow JAX type promotion (TensorFlow requires equal dtypes).

    Args:
      a, b: arrays (JAX, NumPy, or nested lists) of rank >= 2.
      transpose_a, transpose_b, adjoint_a, adjoint_b: bools, as in ``tf.matmul``.
      output_type: ``None``, or ``int32`` (any spelling ``jnp.dtype`` accepts, or ``tf.int32``)
        with int8/uint8 operands: the result's dtype, passed to ``lax.dot_general`` as its
        ``preferred_element_type``. The dtype the result has anyway is also accepted and
        changes nothing (TensorFlow accepts the operands' common dtype); anything else is a
        ``TypeError``. Mixed int8·uint8 gives the exact product (TensorFlow's CPU kernel
        reads ``b`` with ``a``'s signedness).
      precision: passed to ``lax.dot_general``.
      preferred_element_type: passed to ``lax.dot_general``; with ``output_type``, it must be
        the same dtype.
    """
    if output_type is not None:  # the common call pays nothing for this keyword
        a, b, preferred_element_type = _output_type(a, b, output_type, preferred_element_type)
    elif (transpose_a is False and transpose_b is False and adjoint_a is False
          and adjoint_b is False and precision is None and preferred_element_type is None):
        return _MATMUL.fast2(a, b, _PLAIN)
    return _MATMUL((a, b), (transpose_a, transpose_b, adjoint_a, adjoint_b), precision,
                   preferred_element_type)


_SMALL_INTS = (np.dtype(np.int8), np.dtype(np.uint8))
# Everything the verdict depends on -> the accepted preferred dtype: output_type and
# preferred_element_type (with their types), both operands' dtypes and weak types, and the
# flags that change jnp.result_type (x64, the promotion mode). Only valid combinations are
# stored, and there are few, so the dict stays small.
_OUTPUT_DTYPES: dict[tuple, np.dtype] = {}


def _output_type(a: Any, b: Any, output_type: Any, preferred: Any) -> tuple[Any, Any, np.dtype]:
    """Check ``tf.matmul``'s ``output_type`` against the operands' dtypes (so they are converted
    here, not in the dispatch) and return it as the ``preferred_element_type``; the verdict is
    cached per dtype combination, so a repeated call costs one dict lookup."""
    op = "tf.matmul"
    a = a if isinstance(a, jax.Array) else as_array(op, "a", a)
    b = b if isinstance(b, jax.Array) else as_array(op, "b", b)
    key = (output_type, type(output_type), preferred, type(preferred), a.dtype, a.weak_type,
           b.dtype, b.weak_type, jax.config.jax_enable_x64, jax.config.jax_numpy_dtype_promotion)
    try:
        return a, b, _OUTPUT_DTYPES[key]
    except (KeyError, TypeError):  # not seen yet, or unhashable
        pass
    shapes = {"a": a.shape, "b": b.shape}
    try:  # a tf.DType converts through its NumPy dtype, without importing TensorFlow
        dtype = np.dtype(jnp.dtype(getattr(output_type, "as_numpy_dtype", output_type)))
    except Exception:  # noqa: BLE001 - NumPy raises anything for odd dtype specs
        fail(op, f"output_type must be None or a dtype; got {output_type!r}", shapes,
             kind=TypeError)
    if preferred is not None and normalize_dtype(op, preferred) != dtype:
        fail(op, f"output_type={dtype.name} and preferred_element_type="
                 f"{normalize_dtype(op, preferred).name} disagree; give one of them", shapes)
    try:
        result = jnp.result_type(a, b)
    except (TypeError, ValueError) as e:  # jax_numpy_dtype_promotion="strict"
        fail(op, f"the operands' dtypes do not promote: {str(e).splitlines()[0]}", shapes,
             kind=TypeError)
    small = a.dtype in _SMALL_INTS and b.dtype in _SMALL_INTS
    if not (dtype == np.int32 and small) and dtype != result:
        fail(op, f"output_type must be int32 with int8/uint8 operands, or the result's own "
                 f"dtype; got output_type={dtype.name} with a.dtype={a.dtype.name}, "
                 f"b.dtype={b.dtype.name}", shapes, kind=TypeError)
    try:
        _OUTPUT_DTYPES[key] = dtype
    except TypeError:  # an unhashable preferred_element_type: checked again next time
        pass
    return a, b, dtype


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
    """The plan of ``matmul`` for these shapes, without arrays (``output_type=int32`` plans as
    ``preferred_element_type=int32``)."""
    return _MATMUL.plan((a_shape, b_shape), (transpose_a, transpose_b, adjoint_a, adjoint_b),
                        precision, preferred_element_type)


matmul.plan = _matmul_plan  # type: ignore[attr-defined]


# -- matvec ------------------------------------------------------------------------------------
def _matvec_rule(op: str, a: tuple[int, ...], b: tuple[int, ...], transpose_a: Any,
                 adjoint_a: Any, **options: Any) -> Plan:
    transpose_a = check_flag(op, "transpose_a", transpose_a)
    adjoint_a = check_flag(op, "adjoint_a", adjoint_a)
    shapes = {"a": a, "b": b}
    if transpose_a and adjoint_a:
        fail(op, "only one of transpose_a and adjoint_a can be True", shapes)
    require_rank(op, "a", shapes, 2, " (a matrix, or a batch of them)")
    require_rank(op, "b", shapes, 1, " (a vector, or a batch of them)")
    ka = -2 if transpose_a or adjoint_a else -1
    if differ(op, shapes, a[ka], b[-1], f"axis {ka} of a (size {a[ka]}) matches axis -1 of b "
                                        f"(size {b[-1]})"):
        fail(op, f"axis {ka} of a (size {a[ka]}) does not match axis -1 of b (size {b[-1]})",
             shapes)
    # matmul(a, b[..., None])[..., 0]: b's leading axes broadcast against a's batch axes
    terms, out_ids, out_shape = drop_labels(*matmul_terms(
        op, shapes, "a", a, "b", b + (1,), transpose_a=transpose_a or adjoint_a,
        conj_a=adjoint_a), {"n"})
    params = tuple((name, True) for name, on in
                   (("transpose_a", transpose_a), ("adjoint_a", adjoint_a)) if on)
    return make_plan(op, params, terms, out_ids, out_shape, **options)


_MATVEC = Op("tf.linalg.matvec", _matvec_rule, ("a", "b"))


def matvec(
    a: Any,
    b: Any,
    transpose_a: bool = False,
    adjoint_a: bool = False,
    *,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> jax.Array:
    """``tf.linalg.matvec``: matrix times vector, ``matmul(a, b[..., None])[..., 0]``.

    ``a`` is a (batch of) matrices, rank >= 2; ``b`` a (batch of) vectors, rank >= 1. The batch
    axes ``a.shape[:-2]`` and ``b.shape[:-1]`` broadcast NumPy-style, so one matrix applies to
    many vectors: ``(2, 3)`` with ``(5, 3)`` gives ``(5, 2)``. ``transpose_a`` swaps the last two
    axes of ``a``; ``adjoint_a`` also conjugates it; not both.

    >>> import jax.numpy as jnp
    >>> matvec(jnp.ones((2, 3)), jnp.ones((5, 3))).shape
    (5, 2)
    >>> matvec.plan((2, 3), (5, 3)).subscripts   # jnp.einsum('ak,bk->ba', a, b)
    'ak,bk->ba'
    >>> matvec.plan((7, 3, 2), (3,), adjoint_a=True).subscripts
    'akc,k->ac'

    Dtypes follow JAX type promotion (TensorFlow requires equal dtypes).

    Args:
      a: array (JAX, NumPy, or nested lists) of rank >= 2.
      b: array of rank >= 1.
      transpose_a, adjoint_a: bools, as in ``tf.linalg.matvec``.
      precision: passed to ``lax.dot_general``.
      preferred_element_type: passed to ``lax.dot_general``.
    """
    return _MATVEC((a, b), (transpose_a, adjoint_a), precision, preferred_element_type)


def _matvec_plan(a_shape: Any, b_shape: Any, transpose_a: bool = False, adjoint_a: bool = False,
                 *, precision: Any = None, preferred_element_type: Any = None) -> Plan:
    """The plan of ``matvec`` for these shapes, without arrays."""
    return _MATVEC.plan((a_shape, b_shape), (transpose_a, adjoint_a), precision,
                        preferred_element_type)


matvec.plan = _matvec_plan  # type: ignore[attr-defined]


# -- tensordot ---------------------------------------------------------------------------------
def _tensordot_rule(op: str, a: tuple[int, ...], b: tuple[int, ...], axes: Any,
                    **options: Any) -> Plan:
    # Unlike TensorFlow, which reshapes the contracted axes into one and so only compares the
    # product of their sizes, every pair of axes must agree (NumPy's rule).
    shapes = {"a": a, "b": b}
    spelled, normal = tensordot_axes(op, shapes, "a", "b", axes)
    terms, out_ids, out_shape = tensordot_terms(op, shapes, "a", "b", spelled, normal)
    return make_plan(op, (("axes", normal),), terms, out_ids, out_shape, **options)


_TENSORDOT = Op("tf.tensordot", _tensordot_rule, ("a", "b"))


def tensordot(a: Any, b: Any, axes: Any, *, precision: Any = None,
              preferred_element_type: Any = None) -> jax.Array:
    """``tf.tensordot``: sum the products over pairs of axes of ``a`` and ``b``.

    ``axes`` is an int ``N`` (the last ``N`` axes of ``a`` with the first ``N`` of ``b``, in
    order; ``0`` is the outer product), a pair of ints ``[i, j]`` (axis ``i`` of ``a`` with axis
    ``j`` of ``b``), or a pair of equally long lists (their entries pair up in order; negative
    axes count from the end). The output holds ``a``'s remaining axes, then ``b``'s.

    >>> import jax.numpy as jnp
    >>> tensordot(jnp.ones((3, 4, 5)), jnp.ones((4, 3, 2)), axes=([1, 0], [0, 1])).shape
    (5, 2)
    >>> tensordot.plan((3, 4, 5), (4, 3, 2), ([1, 0], [0, 1])).subscripts
    'klc,lkd->cd'
    >>> tensordot.plan((2, 3, 4), (3, 4, 5), 2).subscripts   # jnp.einsum('akl,kld->ad', a, b)
    'akl,kld->ad'

    Unlike TensorFlow, which reshapes the contracted axes into one and so only compares the
    product of their sizes, every pair of axes must have equal sizes (NumPy's rule); axes
    are ints (NumPy integers too, not bools), never arrays. Dtypes follow JAX type promotion
    (TensorFlow requires equal dtypes).

    Args:
      a, b: arrays (JAX, NumPy, or nested lists), any rank (0-D with ``axes=0``).
      axes: an int >= 0, a pair of ints, or a pair of lists/tuples of ints.
      precision: passed to ``lax.dot_general``.
      preferred_element_type: passed to ``lax.dot_general``.
    """
    return _TENSORDOT((a, b), (axes,), precision, preferred_element_type)


def _tensordot_plan(a_shape: Any, b_shape: Any, axes: Any, *, precision: Any = None,
                    preferred_element_type: Any = None) -> Plan:
    """The plan of ``tensordot`` for these shapes, without arrays."""
    return _TENSORDOT.plan((a_shape, b_shape), (axes,), precision, preferred_element_type)


tensordot.plan = _tensordot_plan  # type: ignore[attr-defined]


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
