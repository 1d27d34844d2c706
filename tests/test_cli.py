"""The command line: `dotsum list`, `dotsum explain …`, and one-line errors with status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from dotsum import cli


def explain(capsys, *argv):
    assert cli.main(["explain", *argv]) == 0
    return capsys.readouterr().out


def test_the_issue_example(capsys):
    out = explain(capsys, "keras.dot", "2,3,4", "7,6,4,5")
    assert "abk,cdkf->abcdf" in out and "(2, 3, 7, 6, 5)" in out
    assert "x       abk    (2, 3, 4)" in out  # each operand with its labels
    assert "flops   10,080" in out and "bytes   8,496" in out and "flop/B  1.19" in out
    # the lowering: a bare dot_general; XLA moves y's contracted axis in front of its free axes
    # itself, as a GEMM needs (an explicit transpose would copy as much), and the plan says so
    assert "dot_general(x, y, contract=(2,)x(2,), batch=()x())" in out
    assert "copies  y 840 elements (to change layout)" in out


@pytest.mark.parametrize("argv, expected", [
    (["keras.batch_dot", "10,12,4,5", "10,12,5,8"], "(10, 12, 4, 12, 8)"),
    (["keras.batch_dot", "10,12,4,5", "10,12,5,8", "--legacy"], "(10, 12, 4, 8)"),
    (["keras.batch_dot", "4,3,4", "4,5,3", "--axes=-2,-1"], "akc,adk->acd"),  # = for negatives
    (["tf.matmul", "5,1,2,3", "4,6,3", "--transpose-b"], "transpose(2, 0, 3, 1)"),
    (["tf.einsum", "aBc", "2,3,4"], "aBc->Bac"),
    (["ops.einsum", "ij,jk,kl->il", "2,3", "3,4", "4,5"], "path         [(0, 1), (0, 1)]"),
    (["ops.tensordot", "2,3,4", "4,3,5", "--axes", "[1,2],[1,0]"], "akl,lkd->ad"),
    (["ops.dot", "()", "3,4"], ",ab->ab"),
    (["ops.vdot", "2,3", "6", "--dtype", "complex64"], "conjugate"),
    (["keras.Dot", "2,3,5", "2,10,3", "--axes", "1,2", "--normalize"], "l2-normalise"),
    (["tf.matvec", "2,3", "5,3"], "ak,bk->ba"),
    (["tf.tensordot", "3,4,5", "4,3,2", "--axes", "[1,0],[0,1]"], "klc,lkd->cd"),
    (["numpy.matmul", "b,12,4,5", "b,12,5,8"], "out     abcg  (b, 12, 4, 8)"),
    (["numpy.vecmat", "3", "5,3,2"], "k,akc->ac"),
    (["numpy.tensordot", "2,3,4", "3,4,5"], "akl,kld->ad"),
    (["numpy.einsum", "bqhd,bkhd->bhqk", "2,16,8,64", "2,16,8,64"], "bqhd,bkhd->bhqk"),
    (["lax.dot_general", "8,2,3", "3,8,5", "--dimension-numbers", "((2,),(0,)),((0,),(1,))"],
     "einsum  abk,kae->abe"),
])
def test_explain(capsys, argv, expected):
    assert expected in explain(capsys, *argv)


def test_a_symbolic_plan(capsys):
    out = explain(capsys, "keras.batch_dot", "b,12,4,5", "b,12,5,8", "--legacy", "--jaxpr",
                  "--device", "h100")
    assert "abck,abkg->abcg" in out and "out     abcg  (b, 12, 4, 8)" in out
    assert "flops   3840*b" in out and "bytes   4416*b (float32" in out
    assert "flop/B" not in out  # a ratio of polynomials has no one value
    assert "roofline  h100: a roofline needs concrete sizes" in out
    assert "a:f32[b,12,4,5]" in out and out.count("dot_general[") == 1


def test_jaxpr_hlo_and_time(capsys):
    out = explain(capsys, "keras.batch_dot", "4,2,3", "4,3,5", "--jaxpr", "--hlo", "--time")
    assert "dot_general[" in out  # the jaxpr
    assert "HloModule" in out  # the optimized HLO
    assert "GFLOP/s" in out and "first call" in out


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the layout rule is XLA:CPU's")
def test_hlo_reports_layout_copies_next_to_the_prediction(capsys):
    out = explain(capsys, "ops.einsum", "bqhd,bkhd->bhqk", "2,16,8,64", "2,16,8,64", "--hlo")
    assert out.rstrip().endswith("layout copies in it: [(2, 8, 16, 64), (2, 8, 64, 16)] = "
                                 "32,768 elements (the plan predicts 32,768)"), out[-300:]


def test_proposed_sharding(capsys):
    out = explain(capsys, "keras.batch_dot", "8,6,4", "8,4,2", "--mesh", "data=4,model=2",
                  "--shard", "a=data,k=model")
    assert "x       abk  (8, 6, 4)  P('data', None, 'model')  per device (2, 6, 2)" in out
    assert "k is contracted and sharded: XLA sums partial results across mesh axis 'model'" in out


def test_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in cli.OPS:
        assert name in out
    assert "keras.batch_dot  Keras 2 K.batch_dot: a per-sample product over ONE axis" in out


@pytest.mark.parametrize("argv, message", [
    (["explain", "nope", "1", "2"], "unknown op 'nope'; one of: keras.dot"),
    (["explain", "keras.dot", "2,3.5", "3"], "malformed shape '2,3.5'"),
    (["explain", "keras.dot", "b,3", "c,4"], "keras.dot: cannot decide whether axis -1 of x "
                                             "(size 3) matches axis -2 of y (size c)"),
    (["explain", "keras.dot", "b,3", "3,n", "--hlo"], "--hlo compiles the plan and needs "
                                                      "concrete sizes; b, n are symbolic"),
    (["explain", "keras.batch_dot", "b,12,4,5", "b,12,5,8", "--legacy", "--time"],
     "--time compiles the plan and needs concrete sizes; b is symbolic"),
    (["explain", "keras.dot", "b*,3", "3,4"], "keras.dot: axis 0 of x's shape, 'b*', is not a "
                                              "dimension expression"),
    (["explain", "keras.dot", "2,3"], "keras.dot takes 2 shapes; got 1"),
    (["explain", "keras.dot", "2,3", "3,4", "--axes", "1"], "keras.dot has no option --axes"),
    (["explain", "keras.dot", "3,4,5,2", "2,5,3,7"],
     "keras.dot: axis -1 of x (size 2) does not match axis -2 of y (size 3)"),
    (["explain", "keras.batch_dot", "4,3", "4,3", "--axes", "(("], "malformed --axes '(('"),
    (["explain", "ops.einsum"], "ops.einsum needs an equation"),
    (["explain", "lax.dot_general", "2,3", "3,4"], "lax.dot_general needs --dimension-numbers, "
                                                   "e.g. '((1,),(0,)),((),())'"),
    (["explain", "lax.dot_general", "2,3", "3,4", "--dimension-numbers", "(("],
     "malformed --dimension-numbers '(('"),
    (["explain", "numpy.dot", "2,3", "3,4", "--dimension-numbers", "((1,),(0,)),((),())"],
     "numpy.dot has no option --dimension-numbers"),
    (["explain", "keras.dot", "2,3", "3,4", "--dtype", "float3"], "unknown --dtype 'float3'"),
    (["explain", "keras.Dot", "2,3", "2,3"], "keras.Dot needs --axes"),
    (["explain", "keras.dot", "8,6", "6,4", "--shard", "a=data"], "--shard needs --mesh"),
    (["explain", "keras.dot", "8,6", "6,4", "--mesh", "data"], "malformed --mesh 'data'"),
    (["explain", "keras.dot", "8,6", "6,4", "--mesh", "data=4", "--shard", "z=data"],
     "keras.dot.describe_sharding: unknown label 'z'"),
    (["explain", "keras.dot", "2,3", "3,4", "--dtype", "str", "--jaxpr"],
     "unknown --dtype 'str'"),
    (["explain", "keras.dot", "2,3", "3,4", "--dtype", "object", "--hlo"],
     "unknown --dtype 'object'"),
    (["explain", "keras.dot", "2,3", "3,4", "--mesh", "data=0"],
     "malformed --mesh 'data=0': sizes must be ints >= 1"),
    (["explain", "keras.dot", "2,3", "3,4", "--precision", "best"],
     "keras.dot: precision must be None"),
])
def test_errors_are_one_line_with_status_2(capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("dotsum: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "dotsum"],
    [str(Path(sys.executable).with_name("dotsum"))],  # the console script
])
def test_entry_points(command):
    if not Path(command[0]).exists():
        pytest.skip(f"{command[0]} is not installed (pip install -e . creates it)")
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    ok = subprocess.run([*command, "explain", "keras.dot", "2,3,4", "7,6,4,5"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0 and "abk,cdkf->abcdf" in ok.stdout, ok.stderr
    bad = subprocess.run([*command, "explain", "keras.dot", "3,4,5,2", "2,5,3,7"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr


def test_no_command_prints_the_help(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: dotsum") and "explain" in out and "inspect" in out


def test_the_version_is_the_installed_distributions():
    from importlib.metadata import version

    import dotsum

    assert dotsum.__version__ == version("dotsum")
