"""The benchmark suite still runs (a smoke test: speed is measured in benchmarks/, not here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_run_py_writes_results(tmp_path):
    pytest.importorskip("matplotlib", reason="the benchmark plots need matplotlib (test extra)")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "memory",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "results.json").read_text())
    assert rows and {"case", "contender", "metric", "value", "unit"} <= set(rows[0])
    assert (tmp_path / "results.md").exists()


BLOCKED_RUN = """
import runpy, sys
sys.path[:0] = [{tests!r}, {benchmarks!r}]
import block_frameworks  # tensorflow, tf_keras and keras unimportable, as on the GPU image
sys.argv = [{script!r}, *{args!r}]
runpy.run_path({script!r}, run_name="__main__")
"""


def _blocked(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    code = BLOCKED_RUN.format(tests=str(ROOT / "tests"), benchmarks=str(ROOT / "benchmarks"),
                              script=str(ROOT / "benchmarks" / script), args=list(args))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_run_py_without_tensorflow_or_keras_says_what_it_skipped(tmp_path):
    """The GPU machine has JAX but neither TensorFlow nor Keras: the suite still runs, in bf16
    at precision default too, and its report says which contenders it skipped."""
    pytest.importorskip("matplotlib", reason="the benchmark plots need matplotlib (test extra)")
    result = _blocked("run.py", "--quick", "--only", "dispatch,memory", "--dtype", "bf16",
                      "--precision", "default", "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = (tmp_path / "results.md").read_text()
    for framework in ("keras", "tensorflow", "tf_keras"):
        assert f"{framework} skipped: not installed" in report
    rows = json.loads((tmp_path / "results.json").read_text())
    contenders = {r["contender"] for r in rows}
    assert "dotsum" in contenders and "jnp.einsum" in contenders
    assert not any("keras" in c.lower() or c.startswith("tf") for c in contenders), contenders
    assert {r["dtype"] for r in rows if r["section"] == "memory"} == {"bfloat16"}


def test_accelerator_command_refuses_a_cpu_and_plans_both_dtypes(tmp_path):
    script = str(ROOT / "benchmarks" / "accelerator.py")
    refused = subprocess.run([sys.executable, script], capture_output=True, text=True,
                             timeout=120, cwd=tmp_path)
    assert refused.returncode == 2 and "no GPU or TPU here" in refused.stderr
    planned = subprocess.run([sys.executable, script, "--allow-cpu", "--dry-run", "--out",
                              str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert planned.returncode == 0, planned.stderr
    bf16, f32 = planned.stdout.splitlines()
    assert "--dtype bf16 --precision default" in bf16 and f"{tmp_path}/bf16" in bf16
    assert "--dtype f32 --precision highest" in f32 and f"{tmp_path}/f32" in f32
