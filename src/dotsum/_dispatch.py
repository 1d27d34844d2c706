"""Compiled dispatch: everything about speed lives here.

An :class:`Op` pairs a *rule* (operand shapes + static params -> :class:`Plan`) with its caches:

* ``Op.plan`` memoises the rule (bounded, oldest entry evicted first), so planning runs once
  per distinct call;
* ``Op.__call__`` keeps a bounded dict from the call's key (operand shapes, static params,
  ``precision``, ``preferred_element_type``) straight to the plan's jitted executor, so an eager
  call on a cached plan costs a dict lookup on top of JAX's C++ dispatch;
* ``Op.fast2``, the default-argument call on two JAX arrays, skips even that: one ``jax.jit``
  per static params plans inside its trace, so JAX's C++ cache keys the operands.

Keys are built by value with :func:`~dotsum._keys.freeze` (or, for flat bool/int/str params, the
values with their types), which tells ``1`` from ``True`` and ``1.0`` (Python says they are
equal) and a list from its mutated self, so a cached call never lets through a value the rule
would reject nor returns another call's result.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import jax
import jax.numpy as jnp
from jax import lax

from dotsum._errors import ArgumentError, fail, type_name
from dotsum._jax import ARRAY_IMPL
from dotsum._keys import Unkeyable, freeze
from dotsum._lower import executor, run
from dotsum._options import normalize_dtype, normalize_precision
from dotsum._origin import register
from dotsum._plan import Plan
from dotsum._symbolic import Inconclusive, check_size, parse_shapes

PLAN_CACHE_SIZE = 4096
CALL_CACHE_SIZE = 4096
FAST_CACHE_SIZE = 4096  # as many as the general path keeps: an evicted jit compiles again

_OPS: weakref.WeakSet[Op] = weakref.WeakSet()


_FLAT = frozenset({bool, int, str, type(None)})  # static values keyed as they are, with types
# precision / preferred_element_type values that key as they are: no two of them are equal
# unless they mean the same (anything else, a list say, goes through freeze)
_ATOMS = frozenset({type(None), str, lax.Precision, lax.DotAlgorithmPreset})


def as_array(op: str, name: str, value: Any) -> jax.Array:
    """Convert a non-JAX operand (NumPy array, nested list, scalar) or say clearly why not."""
    try:
        return jnp.asarray(value)
    except (TypeError, ValueError, OverflowError) as e:
        reason = str(e).split("\n")[0]
        fail(
            op,
            f"{name} must be an array or a (non-ragged) nested list of numbers; "
            f"got {type_name(value)} ({reason})",
            kind=TypeError,
        )


class BoundedCache:
    """A dict that forgets its oldest entry when full. Lookups take no lock (a dict read is
    atomic); inserts and clears do."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self.data: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def put(self, key: Any, value: Any) -> Any:
        with self._lock:
            while len(self.data) >= self.maxsize:
                self.data.pop(next(iter(self.data)), None)
            self.data[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self.data.clear()

    def __len__(self) -> int:
        return len(self.data)


class Op:
    """One product: a planning rule plus compiled, cached dispatch.

    ``rule(op, *shapes, *static, precision=..., preferred_element_type=...)`` validates and
    returns a :class:`Plan`; it raises ``ValueError``/``TypeError`` with user-facing messages.
    """

    def __init__(self, name: str, rule: Callable[..., Plan], arg_names: Sequence[str] | None,
                 *, lists: bool = True, jax_kinds: bool = False):
        """``arg_names=None`` makes the op variadic: the rule then gets all shapes as one tuple
        first, and operands are called ``operands[i]`` in messages. ``lists=False`` refuses
        nested lists as operands, as ``jax.numpy`` does (arrays and scalars only).
        ``jax_kinds=True`` (the namespaces that reproduce JAX) raises the rule's ``ValueError``
        as :class:`~dotsum._errors.ArgumentError`, a ``TypeError`` too, as JAX's kinds are."""
        self.name = name
        self.lists = lists
        self.jax_kinds = jax_kinds
        self.arg_names = None if arg_names is None else tuple(arg_names)
        self._rule = rule
        self._plans = BoundedCache(PLAN_CACHE_SIZE)
        self._calls = BoundedCache(CALL_CACHE_SIZE)
        self._fast = BoundedCache(FAST_CACHE_SIZE)  # static params -> fast2's jax.jit
        _OPS.add(self)

    def plan(self, shapes: Sequence[Sequence[int]], static: Sequence[Any],
             precision: Any = None, preferred_element_type: Any = None) -> Plan:
        """The rule's plan for these shapes and params, memoised (by value: see ``_keys``).
        Sizes may be symbolic: JAX dimension expressions, or strings such as ``"b"`` that
        :func:`~dotsum._symbolic.parse_shapes` reads in one scope per call."""
        try:
            shapes = tuple(_shape(self.name, self._arg_name(i), s) for i, s in enumerate(shapes))
            try:
                key = (shapes, freeze(tuple(static)), freeze(precision),
                       freeze(preferred_element_type))
            except Unkeyable:  # planned afresh each time; the rule will most likely reject it
                return self._plan(shapes, static, precision, preferred_element_type)
            plan = self._plans.data.get(key)
            if plan is None:
                plan = self._plans.put(key, self._plan(shapes, static, precision,
                                                       preferred_element_type))
            return plan
        except (ValueError, TypeError) as e:
            if self.jax_kinds and type(e) is ValueError:
                raise ArgumentError(str(e)) from None
            raise e.with_traceback(None) from None  # end the traceback here, not in the rule

    def _plan(self, shapes: tuple[tuple[int, ...], ...], static: Sequence[Any], precision: Any,
              preferred_element_type: Any) -> Plan:
        names = [self._arg_name(i) for i in range(len(shapes))]
        shapes = parse_shapes(self.name, names, shapes)
        try:
            plan = self._rule(
                self.name, *((shapes,) if self.arg_names is None else shapes), *static,
                precision=normalize_precision(self.name, precision),
                preferred_element_type=normalize_dtype(self.name, preferred_element_type),
            )
        except Inconclusive as e:  # a comparison no rule asked through dotsum._symbolic
            fail(self.name, f"cannot decide a comparison of symbolic sizes "
                            f"({str(e).splitlines()[0]})", dict(zip(names, shapes)))
        # for dotsum.inspect; at planning, not only while tracing: JAX's trace cache compares
        # partials by value, so an executor rebuilt for an equal plan may never trace again
        register(plan)
        return plan

    def _arg_name(self, i: int) -> str:
        return f"operands[{i}]" if self.arg_names is None else self.arg_names[i]

    def __call__(self, arrays: Sequence[Any], static: tuple, precision: Any,
                 preferred: Any) -> jax.Array:
        """Run the op on ``arrays`` (one per operand) with static params ``static``.

        The hot path: one key ``(shapes, static, precision, preferred)``, one dict lookup, the
        jitted executor. Flat bool/int/str params key as their values plus their types;
        ``precision`` and ``preferred_element_type`` key as they are when they are ``None``, a
        str or a ``lax`` enum (no two such values are equal unless they mean the same); anything
        else goes through :func:`freeze`, and what it cannot key is planned afresh.
        """
        for a in arrays:
            if type(a) is not ARRAY_IMPL and not isinstance(a, jax.Array):  # cheap test first
                arrays = [self._as_array(i, a) for i, a in enumerate(arrays)]
                break
        try:
            if not static:
                frozen = ()
            elif _FLAT.issuperset(map(type, static)):  # bools, ints, strs: values and types
                frozen = (static, tuple(map(type, static)))
            else:
                frozen = tuple(map(freeze, static))
            key = (tuple([a.shape for a in arrays]), frozen,
                   precision if type(precision) in _ATOMS else freeze(precision),
                   preferred if type(preferred) in _ATOMS else freeze(preferred))
        except Unkeyable:
            plan = self.plan(tuple(a.shape for a in arrays), static, precision, preferred)
            fn = executor(plan)
        else:
            fn = self._calls.data.get(key)
            if fn is None:
                plan = self.plan(tuple(a.shape for a in arrays), static, precision, preferred)
                fn = self._calls.put(key, executor(plan))
        try:  # no frame of ours between the call and JAX's dispatch: a try costs nothing
            return fn(*arrays)
        except (ValueError, TypeError) as e:
            self._refused(e, arrays)

    def _refused(self, e: Exception, arrays: Sequence[Any]) -> NoReturn:
        """What JAX refused when it dispatched ``arrays`` (operands committed to different
        devices), re-raised as the same kind, named for the op, with every operand's shape
        (JAX's message names dotsum's executor, a ``functools.partial``)."""
        message = str(e).strip()
        if message.startswith(f"{self.name}:"):
            raise e
        shapes = {self._arg_name(i): a.shape for i, a in enumerate(arrays)}
        if "incompatible devices" in message:
            where = ", ".join(f"{self._arg_name(i)} on {_devices(a)}"
                              for i, a in enumerate(arrays))
            problem = (f"the operands are committed to different devices ({where}); "
                       "jax.device_put them onto one first")
        else:
            problem = message.splitlines()[0] if message else type(e).__name__
        fail(self.name, problem, shapes, kind=TypeError if isinstance(e, TypeError)
             and not isinstance(e, ValueError) else ValueError)

    def fast2(self, x: Any, y: Any, static: tuple = ()) -> jax.Array:
        """The hot path of a two-operand call whose public function has checked (by identity)
        that ``precision`` and ``preferred_element_type`` are None and that its static params
        are exactly ``static`` (values of fixed types, such as einsum's exact ``str``
        subscripts, so hashing them is as type-faithful as :func:`freeze`).

        Two concrete JAX arrays go to one ``jax.jit`` per static params, whose trace plans from
        the traced shapes: JAX's C++ dispatch then keys the call (shapes, dtypes, weak types,
        shardings) with no dotsum key in front of it but the static tuple's dict lookup. A
        call it refuses, any other operand, and tracers take the general path, whose errors
        are the op's own."""
        if type(x) is ARRAY_IMPL and type(y) is ARRAY_IMPL:
            fn = self._fast.data.get(static)
            if fn is None:
                fn = self._fast.put(static, jax.jit(functools.partial(self._traced2, static)))
            try:
                return fn(x, y)
            except (ValueError, TypeError):
                pass  # the general path below says what is wrong, in the op's own words
        return self((x, y), static, None, None)

    def _traced2(self, static: tuple, x: jax.Array, y: jax.Array) -> jax.Array:
        return run(self.plan((x.shape, y.shape), static), x, y)

    def _as_array(self, i: int, value: Any) -> jax.Array:
        if isinstance(value, jax.Array):
            return value
        if not self.lists and isinstance(value, (list, tuple)):
            fail(self.name, f"{self._arg_name(i)} must be an array or a scalar, as in jax.numpy "
                            f"(which refuses lists: pass jnp.asarray(...)); got "
                            f"{type_name(value)}", kind=TypeError)
        return as_array(self.name, self._arg_name(i), value)

    def cache_clear(self) -> None:
        self._calls.clear()
        self._plans.clear()
        self._fast.clear()

    def cache_size(self) -> int:
        """Distinct calls currently cached: the general path's (at most ``CALL_CACHE_SIZE``)
        and the fast path's compiled calls (at most ``FAST_CACHE_SIZE`` static params, each
        jit's own entries bounded by JAX)."""
        return len(self._calls) + sum(fn._cache_size() for fn in list(self._fast.data.values()))


def _devices(array: Any) -> str:
    try:
        return ", ".join(sorted(str(d) for d in array.devices()))
    except Exception:  # noqa: BLE001 - a tracer or an array without devices
        return "?"


def _shape(op: str, name: str, shape: Any) -> tuple[Any, ...]:
    """A plan's shape: a sequence of sizes, or what has a ``.shape`` (an array, a
    ``jax.ShapeDtypeStruct``), whose shape it then is."""
    if not isinstance(shape, (tuple, list)) and hasattr(shape, "shape"):
        shape = shape.shape
    if shape is None or isinstance(shape, str):
        fail(op, f"the shape of {name} must be a sequence of sizes; got {shape!r}",
             kind=TypeError)
    try:
        out = tuple(map(check_size, shape))
    except TypeError:
        if any(d is None for d in shape):
            fail(op, f"the shape of {name} has an unknown size (None): a plan needs every size; "
                     f"name an unknown one, e.g. \"b\" for a batch size; got {tuple(shape)!r}",
                 kind=TypeError)
        fail(op, f"the shape of {name} must be a sequence of ints or symbolic sizes (such as "
                 f"\"b\"), or an array; got {shape!r}", kind=TypeError)
    if any(type(d) is int and d < 0 for d in out):
        fail(op, f"the shape of {name} must have non-negative sizes; got {out}")
    return out


def clear_caches() -> None:
    """Forget every cached plan and compiled executor (they are rebuilt on demand)."""
    from dotsum._shard import _sharded  # imported here: sharding loads jax.sharding

    for op in list(_OPS):
        op.cache_clear()
    executor.cache_clear()
    _sharded.cache_clear()
