"""Reading compiled HLO: which buffers XLA materialises only to change layout.

A transpose that XLA fuses into a consumer's loop (an elementwise multiply reading its operand
strided) costs no buffer; a transpose it cannot fuse, because a GEMM needs its operand laid out
``batch, free, contracted``, becomes a top-level transpose, a ``copy`` into another layout, or a
fusion of nothing but transposes, copies and bitcasts, each writing a whole new array. Those are
what :func:`layout_copies` returns, and what ``Lowering.moves`` predicts. (Copies that keep the
layout, such as XLA's copy of a result it cannot alias, are not layout changes.)
"""

from __future__ import annotations

import math
import re
from typing import Any

_HEADER = re.compile(r"^(ENTRY )?%(\S+) .*\{\s*$")
_INSTRUCTION = re.compile(
    r"^\s*(?:ROOT )?%(\S+) = \w+\[([\d,]*)\](\{[^}]*\})? ([\w-]+)\(%?([\w.-]*)(.*)$")
_CALLS = re.compile(r"calls=%([\w.-]+)")
_MOVE_ONLY = {"parameter", "transpose", "copy", "bitcast", "reshape"}


def _computations(text: str) -> tuple[dict[str, list[tuple]], str | None]:
    computations: dict[str, list[tuple]] = {}
    entry = current = None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            current = computations.setdefault(header.group(2), [])
            if header.group(1):
                entry = header.group(2)
            continue
        found = _INSTRUCTION.match(line)
        if found and current is not None:
            name, dims, layout, opcode, operand, rest = found.groups()
            dims = tuple(int(d) for d in dims.split(",") if d)
            calls = _CALLS.search(rest)
            current.append((name, opcode, dims, layout, operand, calls.group(1) if calls else None))
    return computations, entry


def layout_copies(compiled: Any) -> list[tuple[int, ...]]:
    """Shapes of the arrays a compiled program writes only to re-lay-out data, in program order.

    ``compiled`` is a ``jax.stages.Compiled`` (``jax.jit(f).lower(*args).compile()``) or its
    ``as_text()``. On XLA:CPU a product whose operands are already in GEMM layout has none:

    >>> import jax, jax.numpy as jnp
    >>> from dotsum import ops
    >>> from dotsum.testing import layout_copies
    >>> q = jnp.ones((2, 4, 8, 16))  # (batch, heads, time, depth)
    >>> layout_copies(jax.jit(lambda a, b: ops.einsum("bhqd,bhkd->bhqk", a, b))
    ...               .lower(q, q).compile())
    []
    """
    text = compiled if isinstance(compiled, str) else compiled.as_text()
    computations, entry = _computations(text)
    if entry is None:
        raise ValueError("layout_copies: no ENTRY computation in this HLO text")
    copies = []
    layouts = {}
    for name, opcode, dims, layout, operand, calls in computations[entry]:
        layouts[name] = layout
        if opcode == "transpose" or (opcode == "copy" and layouts.get(operand) != layout):
            copies.append(dims)
        elif opcode == "fusion" and calls in computations:
            body = {op for _, op, *_ in computations[calls]}
            if body <= _MOVE_ONLY and "transpose" in body:
                copies.append(dims)
    return copies


def copied_elements(compiled: Any) -> int:
    """Elements the compiled program copies only to change layout (see :func:`layout_copies`)."""
    return sum(math.prod(dims) for dims in layout_copies(compiled))
