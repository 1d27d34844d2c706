"""Independent NumPy definitions of the reference semantics (SEMANTICS.md), and the live
reference frameworks when installed. Written from the specification, not from dotsum's code."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def optional(module: str):
    """Import a reference framework, or skip the calling test with the reason."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        pytest.skip(f"reference framework {module!r} is not installed ({e}); "
                    "install the test extra: pip install -e '.[test]'")


def np_batch_dot(x, y, axes=None):
    """Keras >= 2.2.5 ``batch_dot`` (SEMANTICS §2): per-sample tensordot over one axis each."""
    x, y = np.asarray(x), np.asarray(y)
    if axes is None:
        axes = (x.ndim - 1, y.ndim - (1 if y.ndim == 2 else 2))
    if isinstance(axes, (int, np.integer)):
        axes = (axes, axes)
    a0, a1 = (a % nd for a, nd in zip(axes, (x.ndim, y.ndim)))
    out = np.stack([np.tensordot(x[i], y[i], axes=(a0 - 1, a1 - 1)) for i in range(x.shape[0])])
    out = out.reshape((x.shape[0],) + out.shape[1:])
    return out[:, None] if out.ndim == 1 else out


def np_legacy_batch_dot(x, y, axes=None):
    """Keras <= 2.2.4 ``batch_dot`` with the TensorFlow backend (SEMANTICS §3), op for op:
    reshape-pad, multiply+sum or matmul with adjoints, squeeze, expand_dims."""
    x, y = np.asarray(x), np.asarray(y)
    if isinstance(axes, (int, np.integer)):
        axes = (axes, axes)
    x_ndim, y_ndim = x.ndim, y.ndim
    if axes is None:
        axes = [x_ndim - 1, y_ndim - 2]
    diff = abs(x_ndim - y_ndim)
    if x_ndim > y_ndim:
        y = y.reshape(y.shape + (1,) * diff)
    elif y_ndim > x_ndim:
        x = x.reshape(x.shape + (1,) * diff)
    if x.ndim == 2 and y.ndim == 2:
        if axes[0] == axes[1]:
            out = np.sum(x * y, axis=axes[0])
        else:
            out = np.sum(x.T * y, axis=axes[1])
    else:
        if x.ndim < 2:
            raise ValueError("matmul needs rank >= 2")
        if axes[0] != x.ndim - 1:
            x = np.conj(np.swapaxes(x, -1, -2))
        if axes[1] == y.ndim - 1:
            y = np.conj(np.swapaxes(y, -1, -2))
        out = np.matmul(x, y)
    if diff:
        idx = x_ndim + y_ndim - 3 if x_ndim > y_ndim else x_ndim - 1
        out = np.squeeze(out, tuple(range(idx, idx + diff)))
    if out.ndim == 1:
        out = out[:, None]
    return out


def np_tf_matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False):
    """``tf.matmul`` in NumPy: ranks >= 2, batch broadcasting, (conjugate) transposes."""
    a, b = np.asarray(a), np.asarray(b)
    if transpose_a or adjoint_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b or adjoint_b:
        b = np.swapaxes(b, -1, -2)
    return np.matmul(np.conj(a) if adjoint_a else a, np.conj(b) if adjoint_b else b)
