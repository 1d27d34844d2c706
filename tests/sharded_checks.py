"""Sharding on 8 devices: values, output shardings, collectives in the compiled HLO, errors.

Not collected by the main run (pytest collects ``test_*.py``): it needs 8 devices, and the
device count is fixed when JAX starts. ``tests/test_shard.py`` runs it in a subprocess::

    XLA_FLAGS=--xla_force_host_platform_device_count=8 JAX_PLATFORMS=cpu \\
        python -m pytest tests/sharded_checks.py -q -p no:cacheprovider

Every test is skipped with fewer than 8 devices. Letters were read from the printed plans:
``batch_dot (8,6,4)·(8,4,2)`` and ``tf.matmul (8,4,6)·(8,6,2)`` are ``abk,ake->abe``,
``dot (8,6)·(6,4)`` is ``ak,kc->ac``, ``batch_dot (8,4)·(8,4)`` is ``ak,ak->a`` reshaped to
``(8, 1)``.
"""

from __future__ import annotations

import re

import chex
import jax
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from dotsum import keras as K
from dotsum import tf as dtf
from dotsum._shard import describe_sharding, shard

COLLECTIVE = re.compile(
    r"\b(all-reduce|all-gather|reduce-scatter|all-to-all|collective-permute)(-start)?\(")
REDUCTION = re.compile(r"\b(all-reduce|reduce-scatter)(-start)?\(")


@pytest.fixture(autouse=True)
def _needs_8_devices():
    if len(jax.devices()) < 8:
        pytest.skip("needs 8 devices: XLA_FLAGS=--xla_force_host_platform_device_count=8")


@pytest.fixture(params=[AxisType.Explicit, AxisType.Auto], ids=["explicit", "auto"])
def mesh(request):
    """A (4, 2) mesh; jax.make_mesh's default axis type is Explicit, the classic one Auto."""
    return jax.make_mesh((4, 2), ("data", "model"), axis_types=(request.param,) * 2)


def _inputs(*shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


# (id, op, params, x shape, y shape, labels, expected output spec, reduces?)
CASES = [
    ("batch_dot_batch", K.batch_dot, {}, (8, 6, 4), (8, 4, 2),
     {"a": "data"}, P("data", None, None), False),
    ("batch_dot_batch_and_contracted", K.batch_dot, {}, (8, 6, 4), (8, 4, 2),
     {"a": "data", "k": "model"}, P("data", None, None), True),
    ("batch_dot_2d_reshaped_output", K.batch_dot, {}, (8, 4), (8, 4),
     {"a": "data"}, P("data", None), False),
    ("dot_free_and_contracted", K.dot, {}, (8, 6), (6, 4),
     {"a": "data", "k": "model"}, P("data", None), True),
    ("dot_free_only", K.dot, {}, (8, 6), (6, 4),
     {"a": "data", "c": "model"}, P("data", "model"), False),
    ("matmul_batch_and_column", dtf.matmul, {}, (8, 4, 6), (8, 6, 2),
     {"a": "data", "e": "model"}, P("data", None, "model"), False),
    ("matmul_contracted_over_two_axes", dtf.matmul, {}, (8, 4, 16), (8, 16, 2),
     {"k": ("data", "model")}, P(None, None, None), True),
    ("matmul_broadcast_reshaped_operand", dtf.matmul, {}, (8, 1, 4, 6), (8, 6, 2),
     {"a": "data", "c": "model"}, P("data", "model", None, None), False),
]


def test_plans_have_the_letters_used_here():
    assert K.batch_dot.plan((8, 6, 4), (8, 4, 2)).subscripts == "abk,ake->abe"
    assert K.batch_dot.plan((8, 4), (8, 4)).subscripts == "ak,ak->a"
    assert K.dot.plan((8, 6), (6, 4)).subscripts == "ak,kc->ac"
    assert dtf.matmul.plan((8, 4, 6), (8, 6, 2)).subscripts == "abk,ake->abe"
    assert dtf.matmul.plan((8, 1, 4, 6), (8, 6, 2)).subscripts == "abk,cke->acbe"


@pytest.mark.parametrize("name, op, params, x_shape, y_shape, labels, spec, reduces", CASES,
                         ids=[c[0] for c in CASES])
def test_sharded_equals_unsharded(mesh, name, op, params, x_shape, y_shape, labels, spec,
                                  reduces):
    plan = op.plan(x_shape, y_shape, **params)
    x, y = _inputs(x_shape, y_shape)
    f = shard(plan, mesh, **labels)
    out = f(x, y)
    chex.assert_trees_all_close(np.asarray(out), np.asarray(op(x, y, **params)),
                                rtol=1e-5, atol=1e-5)
    assert out.shape == plan.out_shape
    assert out.sharding.spec == spec
    assert out.sharding.is_equivalent_to(NamedSharding(mesh, spec), out.ndim)
    hlo = f.lower(x, y).compile().as_text()
    if reduces:
        assert REDUCTION.search(hlo), "a sharded contracted label must reduce across devices"
    else:
        assert not COLLECTIVE.search(hlo), COLLECTIVE.search(hlo).group(0)
    described = describe_sharding(plan, mesh, **labels)
    assert ("reduce  none" not in described) == reduces, described


def test_input_shardings_put_the_mesh_axis_on_the_labelled_axes(mesh):
    plan = K.batch_dot.plan((8, 6, 4), (8, 4, 2))  # abk,ake->abe
    f = shard(plan, mesh, a="data", k="model")
    args, _ = f.lower(*_inputs((8, 6, 4), (8, 4, 2))).compile().input_shardings
    assert [s.spec for s in args] == [P("data", None, "model"), P("data", "model", None)]


def test_arrays_already_placed_as_requested(mesh):
    plan = K.batch_dot.plan((8, 6, 4), (8, 4, 2))
    f = shard(plan, mesh, a="data", k="model")
    x, y = _inputs((8, 6, 4), (8, 4, 2))
    xs = jax.device_put(x, NamedSharding(mesh, P("data", None, "model")))
    ys = jax.device_put(y, NamedSharding(mesh, P("data", "model", None)))
    out = f(xs, ys)  # explicit axes: the contraction's partial sums still reduce (auto_axes)
    chex.assert_trees_all_close(np.asarray(out), np.einsum("abk,ake->abe", x, y),
                                rtol=1e-5, atol=1e-5)
    assert out.sharding.spec == P("data", None, None)


def test_shard_reuses_the_compiled_function(mesh):
    plan = K.dot.plan((8, 6), (6, 4))
    assert shard(plan, mesh, a="data", k="model") is shard(plan, mesh, k="model", a="data")


@pytest.mark.parametrize("jit", [True, False], ids=["user_jit", "eager"])
def test_ops_unchanged_on_sharded_arrays(mesh, jit):
    """The plain ops need no ``shard``: inside a user's jit (or eagerly) on arrays placed with
    device_put, XLA propagates the batch sharding through the contraction."""
    x, y = _inputs((8, 6, 4), (8, 4, 2))
    xs = jax.device_put(x, NamedSharding(mesh, P("data", None, None)))
    ys = jax.device_put(y, NamedSharding(mesh, P("data", None, None)))
    fn = jax.jit(lambda a, b: K.batch_dot(a, b) * 2.0) if jit else K.batch_dot
    out = fn(xs, ys)
    expected = np.einsum("abk,ake->abe", x, y) * (2.0 if jit else 1.0)
    chex.assert_trees_all_close(np.asarray(out), expected, rtol=1e-5, atol=1e-5)
    assert out.sharding.is_equivalent_to(NamedSharding(mesh, P("data", None, None)), 3)


def test_ops_on_arrays_sharded_along_a_contracted_axis(mesh):
    x, y = _inputs((8, 6, 4), (8, 4, 2))
    xs = jax.device_put(x, NamedSharding(mesh, P("data", None, "model")))
    ys = jax.device_put(y, NamedSharding(mesh, P("data", "model", None)))
    if mesh.axis_types[0] == AxisType.Explicit:
        pytest.xfail("dotsum's run() calls dot_general without out_sharding, which explicit "
                     "axes require when a contracted axis is sharded; use shard() instead")
    out = jax.jit(K.batch_dot)(xs, ys)
    chex.assert_trees_all_close(np.asarray(out), np.einsum("abk,ake->abe", x, y),
                                rtol=1e-5, atol=1e-5)


# -- errors: "<op>.shard: <problem> (x.shape=..., y.shape=...)" ---------------------------------
BATCH_DOT = ((8, 6, 4), (8, 4, 2))  # abk,ake->abe
SHAPES = r" \(x\.shape=\(8, 6, 4\), y\.shape=\(8, 4, 2\)\)$"
ERRORS = [
    ({"z": "data"}, r"^keras\.batch_dot\.shard: unknown label 'z'; the labels of 'abk,ake->abe' "
                    r"are 'a', 'b', 'k', 'e'" + SHAPES),
    ({"a": "batch"}, r"^keras\.batch_dot\.shard: unknown mesh axis 'batch' for label 'a'; the "
                     r"mesh's axes are 'data', 'model'" + SHAPES),
    ({"a": "data", "e": "data"}, r"^keras\.batch_dot\.shard: mesh axis 'data' shards both "
                                 r"label 'a' and label 'e'; a mesh axis can shard one label only"
                                 + SHAPES),
    ({"a": ("model", "model")}, r"^keras\.batch_dot\.shard: mesh axis 'model' is given twice "
                                r"for label 'a'"),
    ({"b": "data"}, r"^keras\.batch_dot\.shard: label 'b' has size 6, which is not divisible by "
                    r"mesh axis 'data' of size 4" + SHAPES),
    ({"a": ("data", "model"), "k": None, "b": "model"},
     r"^keras\.batch_dot\.shard: mesh axis 'model' shards both label 'a' and label 'b'"),
]


@pytest.mark.parametrize("labels, message", ERRORS, ids=[str(e[0]) for e in ERRORS])
def test_errors(mesh, labels, message):
    plan = K.batch_dot.plan(*BATCH_DOT)
    with pytest.raises(ValueError, match=message):
        shard(plan, mesh, **labels)


def test_error_for_a_label_the_plan_reshapes_away(mesh):
    # legacy batch_dot pads x (8, 4) to (8, 4, 1): its size-1 label 'c' has no axis of x
    plan = K.batch_dot.plan((8, 4), (8, 4, 2), legacy=True)
    assert plan.subscripts == "akc,ake->ace" and plan.operands[0].reshaped
    mesh1 = jax.make_mesh((8, 1), ("data", "model"), axis_types=mesh.axis_types)
    with pytest.raises(ValueError, match=r"^keras\.batch_dot\[legacy\]\.shard: cannot shard "
                       r"label 'c': the plan reshapes x from \(8, 4\) to \(8, 4, 1\) before the "
                       r"contraction, so 'c' is not an axis of x; leave 'c' unsharded"):
        shard(plan, mesh1, c="model")
    assert shard(plan, mesh, a="data")(*_inputs((8, 4), (8, 4, 2))).shape == (8, 2)


def test_type_errors(mesh):
    plan = K.batch_dot.plan(*BATCH_DOT)
    with pytest.raises(TypeError, match=r"^keras\.batch_dot\.shard: label 'a' must map to a "
                                        r"mesh axis name, a tuple of them, or None; got int 0"):
        shard(plan, mesh, a=0)
    with pytest.raises(TypeError, match=r"^keras\.batch_dot\.shard: mesh must be a "
                                        r"jax\.sharding\.Mesh; got dict"):
        shard(plan, dict(mesh.shape), a="data")
