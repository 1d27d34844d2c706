"""Run a checks module (not collected by the main run) in a fresh JAX with N CPU devices."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_on_devices(checks: Path, devices: int, cwd: Path, timeout: int = 600) -> str:
    """``pytest checks`` in a subprocess whose JAX has ``devices`` CPU devices; asserts that it
    passed with nothing skipped and returns its output."""
    env = dict(os.environ)
    flags = [f for f in env.get("XLA_FLAGS", "").split()
             if not f.startswith("--xla_force_host_platform_device_count")]
    env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={devices}"])
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # write nothing outside cwd (no __pycache__)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(checks), "-q", "-p", "no:cacheprovider"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    summary = output.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, output
    return output
