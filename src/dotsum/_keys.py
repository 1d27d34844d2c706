"""Cache keys: a static parameter becomes a hashable key *by value*, never by identity.

Python's equality is too kind for a cache: ``True == 1 == 1.0``, ``(True, 2) == (1, 2)``, and a
``list`` subclass (Keras 3's ``TrackedList``) is unhashable, so a key built from ``id()`` could
return the result of a list that was since mutated or garbage-collected. :func:`freeze` keeps the
type of every atom, freezes every list and tuple (subclasses too) by its content under a private
tag that no user value can equal, and refuses what it cannot key by value
(:class:`Unkeyable`): such a call is planned afresh every time instead of being cached.
"""

from __future__ import annotations

from typing import Any

# atoms that key as themselves: a value of another type that equals one (True == 1 == 1.0) is
# keyed with its type, so it cannot collide
_KEPT = frozenset({int, str, type(None)})


class Unkeyable(TypeError):
    """A value :func:`freeze` cannot key by value (unhashable, not a list or tuple)."""


class _Tag:
    """A marker inside frozen keys: private, so no value a user passes can equal it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


SEQUENCE = _Tag("sequence")


def freeze(value: Any) -> Any:
    """A hashable, type-faithful key for a static parameter.

    ``int``, ``str`` and ``None`` key as themselves (no value of another type equals them and
    hashes alike except ``True``/``1.0``, which are keyed with their type); lists and tuples, of
    any subclass, become ``(SEQUENCE, type, *frozen items)``; any other hashable value becomes
    ``(type, value)``. Raises :class:`Unkeyable` for anything else (a dict, an array, a set).

    >>> freeze([1, (True, "a")]) == freeze([1, (1, "a")])
    False
    >>> freeze(("x",)) == freeze(["x"])
    False
    """
    kind = type(value)
    if kind in _KEPT:
        return value
    if isinstance(value, (list, tuple)):
        return (SEQUENCE, kind, *[freeze(item) for item in value])
    try:
        hash(value)
    except TypeError:
        raise Unkeyable(f"cannot key a {kind.__name__} by value") from None
    return (kind, value)
