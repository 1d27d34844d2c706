"""The products the benchmarks measure, and the peers that compute the same thing.

Not a benchmark itself: ``throughput.py``, ``ceiling.py``, ``memory.py`` and ``first_call.py``
take their cases from here. A :class:`Case` is a dotsum call at fixed shapes plus what its peers
need to compute the same result: an einsum string, a matmul form written once against a tiny
array namespace (``xp.matmul``, ``xp.transpose``) for jnp, ``keras.ops``, TensorFlow and NumPy,
whether ``numpy.dot`` semantics apply, and the ``batch_dot`` axes. :func:`contenders` turns a case
into named callables per framework; the scripts check every one against dotsum's result before
timing it. Only jax, NumPy and dotsum are imported here (the first-call children stay light).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

import common
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from dotsum import keras as K
from dotsum import ops
from dotsum import tf as dtf

Shape = tuple[int, ...]


def dims(shape: Shape) -> str:
    """``(10,12,4,5)``: a shape without spaces, for case names."""
    return "(" + ",".join(map(str, shape)) + ")"


@dataclasses.dataclass(frozen=True)
class Case:
    """One dotsum call at fixed shapes and how its peers express the same product."""

    name: str
    group: str  # seed | keras | batched | layout | einsum3 | sweep | gemm
    shapes: tuple[Shape, ...]
    op: Callable[..., Any]  # op(*arrays, precision=...) -> the dotsum result
    planner: Callable[[], Any]  # () -> dotsum.Plan
    einsum: str | None = None  # over the raw operands; None: the plan's, when that is plain
    matmul: Callable[..., Any] | None = None  # form(xp, *arrays) with xp.matmul / xp.transpose
    matmul_doc: str = ""
    numpy_dot: bool = False  # numpy.dot semantics: jnp.dot, keras.ops.dot, tf_keras K.dot
    batch_dot_axes: tuple[int, int] | None = None  # Keras Dot layer, tf_keras K.batch_dot
    size: int | None = None  # n, for square sweeps
    large: bool = False  # a large GEMM-like case (the "within 10% of the best GEMM" target)

    @property
    def plan(self):
        return self.planner()

    @property
    def flops(self) -> int:
        return self.plan.flops


@dataclasses.dataclass(frozen=True)
class Contender:
    """A peer: its name, the framework whose arrays it takes, and the function."""

    name: str
    framework: str  # jax | keras | tf | numpy
    fn: Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class XP:
    """The two array functions a matmul form needs, from one framework."""

    matmul: Callable[..., Any]
    transpose: Callable[..., Any]


# -- the cases ------------------------------------------------------------------------------------
def _sizes(platform: str, quick: bool) -> tuple[tuple[int, ...], int]:
    """(square sweep sizes, the smallest n that counts as a large GEMM) for this platform."""
    if platform == "cpu":
        return ((16, 64, 256, 1024) if quick else (16, 32, 64, 128, 256, 512, 1024, 2048)), 1024
    return ((64, 256, 1024, 4096) if quick
            else (64, 128, 256, 512, 1024, 2048, 4096, 8192)), 4096


def _mm(xp, x, y):
    return xp.matmul(x, y)


def _mm_t(xp, x, y):
    return xp.matmul(x, xp.transpose(y, (0, 2, 1)))


def _mm_heads(xp, x, y):
    return xp.matmul(xp.transpose(x, (0, 2, 1, 3)), xp.transpose(y, (0, 2, 3, 1)))


def _mm_heads_out(xp, x, y):
    return xp.transpose(xp.matmul(x, y), (1, 0, 2, 3))


def _mm_chain(xp, a, b, c):
    return xp.matmul(xp.matmul(a, b), c)


def _kdot(x_shape: Shape, y_shape: Shape, group: str, **kw: Any) -> Case:
    name = f"K.dot {dims(x_shape)}·{dims(y_shape)}"
    return Case(name, group, (x_shape, y_shape), K.dot,
                functools.partial(K.dot.plan, x_shape, y_shape), numpy_dot=True, **kw)


def _batch_dot(x_shape: Shape, y_shape: Shape, axes: Any, **kw: Any) -> Case:
    tag = f" axes={dims(axes)}" if axes is not None else ""
    legacy = kw.pop("legacy", False)
    name = f"K.batch_dot{' legacy' if legacy else ''} {dims(x_shape)}·{dims(y_shape)}{tag}"
    plan = functools.partial(K.batch_dot.plan, x_shape, y_shape, axes, legacy=legacy)
    resolved = None if legacy else dict(plan().params)["axes"]
    return Case(name, kw.pop("group", "seed"), (x_shape, y_shape),
                functools.partial(K.batch_dot, axes=axes, legacy=legacy), plan,
                batch_dot_axes=resolved, **kw)


def _einsum(subscripts: str, *shapes: Shape, group: str, **kw: Any) -> Case:
    shown = "·".join(dims(s) for s in shapes)
    return Case(f"ops.einsum '{subscripts}' {shown}", group, shapes,
                functools.partial(ops.einsum, subscripts),
                functools.partial(ops.einsum.plan, subscripts, *shapes), einsum=subscripts, **kw)


def _tf_matmul(a: Shape, b: Shape, **flags: bool) -> Case:
    tag = "".join(f" {k}" for k, v in flags.items() if v)
    return Case(f"tf.matmul {dims(a)}·{dims(b)}{tag}", "batched", (a, b),
                functools.partial(dtf.matmul, **flags),
                functools.partial(dtf.matmul.plan, a, b, **flags),
                matmul=_mm_t if flags.get("transpose_b") else _mm,
                matmul_doc="matmul(a, transpose(b))" if flags.get("transpose_b") else "")


def _square(n: int, large_n: int, group: str = "sweep") -> Case:
    if group == "gemm":
        return Case(f"ops.matmul ({n},{n})·({n},{n})", "gemm", ((n, n), (n, n)), ops.matmul,
                    functools.partial(ops.matmul.plan, (n, n), (n, n)), matmul=_mm, size=n,
                    large=True)
    return _kdot((n, n), (n, n), group, matmul=_mm, size=n, large=n >= large_n)


def throughput_cases(platform: str, quick: bool) -> list[Case]:
    """Tiny to compute-bound: the seed's calls, Keras-model shapes, batched matmuls, 3-operand
    einsums and a square ``K.dot`` sweep (sizes by platform)."""
    sweep, large_n = _sizes(platform, quick)
    cases = [
        _batch_dot((10, 12, 4, 5), (10, 12, 5, 8), None),
        _batch_dot((10, 12, 4, 5), (10, 12, 5, 8), None, legacy=True, matmul=_mm),
        _kdot((2, 3, 4), (7, 4, 5), "seed"),
        _kdot((256, 512), (512, 512), "keras", matmul=_mm),  # a Dense layer on B*T tokens
        _kdot((8, 128, 256), (256, 256), "keras", matmul=_mm),
    ]
    attention = [((32, 128, 64), (4, 128, 8, 64))]
    if not quick:
        attention.append(((64, 256, 64), (8, 256, 8, 64)))
    for bhtd, bthd in attention:  # scores q·k over D, per (batch·head)
        cases.append(_batch_dot(bhtd, bhtd, (2, 2), group="keras", matmul=_mm_t,
                                matmul_doc="matmul(x, transpose(y))"))
        cases.append(_einsum("bqhd,bkhd->bhqk", bthd, bthd, group="keras", matmul=_mm_heads,
                             matmul_doc="matmul(transpose(x), transpose(y))"))
    cases += [
        _tf_matmul((64, 128, 128), (64, 128, 128)),
        _tf_matmul((16, 256, 128), (16, 256, 128), transpose_b=True),
    ]
    # Layout-aware lowering: jnp.einsum's fixed choice copies the larger side into GEMM layout.
    cases += [
        # attention output, heads first: transpose the (small) result, not the scores
        _einsum("bhqk,bhkd->hbqd", (4, 8, 256, 256), (4, 8, 256, 64), group="layout",
                matmul=_mm_heads_out, matmul_doc="transpose(matmul(x, y))"),
        # a projection contracting two axes (heads, depth) that both operands order alike
        _einsum("nhd,hdu->nu", (512, 16, 64), (16, 64, 1024), group="layout"),
    ]
    chain = dict(matmul=_mm_chain, matmul_doc="matmul(matmul(a, b), c)")
    for n in ((256,) if quick else (64, 256, 1024)):
        cases.append(_einsum("ij,jk,kl->il", (n, n), (n, n), (n, n), group="einsum3",
                             size=n, large=n >= large_n, **chain))
    cases.append(_einsum("ij,jk,kl->il", (512, 16), (16, 512), (512, 512), group="einsum3",
                         **chain))
    cases += [_square(n, large_n) for n in sweep]
    return cases


def gemm_cases(platform: str) -> list[Case]:
    """The large square GEMMs whose best speed is the machine's practical ceiling."""
    return [_square(n, 0, "gemm") for n in ((1024, 2048) if platform == "cpu" else (4096, 8192))]


def find(name: str, platform: str) -> Case:
    for case in throughput_cases(platform, quick=False) + gemm_cases(platform):
        if case.name == name:
            return case
    raise KeyError(f"no case named {name!r}")


# -- contenders -----------------------------------------------------------------------------------
def plain_subscripts(plan: Any) -> str | None:
    """The plan's einsum string when it applies to the raw operands (no operand reshape,
    conjugate or normalise, no output reshape), else None."""
    if any(o.reshaped or o.conj or o.normalize for o in plan.operands):
        return None
    return plan.subscripts if plan.einsum_out_shape == plan.out_shape else None


def plain_einsum(case: Case) -> str | None:
    """The einsum over the raw operands: the case's, or the plan's when it is plain."""
    return case.einsum or plain_subscripts(case.plan)


def bare_dot_general(plan: Any, precision: Any) -> Callable[..., Any] | None:
    """``lax.dot_general`` with the plan's dimension numbers on the raw operands, where that one
    call is the whole lowering (the same HLO as dotsum's: its ratio shows the measurement
    noise), else None."""
    low = plan.lowering
    if (plain_subscripts(plan) is None or low.transpose is not None or len(low.contractions) != 1
            or any(p.sum_axes or p.diagonals or p.squeeze for p in low.prepare)):
        return None
    (step,) = low.contractions
    if step.lhs_perm or step.rhs_perm or step.broadcast:  # not one bare dot_general
        return None
    return lambda *a: lax.dot_general(a[step.lhs], a[step.rhs], step.dimension_numbers,
                                      precision=precision)


def jax_contenders(case: Case, precision: Any) -> list[Contender]:
    subs = plain_einsum(case)
    out = [Contender("dotsum", "jax", functools.partial(case.op, precision=precision))]
    if subs:
        out.append(Contender("jnp.einsum", "jax",
                             lambda *a: jnp.einsum(subs, *a, precision=precision)))
    if case.matmul:
        xp = XP(functools.partial(jnp.matmul, precision=precision), jnp.transpose)
        out.append(Contender("jnp.matmul", "jax", functools.partial(case.matmul, xp)))
    if case.numpy_dot:
        out.append(Contender("jnp.dot", "jax", functools.partial(jnp.dot, precision=precision)))
    dg = bare_dot_general(case.plan, precision)
    if dg:
        out.append(Contender("lax.dot_general", "jax", dg))
    return out


def keras_contenders(case: Case, keras: Any) -> list[Contender]:
    out = []
    subs = plain_einsum(case)
    if subs:
        out.append(Contender("keras.ops.einsum", "keras",
                             lambda *a: keras.ops.einsum(subs, *a)))
    if case.matmul:
        xp = XP(keras.ops.matmul, keras.ops.transpose)
        out.append(Contender("keras.ops.matmul", "keras", functools.partial(case.matmul, xp)))
    if case.numpy_dot:
        out.append(Contender("keras.ops.dot", "keras", keras.ops.dot))
    if case.batch_dot_axes:
        layer = keras.layers.Dot(axes=case.batch_dot_axes)
        out.append(Contender("keras Dot layer", "keras", lambda x, y: layer([x, y])))
    return out


def tf_contenders(case: Case, tf: Any, tf_keras: Any) -> list[Contender]:
    out = []
    subs = plain_einsum(case)
    if subs:
        out.append(Contender("tf.einsum", "tf", lambda *a: tf.einsum(subs, *a)))
    if case.matmul:
        xp = XP(tf.linalg.matmul, tf.transpose)
        out.append(Contender("tf.matmul", "tf", functools.partial(case.matmul, xp)))
    if tf_keras is not None and case.numpy_dot:
        out.append(Contender("tf_keras K.dot", "tf", tf_keras.backend.dot))
    if tf_keras is not None and case.batch_dot_axes:
        axes = case.batch_dot_axes
        out.append(Contender("tf_keras K.batch_dot", "tf",
                             lambda x, y: tf_keras.backend.batch_dot(x, y, axes=axes)))
    return out


def numpy_contenders(case: Case) -> list[Contender]:
    out = []
    subs = plain_einsum(case)
    if subs:
        out.append(Contender("np.einsum", "numpy",
                             lambda *a: np.einsum(subs, *a, optimize=True)))
    if case.matmul:
        out.append(Contender("np.matmul", "numpy",
                             functools.partial(case.matmul, XP(np.matmul, np.transpose))))
    if case.numpy_dot:
        out.append(Contender("np.dot", "numpy", np.dot))
    return out


def contenders(case: Case, mods: dict[str, Any], precision: Any,
               frameworks: tuple[str, ...] = ("jax", "keras", "tf", "numpy")) -> list[Contender]:
    """dotsum first, then every peer of ``frameworks`` that is installed."""
    out = jax_contenders(case, precision) if "jax" in frameworks else []
    if "keras" in frameworks and "keras" in mods:
        out += keras_contenders(case, mods["keras"])
    if "tf" in frameworks and "tf" in mods:
        out += tf_contenders(case, mods["tf"], mods.get("tf_keras"))
    if "numpy" in frameworks:
        out += numpy_contenders(case)
    return out


# -- inputs ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Inputs:
    """The same values as NumPy, JAX (on the default device) and TensorFlow arrays."""

    np: tuple[np.ndarray, ...]
    jax: tuple[jax.Array, ...]
    tf: tuple[Any, ...] | None


def make_inputs(case: Case, dtype: str, tf: Any = None, seed: int = 0) -> Inputs:
    rng = np.random.default_rng(seed)
    host = tuple(rng.standard_normal(s).astype(np.float32) for s in case.shapes)
    jdt = jnp.dtype(common.DTYPES[dtype])
    arrays = jax.block_until_ready(tuple(jnp.asarray(a, dtype=jdt) for a in host))
    tf_arrays = None
    if tf is not None:
        tf_arrays = tuple(tf.constant(a, dtype=tf.as_dtype(common.DTYPES[dtype])) for a in host)
    return Inputs(host if dtype == "f32" else tuple(np.asarray(a) for a in arrays), arrays,
                  tf_arrays)


_METADATA = re.compile(r",? metadata=\{[^}]*\}")
_NAME = re.compile(r"%[\w.\-]+")
_PARAM = re.compile(r"([(,]\s*)[\w.\-]+:\s")  # parameter names in computation signatures


def program_fingerprint(fn: Callable[..., Any], args: tuple[Any, ...]) -> str:
    """A hash of ``jit(fn)``'s optimised HLO with names, source locations and metadata removed:
    two contenders with equal fingerprints run the very same program, so any gap in their
    timings is measurement noise."""
    text = jax.jit(fn).lower(*args).compile().as_text()
    first = re.search(r"^(%|ENTRY )", text, re.M)  # skip the module header and source tables
    body = text[first.start():] if first else text
    body = _PARAM.sub(r"\1", _METADATA.sub("", body))
    names: dict[str, str] = {}
    body = _NAME.sub(lambda m: names.setdefault(m.group(0), f"%v{len(names)}"), body)
    return hashlib.sha1(body.encode()).hexdigest()[:12]


def abstract_args(case: Case, dtype: str) -> tuple[jax.ShapeDtypeStruct, ...]:
    """Shape-only arguments, for lowering without allocating."""
    jdt = jnp.dtype(common.DTYPES[dtype])
    return tuple(jax.ShapeDtypeStruct(s, jdt) for s in case.shapes)
