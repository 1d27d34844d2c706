"""tf.tensordot, tf.linalg.matvec and tf.matmul's output_type against live TensorFlow: commented
corpora × dtypes, hypothesis shapes and axes with error parity, and the places where dotsum
refuses on purpose what TensorFlow lets through."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import currently_in_test_context, event, given
from hypothesis import strategies as st
from jaxprs import assert_one_contraction
from references import optional
from strategies import DTYPES, assert_same, compares_values, outcome, random, shapes, sizes, x64_if

from dotsum import tf as dtf

tf = optional("tensorflow")


# -- tensordot -----------------------------------------------------------------------------------
TENSORDOT_CORPUS = [
    # an int N: the last N axes of a with the first N of b
    ((3, 4), (4, 5), 1),  # matmul
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3), (4, 5), 0),  # outer product: (2, 3, 4, 5)
    ((3, 4), (3, 4), 2),  # full contraction to a scalar
    ((), (), 0),  # 0-D operands multiply
    ((), (2, 3), 0),
    ((2, 0), (0, 3), 1),  # an empty sum is zero
    # a pair of ints
    ((3, 4, 5), (5, 2), [2, 0]),
    ((3, 4, 5), (2, 4), (-2, -1)),  # negative axes
    # a pair of lists: the entries pair up in order, so the order matters
    ((3, 4, 5), (4, 3, 2), ([1, 0], [0, 1])),  # TF's docstring example: (5, 2)
    ((3, 4, 5), (5, 3, 2), ([2, 0], [0, 1])),  # TF's second example: (4, 2)
    ((3, 4, 5), (4, 3, 2), ((-2, -3), (0, 1))),
    ((3, 4), (5, 6), ([], [])),  # no pairs: the outer product again
    ((2, 2, 3), (3, 2, 2), ([0, 1], [2, 1])),  # equal sizes, transposed pairing
    ((1, 3), (3, 1), [[0, 1], [1, 0]]),
]


def check_tensordot(a_shape, b_shape, axes, dtype):
    a, b = random(a_shape, dtype, 1), random(b_shape, dtype, 2)
    status, expected = outcome(lambda: tf.tensordot(tf.constant(a), tf.constant(b), axes).numpy())
    with x64_if(dtype):
        refused = status == "ok" and dotsum_refuses(a_shape, b_shape, axes)
        if refused and currently_in_test_context():
            event("dotsum refuses what TF computes")
        if status == "ok" and not refused:
            assert_same(dtf.tensordot(a, b, axes), expected, dtype)
        else:
            with pytest.raises((ValueError, TypeError)):
                dtf.tensordot(a, b, axes)


def dotsum_refuses(a_shape, b_shape, axes):
    """Calls TensorFlow may compute but dotsum rejects on purpose: a pair of axes of unequal
    sizes (TF reshapes the contracted axes into one and compares only the products), an axis
    named twice or out of range (TF's reshape arithmetic can survive these when sizes are 0 or
    1), and bool axes (TF reads True as 1)."""
    if isinstance(axes, (bool, np.bool_)):
        return True
    if isinstance(axes, (int, np.integer)):
        pairs = list(zip(range(len(a_shape) - axes, len(a_shape)), range(axes), strict=True))
    elif all(isinstance(i, (int, np.integer)) for i in axes):
        pairs = [tuple(axes)]
    else:
        pairs = list(zip(*axes, strict=True))
    a_axes, b_axes = [p[0] for p in pairs], [p[1] for p in pairs]
    if any(isinstance(i, (bool, np.bool_)) for i in a_axes + b_axes):
        return True
    for named, shape in ((a_axes, a_shape), (b_axes, b_shape)):
        if any(not -len(shape) <= i < len(shape) for i in named):
            return True
        if len({i % len(shape) for i in named}) != len(named):
            return True
    return any(a_shape[i] != b_shape[j] for i, j in pairs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a_shape, b_shape, axes", TENSORDOT_CORPUS, ids=str)
def test_tensordot_corpus(a_shape, b_shape, axes, dtype):
    check_tensordot(a_shape, b_shape, axes, dtype)


@st.composite
def tensordot_cases(draw):
    """Mostly valid calls in all three spellings of axes, sometimes with one thing broken."""
    a_shape = draw(shapes(0, 4))
    form = draw(st.sampled_from(["int", "pair", "lists"] if a_shape else ["int", "lists"]))
    if form == "int":
        n = draw(st.integers(0, len(a_shape)))
        b_shape = a_shape[len(a_shape) - n:] + draw(shapes(0, 3))
        axes = n
    else:
        k = 1 if form == "pair" else draw(st.integers(0, len(a_shape)))
        a_axes = draw(st.permutations(range(len(a_shape))))[:k]
        b_rank = k + draw(st.integers(0, 2))
        b_axes = draw(st.permutations(range(b_rank)))[:k]
        b_shape = [draw(sizes) for _ in range(b_rank)]
        for i, j in zip(a_axes, b_axes, strict=True):
            b_shape[j] = a_shape[i]
        b_shape = tuple(b_shape)
        a_axes = [i - len(a_shape) if draw(st.booleans()) else i for i in a_axes]
        b_axes = [j - b_rank if draw(st.booleans()) else j for j in b_axes]
        seq = draw(st.sampled_from([list, tuple]))
        axes = seq([a_axes[0], b_axes[0]]) if form == "pair" else seq([seq(a_axes), seq(b_axes)])
    if draw(st.integers(0, 3)) == 0:  # break something, a quarter of the time
        broken = draw(st.sampled_from(["a size", "b shape", "int axes"]))
        if broken == "a size" and a_shape:
            i = draw(st.integers(0, len(a_shape) - 1))
            a_shape = a_shape[:i] + (a_shape[i] + 1,) + a_shape[i + 1:]
        elif broken == "b shape":
            b_shape = draw(shapes(0, 4))
        else:
            axes = draw(st.integers(-1, 5))
    return a_shape, b_shape, axes


@compares_values
@given(case=tensordot_cases(), dtype=st.sampled_from(DTYPES))
def test_tensordot_hypothesis(case, dtype):
    check_tensordot(*case, dtype)


def axes_anything():
    """Any axes, valid or not: ints, pairs, ragged or overlong lists, out-of-range entries."""
    entry = st.integers(-5, 4)
    return st.one_of(
        st.integers(-1, 5),
        st.lists(entry, min_size=0, max_size=3),
        st.lists(st.lists(entry, max_size=3), min_size=0, max_size=3),
        st.tuples(entry, st.lists(entry, max_size=2)),  # mixed int and list
    )


@given(a_shape=shapes(0, 4), b_shape=shapes(0, 4), axes=axes_anything())
def test_tensordot_error_parity(a_shape, b_shape, axes):
    """Arbitrary shapes and axes: wherever TensorFlow rejects them, dotsum says so clearly."""
    check_tensordot(a_shape, b_shape, axes, "float32")


def test_tensordot_numpy_integer_axes():
    a, b = random((2, 3, 4), "float32", 1), random((4, 3, 5), "float32", 2)
    for axes in (np.int64(1), (np.int32(2), np.int64(0)), ([np.int64(-1), 1], [0, np.int8(1)])):
        expected = tf.tensordot(a, b, axes).numpy()
        assert_same(dtf.tensordot(a, b, axes), expected, "float32")


@pytest.mark.parametrize("a_shape, b_shape, axes", [
    ((2, 3), (3, 2), 2),  # sizes (2, 3) vs (3, 2): TF multiplies a (1, 6) by a (6, 1)
    ((1,), (1, 1), ([0, 0], [0, 1])),  # axis 0 of a twice; TF's reshape of size 1 survives
    ((0,), (0, 0), ([0, 0], [0, 1])),
    ((2, 3), (3, 2), True),  # TF reads True as 1
    ((2, 3), (3, 2), [True, False]),
])
def test_tensordot_refuses_what_tensorflow_computes(a_shape, b_shape, axes):
    a, b = np.ones(a_shape, np.float32), np.ones(b_shape, np.float32)
    assert outcome(lambda: tf.tensordot(a, b, axes).numpy())[0] == "ok"
    assert dotsum_refuses(a_shape, b_shape, axes)
    with pytest.raises((ValueError, TypeError)):
        dtf.tensordot(a, b, axes)


def test_tensordot_refuses_arrays_of_axes():
    """TF accepts an int32 tensor of shape [2, k]; static params here are hashable values."""
    a, b = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32)
    assert tf.tensordot(a, b, np.array([[1], [0]])).shape == (3, 5)
    with pytest.raises(TypeError, match=r"axes must be an int N >= 0, a pair of ints, or a pair "
                                        r"of lists of ints; got ndarray"):
        dtf.tensordot(a, b, np.array([[1], [0]]))
    assert dtf.tensordot(a, b, np.array([[1], [0]]).tolist()).shape == (3, 5)


# -- matvec --------------------------------------------------------------------------------------
MATVEC_FLAGS = [{}, {"transpose_a": True}, {"adjoint_a": True},
                {"transpose_a": True, "adjoint_a": True}]  # the last is an error

MATVEC_CORPUS = [
    ((2, 3), (3,)),
    ((2, 3), (5, 3)),  # one matrix, many vectors: (5, 2)
    ((5, 2, 3), (3,)),  # many matrices, one vector
    ((5, 2, 3), (5, 3)),  # batched
    ((5, 1, 2, 3), (4, 3)),  # broadcast: (5, 4, 2)
    ((4, 3, 3), (1, 1, 3)),
    ((0, 3, 3), (1, 3)),  # an empty batch broadcasts against 1
    ((3, 3), (2, 3)),  # square, so every flag is valid
    ((2, 0), (0,)),  # an empty sum
]


def check_matvec(a_shape, b_shape, dtype, flags):
    a, b = random(a_shape, dtype, 1), random(b_shape, dtype, 2)
    status, expected = outcome(
        lambda: tf.linalg.matvec(tf.constant(a), tf.constant(b), **flags).numpy())
    with x64_if(dtype):
        if status == "ok":
            assert_same(dtf.matvec(a, b, **flags), expected, dtype)
        else:
            with pytest.raises((ValueError, TypeError)):
                dtf.matvec(a, b, **flags)


@pytest.mark.parametrize("flags", MATVEC_FLAGS, ids=lambda f: "-".join(f) or "plain")
@pytest.mark.parametrize("a_shape, b_shape", MATVEC_CORPUS, ids=str)
def test_matvec_flags(a_shape, b_shape, flags):
    check_matvec(a_shape, b_shape, "complex64", flags)  # adjoint conjugates, transpose doesn't


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a_shape, b_shape", MATVEC_CORPUS, ids=str)
def test_matvec_dtypes(a_shape, b_shape, dtype):
    check_matvec(a_shape, b_shape, dtype, {})


@st.composite
def matvec_cases(draw):
    batch = draw(shapes(0, 3))
    a_batch = tuple(d if draw(st.booleans()) else 1 for d in batch)
    b_batch = tuple(d if draw(st.booleans()) else 1 for d in batch)
    if draw(st.booleans()):  # ranks may differ, either way
        a_batch = a_batch[draw(st.integers(0, len(a_batch))):]
    else:
        b_batch = b_batch[draw(st.integers(0, len(b_batch))):]
    m, k = draw(sizes), draw(sizes)
    # mostly a valid flag combination; one example in 8 breaks the size
    flags = draw(st.sampled_from(MATVEC_FLAGS[:3] * 5 + MATVEC_FLAGS[3:]))
    a_mat = (k, m) if flags else (m, k)
    b_vec = (k + 1,) if draw(st.integers(0, 7)) == 0 else (k,)
    return a_batch + a_mat, b_batch + b_vec, flags


@compares_values
@given(case=matvec_cases(), dtype=st.sampled_from(DTYPES))
def test_matvec_hypothesis(case, dtype):
    a_shape, b_shape, flags = case
    check_matvec(a_shape, b_shape, dtype, flags)


@given(a_shape=shapes(0, 4), b_shape=shapes(0, 4))
def test_matvec_error_parity(a_shape, b_shape):
    check_matvec(a_shape, b_shape, "float32", {})


# -- matmul(output_type=...) ---------------------------------------------------------------------
def small_ints(shape, dtype, seed):
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max, shape, endpoint=True,
                                                dtype=dtype)


def np_matmul(a, b, transpose_a=False, adjoint_b=False):
    a, b = a.astype(np.int64), b.astype(np.int64)
    return np.matmul(np.swapaxes(a, -1, -2) if transpose_a else a,
                     np.swapaxes(b, -1, -2) if adjoint_b else b)


@pytest.mark.parametrize("dtypes", [("int8", "int8"), ("uint8", "uint8"), ("int8", "uint8"),
                                    ("uint8", "int8")])
@pytest.mark.parametrize("a_shape, b_shape, flags", [
    ((3, 64), (64, 5), {}),  # 64 products of up to 127² overflow int8 and int16
    ((2, 3, 64), (64, 5), {}),
    ((4, 64, 3), (4, 5, 64), {"transpose_a": True, "adjoint_b": True}),
])
def test_matmul_output_type_int32(a_shape, b_shape, flags, dtypes):
    a, b = small_ints(a_shape, dtypes[0], 1), small_ints(b_shape, dtypes[1], 2)
    expected = tf.matmul(a, b, output_type=tf.int32, **flags).numpy()
    if dtypes[0] != dtypes[1]:
        # TensorFlow's CPU kernel reads b with a's signedness (int8·uint8 treats 200 as -56);
        # dotsum returns the exact product, here computed in int64.
        assert (expected == np_matmul(a, b.view(a.dtype), **flags)).all()
        expected = np_matmul(a, b, **flags)
    for spelling in (tf.int32, "int32", np.int32, jnp.int32):
        got = dtf.matmul(a, b, output_type=spelling, **flags)
        assert got.dtype == jnp.int32
        np.testing.assert_array_equal(np.asarray(got), expected)


@pytest.mark.parametrize("dtypes, output_type", [
    (("int8", "int8"), "int64"),
    (("int8", "int8"), "float32"),
    (("int8", "int8"), "int16"),
    (("int16", "int8"), "int32"),
    (("float32", "float32"), "int32"),
    (("float32", "float32"), "float64"),
    (("float32", "float32"), "float32"),  # allowed: the operands' own dtype changes nothing
    (("int32", "int32"), "int32"),
])
def test_matmul_output_type_parity(dtypes, output_type):
    a, b = np.ones((2, 3), dtypes[0]), np.ones((3, 2), dtypes[1])
    status, expected = outcome(  # tensors: TF converts a NumPy b to a's dtype when it can
        lambda: tf.matmul(tf.constant(a), tf.constant(b), output_type=output_type).numpy())
    if status == "ok":
        got = dtf.matmul(a, b, output_type=output_type)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(np.asarray(got), expected)
    else:
        with pytest.raises(TypeError, match=r"^tf\.matmul: output_type must be int32 with "):
            dtf.matmul(a, b, output_type=output_type)


def test_matmul_output_type_may_name_the_promoted_dtype():
    """TF takes output_type equal to both operands' dtype; dotsum, whose dtypes follow JAX
    promotion, takes the dtype the result has anyway (it changes nothing)."""
    a, b = np.ones((2, 3), np.int32), np.ones((3, 2), np.uint8)
    assert dtf.matmul(a, b, output_type="int32").dtype == dtf.matmul(a, b).dtype == jnp.int32
    with pytest.raises(TypeError, match=r"got output_type=int16 with a\.dtype=int32, "
                                        r"b\.dtype=uint8 \(a\.shape=\(2, 3\), "):
        dtf.matmul(a, b, output_type="int16")


def test_matmul_output_type_and_preferred_element_type():
    a = np.ones((2, 3), np.int8)
    same = dtf.matmul(a, a.T, output_type="int32", preferred_element_type=np.int32)
    assert same.dtype == jnp.int32
    with pytest.raises(ValueError, match=r"^tf\.matmul: output_type=int32 and "
                                         r"preferred_element_type=int16 disagree"):
        dtf.matmul(a, a.T, output_type="int32", preferred_element_type="int16")
    with pytest.raises(TypeError, match=r"^tf\.matmul: output_type must be None or a dtype"):
        dtf.matmul(a, a.T, output_type="int33")


# -- structure -----------------------------------------------------------------------------------
STRUCTURE = [
    ("tensordot", lambda a, b: dtf.tensordot(a, b, ([1, 0], [0, 1])), (3, 4, 5), (4, 3, 2),
     "float32"),
    ("tensordot-0d", lambda a, b: dtf.tensordot(a, b, 0), (), (), "float32"),
    ("matvec", lambda a, b: dtf.matvec(a, b, adjoint_a=True), (5, 1, 3, 2), (4, 3),
     "complex64"),
    ("matmul-output_type", lambda a, b: dtf.matmul(a, b, output_type=jnp.int32), (2, 3), (3, 4),
     "int8"),
]


@pytest.mark.parametrize("name, fn, a_shape, b_shape, dtype", STRUCTURE,
                         ids=[s[0] for s in STRUCTURE])
def test_one_dot_general_under_jit(name, fn, a_shape, b_shape, dtype):
    a, b = jnp.zeros(a_shape, dtype), jnp.zeros(b_shape, dtype)
    text = assert_one_contraction(fn, a, b)  # tensordot axes=0: a multiply on CPU
    if name == "matmul-output_type":
        assert "preferred_element_type=int32" in text, text


def test_cached_call_still_rejects_bool_axes():
    """True == 1 to Python; a cached ``axes=1`` must not let ``axes=True`` through."""
    a, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    dtf.tensordot(a, b, 1)
    dtf.tensordot(a, b, [1, 0])
    for bad in (True, [True, False], [[True], [0]], 1.0):
        with pytest.raises(TypeError):
            dtf.tensordot(a, b, bad)
