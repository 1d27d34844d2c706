"""``DOTSUM_LOWERING=jnp``: ``tests/jnp_lowering_checks.py`` in a subprocess with the switch on
(it is read once, when dotsum is imported)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_einsum_equals_jnp_bit_for_bit_with_the_switch(tmp_path):
    env = dict(os.environ, DOTSUM_LOWERING="jnp", JAX_PLATFORMS="cpu",
               PYTHONDONTWRITEBYTECODE="1")
    checks = Path(__file__).with_name("jnp_lowering_checks.py")
    done = subprocess.run([sys.executable, "-m", "pytest", str(checks), "-q", "-p",
                           "no:cacheprovider"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout.strip().splitlines()[-1]
