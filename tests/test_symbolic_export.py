"""The round trips of docs/export.md: a Keras-style model written with dotsum, exported with a
symbolic batch through ``jax.export`` (serialized and back) and through ``jax2tf`` into a
``tf.function`` with a ``None`` batch, run at two batch sizes against tf_keras."""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from references import optional

from dotsum import keras as K

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))
import export_to_tensorflow as example  # noqa: E402

BATCHES = (2, 5)


@pytest.fixture(scope="module")
def params():
    return example.init()


def test_jax_export_round_trip(params):
    exported = example.export(params)
    assert str(exported.in_avals[0].shape) == f"(b, {example.T}, {example.D})"
    restored = jax.export.deserialize(exported.serialize())
    assert str(restored.out_avals[0].shape) == f"(b, {example.J}, {example.E})"
    for batch in BATCHES:
        x = example.inputs(batch)
        np.testing.assert_allclose(np.asarray(restored.call(x)),
                                   np.asarray(example.forward(params, x)), rtol=1e-5, atol=1e-6)
    text = exported.mlir_module()
    assert text.count("stablehlo.dot_general") == 6  # one per product, none added


def needs_jax2tf():
    """TensorFlow, and one that reads what this JAX's jax2tf emits (else a skip saying why)."""
    tf = optional("tensorflow")
    reason = example.tensorflow_cannot_run_this_jax()
    if reason is not None:
        pytest.skip(reason)
    return tf


def test_jax2tf_with_a_none_batch_equals_tf_keras(params):
    tf = needs_jax2tf()
    optional("tf_keras")
    tf_fn = example.to_tensorflow(params)
    concrete = tf_fn.get_concrete_function()
    assert concrete.structured_input_signature[0][0].shape.as_list() == [None, example.T,
                                                                          example.D]
    assert concrete.structured_outputs.shape.as_list() == [None, example.J, example.E]
    for batch in BATCHES:
        x = example.inputs(batch)
        got = tf_fn(tf.constant(x)).numpy()
        assert got.shape == (batch, example.J, example.E)
        np.testing.assert_allclose(got, example.forward_tf_keras(params, x).numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_jax2tf_legacy_step_equals_tf_matmul():
    """The capsule step alone: Keras 2.2.4's batch_dot(c, u_hat, (2, 2)) is tf.matmul of the
    padded c with adjoint_a, for every batch size."""
    tf = needs_jax2tf()
    from jax.experimental import jax2tf

    step = tf.function(
        jax2tf.convert(lambda c, u: K.batch_dot(c, u, (2, 2), legacy=True),
                       polymorphic_shapes=["(b, 3, 6)", "(b, 3, 6, 4)"]),
        autograph=False, input_signature=[tf.TensorSpec([None, 3, 6], tf.float32),
                                          tf.TensorSpec([None, 3, 6, 4], tf.float32)])
    rng = np.random.default_rng(0)
    for batch in BATCHES:
        c = rng.standard_normal((batch, 3, 6)).astype(np.float32)
        u = rng.standard_normal((batch, 3, 6, 4)).astype(np.float32)
        expected = tf.matmul(c[..., None], u, adjoint_a=True)[:, :, 0].numpy()
        np.testing.assert_allclose(step(c, u).numpy(), expected, rtol=1e-5, atol=1e-6)
