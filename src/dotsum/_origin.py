"""What a dotsum product says about itself in the program it emits.

Each executor runs under a name scope that names its op, its subscripts and its plan's
fingerprint: ``ops.matmul[ak,kc->ac]#5f3a09c2d1e4``. The scope travels with every equation the
executor traces (into the jaxpr, through ``vmap``, into a gradient's ``transpose(...)``) and
into the HLO's ``op_name`` metadata, so :func:`dotsum.inspect` reads a row's op and plan from
the row itself, whatever ran before. The fingerprint is a digest of the plan's value; the plans
alive are found by it in a weak table (filled when a plan is made or traced), so inspecting
holds no plan alive, and a plan equal by value to the one traced (rebuilt after a cache clear)
is found.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dotsum._plan import Plan

_PLANS: dict[str, weakref.WeakSet[Plan]] = {}

# op, subscripts, fingerprint; an op name is dotted words, with "[legacy]" for legacy batch_dot
_SCOPE = re.compile(r"([A-Za-z_][\w.]*(?:\[legacy\])?)\[([A-Za-z,.>-]*)\]#([0-9a-f]{12})")


def fingerprint(plan: Plan) -> str:
    """Twelve hex digits of a digest of the plan's value (equal plans, equal fingerprints). Not
    Python's ``hash``, which salts strings per process: the scope is in every HLO op's name, and
    the processes of a multi-process program must compile the same program (with per-process
    names, a cross-process all-reduce hung on JAX 0.12.1)."""
    return hashlib.blake2b(repr(plan).encode(), digest_size=6).hexdigest()


def scope(plan: Plan) -> str:
    """The name scope a plan's operations run under: ``keras.batch_dot[abk,ake->abe]#…``."""
    return f"{plan.op}[{plan.subscripts}]#{fingerprint(plan)}"


def register(plan: Plan) -> None:
    """Remember ``plan`` (weakly), so a row carrying its fingerprint can name it."""
    _PLANS.setdefault(fingerprint(plan), weakref.WeakSet()).add(plan)


def origin(name_stack: str) -> tuple[str | None, Plan | None]:
    """The dotsum op and plan whose executor emitted an equation with this name stack: the
    innermost dotsum scope in it (a product inside another op's executor is that op's). The
    plan is None only if no plan of that fingerprint is alive, or two unequal ones share it."""
    matches = list(_SCOPE.finditer(name_stack))
    if not matches:
        return None, None
    op, subscripts, digest = matches[-1].groups()
    plans = {p for p in list(_PLANS.get(digest, ())) if p.op == op and p.subscripts == subscripts}
    return op, (plans.pop() if len(plans) == 1 else None)
