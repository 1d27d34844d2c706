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
