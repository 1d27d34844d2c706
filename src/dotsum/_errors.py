"""Error messages: every one names the op, the argument, what was expected and what was received,
and ends with every operand's full shape, so users see their own call and not our internals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NoReturn

Shapes = Mapping[str, Sequence[int]]


class ArgumentError(ValueError, TypeError):
    """An argument ``dotsum.numpy`` or ``dotsum.lax`` refuses where dotsum's kind is
    ``ValueError``: also a ``TypeError``, because JAX raises ``TypeError`` for shape and axes
    mismatches (``dot_general``, ``tensordot``) and ``ValueError`` elsewhere, so a user's
    ``except TypeError`` and ``except ValueError`` both keep working, with dotsum's message."""


def describe_shapes(shapes: Shapes) -> str:
    """``"x.shape=(3, 4), y.shape=(4,)"`` for ``{"x": (3, 4), "y": (4,)}``."""
    return ", ".join(f"{name}.shape={tuple(shape)}" for name, shape in shapes.items())


def fail(op: str, problem: str, shapes: Shapes | None = None, *,
         kind: type = ValueError) -> NoReturn:
    """Raise ``kind`` in the house format: ``"op: problem (x.shape=..., y.shape=...)"``."""
    message = f"{op}: {problem}"
    if shapes:
        message += f" ({describe_shapes(shapes)})"
    raise kind(message) from None


def type_name(value: object) -> str:
    """A short description of a value's type for messages: ``'float 1.5'``, ``'str'``."""
    if isinstance(value, (bool, int, float)):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__
