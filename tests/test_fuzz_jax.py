"""Differential fuzzing of ``dotsum.numpy`` against ``jax.numpy`` and ``dotsum.lax.dot_general``
against ``jax.lax.dot_general`` (same shape, dtype, weak type and values; where JAX rejects a
call, dotsum raises ValueError/TypeError naming the op), over mixed dtypes and operand kinds.
``DOTSUM_FUZZ_EXAMPLES`` sets the examples per property, as in ``test_fuzz.py``."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import compared, compares_values
from test_fuzz import broadcastable, equation, fits, operand, related, valid, with_size

from dotsum import lax as dlax
from dotsum import numpy as dnp
from dotsum.testing import assert_matches_reference

DTYPES = ["bool", "int8", "uint8", "int32", "float16", "bfloat16", "float32", "complex64"]
KINDS = ["numpy", "jax", "list", "scalar"]
dtype_pairs = st.one_of(st.sampled_from(DTYPES).map(lambda d: (d, d)),
                        st.tuples(st.sampled_from(DTYPES), st.sampled_from(DTYPES)))


def arrays(shapes_, dtypes, kinds):
    out = []
    for i, (shape, dtype, kind) in enumerate(zip(shapes_, dtypes, kinds)):
        if kind == "scalar":  # a Python scalar: weakly typed in JAX
            out.append(float(i + 2) if dtype.startswith(("float", "bfloat", "complex")) else
                       i + 2 if shape == () else operand(shape, dtype, "jax", i))
        else:
            out.append(operand(shape, dtype, kind, i))
    return out


@compares_values
@given(name=st.sampled_from(["dot", "matmul", "inner", "outer", "vdot", "vecdot", "matvec",
                             "vecmat"]),
       case=related(min_rank=1), data=st.data(), dtypes=dtype_pairs,
       kinds=st.tuples(st.sampled_from(KINDS), st.sampled_from(KINDS)))
def test_fuzz_numpy(name, case, data, dtypes, kinds):
    x, y = case
    if name == "matvec" and valid(data.draw):
        x = x if len(x) >= 2 else (2,) + x
    if name == "vecmat" and valid(data.draw):
        y = y if len(y) >= 2 else y + (3,)
    params = {}
    if valid(data.draw) and x and y:
        if name == "vdot":
            y = x
        elif name in ("inner", "matvec"):
            y = with_size(y, -1, x[-1])
            if name == "matvec" and len(x) >= 2:
                y = broadcastable(data.draw, x[:-2], y[:-1]) + x[-1:]
        elif name == "vecmat" and len(y) >= 2:
            y = broadcastable(data.draw, x[:-1], y[:-2]) + x[-1:] + y[-1:]
        elif name == "vecdot":
            axis = data.draw(st.integers(-min(len(x), len(y)), -1))
            params["axis"] = axis
            y = with_size(y, axis, x[axis])
        elif name != "outer":
            y = with_size(y, -2 if len(y) >= 2 else -1, x[-1])
            if name == "matmul" and len(x) > 2 and len(y) > 2:
                y = broadcastable(data.draw, x[:-2], y[:-2]) + y[-2:]
    assume(fits(x, y))
    op = getattr(dnp, name)
    if name in ("dot", "matmul", "vecdot") and data.draw(st.booleans()):
        # a dtype no narrower than the operands (narrower ones are errors: test_numpy.py)
        params["preferred_element_type"] = "complex64" if "complex64" in dtypes else "float32"
    compared(assert_matches_reference(op, *arrays((x, y), dtypes, kinds), **params))


@compares_values
@given(case=equation(), dtypes=dtype_pairs, data=st.data(),
       optimize=st.sampled_from(["auto", True, False, "greedy", "optimal"]))
def test_fuzz_numpy_einsum(case, dtypes, data, optimize):
    subscripts, shapes_ = case
    kinds = [data.draw(st.sampled_from(["numpy", "jax"])) for _ in shapes_]
    types = [dtypes[i % 2] for i in range(len(shapes_))]
    compared(assert_matches_reference(dnp.einsum, subscripts,
                                      *arrays(shapes_, types, kinds), optimize=optimize))


@st.composite
def dimension_numbers(draw):
    """Two shapes and ``((lc, rc), (lb, rb))``: mostly valid, the rest left to chance."""
    n_batch, n_contract = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    free = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sizes = [draw(st.integers(0, 4)) for _ in range(n_batch + n_contract)]
    shapes_, dims = [], []
    for f in free:
        labels = list(range(n_batch + n_contract)) + [None] * f
        order = draw(st.permutations(labels))
        shapes_.append(tuple(sizes[c] if c is not None else draw(st.integers(0, 4))
                             for c in order))
        where = {c: p for p, c in enumerate(order) if c is not None}
        dims.append((tuple(where[n_batch + k] for k in range(n_contract)),
                     tuple(where[k] for k in range(n_batch))))
    dn = ((dims[0][0], dims[1][0]), (dims[0][1], dims[1][1]))
    if not valid(draw):
        dn = draw(st.tuples(st.tuples(st.lists(st.integers(-1, 4), max_size=2).map(tuple),
                                      st.lists(st.integers(-1, 4), max_size=2).map(tuple)),
                            st.tuples(st.lists(st.integers(0, 3), max_size=2).map(tuple),
                                      st.lists(st.integers(0, 3), max_size=2).map(tuple))))
    return shapes_, dn


@compares_values
@given(case=dimension_numbers(), dtypes=dtype_pairs, data=st.data())
def test_fuzz_lax_dot_general(case, dtypes, data):
    shapes_, dn = case
    kinds = [data.draw(st.sampled_from(["numpy", "jax"])) for _ in shapes_]
    params = {}
    if data.draw(st.booleans()):
        params["preferred_element_type"] = data.draw(st.sampled_from(["float32", "int32"]))
    assume(fits(*shapes_))
    compared(assert_matches_reference(dlax.dot_general, *arrays(shapes_, dtypes, kinds), dn,
                                      **params))


def test_scalar_kind_is_weak():
    """The fuzz's "scalar" operands are Python numbers: the weak-type comparison is exercised."""
    x, y = arrays([(), ()], ("float32", "int32"), ("scalar", "scalar"))
    assert isinstance(x, float) and isinstance(y, int)
    assert dnp.dot(x, y).weak_type and not dnp.dot(np.float32(x), y).weak_type
