"""Independent NumPy definitions of the reference semantics (docs/semantics.md), and the live
reference frameworks when installed. Written from the specification, not from dotsum's code,
except legacy ``batch_dot``: its NumPy transcription is public as
``dotsum.testing.legacy_batch_dot`` and re-exported here; ``test_legacy.py`` pins it (and
dotsum) to hand-computed values."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

from dotsum.testing import legacy_batch_dot as np_legacy_batch_dot  # noqa: F401 (re-export)

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def optional(module: str):
    """Import a reference framework, or skip with the reason: the calling test, or the whole
    module when called at its top level."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        pytest.skip(f"reference framework {module!r} is not installed ({e}); "
                    "install the test extra: pip install -e '.[test]'", allow_module_level=True)


def np_batch_dot(x, y, axes=None):
    """Keras >= 2.2.5 ``batch_dot`` (SEMANTICS §2): per-sample tensordot over one axis each."""
    x, y = np.asarray(x), np.asarray(y)
    if axes is None:
        axes = (x.ndim - 1, y.ndim - (1 if y.ndim == 2 else 2))
    if isinstance(axes, (int, np.integer)):
        axes = (axes, axes)
    a0, a1 = (a % nd for a, nd in zip(axes, (x.ndim, y.ndim)))
    per_sample = np.tensordot(x[:1].sum(0), y[:1].sum(0), axes=(a0 - 1, a1 - 1)).shape
    out = np.zeros((x.shape[0],) + per_sample, np.result_type(x, y))
    for i in range(x.shape[0]):
        out[i] = np.tensordot(x[i], y[i], axes=(a0 - 1, a1 - 1))
    return out[:, None] if out.ndim == 1 else out


def np_tf_matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False):
    """``tf.matmul`` in NumPy: ranks >= 2, batch broadcasting, (conjugate) transposes."""
    a, b = np.asarray(a), np.asarray(b)
    if transpose_a or adjoint_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b or adjoint_b:
        b = np.swapaxes(b, -1, -2)
    return np.matmul(np.conj(a) if adjoint_a else a, np.conj(b) if adjoint_b else b)
