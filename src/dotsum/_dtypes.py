"""Result-dtype policies: which dtype the operands are promoted to, and which dtype
``dot_general`` accumulates and returns (its ``preferred_element_type``).

A plan names its policy; the executor applies it to the traced operands, so plans stay
dtype-free and one plan serves every dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from dotsum._jax import itemsize_bits, weak_result_type

Policy = Callable[[Sequence[Any], "np.dtype | None"], "tuple[np.dtype, np.dtype | None]"]


def jax_promotion(arrays: Sequence[Any], preferred: np.dtype | None):
    """JAX type promotion, as ``jnp.matmul`` and ``jnp.einsum`` do; ``preferred`` canonical for
    the x64 mode in force (int64 is int32 without x64), as ``jnp.einsum`` makes it."""
    dtype = jnp.result_type(*arrays)
    return dtype, None if preferred is None else jax.dtypes.canonicalize_dtype(preferred)


def keras3_int8(arrays: Sequence[Any], preferred: np.dtype | None):
    """Keras 3 on JAX: JAX promotion, but int8 operands only accumulate into int32
    (``keras.ops.matmul`` and ``keras.ops.einsum``)."""
    if preferred is None and all(jnp.dtype(a.dtype) == jnp.int8 for a in arrays):
        preferred = np.dtype(np.int32)
    return jax_promotion(arrays, preferred)


def jnp_products(arrays: Sequence[Any], preferred: np.dtype | None):
    """``jax.numpy``'s products: JAX promotion, and ``dot_general`` is always told the result
    dtype (``jnp.dot`` passes ``preferred_element_type=result_type(a, b)``)."""
    dtype, preferred = jax_promotion(arrays, preferred)
    return dtype, dtype if preferred is None else preferred


def _lax_rank(dtype: np.dtype) -> tuple:
    """XLA's ``HigherPrecisionType`` order, as ``lax.dot_general`` picks its result dtype."""
    dtype = np.dtype(dtype)
    complex_ = jnp.issubdtype(dtype, jnp.complexfloating)
    real = np.dtype(jnp.finfo(dtype).dtype) if complex_ else dtype
    floating = jnp.issubdtype(real, jnp.floating)
    bits = itemsize_bits(real) if real != np.bool_ else 1
    return (complex_, jnp.finfo(real).maxexp if floating else -1,
            jnp.finfo(real).nmant if floating else -1, bits,
            not jnp.issubdtype(real, jnp.unsignedinteger))


def lax_dot_general(arrays: Sequence[Any], preferred: np.dtype | None):
    """``lax.dot_general``: no promotion; the operand of higher precision (XLA's order: complex,
    exponent, mantissa, bits, signed) gives the dtype, so float16 . bfloat16 is bfloat16 and
    uint8 . int8 is int8. Two different dtypes of equal rank are refused, as lax does."""
    dtypes = [np.dtype(a.dtype) for a in arrays]
    ranked = sorted(dtypes, key=_lax_rank)
    low, high = ranked[0], ranked[-1]
    if low != high and _lax_rank(low) == _lax_rank(high):
        raise TypeError(f"operands of dtypes {dtypes[0].name} and {dtypes[1].name} have no "
                        f"common dtype for lax.dot_general")
    canonical = None if preferred is None else jax.dtypes.canonicalize_dtype(preferred)
    return high, canonical


POLICIES: dict[str, Policy] = {"jax": jax_promotion, "keras3-int8": keras3_int8,
                               "jnp": jnp_products, "lax": lax_dot_general}


def weak_result(policy: str, arrays: Sequence[Any], preferred: np.dtype | None) -> bool:
    """Whether the result is weakly typed, as JAX makes it: ``jax.numpy``'s products give a
    weak result when promotion does (Python scalars only) and no dtype was asked for;
    ``lax.dot_general`` when both operands are weak. Other policies: never."""
    if policy not in ("jnp", "lax") or (policy == "jnp" and preferred is not None):
        return False
    weak = [_is_weak(a) for a in arrays]
    if policy == "lax" or not any(weak):
        return all(weak)
    return weak_result_type(*arrays)


def _is_weak(a: Any) -> bool:
    aval = getattr(a, "aval", None)  # tracers
    return bool(getattr(aval if aval is not None else a, "weak_type", False))


