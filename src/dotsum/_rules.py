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


def numpy_dot_terms(op: str, shapes: Shapes, x: str, y: str, *, scalars: bool,
                    why: str = "") -> tuple[list[Term], tuple[Hashable, ...], tuple[int, ...]]:
    """``numpy.dot(x, y)``: the last axis of ``x`` with the second-to-last of ``y`` (its only
    axis when ``y`` is 1-D); every other axis kept, ``x``'s first. With ``scalars`` a 0-D
    operand multiplies (NumPy); without, it is an error (Keras 2)."""
    xs, ys = tuple(shapes[x]), tuple(shapes[y])
    if not xs or not ys:
        if not scalars:
            require_rank(op, x if not xs else y, shapes, 1, why)
        ids = (tuple(("x", i) for i in range(len(xs))), tuple(("y", i) for i in range(len(ys))))
        terms = [Term(x, xs, ids[0], xs), Term(y, ys, ids[1], ys)]
        return terms, ids[0] + ids[1], xs + ys
    ya = -2 if len(ys) >= 2 else -1
    if xs[-1] != ys[ya]:
        fail(op, f"axis -1 of {x} (size {xs[-1]}) does not match axis {ya} of {y} "
                 f"(size {ys[ya]})", shapes)
    x_ids = tuple(("x", i) for i in range(len(xs) - 1)) + ("k",)
    y_ids = tuple("k" if i == len(ys) + ya else ("y", i) for i in range(len(ys)))
    out_ids = x_ids[:-1] + tuple(i for i in y_ids if i != "k")
    out_shape = xs[:-1] + ys[:ya] + (ys[-1:] if ya == -2 else ())
    return [Term(x, xs, x_ids, xs), Term(y, ys, y_ids, ys)], out_ids, out_shape


def tensordot_axes(op: str, shapes: Shapes, a: str, b: str,
                   axes: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Normalise ``tensordot``'s ``axes`` (an int N >= 0, a pair of ints, or a pair of
    sequences of ints) to two equally long tuples of non-negative, distinct axes."""
    ranks = {a: len(shapes[a]), b: len(shapes[b])}
    if is_int(axes):
        n = int(axes)
        if n < 0 or n > min(ranks.values()):
            fail(op, f"axes={n} must be between 0 and the smaller rank "
                     f"({min(ranks.values())})", shapes)
        return tuple(range(ranks[a] - n, ranks[a])), tuple(range(n))
    if not isinstance(axes, (list, tuple)) or len(axes) != 2:
        what = f"{len(axes)} values" if isinstance(axes, (list, tuple)) else type_name(axes)
        fail(op, f"axes must be an int, a pair of ints, or a pair of sequences of ints; got "
                 f"{what}", shapes, kind=TypeError if not isinstance(axes, (list, tuple))
             else ValueError)
    pair = []
    for name, side in zip((a, b), axes):
        seq = (side,) if is_int(side) else side
        if not isinstance(seq, (list, tuple)) or not all(is_int(v) for v in seq):
            fail(op, f"axes for {name} must be an int or a sequence of ints; got {side!r}",
                 shapes, kind=TypeError)
        normal = []
        for v in seq:
            if not -ranks[name] <= v < ranks[name]:
                fail(op, f"axis {v} is out of range for {name} of rank {ranks[name]}", shapes)
            normal.append(int(v) % ranks[name])
        if len(set(normal)) != len(normal):
            fail(op, f"axes for {name} repeat an axis: {side!r}", shapes)
        pair.append(tuple(normal))
    if len(pair[0]) != len(pair[1]):
        fail(op, f"axes name {len(pair[0])} axes of {a} but {len(pair[1])} of {b}: {axes!r}",
             shapes)
    return pair[0], pair[1]


def tensordot_terms(op: str, shapes: Shapes, a: str, b: str, a_axes: tuple[int, ...],
                    b_axes: tuple[int, ...]):
    """Contract ``a_axes`` of ``a`` with ``b_axes`` of ``b``, pairwise; keep the rest in order."""
    sa, sb = tuple(shapes[a]), tuple(shapes[b])
    for i, j in zip(a_axes, b_axes):
        if sa[i] != sb[j]:
            fail(op, f"axis {i} of {a} (size {sa[i]}) does not match axis {j} of {b} "
                     f"(size {sb[j]})", shapes)
    contracted = {i: ("k", n) for n, i in enumerate(a_axes)}
    a_ids = tuple(contracted.get(i, (a, i)) for i in range(len(sa)))
    b_contracted = {j: ("k", n) for n, j in enumerate(b_axes)}
    b_ids = tuple(b_contracted.get(j, (b, j)) for j in range(len(sb)))
    out_ids = tuple(i for i in a_ids + b_ids if i[0] != "k")
    out_shape = tuple(s for i, s in zip(a_ids + b_ids, sa + sb) if i[0] != "k")
    return [Term(a, sa, a_ids, sa), Term(b, sb, b_ids, sb)], out_ids, out_shape
