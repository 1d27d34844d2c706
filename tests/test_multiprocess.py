"""A real multi-process run on localhost: ``examples/sharding.py --processes 2`` starts two
JAX processes (two CPU devices each, gloo collectives), each feeding only its own shards, and
shards ``keras.batch_dot`` (legacy too), ``keras.dot`` and ``ops.einsum`` with the batch label
and then the contracted label split across the processes. Every result must equal the
single-process call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from multihost import NO_GLOO, cases  # noqa: E402

TIMEOUT = 240


def test_two_processes_agree_with_one():
    done = subprocess.Popen([sys.executable, "examples/sharding.py", "--processes", "2",
                             "--quick", "--timeout", str(TIMEOUT - 30)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=dict(os.environ, JAX_PLATFORMS="cpu"))
    try:
        out, _ = done.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:  # the launcher's own deadline failed: leave no orphans
        os.killpg(done.pid, signal.SIGKILL)
        out, _ = done.communicate()
        pytest.fail(f"the two-process run did not finish in {TIMEOUT} s:\n{out}")
    if done.returncode == NO_GLOO:
        pytest.skip(f"gloo CPU collectives are unavailable: {out.strip()}")
    assert done.returncode == 0, out
    assert "all 2 processes: every sharded result equals the single-process call" in out
    for name, plan, _, batch, contracted in cases(2):
        for labels, over in ((f"{batch}=hosts, {contracted}=local", "local"),
                             (f"{contracted}=hosts, {batch}=local", "hosts")):
            line = next(line for line in out.splitlines()
                        if line.startswith(f"{name} ") and labels in line)
            assert f"all-reduce over {over}" in line and "DIFFERS" not in line, line
            assert plan.subscripts in line


def test_a_run_out_of_time_leaves_no_process_behind():
    done = subprocess.run([sys.executable, "examples/sharding.py", "--processes", "2", "--quick",
                           "--timeout", "0.5"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, JAX_PLATFORMS="cpu"))
    if done.returncode == NO_GLOO:
        pytest.skip(f"gloo CPU collectives are unavailable: {done.stdout.strip()}")
    assert done.returncode == 1 and "timed out" in done.stdout, done.stdout
    coordinator = done.stdout.split(" processes on ", 1)[1].split(",", 1)[0]
    left = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert f"--coordinator {coordinator}" not in left
