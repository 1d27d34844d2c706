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


POLICIES: dict[str, Policy] = {"jax": jax_promotion, "keras3-int8": keras3_int8}
