"""Where results land when devices disagree: ``tests/placement_checks.py`` in a subprocess whose
JAX has 4 CPU devices (a device count is fixed when JAX starts)."""

from __future__ import annotations

from pathlib import Path

from subprocess_checks import run_on_devices


def test_placement_on_4_devices(tmp_path):
    run_on_devices(Path(__file__).with_name("placement_checks.py"), 4, tmp_path)
