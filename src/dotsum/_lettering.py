"""The lettering rule: how a plan's abstract axis labels become einsum letters.

Op rules describe a contraction with arbitrary hashable label ids; this module alone decides the
letters users read, so every op letters the same way.

The rule (documented in docs/design.md):

1. Summed labels (in some operand, not in the output) take ``k, l, m, …`` in order of first
   appearance, so contractions stand out: ``abk,cdkf->abcdf``.
2. Every other label is lettered by *position*: axis ``p`` of operand ``i`` takes letter number
   ``o_i + p`` of the free alphabet (``a–z`` then ``A–Z``, minus the summation letters in use),
   where ``o_i`` counts the output labels that operands ``0 … i-1`` introduced. A label already
   lettered by an earlier operand (a batch axis) keeps its letter. So an operand's letters say
   where its axes sit: in ``dot`` of ranks 3 and 4, ``y``'s last axis is ``f`` because it is
   ``y``'s fourth axis after ``x``'s two output axes ``a, b``.
3. If a positional letter is taken, the next free one is used; if the positions run past the
   alphabet, all free labels are lettered compactly in order of first appearance instead.
4. Einsum notation has 52 letters: a product with more distinct labels is a ``ValueError``.
"""

from __future__ import annotations

import string
from collections.abc import Hashable, Sequence

LETTERS = string.ascii_lowercase + string.ascii_uppercase
SUMMATION_LETTERS = LETTERS[10:] + LETTERS[:10]  # k, l, …, z, A, …, Z, a, …, j


class TooManyLabels(ValueError):
    """More distinct labels than einsum notation has letters."""


def check_count(distinct: int) -> None:
    """Raise :class:`TooManyLabels` if ``distinct`` labels cannot all get a letter."""
    if distinct > len(LETTERS):
        raise TooManyLabels(f"the product has {distinct} distinct axes; einsum notation has "
                            f"{len(LETTERS)} letters")


def letter(
    terms: Sequence[Sequence[Hashable]], output: Sequence[Hashable]
) -> tuple[tuple[str, ...], str]:
    """Letter each operand's label ids and the output's: ``(operand_labels, out_labels)``."""
    first_seen: dict[Hashable, None] = {}
    for ids in (*terms, output):
        first_seen.update(dict.fromkeys(ids))
    check_count(len(first_seen))
    out_ids = set(output)
    summed = [i for i in first_seen if i not in out_ids]
    names = dict(zip(summed, SUMMATION_LETTERS))
    free = [c for c in LETTERS if c not in names.values()]
    positional = _positional(terms, output, names, free)
    if positional is None:
        positional = dict(names)
        positional.update(zip((i for i in first_seen if i not in names), free))
    operand_labels = tuple("".join(positional[i] for i in ids) for ids in terms)
    return operand_labels, "".join(positional[i] for i in output)


def _positional(
    terms: Sequence[Sequence[Hashable]],
    output: Sequence[Hashable],
    summed: dict[Hashable, str],
    free: list[str],
) -> dict[Hashable, str] | None:
    names = dict(summed)
    used: set[str] = set()
    offset = 0
    for ids in (*terms, output):
        introduced = 0
        for position, i in enumerate(ids):
            if i in names:
                continue
            index = offset + position
            while index < len(free) and free[index] in used:
                index += 1
            if index >= len(free):
                return None
            names[i] = free[index]
            used.add(free[index])
            introduced += 1
        offset += introduced
    return names
