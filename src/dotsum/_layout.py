"""Layout models: how one pairwise contraction is laid out for ``dot_general``, per platform.

A model answers, for one step ``x · y`` (labels), which operand goes first, the order of the
batch and contracted axes, which operands are transposed first, and whether the result still
needs a transpose into the output order. Two models:

``cpu`` (measured on XLA:CPU). XLA:CPU runs a ``dot_general`` as a GEMM only on operands laid
out ``batch…, free…, contracted…`` (lhs) and ``batch…, contracted…, free…`` (rhs), one free and
one contracted axis also the other way round; it copies any other operand into that form, and
any other output order costs a copy of the result. :func:`contract_cpu` tries both operand
orders, three batch orders and two contracted orders and keeps the one that copies the fewest
elements, bare (XLA copies itself) unless explicit transposes copy strictly less; either way
the plan lists every element XLA moves.

``xla`` (cuda, rocm, tpu). cuBLAS takes transposed operands and XLA:TPU picks MXU layouts
itself: XLA's own layout assignment decides better than a CPU price list, so
:func:`contract_xla` never transposes an operand and emits a result transpose only where no
operand and batch order gives the output order, as ``jnp.einsum`` does. No measurement on these
platforms has shown a better rule yet (docs/design.md).
"""

from __future__ import annotations

import math

# platform (as jax.export and lax.platform_dependent name it) -> layout model
MODELS = {"cpu": "cpu", "cuda": "xla", "rocm": "xla", "tpu": "xla"}
PLATFORMS = tuple(MODELS)


def model(platform: str) -> str:
    """The layout model of ``platform`` (``'cpu'``, ``'cuda'``, ``'rocm'`` or ``'tpu'``)."""
    try:
        return MODELS[platform]
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}: expected one of "
                         f"{', '.join(PLATFORMS)}") from None


def current_platform() -> str:
    """The platform JAX runs on by default here, named as ``jax.export`` names it."""
    import jax

    backend = jax.default_backend()
    if backend != "gpu":
        return backend
    version = getattr(jax.devices()[0].client, "platform_version", "").lower()
    return "rocm" if "rocm" in version else "cuda"


def _in_gemm_layout(labels: str, batch: list[str], outer: list[str], inner: list[str]) -> bool:
    """Whether ``labels`` is ``batch + outer + inner``, or ``batch + inner + outer`` with at most
    one axis each in ``inner`` and ``outer``: the layouts a GEMM takes as they are."""
    labels = list(labels)
    return labels == batch + outer + inner or (
        labels == batch + inner + outer and len(outer) <= 1 and len(inner) <= 1)


def _arrange(lhs: str, rhs: str, batch: list[str], contract: list[str], out: str | None,
             sizes: dict[str, int], bare: bool = False):
    """One candidate lowering of ``lhs · rhs``: (elements moved, lhs perm, rhs perm, dimension
    numbers, result labels, whether the result is copied into ``out`` order). An operand out of
    GEMM layout is copied into it, its free axes in output order (its perm; None for one
    already in it): by an explicit transpose, or with ``bare`` by XLA itself, the
    ``dot_general`` then taking the operands as they are (the perm is the layout predicted)."""
    rank = (lambda c: out.index(c)) if out is not None else None
    cost = 0
    perms, laid, gemm = [], [], []  # copy perms, what dot_general takes, what the GEMM sees
    for labels, is_lhs in ((lhs, True), (rhs, False)):
        free = [c for c in labels if c not in batch and c not in contract]
        outer, inner = (free, contract) if is_lhs else (contract, free)
        if _in_gemm_layout(labels, batch, outer, inner):
            perms.append(None)
            laid.append(labels)
            gemm.append(labels)
            continue
        free = sorted(free, key=rank) if rank else free
        target = batch + (free + contract if is_lhs else contract + free)
        perms.append(tuple(labels.index(c) for c in target))
        laid.append(labels if bare else "".join(target))
        gemm.append("".join(target))
        cost += math.prod(sizes[c] for c in labels)
    new_lhs, new_rhs = laid
    dims = _dimension_numbers(new_lhs, new_rhs, batch, contract)
    lhs_free = [c for c in new_lhs if c not in new_rhs]
    rhs_free = [c for c in new_rhs if c not in new_lhs]
    result = "".join(batch + lhs_free + rhs_free)
    result_moves = folded = False
    if out is not None:
        result_moves, folded = _result_moves(batch, lhs_free, rhs_free, out)
    # A folded transpose makes XLA multiply rhs · lhs; if our rhs is laid out contracted-first,
    # its GEMM then takes a transposed lhs, which XLA:CPU runs on a slower kernel (measured
    # 7-19% at 1024²). Charge that like copying the result, so an equal layout without it wins.
    if result_moves or (folded and rhs_free and gemm[1].index(rhs_free[0]) > gemm[1].index(
            contract[0])):
        cost += math.prod(sizes[c] for c in result)
    return cost, perms[0], perms[1], dims, result, result_moves


def _dimension_numbers(lhs: str, rhs: str, batch: list[str], contract: list[str]):
    return ((tuple(lhs.index(c) for c in contract), tuple(rhs.index(c) for c in contract)),
            (tuple(lhs.index(c) for c in batch), tuple(rhs.index(c) for c in batch)))


def _result_moves(batch: list[str], lhs_free: list[str], rhs_free: list[str],
                  out: str) -> tuple[bool, bool]:
    """Whether putting ``batch + lhs_free + rhs_free`` in ``out`` order copies the result, and
    whether XLA folds that transpose into the GEMM instead: it does for the one that swaps a
    single lhs free axis with a single rhs free axis (it computes the transposed product)."""
    out = list(out)
    if out == batch + lhs_free + rhs_free:
        return False, False
    folded = len(lhs_free) == len(rhs_free) == 1 and out == batch + rhs_free + lhs_free
    return not folded, folded


def _orders(x: str, y: str, needed: set[str], out: str | None):
    """(natural swap, batch orders, contracted orders) of ``x · y``: the batch order of the
    output, ``x`` and ``y`` (the output's first), the contracted order of ``x`` and ``y``."""
    common = [c for c in x if c in y]
    x_free = [c for c in x if c not in y]
    y_free = [c for c in y if c not in x]
    contract_orders = _unique([c for c in x if c in y and c not in needed],
                              [c for c in y if c in x and c not in needed])
    batch_x = [c for c in common if c in needed]
    batch_orders = _unique([c for c in out if c in batch_x] if out is not None else batch_x,
                           batch_x, [c for c in y if c in batch_x])
    batch = batch_orders[0]
    swap = out is not None and (batch + x_free + y_free != list(out)
                                and batch + y_free + x_free == list(out))
    return swap, batch_orders, contract_orders


def contract_cpu(x: str, y: str, needed: set[str], out: str | None, sizes: dict[str, int]):
    """The cheapest XLA:CPU lowering of one pairwise contraction (``out`` is given for the last
    one): (swap, lhs copy perm, rhs copy perm, dimension numbers, result labels, whether the
    result is copied into ``out`` order, whether XLA makes the copies itself: ``bare``).

    Candidates: both operand orders, the batch order of the output, ``x`` and ``y``, and the
    contracted order of ``x`` and ``y``, each bare (operands as they are: XLA copies what is out
    of GEMM layout itself) and with explicit transposes. The first candidate is the natural
    bare lowering (batch in output order, ``x`` first unless the output lists ``y``'s free
    axes first, as ``jnp.einsum``); the others replace it only when they move strictly fewer
    elements. So explicit transposes appear only where they copy less than XLA would: where
    they copy the same, the bare ``dot_general`` leaves JAX's transpose rules a program XLA
    lays out itself, whose backward pass ran 10% faster (attention scores, docs/design.md).
    """
    swap, batch_orders, contract_orders = _orders(x, y, needed, out)
    best = None
    for bare in (True, False):
        for swapped in (swap, not swap):
            lhs, rhs = (y, x) if swapped else (x, y)
            for batch in batch_orders:
                for contract in contract_orders:
                    cost, *arranged = _arrange(lhs, rhs, batch, contract, out, sizes, bare)
                    if best is None or cost < best[0]:
                        best = (cost, swapped, *arranged, bare)
    return best[1:]


def contract_xla(x: str, y: str, needed: set[str], out: str | None):
    """The lowering of one pairwise step for GPU and TPU, where XLA lays operands out itself:
    (swap, None, None, dimension numbers, result labels, whether the result is transposed into
    ``out`` order, bare: True). No operand is transposed; batch axes come in the
    output's order and the operands in the order that gives the output's free-axis order where
    one does (a result ``batch…, lhs free…, rhs free…`` can match ``out`` in no other way). A
    step that sums nothing is a ``dot_general`` with no contracting dimensions, as in
    ``jnp.einsum``."""
    swap, (batch, *_), (contract, *_) = _orders(x, y, needed, out)
    lhs, rhs = (y, x) if swap else (x, y)
    result = "".join(batch + [c for c in lhs if c not in rhs] + [c for c in rhs if c not in lhs])
    return (swap, None, None, _dimension_numbers(lhs, rhs, batch, contract), result,
            out is not None and result != out, True)


def multiply_cpu(x: str, y: str, out: str | None):
    """A step that sums nothing: (x perm, y perm, broadcast dims, result labels). Each operand is
    transposed into result order and broadcast; XLA fuses all of it into the multiply's loop."""
    result = out if out is not None else x + "".join(c for c in y if c not in x)
    perms, dims = [], []
    for labels in (x, y):
        order = sorted(labels, key=result.index)
        perm = tuple(labels.index(c) for c in order)
        perms.append(None if perm == tuple(range(len(perm))) else perm)
        dims.append(tuple(result.index(c) for c in order))
    return perms[0], perms[1], (dims[0], dims[1]), result


def _unique(*orders: list[str]) -> list[list[str]]:
    return [o for k, o in enumerate(orders) if o not in orders[:k]]
