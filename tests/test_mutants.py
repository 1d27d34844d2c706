"""The mutation check's bookkeeping: every listed mutant still applies to the source, its kept
verdicts are on listed mutants with none surviving, and the README's figure is the line
``tools/mutate.py --summary`` prints from them (never written by hand)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import mutate  # noqa: E402
from mutants import EQUIVALENT, MUTANTS  # noqa: E402


def test_every_mutant_applies_once():
    for module, original, _, what in MUTANTS:
        text = (ROOT / "src" / "dotsum" / module).read_text()
        assert text.count(original) == 1, f"{module}: {what}: {original!r}"
    assert len({m[3] for m in MUTANTS}) == len(MUTANTS)  # descriptions name them
    assert set(EQUIVALENT) <= {m[3] for m in MUTANTS}


def test_kept_verdicts_are_on_listed_mutants_and_none_survived():
    results = json.loads(mutate.RESULTS.read_text())
    listed = {(m[0], m[3]) for m in MUTANTS}
    assert results and all((r["module"], r["mutant"]) in listed for r in results)
    assert [r["mutant"] for r in results if r["verdict"] == "SURVIVED"] == []
    for r in results:  # "equivalent" only where tools/mutants.py explains why
        assert r["verdict"] in ("killed", "equivalent"), r
        assert r["verdict"] != "equivalent" or r["mutant"] in EQUIVALENT, r


def test_readme_quotes_the_scripts_summary():
    readme = (ROOT / "README.md").read_text()
    marker = "<!-- tools/mutate.py --summary -->\n"
    line = readme[readme.index(marker) + len(marker):].splitlines()[0].strip()
    assert line == mutate.summary(json.loads(mutate.RESULTS.read_text())) + "."
