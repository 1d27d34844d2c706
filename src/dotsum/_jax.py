"""Every JAX API that differs between the releases dotsum supports, and every private one.

dotsum is tested on JAX 0.8.0 (the floor in ``pyproject.toml``), 0.10.2 and 0.12.1 (``.ci/run``).
Everything that is private (``jax._src``) or that one of those releases lacks is reached only
through this module, each with a fallback that keeps dotsum right where the API is missing:
``tests/test_jax_compat.py`` runs every fallback against the real thing and fails if a
``jax._src`` import appears in any other module. Features are detected, never versions.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterator
from typing import Any, NamedTuple

import jax
import numpy as np

# ``jit(inline=...)``: JAX 0.11 made ``inline=True`` mean "inline when lowering to MLIR", so the
# executor stayed a nested ``jit`` equation in the caller's jaxpr; ``jax.Inline.JAX_EARLY`` is
# what ``True`` meant before (inlined while tracing), and older JAX has no ``jax.Inline``.
INLINE: Any = jax.Inline.JAX_EARLY if hasattr(jax, "Inline") else True


def _itemsize_bits_fallback(dtype: Any) -> int:
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return 8
    if jax.numpy.issubdtype(dtype, jax.numpy.integer):
        return int(jax.numpy.iinfo(dtype).bits)
    if jax.numpy.issubdtype(dtype, jax.numpy.complexfloating):
        return 2 * int(jax.numpy.finfo(dtype).bits)
    return int(jax.numpy.finfo(dtype).bits)


def itemsize_bits(dtype: Any) -> int:
    """Bits per element, sub-byte types included (``int4`` is 4; public from JAX 0.9)."""
    public = getattr(jax.dtypes, "itemsize_bits", None)
    return int(public(dtype)) if public is not None else _itemsize_bits_fallback(dtype)


def _jaxprs_in_params_fallback(params: dict[str, Any]) -> Iterator[Any]:
    from jax.extend import core as jex

    for value in params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, jex.ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, jex.Jaxpr):
                yield item


def jaxprs_in_params(params: dict[str, Any]) -> Iterator[Any]:
    """The jaxprs an equation holds (a ``jit``'s, a ``custom_vjp``'s, ...): public from 0.10."""
    from jax.extend import core as jex

    public = getattr(jex, "jaxprs_in_params", None)
    return iter(public(params)) if public is not None else _jaxprs_in_params_fallback(params)


try:  # what JAX raises for a comparison its symbolic sizes do not decide (public from 0.9)
    from jax.errors import InconclusiveDimensionOperation as Inconclusive
except ImportError:  # pragma: no cover - 0.8
    try:
        from jax._src.export.shape_poly import InconclusiveDimensionOperation as Inconclusive
    except ImportError:  # a JAX that moved it: nothing extra to catch
        Inconclusive = ArithmeticError  # type: ignore[misc, assignment]

try:  # raised where explicit mesh axes leave a result's sharding ambiguous; not a TypeError
    from jax._src.core import ShardingTypeError
except ImportError:  # a JAX that moved it: nothing extra to catch
    ShardingTypeError = TypeError  # type: ignore[misc, assignment]

try:  # the concrete type of eager JAX arrays: an exact type test is 4x cheaper than isinstance
    from jax._src.array import ArrayImpl as ARRAY_IMPL
except ImportError:  # a JAX that moved it: the isinstance test alone still decides
    ARRAY_IMPL = None


def weak_result_type(*arrays: Any) -> bool:
    """Whether JAX's promotion of ``arrays`` (some weakly typed) gives a weak result; without
    JAX's private helper, False (a strong result of the same dtype and values)."""
    try:
        from jax._src.dtypes import result_type
    except ImportError:
        return False
    return bool(result_type(*arrays, return_weak_type_flag=True)[1])


def make_weak(x: jax.Array) -> jax.Array:
    """``x`` weakly typed (no change of value or dtype), as ``jnp.dot(2, 3.0)`` returns; without
    JAX's private helper, ``x`` as it is."""
    try:
        from jax._src.lax.lax import _convert_element_type
    except ImportError:
        return x
    return _convert_element_type(x, np.dtype(x.dtype), True)


class Frame(NamedTuple):
    file_name: str
    function_name: str
    line: int


_JAX_DIRS = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep
                  for m in (jax, __import__("jaxlib")))
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"]) + os.sep


def _user_frames_fallback(traceback: Any) -> list[Frame]:
    frames = getattr(traceback, "frames", None) or ()
    return [Frame(f.file_name, f.function_name, f.line_num) for f in frames
            if not os.path.abspath(f.file_name).startswith((*_JAX_DIRS, _STDLIB))]


def user_frames(traceback: Any) -> list[Frame]:
    """The frames of an equation's traceback outside JAX and the standard library, innermost
    first."""
    try:
        from jax._src import source_info_util
    except ImportError:
        return _user_frames_fallback(traceback)
    return [Frame(f.file_name, f.function_name, f.start_line)
            for f in source_info_util.user_frames(traceback)]


def hide_frames(path: str) -> None:
    """Leave ``path``'s frames out of JAX's filtered tracebacks, as JAX does for its own; a JAX
    without the hook shows full tracebacks, no harm."""
    try:
        from jax._src import traceback_util
    except ImportError:
        return
    getattr(traceback_util, "register_exclusion", lambda _: None)(path)
