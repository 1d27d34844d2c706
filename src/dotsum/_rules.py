"""Building blocks shared by the op rules: argument checks, NumPy broadcasting of batch axes, and
the broadcasting matrix product that ``tf.matmul`` and legacy ``batch_dot`` both are."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from dotsum._errors import Shapes, fail, type_name
from dotsum._plan import Term


def is_int(value: Any) -> bool:
    """Python or NumPy integer, but not a bool (``True`` is an ``int`` to Python)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_flag(op: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        fail(op, f"{name} must be a bool; got {type_name(value)}", kind=TypeError)
    return bool(value)


def require_rank(op: str, name: str, shapes: Shapes, minimum: int, why: str = "") -> None:
    rank = len(shapes[name])
    if rank < minimum:
        fail(op, f"{name} must have rank >= {minimum}{why}; got rank {rank}", shapes)


def broadcast(
    op: str, shapes: Shapes, a: str, a_dims: tuple[int, ...], b: str, b_dims: tuple[int, ...]
) -> tuple[tuple[Hashable, ...], tuple[int, ...], tuple[Hashable, ...], tuple[int, ...],
           tuple[Hashable, ...], tuple[int, ...]]:
    """Label two operands' leading axes broadcast NumPy-style (right-aligned).

    An axis of size 1 facing a larger one is dropped from its operand (the other operand's axis
    becomes a free axis), so nothing is materialised. Returns, per operand, the ids and sizes of
    the axes it keeps, then the output's ids and sizes.
    """
    rank = max(len(a_dims), len(b_dims))
    pa, pb = rank - len(a_dims), rank - len(b_dims)
    a_ids: list[Hashable] = []
    a_kept: list[int] = []
    b_ids: list[Hashable] = []
    b_kept: list[int] = []
    out_sizes: list[int] = []
    for j in range(rank):
        da = a_dims[j - pa] if j >= pa else None
        db = b_dims[j - pb] if j >= pb else None
        if da is not None and db is not None and da != db and 1 not in (da, db):
            fail(op, f"batch axes do not broadcast: axis {j - pa} of {a} (size {da}) vs axis "
                     f"{j - pb} of {b} (size {db})", shapes)
        size = max(d for d in (da, db) if d is not None) if 0 not in (da, db) else 0
        for dim, ids, kept in ((da, a_ids, a_kept), (db, b_ids, b_kept)):
            if dim is not None and (dim == size):
                ids.append(("batch", j))
                kept.append(dim)
        out_sizes.append(size)
    out_ids = tuple(("batch", j) for j in range(rank))
    return tuple(a_ids), tuple(a_kept), tuple(b_ids), tuple(b_kept), out_ids, tuple(out_sizes)


def matmul_terms(
    op: str,
    shapes: Shapes,
    a: str,
    a_shape: tuple[int, ...],
    b: str,
    b_shape: tuple[int, ...],
    *,
    transpose_a: bool = False,
    transpose_b: bool = False,
    conj_a: bool = False,
    conj_b: bool = False,
) -> tuple[list[Term], tuple[Hashable, ...], tuple[int, ...]]:
    """``matmul(a, b)`` on the last two axes, batch axes broadcast; both ranks >= 2.

    ``a_shape``/``b_shape`` may differ from the user's (``shapes``), e.g. after rank padding.
    """
    ka, kb = (-2 if transpose_a else -1), (-1 if transpose_b else -2)
    if a_shape[ka] != b_shape[kb]:
        fail(op, f"axis {ka} of {a} (size {a_shape[ka]}) does not match axis {kb} of {b} "
                 f"(size {b_shape[kb]})", shapes)
    a_ids, a_kept, b_ids, b_kept, out_ids, out_sizes = broadcast(
        op, shapes, a, a_shape[:-2], b, b_shape[:-2]
    )
    a_mat = ("k", "m") if transpose_a else ("m", "k")
    b_mat = ("n", "k") if transpose_b else ("k", "n")
    terms = [
        Term(a, shapes[a], a_ids + a_mat, a_kept + a_shape[-2:], conj_a),
        Term(b, shapes[b], b_ids + b_mat, b_kept + b_shape[-2:], conj_b),
    ]
    m = a_shape[-1] if transpose_a else a_shape[-2]
    n = b_shape[-2] if transpose_b else b_shape[-1]
    return terms, out_ids + ("m", "n"), out_sizes + (m, n)
