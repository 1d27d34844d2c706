"""JAX's own tests of its products, run against dotsum (``tests/upstream/``, extracted from JAX).

Of the extracted snapshots (``SNAPSHOTS``) the one nearest the installed JAX runs: the newest
not newer than it, else the oldest. JAX's sdist ships no tests, so a release without a snapshot
of its own is held to the nearest source we have (JAX 0.12.1: the August 2026 snapshot, after
0.11.0; ``tests/upstream/README.md``).

The test modules see a ``jnp`` whose products (``dot``, ``matmul``, ``tensordot``, ``inner``,
``outer``, ``vdot``, ``vecdot``, ``matvec``, ``vecmat``, ``einsum``) are ``dotsum.numpy``'s
and a ``lax`` whose ``dot_general`` is ``dotsum.lax``'s; everything else (``jnp.einsum_path``,
dtypes, ``jnp.promote_types``) stays JAX's. They draw ``JAX_NUM_GENERATED_CASES`` samples per
parameterised test (at least 25 here). Excluded checks are listed in ``EXCLUDED`` with why.
"""

from __future__ import annotations

import importlib
import os
import types
import unittest

import jax

os.environ.setdefault("JAX_NUM_GENERATED_CASES", "25")
from jax._src import test_util as jtu  # noqa: E402  (reads JAX_NUM_GENERATED_CASES)

if jtu.NUM_GENERATED_CASES.value < 25:  # imported before this module set it
    jax.config.update("jax_num_generated_cases", 25)

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

from dotsum import lax as dlax  # noqa: E402
from dotsum import numpy as dnp  # noqa: E402

# tests/upstream/<folder>: the JAX source each was extracted from (tools/extract_jax_tests.py)
SNAPSHOTS = {(0, 10, 2): "v0_10_2",  # tag jax-v0.10.2
             (0, 11, 1): "v0_11_1_dev"}  # main at cec06d1 (2026-08-08; version.py: 0.11.1)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int("".join(c for c in part if c.isdigit()) or 0)
                 for part in version.split(".")[:3])


def snapshot(version: str) -> str:
    """The folder of JAX tests nearest JAX ``version``: the newest not newer, else the oldest."""
    older = [v for v in SNAPSHOTS if v <= _release(version)]
    return SNAPSHOTS[max(older) if older else min(SNAPSHOTS)]


SNAPSHOT = snapshot(jax.__version__)
jax_numpy_products, jax_numpy_einsum, jax_lax_dot_general = (
    importlib.import_module(f"upstream.{SNAPSHOT}.{name}")
    for name in ("jax_numpy_products", "jax_numpy_einsum", "jax_lax_dot_general"))


class _With(types.ModuleType):
    """A module that is ``base`` except for the names given."""

    def __init__(self, base: types.ModuleType, **names):
        super().__init__(base.__name__)
        self._base = base
        self.__dict__.update(names)

    def __getattr__(self, name):
        return getattr(self._base, name)


JNP = _With(jnp, **{name: getattr(dnp, name) for name in dnp.__all__})
LAX = _With(lax, dot_general=dlax.dot_general)
for module in (jax_numpy_products, jax_numpy_einsum):
    module.jnp = JNP
jax_lax_dot_general.lax = LAX

_JAXPR = ("checks the primitives of jnp's own jaxpr, not semantics: dotsum's plan converts "
          "mixed-dtype operands to the result dtype before its dot_general (same values), and "
          "an elementwise einsum step lowers per platform under lax.platform_dependent; values "
          "and dtypes of mixed-precision calls are compared in test_fuzz_jax.py")
EXCLUDED = {
    "testMixedPrecisionDot": _JAXPR,
    "test_einsum_mixed_precision": _JAXPR,
    "test_einsum_unsupported_optimization": "checks for NotImplementedError: dotsum refuses a "
                                            "path step over 3 operands with a ValueError naming "
                                            "the op (test_numpy.py)",
}


def _through_dotsum(base: type) -> type:
    """``base`` with every excluded test (each parameterised sample) skipped with its reason."""
    skipped = {}
    for name in dir(base):
        for prefix, why in EXCLUDED.items():
            if name == prefix or (name.startswith(prefix) and name[len(prefix):].isdigit()):
                skipped[name] = unittest.skip(why)(lambda self: None)
    return type(f"Test{base.__name__}ThroughDotsum", (base,), skipped)


TestNumpyProducts = _through_dotsum(jax_numpy_products.LaxBackedNumpyTests)
TestEinsum = _through_dotsum(jax_numpy_einsum.EinsumTest)
TestDotGeneral = _through_dotsum(jax_lax_dot_general.LaxTest)


def test_the_suite_runs_dotsum():
    """The patched names are dotsum's, and enough samples are drawn."""
    assert jax_numpy_products.jnp.matmul is dnp.matmul
    assert jax_numpy_einsum.jnp.einsum is dnp.einsum
    assert jax_lax_dot_general.lax.dot_general is dlax.dot_general
    assert jax_numpy_products.jnp.einsum_path is jnp.einsum_path
    assert jtu.NUM_GENERATED_CASES.value >= 25


def test_the_nearest_snapshot_runs():
    assert snapshot("0.10.2") == "v0_10_2"
    assert snapshot("0.12.1") == snapshot("0.11.2") == "v0_11_1_dev"
    assert snapshot("0.8.0") == "v0_10_2"
    assert jax_numpy_products.__name__ == f"upstream.{snapshot(jax.__version__)}.jax_numpy_products"
