"""Sharding a plan by its einsum labels (``dotsum._shard``).

The checks that need several devices live in ``tests/sharded_checks.py``: JAX fixes the device
count when it starts, and this process has started it, so we run that file in a subprocess with
8 simulated CPU devices. Here: the description, the errors (via ``describe_sharding`` on an
``AbstractMesh``, which needs no devices), and ``shard`` on a one-device mesh.
"""

from __future__ import annotations

from pathlib import Path

import chex
import jax
import numpy as np
import pytest
from jax.sharding import AbstractMesh
from jax.sharding import PartitionSpec as P
from subprocess_checks import run_on_devices

from dotsum import Operand, Plan
from dotsum import keras as K
from dotsum import tf as dtf
from dotsum._shard import describe_sharding, shard

CHECKS = Path(__file__).with_name("sharded_checks.py")
MESH = AbstractMesh((4, 2), ("data", "model"))


def test_sharded_checks_pass_on_8_devices(tmp_path):
    run_on_devices(CHECKS, 8, tmp_path)


def test_describe_sharding():
    plan = K.dot.plan((8, 6), (6, 4))
    assert plan.subscripts == "ak,kc->ac"
    assert describe_sharding(plan, MESH, a="data", k="model") == "\n".join([
        "keras.dot(x: (8, 6), y: (6, 4)) on mesh {'data': 4, 'model': 2}",
        "  shard   a -> 'data', k -> 'model'",
        "  x       ak  (8, 6)  P('data', 'model')  per device (2, 3)",
        "  y       kc  (6, 4)  P('model', None)    per device (3, 4)",
        "  out     ac  (8, 4)  P('data', None)     per device (2, 4)",
        "  reduce  k is contracted and sharded: XLA sums partial results across mesh axis "
        "'model'",
        "          (all-reduce, or reduce-scatter)",
    ])


def test_describe_sharding_without_reduction():
    plan = dtf.matmul.plan((8, 4, 6), (8, 6, 2))
    assert plan.subscripts == "abk,ake->abe"
    text = describe_sharding(plan, MESH, a="data", e="model")
    assert "  out     abe  (8, 4, 2)  P('data', None, 'model')  per device (2, 4, 1)" in text
    assert text.endswith("reduce  none: no contracted label is sharded, so the devices do not "
                         "communicate")


def test_labels_follow_size_1_reshapes():
    # batch_dot of 2-D operands returns (b, 1): 'a' is still the result's axis 0
    plan = K.batch_dot.plan((8, 4), (8, 4))
    assert (plan.subscripts, plan.out_shape) == ("ak,ak->a", (8, 1))
    assert "out     a   (8, 1)  P('data', None)" in describe_sharding(plan, MESH, a="data")
    # tf.matmul drops a's size-1 broadcast axis: 'b' is axis 2 of a, 'c' only in b
    plan = dtf.matmul.plan((8, 1, 4, 6), (8, 6, 2))
    assert plan.subscripts == "abk,cke->acbe"
    text = describe_sharding(plan, MESH, b="data", c="model")
    assert "a       abk   (8, 1, 4, 6)  P(None, None, 'data', None)" in text
    assert "b       cke   (8, 6, 2)     P('model', None, None)" in text


SHAPES = r" \(x\.shape=\(8, 6, 4\), y\.shape=\(8, 4, 2\)\)$"
ERRORS = [
    ({"z": "data"}, r"unknown label 'z'; the labels of 'abk,ake->abe' are 'a', 'b', 'k', 'e'"
                    + SHAPES),
    ({"batch": "data"}, r"unknown label 'batch'"),
    ({"a": "dat"}, r"unknown mesh axis 'dat' for label 'a'; the mesh's axes are 'data', 'model'"
                   + SHAPES),
    ({"a": "model", "k": "model"}, r"mesh axis 'model' shards both label 'a' and label 'k'; a "
                                   r"mesh axis can shard one label only" + SHAPES),
    ({"b": "data"}, r"label 'b' has size 6, which is not divisible by mesh axis 'data' of size 4"
                    + SHAPES),
    ({"k": ("data", "model")}, r"label 'k' has size 4, which is not divisible by mesh axes "
                               r"\('data', 'model'\) of sizes 4\*2=8" + SHAPES),
]


@pytest.mark.parametrize("labels, message", ERRORS, ids=[str(e[0]) for e in ERRORS])
def test_errors(labels, message):
    plan = K.batch_dot.plan((8, 6, 4), (8, 4, 2))
    with pytest.raises(ValueError, match=r"^keras\.batch_dot\.describe_sharding: " + message):
        describe_sharding(plan, MESH, **labels)


def test_error_for_labels_a_reshape_merges():
    # No current op merges axes; a hand-made plan whose x (2, 3, 4) is reshaped to (6, 4)
    plan = Plan("test.merge", (), (Operand("x", (2, 3, 4), "ak", (6, 4)),
                                   Operand("y", (4, 6), "kc", (4, 6))), "ac", (6, 6))
    with pytest.raises(ValueError, match=(
            r"^test\.merge\.describe_sharding: cannot shard label 'a': the plan reshapes x from "
            r"\(2, 3, 4\) to \(6, 4\) before the contraction, so 'a' is not an axis of x; leave "
            r"'a' unsharded \(plan: 'ak,kc->ac'\) \(x\.shape=\(2, 3, 4\), y\.shape=\(4, 6\)\)$")):
        describe_sharding(plan, MESH, a="model")
    out = Plan("test.merge", (), (Operand("x", (2, 4), "ak", (2, 4)),
                                  Operand("y", (4, 3), "kc", (4, 3))), "ac", (6,))
    with pytest.raises(ValueError, match=r"cannot shard label 'c': the plan reshapes its einsum "
                                         r"result \(2, 3\) to \(6,\), so 'c' is not an axis of "
                                         r"the result"):
        describe_sharding(out, AbstractMesh((3,), ("model",)), c="model")
    assert "P(None, 'model')" in describe_sharding(plan, MESH, c="model")


def test_error_for_a_label_repeated_in_an_operand():
    plan = Plan("test.diag", (), (Operand("x", (4, 4), "aa", (4, 4)),
                                  Operand("y", (4,), "a", (4,))), "a", (4,))
    with pytest.raises(ValueError, match=r"^test\.diag\.describe_sharding: label 'a' appears 2 "
                                         r"times in x \('aa'\); a mesh axis can shard only one "
                                         r"axis of an array"):
        describe_sharding(plan, MESH, a="data")


def test_errors_end_the_traceback_at_the_call():
    plan = K.batch_dot.plan((8, 6, 4), (8, 4, 2))
    with pytest.raises(ValueError) as info:
        describe_sharding(plan, MESH, z="data")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    frames = [entry.name for entry in info.traceback]
    assert not {"make_layout", "_spec", "_mesh_axes", "fail"} & set(frames), frames


def test_shard_on_one_device():
    mesh = jax.make_mesh((1, 1), ("data", "model"), devices=jax.devices()[:1])
    plan = K.batch_dot.plan((8, 6, 4), (8, 4, 2))
    f = shard(plan, mesh, a="data", k="model")
    assert f is shard(plan, mesh, k="model", a="data")  # compiled once per (plan, mesh, labels)
    assert plan.shard(mesh, a="data", k="model") is f  # the Plan method is the same function
    assert plan.describe_sharding(mesh, a="data") == describe_sharding(plan, mesh, a="data")
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal(s).astype(np.float32) for s in ((8, 6, 4), (8, 4, 2)))
    out = f(x, y)
    assert out.sharding.spec == P("data", None, None)
    chex.assert_trees_all_close(np.asarray(out), np.asarray(K.batch_dot(x, y)), rtol=1e-6)


def test_shard_type_errors():
    plan = K.batch_dot.plan((8, 6, 4), (8, 4, 2))
    with pytest.raises(TypeError, match=r"^keras\.batch_dot\.shard: mesh must be a "
                                        r"jax\.sharding\.Mesh; got AbstractMesh"):
        shard(plan, MESH, a="data")
    with pytest.raises(TypeError, match=r"^keras\.batch_dot\.describe_sharding: label 'a' must "
                                        r"map to a mesh axis name, a tuple of them, or None; "
                                        r"got int 1"):
        describe_sharding(plan, MESH, a=1)
