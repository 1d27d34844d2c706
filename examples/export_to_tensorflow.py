"""A Keras-style model written with dotsum, exported with a batch size left open.

The model is the three products Keras 2 models are made of:

* a ``Dense`` layer: ``K.dot(x, w)`` on ``(batch, T, D)`` inputs (einsum ``abk,kd->abd``);
* attention scores and context: ``K.batch_dot(h, h, axes=(2, 2))`` and
  ``K.batch_dot(p, h, axes=(2, 1))``;
* a capsule routing step as Keras <= 2.2.4 computed it: ``K.batch_dot(c, u_hat, (2, 2),
  legacy=True)`` on ``c (batch, J, T)`` and ``u_hat (batch, J, T, d)``, which was
  ``tf.matmul`` of the padded ``c`` with ``adjoint_a`` (``bji,bjie->bje``).

Two round trips, both with a symbolic batch ``b``:

1. ``jax.export``: export for ``(b, T, D)`` inputs, ``serialize()`` to bytes, ``deserialize()``
   and ``call`` at two batch sizes;
2. TensorFlow: ``jax2tf.convert(forward, polymorphic_shapes=["(b, T, D)"])`` inside a
   ``tf.function`` whose input signature has a ``None`` batch, run in TensorFlow at two batch
   sizes and compared with the same model written with ``tf_keras.backend`` (and the legacy step
   with ``tf.matmul``).

``tests/test_symbolic_export.py`` runs both. Run::

    python examples/export_to_tensorflow.py        # needs tensorflow and tf_keras for step 2
"""

from __future__ import annotations

import functools
import math
import sys

import jax
import jax.numpy as jnp
import numpy as np

from dotsum import keras as K

T, D, H, J, E = 6, 8, 16, 3, 4  # tokens, input width, hidden width, capsules, capsule width


def init(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {"w": (D, H), "b": (H,), "w_caps": (H, J * E), "w_route": (H, J)}
    return {k: (rng.standard_normal(s) / math.sqrt(s[0])).astype(np.float32)
            for k, s in shapes.items()}


def squash(s, sum=jnp.sum, sqrt=jnp.sqrt):
    """The capsule non-linearity: each vector (last axis) scaled to length |s|^2 / (1 + |s|^2)."""
    norm2 = sum(s * s, axis=-1, keepdims=True)
    return s * (norm2 / (1 + norm2) / sqrt(norm2 + 1e-7))


def forward(params, x):
    """``(batch, T, D)`` -> ``(batch, J, E)``, with dotsum's Keras 2 products."""
    h = jnp.tanh(K.dot(x, params["w"]) + params["b"])                     # Dense
    scores = K.batch_dot(h, h, axes=(2, 2)) / math.sqrt(H)                 # (batch, T, T)
    ctx = K.batch_dot(jax.nn.softmax(scores, axis=-1), h, axes=(2, 1))     # (batch, T, H)
    u_hat = K.dot(ctx, params["w_caps"]).reshape(-1, T, J, E).transpose(0, 2, 1, 3)
    c = jax.nn.softmax(K.dot(ctx, params["w_route"]), axis=-1).transpose(0, 2, 1)  # (b, J, T)
    return squash(K.batch_dot(c, u_hat, (2, 2), legacy=True))              # (batch, J, E)


def forward_tf_keras(params, x):
    """The same model in TensorFlow: tf_keras's backend, and for the legacy step what Keras
    2.2.4 ran (``c`` padded with a trailing axis, ``tf.matmul`` with ``adjoint_a``, squeezed)."""
    import tensorflow as tf
    from tf_keras import backend as tfk

    params = {k: tf.constant(v) for k, v in params.items()}
    x = tf.constant(x)
    h = tf.tanh(tfk.dot(x, params["w"]) + params["b"])
    scores = tfk.batch_dot(h, h, axes=(2, 2)) / math.sqrt(H)
    ctx = tfk.batch_dot(tf.nn.softmax(scores, axis=-1), h, axes=(2, 1))
    u_hat = tf.transpose(tf.reshape(tfk.dot(ctx, params["w_caps"]), (-1, T, J, E)), (0, 2, 1, 3))
    c = tf.transpose(tf.nn.softmax(tfk.dot(ctx, params["w_route"]), axis=-1), (0, 2, 1))
    return squash(tf.matmul(c[..., None], u_hat, adjoint_a=True)[:, :, 0], tf.reduce_sum,
                  tf.sqrt)


def export(params) -> jax.export.Exported:
    """``forward`` exported for a symbolic batch ``b``."""
    spec = jax.ShapeDtypeStruct(jax.export.symbolic_shape(f"b, {T}, {D}"), np.float32)
    return jax.export.export(jax.jit(lambda x: forward(params, x)))(spec)


def to_tensorflow(params):
    """``forward`` as a ``tf.function`` with a ``None`` batch, through ``jax2tf``."""
    import tensorflow as tf
    from jax.experimental import jax2tf

    converted = jax2tf.convert(lambda x: forward(params, x),
                               polymorphic_shapes=[f"(b, {T}, {D})"])
    return tf.function(converted, autograph=False,
                       input_signature=[tf.TensorSpec([None, T, D], tf.float32)])


@functools.cache
def tensorflow_cannot_run_this_jax() -> str | None:
    """Why TensorFlow cannot run what this JAX's ``jax2tf`` emits, or None if it can.

    ``jax2tf`` serializes StableHLO for TensorFlow's ``XlaCallModule``, which reads only the
    StableHLO versions its own release knows (JAX 0.12.1's shape checks with TensorFlow 2.21:
    ``unregistered operation 'vhlo.custom_call_v2'``). The probe is a ``jnp`` product with a
    symbolic batch, no dotsum in it, so a failure here is between JAX and TensorFlow."""
    import tensorflow as tf
    from jax.experimental import jax2tf

    probe = tf.function(jax2tf.convert(lambda x: jnp.tanh(x @ x.T), polymorphic_shapes=["(b, 3)"]),
                        autograph=False, input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    try:
        probe(np.ones((2, 3), np.float32))
    except Exception as e:  # noqa: BLE001 - TensorFlow's InvalidArgumentError, or any other
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        why = next((line for line in lines if "deserialize" in line), lines[0] if lines else
                   type(e).__name__)
        return (f"TensorFlow {tf.__version__} cannot run what jax2tf of JAX {jax.__version__} "
                f"emits, even for jnp alone: {why[:240]}")
    return None


def inputs(batch: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, T, D)).astype(np.float32)


def main() -> int:
    params = init()
    exported = export(params)
    print(f"exported for {exported.in_avals[0].shape} -> {exported.out_avals[0].shape}")
    restored = jax.export.deserialize(exported.serialize())
    for batch in (2, 5):
        x = inputs(batch)
        err = np.abs(np.asarray(restored.call(x)) - np.asarray(forward(params, x))).max()
        print(f"jax.export round trip, batch {batch}: max |difference| {err:.1e}")
    print(dotsum_plans(exported))
    try:
        import tensorflow as tf  # noqa: F401
        import tf_keras  # noqa: F401
    except ImportError as e:
        print(f"skipping the TensorFlow round trip: {e}")
        return 0
    reason = tensorflow_cannot_run_this_jax()
    if reason is not None:
        print(f"skipping the TensorFlow round trip: {reason}")
        return 0
    tf_fn = to_tensorflow(params)
    for batch in (2, 5):
        x = inputs(batch)
        err = np.abs(tf_fn(x).numpy() - forward_tf_keras(params, x).numpy()).max()
        print(f"TensorFlow (jax2tf, None batch) vs tf_keras, batch {batch}: "
              f"max |difference| {err:.1e}")
    return 0


def dotsum_plans(exported) -> str:
    """What each product became, with the symbolic batch."""
    import dotsum

    spec = jax.ShapeDtypeStruct(exported.in_avals[0].shape, np.float32)
    return str(dotsum.inspect(lambda x: forward(init(), x), spec))


if __name__ == "__main__":
    sys.exit(main())
