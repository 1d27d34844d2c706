"""Einsum strings: parsing, validation and contraction paths, shared by ``ops.einsum`` (NumPy /
``jnp.einsum`` rules) and ``tf.einsum`` (TensorFlow's rules).

Einsum plans keep the user's letters; the axes an ellipsis stands for get unused letters.
Differences between the two flavours (docs/semantics.md):

=========================  ==============================  ==================================
                            ``numpy`` (ops.einsum)          ``tf`` (tf.einsum)
=========================  ==============================  ==================================
named label of size 1       broadcasts against any size     must match exactly
implicit output             ``...`` first, then labels      the same, but ``...`` only if one
                            that appear once, sorted        input has it (else broadcast
                            (uppercase first)               axes are an error)
explicit output w/o ``...`` sums the ellipsis axes          error if there are any
=========================  ==============================  ==================================
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import opt_einsum

from dotsum._errors import fail, type_name
from dotsum._lettering import LETTERS, TooManyLabels, check_count
from dotsum._plan import Plan, Term, make_plan
from dotsum._rules import is_int
from dotsum._symbolic import broadcastable, differ, hint

Flavour = Literal["numpy", "tf"]
ELLIPSIS = "..."


def _split_term(op: str, term: str, where: str, subscripts: str) -> tuple[list[str], int | None]:
    """Letters of one term, and where its ellipsis stands (``None`` if it has none)."""
    if term.count(ELLIPSIS) > 1:
        fail(op, f"{where} {term!r} has more than one '...' (subscripts {subscripts!r})")
    head, sep, tail = term.partition(ELLIPSIS)
    for ch in head + tail:
        if ch not in LETTERS:
            fail(op, f"invalid character {ch!r} in {where} {term!r} of subscripts {subscripts!r};"
                     " labels are the letters a-z, A-Z, and '...'")
    return list(head + tail), (len(head) if sep else None)


def _where(label, at) -> str:
    name = "the ellipsis" if isinstance(label, tuple) else f"label {label!r}"
    return f"{name} (size {at[2]} in operands[{at[0]}] axis {at[1]})"


def _size_error(op, label, was, now, subscripts, shape_map):
    name = "the ellipsis" if isinstance(label, tuple) else f"label {label!r}"
    fail(op, f"{name} has size {was[2]} in operands[{was[0]}] (axis {was[1]}) but size {now[2]} "
             f"in operands[{now[0]}] (axis {now[1]}) (subscripts {subscripts!r})", shape_map)


def parse(op: str, subscripts: Any, shapes: Sequence[tuple[int, ...]], flavour: Flavour):
    """Validate ``subscripts`` against the operand shapes; returns the rule's
    ``(terms, out_ids, out_shape)`` with ellipsis axes as ids ``("...", j)``."""
    if not isinstance(subscripts, str):
        fail(op, f"subscripts must be a str; got {type_name(subscripts)}", kind=TypeError)
    text = subscripts.replace(" ", "")
    if text.count("->") > 1:
        fail(op, f"subscripts {subscripts!r} have more than one '->'")
    lhs, arrow, rhs = text.partition("->")
    shape_map = {f"operands[{i}]": s for i, s in enumerate(shapes)}
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        fail(op, f"subscripts {subscripts!r} name {len(inputs)} operand(s) but "
                 f"{len(shapes)} were given", shape_map)
    # -- per-operand labels, the ellipsis expanded ---------------------------------------------
    parsed = [_split_term(op, term, f"term {i}", subscripts) for i, term in enumerate(inputs)]
    ell_ranks = []
    for i, ((letters, ell), shape) in enumerate(zip(parsed, shapes)):
        extra = len(shape) - len(letters)
        if extra < 0 or (ell is None and extra != 0):
            fail(op, f"operands[{i}] has rank {len(shape)} but its term {inputs[i]!r} names "
                     f"{len(letters)} axes", shape_map)
        ell_ranks.append(extra if ell is not None else 0)
    n_ell = max(ell_ranks, default=0)
    ids: list[list[Hashable]] = []
    for (letters, ell), rank in zip(parsed, ell_ranks):
        ell_ids = [(ELLIPSIS, n_ell - rank + j) for j in range(rank)]
        ids.append(letters if ell is None else letters[:ell] + ell_ids + letters[ell:])
    # -- sizes: equal within an operand (a diagonal, as in NumPy: jnp.einsum('ii->i',
    # ones((1, 2))) returns a masked diagonal, not a broadcast); across operands NumPy's rules
    # broadcast size 1, TensorFlow's only the ellipsis axes -------------------------------------
    sizes: dict[Hashable, int] = {}
    first: dict[Hashable, tuple[int, int]] = {}
    for i, (term_ids, shape) in enumerate(zip(ids, shapes)):
        mine: dict[Hashable, tuple[int, int]] = {}
        for axis, (label, size) in enumerate(zip(term_ids, shape)):
            known_axis, known = mine.setdefault(label, (axis, size))
            if differ(op, shape_map, size, known,
                      f"{_where(label, (i, known_axis, known))} has the same size at axis {axis}"
                      f" ({size}), as a diagonal needs (subscripts {subscripts!r})"):
                _size_error(op, label, (i, known_axis, known), (i, axis, size), subscripts,
                            shape_map)
        for label, (axis, size) in mine.items():
            if label not in sizes:
                sizes[label], first[label] = size, (i, axis)
                continue
            known = sizes[label]
            was = (*first[label], known)
            what = (f"{_where(label, was)} agrees with size {size} in operands[{i}] axis {axis}"
                    f" (subscripts {subscripts!r})")
            if flavour == "numpy" or isinstance(label, tuple):
                mismatch = not broadcastable(op, shape_map, size, known, what)
            else:
                mismatch = differ(op, shape_map, size, known, what)
            if mismatch:
                _size_error(op, label, (*first[label], known), (i, axis, size), subscripts,
                            shape_map)
            if known == 1:  # a broadcast 1 takes the other size (0 included)
                sizes[label], first[label] = size, (i, axis)
    # -- output ------------------------------------------------------------------------------
    counts: dict[Hashable, int] = {}
    for term_ids in ids:
        for label in term_ids:
            counts[label] = counts.get(label, 0) + 1
    ell_out = [(ELLIPSIS, j) for j in range(n_ell)]
    if arrow:
        out_letters, out_ell = _split_term(op, rhs, "output", subscripts)
        for label in out_letters:
            if label not in counts:
                fail(op, f"output label {label!r} appears in no input term (subscripts "
                         f"{subscripts!r})", shape_map)
            if out_letters.count(label) > 1:
                fail(op, f"output label {label!r} appears more than once (subscripts "
                         f"{subscripts!r})", shape_map)
        if out_ell is None:
            out_ids = list(out_letters)
            if flavour == "tf" and n_ell:
                fail(op, f"the ellipsis stands for {n_ell} broadcast axes but the output "
                         f"{rhs!r} has no '...' (subscripts {subscripts!r})", shape_map)
        else:
            out_ids = out_letters[:out_ell] + ell_out + out_letters[out_ell:]
    else:
        once = sorted(c for c, n in counts.items() if isinstance(c, str) and n == 1)
        # TensorFlow keeps '...' in an implicit output only when one input term has it
        if flavour == "tf" and sum(ell is not None for _, ell in parsed) > 1:
            if n_ell:
                fail(op, f"implicit output has no '...' since several inputs have one, but the "
                         f"ellipsis stands for {n_ell} broadcast axes; write the output "
                         f"explicitly (subscripts {subscripts!r})", shape_map)
        out_ids = ell_out + once
    # -- terms: size-1 axes broadcast against a larger size are reshaped away ------------------
    terms = []
    for i, (term_ids, shape) in enumerate(zip(ids, shapes)):
        keep = [a for a, (label, size) in enumerate(zip(term_ids, shape))
                if size == sizes[label]]
        terms.append(Term(f"operands[{i}]", tuple(shape), tuple(term_ids[a] for a in keep),
                          tuple(shape[a] for a in keep)))
    return terms, tuple(out_ids), tuple(sizes[label] for label in out_ids)


def keep_letters(terms: Sequence[Sequence[Hashable]], output: Sequence[Hashable]):
    """Lettering for einsum plans: user letters stay; ellipsis axes take unused letters."""
    used = {i for ids in (*terms, output) for i in ids if isinstance(i, str)}
    spare = iter(c for c in LETTERS if c not in used)
    names: dict[Hashable, str] = {}
    for ids in (*terms, output):
        for i in ids:
            if i not in names:
                names[i] = i if isinstance(i, str) else next(spare, "")
    check_count(len(names))
    return (tuple("".join(names[i] for i in ids) for ids in terms),
            "".join(names[i] for i in output))


def contraction_path(op: str, subscripts: str, shapes: Sequence[tuple[int, ...]],
                     optimize: Any) -> tuple[tuple[int, int], ...] | None:
    """The pairwise contraction order for 3+ operands (``None`` for fewer), as opt_einsum
    computes it for ``optimize`` (``jnp.einsum``'s argument; ``False`` is left to right)."""
    n = len(shapes)
    if isinstance(optimize, (list, tuple)):  # checked whatever the count, as jnp.einsum does
        path = [step for step in optimize if not (isinstance(step, str) and step == "einsum_path")]
        for step in path:
            if not isinstance(step, (list, tuple)):
                fail(op, f"an explicit contraction path is a list of pairs of operand indices, "
                         f"e.g. [(0, 1), (0, 1)]; got step {step!r} in optimize={optimize!r}",
                     kind=TypeError)
        if n < 2:
            return None
    elif n < 3:
        return None
    if optimize is False:
        return ((0, 1),) * (n - 1)
    if isinstance(optimize, (list, tuple)):
        pass
    else:
        if optimize is None:  # opt_einsum reads None as its default, "auto"
            optimize = "auto"
        if optimize is True:
            optimize = "auto"
        if not isinstance(optimize, str):
            fail(op, f"optimize must be a bool, a str or an explicit path; got "
                     f"{type_name(optimize)}", kind=TypeError)
        try:
            # a symbolic size only prices the path here: it counts as large (_symbolic.HINT)
            priced = [tuple(map(hint, shape)) for shape in shapes]
            path, _ = opt_einsum.contract_path(subscripts, *priced, shapes=True,
                                               optimize=optimize)
        except (KeyError, ValueError, TypeError) as e:
            fail(op, f"optimize={optimize!r} is not an opt_einsum path strategy ({e})")
    remaining = n
    for step in path:
        if len(step) != 2 or not all(is_int(k) and 0 <= k < remaining for k in step) \
                or step[0] == step[1]:
            fail(op, f"the contraction path {list(path)!r} must contract two of the remaining "
                     f"operands at each step; got step {step!r}")
        remaining -= 1
    if remaining != 1:
        fail(op, f"the contraction path {list(path)!r} leaves {remaining} operands uncontracted")
    return tuple((int(i), int(j)) for i, j in path) if n >= 3 else None


def einsum_plan(op: str, shapes: tuple[tuple[int, ...], ...], subscripts: Any, optimize: Any,
                flavour: Flavour, dtype_policy: str = "jax", **options: Any) -> Plan:
    """The plan of an einsum call (the rule behind ``ops.einsum`` and ``tf.einsum``)."""
    if not shapes:
        fail(op, "needs at least one operand", kind=TypeError)
    terms, out_ids, out_shape = parse(op, subscripts, shapes, flavour)
    try:
        labels, output = keep_letters([t.ids for t in terms], out_ids)
    except TooManyLabels as e:
        fail(op, str(e), {t.name: t.shape for t in terms})
    plain = ",".join(labels) + "->" + output
    path = contraction_path(op, plain, [t.einsum_shape for t in terms], optimize)
    return make_plan(op, (("subscripts", subscripts),), terms, out_ids, out_shape,
                     lettering=lambda _terms, _out: (labels, output), path=path,
                     dtype_policy=dtype_policy, **options)
