"""A pytest plugin (``-p block_frameworks``) that makes the reference frameworks unimportable, as
on a machine without the test extra: ``test_testing.py`` runs the reference modules under it and
expects skips, not errors."""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder

BLOCKED = ("tensorflow", "tf_keras", "keras")


class _Blocker(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked (block_frameworks)")
        return None


sys.meta_path.insert(0, _Blocker())
