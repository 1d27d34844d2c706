"""Test helpers for your own suite: check a dotsum call against the framework it reproduces::

    from dotsum import keras as K, ops
    from dotsum.testing import assert_matches_reference

    assert_matches_reference(K.batch_dot, x, y, axes=(2, 1))   # against tf_keras
    assert_matches_reference(ops.einsum, "bqd,bkd->bqk", q, k)  # against Keras 3 on JAX

The reference runs live: tf_keras for ``dotsum.keras``, TensorFlow for ``dotsum.tf``, Keras 3 on
the JAX backend for ``dotsum.ops`` (set ``KERAS_BACKEND=jax`` before Keras is imported),
``jax.numpy`` for ``dotsum.numpy`` and ``jax.lax`` for ``dotsum.lax`` (weak types compared
too). Legacy ``batch_dot`` (Keras <= 2.2.4, which needs TensorFlow 1.x) is checked against
:func:`legacy_batch_dot`, a NumPy transcription of its algorithm. ``REFERENCES`` maps each op's
qualified name to its reference and can be extended.

For structural checks, :func:`layout_copies` and :func:`copied_elements` read a compiled program
and return what XLA copies only to change layout, which ``plan.lowering.moves`` predicts.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

import chex
import jax
import numpy as np

from dotsum._hlo import copied_elements, layout_copies

__all__ = ["REFERENCES", "assert_matches_reference", "copied_elements", "expected_error",
           "layout_copies", "legacy_batch_dot", "tolerance"]


def legacy_batch_dot(x: Any, y: Any, axes: Any = None) -> np.ndarray:
    """Keras <= 2.2.4 ``batch_dot`` (TensorFlow backend) in NumPy, step by step: pad the
    lower-rank operand with trailing size-1 axes; rank 2 multiplies and sums one axis, higher ranks
    are a broadcasting matmul whose (conjugate) transposes the unnormalised ``axes`` choose; squeeze
    the padding; a 1-D result becomes ``(b, 1)``."""
    x, y = np.asarray(x), np.asarray(y)
    if isinstance(axes, (int, np.integer)):
        axes = (axes, axes)
    x_ndim, y_ndim = x.ndim, y.ndim
    if axes is None:
        axes = (x_ndim - 1, y_ndim - 2)
    diff = abs(x_ndim - y_ndim)
    if x_ndim > y_ndim:
        y = y.reshape(y.shape + (1,) * diff)
    elif y_ndim > x_ndim:
        x = x.reshape(x.shape + (1,) * diff)
    if x.ndim == 2:
        out = np.sum(x * y, axis=axes[0]) if axes[0] == axes[1] else np.sum(x.T * y, axis=axes[1])
    elif x.ndim < 2:
        raise ValueError("batch_dot of two 1-D tensors: tf.matmul needs rank >= 2")
    else:
        if axes[0] != x.ndim - 1:
            x = np.conj(np.swapaxes(x, -1, -2))
        if axes[1] == y.ndim - 1:
            y = np.conj(np.swapaxes(y, -1, -2))
        out = np.matmul(x, y)
    if diff:
        idx = x_ndim + y_ndim - 3 if x_ndim > y_ndim else x_ndim - 1
        squeeze = range(idx, idx + diff)
        if not all(-out.ndim <= i < out.ndim for i in squeeze):
            raise ValueError(f"tf.squeeze: axes {tuple(squeeze)} out of range for {out.shape}")
        # tf.squeeze takes each axis once however often (and however signed) it is named
        out = np.squeeze(out, tuple({i % out.ndim for i in squeeze}))
    return out[:, None] if out.ndim == 1 else out


def _tf():
    return importlib.import_module("tensorflow")


def _to_tf(value: Any) -> Any:
    """A TensorFlow tensor of ``value`` (TF cannot convert bfloat16 NumPy scalars directly)."""
    tf = _tf()
    array = np.asarray(value)
    if array.dtype.name == "bfloat16":
        return tf.cast(tf.constant(array.astype(np.float32)), tf.bfloat16)
    return tf.constant(value if isinstance(value, (list, int, float, complex)) else array)


def _tf_call(path: str) -> Callable[..., Any]:
    """A TensorFlow (or tf_keras) function called on ``tf.constant`` operands."""
    module, _, name = path.rpartition(".")

    def call(*args: Any, **params: Any) -> np.ndarray:
        fn = getattr(importlib.import_module(module), name)
        result = fn(*(a if isinstance(a, str) else _to_tf(a) for a in args), **params)
        return np.asarray(result.numpy())  # np.asarray(tensor) fails on bfloat16 scalars

    return call


def _keras_on_jax() -> Any:
    """Keras 3, which must run on the JAX backend to be dotsum's reference."""
    keras = importlib.import_module("keras")
    if keras.backend.backend() != "jax":
        raise RuntimeError("dotsum.ops and keras.Dot are checked against Keras 3 on the JAX "
                           "backend; set KERAS_BACKEND=jax before importing keras (it is "
                           f"{keras.backend.backend()!r})")
    return keras


def _keras3(name: str) -> Callable[..., Any]:
    def call(*args: Any, **params: Any) -> np.ndarray:
        return np.asarray(getattr(_keras_on_jax().ops, name)(*args, **params))

    return call


def _jax(path: str) -> Callable[..., Any]:
    """``jax.numpy``/``jax.lax`` itself (its result kept as a JAX array: weak types count)."""
    module, name = path.rsplit(".", 1)

    def call(*args: Any, **params: Any) -> Any:
        return getattr(importlib.import_module(f"jax.{module}"), name)(*args, **params)

    return call


def _batch_dot(x: Any, y: Any, axes: Any = None, *, legacy: bool = False) -> np.ndarray:
    if legacy:
        return legacy_batch_dot(x, y, axes)
    return _tf_call("tf_keras.backend.batch_dot")(x, y, axes=axes)


REFERENCES: dict[str, Callable[..., Any]] = {
    "dotsum.keras.dot": _tf_call("tf_keras.backend.dot"),
    "dotsum.keras.batch_dot": _batch_dot,
    "dotsum.tf.matmul": _tf_call("tensorflow.matmul"),
    "dotsum.tf.einsum": _tf_call("tensorflow.einsum"),
    "dotsum.tf.tensordot": _tf_call("tensorflow.tensordot"),
    "dotsum.tf.matvec": _tf_call("tensorflow.linalg.matvec"),
    **{f"dotsum.ops.{name}": _keras3(name)
       for name in ("dot", "matmul", "tensordot", "inner", "outer", "vdot", "einsum")},
    **{f"dotsum.numpy.{name}": _jax(f"numpy.{name}")
       for name in ("dot", "matmul", "tensordot", "inner", "outer", "vdot", "vecdot", "matvec",
                    "vecmat", "einsum")},
    "dotsum.lax.dot_general": _jax("lax.dot_general"),
}
_JAX_REFERENCED = ("dotsum.ops.", "dotsum.numpy.", "dotsum.lax.")  # TypeError: any kind


def tolerance(dtype: Any) -> float:
    """rtol = atol used for a result of this dtype."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return 0.0
    if dtype.name == "bfloat16":  # 8 significant bits; sums in another order differ by a few %
        return 6e-2
    if dtype.itemsize <= 2:
        return 2e-2
    return 1e-12 if dtype.name in ("float64", "complex128") else 2e-5


def _dot_layer(layer: Any, inputs: Any) -> np.ndarray:
    """The Keras layer ``Dot`` configured like ``layer``: tf_keras's if ``layer`` uses tf_keras's
    epsilon, else Keras 3's (JAX backend), in the inputs' float dtype."""
    from dotsum.keras import TF_KERAS_EPSILON

    arrays = [np.asarray(a) for a in inputs]
    dtype = np.result_type(*arrays).name
    if layer.epsilon == TF_KERAS_EPSILON:
        layers = importlib.import_module("tf_keras").layers
        return np.asarray(layers.Dot(layer.axes, layer.normalize, dtype=dtype)(
            [_to_tf(a) for a in arrays]))
    layers = _keras_on_jax().layers
    return np.asarray(layers.Dot(layer.axes, layer.normalize, dtype=dtype)(arrays))


def _qualified_name(op: Any) -> str:
    return f"{getattr(op, '__module__', '?')}.{getattr(op, '__qualname__', type(op).__name__)}"


def expected_error(op_name: str, reference_error: BaseException) -> tuple[type, ...]:
    """The kinds of error dotsum may raise where the reference raised ``reference_error``.

    A ``ValueError`` from any reference, or a TensorFlow ``InvalidArgumentError`` (a bad value
    or shape), must be a ``ValueError`` here; a ``TypeError`` from TensorFlow or tf_keras (a bad
    type) must be a ``TypeError``. JAX raises ``TypeError`` for shape mismatches too, so a
    ``TypeError`` from Keras 3 on JAX says nothing about the kind: either is accepted."""
    if isinstance(reference_error, ValueError):
        return (ValueError,)
    if type(reference_error).__name__ == "InvalidArgumentError":
        return (ValueError,)
    if isinstance(reference_error, TypeError) and not op_name.startswith(_JAX_REFERENCED):
        return (TypeError,)
    return (ValueError, TypeError)


def assert_matches_reference(op: Callable[..., Any], *args: Any, **params: Any) -> bool:
    """Assert that ``op(*args, **params)`` equals the reference framework's same call: the same
    shape, dtype (TensorFlow's result dtype canonicalised as JAX would, for the ``dotsum.tf`` and
    ``dotsum.keras`` ops) and values (``chex.assert_trees_all_close``, tolerances by dtype). If
    the reference raises, ``op`` must raise ``ValueError`` or ``TypeError``, of the kind
    :func:`expected_error` gives. A failure shows the dotsum plan of the call.

    ``args`` are the op's positional arguments as you would pass them (arrays, and for einsum the
    equation first); ``params`` its keyword arguments. Returns ``True`` if values were compared,
    ``False`` if both rejected the call (so a suite can count how often it compares values).
    """
    name = _qualified_name(op)
    reference = REFERENCES.get(name)
    if name == "dotsum.keras.Dot":  # a configured layer: its reference is configured alike
        reference = functools.partial(_dot_layer, op)
    if reference is None:
        raise KeyError(f"no reference is registered for {name}; known: {sorted(REFERENCES)}")
    # nested lists go to the reference as lists: frameworks make float32 of Python floats,
    # NumPy would make float64
    arrays = [np.asarray(a) if isinstance(a, jax.Array) else a for a in args]
    try:
        expected = reference(*arrays, **params)
    except (ImportError, RuntimeError):
        raise
    except Exception as reference_error:  # noqa: BLE001 - references raise anything
        kinds = expected_error(name, reference_error)
        try:
            op(*args, **params)
        except kinds:
            return False
        except (ValueError, TypeError) as e:
            raise AssertionError(
                f"{name}: the reference rejects this call with {reference_error!r}, so dotsum "
                f"must raise {' or '.join(k.__name__ for k in kinds)}; it raised {e!r}\n"
                f"{_plan_text(op, args, params)}") from None
        raise AssertionError(f"{name}: the reference rejects this call ({reference_error!r}) "
                             f"but dotsum returned a result\n{_plan_text(op, args, params)}"
                             ) from None
    got = op(*args, **params)
    expected_dtype = np.dtype(expected.dtype)
    if not name.startswith(_JAX_REFERENCED):  # TensorFlow: JAX's canonical dtype of its result
        expected_dtype = np.dtype(jax.dtypes.canonicalize_dtype(expected_dtype))
    try:
        chex.assert_shape(got, expected.shape)
        if np.dtype(got.dtype) != expected_dtype:
            raise AssertionError(f"dtype {np.dtype(got.dtype)} != reference {expected_dtype}")
        if isinstance(expected, jax.Array) and got.weak_type != expected.weak_type:
            raise AssertionError(f"weak_type {got.weak_type} != reference {expected.weak_type}")
        tol = tolerance(got.dtype)
        chex.assert_trees_all_close(np.asarray(got, expected.dtype), expected, rtol=tol,
                                    atol=tol)
    except AssertionError as e:
        raise AssertionError(f"{name} differs from its reference: {e}\n"
                             f"{_plan_text(op, args, params)}") from None
    return True


def _plan_text(op: Any, args: tuple, params: dict) -> str:
    if _qualified_name(op) == "dotsum.keras.Dot":
        args = tuple(args[0])  # Dot([x, y]) plans Dot.plan(x.shape, y.shape)
    shaped = [np.shape(a) if not isinstance(a, str) else a for a in args]
    try:
        return f"dotsum plan:\n{op.plan(*shaped, **params)}"
    except (ValueError, TypeError) as e:
        return f"dotsum plan: none ({e})"
