"""Reading compiled HLO: which buffers XLA materialises only to change layout.

A transpose that XLA fuses into a consumer's loop (an elementwise multiply reading its operand
strided) costs no buffer; a transpose it cannot fuse, because a GEMM needs its operand laid out
``batch, free, contracted``, becomes a top-level transpose, a ``copy`` into another layout, or a
fusion of nothing but transposes, copies and bitcasts, each writing a whole new array. Those are
what :func:`layout_copies` returns, and what ``Lowering.moves`` predicts. (Copies that keep the
layout, such as XLA's copy of a result it cannot alias, are not layout changes.)
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

_HEADER = re.compile(r"^(ENTRY )?%(\S+) .*\{\s*$")
_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%(\S+) = (.+?) ([\w-]+)\((.*)$")
_ARRAY = re.compile(r"\w+\[([\d,]*)\](\{[^}]*\})?")  # f32[2,3]{1,0}, one per tuple element
_OPERAND = re.compile(r"%([\w.-]+)")
_CALLED = re.compile(
    r"\b(?:calls|body|condition|to_apply|true_computation|false_computation)=%([\w.-]+)"
    r"|branch_computations=\{([^}]*)\}")
_DIMENSIONS = re.compile(r"\bdimensions=\{([\d,]*)\}")
_MOVE_ONLY = {"parameter", "transpose", "copy", "bitcast", "reshape", "tuple",
              "get-tuple-element"}


@dataclasses.dataclass(frozen=True)
class _Instruction:
    name: str
    opcode: str
    arrays: tuple[tuple[tuple[int, ...], str | None], ...]  # (dims, layout) per tuple element
    operand: str | None  # the first operand's name
    called: tuple[str, ...]  # computations it calls
    dimensions: tuple[int, ...]  # a transpose's permutation


def _parse(text: str) -> tuple[dict[str, list[_Instruction]], str | None]:
    computations: dict[str, list[_Instruction]] = {}
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
            name, shape, opcode, rest = found.groups()
            arrays = tuple((tuple(int(d) for d in dims.split(",") if d), layout)
                           for dims, layout in _ARRAY.findall(shape))
            operand = _OPERAND.search(rest.split(")", 1)[0])
            called = []
            for single, branches in _CALLED.findall(rest):
                called += [single] if single else _OPERAND.findall(branches)
            perm = _DIMENSIONS.search(rest)
            current.append(_Instruction(
                name, opcode, arrays, operand.group(1) if operand else None, tuple(called),
                tuple(int(d) for d in perm.group(1).split(",") if d) if perm else ()))
    return computations, entry


def _memory_order(dims: tuple[int, ...], layout: str | None,
                  axes: tuple[int, ...] | None = None) -> list[int] | None:
    """The axes of size > 1, minor to major (as axes of the operand, through ``axes``)."""
    if layout is None:
        return None
    minor_to_major = [int(d) for d in layout.strip("{}").split(":")[0].split(",") if d]
    return [axes[d] if axes else d for d in minor_to_major if dims[d] > 1]


def _reorders(i: _Instruction, known: dict[str, _Instruction]) -> bool:
    """Whether ``i`` is a transpose or copy whose result lays its axes of size > 1 out in
    another memory order than its operand (a transpose that only renames axes is a bitcast)."""
    source = known.get(i.operand)
    if (i.opcode not in ("transpose", "copy") or source is None or len(i.arrays) != 1
            or len(source.arrays) != 1):
        return False
    (dims, layout), (in_dims, in_layout) = i.arrays[0], source.arrays[0]
    perm = i.dimensions if i.opcode == "transpose" else None
    return _memory_order(dims, layout, perm) != _memory_order(in_dims, in_layout)


def _moves_only(body: list[_Instruction]) -> bool:
    """A fusion body made only of data movement, some of it into another memory order."""
    known = {i.name: i for i in body}
    return ({i.opcode for i in body} <= _MOVE_ONLY
            and any(_reorders(i, known) for i in body))


def layout_copies(compiled: Any) -> list[tuple[int, ...]]:
    """Shapes of the arrays a compiled program writes only to re-lay-out data, in program order.

    ``compiled`` is a ``jax.stages.Compiled`` (``jax.jit(f).lower(*args).compile()``) or its
    ``as_text()``. Looks through the entry computation and what it calls (loop bodies,
    conditionals), treating each fusion as one operation. On XLA:CPU a product whose operands
    are already in GEMM layout has none:

    >>> import jax, jax.numpy as jnp
    >>> from dotsum import ops
    >>> from dotsum.testing import layout_copies
    >>> q = jnp.ones((2, 4, 8, 16))  # (batch, heads, time, depth)
    >>> layout_copies(jax.jit(lambda a, b: ops.einsum("bhqd,bhkd->bhqk", a, b))
    ...               .lower(q, q).compile())
    []
    """
    text = compiled if isinstance(compiled, str) else compiled.as_text()
    computations, entry = _parse(text)
    if entry is None:
        raise ValueError("layout_copies: no ENTRY computation in this HLO text")
    copies: list[tuple[int, ...]] = []
    seen = set()

    def visit(name: str) -> None:
        seen.add(name)
        body = computations.get(name, [])
        known = {i.name: i for i in body}
        for i in body:
            if _reorders(i, known) or (i.opcode == "fusion" and any(
                    _moves_only(computations.get(c, [])) for c in i.called)):
                copies.extend(dims for dims, _ in i.arrays)
            elif i.opcode != "fusion":
                for c in i.called:
                    if c not in seen:
                        visit(c)

    visit(entry)
    return copies


def copied_elements(compiled: Any) -> int:
    """Elements the compiled program copies only to change layout (see :func:`layout_copies`)."""
    return sum(math.prod(dims) for dims in layout_copies(compiled))
