"""dotsum: Keras, TensorFlow and NumPy tensor products with their exact reference semantics,
each compiled to one inspectable einsum :class:`Plan` and run as one XLA call.

>>> from dotsum import keras as K
>>> print(K.dot.plan((2, 3, 4), (7, 6, 4, 5)).subscripts)
abk,cdkf->abcdf
"""

from dotsum import devices, keras, lax, numpy, ops, tf
from dotsum._dispatch import clear_caches
from dotsum._errors import ArgumentError
from dotsum._inspect import Report, Row, inspect
from dotsum._jax import hide_frames as _hide_frames
from dotsum._lower import Lowering
from dotsum._plan import Operand, Plan

_hide_frames(__path__[0])  # dotsum's frames leave JAX's filtered tracebacks, as JAX's own do

__all__ = ["ArgumentError", "Lowering", "Operand", "Plan", "Report", "Row", "clear_caches",
           "devices", "inspect", "keras", "lax", "numpy", "ops", "tf"]
try:  # the installed distribution's version: pyproject.toml's, one place
    from importlib.metadata import PackageNotFoundError as _NotFound
    from importlib.metadata import version as _version

    __version__ = _version("dotsum")
except _NotFound:  # imported from a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name: str):
    """``dotsum.testing`` on first use (it imports chex, which ``import dotsum`` need not)."""
    if name == "testing":
        import importlib

        return importlib.import_module("dotsum.testing")
    raise AttributeError(f"module 'dotsum' has no attribute {name!r}")
