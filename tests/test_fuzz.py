"""Differential fuzzing: every public op against its live reference, through
``dotsum.testing.assert_matches_reference`` (same shape, dtype and values; where the reference
rejects a call, dotsum raises ValueError/TypeError), over ranks 0-6, sizes 0-5, every axes form,
the flags, several dtypes and operand kinds (JAX, NumPy, nested lists, Python scalars).

The CI profile runs ``DOTSUM_FUZZ_EXAMPLES`` (default 25) examples per property; a long run:
``DOTSUM_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/test_fuzz.py``. Garbage inputs are
fuzzed too: nothing but ValueError/TypeError (naming the op) may escape.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from references import optional
from strategies import compared, compares_values, legacy_cases

from dotsum import keras as K
from dotsum import ops
from dotsum import tf as dtf
from dotsum.testing import assert_matches_reference

# TensorFlow needs equal dtypes and rejects int8/bool products: those combinations are checked
# against JAX's promotion in test_compiled.py / test_reference_ops.py instead.
TF_DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "int32"]
KERAS3_DTYPES = ["float16", "bfloat16", "float32", "complex64", "int8", "int32", "bool"]
KINDS = ["numpy", "jax", "list"]

VALID = 0.85  # the share of examples drawn valid by construction; the rest are left to chance


def shapes(min_rank=0, max_rank=6, max_elements=4096, min_size=0):
    return st.lists(st.integers(min_size, 5), min_size=min_rank, max_size=max_rank).map(
        tuple).filter(lambda s: int(np.prod(s)) <= max_elements)


# values that overflow a narrow accumulator: int8 operands span their whole range, so a sum or
# product kept in int8 wraps (Keras 3 accumulates int8 in int32); int32 stays where TensorFlow's
# and XLA's int32 arithmetic cannot overflow on these sizes; float16/bfloat16 get small integers,
# exact whatever the summation order
INT_RANGES = {"int8": 127, "int32": 100}


def operand(shape, dtype, kind, seed):
    rng = np.random.default_rng(seed)
    name = np.dtype(jnp.dtype(dtype)).name
    if name in INT_RANGES:
        values = rng.integers(-INT_RANGES[name], INT_RANGES[name], shape, endpoint=True)
    elif name == "bool":
        values = rng.integers(0, 2, shape).astype(bool)
    else:
        values = rng.standard_normal(shape) * 2
        if jnp.dtype(dtype).itemsize <= 2:
            values = np.round(values)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    array = np.asarray(values).astype(jnp.dtype(dtype))
    if kind == "jax":
        return jnp.asarray(array)
    if kind == "list" and np.dtype(dtype) in (np.float32, np.int32) and array.ndim and array.size:
        return array.tolist()  # lists of Python floats/ints become float32/int32 in both
    return array


def valid(draw):
    """Whether this example is built valid (most are) or left to chance (error parity)."""
    return draw(st.floats(0, 1)) < VALID


def fits(*shapes_):
    return all(int(np.prod(s)) <= 4096 for s in shapes_)


@st.composite
def related(draw, min_rank=0, min_size=0):
    """Two shapes that often share sizes (so that more calls are valid)."""
    x = draw(shapes(min_rank, min_size=min_size))
    y = draw(shapes(min_rank, min_size=min_size))
    if draw(st.integers(0, 3)) and x and y:
        k = draw(st.integers(1, min(len(x), len(y))))
        y = y[:-k] + x[-k:] if draw(st.booleans()) else x[:k] + y[k:]
    return x, y


def run(op, shapes_, dtype, kind, *static, **params):
    arrays = [operand(s, dtype, kind, i) for i, s in enumerate(shapes_)]
    compared(assert_matches_reference(op, *static, *arrays, **params))


def with_size(shape, axis, size):
    shape = list(shape)
    shape[axis] = size
    return tuple(shape)


# tf_keras reshapes with -1, which TensorFlow cannot infer next to a 0 size, so empty arrays fail
# there for no semantic reason; they are compared with NumPy in test_reference_keras2.py.
@compares_values
@given(case=related(min_size=1), data=st.data(), dtype=st.sampled_from(TF_DTYPES),
       kind=st.sampled_from(KINDS))
def test_fuzz_keras_dot(case, data, dtype, kind):
    optional("tf_keras")
    x, y = case
    assume(len(x) >= 2 and len(y) >= 2 or (len(x) == 1 and len(y) >= 3))  # TF's ranks
    if valid(data.draw):
        y = with_size(y, -2, x[-1])
    assume(fits(x, y))
    run(K.dot, (x, y), dtype, kind)


@compares_values
@given(case=related(min_rank=2, min_size=1), data=st.data(), dtype=st.sampled_from(TF_DTYPES),
       kind=st.sampled_from(KINDS))
def test_fuzz_keras_batch_dot(case, data, dtype, kind):
    """Axes in range, as plain ints (dotsum deliberately differs on out-of-range and NumPy-int
    axes: test_errors.py)."""
    optional("tf_keras")
    x, y = case
    y = x[:1] + y[1:]
    a0 = data.draw(st.integers(1, len(x) - 1))
    a1 = data.draw(st.integers(1, len(y) - 1))
    form = data.draw(st.sampled_from(["none", "int", "pair", "negative"]))
    if form == "none":
        axes, a0, a1 = None, len(x) - 1, len(y) - (1 if len(y) == 2 else 2)
    elif form == "int":
        a1 = a0 if a0 < len(y) else a1
        axes = a0 if a0 == a1 else (a0, a1)
    else:
        axes = (a0, a1) if form == "pair" else (a0 - len(x), a1 - len(y))
    if valid(data.draw):
        y = with_size(y, a1, x[a0])
    assume(fits(x, y))
    run(K.batch_dot, (x, y), dtype, kind, axes=axes)


@compares_values
@given(case=legacy_cases(), dtype=st.sampled_from(["float32", "complex64"]))
def test_fuzz_legacy_batch_dot(case, dtype):
    x, y, axes = case
    run(K.batch_dot, (x, y), dtype, "numpy", axes=axes, legacy=True)


def broadcastable(draw, x_batch, y_batch):
    """``y_batch`` made to broadcast against ``x_batch`` (right-aligned): each shared axis takes
    x's size or 1."""
    y_batch = list(y_batch)
    for j in range(1, min(len(x_batch), len(y_batch)) + 1):
        y_batch[-j] = draw(st.sampled_from([x_batch[-j], x_batch[-j], 1]))
    return tuple(y_batch)


@compares_values
@given(case=related(min_rank=2), data=st.data(), dtype=st.sampled_from(TF_DTYPES),
       kind=st.sampled_from(KINDS))
def test_fuzz_tf_matmul(case, data, dtype, kind):
    optional("tensorflow")
    a, b = case
    flags = {k: data.draw(st.booleans()) for k in ("transpose_a", "transpose_b")}
    flags.update({f"adjoint_{s}": data.draw(st.booleans()) and not flags[f"transpose_{s}"]
                  for s in "ab"})
    if valid(data.draw):
        ka = -2 if flags["transpose_a"] or flags["adjoint_a"] else -1
        kb = -1 if flags["transpose_b"] or flags["adjoint_b"] else -2
        b = broadcastable(data.draw, a[:-2], b[:-2]) + with_size(b[-2:], kb, a[ka])
    else:  # anything, transpose and adjoint of one operand too
        flags = {k: data.draw(st.booleans()) for k in flags}
    assume(fits(a, b))
    run(dtf.matmul, (a, b), dtype, kind, **flags)


@compares_values
@given(case=related(min_rank=2), data=st.data(), dtype=st.sampled_from(TF_DTYPES),
       kind=st.sampled_from(KINDS))
def test_fuzz_tf_matvec(case, data, dtype, kind):
    optional("tensorflow")
    a, b = case
    flags = {k: data.draw(st.booleans()) for k in ("transpose_a", "adjoint_a")}
    if valid(data.draw):
        flags["adjoint_a"] = flags["adjoint_a"] and not flags["transpose_a"]
        ka = -2 if flags["transpose_a"] or flags["adjoint_a"] else -1
        batch = data.draw(st.sampled_from([b[:-1], b[:-2], a[:-2]]))
        b = broadcastable(data.draw, a[:-2], batch) + (a[ka],)
    else:
        b = data.draw(st.sampled_from([b, b[:-1] or (1,)]))
    assume(fits(a, b))
    run(dtf.matvec, (a, b), dtype, kind, **flags)


@compares_values
@given(x=shapes(0, 4), y=shapes(0, 4), data=st.data(), dtype=st.sampled_from(TF_DTYPES),
       kind=st.sampled_from(KINDS))
def test_fuzz_tf_tensordot(x, y, data, dtype, kind):
    """Valid axes in every form; the contracted sizes agree pair by pair (TensorFlow compares only
    their products, dotsum each pair: that divergence is tested in test_reference_tf_ops.py)."""
    optional("tensorflow")
    k = data.draw(st.integers(0, min(len(x), len(y))))
    form = data.draw(st.sampled_from(["int", "pair", "negative"]))
    if form == "int":
        ax, ay = list(range(len(x) - k, len(x))), list(range(k))
    else:
        ax = data.draw(st.permutations(range(len(x))))[:k]
        ay = data.draw(st.permutations(range(len(y))))[:k]
    y = list(y)
    for i, j in zip(ax, ay):
        y[j] = x[i]
    axes = k if form == "int" else (ax, ay) if form == "pair" else (
        [i - len(x) for i in ax], [j - len(y) for j in ay])
    run(dtf.tensordot, (x, tuple(y)), dtype, kind, axes=axes)


@compares_values
@given(case=related(min_rank=2, min_size=1), data=st.data(),
       dtype=st.sampled_from(["float32", "float16"]), normalize=st.booleans())
def test_fuzz_keras_dot_layer(case, data, dtype, normalize):
    optional("keras")
    x, y = case
    y = x[:1] + y[1:]
    axes = data.draw(st.one_of(st.integers(-1, 1).map(lambda a: a if a else 1),
                               st.tuples(st.integers(1, len(x) - 1), st.integers(1, len(y) - 1))))
    a0, a1 = (axes, axes) if isinstance(axes, int) else axes
    if valid(data.draw) and -len(y) <= a1 < len(y):
        y = with_size(y, a1, x[a0])
    assume(fits(x, y))
    layer = K.Dot(axes, normalize=normalize)
    compared(assert_matches_reference(layer, [operand(s, dtype, "numpy", i)
                                           for i, s in enumerate((x, y))]))


@st.composite
def equation(draw):
    letters = "abcdeA"
    size = {c: draw(st.integers(0, 4)) for c in letters}
    terms = [draw(st.lists(st.sampled_from(letters), max_size=5)) for _ in
             range(draw(st.integers(1, 3)))]
    shapes_ = [tuple(size[c] for c in t) for t in terms]
    subscripts = ",".join("".join(t) for t in terms)
    if draw(st.booleans()):
        used = sorted({c for t in terms for c in t})
        subscripts += "->" + "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))])
    return subscripts, shapes_


@compares_values
@given(case=equation(), dtype=st.sampled_from(TF_DTYPES), kind=st.sampled_from(KINDS))
def test_fuzz_tf_einsum(case, dtype, kind):
    optional("tensorflow")
    subscripts, shapes_ = case
    run(dtf.einsum, shapes_, dtype, kind, subscripts)


@compares_values
@given(case=equation(), dtype=st.sampled_from(KERAS3_DTYPES), kind=st.sampled_from(KINDS))
def test_fuzz_ops_einsum(case, dtype, kind):
    optional("keras")
    subscripts, shapes_ = case
    run(ops.einsum, shapes_, dtype, kind, subscripts)


@compares_values
@given(name=st.sampled_from(["dot", "matmul", "inner", "outer", "vdot"]), case=related(),
       data=st.data(), dtype=st.sampled_from(KERAS3_DTYPES), kind=st.sampled_from(KINDS))
def test_fuzz_ops(name, case, data, dtype, kind):
    optional("keras")
    x, y = case
    if valid(data.draw) and x and y:  # dot/matmul: x's last axis with y's second-to-last
        if name == "vdot":
            y = x
        elif name == "inner":
            y = with_size(y, -1, x[-1])
        elif name != "outer":
            y = with_size(y, -2 if len(y) >= 2 else -1, x[-1])
            if name == "matmul" and len(x) > 2 and len(y) > 2:
                y = broadcastable(data.draw, x[:-2], y[:-2]) + y[-2:]
    assume(fits(x, y))
    if name == "outer" and kind == "list":
        kind = "numpy"  # keras.ops.outer hands lists to jnp.outer, which rejects them; dotsum
        # takes lists everywhere
    run(getattr(ops, name), (x, y), dtype, kind)


@compares_values
@given(case=related(), data=st.data(), dtype=st.sampled_from(KERAS3_DTYPES))
def test_fuzz_ops_tensordot(case, data, dtype):
    optional("keras")
    x, y = case
    # plain ints: jnp.tensordot rejects NumPy integers in pairs, dotsum accepts them
    if valid(data.draw):
        k = data.draw(st.integers(0, min(len(x), len(y))))
        ax = data.draw(st.permutations(range(len(x))))[:k]
        ay = data.draw(st.permutations(range(len(y))))[:k]
        for i, j in zip(ax, ay):
            y = with_size(y, j, x[i])
        form = data.draw(st.sampled_from(["int", "pair", "lists"]))
        if form == "int" or k == 0:
            y = x[len(x) - k:] + y[k:]
            axes = k
        elif form == "pair":
            axes = (ax[0] - data.draw(st.sampled_from([0, len(x)])), ay[0])
            y = with_size(y, ay[0], x[ax[0]])
        else:
            axes = (ax, ay)
    else:
        n = st.integers(0, min(len(x), len(y)) + 1)
        ax, ay = (st.integers(-r - 1, r) for r in (len(x), len(y)))
        axes = data.draw(st.one_of(n, st.tuples(ax, ay), st.tuples(st.lists(ax, max_size=2),
                                                                   st.lists(ay, max_size=2))))
    assume(fits(x, y))
    run(ops.tensordot, (x, y), dtype, "numpy", axes=axes)


@compares_values
@given(scalar=st.one_of(st.integers(-3, 3), st.floats(-2, 2)), case=shapes(0, 3))
def test_fuzz_python_scalars(scalar, case):
    """A Python scalar is a 0-D operand: ops.dot and ops.inner multiply by it."""
    optional("keras")
    y = operand(case, "float32", "numpy", 0)
    compared(assert_matches_reference(ops.dot, scalar, y))
    compared(assert_matches_reference(ops.inner, y, scalar))


# -- garbage in: only ValueError / TypeError, naming the op ---------------------------------------
junk = st.one_of(
    st.none(), st.text(max_size=3), st.floats(allow_nan=True), st.integers(-10, 10),
    st.booleans(), st.lists(st.integers(), max_size=3), st.just([[1, 2], [3]]),
    st.just({"a": 1}), st.just(object()), st.just(np.array(["a", "b"])),
    st.just(np.array([1, 2], dtype=object)), shapes(0, 3).map(np.ones),
)
CALLABLES = {
    "keras.dot": lambda a, b, p: K.dot(a, b),
    "keras.batch_dot": lambda a, b, p: K.batch_dot(a, b, p),
    "keras.batch_dot[legacy]": lambda a, b, p: K.batch_dot(a, b, p, legacy=True),
    "tf.matmul": lambda a, b, p: dtf.matmul(a, b, transpose_a=p),
    "tf.einsum": lambda a, b, p: dtf.einsum(p, a, b),
    "ops.einsum": lambda a, b, p: ops.einsum(p, a, b),
    "ops.tensordot": lambda a, b, p: ops.tensordot(a, b, p),
    "ops.matmul": lambda a, b, p: ops.matmul(a, b, precision=p),
    "ops.vdot": lambda a, b, p: ops.vdot(a, b, preferred_element_type=p),
}


@given(name=st.sampled_from(sorted(CALLABLES)), a=junk, b=junk, param=junk)
def test_garbage_gets_a_clear_error(name, a, b, param):
    try:
        CALLABLES[name](a, b, param)
    except (ValueError, TypeError) as e:
        assert str(e).startswith(name.split("[")[0]), f"{type(e).__name__}: {e}"
    # anything else (IndexError, KeyError, AttributeError, AssertionError, …) fails the test
