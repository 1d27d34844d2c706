"""``Report.roofline``: every row of an inspected function priced on a device, tile padding
included.

A contraction row is ``B`` independent ``(M, K) x (K, N)`` products (``B``: the batch labels,
``M``/``N``: the free labels of each side, ``K``: the summed ones). The hardware runs it in
whole tiles, so it pays for sizes rounded up:

* **TPU** (v4, v5e, v5p: 128x128 MXUs; v6e, TPU7x: 256x256): the MXU multiplies an ``(8, W) x
  (W, W)`` block at a time (``W`` its width): ``K`` and one free side are rounded up to ``W``,
  the other (streamed through in rows of 8 sublanes) to 8; XLA picks the side to stream, and so
  do we, the cheaper one. In HBM every array's two minor dimensions are stored in ``(8, 128)``
  tiles, so its bytes are rounded up likewise (on the last two axes as the row writes them: XLA
  may lay an intermediate out otherwise, so padded bytes are an upper bound). Sources: Google's
  Cloud TPU system architecture page (MXU sizes per generation: 128x128 up to v5p, 256x256 on
  v6e) and TPU7x page, the Cloud TPU performance guide ("Tensor dimensions": sizes rounded up to
  multiples of 8 and 128), and "How to Think About TPUs" in JAX's scaling book (the MXU's
  ``bf16[8, 128] @ bf16[128, 128]`` step).
* **NVIDIA** tensor cores: ``M``, ``N`` and ``K`` rounded up to 16 bytes of the operand dtype
  (8 elements of 16 bits, 16 of 8 bits, 4 of 32), where cuBLAS runs tensor cores at full rate;
  arrays are stored unpadded. Source: NVIDIA's Deep Learning Performance guide, "Matrix
  Multiplication Background" (Tensor Core requirements).

A row that sums nothing (an outer product) is elementwise work: on TPU its result's ``(8, 128)``
tiles are its padding, on a GPU none; it is priced at the table's peak (every such row is
memory-bound on every device listed). Each row gets its ideal time (the larger of padded FLOPs
at the peak and padded bytes at the bandwidth, times its count), its share of the function's
ideal time, its utilisation after padding (FLOPs / padded FLOPs), and the label that wastes
most of its tile: the axis to grow, or to fold another axis into.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from dotsum.devices import Device, _seconds, get

if TYPE_CHECKING:
    from dotsum._inspect import Report, Row

MXU_WIDTH = {"tpu-v4": 128, "tpu-v5e": 128, "tpu-v5p": 128, "tpu-v6e": 256, "tpu7x": 256}
TPU_SUBLANES, TPU_LANES = 8, 128
NVIDIA_TILE_BYTES = 16


def _percent(x: float) -> str:
    return f"{x:.2%}" if x < 0.01 else f"{x:.1%}"


def _up(n: int, to: int) -> int:
    return -(-n // to) * to


@dataclasses.dataclass(frozen=True)
class RowCost:
    """One row of a :class:`Report` on one device."""

    row: Row
    flops: int  # per execution, as the row counts them
    padded_flops: int  # what the hardware's tiles make it do
    bytes: int  # operands read once, the result written once
    padded_bytes: int  # ... in whole tiles (TPU)
    seconds: float  # ideal time of all the row's executions
    bound: str  # "compute" or "memory"
    advice: str  # the axis that wastes most of its tile, or ""

    @property
    def utilisation(self) -> float:
        """FLOPs over padded FLOPs: the share of the tiles doing useful work."""
        return self.flops / self.padded_flops if self.padded_flops else 1.0


@dataclasses.dataclass(frozen=True)
class ReportRoofline:
    """:meth:`Report.roofline`: ``rows`` in the report's order, priced on ``device``."""

    device: Device
    dtype: str | None  # None: each row's own dtype
    rows: tuple[RowCost, ...]

    @property
    def seconds(self) -> float:
        """The ideal time of one call: every row at its own limit, one after another."""
        return sum(r.seconds for r in self.rows)

    @property
    def utilisation(self) -> float:
        """All rows' FLOPs over all their padded FLOPs."""
        padded = sum(r.padded_flops * r.row.count for r in self.rows)
        return sum(r.flops * r.row.count for r in self.rows) / padded if padded else 1.0

    def share(self, cost: RowCost) -> float:
        return cost.seconds / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        header = ("time", "share", "util", "bound", "einsum", "shapes", "advice")
        table = [header] + [(_seconds(c.seconds), f"{self.share(c):.1%}", _percent(c.utilisation),
                             c.bound, c.row.subscripts, " x ".join(map(str, c.row.shapes)),
                             c.advice) for c in self.rows]
        widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
        lines = ["  ".join(cell.ljust(w) if i >= 3 else cell.rjust(w)
                           for i, (cell, w) in enumerate(zip(line, widths))) + "  " + line[-1]
                 for line in table]
        what = self.dtype or "each row's dtype"
        lines.append(f"{self.device.name} ({what}): ideal {_seconds(self.seconds)} per call, "
                     f"{_percent(self.utilisation)} of the padded tiles do useful work")
        return "\n".join(line.rstrip() for line in lines)


def roofline(report: Report, device: str | Device, dtype: Any = None, *,
             precision: Any = None) -> ReportRoofline:
    """Each row of ``report`` on ``device``, its operands of ``dtype`` (default: the row's own),
    at ``precision`` (default: each row's plan's, else ``"default"``)."""
    device = get(device)
    return ReportRoofline(device, None if dtype is None else np.dtype(dtype).name,
                          tuple(_cost(r, device, dtype, precision) for r in report.rows))


def _dims(row: Row) -> tuple[dict[str, int], list[str], list[str], list[str], list[str], str]:
    inputs, out = row.subscripts.split("->")
    x, y = inputs.split(",")
    sizes: dict[str, int] = {}
    for labels, shape in zip((x, y), row.shapes):
        for label, n in zip(labels, shape):
            if not isinstance(n, int):
                raise ValueError(f"dotsum.inspect: a roofline needs concrete sizes; the row "
                                 f"{row.subscripts} has {row.shapes}: inspect with the sizes to "
                                 f"price") from None
            sizes[label] = n
    batch = [c for c in x if c in y and c in out]
    k = [c for c in dict.fromkeys(x + y) if c not in out]
    m = [c for c in x if c not in y and c in out]
    n = [c for c in y if c not in x and c in out]
    return sizes, batch, m, n, k, out


def _cost(row: Row, device: Device, dtype: Any, precision: Any) -> RowCost:
    sizes, batch, m_labels, n_labels, k_labels, out = _dims(row)
    dtypes = row.dtype.split("->")
    operand = np.dtype(dtype if dtype is not None else dtypes[0].split(",")[0])
    result = operand if dtype is not None or len(dtypes) == 1 else np.dtype(dtypes[1])
    if dtype is not None and operand.kind in "iu" and operand.itemsize == 1:
        result = np.dtype("int32")  # int8 products accumulate in int32
    b = math.prod(sizes[c] for c in batch)
    m, n, k = (math.prod(sizes[c] for c in labels) for labels in (m_labels, n_labels, k_labels))
    if not k_labels:  # elementwise (an outer product): the result's own tiles, no MXU
        tiles = ({"m": TPU_SUBLANES, "n": TPU_LANES, "k": 1} if device.platform == "tpu"
                 else {"m": 1, "n": 1, "k": 1})
    elif device.platform == "tpu":
        width = MXU_WIDTH.get(device.name, 128)
        tiles = {"m": TPU_SUBLANES, "n": width, "k": width}
        if _up(m, width) * _up(n, TPU_SUBLANES) < _up(m, TPU_SUBLANES) * _up(n, width):
            tiles = {"m": width, "n": TPU_SUBLANES, "k": width}  # stream N, not M
    else:
        step = max(1, NVIDIA_TILE_BYTES // operand.itemsize)
        tiles = {"m": step, "n": step, "k": step}
    padded = {"m": _up(m, tiles["m"]), "n": _up(n, tiles["n"]), "k": _up(k, tiles["k"])}
    summed = 2 if k_labels else 1
    padded_flops = summed * b * padded["m"] * padded["n"] * padded["k"]
    shapes = [*row.shapes, tuple(sizes[c] for c in out)]
    itemsizes = [operand.itemsize, operand.itemsize, result.itemsize]
    nbytes = sum(math.prod(s) * i for s, i in zip(shapes, itemsizes))
    padded_bytes = sum(_tiled(s, device) * i for s, i in zip(shapes, itemsizes))
    level = precision if precision is not None else (row.plan.precision if row.plan else None)
    peak = device.peak_for(operand, level)
    compute, memory = padded_flops / peak, padded_bytes / device.bandwidth
    return RowCost(row, row.flops, padded_flops, nbytes, padded_bytes,
                   max(compute, memory) * row.count, "compute" if compute >= memory else "memory",
                   _advice({"m": (m_labels, m), "n": (n_labels, n), "k": (k_labels, k)}, padded))


def _tiled(shape: tuple[int, ...], device: Device) -> int:
    """Elements an array of ``shape`` occupies in HBM: whole (8, 128) tiles on TPU."""
    if device.platform != "tpu" or not shape:
        return math.prod(shape)
    if len(shape) == 1:
        return _up(shape[0], TPU_LANES)
    return math.prod(shape[:-2]) * _up(shape[-2], TPU_SUBLANES) * _up(shape[-1], TPU_LANES)


def _advice(axes: dict[str, tuple[list[str], int]], padded: dict[str, int]) -> str:
    """The axis whose tile is emptiest, if any tile is under 90 % full."""
    fill = {a: axes[a][1] / padded[a] for a in axes if padded[a]}
    worst = min(fill, key=lambda a: fill[a])
    if fill[worst] >= 0.9:
        return ""
    labels, size = axes[worst]
    name = "".join(labels) or "(none)"
    return f"{name}: {size} of {padded[worst]} ({fill[worst]:.0%}); grow it or fold into it"
