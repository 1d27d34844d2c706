"""``dotsum._jax``: the one module that touches JAX's private API or an API some supported JAX
lacks. Each fallback is checked against what it stands in for, on whatever JAX runs the suite,
and no other module may import ``jax._src``."""

from __future__ import annotations

import ast
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import dotsum
from dotsum import _jax, ops
from dotsum import numpy as dnp

ROOT = Path(__file__).resolve().parents[1]


def _private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        found += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names
                  if n == "jax._src" or n.startswith("jax._src.")]
        if isinstance(node, ast.Attribute) and node.attr == "_src":  # jax._src.foo without import
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} ._src")
    return found


def test_no_private_jax_outside_the_compat_module():
    files = [p for folder in ("src", "examples", "benchmarks", "tools")
             for p in (ROOT / folder).rglob("*.py") if p.name != "_jax.py"]
    assert len(files) > 30
    assert [hit for p in files for hit in _private_imports(p)] == []
    assert _private_imports(ROOT / "src" / "dotsum" / "_jax.py")  # the scan sees them


DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint32, np.float16,
          jnp.bfloat16, np.float32, np.float64, np.complex64, np.complex128, ml_dtypes.int4,
          ml_dtypes.uint4, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_itemsize_bits_fallback_is_jaxs(dtype):
    expected = {"int4": 4, "uint4": 4}.get(np.dtype(dtype).name, np.dtype(dtype).itemsize * 8)
    assert _jax._itemsize_bits_fallback(dtype) == expected
    assert _jax.itemsize_bits(dtype) == expected
    if hasattr(jax.dtypes, "itemsize_bits"):
        assert jax.dtypes.itemsize_bits(dtype) == expected


def test_itemsize_bits_without_jaxs(monkeypatch):
    monkeypatch.delattr(jax.dtypes, "itemsize_bits", raising=False)
    assert _jax.itemsize_bits(ml_dtypes.int4) == 4
    with pytest.raises(TypeError, match="sub-byte"):
        dnp.dot(jnp.ones(3), jnp.ones(3), preferred_element_type=ml_dtypes.int4)


def _nested_programs():
    x = jnp.ones((3, 3))

    @jax.custom_vjp
    def f(x):
        return x @ x

    f.defvjp(lambda x: (x @ x, x), lambda x, g: (g @ x,))

    def everything(x):
        y = jax.jit(lambda x: x @ x)(x)
        y = jax.checkpoint(lambda x: x @ x)(y)
        y = jax.lax.scan(lambda c, _: (c @ c, None), y, None, length=2)[0]
        y = jax.lax.cond(True, lambda x: x @ x, lambda x: x, y)
        y = jax.lax.while_loop(lambda c: c[0, 0] < 0, lambda c: c @ c, y)
        return f(y)

    return jax.make_jaxpr(everything)(x).jaxpr.eqns


def test_jaxprs_in_params_fallback_finds_what_jax_finds():
    eqns = _nested_programs()
    counts = [len(list(_jax._jaxprs_in_params_fallback(e.params))) for e in eqns]
    assert sum(counts) >= 7  # jit, checkpoint, scan, 2 branches, cond and body, custom_vjp
    from jax.extend import core as jex

    if hasattr(jex, "jaxprs_in_params"):
        for eqn in eqns:
            assert ([id(j) for j in _jax._jaxprs_in_params_fallback(eqn.params)]
                    == [id(j) for j in jex.jaxprs_in_params(eqn.params)]), eqn.primitive


def test_inspect_without_jaxs_jaxprs_in_params(monkeypatch):
    from jax.extend import core as jex

    shape = jax.ShapeDtypeStruct((3, 3), jnp.float32)
    expected = [r.subscripts for r in dotsum.inspect(lambda x: _nested_x(x), shape).rows]
    monkeypatch.delattr(jex, "jaxprs_in_params", raising=False)
    assert [r.subscripts for r in dotsum.inspect(lambda x: _nested_x(x), shape).rows] == expected
    assert dotsum.inspect(lambda x: _nested_x(x), shape).total_flops == 2 * 2 * 27


def _nested_x(x):
    return jax.jit(lambda x: jax.checkpoint(lambda x: x @ x)(x) @ x)(x)


def test_user_frames_fallback_finds_the_users_line():
    (eqn,) = jax.make_jaxpr(lambda x: x @ x)(jnp.ones((2, 2))).jaxpr.eqns
    real = _jax.user_frames(eqn.source_info.traceback)
    fallback = _jax._user_frames_fallback(eqn.source_info.traceback)
    assert real[0].file_name == fallback[0].file_name == __file__
    assert real[0].line == fallback[0].line
    assert real[0].function_name == fallback[0].function_name


def test_weak_types_as_jnp_makes_them():
    for args in [(2, 3.0), (jnp.float32(2), 3.0), (2.0, jnp.ones(2, jnp.int8))]:
        assert _jax.weak_result_type(*args) == jnp.dot(*args).weak_type
        assert dnp.dot(*args).weak_type == jnp.dot(*args).weak_type
    weak = _jax.make_weak(jnp.ones(2))
    assert weak.weak_type and weak.dtype == jnp.float32


def test_the_executor_is_inlined_into_the_callers_jaxpr():
    """On every JAX: ``jit(inline=True)`` stopped meaning "inline while tracing" in 0.11, and
    the executor's product then sat inside a nested ``jit`` equation."""
    jaxpr = jax.make_jaxpr(lambda x, y: ops.matmul(x, y) + 1)(jnp.ones((2, 3)), jnp.ones((3, 4)))
    assert [e.primitive.name for e in jaxpr.jaxpr.eqns] == ["dot_general", "add"]


def test_inspect_reads_a_dotsum_product_that_was_not_inlined(monkeypatch):
    """Were a JAX to stop inlining the executor, its rows would still name the op, carry the
    gradient's mark and point at the user's line."""
    from dotsum import _lower

    monkeypatch.setattr(_lower, "INLINE", False)
    _lower.executor.cache_clear()
    try:
        x = jax.ShapeDtypeStruct((8, 16), jnp.float32)
        w = jax.ShapeDtypeStruct((16, 4), jnp.float32)

        def loss(x, w):
            return jnp.sum(ops.matmul(x, w) ** 2)

        jaxpr = jax.make_jaxpr(loss)(x, w)
        assert "dot_general" not in [e.primitive.name for e in jaxpr.jaxpr.eqns]  # nested
        rows = dotsum.inspect(jax.grad(loss, argnums=(0, 1)), x, w).rows
        assert sorted(r.notes for r in rows) == [(), ("backward",), ("backward",)]
        assert {r.op for r in rows} == {"ops.matmul"}
        line = f"test_jax_compat.py:{loss.__code__.co_firstlineno + 1} (loss)"
        assert all(r.source.endswith(line) for r in rows), [r.source for r in rows]
    finally:
        _lower.executor.cache_clear()
