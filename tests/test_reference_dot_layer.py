"""keras.Dot against the live Keras layers: Keras 3 ``keras.layers.Dot`` (JAX backend) and tf_keras
``tf_keras.layers.Dot`` (SEMANTICS §4).

A commented corpus, ``normalize=True`` (zero and tiny vectors, where the two Kerases' epsilons
differ), per-rank negative axes, hypothesis-generated shapes/axes with error parity (where a
reference raises, dotsum raises ValueError or TypeError), the documented divergences, and the
compiled structure (one ``dot_general``, no per-call planning). tf_keras is compared with
``epsilon=TF_KERAS_EPSILON``, Keras 3 with the default.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads
from jaxprs import assert_one_contraction
from references import optional
from strategies import assert_same, compares_values, outcome, random, shapes, x64_if

from dotsum import keras as K

FLOATS = ["float32", "float64"]


# -- the references ------------------------------------------------------------------------------
def keras3_dot(x, y, axes, normalize, dtype):
    keras = optional("keras")
    layer_dtype = dtype if np.dtype(dtype).kind == "f" else None  # Keras casts floats only
    layer = keras.layers.Dot(axes, normalize=normalize, dtype=layer_dtype)
    # Traced as one jit: the same Python code and shape checks as an eager call, but one XLA
    # compilation per shape instead of one per op (which made this file several times slower).
    return np.asarray(jax.jit(lambda a, b: layer([a, b]))(x, y))


def tf_keras_dot(x, y, axes, normalize, dtype):
    tf, tf_keras = optional("tensorflow"), optional("tf_keras")
    layer_dtype = dtype if np.dtype(dtype).kind == "f" else None
    layer = tf_keras.layers.Dot(axes, normalize=normalize, dtype=layer_dtype)
    return layer([tf.constant(x), tf.constant(y)]).numpy()


REFERENCES = {  # name: (layer, dotsum's epsilon to compare with)
    "keras3": (keras3_dot, K.KERAS3_EPSILON),
    "tf_keras": (tf_keras_dot, K.TF_KERAS_EPSILON),
}


def np_dot_layer(x, y, axes, normalize=False, epsilon=K.KERAS3_EPSILON):
    """SEMANTICS §4 in NumPy: resolve ``axis % ndim`` per input, L2-normalise along the
    contracted axes if asked, then current ``batch_dot`` (SEMANTICS §2) as a batched matmul of
    the flattened free axes (``references.np_batch_dot`` cannot stack an empty batch)."""
    pair = (axes, axes) if isinstance(axes, int) else axes
    a0, a1 = (a % nd for a, nd in zip(pair, (x.ndim, y.ndim)))
    if normalize:
        x = x / np.sqrt(np.maximum(np.sum(x * x, axis=a0, keepdims=True), epsilon))
        y = y / np.sqrt(np.maximum(np.sum(y * y, axis=a1, keepdims=True), epsilon))
    xm, ym = np.moveaxis(x, a0, -1), np.moveaxis(y, a1, -1)  # (batch, free..., contracted)
    x_free, y_free = xm.shape[1:-1], ym.shape[1:-1]
    out = np.matmul(xm.reshape(len(x), math.prod(x_free), xm.shape[-1]),
                    np.swapaxes(ym.reshape(len(y), math.prod(y_free), ym.shape[-1]), 1, 2))
    out = out.reshape((len(x), *x_free, *y_free))
    return (out[:, None] if out.ndim == 1 else out).astype(x.dtype)


def failed_on_empty_reshape(error, x_shape, y_shape):
    """Both layers reshape rank > 3 inputs with ``-1``, which cannot be inferred when another
    size is 0 (Keras 3: "integer modulo by zero"; TF: "Input to reshape is a tensor with")."""
    return 0 in x_shape + y_shape and (
        isinstance(error, ZeroDivisionError) or "Input to reshape is a tensor with" in str(error))


def in_range(axes, x_shape, y_shape):
    pair = (axes, axes) if isinstance(axes, int) else axes
    return all(-len(s) <= a < len(s) for a, s in zip(pair, (x_shape, y_shape)))


def check(reference, x_shape, y_shape, axes, normalize=False, dtype="float32", x=None, y=None):
    """Same values (and dtype) as the reference layer when it succeeds; ValueError or TypeError
    when it fails. Returns the reference's status."""
    ref, epsilon = REFERENCES[reference]
    x = random(x_shape, dtype, 1) if x is None else x
    y = random(y_shape, dtype, 2) if y is None else y
    layer = K.Dot(axes, normalize=normalize, epsilon=epsilon)
    with x64_if(dtype):
        status, expected = outcome(lambda: ref(x, y, axes, normalize, dtype))
        if status == "error" and failed_on_empty_reshape(expected, x_shape, y_shape):
            status, expected = "ok", np_dot_layer(x, y, axes, normalize, epsilon)
        if status == "ok":
            assert_same(layer([x, y]), expected, dtype)
        else:
            with pytest.raises((ValueError, TypeError)):
                layer([x, y])
    return status


# -- corpus --------------------------------------------------------------------------------------
CORPUS = [  # (x, y, axes, what the reference does)
    # SEMANTICS §4's verified cases
    ((2, 3), (2, 3), 1, (2, 1)),
    ((2, 3, 5), (2, 10, 3), (1, 2), (2, 5, 10)),
    ((2, 3, 5), (2, 4, 5), -1, (2, 3, 4)),
    # negative axes resolve per input: the same -1 is axis 1 of x and axis 2 of y
    ((2, 3), (2, 4, 3), -1, (2, 4)),
    ((2, 3, 4), (2, 3), (-2, -1), (2, 4)),
    ((2, 3, 4, 5), (2, 4, 5), (-2, -2), (2, 3, 5, 5)),
    ((2, 3, 4), (2, 4), (-1, 1), (2, 3)),
    # batch_dot's table (SEMANTICS §2) through the layer
    ((4, 2, 3), (4, 5, 3), (2, 2), (4, 2, 5)),
    ((4, 20, 1), (4, 30, 20), (1, 2), (4, 1, 30)),
    ((10, 12, 4, 5), (10, 12, 5, 8), (3, 2), (10, 12, 4, 12, 8)),
    ((4, 3, 4, 5), (4, 2, 3, 4), (2, 3), (4, 3, 5, 2, 3)),
    # empty batch, empty contraction (zeros; normalised zeros stay 0), empty free axis
    ((0, 3), (0, 3), 1, (0, 1)),
    ((2, 0), (2, 0), 1, (2, 1)),
    ((2, 3, 0), (2, 0, 4), (2, 1), (2, 3, 4)),
    ((0, 2, 3, 4), (0, 4, 2), (-1, 1), (0, 2, 3, 2)),  # Keras 3 fails: reshape(0, -1, 4)
    # the references raise: so must dotsum
    ((2, 3), (2, 3), 0, ValueError),  # axis 0 is the batch axis
    ((2, 3), (2, 3), -2, ValueError),  # -2 % 2 == 0: the batch axis again
    ((2, 3), (2, 4), 1, ValueError),  # contracted sizes differ
    ((2, 3), (3, 3), 1, ValueError),  # batch sizes differ
    ((3,), (3,), 0, ValueError),  # rank < 2
    ((2, 3), (2, 3), 2, IndexError),  # out of range
    ((2, 3), (2, 3), (-3, -3), IndexError),  # out of range (as a pair; an int wraps, below)
]


@pytest.mark.parametrize("reference", REFERENCES)
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("x_shape, y_shape, axes, result", CORPUS)
def test_corpus(x_shape, y_shape, axes, result, dtype, normalize, reference):
    status = check(reference, x_shape, y_shape, axes, normalize, dtype)
    if isinstance(result, tuple):
        assert status == "ok"
        assert K.Dot(axes).plan(x_shape, y_shape).out_shape == result
    else:
        assert status == "error"


@pytest.mark.parametrize("reference", REFERENCES)
@pytest.mark.parametrize("x_shape, y_shape, axes, result", CORPUS[:11])
def test_corpus_complex_without_normalize(x_shape, y_shape, axes, result, reference):
    assert check(reference, x_shape, y_shape, axes, False, "complex64") == "ok"


@pytest.mark.parametrize("x_shape, y_shape, axes, result", CORPUS[:15])
def test_plan_is_batch_dots_over_the_resolved_axes(x_shape, y_shape, axes, result):
    plan = K.Dot(axes).plan(x_shape, y_shape)
    pair = (axes, axes) if isinstance(axes, int) else axes
    resolved = tuple(a % len(s) for a, s in zip(pair, (x_shape, y_shape)))
    expected = K.batch_dot.plan(x_shape, y_shape, axes=resolved)
    assert (plan.subscripts, plan.out_shape) == (expected.subscripts, expected.out_shape)
    assert dict(plan.params) == {"axes": resolved, "normalize": False}
    assert plan.epsilon is None and not any(o.normalize for o in plan.operands)


def test_normalize_marks_each_contracted_axis():
    plan = K.Dot((1, 2), normalize=True).plan((2, 3, 5), (2, 10, 3))
    assert plan.subscripts == "akc,adk->acd"
    assert [o.normalize for o in plan.operands] == [(1,), (2,)]
    assert plan.epsilon == K.KERAS3_EPSILON
    assert K.Dot(1, normalize=True, epsilon=1e-12).plan((2, 3), (2, 3)).epsilon == 1e-12


# -- normalize=True: zero and tiny vectors -------------------------------------------------------
@pytest.mark.parametrize("reference", REFERENCES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_zero_vectors_give_zero(reference, dtype):
    x, y = random((3, 4, 5), dtype, 1), random((3, 6, 5), dtype, 2)
    x[1, 2, :] = 0  # one zero vector in x, a whole zero sample in y
    y[2] = 0
    check(reference, x.shape, y.shape, (2, 2), True, dtype, x, y)
    with x64_if(dtype):
        got = np.asarray(K.Dot((2, 2), normalize=True)([x, y]))
    assert np.isfinite(got).all()
    assert not got[1, 2].any() and not got[2].any()
    assert np.abs(got).max() <= 1 + 1e-5  # cosines


@pytest.mark.parametrize("dtype", FLOATS)
def test_tiny_vectors_show_which_epsilon(dtype):
    """Below the floor the two Kerases differ: 2·(1e-9)² = 2e-18 is under both 1e-14 and
    1e-12, so each scales by its own 1/sqrt(epsilon)."""
    x = np.full((2, 2), 1e-9, dtype)
    y = np.ones((2, 2), dtype)
    for reference in REFERENCES:
        check(reference, x.shape, y.shape, 1, True, dtype, x, y)
    with x64_if(dtype):
        keras3 = np.asarray(K.Dot(1, normalize=True)([x, y]))
        tf_keras = np.asarray(K.Dot(1, normalize=True, epsilon=K.TF_KERAS_EPSILON)([x, y]))
    np.testing.assert_allclose(keras3, 2e-9 * 1e7 / np.sqrt(2), rtol=1e-5)
    np.testing.assert_allclose(tf_keras, 2e-9 * 1e6 / np.sqrt(2), rtol=1e-5)


def test_epsilons_are_the_references_defaults():
    keras = optional("keras")
    tf = optional("tensorflow")
    import inspect

    assert K.KERAS3_EPSILON == pytest.approx(keras.config.epsilon() ** 2)
    default = inspect.signature(tf.math.l2_normalize).parameters["epsilon"].default
    assert K.TF_KERAS_EPSILON == default


# -- hypothesis ----------------------------------------------------------------------------------
@st.composite
def dot_layer_cases(draw):
    likely = st.integers(0, 19).map(bool)  # mostly valid calls, some of each failure
    x_shape = draw(shapes(2, 4) if draw(likely) else shapes(1, 4))
    y_shape = draw(shapes(2, 4) if draw(likely) else shapes(1, 4))
    if draw(likely):
        y_shape = x_shape[:1] + y_shape[1:]

    def axis(*ranks):  # mostly a non-batch axis of every rank given, either sign
        rank = min(ranks)
        if rank < 2 or not draw(likely):
            return draw(st.integers(-5, 4))
        return draw(st.integers(1, rank - 1)) - (rank if draw(st.booleans()) else 0)

    if draw(st.booleans()):
        axes = axis(len(x_shape), len(y_shape))
    else:
        axes = (axis(len(x_shape)), axis(len(y_shape)))
    if draw(likely) and in_range(axes, x_shape, y_shape):  # make the contracted sizes agree
        a0, a1 = (axes, axes) if isinstance(axes, int) else axes
        y_list = list(y_shape)
        y_list[a1] = x_shape[a0]
        y_shape = tuple(y_list)
    return x_shape, y_shape, axes


@pytest.mark.parametrize("reference", REFERENCES)
@compares_values
@given(case=dot_layer_cases(), normalize=st.booleans(), dtype=st.sampled_from(FLOATS))
def test_hypothesis(reference, case, normalize, dtype):
    x_shape, y_shape, axes = case
    if not in_range(axes, x_shape, y_shape):
        # An int axis wraps in Keras (axis % ndim: -3 is axis 1 of a 2-D input); a pair fails
        # with IndexError. dotsum: any axis out of range is a ValueError (docs/design.md).
        with pytest.raises(ValueError, match="out of range|rank >= 2|batch sizes|axis 0"):
            K.Dot(axes, normalize=normalize)([random(x_shape, dtype), random(y_shape, dtype)])
        return
    check(reference, x_shape, y_shape, axes, normalize, dtype)


# -- where dotsum departs from the layers, on purpose -------------------------------------------
@pytest.mark.parametrize("reference", REFERENCES)
def test_out_of_range_int_axis_is_an_error_not_a_wrap(reference):
    x, y = random((2, 3), "float32"), random((2, 3), "float32")
    ref, _ = REFERENCES[reference]
    assert_same(K.Dot(1)([x, y]), ref(x, y, -3, False, "float32"), "float32")  # Keras: -3 % 2
    with pytest.raises(ValueError, match=r"axis -3 is out of range for x of rank 2"):
        K.Dot(-3)([x, y])


@pytest.mark.parametrize("reference", REFERENCES)
@pytest.mark.parametrize("axes", [1.0, None, "1", (1,), (1, 1, 1), [[1], [1]], (1, 1.0),
                                  (1, "1"), {1: 1}])
def test_invalid_axes_fail_at_construction_like_the_references(reference, axes):
    ref, _ = REFERENCES[reference]
    x = random((2, 3), "float32")
    status, _ = outcome(lambda: ref(x, x, axes, False, "float32"))
    assert status == "error"
    with pytest.raises((ValueError, TypeError)):
        K.Dot(axes)


@pytest.mark.parametrize("reference", REFERENCES)
def test_numpy_integer_axes_are_accepted_and_bools_rejected(reference):
    """The layers reject NumPy integers (TypeError) and take ``True`` for axis 1; dotsum takes
    NumPy integers as ints and rejects bools, as ``batch_dot`` does."""
    ref, _ = REFERENCES[reference]
    x, y = random((2, 3, 4), "float32", 1), random((2, 5, 4), "float32", 2)
    assert outcome(lambda: ref(x, y, np.int64(2), False, "float32"))[0] == "error"
    expected = ref(x, y, 2, False, "float32")
    assert_same(K.Dot(np.int64(2))([x, y]), expected, "float32")
    assert_same(K.Dot((np.int32(2), np.int64(-1)))([x, y]), expected, "float32")
    assert K.Dot(np.int64(2)).axes == 2 and type(K.Dot(np.int64(2)).axes) is int
    with pytest.raises(TypeError):
        K.Dot(True)
    with pytest.raises(TypeError):
        K.Dot(1, normalize="yes")  # the layers take any truthy value


@pytest.mark.parametrize("module", ["keras", "tf_keras"])
@pytest.mark.parametrize("inputs", [1, 3])
def test_inputs_must_be_two(module, inputs):
    xs = [random((2, 3), "float32", i) for i in range(inputs)]
    with pytest.raises(ValueError, match="should be called on a list of 2 inputs"):
        optional(module).layers.Dot(1)(xs)
    with pytest.raises(ValueError, match=r"^keras\.Dot: the layer takes one list of two"):
        K.Dot(1)(xs)


def test_inputs_as_tuple_or_nested_lists():
    x, y = random((2, 3), "float32", 1), random((2, 3), "float32", 2)
    expected = np_dot_layer(x, y, 1)
    for inputs in ([x, y], (x, y), (jnp.asarray(x), y), [x.tolist(), y.tolist()]):
        assert_same(K.Dot(1)(inputs), expected, "float32")


# -- the layer object ----------------------------------------------------------------------------
def test_repr_round_trips():
    for layer in (K.Dot(1), K.Dot((1, -1), normalize=True), K.Dot(-1, epsilon=1e-12),
                  K.Dot([np.int64(1), 2], True, K.TF_KERAS_EPSILON)):
        again = eval(repr(layer), {"Dot": K.Dot})
        assert (again.axes, again.normalize, again.epsilon) == (
            layer.axes, layer.normalize, layer.epsilon)
    assert repr(K.Dot(-1)) == "Dot(axes=-1)"
    assert repr(K.Dot([1, 2], normalize=True)) == "Dot(axes=(1, 2), normalize=True)"
    assert repr(K.Dot(1, epsilon=1e-12)) == "Dot(axes=1, epsilon=1e-12)"


def test_settings_are_read_only():
    layer = K.Dot(1)
    with pytest.raises(AttributeError):
        layer.axes = 2  # type: ignore[misc]


def test_precision_and_preferred_element_type_reach_dot_general():
    x = jnp.ones((2, 3), jnp.bfloat16)
    layer = K.Dot(1, normalize=True)
    jaxpr = str(jax.make_jaxpr(lambda a, b: layer([a, b], precision="highest",
                                                  preferred_element_type=jnp.float32))(x, x))
    assert "precision=(Precision.HIGHEST, Precision.HIGHEST)" in jaxpr, jaxpr
    assert "preferred_element_type=float32" in jaxpr, jaxpr
    assert layer([x, x], preferred_element_type=jnp.float32).dtype == jnp.float32
    plan = layer.plan((2, 3), (2, 3), precision="highest")
    assert plan.precision == jax.lax.Precision.HIGHEST


# -- compiled structure --------------------------------------------------------------------------
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("x_shape, y_shape, axes", [((8, 16, 32), (8, 24, 32), -1),
                                                    ((8, 32), (8, 32), 1),
                                                    ((4, 3, 4, 5), (4, 2, 3, 4), (2, 3))])
def test_one_dot_general_under_jit(x_shape, y_shape, axes, normalize):
    layer = K.Dot(axes, normalize=normalize)
    x, y = random(x_shape, "float32", 1), random(y_shape, "float32", 2)
    text = assert_one_contraction(lambda a, b: layer([a, b]), x, y)
    assert ("rsqrt" in text) == normalize, text
    chex.assert_trees_all_close(np.asarray(jax.jit(lambda a, b: layer([a, b]))(x, y)),
                                np_dot_layer(x, y, axes, normalize), rtol=1e-5, atol=1e-5)


def test_calls_plan_once_and_share_the_cache_across_layers(monkeypatch):
    """``Dot.__call__`` dispatches like ``batch_dot``: a cached call never re-plans, and equal
    layers share compiled calls."""
    op = K._DOT_LAYER
    op.cache_clear()
    calls = []
    rule = op._rule
    monkeypatch.setattr(op, "_rule", lambda *a, **k: calls.append(a) or rule(*a, **k))
    x, y = random((4, 3, 5), "float32", 1), random((4, 2, 5), "float32", 2)
    for layer in (K.Dot(-1), K.Dot(-1), K.Dot((-1, -1)), K.Dot(-1)):
        layer([x, y])
        layer([x, y])
    assert len(calls) == 2  # Dot(-1) and Dot((-1, -1)) are different static params
    assert op.cache_size() == 2


def test_gradients():
    with jax.enable_x64(True):
        x, y = random((2, 3, 4), "float64", 1), random((2, 2, 4), "float64", 2)
        layer = K.Dot((2, 2), normalize=True)
        check_grads(lambda a, b: layer([a, b]), (x, y), order=2, modes=("fwd", "rev"))
        x[0] = 0  # the floor keeps gradients at a zero vector finite
        grads = jax.grad(lambda a, b: layer([a, b]).sum(), argnums=(0, 1))(x, y)
        assert all(np.isfinite(np.asarray(g)).all() for g in grads)


def test_normalize_complex_like_tf_keras():
    """Complex inputs normalise by |x|**2, as tf.math.l2_normalize does (Keras 3 squares x, which
    is no norm for complex numbers)."""
    check("tf_keras", (2, 3), (2, 3), 1, True, "complex64")
