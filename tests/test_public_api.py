"""Every public name imports, every op exposes its planner, and the examples run."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import dotsum

ROOT = Path(__file__).resolve().parents[1]
OPS = [dotsum.keras.dot, dotsum.keras.batch_dot, dotsum.tf.matmul,
       *(getattr(ns, name) for ns in (dotsum.ops, dotsum.numpy, dotsum.lax) for name in ns.__all__)]


def test_public_names():
    for name in dotsum.__all__:
        assert getattr(dotsum, name) is not None
    for module in (dotsum.keras, dotsum.tf, dotsum.ops, dotsum.numpy, dotsum.lax):
        for name in module.__all__:
            assert callable(getattr(module, name))


@pytest.mark.parametrize("op", OPS, ids=lambda op: f"{op.__module__}.{op.__name__}")
def test_every_op_has_a_planner_and_a_docstring_example(op):
    assert callable(op.plan)
    assert ">>> " in op.__doc__


def test_plan_is_frozen_and_hashable():
    plan = dotsum.keras.dot.plan((2, 3), (3, 4))
    assert hash(plan) == hash(dotsum.keras.dot.plan([2, 3], [3, 4]))
    with pytest.raises(AttributeError):
        plan.op = "other"  # type: ignore[misc]


@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_runs(script):
    for module in re.findall(r"needs (\w+): pip install", script.read_text()):
        if importlib.util.find_spec(module) is None:  # the example exits saying so
            pytest.skip(f"{script.name} needs {module}, which is not installed")
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_dotsum_testing_is_an_attribute_of_dotsum():
    """The README's API table writes ``dotsum.testing.layout_copies``: it works after a plain
    ``import dotsum`` (in a fresh interpreter, where nothing imported it yet)."""
    code = "import dotsum; print(dotsum.testing.layout_copies.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "layout_copies", done.stderr
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        dotsum.nope  # noqa: B018
