"""``out_sharding`` on 4 devices: dotsum.numpy and dotsum.lax.dot_general place results as
jax.numpy / jax.lax do, eagerly and under ``jax.jit``, on a (2, 2) mesh with explicit axes.

Run in a subprocess by ``tests/test_numpy.py`` (the device count is fixed when JAX starts)::

    XLA_FLAGS=--xla_force_host_platform_device_count=4 JAX_PLATFORMS=cpu \\
        python -m pytest tests/out_sharding_checks.py -q -p no:cacheprovider
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from dotsum import lax as dlax
from dotsum import numpy as dnp


@pytest.fixture(autouse=True)
def _needs_4_devices():
    if len(jax.devices()) < 4:
        pytest.skip("needs 4 devices: XLA_FLAGS=--xla_force_host_platform_device_count=4")


def _mesh(kind=AxisType.Explicit):
    return jax.make_mesh((2, 2), ("x", "y"), axis_types=(kind,) * 2)


def _put(mesh, shape, spec, seed=0):
    value = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return jax.device_put(value, NamedSharding(mesh, spec))


DN = (((2,), (1,)), ((0,), (0,)))
# (id, call(namespace, arrays, **kw), operand (shape, spec)s, out_sharding, contracted sharded?)
CASES = [
    ("dot", lambda m, a, **k: m.dot(*a, **k), [((8, 6), P("x", "y")), ((6, 4), P("y", None))],
     P("x", None), True),
    ("matmul_batch", lambda m, a, **k: m.matmul(*a, **k),
     [((4, 8, 6), P("x", None, None)), ((4, 6, 2), P("x", None, None))], P("x", None, None),
     False),
    ("matmul_contracted", lambda m, a, **k: m.matmul(*a, **k),
     [((4, 8, 6), P("x", None, "y")), ((4, 6, 2), P("x", "y", None))], P(None, "x", None), True),
    ("tensordot", lambda m, a, **k: m.tensordot(*a, ([2, 1], [0, 1]), **k),
     [((8, 6, 4), P("x", None, "y")), ((4, 6), P("y", None))], P("x"), True),
    ("einsum_transposed", lambda m, a, **k: m.einsum("bij,bjk->kbi", *a, **k),
     [((4, 8, 6), P("x", None, None)), ((4, 6, 2), P("x", None, None))], P(None, "x", None),
     False),
    ("einsum_3_operands", lambda m, a, **k: m.einsum("ij,jk,kl->il", *a, **k),
     [((8, 6), P("x", "y")), ((6, 4), P("y", None)), ((4, 2), P())], P("x", None), True),
    ("dot_general", lambda m, a, **k: m.dot_general(*a, DN, **k),
     [((4, 8, 6), P("x", None, "y")), ((4, 6, 2), P("x", "y", None))], P("x", None, "y"), True),
]
IDS = [c[0] for c in CASES]


def _namespaces(case_id):
    return (lax, dlax) if case_id == "dot_general" else (jnp, dnp)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_out_sharding_matches_jax(case, jit):
    case_id, call, operands, spec, _ = case
    mesh = _mesh()
    arrays = [_put(mesh, s, p, i) for i, (s, p) in enumerate(operands)]
    ref_ns, ours_ns = _namespaces(case_id)
    with jax.set_mesh(mesh):
        results = []
        for ns in (ref_ns, ours_ns):
            fn = lambda *a, ns=ns: call(ns, a, out_sharding=spec)  # noqa: E731
            results.append((jax.jit(fn) if jit else fn)(*arrays))
    expected, got = results
    assert got.sharding == expected.sharding == NamedSharding(mesh, spec)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_without_out_sharding(case):
    """Where JAX infers the result's sharding, dotsum's is the same; where a contracted axis is
    sharded JAX asks for out_sharding, and dotsum says so in a ValueError naming the op."""
    case_id, call, operands, _, contracted = case
    mesh = _mesh()
    arrays = [_put(mesh, s, p, i) for i, (s, p) in enumerate(operands)]
    ref_ns, ours_ns = _namespaces(case_id)
    with jax.set_mesh(mesh):
        if contracted:
            with pytest.raises(ValueError, match=rf"^{ours_ns.__name__.split('.')[-1]}\."
                                                 r"\w+: Contracting dimensions are sharded"):
                call(ours_ns, arrays)
            return
        expected, got = call(ref_ns, arrays), call(ours_ns, arrays)
    assert got.sharding == expected.sharding


def test_a_named_sharding_needs_no_mesh_context():
    mesh = _mesh()
    x, y = _put(mesh, (8, 6), P("x", "y")), _put(mesh, (6, 4), P("y", None))
    out = dnp.dot(x, y, out_sharding=NamedSharding(mesh, P(None, "x")))
    assert out.sharding == jnp.dot(x, y, out_sharding=NamedSharding(mesh, P(None, "x"))).sharding


def test_out_sharding_errors_name_the_op():
    mesh = _mesh()
    x, y = _put(mesh, (8, 6), P("x", None)), _put(mesh, (6, 4), P())
    with pytest.raises(ValueError, match=rf"^numpy\.matmul: out_sharding={re.escape(repr(P('x')))}"
                                         r" is a PartitionSpec, which needs a mesh"):
        dnp.matmul(x, y, out_sharding=P("x"))
    with jax.set_mesh(mesh), pytest.raises(
            ValueError, match=r"^numpy\.matmul: out_sharding names mesh axis 'z'"):
        dnp.matmul(x, y, out_sharding=P("z"))
    with pytest.raises(TypeError, match=r"^lax\.dot_general: out_sharding must be None, a "
                                        r"jax\.sharding\.NamedSharding or a PartitionSpec"):
        dlax.dot_general(x, y, (((1,), (0,)), ((), ())), out_sharding="x")
    auto = _mesh(AxisType.Auto)
    xa, ya = _put(auto, (8, 6), P("x", None)), _put(auto, (6, 4), P())
    with pytest.raises(ValueError, match=r"^numpy\.einsum: out_sharding may name only explicit "
                                         r"mesh axes, as jax.numpy requires; axis 'x' is Auto"):
        dnp.einsum("ij,jk->ik", xa, ya, out_sharding=NamedSharding(auto, P("x", None)))
