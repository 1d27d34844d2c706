"""The XLA options every op takes, ``precision`` and ``preferred_element_type``, validated once per
plan so that nothing invalid reaches ``lax.dot_general`` (whose errors would not name our op)."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from dotsum._errors import fail, type_name
from dotsum._jax import itemsize_bits

_ALGORITHMS = (lax.DotAlgorithmPreset, lax.DotAlgorithm)


def _one_precision(op: str, value: Any, given: Any) -> lax.Precision:
    if isinstance(value, lax.Precision):
        return value
    if isinstance(value, str):
        try:
            return lax.Precision(value)
        except (ValueError, KeyError):
            pass
        names = ", ".join(repr(p.name.lower()) for p in lax.Precision)
        fail(op, f"precision must be None, a jax.lax.Precision or one of {names}; got "
                 f"{value!r}" + ("" if value is given else f" in precision={given!r}"))
    fail(op, f"precision must be None, a jax.lax.Precision, its name, a pair of them, or a dot "
             f"algorithm; got {type_name(value)}"
             + ("" if value is given else f" in the pair precision={given!r}"), kind=TypeError)


def normalize_precision(op: str, precision: Any) -> Any:
    """``None``, a :class:`jax.lax.Precision` (or its name), a pair of them (lhs, rhs), or a dot
    algorithm (``lax.DotAlgorithmPreset``, ``lax.DotAlgorithm``), as ``lax.dot_general`` takes
    them; a pair holds precisions only, as there."""
    if precision is None or isinstance(precision, _ALGORITHMS):
        return precision
    if isinstance(precision, (tuple, list)) and len(precision) == 2:
        return tuple(_one_precision(op, p, precision) for p in precision)
    return _one_precision(op, precision, precision)


def normalize_dtype(op: str, dtype: Any) -> np.dtype | None:
    """``preferred_element_type``: ``None`` or a numeric (or bool) dtype that JAX has arrays of
    and ``dot_general`` can return (8 bits or more)."""
    if dtype is None:
        return None
    try:
        normal = np.dtype(jnp.dtype(dtype))
        with warnings.catch_warnings():  # complex128 without x64: fine, JAX truncates it
            warnings.simplefilter("ignore")
            jax.dtypes.result_type(normal)  # refuses dtypes JAX has no arrays of (float128)
    except Exception:  # noqa: BLE001 - NumPy and JAX raise anything for odd dtype specs
        normal = None
    if normal is None or not (jnp.issubdtype(normal, jnp.number) or normal == np.bool_):
        fail(op, f"preferred_element_type must be None or a numeric dtype that JAX supports; "
                 f"got {dtype!r}", kind=TypeError)
    if itemsize_bits(normal) < 8:
        fail(op, f"preferred_element_type must be a dtype of 8 bits or more (XLA's dot_general "
                 f"cannot return sub-byte types); got {normal.name}", kind=TypeError)
    return normal
