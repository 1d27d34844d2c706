"""Test configuration: Keras runs on JAX, TensorFlow stays quiet, hypothesis profiles.

``DOTSUM_FUZZ_EXAMPLES=N`` raises the number of hypothesis examples per property (default 25)
for a long fuzzing run, e.g. ``DOTSUM_FUZZ_EXAMPLES=2000 python -m pytest tests -k hypothesis``.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")  # before anything imports keras
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))  # tests/references.py
# a plugin for test_testing.py's subprocess only: importing it blocks the reference frameworks
collect_ignore = ["block_frameworks.py"]
# JAX's own tests, run through dotsum by test_jax_suite.py (not on their own: they test jax)
collect_ignore_glob = ["upstream/*"]

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "dotsum",
    max_examples=int(os.environ.get("DOTSUM_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=os.environ.get("DOTSUM_FUZZ_EXAMPLES") is None,  # CI is reproducible
)
settings.load_profile("dotsum")
