"""Keras 2 backend products: ``from dotsum import keras as K``.

Each op is a rule from shapes and static params to a :class:`~dotsum.Plan`; ``op.plan(...)``
returns it without arrays. See ``docs/semantics.md`` for what each rule reproduces.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from dotsum._dispatch import Op
from dotsum._errors import Shapes, fail, type_name
from dotsum._plan import Plan, Term, make_plan
from dotsum._rules import (
    axes_form,
    broadcast,
    check_flag,
    is_int,
    matmul_terms,
    numpy_dot_terms,
    require_rank,
)
from dotsum._symbolic import broadcastable, differ, is_one

__all__ = ["Dot", "batch_dot", "dot"]


# -- dot --------------------------------------------------------------------------------------
def _dot_rule(op: str, x: tuple[int, ...], y: tuple[int, ...], **options: Any) -> Plan:
    terms, out_ids, out_shape = numpy_dot_terms(
        op, {"x": x, "y": y}, "x", "y", scalars=False,
        why=" (numpy.dot semantics; 0-D operands are rejected)")
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
    if precision is None and preferred_element_type is None:
        return _DOT.fast2(x, y)
    return _DOT((x, y), (), precision, preferred_element_type)


def _dot_plan(
    x_shape: Any, y_shape: Any, *, precision: Any = None, preferred_element_type: Any = None
) -> Plan:
    """The plan of ``dot`` for these shapes, without arrays."""
    return _DOT.plan((x_shape, y_shape), (), precision, preferred_element_type)


dot.plan = _dot_plan  # type: ignore[attr-defined]


# -- batch_dot ----------------------------------------------------------------------------------
def _parse_axes(op: str, axes: Any, default: tuple[int, int] | None, shapes: Shapes,
                expected: str = "None, an int or a pair of ints") -> tuple[int, int]:
    """``None`` -> default (if there is one), an int ``a`` -> ``(a, a)``, a pair of ints ->
    itself, as Python ints."""
    if axes is None and default is not None:
        return default
    form = axes_form(op, shapes, axes, expected, lists=False)
    return (form, form) if isinstance(form, int) else form


def _require_batched(op: str, shapes: Shapes) -> None:
    for name in shapes:
        require_rank(op, name, shapes, 2, " (axis 0 is the batch axis)")
    x, y = shapes.values()
    if differ(op, shapes, x[0], y[0], f"x.shape[0]={x[0]} equals y.shape[0]={y[0]}"):
        fail(op, f"batch sizes differ: x.shape[0]={x[0]}, y.shape[0]={y[0]}", shapes)


def _batch_dot_terms(op: str, shapes: Shapes, pair: tuple[int, int], axes: Any
                     ) -> tuple[list[Term], tuple, tuple[int, ...], tuple[int, int]]:
    """Current ``batch_dot`` (docs/semantics.md) of two batched operands over one axis each, shared
    by ``batch_dot`` and the ``Dot`` layer. ``pair`` holds the two axes as ints; ``axes`` (the
    user's value) is only quoted in messages. Returns the terms (the summed label is ``"k"``),
    the output's ids and shape, and the axes resolved to non-negative ints."""
    x, y = shapes["x"], shapes["y"]
    normal = []
    for name, a, rank in (("x", pair[0], len(x)), ("y", pair[1], len(y))):
        # Keras adds ndim once (batch_dot) or takes ``axis % ndim`` (Dot): the same for every
        # axis in range; any other axis is an error here (docs/design.md, "Decisions").
        n = a + rank if a < 0 else a
        if not 0 <= n < rank:
            fail(op, f"axis {a} is out of range for {name} of rank {rank} (axes={axes!r})",
                 shapes)
        if n == 0:
            fail(op, f"cannot contract over axis 0 of {name}, the batch axis (axes={axes!r})",
                 shapes)
        normal.append(n)
    a0, a1 = normal
    if differ(op, shapes, x[a0], y[a1], f"x.shape[{a0}]={x[a0]} equals y.shape[{a1}]={y[a1]}"):
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
    return terms, out_ids, out_shape, (a0, a1)


def _batch_dot_rule(op: str, x: tuple[int, ...], y: tuple[int, ...], axes: Any,
                    **options: Any) -> Plan:
    """Keras >= 2.2.5 semantics (tf_keras, Keras 3 ``Dot``): see docs/semantics.md."""
    shapes = {"x": x, "y": y}
    _require_batched(op, shapes)
    default = (len(x) - 1, len(y) - (1 if len(y) == 2 else 2))
    pair = _parse_axes(op, axes, default, shapes)
    terms, out_ids, out_shape, resolved = _batch_dot_terms(op, shapes, pair, axes)
    return make_plan(op, (("axes", resolved),), terms, out_ids, out_shape, **options)


def _legacy_rule(op: str, x: tuple[int, ...], y: tuple[int, ...], axes: Any,
                 **options: Any) -> Plan:
    """Keras <= 2.2.4 semantics (TensorFlow backend), values included: docs/batch_dot.md.

    Step by step as Keras 2.2.4 computed it: pad the lower-rank operand with trailing size-1
    axes; rank 2 is an elementwise product summed over one axis, any other rank is a ``tf.matmul``
    whose adjoints ``axes`` choose (all leading axes broadcast as batch axes; negative axes are
    compared unnormalised); then the padded axes are squeezed and a 1-D result becomes ``(b, 1)``.
    """
    shapes = {"x": x, "y": y}
    a0, a1 = _parse_axes(op, axes, (len(x) - 1, len(y) - 2), shapes)
    rank = max(len(x), len(y))
    diff = abs(len(x) - len(y))
    xp, yp = x + (1,) * (rank - len(x)), y + (1,) * (rank - len(y))
    if rank <= 1:
        fail(op, f"Keras 2.2.4 fails here: both operands have rank {rank} and tf.matmul needs "
                 "rank >= 2", shapes)
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
        if not all(-len(out_shape) <= i < len(out_shape) and is_one(
                op, shapes, out_shape[i], f"axis {i} of Keras 2.2.4's intermediate product "
                                          f"{out_shape}, which it squeezes, has size 1")
                   for i in squeeze):
            fail(op, f"Keras 2.2.4 fails here: it squeezes axes {tuple(squeeze)} of its "
                     f"intermediate product of shape {out_shape}, which are not all of size 1",
                 shapes)
        squeezed = {i % len(out_shape) for i in squeeze}  # tf.squeeze takes negative axes
        out_shape = tuple(s for i, s in enumerate(out_shape) if i not in squeezed)
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
    if not all(broadcastable(op, shapes, p, q, f"{p} broadcasts against {q} in Keras 2.2.4's "
                                               f"product of {left} and {yp}")
               for p, q in zip(left, yp)):
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
    if axes is None and legacy is False and precision is None and preferred_element_type is None:
        return _BATCH_DOT.fast2(x, y, (None,))
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


# -- the Dot layer ------------------------------------------------------------------------------
KERAS3_EPSILON = 1e-14
"""Keras 3's floor of the squared norm: it normalises with ``x * min(rsqrt(sum(x**2)), 1/eps)``
where ``eps = keras.config.epsilon()`` (1e-7), which is ``x * rsqrt(max(sum(x**2), eps**2))``."""

TF_KERAS_EPSILON = 1e-12
"""tf_keras's floor of the squared norm: the default of ``tf.math.l2_normalize``, which its
``Dot`` layer calls as ``x * rsqrt(max(sum(x**2), 1e-12))``."""


class _DotParams(NamedTuple):
    """A ``Dot`` layer's validated settings: one static param, so a call freezes one value."""

    axes: int | tuple[int, int]  # as the user wrote it (Python ints), quoted in messages
    pair: tuple[int, int]
    normalize: bool
    epsilon: float


def _dot_layer_rule(op: str, x: tuple[int, ...], y: tuple[int, ...], layer: _DotParams,
                    **options: Any) -> Plan:
    """Keras ``Dot`` layer (docs/semantics.md): ``batch_dot`` over the resolved axes, each operand
    L2-normalised along its contracted axis first if ``normalize``."""
    shapes = {"x": x, "y": y}
    _require_batched(op, shapes)
    terms, out_ids, out_shape, resolved = _batch_dot_terms(op, shapes, layer.pair, layer.axes)
    if layer.normalize:
        terms = [t._replace(normalize=(t.ids.index("k"),)) for t in terms]
    params = (("axes", resolved), ("normalize", layer.normalize))
    return make_plan(op, params, terms, out_ids, out_shape,
                     epsilon=layer.epsilon if layer.normalize else None, **options)


_DOT_LAYER = Op("keras.Dot", _dot_layer_rule, ("x", "y"))


def _check_epsilon(op: str, epsilon: Any) -> float:
    if not isinstance(epsilon, (int, float, np.integer, np.floating)) or isinstance(
            epsilon, (bool, np.bool_)):
        fail(op, f"epsilon must be a positive number; got {type_name(epsilon)}", kind=TypeError)
    try:
        value = float(epsilon)
    except OverflowError:  # an int beyond float's range
        value = math.inf
    if not 0 < value < math.inf:
        fail(op, f"epsilon must be a positive, finite number; got {epsilon!r}")
    return value


class Dot:
    """The Keras layer ``keras.layers.Dot(axes, normalize=False)``: ``Dot(axes)([x, y])``.

    A per-sample product over ONE axis of each input, axis 0 being the batch axis: exactly
    :func:`batch_dot` (the output is the batch axis, then ``x``'s other axes, then ``y``'s;
    2-D . 2-D gives ``(batch, 1)``). As in Keras, the layer is called on one list of two inputs.

    >>> import jax.numpy as jnp
    >>> layer = Dot(axes=(1, 2))
    >>> layer.plan((2, 3, 5), (2, 10, 3)).subscripts   # jnp.einsum('akc,adk->acd', x, y)
    'akc,adk->acd'
    >>> layer([jnp.ones((2, 3, 5)), jnp.ones((2, 10, 3))]).shape
    (2, 5, 10)
    >>> cosine = Dot(axes=1, normalize=True)
    >>> x, y = jnp.array([[3.0, 4.0], [0.0, 0.0]]), jnp.array([[4.0, 3.0], [1.0, 2.0]])
    >>> cosine([x, y]).round(6)
    Array([[0.96],
           [0.  ]], dtype=float32)
    >>> print(Dot(-1, normalize=True).plan((2, 3, 5), (2, 4, 5)))   # doctest: +ELLIPSIS
    keras.Dot(x: (2, 3, 5), y: (2, 4, 5), axes=(2, 2), normalize=True)
      einsum  abk,adk->abd
      x       abk  (2, 3, 5)  l2-normalise over axes (2,) (epsilon 1e-14)
      y       adk  (2, 4, 5)  l2-normalise over axes (2,) (epsilon 1e-14)
      out     abd  (2, 3, 4)
      ...

    Args:
      axes: an int (the same axis of both inputs) or a pair of ints, counted with the batch axis;
        NumPy integers too. A negative axis counts from the end of its own input, as Keras's
        ``axis % ndim`` does, so ``Dot(-1)`` contracts the last axes of inputs of different
        ranks. Unlike Keras, an axis outside ``-ndim <= axis < ndim`` is a ``ValueError``
        (Keras wraps an int ``-3`` to axis 1 of a 2-D input, and fails on the pair
        ``(-3, -3)``).
      normalize: L2-normalise each input along its contracted axis first, making the product
        the cosine similarity: ``x * rsqrt(max(sum(x**2, axis), epsilon))``; a zero vector
        stays 0. For real floating inputs: integers are a ``TypeError`` (as in Keras), and in
        float16 the floor underflows to 0, so zero vectors give NaN (as in both Kerases).
      epsilon: the floor of the squared norm, used only when ``normalize``. The default is
        Keras 3's, ``keras.config.epsilon() ** 2`` (``KERAS3_EPSILON``, 1e-14; pass
        ``keras.config.epsilon() ** 2`` if you changed Keras's). To reproduce a tf_keras (Keras
        2 / ``tf.keras``) model, pass ``epsilon=TF_KERAS_EPSILON`` (1e-12): the two differ only
        for vectors whose squared norm is below it.

    Calling the layer takes ``inputs`` (a list or tuple of two arrays) and, keyword-only,
    ``precision`` and ``preferred_element_type``, passed to ``lax.dot_general``. Dtypes follow
    JAX type promotion (Keras casts floating inputs to the layer's dtype, float32 by default).
    ``layer.plan(x_shape, y_shape)`` returns the :class:`~dotsum.Plan` without arrays.
    """

    __slots__ = ("_params", "_static")

    def __init__(self, axes: int | tuple[int, int], normalize: bool = False,
                 epsilon: float = KERAS3_EPSILON) -> None:
        op = _DOT_LAYER.name
        try:
            pair = _parse_axes(op, axes, None, {}, expected="an int or a pair of ints")
            self._params = _DotParams(pair[0] if is_int(axes) else pair, pair,
                                      check_flag(op, "normalize", normalize),
                                      _check_epsilon(op, epsilon))
        except (ValueError, TypeError) as e:
            raise e.with_traceback(None) from None  # end the traceback at the user's call
        self._static = (self._params,)

    @property
    def axes(self) -> int | tuple[int, int]:
        return self._params.axes

    @property
    def normalize(self) -> bool:
        return self._params.normalize

    @property
    def epsilon(self) -> float:
        return self._params.epsilon

    def __call__(self, inputs: Sequence[Any], *extra: Any, precision: Any = None,
                 preferred_element_type: Any = None) -> jax.Array:
        if extra or not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            _bad_inputs(inputs, extra)
        return _DOT_LAYER(inputs, self._static, precision, preferred_element_type)

    def plan(self, x_shape: Any, y_shape: Any, *, precision: Any = None,
             preferred_element_type: Any = None) -> Plan:
        """The plan of this layer for inputs of these shapes, without arrays."""
        return _DOT_LAYER.plan((x_shape, y_shape), self._static, precision,
                               preferred_element_type)

    def __repr__(self) -> str:
        text = f"Dot(axes={self.axes!r}"
        if self.normalize:
            text += ", normalize=True"
        if self.epsilon != KERAS3_EPSILON:
            text += f", epsilon={self.epsilon!r}"
        return text + ")"


def _bad_inputs(inputs: Any, extra: tuple) -> None:
    if extra:
        got = f"{1 + len(extra)} positional arguments"
    elif isinstance(inputs, (list, tuple)):
        got = f"a {type(inputs).__name__} of {len(inputs)}"
    elif hasattr(inputs, "shape"):
        got = f"one array of shape {tuple(inputs.shape)}"
    else:
        got = type_name(inputs)
    fail(_DOT_LAYER.name, f"the layer takes one list of two inputs, Dot(axes)([x, y]); "
                          f"got {got}")
