"""Reading jaxprs in structural tests: what each platform's program runs."""

from __future__ import annotations

import jax


def platform_programs(jaxpr) -> list[list[str]]:
    """The primitives a jaxpr runs on CPU and on TPU (GPUs get TPU's layout), ``jit`` inlined:
    of each ``lax.platform_dependent`` (a dotsum executor holds one where its CPU and GPU/TPU
    layouts differ; JAX's own ops hold some too) the branch of that platform."""
    return [_program(jaxpr, platform) for platform in ("cpu", "tpu")]


def _program(jaxpr, platform: str) -> list[str]:
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    program: list[str] = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "jit":
            program += _program(eqn.params["jaxpr"], platform)
        elif eqn.primitive.name == "cond" and eqn.params.get("branches_platforms"):
            (branch, *_) = [b for b, ps in zip(eqn.params["branches"],
                                               eqn.params["branches_platforms"])
                            if ps is None or platform in ps]
            program += _program(branch, platform)
        elif eqn.primitive.name != "platform_index":
            program.append(eqn.primitive.name)
    return program


def assert_one_contraction(fn, *args) -> str:
    """Each platform's program of ``jax.jit(fn)`` runs one ``dot_general``, or (a product that
    sums nothing, on CPU) one multiply; no nested call, no einsum. Returns the jaxpr's text."""
    jaxpr = jax.make_jaxpr(jax.jit(fn))(*args)
    for program in platform_programs(jaxpr):
        assert program.count("dot_general") == 1 or (
            "dot_general" not in program and program.count("mul") == 1), (program, jaxpr)
    text = str(jaxpr)
    assert "einsum" not in text and "pjit" not in text, text
    return text
