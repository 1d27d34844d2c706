"""Building blocks shared by the op rules: argument checks, NumPy broadcasting of batch axes, and
the broadcasting matrix product that ``tf.matmul`` and legacy ``batch_dot`` both are."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from dotsum._errors import Shapes, fail, type_name
from dotsum._plan import Term
from dotsum._symbolic import broadcastable, differ


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
        if da is not None and db is not None and not broadcastable(
                op, shapes, da, db, f"axis {j - pa} of {a} (size {da}) broadcasts against "
                                    f"axis {j - pb} of {b} (size {db})"):
            fail(op, f"batch axes do not broadcast: axis {j - pa} of {a} (size {da}) vs axis "
                     f"{j - pb} of {b} (size {db})", shapes)
        # the size that is not a broadcast 1 (0 included), or either if they are equal
        size = db if da is None or (da == 1 and db is not None) else da
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
    if differ(op, shapes, a_shape[ka], b_shape[kb],
              f"axis {ka} of {a} (size {a_shape[ka]}) matches axis {kb} of {b} "
              f"(size {b_shape[kb]})"):
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


def drop_labels(terms: list[Term], out_ids: tuple[Hashable, ...], out_shape: tuple[int, ...],
                drop: set[Hashable]) -> tuple[list[Term], tuple[Hashable, ...], tuple[int, ...]]:
    """Remove the (size-1) axes labelled ``drop`` from every term and the output: how a rule
    built on :func:`matmul_terms` takes back the axis it added to a vector operand."""
    if not drop:
        return terms, out_ids, out_shape
    terms = [t._replace(ids=tuple(i for i in t.ids if i not in drop),
                        einsum_shape=tuple(s for i, s in zip(t.ids, t.einsum_shape)
                                           if i not in drop)) for t in terms]
    kept = [(i, s) for i, s in zip(out_ids, out_shape) if i not in drop]
    return terms, tuple(i for i, _ in kept), tuple(s for _, s in kept)


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
    if differ(op, shapes, xs[-1], ys[ya], f"axis -1 of {x} (size {xs[-1]}) matches axis {ya} "
                                         f"of {y} (size {ys[ya]})"):
        fail(op, f"axis -1 of {x} (size {xs[-1]}) does not match axis {ya} of {y} "
                 f"(size {ys[ya]})", shapes)
    x_ids = tuple(("x", i) for i in range(len(xs) - 1)) + ("k",)
    y_ids = tuple("k" if i == len(ys) + ya else ("y", i) for i in range(len(ys)))
    out_ids = x_ids[:-1] + tuple(i for i in y_ids if i != "k")
    out_shape = xs[:-1] + ys[:ya] + (ys[-1:] if ya == -2 else ())
    return [Term(x, xs, x_ids, xs), Term(y, ys, y_ids, ys)], out_ids, out_shape


_AXES_FORMS = "an int N >= 0, a pair of ints, or a pair of lists of ints"


def axes_form(op: str, shapes: Shapes, axes: Any, expected: str, *, lists: bool,
              jax_wording: bool = False):
    """The syntax every ``axes`` argument shares: an int, or a pair (list or tuple) of two ints,
    or, if ``lists``, of two lists of ints. Returns the int, the pair of ints, or the pair of
    tuples of ints (Python ints); ``expected`` describes the accepted forms in messages.
    ``jax_wording``: messages lead with ``jnp.tensordot``'s own words (``dotsum.numpy``)."""
    must = "tensordot axes argument must be" if jax_wording else "axes must be"
    if jax_wording:
        expected = "an int, a pair of ints, or a pair of lists of ints (an int N >= 0)"
    if is_int(axes):
        return int(axes)
    if not isinstance(axes, (list, tuple)):
        # arrays of axes are refused too: static params must be hashable values
        hint = " (for an array of axes, pass axes.tolist())" if getattr(axes, "ndim", 0) else ""
        fail(op, f"{must} {expected}; got {type_name(axes)}{hint}", shapes, kind=TypeError)
    nested = [isinstance(v, (list, tuple)) for v in axes]
    if any(nested) and not lists:
        fail(op, f"axes must name one axis of each operand; got {axes!r} (multiple target "
                 "dimensions are not supported: use tensordot or einsum)", shapes)
    if len(axes) != 2:
        count = f"{len(axes)} value{'' if len(axes) == 1 else 's'}"
        fail(op, f"axes must be an int or a pair; got {count} {axes!r}", shapes)
    if any(nested) and not all(nested):
        fail(op, f"{must} {expected}; got {axes!r}", shapes, kind=TypeError)
    for value in (v for entry, is_list in zip(axes, nested)
                  for v in (entry if is_list else (entry,))):
        if not is_int(value):
            hold = ("tensordot requires both axes lists to be either ints, tuples or lists of "
                    "ints" if jax_wording else "axes must hold ints")
            fail(op, f"{hold}; got {type_name(value)} in axes={axes!r}", shapes, kind=TypeError)
    if all(nested):
        return tuple(int(i) for i in axes[0]), tuple(int(i) for i in axes[1])
    return int(axes[0]), int(axes[1])


def tensordot_axes(op: str, shapes: Shapes, a: str, b: str, axes: Any, *,
                   jax_wording: bool = False
                   ) -> tuple[tuple[tuple[int, ...], tuple[int, ...]],
                              tuple[tuple[int, ...], tuple[int, ...]]]:
    """``tensordot``'s ``axes`` (an int N >= 0: the last N axes of ``a`` with the first N of
    ``b``; a pair of ints; or a pair of equally long sequences of ints) as two pairs: the axes
    as the user spelled them (for messages), and normalised (non-negative, distinct).
    ``jax_wording``: the four refusals ``jnp.tensordot`` words lead with its words, which
    JAX's own ``testTensordotErrors`` matches (``dotsum.numpy``)."""
    ranks = (len(shapes[a]), len(shapes[b]))
    spelled = _spelled_axes(op, shapes, axes, ranks, jax_wording)
    normal = []
    for name, given, rank in zip((a, b), spelled, ranks):
        seen: dict[int, int] = {}
        for i in given:
            n = i + rank if i < 0 else i
            if not 0 <= n < rank:
                fail(op, f"axis {i} is out of range for {name} of rank {rank} (axes={axes!r})",
                     shapes)
            if n in seen:
                twice = "" if seen[n] == i else f" (as {seen[n]} and {i})"
                fail(op, f"axis {n} of {name} is contracted twice{twice} in axes={axes!r}",
                     shapes)
            seen[n] = i
        normal.append(tuple(seen))
    return spelled, (normal[0], normal[1])


def _spelled_axes(op: str, shapes: Shapes, axes: Any, ranks: tuple[int, int],
                  jax_wording: bool = False):
    form = axes_form(op, shapes, axes, _AXES_FORMS, lists=True, jax_wording=jax_wording)
    if isinstance(form, int):
        if form < 0:
            fail(op, f"axes must be >= 0 when it is an int; got {form}", shapes)
        for name, rank in zip(shapes, ranks):
            if form > rank:
                lead = "Number of tensordot axes exceeds input ranks: " if jax_wording else ""
                fail(op, f"{lead}axes={form} contracts more axes than {name} has (rank {rank})",
                     shapes)
        return tuple(range(-form, 0)), tuple(range(form))
    a_axes, b_axes = form
    if isinstance(a_axes, int):
        return (a_axes,), (b_axes,)
    if len(a_axes) != len(b_axes):
        names = list(shapes)
        lead = ("tensordot requires axes lists to have equal length" if jax_wording
                else "axes lists differ in length")
        fail(op, f"{lead}: {len(a_axes)} for {names[0]}, {len(b_axes)} for {names[1]} "
                 f"(axes={axes!r})", shapes)
    return a_axes, b_axes


def tensordot_terms(op: str, shapes: Shapes, a: str, b: str,
                    spelled: tuple[tuple[int, ...], tuple[int, ...]],
                    normal: tuple[tuple[int, ...], tuple[int, ...]]):
    """Contract ``normal[0]`` of ``a`` with ``normal[1]`` of ``b``, pairwise; keep the rest in
    order, ``a``'s first. Every pair of sizes must agree (messages use the ``spelled`` axes)."""
    sa, sb = tuple(shapes[a]), tuple(shapes[b])
    for i, j, n, m in zip(*spelled, *normal):
        if differ(op, shapes, sa[n], sb[m], f"axis {i} of {a} (size {sa[n]}) matches axis {j} "
                                           f"of {b} (size {sb[m]})"):
            fail(op, f"axis {i} of {a} (size {sa[n]}) does not match axis {j} of {b} "
                     f"(size {sb[m]})", shapes)
    a_ids: list[Hashable] = [(a, p) for p in range(len(sa))]
    b_ids: list[Hashable] = [(b, p) for p in range(len(sb))]
    for pair, (n, m) in enumerate(zip(*normal)):
        a_ids[n] = b_ids[m] = ("k", pair)
    out_ids = tuple(i for i in a_ids + b_ids if i[0] != "k")
    out_shape = tuple(s for i, s in zip(a_ids + b_ids, sa + sb) if i[0] != "k")
    return [Term(a, sa, tuple(a_ids), sa), Term(b, sb, tuple(b_ids), sb)], out_ids, out_shape
