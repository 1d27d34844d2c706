"""Extract JAX's own tests of the products dotsum reproduces into ``tests/upstream/<folder>/``.

    python tools/extract_jax_tests.py /path/to/jax REF FOLDER   # a checkout of jax-ml/jax at REF

e.g. ``... /tmp/jax jax-v0.10.2 v0_10_2``. Each output module is the upstream file's header
(licence, imports, module constants) and one test class holding only the named methods, copied
verbatim with their decorators, so that ``tests/test_jax_suite.py`` can run them with
``dotsum.numpy`` / ``dotsum.lax`` in place of ``jax.numpy`` / ``jax.lax``. Nothing else is
changed. ``tests/test_jax_suite.py`` picks the folder nearest the installed JAX (its
``SNAPSHOTS``): JAX's sdist ships no tests, so each JAX of the version matrix is held to the
tests of the nearest source we have.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

FILES = {
    # upstream file -> (output module, class, methods)
    "tests/lax_numpy_test.py": ("jax_numpy_products.py", "LaxBackedNumpyTests", [
        "testDot", "testMixedPrecisionDot", "testMatmul",
        "testMatmulBothSize1BatchDimsSqueezedJaxpr", "testVecdot", "testMatvec", "testVecmat",
        "testTensordot", "testTensordotErrors", "testInner", "testPrecision",
        "testPreferredElementType"]),
    "tests/lax_numpy_einsum_test.py": ("jax_numpy_einsum.py", "EinsumTest", None),  # all
    "tests/lax_test.py": ("jax_lax_dot_general.py", "LaxTest", [
        "testDotGeneralContractOnly", "testDotGeneralContractAndBatch",
        "testDotGeneralAgainstNumpy"]),
}


def extract(source: str, cls: str, methods: list[str] | None) -> str:
    tree = ast.parse(source)
    lines = source.splitlines()
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    header = lines[: (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1]
    if methods is None:
        body = lines[node.lineno - 1: node.end_lineno]
        return "\n".join(header + body) + "\n"
    out = header + [lines[node.lineno - 1]]
    found = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name in methods:
            start = min([d.lineno for d in item.decorator_list] + [item.lineno])
            found[item.name] = lines[start - 1: item.end_lineno]
    missing = set(methods) - set(found)
    if missing:
        raise SystemExit(f"{cls}: no methods {sorted(missing)} upstream")
    for name in methods:
        out += [""] + found[name]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    root, ref, folder = Path(argv[0]), argv[1], argv[2]
    out_dir = Path(__file__).parent.parent / "tests" / "upstream" / folder
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, (name, cls, methods) in FILES.items():
        text = extract((root / path).read_text(), cls, methods)
        (out_dir / name).write_text(f"# Extracted from jax-ml/jax {ref}:{path} by "
                                    f"tools/extract_jax_tests.py; Apache License 2.0.\n{text}")
        print(f"{out_dir / name}: {cls}, {len(methods) if methods else 'all'} methods")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
