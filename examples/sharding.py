"""Sharding: split a ``batch_dot`` over a device mesh by its einsum labels.

A plan names every axis with a letter; ``shard(plan, mesh, a="data", k="model")`` splits label
``a`` (the batch) over the mesh's ``data`` devices and ``k`` (the contracted axis) over its
``model`` devices. The batch split needs no communication; the contraction split leaves partial
sums that XLA adds up across ``model`` (an all-reduce, visible in the compiled HLO).

Run (8 simulated CPU devices unless you set XLA_FLAGS / JAX_PLATFORMS yourself)::

    python examples/sharding.py --quick

Multi-host on one machine: ``--processes 2`` starts the script as two processes on 127.0.0.1
(two CPU devices each, connected by ``jax.distributed`` with gloo collectives), and each one
feeds only its own shards::

    python examples/sharding.py --processes 2 --quick

On real hosts, start the same script on every host, and before anything touches the devices::

    jax.distributed.initialize(
        coordinator_address="10.0.0.1:1234",  # host:port of process 0
        num_processes=2,                      # one process per host
        process_id=int(os.environ["RANK"]),   # 0 .. num_processes - 1
    )
    mesh = jax.make_mesh((jax.device_count() // 2, 2), ("data", "model"))  # all hosts' devices
    f = shard(plan, mesh, a="data", k="model")
    # each process passes the global arrays built from its local shards, e.g. with
    # jax.make_array_from_process_local_data(NamedSharding(mesh, P("data", None, "model")), x)

The plan, the mesh and the labels are the same on every host; only the data each one feeds
differs.
"""

from __future__ import annotations

import os

# JAX reads these when it starts: simulate 8 CPU devices unless the caller chose otherwise.
_flags = os.environ.get("XLA_FLAGS", "")
if "--xla_force_host_platform_device_count" not in _flags:
    os.environ["XLA_FLAGS"] = f"{_flags} --xla_force_host_platform_device_count=8".strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import sys  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

from dotsum import keras as K  # noqa: E402
from dotsum._shard import describe_sharding, shard  # noqa: E402


def make_mesh() -> jax.sharding.Mesh:
    """A ``(data, model)`` mesh: ``(4, 2)`` on 8 or more devices, smaller (with a note) below."""
    n = len(jax.devices())
    if n >= 8:
        data, model = 4, 2
    else:
        model = 2 if n >= 2 else 1
        data = 2 if n // model >= 2 else 1
        print(f"note: only {n} device(s); using a ({data}, {model}) mesh. Set "
              "XLA_FLAGS=--xla_force_host_platform_device_count=8 for the full example.\n")
    return jax.make_mesh((data, model), ("data", "model"), devices=jax.devices()[: data * model])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small shapes (the default ones "
                        "are small too; accepted for the examples runner)")
    parser.add_argument("--processes", type=int, default=0,
                        help="run as this many local processes (multi-host on one machine)")
    parser.add_argument("--process-id", type=int, help=argparse.SUPPRESS)  # set for the workers
    parser.add_argument("--coordinator", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=240, help="seconds for --processes")
    args = parser.parse_args(argv)
    if args.process_id is not None:
        from multihost import worker

        return worker(args.process_id, args.processes, args.coordinator)
    if args.processes:
        from multihost import launch

        return launch(__file__, args.processes, args.timeout, args.quick)
    batch, rows, inner, cols = (8, 6, 4, 2) if args.quick else (64, 128, 256, 32)

    mesh = make_mesh()
    print(f"{len(jax.devices())} devices, mesh {dict(mesh.shape)}\n")

    plan = K.batch_dot.plan((batch, rows, inner), (batch, inner, cols))
    print(f"{plan}\n")
    batch_label, contracted = plan.operands[0].labels[0], plan.operands[0].labels[2]
    labels = {batch_label: "data", contracted: "model"}  # a="data", k="model"
    print(f"{describe_sharding(plan, mesh, **labels)}\n")

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, rows, inner)).astype(np.float32)
    y = rng.standard_normal((batch, inner, cols)).astype(np.float32)
    f = shard(plan, mesh, **labels)
    out = f(x, y)
    expected = K.batch_dot(x, y)  # the unsharded call
    # float32 partial sums added in another order: equal up to rounding
    np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-5, atol=1e-4)
    print(f"sharded result: shape {out.shape}, {out.sharding.spec}; equals the unsharded call")

    hlo = f.lower(x, y).compile().as_text()
    collectives = sorted({op for op in ("all-reduce", "reduce-scatter", "all-gather")
                          if f" {op}(" in hlo or f" {op}-start(" in hlo})
    print(f"collectives in the compiled HLO: {', '.join(collectives) or 'none'}")

    batch_only = {batch_label: "data"}  # no communication
    g = shard(plan, mesh, **batch_only)
    np.testing.assert_allclose(np.asarray(g(x, y)), np.asarray(expected), rtol=1e-5, atol=1e-4)
    reduce_line = describe_sharding(plan, mesh, **batch_only).splitlines()[-1].strip()
    print(f"batch-only sharding {batch_only}: {reduce_line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
