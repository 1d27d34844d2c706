"""dotsum.testing: the helpers users put in their own suites."""

from __future__ import annotations

import numpy as np
import pytest
from references import optional
from strategies import random

from dotsum import keras as K
from dotsum import ops, testing
from dotsum import tf as dtf


@pytest.mark.parametrize("call", [
    lambda: testing.assert_matches_reference(K.dot, random((2, 3, 4), "float32"),
                                             random((5, 4, 2), "float32")),
    lambda: testing.assert_matches_reference(K.batch_dot, random((4, 2, 3), "float32"),
                                             random((4, 3, 5), "float32"), axes=(2, 1)),
    lambda: testing.assert_matches_reference(K.batch_dot, random((3, 2, 2), "complex64"),
                                             random((3, 2, 2), "complex64"), -1, legacy=True),
    lambda: testing.assert_matches_reference(dtf.matmul, random((5, 1, 2, 3), "float32"),
                                             random((4, 6, 3), "float32"), transpose_b=True),
    lambda: testing.assert_matches_reference(dtf.einsum, "bij,bjk->bik",
                                             random((2, 3, 4), "float32"),
                                             random((2, 4, 5), "float32")),
    lambda: testing.assert_matches_reference(ops.matmul, np.ones((2, 3), np.int8),
                                             np.ones((3, 4), np.int8)),
    lambda: testing.assert_matches_reference(ops.einsum, "ii->i", random((3, 3), "float32")),
    lambda: testing.assert_matches_reference(K.Dot((1, 2), normalize=True),
                                             [random((2, 3, 5), "float32"),
                                              random((2, 10, 3), "float32")]),
    lambda: testing.assert_matches_reference(K.Dot(-1, epsilon=K.TF_KERAS_EPSILON),
                                             [random((2, 3, 5), "float32"),
                                              random((2, 4, 5), "float32")]),
    # the reference rejects it, and so does dotsum: that matches too
    lambda: testing.assert_matches_reference(K.dot, np.ones((3, 4, 5, 2), np.float32),
                                             np.ones((2, 5, 3, 7), np.float32)),
])
def test_matches(call):
    optional("tensorflow"), optional("tf_keras"), optional("keras")
    call()


def test_a_difference_fails_and_shows_the_plan(monkeypatch):
    optional("tf_keras")
    monkeypatch.setitem(testing.REFERENCES, "dotsum.keras.dot",
                        lambda x, y: np.dot(x, y) + 1)  # a wrong reference
    with pytest.raises(AssertionError, match=r"(?s)dotsum\.keras\.dot differs from its "
                                             r"reference.*abk,cke->abce"):
        testing.assert_matches_reference(K.dot, np.ones((2, 3, 4), np.float32),
                                         np.ones((5, 4, 2), np.float32))


def test_dotsum_accepting_what_the_reference_rejects_fails(monkeypatch):
    def rejects(x, y):
        raise ValueError("no")

    monkeypatch.setitem(testing.REFERENCES, "dotsum.ops.dot", rejects)
    with pytest.raises(AssertionError, match=r"the reference rejects this call"):
        testing.assert_matches_reference(ops.dot, np.ones(3), np.ones(3))


def test_unknown_op():
    with pytest.raises(KeyError, match="no reference is registered for builtins.len"):
        testing.assert_matches_reference(len, np.ones(3))


def test_tolerances():
    assert testing.tolerance("int8") == 0
    assert testing.tolerance("bfloat16") > testing.tolerance("float16") > testing.tolerance(
        "float32")
    assert testing.tolerance("float64") < testing.tolerance("float32")


# -- layout_copies: the HLO reader behind the layout tests -----------------------------------------
SYNTHETIC = """\
HloModule m

%wrapped_copy_computation (p: f32[128,64]) -> f32[128,64] {
  %p = f32[128,64]{0,1} parameter(0)
  ROOT %copy.2 = f32[128,64]{1,0} copy(%p)
}

%renaming_transpose (q: f32[64,2,64]) -> f32[64,2,64] {
  %q = f32[64,2,64]{2,1,0} parameter(0)
  ROOT %t = f32[64,2,64]{0,1,2} transpose(%q), dimensions={2,1,0}
}

%body (s: f32[8,4]) -> f32[8,4] {
  %s = f32[8,4]{1,0} parameter(0)
  %c = f32[8,4]{0,1} copy(%s)
  ROOT %r = f32[8,4]{1,0} bitcast(%c)
}

ENTRY %main (a: f32[128,64], b: f32[64,2,64], u: f32[4,1,30], w: f32[8,4]) -> f32[8,4] {
  %a = f32[128,64]{0,1} parameter(0)
  %b = f32[64,2,64]{2,1,0} parameter(1)
  %u = f32[4,1,30]{2,0,1} parameter(2)
  %w = f32[8,4]{1,0} parameter(3)
  %wrapped_copy = f32[128,64]{1,0} fusion(%a), kind=kLoop, calls=%wrapped_copy_computation
  %renamed = f32[64,2,64]{0,1,2} fusion(%b), kind=kLoop, calls=%renaming_transpose
  %same_order = f32[4,1,30]{2,1,0} copy(%u)
  ROOT %loop = f32[8,4]{1,0} while(%w), condition=%body, body=%body
}
"""


def test_layout_copies_reads_fusions_copies_and_loop_bodies():
    # a copy-only fusion into another layout counts; a transpose that only renames axes (the
    # same order in memory) does not, nor a copy that moves a size-1 axis; loop bodies are read
    assert testing.layout_copies(SYNTHETIC) == [(128, 64), (8, 4)]
    assert testing.copied_elements(SYNTHETIC) == 128 * 64 + 8 * 4
    with pytest.raises(ValueError, match="no ENTRY computation"):
        testing.layout_copies("HloModule empty")


@pytest.mark.parametrize("call", [
    lambda: testing.assert_matches_reference(ops.matmul, np.ones((2, 3)), np.ones((3, 4))),
    lambda: testing.assert_matches_reference(K.Dot(1), [np.ones((2, 3)), np.ones((2, 3))]),
], ids=["ops", "Dot layer"])
def test_keras3_reference_must_run_on_jax(monkeypatch, call):
    keras = optional("keras")
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    with pytest.raises(RuntimeError, match="KERAS_BACKEND=jax"):
        call()


def test_a_reference_dtype_mismatch_fails(monkeypatch):
    """Same values, another dtype: the harness's dtype check fails (float64 vs float32)."""
    monkeypatch.setitem(testing.REFERENCES, "dotsum.ops.dot",
                        lambda x, y: np.dot(np.asarray(x, np.float64), y))
    with pytest.raises(AssertionError, match=r"dtype float32 != reference float64"):
        testing.assert_matches_reference(ops.dot, np.ones(3, np.float32), np.ones(3, np.float32))


def test_the_harness_says_whether_it_compared_values(monkeypatch):
    optional("keras")
    assert testing.assert_matches_reference(ops.dot, np.ones(3, np.float32),
                                            np.ones(3, np.float32)) is True

    def rejects(x, y):
        raise ValueError("no")

    monkeypatch.setitem(testing.REFERENCES, "dotsum.ops.dot", rejects)
    assert testing.assert_matches_reference(ops.dot, np.ones(3), np.ones(4)) is False


class InvalidArgumentError(Exception):
    """Named as TensorFlow's, which is how the harness recognises it without importing TF."""


@pytest.mark.parametrize("op, reference_error, kinds", [
    ("dotsum.ops.dot", ValueError("shapes"), (ValueError,)),
    ("dotsum.tf.matmul", InvalidArgumentError("shapes"), (ValueError,)),
    ("dotsum.tf.matmul", TypeError("dtypes"), (TypeError,)),
    ("dotsum.ops.dot", TypeError("jax's shape errors are TypeErrors"), (ValueError, TypeError)),
])
def test_expected_error_kinds(op, reference_error, kinds):
    assert testing.expected_error(op, reference_error) == kinds


def test_the_error_kind_must_match_where_it_means_something(monkeypatch):
    def shape_error(*args, **params):
        raise ValueError("incompatible shapes")

    monkeypatch.setitem(testing.REFERENCES, "dotsum.tf.matmul", shape_error)
    with pytest.raises(AssertionError, match=r"must raise ValueError; it raised TypeError"):
        testing.assert_matches_reference(dtf.matmul, np.ones((2, 2)), np.ones((2, 2)),
                                         transpose_a="yes")


REFERENCE_MODULES = ["test_reference_tf.py", "test_reference_tf_ops.py", "test_reference_keras2.py",
                     "test_reference_ops.py", "test_reference_dot_layer.py", "test_fuzz.py",
                     "test_testing.py"]


def test_reference_modules_skip_without_the_frameworks():
    """Without TensorFlow, tf_keras and Keras (made unimportable by tests/block_frameworks.py),
    the reference modules collect, and their tests skip saying why: no errors, no failures."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(here), os.environ.get("PYTHONPATH", "")]), DOTSUM_IN_BLOCKED_RUN="1")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "block_frameworks", "-p",
         "no:cacheprovider", "-k", "not test_reference_modules_skip", "-rs",
         *[str(here / m) for m in REFERENCE_MODULES]],
        capture_output=True, text=True, timeout=600, cwd=here.parent, env=env)
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0, done.stdout[-3000:]
    assert "error" not in summary and "failed" not in summary, summary
    assert "skipped" in summary and "is not installed" in done.stdout, summary
