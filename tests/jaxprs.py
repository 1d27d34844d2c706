"""Reading jaxprs in structural tests: what each platform's program runs."""

from __future__ import annotations

import jax


def platform_programs(jaxpr) -> list[list[str]]:
    """The primitives a jaxpr runs, once per branch of each ``lax.platform_dependent`` in it (an
    executor holds one where its CPU and GPU/TPU layouts differ), ``jit`` inlined."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    programs: list[list[str]] = [[]]
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "jit":
            inner = platform_programs(eqn.params["jaxpr"])
        elif eqn.primitive.name == "cond" and eqn.params.get("branches_platforms"):
            inner = [p for b in eqn.params["branches"] for p in platform_programs(b)]
        else:
            inner = [[eqn.primitive.name]]
        programs = [p + q for p in programs for q in inner]
    return programs


def assert_one_contraction(fn, *args) -> str:
    """Each platform's program of ``jax.jit(fn)`` runs one ``dot_general``, or (a product that
    sums nothing, on CPU) one multiply; no nested call, no einsum. Returns the jaxpr's text."""
    jaxpr = jax.make_jaxpr(jax.jit(fn))(*args)
    programs = platform_programs(jaxpr)
    assert 1 <= len(programs) <= 2, jaxpr
    for program in programs:
        assert program.count("dot_general") == 1 or (
            "dot_general" not in program and program.count("mul") == 1), (program, jaxpr)
    text = str(jaxpr)
    assert "einsum" not in text and "pjit" not in text, text
    return text
