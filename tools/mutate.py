"""Mutation check: does the test suite notice small, plausible slips in the compiler?

Each mutant in ``tools/mutants.py`` (an off-by-one axis, a dropped cast, a swapped operand, a
wrong key, a wrong FLOP factor, …) is applied to a copy of ``src/dotsum`` in a temporary
folder; a fast subset of the suite then runs against that copy (``PYTHONPATH`` puts it before
the installed package) and stops at its first failure. A mutant is *killed* when the subset
fails. Survivors are listed; those ``tools/mutants.py`` explains as equivalent (no user-visible
change) are reported apart.

Run from the repository root, with the test extra installed::

    .venv/bin/python tools/mutate.py                 # all mutants (~30-45 min on 2 cores)
    .venv/bin/python tools/mutate.py --only _lower   # mutants of modules matching a substring
    .venv/bin/python tools/mutate.py --mutant folded # mutants whose description matches
    .venv/bin/python tools/mutate.py --check         # only verify each mutant applies once
    .venv/bin/python tools/mutate.py --json out.json

The pristine source must pass the subset first (checked); the exit status is 1 if any
non-equivalent mutant survives.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from mutants import EQUIVALENT, MUTANTS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "dotsum"
# quickest and most discriminating first: with -x a killed mutant stops at its first failure
SUBSET = ["tests/test_golden.py", "tests/test_errors.py", "tests/test_exactness.py",
          "tests/test_einsum.py", "tests/test_legacy.py", "tests/test_compiled.py",
          "tests/test_reliability.py", "tests/test_fuzz.py", "tests/test_platforms.py",
          "tests/test_devices.py", "tests/test_inspect.py", "tests/test_symbolic.py",
          "tests/test_numpy.py", "tests/test_fuzz_jax.py", "tests/test_jax_compat.py",
          "tests/test_roofline.py"]


def apply(tree: Path, module: str, original: str, mutated: str) -> None:
    path = tree / "dotsum" / module
    text = path.read_text()
    count = text.count(original)
    if count != 1:
        raise SystemExit(f"mutant for {module} matches {count} times, not once: {original!r}")
    path.write_text(text.replace(original, mutated))


def run_subset(tree: Path, timeout: float) -> tuple[bool, str, float]:
    """(passed, first failing test or reason, seconds) for the subset against ``tree``."""
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
             "--no-header", "-rf", *SUBSET],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f} s", time.perf_counter() - start
    seconds = time.perf_counter() - start
    failed = [line.split(" ", 1)[1].split(" - ")[0] for line in done.stdout.splitlines()
              if line.startswith(("FAILED ", "ERROR "))]
    reason = failed[0] if failed else done.stdout.strip().splitlines()[-1:] or ["?"]
    return done.returncode == 0, reason if isinstance(reason, str) else reason[0], seconds


def imported_from(tree: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree))
    return subprocess.run([sys.executable, "-c", "import dotsum; print(dotsum.__file__)"],
                          env=env, capture_output=True, text=True, check=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run mutants of modules containing this")
    parser.add_argument("--mutant", action="append", default=[],
                        help="run mutants whose description has this (repeatable)")
    parser.add_argument("--check", action="store_true", help="only check the mutants apply")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mutant")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.only in m[0]
              and (not args.mutant or any(text in m[3] for text in args.mutant))]
    with tempfile.TemporaryDirectory() as scratch:
        for module, original, mutated, _ in chosen:  # each applies to a fresh copy, once
            tree = Path(scratch) / "check"
            shutil.rmtree(tree, ignore_errors=True)
            shutil.copytree(SOURCE, tree / "dotsum")
            apply(tree, module, original, mutated)
        print(f"{len(chosen)} mutants apply once each")
        if args.check:
            return 0
        pristine = Path(scratch) / "pristine"
        shutil.copytree(SOURCE, pristine / "dotsum")
        passed, reason, seconds = run_subset(pristine, args.timeout)
        if not passed:
            raise SystemExit(f"the pristine source fails the subset ({reason}); fix that first")
        print(f"pristine source: subset passes in {seconds:.0f} s")
        results = []
        for n, (module, original, mutated, what) in enumerate(chosen, 1):
            tree = Path(scratch) / f"m{n}"
            shutil.copytree(SOURCE, tree / "dotsum")
            apply(tree, module, original, mutated)
            assert imported_from(tree).startswith(str(tree)), "the mutant is not what runs"
            passed, reason, seconds = run_subset(tree, args.timeout)
            verdict = "SURVIVED" if passed else "killed"
            if passed and what in EQUIVALENT:
                verdict = "equivalent"
            results.append({"module": module, "mutant": what, "verdict": verdict,
                            "by": None if passed else reason, "seconds": round(seconds, 1)})
            print(f"[{n:2}/{len(chosen)}] {verdict:10} {module:13} {what}"
                  + ("" if passed else f"  <- {reason}"), flush=True)
            shutil.rmtree(tree)
    killed = sum(r["verdict"] == "killed" for r in results)
    equivalent = sum(r["verdict"] == "equivalent" for r in results)
    survivors = [r for r in results if r["verdict"] == "SURVIVED"]
    print(f"\nkilled {killed} of {len(results)} mutants ({killed / len(results):.0%}); "
          f"{equivalent} equivalent; {len(survivors)} survived")
    for r in survivors:
        print(f"  survived: {r['module']}: {r['mutant']}")
    for r in results:
        if r["verdict"] == "equivalent":
            print(f"  equivalent: {r['module']}: {r['mutant']} ({EQUIVALENT[r['mutant']]})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
