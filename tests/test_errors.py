"""Bad input gets a clear ValueError/TypeError naming the op, the argument, what was expected,
what was received and every operand's shape, raised ``from None``."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.sharding import AbstractMesh

from dotsum import keras as K
from dotsum import ops
from dotsum import tf as dtf


def ones(*shape):
    return jnp.ones(shape)


def _exported_dot(x, y):
    """``jax.export`` of ``K.dot`` with these symbolic shapes (one scope)."""
    scope = jax.export.SymbolicScope()
    specs = [jax.ShapeDtypeStruct(tuple(jax.export.symbolic_shape(d, scope=scope)[0]
                                        if isinstance(d, str) else d for d in s), np.float32)
             for s in (x, y)]
    return jax.export.export(jax.jit(K.dot))(*specs)


CASES = [
    # -- keras.dot ------------------------------------------------------------------------------
    # the seed's failing call: the user's axes and sizes, not TF's reshaped [60,2], [3,70]
    (lambda: K.dot(ones(3, 4, 5, 2), ones(2, 5, 3, 7)), ValueError,
     r"keras\.dot: axis -1 of x \(size 2\) does not match axis -2 of y \(size 3\) "
     r"\(x\.shape=\(3, 4, 5, 2\), y\.shape=\(2, 5, 3, 7\)\)$"),
    (lambda: K.dot(ones(2, 3), ones(4)), ValueError,
     r"keras\.dot: axis -1 of x \(size 3\) does not match axis -1 of y \(size 4\)"),
    (lambda: K.dot(jnp.float32(2.0), ones(3)), ValueError,
     r"keras\.dot: x must have rank >= 1 \(numpy\.dot semantics; 0-D operands are rejected\); "
     r"got rank 0 \(x\.shape=\(\), y\.shape=\(3,\)\)$"),
    (lambda: K.dot(ones(3), 2.0), ValueError, r"keras\.dot: y must have rank >= 1"),
    # -- keras.batch_dot: one message per validation rule of SEMANTICS §2 ----------------------
    (lambda: K.batch_dot(ones(4), ones(4, 3)), ValueError,
     r"keras\.batch_dot: x must have rank >= 2 \(axis 0 is the batch axis\); got rank 1 "
     r"\(x\.shape=\(4,\), y\.shape=\(4, 3\)\)$"),
    (lambda: K.batch_dot(ones(4, 3), ones(5, 3)), ValueError,
     r"keras\.batch_dot: batch sizes differ: x\.shape\[0\]=4, y\.shape\[0\]=5 "),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 3), axes=0), ValueError,
     r"keras\.batch_dot: cannot contract over axis 0 of x, the batch axis \(axes=0\)"),
    (lambda: K.batch_dot(ones(4, 3, 2), ones(4, 3), axes=(-3, 1)), ValueError,
     r"keras\.batch_dot: cannot contract over axis 0 of x, the batch axis \(axes=\(-3, 1\)\)"),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 5, 3)), ValueError,
     r"keras\.batch_dot: contracted axes differ in size: x\.shape\[1\] != y\.shape\[1\] "
     r"\(3 != 5\) for axes=None \(x\.shape=\(4, 3\), y\.shape=\(4, 5, 3\)\)$"),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 3), axes=[[1], [1]]), ValueError,
     r"keras\.batch_dot: axes must name one axis of each operand; got \[\[1\], \[1\]\] "
     r"\(multiple target dimensions are not supported"),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 3), axes=(1, 1, 1)), ValueError,
     r"keras\.batch_dot: axes must be an int or a pair; got 3 values"),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 3), axes=5), ValueError,
     r"keras\.batch_dot: axis 5 is out of range for x of rank 2 \(axes=5\)"),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 3), axes=(1, -3)), ValueError,
     r"keras\.batch_dot: axis -3 is out of range for y of rank 2"),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 3), axes=1.0), TypeError,
     r"keras\.batch_dot: axes must be None, an int or a pair of ints; got float 1\.0"),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 3), axes=True), TypeError,
     r"keras\.batch_dot: axes must be None, an int or a pair of ints; got bool True"),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 3), axes=(1, "1")), TypeError,
     r"keras\.batch_dot: axes must hold ints; got str in axes=\(1, '1'\)"),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 3), legacy="yes"), TypeError,
     r"keras\.batch_dot: legacy must be a bool; got str$"),
    # -- legacy batch_dot: where Keras 2.2.4 failed, say so ------------------------------------
    (lambda: K.batch_dot(ones(3), ones(3), legacy=True), ValueError,
     r"keras\.batch_dot\[legacy\]: Keras 2\.2\.4 fails here: both operands have rank 1"),
    (lambda: K.batch_dot(ones(4, 3, 2), ones(4, 5, 2), legacy=True), ValueError,
     r"keras\.batch_dot\[legacy\]: axis -1 of x \(size 2\) does not match axis -2 of y "
     r"\(size 5\)"),
    (lambda: K.batch_dot(ones(4, 3), ones(4, 3), axes=2, legacy=True), ValueError,
     r"keras\.batch_dot\[legacy\]: Keras 2\.2\.4 fails here: axis 2 is out of range"),
    (lambda: K.batch_dot(ones(4, 3), ones(4), legacy=True), ValueError,
     r"keras\.batch_dot\[legacy\]: Keras 2\.2\.4 fails here: transpose\(x\) \* y does not "
     r"broadcast \(\(3, 4\) vs \(4, 1\), after padding\)"),
    (lambda: K.batch_dot(ones(4, 3), ones(4), axes=1, legacy=True), ValueError,
     r"keras\.batch_dot\[legacy\]: Keras 2\.2\.4 fails here: it squeezes axes \(0,\)"),
    # -- tf.matmul ------------------------------------------------------------------------------
    (lambda: dtf.matmul(ones(2, 3), ones(4, 5)), ValueError,
     r"tf\.matmul: axis -1 of a \(size 3\) does not match axis -2 of b \(size 4\) "
     r"\(a\.shape=\(2, 3\), b\.shape=\(4, 5\)\)$"),
    (lambda: dtf.matmul(ones(2, 3), ones(2, 3), transpose_b=True, adjoint_b=True), ValueError,
     r"tf\.matmul: only one of transpose_b and adjoint_b can be True"),
    (lambda: dtf.matmul(ones(3), ones(3, 4)), ValueError,
     r"tf\.matmul: a must have rank >= 2 \(tf\.matmul does not promote 1-D operands\); got "
     r"rank 1"),
    (lambda: dtf.matmul(ones(5, 2, 2, 3), ones(4, 3, 6)), ValueError,
     r"tf\.matmul: batch axes do not broadcast: axis 1 of a \(size 2\) vs axis 0 of b "
     r"\(size 4\) \(a\.shape=\(5, 2, 2, 3\), b\.shape=\(4, 3, 6\)\)$"),
    (lambda: dtf.matmul(ones(2, 3), ones(3, 4), transpose_a=1), TypeError,
     r"tf\.matmul: transpose_a must be a bool; got int 1$"),
    # -- operands and XLA options, for every op ------------------------------------------------
    (lambda: K.dot("abc", ones(3)), TypeError,
     r"keras\.dot: x must be an array or a \(non-ragged\) nested list of numbers; got str"),
    (lambda: K.dot([[1, 2], [3]], ones(2)), TypeError,
     r"keras\.dot: x must be an array or a \(non-ragged\) nested list of numbers; got list"),
    (lambda: K.batch_dot(ones(2, 2), None), TypeError,
     r"keras\.batch_dot: y must be an array or a \(non-ragged\) nested list of numbers; got "
     r"NoneType"),
    (lambda: dtf.matmul(ones(2, 2), object()), TypeError, r"tf\.matmul: b must be an array"),
    (lambda: K.dot(ones(2, 2), ones(2, 2), precision="best"), ValueError,
     r"keras\.dot: precision must be None, a jax\.lax\.Precision or one of 'default', "
     r"'high', 'highest'; got 'best'$"),
    (lambda: K.dot(ones(2, 2), ones(2, 2), precision=3), TypeError,
     r"keras\.dot: precision must be None, a jax\.lax\.Precision, its name, a pair of them, or "
     r"a dot algorithm; got int 3$"),
    (lambda: K.dot(ones(2, 2), ones(2, 2), preferred_element_type="floaty"), TypeError,
     r"keras\.dot: preferred_element_type must be None or a numeric dtype that JAX supports; "
     r"got 'floaty'$"),
    (lambda: K.Dot(1, normalize=True)([jnp.ones((2, 3), "int32")] * 2), TypeError,
     r"keras\.Dot: normalize=True needs floating-point or complex operands; got int32 "
     r"\(x\.shape=\(2, 3\), y\.shape=\(2, 3\)\)"),  # raised while tracing: JAX adds a note
    (lambda: K.dot(ones(2, 2), ones(2, 2), preferred_element_type=[]), TypeError,
     r"keras\.dot: preferred_element_type must be None or a numeric dtype that JAX supports; "
     r"got \[\]$"),
    # -- planners take shapes ------------------------------------------------------------------
    (lambda: K.dot.plan((2, 3.5), (3, 4)), TypeError,
     r"keras\.dot: the shape of x must be a sequence of ints or symbolic sizes "
     r"\(such as \"b\"\), or an array; got \(2, 3\.5\)$"),
    (lambda: K.dot.plan((2, -1), (3, 4)), ValueError,
     r"keras\.dot: the shape of x must have non-negative sizes; got \(2, -1\)$"),
    # -- tf.tensordot --------------------------------------------------------------------------
    (lambda: dtf.tensordot(ones(2, 3), ones(4, 5), 1), ValueError,
     r"tf\.tensordot: axis -1 of a \(size 3\) does not match axis 0 of b \(size 4\) "
     r"\(a\.shape=\(2, 3\), b\.shape=\(4, 5\)\)$"),
    (lambda: dtf.tensordot(ones(2, 3), ones(3, 2), 2), ValueError,  # TF compares products only
     r"tf\.tensordot: axis -2 of a \(size 2\) does not match axis 0 of b \(size 3\)"),
    (lambda: dtf.tensordot(ones(2, 3), ones(3, 4), -1), ValueError,
     r"tf\.tensordot: axes must be >= 0 when it is an int; got -1 \(a\.shape=\(2, 3\), "),
    (lambda: dtf.tensordot(ones(2, 3), ones(3), 2), ValueError,
     r"tf\.tensordot: axes=2 contracts more axes than b has \(rank 1\)"),
    (lambda: dtf.tensordot(ones(2, 3), ones(3, 4), [1, 0, 0]), ValueError,
     r"tf\.tensordot: axes must be an int or a pair; got 3 values \[1, 0, 0\]"),
    (lambda: dtf.tensordot(ones(2, 3), ones(3, 4), [[1], [0, 1]]), ValueError,
     r"tf\.tensordot: axes lists differ in length: 1 for a, 2 for b \(axes=\[\[1\], \[0, 1\]\]\)"),
    (lambda: dtf.tensordot(ones(2, 3), ones(3, 4), [[2], [0]]), ValueError,
     r"tf\.tensordot: axis 2 is out of range for a of rank 2 \(axes=\[\[2\], \[0\]\]\)"),
    (lambda: dtf.tensordot(ones(3, 3), ones(3, 3), [[1, -1], [0, 1]]), ValueError,
     r"tf\.tensordot: axis 1 of a is contracted twice \(as 1 and -1\) in axes="),
    (lambda: dtf.tensordot(ones(2, 3), ones(3, 4), True), TypeError,
     r"tf\.tensordot: axes must be an int N >= 0, a pair of ints, or a pair of lists of ints; "
     r"got bool True"),
    (lambda: dtf.tensordot(ones(2, 3), ones(3, 4), [[1.0], [0]]), TypeError,
     r"tf\.tensordot: axes must hold ints; got float 1\.0 in axes=\[\[1\.0\], \[0\]\]"),
    (lambda: dtf.tensordot(ones(2, 3), ones(3, 4), [1, [0]]), TypeError,
     r"tf\.tensordot: axes must be an int N >= 0, a pair of ints, or a pair of lists of ints; "
     r"got \[1, \[0\]\]"),
    (lambda: dtf.tensordot(ones(2, 3), ones(3, 4), np.array([[1], [0]])), TypeError,
     r"tf\.tensordot: axes must be .*; got ndarray \(for an array of axes, pass "
     r"axes\.tolist\(\)\)"),
    # -- tf.linalg.matvec ------------------------------------------------------------------------
    (lambda: dtf.matvec(ones(2, 3), ones(2)), ValueError,
     r"tf\.linalg\.matvec: axis -1 of a \(size 3\) does not match axis -1 of b \(size 2\) "
     r"\(a\.shape=\(2, 3\), b\.shape=\(2,\)\)$"),
    (lambda: dtf.matvec(ones(3, 3), ones(3), transpose_a=True, adjoint_a=True), ValueError,
     r"tf\.linalg\.matvec: only one of transpose_a and adjoint_a can be True"),
    (lambda: dtf.matvec(ones(3), ones(3)), ValueError,
     r"tf\.linalg\.matvec: a must have rank >= 2 \(a matrix, or a batch of them\); got rank 1"),
    (lambda: dtf.matvec(ones(2, 3), 1.0), ValueError,
     r"tf\.linalg\.matvec: b must have rank >= 1 \(a vector, or a batch of them\); got rank 0"),
    (lambda: dtf.matvec(ones(5, 2, 3), ones(4, 3)), ValueError,
     r"tf\.linalg\.matvec: batch axes do not broadcast: axis 0 of a \(size 5\) vs axis 0 of b "
     r"\(size 4\)"),
    (lambda: dtf.matvec(ones(2, 3), ones(3), adjoint_a="yes"), TypeError,
     r"tf\.linalg\.matvec: adjoint_a must be a bool; got str$"),
    # -- tf.matmul(output_type=...) --------------------------------------------------------------
    (lambda: dtf.matmul(ones(2, 3), ones(3, 2), output_type="int32"), TypeError,
     r"tf\.matmul: output_type must be int32 with int8/uint8 operands, or the result's own "
     r"dtype; got output_type=int32 with a\.dtype=float32, b\.dtype=float32 "
     r"\(a\.shape=\(2, 3\), b\.shape=\(3, 2\)\)$"),
    (lambda: dtf.matmul(jnp.ones((2, 3), jnp.int8), jnp.ones((3, 2), jnp.int8),
                        output_type="int32", preferred_element_type="float32"), ValueError,
     r"tf\.matmul: output_type=int32 and preferred_element_type=float32 disagree"),
    (lambda: dtf.matmul(jnp.ones((2, 3), jnp.int8), jnp.ones((3, 2), jnp.int8),
                        output_type="int3"), TypeError,
     r"tf\.matmul: output_type must be None or a dtype; got 'int3' "
     r"\(a\.shape=\(2, 3\), b\.shape=\(3, 2\)\)$"),
    # -- keras.Dot: settings are checked when the layer is built, inputs when it is called -------
    (lambda: K.Dot(True), TypeError, r"keras\.Dot: axes must be an int or a pair of ints; got "
                                     r"bool True$"),
    (lambda: K.Dot(None), TypeError, r"keras\.Dot: axes must be an int or a pair of ints; got "
                                     r"NoneType$"),
    (lambda: K.Dot((1, 2, 3)), ValueError,
     r"keras\.Dot: axes must be an int or a pair; got 3 values \(1, 2, 3\)$"),
    (lambda: K.batch_dot(jnp.ones((2, 3)), jnp.ones((2, 3)), [1]), ValueError,
     r"keras\.batch_dot: axes must be an int or a pair; got 1 value \[1\] \("),
    (lambda: K.Dot((1, 1.0)), TypeError, r"keras\.Dot: axes must hold ints; got float 1\.0 in "
                                         r"axes=\(1, 1\.0\)$"),
    (lambda: K.Dot(1, normalize=1), TypeError, r"keras\.Dot: normalize must be a bool; got int 1$"),
    (lambda: K.Dot(1, epsilon=0.0), ValueError,
     r"keras\.Dot: epsilon must be a positive, finite number; got 0\.0$"),
    (lambda: K.Dot(1, epsilon="tiny"), TypeError, r"keras\.Dot: epsilon must be a positive number; "
                                                  r"got str$"),
    (lambda: K.Dot(1)(ones(2, 3)), ValueError,
     r"keras\.Dot: the layer takes one list of two inputs, Dot\(axes\)\(\[x, y\]\); got "
     r"one array of shape \(2, 3\)$"),
    (lambda: K.Dot(1)([ones(2, 3)] * 3), ValueError,
     r"keras\.Dot: the layer takes one list of two inputs, Dot\(axes\)\(\[x, y\]\); got a "
     r"list of 3$"),
    (lambda: K.Dot(1)(ones(2, 3), ones(2, 3)), ValueError,
     r"keras\.Dot: the layer takes one list of two inputs, Dot\(axes\)\(\[x, y\]\); got 2 "
     r"positional arguments$"),
    # Keras wraps an int axis (-3 % 2 == 1); dotsum says it is out of range
    (lambda: K.Dot(-3)([ones(2, 3), ones(2, 3)]), ValueError,
     r"keras\.Dot: axis -3 is out of range for x of rank 2 \(axes=-3\) \(x\.shape=\(2, 3\), "
     r"y\.shape=\(2, 3\)\)$"),
    (lambda: K.Dot(-2)([ones(2, 3), ones(2, 4, 3)]), ValueError,
     r"keras\.Dot: cannot contract over axis 0 of x, the batch axis \(axes=-2\)"),
    (lambda: K.Dot((1, 2))([ones(2, 3), ones(2, 3, 4)]), ValueError,
     r"keras\.Dot: contracted axes differ in size: x\.shape\[1\] != y\.shape\[2\] \(3 != 4\) "
     r"for axes=\(1, 2\) \(x\.shape=\(2, 3\), y\.shape=\(2, 3, 4\)\)$"),
    (lambda: K.Dot(1)([ones(2, 3), ones(3, 3)]), ValueError,
     r"keras\.Dot: batch sizes differ: x\.shape\[0\]=2, y\.shape\[0\]=3"),
    (lambda: K.Dot(0)([ones(3), ones(3)]), ValueError,
     r"keras\.Dot: x must have rank >= 2 \(axis 0 is the batch axis\); got rank 1"),
    (lambda: K.Dot(1)([ones(2, 3), "abc"]), TypeError,
     r"keras\.Dot: y must be an array or a \(non-ragged\) nested list of numbers; got str"),
    (lambda: K.Dot(1).plan((2, 3.5), (2, 3)), TypeError,
     r"keras\.Dot: the shape of x must be a sequence of ints or symbolic sizes "
     r"\(such as \"b\"\), or an array; got \(2, 3\.5\)$"),
    (lambda: K.Dot(1, epsilon=10**400), ValueError,  # float(10**400) overflows
     r"keras\.Dot: epsilon must be a positive, finite number; got 1000"),
    # -- XLA options: refused before they reach dot_general, or re-raised with the op's name --
    (lambda: ops.matmul(ones(2, 3), ones(3, 2), preferred_element_type="int4"), TypeError,
     r"ops\.matmul: preferred_element_type must be a dtype of 8 bits or more \(XLA's "
     r"dot_general cannot return sub-byte types\); got int4$"),
    (lambda: ops.matmul(ones(2, 3), ones(3, 2), preferred_element_type=("i4", -1)), TypeError,
     r"ops\.matmul: preferred_element_type must be None or a numeric dtype that JAX supports; "
     r"got \('i4', -1\)$"),
    (lambda: ops.matmul(ones(2, 3), ones(3, 2), preferred_element_type="float128"), TypeError,
     r"ops\.matmul: preferred_element_type must be None or a numeric dtype that JAX supports; "
     r"got 'float128'$"),
    (lambda: ops.matmul(ones(2, 3), ones(3, 2),
                        precision=(lax.DotAlgorithmPreset.DEFAULT, "highest")), TypeError,
     r"ops\.matmul: precision must be None, a jax\.lax\.Precision, its name, a pair of them, "
     r"or a dot algorithm; got DotAlgorithmPreset in the pair precision="),
    (lambda: ops.matmul(ones(2, 3), ones(3, 2), precision=("highest", "best")), ValueError,
     r"ops\.matmul: precision must be None, a jax\.lax\.Precision or one of 'default', "
     r"'high', 'highest'; got 'best' in precision=\('highest', 'best'\)$"),
    (lambda: ops.matmul(jnp.ones((2, 3), jnp.int8), jnp.ones((3, 2), jnp.int8),
                        preferred_element_type=bool), TypeError,  # JAX raises it while tracing
     r"ops\.matmul: `preferred_element_type` must not be narrower than the original type.* "
     r"\(x1\.shape=\(2, 3\), x2\.shape=\(3, 2\)\)"),  # JAX adds a note about its frames
    (lambda: jax.jit(lambda x: ops.matmul(x, x.T, preferred_element_type="bool"))(
        jnp.ones((2, 3), jnp.int8)), TypeError,  # ... inside a user's jit too
     r"ops\.matmul: `preferred_element_type` must not be narrower"),
    # -- einsum's optimize ----------------------------------------------------------------------
    (lambda: ops.einsum("ij,jk,kl", ones(2, 3), ones(3, 4), ones(4, 5), optimize=[0, 1]),
     TypeError, r"ops\.einsum: an explicit contraction path is a list of pairs of operand "
                r"indices, e\.g\. \[\(0, 1\), \(0, 1\)\]; got step 0 in optimize=\[0, 1\]$"),
    (lambda: ops.einsum("ij,jk,kl", ones(2, 3), ones(3, 4), ones(4, 5),
                        optimize=[(0, True), (0, 1)]), ValueError,
     r"ops\.einsum: the contraction path \[\(0, True\), \(0, 1\)\] must contract two of the "
     r"remaining operands at each step; got step \(0, True\)$"),
    # -- symbolic sizes (jax.export shape polymorphism): comparisons the symbols do not decide --
    (lambda: K.dot.plan(("b", 3), ("c", 4)), ValueError,
     r"keras\.dot: cannot decide whether axis -1 of x \(size 3\) matches axis -2 of y \(size c\): "
     r"it depends on the values of the symbolic dimensions \(3 == c for some, not for others\); "
     r"give the sizes one name, or concrete values \(x\.shape=\(b, 3\), y\.shape=\(c, 4\)\)$"),
    (lambda: K.dot.plan((jax.export.symbolic_shape("b")[0], 3),
                        (3, jax.export.symbolic_shape("b")[0])), TypeError,
     r"keras\.dot: the symbolic dimensions of x \(b\) and y \(b\) come from different symbolic "
     r"scopes; create them with one jax\.export\.symbolic_shape call or one "
     r"jax\.export\.SymbolicScope"),
    (lambda: _exported_dot(("b", 3), ("c", 4)), ValueError,  # what an export with such specs says
     r"keras\.dot: cannot decide whether axis -1 of x \(size 3\) matches axis -2 of y \(size c\)"),
    (lambda: K.batch_dot.plan(("b", 3, 4), ("c", 4, 5)), ValueError,
     r"keras\.batch_dot: cannot decide whether x\.shape\[0\]=b equals y\.shape\[0\]=c: .*"
     r"\(b == c for some, not for others\)"),
    (lambda: K.batch_dot.plan(("b", 3, 4), ("b", "n", 5)), ValueError,
     r"keras\.batch_dot: cannot decide whether x\.shape\[2\]=4 equals y\.shape\[1\]=n"),
    (lambda: K.Dot(1).plan(("b", 3), ("c", 3)), ValueError,
     r"keras\.Dot: cannot decide whether x\.shape\[0\]=b equals y\.shape\[0\]=c"),
    (lambda: K.batch_dot.plan(("n", "n"), ("n",), legacy=True), ValueError,
     r"keras\.batch_dot\[legacy\]: cannot decide whether axis 0 of Keras 2\.2\.4's intermediate "
     r"product \(n,\), which it squeezes, has size 1: .* \(n == 1 for some, not for others\)"),
    (lambda: K.batch_dot.plan(("b", 3), ("c", 3), legacy=True), ValueError,
     r"keras\.batch_dot\[legacy\]: cannot decide whether 3 broadcasts against c in Keras "
     r"2\.2\.4's product of \(3, b\) and \(c, 3\): .*\(3 == c or one of them is 1 for some"),
    (lambda: dtf.matmul.plan(("b", 3, 4), (5, 4, 5)), ValueError,
     r"tf\.matmul: cannot decide whether axis 0 of a \(size b\) broadcasts against axis 0 of b "
     r"\(size 5\): .*\(b == 5 or one of them is 1 for some, not for others\).*"
     r"\(a\.shape=\(b, 3, 4\), b\.shape=\(5, 4, 5\)\)$"),
    (lambda: ops.matmul.plan(("b", "n", 3), ("c", 3, 4)), ValueError,
     r"ops\.matmul: cannot decide whether axis 0 of x1 \(size b\) broadcasts against axis 0 of "
     r"x2 \(size c\)"),
    (lambda: dtf.matvec.plan(("b", 3, 4), ("n",)), ValueError,
     r"tf\.linalg\.matvec: cannot decide whether axis -1 of a \(size 4\) matches axis -1 of b "
     r"\(size n\)"),
    (lambda: dtf.tensordot.plan(("b", 3), (3, "c"), [[0], [1]]), ValueError,
     r"tf\.tensordot: cannot decide whether axis 0 of a \(size b\) matches axis 1 of b "
     r"\(size c\)"),
    (lambda: ops.einsum.plan("ij,jk", ("b", 3), ("c", 4)), ValueError,
     r"ops\.einsum: cannot decide whether label 'j' \(size 3 in operands\[0\] axis 1\) agrees "
     r"with size c in operands\[1\] axis 0 \(subscripts 'ij,jk'\): .*\(c == 3 or one of them"),
    (lambda: ops.einsum.plan("ii->i", ("b", "c")), ValueError,
     r"ops\.einsum: cannot decide whether label 'i' \(size b in operands\[0\] axis 0\) has the "
     r"same size at axis 1 \(c\), as a diagonal needs"),
    (lambda: dtf.einsum.plan("ij,ij->i", ("b", 3), ("c", 3)), ValueError,
     r"tf\.einsum: cannot decide whether label 'i' \(size b in operands\[0\] axis 0\) agrees "
     r"with size c in operands\[1\] axis 0 .*\(c == b for some"),
    (lambda: ops.vdot.plan((6,), (2, "b")), ValueError,
     r"ops\.vdot: cannot decide whether x1 and x2 have the same number of elements \(6 and 2\*b\)"),
    (lambda: K.dot.plan(("b", None), (3, 4)), TypeError,
     r"keras\.dot: the shape of x has an unknown size \(None\): a plan needs every size; name an "
     r"unknown one, e\.g\. \"b\" for a batch size; got \('b', None\)$"),
    (lambda: K.dot.plan(("2*", 3), (3, 4)), TypeError,
     r"keras\.dot: axis 0 of x's shape, '2\*', is not a dimension expression \(syntax error"),
    (lambda: ops.einsum("...a," + "".join(chr(c) for c in [*range(97, 123), *range(65, 91)]),
                        ones(2, 3), ones(*[1] * 52)), ValueError,
     r"ops\.einsum: the product has 53 distinct axes; einsum notation has 52 letters"),
]


@pytest.mark.parametrize("call, kind, pattern", CASES, ids=[c[2][:60] for c in CASES])
def test_message(call, kind, pattern):
    with pytest.raises(kind, match="^" + pattern) as info:
        call()
    assert type(info.value) is kind  # no subclass surprises (e.g. numpy's AxisError)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    internals = [e for e in info.traceback if re.search(r"dotsum[/\\]_(rules|plan|lettering)",
                                                        str(e.path))]
    assert not internals, "the traceback should end at the call, not in the planner"


def test_cached_call_still_rejects_what_equals_a_valid_value():
    """Python says True == 1 and 1.0 == 1; the dispatch cache must not let them through."""
    x = np.ones((4, 3), np.float32)
    K.batch_dot(x, x, axes=1)
    for bad in (True, 1.0, (1.0, 1), (True, 1)):
        with pytest.raises(TypeError):
            K.batch_dot(x, x, axes=bad)


def test_a_mesh_axis_without_devices():
    plan = K.batch_dot.plan((8, 6, 4), (8, 4, 2))
    with pytest.raises(ValueError, match=r"^keras\.batch_dot\.describe_sharding: every mesh axis "
                       r"needs at least one device; got \{'data': 0, 'model': 2\} \(x\.shape="):
        plan.describe_sharding(AbstractMesh((0, 2), ("data", "model")), a="data")


def test_too_many_labels():
    """Einsum notation has 52 letters; a dot of two rank-27 operands needs 53 labels."""
    with pytest.raises(ValueError, match=r"^keras\.dot: the product has 53 distinct axes; einsum "
                                         r"notation has 52 letters \(x\.shape=\(1, "):
        K.dot.plan((1,) * 27, (1,) * 27)
