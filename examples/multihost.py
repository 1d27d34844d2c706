"""Multi-host sharding on one machine: ``python examples/sharding.py --processes 2`` (or
``python examples/multihost.py``).

``launch`` starts the script once per process on 127.0.0.1 (a free port, two CPU devices per
process, gloo collectives between them) and waits for all of them, killing them all if one fails
or the time runs out. Each ``worker`` joins with ``jax.distributed.initialize``, builds a
``(hosts, local)`` mesh over every process's devices, feeds only the shards it holds
(``jax.make_array_from_process_local_data``) and runs ``Plan.shard`` twice per product: with the
batch label split across the processes (no communication between them) and with the contracted
label split across them (partial sums all-reduced over gloo). Every result, gathered back, must
equal the unsharded single-process call.

Exit status: 0 when every process agrees, 1 when one does not (or fails, or times out), 77
when this JAX has no gloo CPU collectives.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

LOCAL_DEVICES = 2
NO_GLOO = 77


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(script: str, processes: int, timeout: float, quick: bool) -> int:
    """Run ``script`` as ``processes`` workers; print process 0's report and a verdict."""
    if processes < 2:
        print("--processes needs at least 2 processes", file=sys.stderr)
        return 2
    coordinator = f"127.0.0.1:{_free_port()}"
    flags = f"--xla_force_host_platform_device_count={LOCAL_DEVICES}"
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    workers = [subprocess.Popen(
        [sys.executable, script, "--processes", str(processes), "--process-id", str(rank),
         "--coordinator", coordinator, *(["--quick"] if quick else [])],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for rank in range(processes)]  # in the launcher's process group: killing it kills all
    deadline = time.monotonic() + timeout
    try:
        while any(w.poll() is None for w in workers):
            failed = [w for w in workers if w.returncode not in (None, 0)]
            if failed or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        for w in workers:  # a worker still running now waits for a peer that will not come
            if w.poll() is None:
                w.kill()
        outputs = [w.communicate()[0] for w in workers]
    codes = [w.returncode for w in workers]
    if NO_GLOO in codes:
        print(outputs[codes.index(NO_GLOO)].strip().splitlines()[-1])
        return NO_GLOO
    print(f"{processes} processes on {coordinator}, {LOCAL_DEVICES} CPU devices each\n")
    print(_report(outputs[0]))
    if codes == [0] * processes:
        print(f"\nall {processes} processes: every sharded result equals the single-process call")
        return 0
    for rank, (code, out) in enumerate(zip(codes, outputs)):
        if code != 0:
            why = "timed out" if code == -signal.SIGKILL else f"exit status {code}"
            tail = "\n".join(out.strip().splitlines()[-15:])
            print(f"\nprocess {rank}: {why}\n{tail}")
    return 1


def _report(output: str) -> str:
    """Process 0's lines, without gloo's connection chatter."""
    return "\n".join(line for line in output.strip().splitlines()
                     if not line.startswith("[Gloo]"))


def cases(processes: int):
    """(name, plan, the unsharded call, batch label, contracted label): sizes divisible by
    every mesh axis."""
    from dotsum import keras as K
    from dotsum import ops

    b, k = 4 * processes, 2 * LOCAL_DEVICES * processes
    return [
        ("keras.batch_dot", K.batch_dot.plan((b, 6, k), (b, k, 2)), K.batch_dot, "a", "k"),
        ("keras.batch_dot[legacy]", K.batch_dot.plan((b, 3, 5, k), (b, 3, k, 2), legacy=True),
         lambda x, y: K.batch_dot(x, y, legacy=True), "a", "k"),
        ("keras.dot", K.dot.plan((b, 6, k), (k, 3)), K.dot, "a", "k"),
        ("ops.einsum", ops.einsum.plan("bqhd,bkhd->bhqk", (b, 5, 2, k), (b, 3, 2, k)),
         lambda x, y: ops.einsum("bqhd,bkhd->bhqk", x, y), "b", "d"),
    ]


def _local(sharding, array):
    """The block of ``array`` this process holds under ``sharding`` (its devices' shards)."""
    import jax

    boxes = sharding.addressable_devices_indices_map(array.shape).values()
    block = tuple(slice(min(box[d].start or 0 for box in boxes),
                        max(array.shape[d] if box[d].stop is None else box[d].stop
                            for box in boxes)) for d in range(array.ndim))
    return jax.make_array_from_process_local_data(sharding, array[block], array.shape)


def worker(rank: int, processes: int, coordinator: str) -> int:
    import jax

    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except Exception as e:  # noqa: BLE001 - a JAX built without gloo says so in any way
        print(f"gloo CPU collectives are not available in this JAX: {e}")
        return NO_GLOO
    jax.distributed.initialize(coordinator, processes, rank, initialization_timeout=60)
    import numpy as np
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh, NamedSharding

    from dotsum._shard import make_layout, shard

    devices = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
    mesh = Mesh(np.array(devices).reshape(processes, -1), ("hosts", "local"))
    rng = np.random.default_rng(0)  # every process draws the same global arrays
    agree = True
    for name, plan, unsharded, batch, contracted in cases(processes):
        arrays = [rng.standard_normal(o.shape).astype(np.float32) for o in plan.operands]
        expected = np.asarray(unsharded(*arrays))  # this process alone, one device
        for labels in ({batch: "hosts", contracted: "local"},
                       {contracted: "hosts", batch: "local"}):
            layout = make_layout(plan, mesh, labels, "shard")
            f = shard(plan, mesh, **labels)
            local = [_local(NamedSharding(mesh, spec), a)
                     for spec, a in zip(layout.operands, arrays)]
            out = f(*local)
            got = multihost_utils.process_allgather(out, tiled=True)
            error = float(np.abs(got - expected).max())
            ok = np.allclose(got, expected, rtol=1e-5, atol=1e-5)
            agree &= ok
            hlo = f.lower(*local).compile().as_text()
            if " all-reduce(" not in hlo and " all-reduce-start(" not in hlo:
                print(f"{name}: no all-reduce in the compiled program for {labels}")
                agree = False
            spelled = ", ".join(f"{label}={axis}" for label, axis in labels.items())
            print(f"{name:<24} {plan.subscripts:<16} {spelled:<17} out "
                  f"{str(out.sharding.spec):<30} all-reduce over {labels[contracted]:<5}  "
                  f"max |difference| {error:.1e}{'' if ok else '  DIFFERS'}", flush=True)
    jax.distributed.shutdown()
    return 0 if agree else 1


if __name__ == "__main__":  # the same as: python examples/sharding.py --processes 2
    from pathlib import Path

    sys.exit(launch(str(Path(__file__).with_name("sharding.py")), 2, 240, "--quick" in sys.argv))
