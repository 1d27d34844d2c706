"""``dotsum`` on the command line: what einsum does a call become, and what will it cost?

    dotsum list
    dotsum explain keras.dot 2,3,4 7,6,4,5
    dotsum explain keras.batch_dot 10,12,4,5 10,12,5,8 --legacy
    dotsum explain keras.batch_dot b,12,4,5 b,12,5,8 --legacy
    dotsum explain tf.matmul 8,2,3 8,4,3 --transpose-b --hlo
    dotsum explain ops.einsum 'bqhd,bkhd->bhqk' 2,16,8,64 2,16,8,64 --time
    dotsum explain ops.einsum 'bqhd,bkhd->bhqk' 2,16,8,64 2,16,8,64 --platform tpu --hlo
    dotsum explain keras.dot 4096,4096 4096,4096 --device h100 --dtype bfloat16
    dotsum explain numpy.matmul b,12,4,5 b,12,5,8
    dotsum explain lax.dot_general 8,2,3 3,8,5 --dimension-numbers '((2,),(0,)),((0,),(1,))'
    dotsum explain keras.batch_dot 8,6,4 8,4,2 --mesh data=4,model=2 --shard a=data,k=model
    dotsum inspect mymodel:forward --args 'f32[8,128,512]' 'f32[512,512]' [--grad]

A shape is comma-separated sizes (``2,3,4``); ``()`` or an empty string is a 0-D operand. A size
may be a name or an expression of names (``b,12,4,5``, ``2*b,3``): the plan is then symbolic, as
under ``jax.export`` (``--time`` and ``--hlo`` need numbers).
``inspect`` takes a function importable from the current directory (``module:function``) and
one ``DTYPE[SHAPE]`` per positional argument (``f32[8,128]``, ``bf16[]``; dtypes as NumPy spells
them or abbreviated: f16 bf16 f32 f64 i8 i16 i32 i64 u8 u16 u32 u64 c64 c128 bool).
Bad input prints one line saying what was wrong and exits with status 2.
"""

from __future__ import annotations

import argparse
import ast
import math
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dotsum import keras, ops, tf
from dotsum import lax as dlax
from dotsum import numpy as dnp
from dotsum._layout import current_platform
from dotsum._plan import Plan
from dotsum._symbolic import count, is_symbolic


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


# name -> (the op, which extra options it takes, whether its first argument is an equation)
OPS: dict[str, tuple[Callable[..., Any], tuple[str, ...], bool]] = {
    "keras.dot": (keras.dot, (), False),
    "keras.batch_dot": (keras.batch_dot, ("axes", "legacy"), False),
    "keras.Dot": (keras.Dot, ("axes", "normalize"), False),
    "tf.matmul": (tf.matmul, ("transpose_a", "transpose_b", "adjoint_a", "adjoint_b"), False),
    "tf.matvec": (tf.matvec, ("transpose_a", "adjoint_a"), False),
    "tf.tensordot": (tf.tensordot, ("axes",), False),
    "tf.einsum": (tf.einsum, (), True),
    "ops.dot": (ops.dot, (), False),
    "ops.matmul": (ops.matmul, (), False),
    "ops.tensordot": (ops.tensordot, ("axes",), False),
    "ops.inner": (ops.inner, (), False),
    "ops.outer": (ops.outer, (), False),
    "ops.vdot": (ops.vdot, (), False),
    "ops.einsum": (ops.einsum, (), True),
    **{f"numpy.{name}": (getattr(dnp, name), ("axes",) if name == "tensordot" else (), False)
       for name in ("dot", "matmul", "tensordot", "inner", "outer", "vdot", "vecdot", "matvec",
                    "vecmat")},
    "numpy.einsum": (dnp.einsum, (), True),
    "lax.dot_general": (dlax.dot_general, ("dimension_numbers",), False),
}


_SIZE = r"-?\d+|[\w+\-*/%() ]*[A-Za-z_][\w+\-*/%() ]*"  # an int, or an expression of names


def parse_shape(text: str) -> tuple[int | str, ...]:
    """``'2,3,4'`` -> ``(2, 3, 4)``; ``''`` or ``'()'`` -> ``()``; a size that is not an int is
    a symbolic size (``'b,12,4'`` -> ``('b', 12, 4)``), which the plan parses."""
    body = text.strip().strip("()[] ")
    if not body:
        return ()
    parts = [part.strip() for part in body.split(",") if part.strip() != ""]
    if not all(re.fullmatch(_SIZE, part) for part in parts):
        raise UsageError(f"malformed shape {text!r}: expected comma-separated sizes such as "
                         "2,3,4 (or names such as b,12,4)")
    sizes = tuple(int(part) if re.fullmatch(r"-?\d+", part) else part for part in parts)
    if any(isinstance(size, int) and size < 0 for size in sizes):
        raise UsageError(f"malformed shape {text!r}: sizes must be non-negative")
    return sizes


def parse_axes(text: str | None, flag: str = "--axes") -> Any:
    """``'1'`` -> 1, ``'2,1'`` -> (2, 1), ``'[1,2],[1,0]'`` -> ([1, 2], [1, 0])."""
    if text is None:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        example = ("1, 2,1 or '[1,2],[1,0]'" if flag == "--axes" else
                   "'((1,),(0,)),((),())'")
        raise UsageError(f"malformed {flag} {text!r}: expected e.g. {example}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dotsum", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every op with a one-line description")
    explain = sub.add_parser("explain", help="print the plan of one call")
    explain.add_argument("op", help="e.g. keras.batch_dot; see `dotsum list`")
    explain.add_argument("args", nargs="*", help="operand shapes (an equation first for einsum)")
    explain.add_argument("--axes", help="batch_dot / tensordot axes, e.g. 1, 2,1, "
                                        "'[1,2],[1,0]' (negative: --axes=-2,-1)")
    explain.add_argument("--dimension-numbers", help="lax.dot_general, e.g. "
                                                     "'((2,),(1,)),((0,),(0,))'")
    explain.add_argument("--legacy", action="store_true", help="batch_dot: Keras <= 2.2.4")
    explain.add_argument("--normalize", action="store_true", help="keras.Dot: L2-normalise")
    for flag in ("transpose-a", "transpose-b", "adjoint-a", "adjoint-b"):
        explain.add_argument(f"--{flag}", action="store_true", help=f"tf.matmul: {flag}")
    explain.add_argument("--dtype", default="float32", help="operand dtype (default float32)")
    explain.add_argument("--precision", help="lax precision: default, high or highest")
    explain.add_argument("--mesh", help="a device mesh to describe sharding on, e.g. "
                                        "data=4,model=2 (no devices needed)")
    explain.add_argument("--shard", help="labels to shard with --mesh, e.g. a=data,k=model")
    explain.add_argument("--platform", help="describe the lowering for cpu, cuda, rocm or tpu "
                                            "(default: this machine's; no device needed)")
    explain.add_argument("--device", help="print the roofline on a device of dotsum.devices "
                                          "(h100, tpu-v5e, ...) or on 'all' of them")
    explain.add_argument("--jaxpr", action="store_true", help="print the traced jaxpr")
    explain.add_argument("--hlo", action="store_true", help="print the optimized HLO")
    explain.add_argument("--time", action="store_true", help="compile, run and time it")
    inspect = sub.add_parser("inspect", help="every contraction a JAX function runs")
    inspect.add_argument("function", help="module:function, importable from the current "
                                          "directory")
    inspect.add_argument("--args", nargs="*", default=[], metavar="DTYPE[SHAPE]",
                         help="one abstract array per positional argument, e.g. f32[8,128]")
    inspect.add_argument("--grad", action="store_true",
                         help="inspect the gradient of the sum of its output instead")
    inspect.add_argument("--plot", metavar="PNG", help="also draw the FLOP shares (matplotlib)")
    return parser


_ABBREVIATIONS = {"f16": "float16", "bf16": "bfloat16", "f32": "float32", "f64": "float64",
                  "c64": "complex64", "c128": "complex128", **{
                      f"{k}{n}": f"{name}{n}" for k, name in (("i", "int"), ("u", "uint"))
                      for n in (8, 16, 32, 64)}}


def parse_abstract(text: str, scope: Any = None):
    """``'f32[8,128]'`` -> ``jax.ShapeDtypeStruct((8, 128), float32)``; a size may be symbolic
    (``'f32[b,128]'``), read in ``scope`` (a ``jax.export.SymbolicScope``: the same name is the
    same size in every argument)."""
    import jax

    name, bracket, rest = text.strip().partition("[")
    if not bracket or not rest.endswith("]"):
        raise UsageError(f"malformed --args {text!r}: expected DTYPE[SHAPE], e.g. f32[8,128]")
    dtype = _dtype(_ABBREVIATIONS.get(name.strip(), name.strip()))
    shape = parse_shape(rest[:-1])
    if any(isinstance(d, str) for d in shape):
        try:
            shape = jax.export.symbolic_shape(",".join(map(str, shape)), scope=scope)
        except Exception as e:  # noqa: BLE001 - JAX's parser raises several kinds
            raise UsageError(f"malformed --args {text!r}: {str(e).splitlines()[0]}") from None
    return jax.ShapeDtypeStruct(shape, dtype)


def _inspect(args: argparse.Namespace) -> str:
    import importlib

    import jax

    from dotsum._inspect import inspect

    module, sep, name = args.function.partition(":")
    if not sep or not module or not name:
        raise UsageError(f"malformed function {args.function!r}: expected module:function")
    sys.path.insert(0, ".")
    try:
        fn = getattr(importlib.import_module(module), name)
    except Exception as e:  # noqa: BLE001 - the user's module may raise anything on import
        raise UsageError(f"cannot import {args.function!r}: {type(e).__name__}: {e}") from None
    finally:
        sys.path.remove(".")
    scope = jax.export.SymbolicScope()
    abstract = [parse_abstract(a, scope) for a in args.args]
    if args.grad:
        target = fn
        fn = jax.grad(lambda *a: target(*a).sum(), argnums=tuple(range(len(abstract))))
    report = inspect(fn, *abstract)
    if args.plot:
        try:
            report.plot(args.plot)
        except (ImportError, OSError) as e:  # no matplotlib, a folder that is not there
            print(report)  # the table is still the answer; the plot alone failed
            raise UsageError(f"--plot {args.plot}: {e}") from None
    return str(report)


def _call_args(name: str, args: argparse.Namespace) -> tuple[list[Any], dict[str, Any]]:
    """The op's positional arguments (shapes, or an equation then shapes) and keywords."""
    op, options, equation = OPS[name]
    positional: list[Any] = list(args.args)
    if equation:
        if not positional:
            raise UsageError(f"{name} needs an equation, e.g. {name} 'ij,jk->ik' 2,3 3,4")
        positional = [positional[0], *map(parse_shape, positional[1:])]
    else:
        positional = [parse_shape(p) for p in positional]
        if len(positional) != 2:
            raise UsageError(f"{name} takes 2 shapes; got {len(positional)}")
    keywords: dict[str, Any] = {}
    given = {"axes": args.axes is not None, "legacy": args.legacy, "normalize": args.normalize,
             "dimension_numbers": args.dimension_numbers is not None,
             **{flag: getattr(args, flag) for flag in OPS["tf.matmul"][1]}}
    for option, on in given.items():
        if on and option not in options:
            raise UsageError(f"{name} has no option --{option.replace('_', '-')}")
        if on:
            keywords[option] = (parse_axes(args.axes) if option == "axes" else
                                parse_axes(args.dimension_numbers, "--dimension-numbers")
                                if option == "dimension_numbers" else True)
    if "dimension_numbers" in options and "dimension_numbers" not in keywords:
        raise UsageError(f"{name} needs --dimension-numbers, e.g. '((1,),(0,)),((),())'")
    if args.precision:
        keywords["precision"] = args.precision
    return positional, keywords


def _planner(name: str, keywords: dict[str, Any]) -> Callable[..., Plan]:
    """The op's ``plan``; the ``Dot`` layer is built from its options first."""
    if name != "keras.Dot":
        return OPS[name][0].plan
    if "axes" not in keywords:
        raise UsageError("keras.Dot needs --axes")
    layer = keras.Dot(keywords.pop("axes"), normalize=keywords.pop("normalize", False))
    return layer.plan


def _dtype(text: str) -> np.dtype:
    """An operand dtype JAX has arrays of (numbers and bool)."""
    import jax
    import jax.numpy as jnp

    try:
        dtype = np.dtype(jnp.dtype(text))
        jax.dtypes.result_type(dtype)  # refuses what JAX has no arrays of: str, float128
    except Exception:  # noqa: BLE001 - NumPy raises anything for odd dtype names
        raise UsageError(f"unknown --dtype {text!r}") from None
    return dtype


def summary(fn: Callable[..., Any]) -> str:
    """The first sentence of an op's docstring, without reST markup."""
    paragraph = " ".join((fn.__doc__ or "").strip().split("\n\n")[0].split())
    sentence = paragraph.split(". ")[0].rstrip(".") + "."
    return sentence.replace("``axes``", "N").replace("``", "")


def explain(plan: Plan, dtype: np.dtype, platform: str | None = None,
            devices: Sequence[str] = ()) -> str:
    """``plan.describe(platform)`` plus memory traffic and arithmetic intensity for ``dtype``
    operands, and a ``roofline`` line per device."""
    from dotsum.devices import traffic

    moved, operand, out = traffic(plan, dtype)
    width = _width(plan)
    what = (f"{operand.name} operands read once, {out.name} result written once" if operand != out
            else f"{operand.name}: operands read once, result written once")
    lines = [plan.describe(platform), f"  {'bytes':<{width}}  {count(moved)} ({what})"]
    if not is_symbolic(moved):  # a ratio of polynomials has no one value
        intensity = plan.flops / moved if moved else float("nan")
        lines.append(f"  {'flop/B':<{width}}  {intensity:.2f}")
    for device in devices:
        try:
            lines.append(f"  {'roofline':<{width}}  {plan.roofline(device, dtype)}")
        except ValueError as e:
            lines.append(f"  {'roofline':<{width}}  {device}: {str(e).split(': ', 1)[-1]}")
    return "\n".join(lines)


def _width(plan: Plan) -> int:
    return max(6, *(len(o.name) for o in plan.operands))


def _devices(text: str | None) -> list[str]:
    """``--device``: one name of dotsum.devices, or ``all``."""
    from dotsum import devices

    if not text:
        return []
    if text.strip().lower() == "all":
        return list(devices.DEVICES)
    try:
        return [devices.get(text).name]
    except ValueError as e:
        raise UsageError(str(e).removeprefix("dotsum.devices: ")) from None


def _platform(text: str | None) -> str | None:
    from dotsum._layout import PLATFORMS

    if text is None:
        return None
    if text not in PLATFORMS:
        raise UsageError(f"unknown --platform {text!r}; one of: {', '.join(PLATFORMS)}")
    return text


def _pairs(text: str | None, option: str) -> dict[str, str]:
    """``'a=data,k=model'`` -> ``{'a': 'data', 'k': 'model'}``."""
    pairs = {}
    for item in filter(None, (text or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"malformed {option} {text!r}: expected name=value pairs, e.g. "
                             + ("data=4,model=2" if option == "--mesh" else "a=data,k=model"))
        pairs[key.strip()] = value.strip()
    return pairs


def _sharding(plan: Plan, mesh_text: str | None, shard_text: str | None) -> str:
    """``plan.describe_sharding`` on an abstract mesh given as ``data=4,model=2``."""
    from jax.sharding import AbstractMesh

    if not mesh_text:
        raise UsageError("--shard needs --mesh, e.g. --mesh data=4,model=2")
    axes = _pairs(mesh_text, "--mesh")
    try:
        sizes = tuple(int(v) for v in axes.values())
    except ValueError:
        sizes = ()
    if len(sizes) != len(axes) or min(sizes, default=0) < 1:
        raise UsageError(f"malformed --mesh {mesh_text!r}: sizes must be ints >= 1")
    mesh = AbstractMesh(sizes, tuple(axes))
    try:
        return plan.describe_sharding(mesh, **_pairs(shard_text, "--shard"))
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from None


def _specs(plan: Plan, dtype: np.dtype):
    import jax

    return [jax.ShapeDtypeStruct(o.shape, dtype) for o in plan.operands]


def _time(plan: Plan, dtype: np.dtype) -> str:
    import jax

    from dotsum import devices
    from dotsum._lower import executor

    fn = executor(plan)
    rng = np.random.default_rng(0)
    arrays = [jax.device_put(rng.standard_normal(o.shape).astype(dtype)) for o in plan.operands]
    start = time.perf_counter()
    fn(*arrays).block_until_ready()
    first = time.perf_counter() - start
    runs = []
    for _ in range(30):
        start = time.perf_counter()
        fn(*arrays).block_until_ready()
        runs.append(time.perf_counter() - start)
    median = statistics.median(runs)
    rate = plan.flops / median / 1e9 if median else float("nan")
    width = _width(plan)
    kind = jax.devices()[0].device_kind
    text = (f"  {'time':<{width}}  first call {first * 1e3:.1f} ms (trace + compile); then median "
            f"{median * 1e6:.1f} us over 30 calls = {rate:.2f} GFLOP/s on {kind}")
    device = devices.detect(kind)
    if device is not None and median:
        try:
            ideal = plan.roofline(device, dtype)
        except ValueError as e:
            return f"{text}\n  {'roofline':<{width}}  {e}"
        text += (f"\n  {'roofline':<{width}}  {ideal}\n  {'':<{width}}  measured: "
                 f"{100 * ideal.seconds / median:.3g}% of the roofline")
    return text


def _exported(plan: Plan, specs, platform: str) -> str:
    """The StableHLO ``jax.export`` emits for ``platform`` (no such device needed)."""
    import jax
    from jax import export

    from dotsum._lower import executor

    text = export.export(jax.jit(executor(plan)), platforms=(platform,))(*specs).mlir_module()
    text = "\n".join(re.sub(r" loc\(#loc\d*\)", "", line) for line in text.splitlines()
                     if not line.startswith("#loc"))
    transposes = text.count("stablehlo.transpose")
    return (f"\nStableHLO exported for {platform}:\n{text}\ntransposes in it: {transposes} "
            f"(the plan emits {len(plan.lowering_for(platform).moves)})")


def run(argv: Sequence[str] | None = None) -> str:
    """The CLI's output for ``argv``; raises :class:`UsageError` for bad input. No command at
    all prints the help."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        return _parser().format_help().rstrip()
    args = _parser().parse_args(argv)
    if args.command == "list":
        width = max(map(len, OPS))
        return "\n".join(f"{name:<{width}}  {summary(fn)}" for name, (fn, _, _) in OPS.items())
    if args.command == "inspect":
        return _inspect(args)
    if args.op not in OPS:
        raise UsageError(f"unknown op {args.op!r}; one of: {', '.join(OPS)}")
    positional, keywords = _call_args(args.op, args)
    dtype = _dtype(args.dtype)
    try:
        plan = _planner(args.op, keywords)(*positional, **keywords)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from None
    platform = _platform(args.platform)
    symbols = list(dict.fromkeys(str(d) for o in plan.operands for d in o.shape
                                 if is_symbolic(d)))
    for option in ("hlo", "time"):
        if getattr(args, option) and symbols:
            raise UsageError(f"--{option} compiles the plan and needs concrete sizes; "
                             f"{', '.join(symbols)} {'is' if len(symbols) == 1 else 'are'} "
                             "symbolic (give numbers, or use --jaxpr to see the symbolic program)")
    out = [explain(plan, dtype, platform, _devices(args.device))]
    if args.mesh or args.shard:
        out.append("\n" + _sharding(plan, args.mesh, args.shard))
    if args.jaxpr or args.hlo:
        import jax

        from dotsum._lower import executor

        specs = _specs(plan, dtype)
        if args.jaxpr:
            out.append(f"\njaxpr:\n{jax.make_jaxpr(executor(plan))(*specs)}")
        if args.hlo and platform is not None and platform != current_platform():
            out.append(_exported(plan, specs, platform))
        elif args.hlo:
            from dotsum._hlo import layout_copies

            hlo = jax.jit(executor(plan)).lower(*specs).compile().as_text()
            copies = layout_copies(hlo)
            out.append(f"\noptimized HLO ({jax.devices()[0].platform}):\n{hlo}")
            out.append(f"layout copies in it: {copies or 'none'} = "
                       f"{sum(math.prod(c) for c in copies):,} elements "
                       f"(the plan predicts {plan.lowering.moved:,})")
    if args.time:
        if platform is not None and platform != current_platform():
            raise UsageError(f"--time runs here, on {current_platform()}; it cannot time "
                             f"--platform {platform} (drop --time, or use --hlo to see what "
                             "is emitted)")
        out.append(_time(plan, dtype))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; any user error (bad arguments, or a ValueError/TypeError a dotsum call
    raises for them) prints one line and returns 2."""
    try:
        print(run(argv))
    except (UsageError, ValueError, TypeError) as e:
        print(f"dotsum: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}",
              file=sys.stderr)
        return 2
    return 0
