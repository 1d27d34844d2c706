"""Mutation check: does the test suite notice small, plausible slips in the compiler?

Each mutant in ``tools/mutants.py`` (an off-by-one axis, a dropped cast, a swapped operand, a
wrong key, a wrong FLOP factor, …) is applied to a copy of ``src/dotsum`` in a temporary
folder; a fast subset of the suite then runs against that copy (``PYTHONPATH`` puts it before
the installed package) and stops at its first failure. A mutant is *killed* when the subset
fails. Survivors are listed; those ``tools/mutants.py`` explains as equivalent (no user-visible
change) are reported apart.

Each mutant first meets the tests that guard its module (``MODULE_TESTS``: a few files, so a
killed mutant costs seconds); only a survivor then meets the rest of ``SUBSET``. Run from the
repository root, with the test extra installed::

    .venv/bin/python tools/mutate.py --only _inspect  # mutants of modules matching a substring
    .venv/bin/python tools/mutate.py --changed        # of the modules changed since HEAD
    .venv/bin/python tools/mutate.py --changed main   # ... since another ref
    .venv/bin/python tools/mutate.py --mutant folded  # mutants whose description matches
    .venv/bin/python tools/mutate.py --check          # only verify each mutant applies once
    .venv/bin/python tools/mutate.py --results        # all, into tools/mutation-results.json
    .venv/bin/python tools/mutate.py --changed --results  # ... merged with earlier verdicts
    .venv/bin/python tools/mutate.py --workers 2      # pytest -n 2 per run

The pristine source must pass each test set first (checked); the exit status is 1 if any
non-equivalent mutant survives. ``--results`` merges the verdicts into
``tools/mutation-results.json`` (replacing earlier ones on the same mutants, dropping those no
longer listed); the README's mutation figure is made from that file
(``python tools/mutate.py --summary`` prints it; ``tests/test_mutants.py`` keeps the README
equal to it).
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
          "tests/test_roofline.py", "tests/test_accelerator_values.py",
          "tests/test_placement.py", "tests/test_jax_suite.py"]
_INSPECT = ["tests/test_inspect.py", "tests/test_jax_compat.py", "tests/test_roofline.py"]
_PLANS = ["tests/test_golden.py", "tests/test_errors.py", "tests/test_einsum.py",
          "tests/test_legacy.py"]
_VALUES = ["tests/test_exactness.py", "tests/test_numpy.py", "tests/test_accelerator_values.py",
           "tests/test_compiled.py"]
MODULE_TESTS = {  # the tests that guard each module, first (each list a few quick files)
    "_inspect.py": _INSPECT, "_jaxpr.py": _INSPECT, "_origin.py": _INSPECT,
    "_jax.py": ["tests/test_jax_compat.py", "tests/test_numpy.py", *_INSPECT],
    "_roofline.py": ["tests/test_roofline.py", "tests/test_devices.py"],
    "devices.py": ["tests/test_devices.py", "tests/test_roofline.py"],
    "cli.py": ["tests/test_cli.py", "tests/test_inspect.py", "tests/test_devices.py"],
    "_symbolic.py": ["tests/test_symbolic.py", "tests/test_inspect.py", "tests/test_errors.py"],
    "_lower.py": [*_VALUES, "tests/test_golden.py", "tests/test_platforms.py"],
    "_layout.py": ["tests/test_compiled.py", "tests/test_platforms.py", *_VALUES],
    "_dispatch.py": ["tests/test_reliability.py", "tests/test_exactness.py", *_PLANS],
    "_keys.py": ["tests/test_reliability.py", "tests/test_exactness.py"],
    "_options.py": ["tests/test_errors.py", "tests/test_exactness.py", "tests/test_numpy.py"],
    "_errors.py": ["tests/test_numpy.py", "tests/test_errors.py"],
    "_out_sharding.py": ["tests/test_placement.py", "tests/test_numpy.py"],
    "_dtypes.py": [*_VALUES, "tests/test_fuzz_jax.py", "tests/test_einsum.py"],
    "_rules.py": [*_PLANS, "tests/test_exactness.py"],
    "_plan.py": [*_PLANS, "tests/test_devices.py", "tests/test_inspect.py"],
    "_lettering.py": _PLANS, "_einsum.py": [*_PLANS, "tests/test_numpy.py"],
    "_products.py": ["tests/test_numpy.py", *_PLANS], "numpy.py": ["tests/test_numpy.py", *_PLANS],
    "lax.py": ["tests/test_accelerator_values.py", "tests/test_numpy.py",
               "tests/test_fuzz_jax.py", *_PLANS],
}
RESULTS = ROOT / "tools" / "mutation-results.json"


def apply(tree: Path, module: str, original: str, mutated: str) -> None:
    path = tree / "dotsum" / module
    text = path.read_text()
    count = text.count(original)
    if count != 1:
        raise SystemExit(f"mutant for {module} matches {count} times, not once: {original!r}")
    path.write_text(text.replace(original, mutated))


def run_tests(tree: Path, tests: list[str], timeout: float, workers: int
              ) -> tuple[bool, str, float]:
    """(passed, first failing test or reason, seconds) for ``tests`` against ``tree``."""
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    parallel = ["-n", str(workers)] if workers > 1 else ["-p", "no:xdist"]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *parallel,
             "--no-header", "-rf", *tests],
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


def changed_modules(ref: str) -> set[str]:
    """The modules of src/dotsum that differ from ``ref`` (committed or not)."""
    names = subprocess.run(["git", "diff", "--name-only", ref, "--", "src/dotsum"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    return {Path(n).name for n in names}


def stages(module: str) -> list[list[str]]:
    first = [t for t in MODULE_TESTS.get(module, []) if (ROOT / t).exists()]
    rest = [t for t in SUBSET if t not in first and (ROOT / t).exists()]
    return [s for s in (first, rest) if s]


def summary(results: list[dict]) -> str:
    """The one line the README quotes."""
    killed = sum(r["verdict"] == "killed" for r in results)
    equivalent = sum(r["verdict"] == "equivalent" for r in results)
    survived = sum(r["verdict"] == "SURVIVED" for r in results)
    return (f"killed {killed} of the {len(results)} mutants run ({len(MUTANTS)} listed); "
            f"{equivalent} equivalent; {survived} survived")


def merged(new: list[dict]) -> list[dict]:
    """The results file with ``new`` in place of earlier verdicts on the same mutants, in the
    order of ``MUTANTS``; verdicts on mutants no longer listed are dropped."""
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    by_key = {(r["module"], r["mutant"]): r for r in old + new}
    return [by_key[(m[0], m[3])] for m in MUTANTS if (m[0], m[3]) in by_key]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run mutants of modules containing this")
    parser.add_argument("--changed", nargs="?", const="HEAD", metavar="REF",
                        help="run mutants of the modules changed since REF (default HEAD)")
    parser.add_argument("--mutant", action="append", default=[],
                        help="run mutants whose description has this (repeatable)")
    parser.add_argument("--check", action="store_true", help="only check the mutants apply")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--results", action="store_true",
                        help=f"merge the verdicts into {RESULTS.relative_to(ROOT)}")
    parser.add_argument("--summary", action="store_true",
                        help=f"print the summary line of {RESULTS.relative_to(ROOT)}")
    parser.add_argument("--workers", type=int, default=1, help="pytest workers per run")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per test run")
    args = parser.parse_args(argv)
    if args.summary:
        print(summary(json.loads(RESULTS.read_text())))
        return 0
    changed = changed_modules(args.changed) if args.changed else None
    chosen = [m for m in MUTANTS if args.only in m[0]
              and (changed is None or m[0] in changed)
              and (not args.mutant or any(text in m[3] for text in args.mutant))]
    with tempfile.TemporaryDirectory() as scratch:
        for module, original, mutated, _ in chosen:  # each applies to a fresh copy, once
            tree = Path(scratch) / "check"
            shutil.rmtree(tree, ignore_errors=True)
            shutil.copytree(SOURCE, tree / "dotsum")
            apply(tree, module, original, mutated)
        print(f"{len(chosen)} mutants apply once each")
        if args.check or not chosen:
            return 0
        pristine = Path(scratch) / "pristine"
        shutil.copytree(SOURCE, pristine / "dotsum")
        checked: set[tuple[str, ...]] = set()

        def pristine_passes(tests: list[str]) -> None:
            if tuple(tests) in checked:
                return
            passed, reason, seconds = run_tests(pristine, tests, args.timeout, args.workers)
            if not passed:
                raise SystemExit(f"the pristine source fails {tests} ({reason}); fix that first")
            print(f"pristine source passes {len(tests)} test files in {seconds:.0f} s",
                  flush=True)
            checked.add(tuple(tests))

        results = []
        for n, (module, original, mutated, what) in enumerate(chosen, 1):
            tree = Path(scratch) / f"m{n}"
            shutil.copytree(SOURCE, tree / "dotsum")
            apply(tree, module, original, mutated)
            assert imported_from(tree).startswith(str(tree)), "the mutant is not what runs"
            seconds, passed, reason = 0.0, True, ""
            for tests in stages(module):
                pristine_passes(tests)
                passed, reason, spent = run_tests(tree, tests, args.timeout, args.workers)
                seconds += spent
                if not passed:
                    break
            verdict = "SURVIVED" if passed else "killed"
            if passed and what in EQUIVALENT:
                verdict = "equivalent"
            results.append({"module": module, "mutant": what, "verdict": verdict,
                            "by": None if passed else reason, "seconds": round(seconds, 1)})
            print(f"[{n:2}/{len(chosen)}] {verdict:10} {module:13} {what}"
                  + ("" if passed else f"  <- {reason}") + f"  ({seconds:.0f} s)", flush=True)
            shutil.rmtree(tree)
            if args.results:  # kept as it goes: an interrupted run keeps what it decided
                RESULTS.write_text(json.dumps(merged(results), indent=1) + "\n")
    survivors = [r for r in results if r["verdict"] == "SURVIVED"]
    print(f"\n{summary(results)}")
    for r in survivors:
        print(f"  survived: {r['module']}: {r['mutant']}")
    for r in results:
        if r["verdict"] == "equivalent":
            print(f"  equivalent: {r['module']}: {r['mutant']} ({EQUIVALENT[r['mutant']]})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if args.results:
        RESULTS.write_text(json.dumps(merged(results), indent=1) + "\n")
        print(f"{RESULTS.relative_to(ROOT)}: {summary(merged([]))}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
