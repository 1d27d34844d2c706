"""dotsum.inspect: every contraction of a JAX function, with FLOPs counted by hand.

Each construct the issue names — scan counts, remat, cond branches, while loops, grad, nested
jit, custom_vjp, shard_map, dotsum ops named — has a test with its exact total; every row's
einsum string, run with NumPy on random operands, equals ``lax.dot_general`` with the jaxpr's
dimension numbers; totals equal XLA's cost analysis for functions made only of matrix products.
"""

from __future__ import annotations

import gc
import itertools
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax import lax

import dotsum
from dotsum import cli, ops
from dotsum import keras as K
from dotsum import numpy as dnp
from dotsum._jaxpr import lettered

F32 = jnp.float32


def spec(*shape, dtype=F32):
    return jax.ShapeDtypeStruct(shape, dtype)


def mm(m, k, n):
    """FLOPs of an (m, k) @ (k, n) product."""
    return 2 * m * k * n


def rows(report):
    return [(r.subscripts, r.shapes, r.count, r.notes) for r in report.rows]


def test_a_matrix_product_is_one_row():
    report = dotsum.inspect(lambda x, w: x @ w, spec(8, 512), spec(512, 64))
    (row,) = report.rows
    assert (row.subscripts, row.shapes, row.dtype, row.flops, row.count) == (
        "ak,kc->ac", ((8, 512), (512, 64)), "float32", mm(8, 512, 64), 1)
    assert row.source.endswith("<lambda>)") and "test_inspect.py:" in row.source
    assert row.op is None and row.plan is None and report.total_flops == mm(8, 512, 64)


def test_scan_multiplies_by_its_length_and_remat_counts_once():
    def f(x, w):
        def body(c, _):
            return jnp.tanh(c @ w), None
        y, _ = lax.scan(body, x, None, length=5)
        return jax.checkpoint(lambda a: a @ w)(y)

    report = dotsum.inspect(f, spec(4, 8), spec(8, 8))
    assert sorted(r.count for r in report.rows) == [1, 5]
    assert report.total_flops == 6 * mm(4, 8, 8)


def test_nested_scans_multiply():
    def f(x, w):
        def inner(c, _):
            return c @ w, None

        def outer(c, _):
            return lax.scan(inner, c, None, length=3)[0], None
        return lax.scan(outer, x, None, length=4)[0]

    (row,) = dotsum.inspect(f, spec(2, 8), spec(8, 8)).rows
    assert row.count == 12 and row.total_flops == 12 * mm(2, 8, 8)


def test_cond_branches_and_while_loops_are_marked():
    def f(x, w, v):
        y = lax.cond(x.sum() > 0, lambda a: a @ w, lambda a: (a @ w) @ v, x)
        z = lax.switch(1, [lambda a: a @ v, lambda a: a, lambda a: a @ v @ v], y)
        return lax.while_loop(lambda c: c[1] < 3, lambda c: (c[0] @ v, c[1] + 1), (z, 0))[0]

    report = dotsum.inspect(f, spec(2, 4), spec(4, 6), spec(6, 6))
    notes = sorted(r.notes for r in report.rows for _ in range(r.count))
    # lax.cond's branch 0 is its false branch (two products), branch 1 its true one (one)
    assert notes == sorted([("cond branch 0 of 2",)] * 2 + [("cond branch 1 of 2",)]
                           + [("cond branch 0 of 3",)] + [("cond branch 2 of 3",)] * 2
                           + [("while loop: trip count unknown, counted once",)])
    assert report.total_flops == mm(2, 4, 6) * 2 + mm(2, 6, 6) * 5


def test_nested_jit_custom_vjp_and_dotsum_ops_are_found_and_named():
    @jax.custom_vjp
    def product(x, w):
        return x @ w

    product.defvjp(lambda x, w: (x @ w, (x, w)), lambda r, g: (g @ r[1].T, r[0].T @ g))

    @jax.jit
    def inner(x, w):
        return K.batch_dot(x[None], w[None])[0]

    def f(x, w):
        return ops.einsum("ij,jk->ik", product(inner(x, w), w), w)

    report = dotsum.inspect(f, spec(3, 4), spec(4, 4))
    assert report.total_flops == 3 * mm(3, 4, 4)
    by_op = {r.op: r for r in report.rows}
    assert set(by_op) == {None, "keras.batch_dot", "ops.einsum"}
    assert by_op["ops.einsum"].plan == ops.einsum.plan("ij,jk->ik", (3, 4), (4, 4))
    assert by_op["keras.batch_dot"].plan == K.batch_dot.plan((1, 3, 4), (1, 4, 4))


def test_one_op_at_several_sizes_names_each_plan():
    """Plans sharing a name (same op, same subscripts) at several sizes: each row names its
    own, also on 3-operand paths whose steps share shapes with other plans, and two plans that
    differ only in how they were asked for (``"ij,jk"`` and ``"ij,jk->ik"``) each name theirs."""
    dotsum.clear_caches()
    gc.collect()

    def f(x, w, v):
        small = ops.einsum("ij,jk->ik", x, w)
        big = ops.einsum("ij,jk->ik", small, v)
        return ops.einsum("ij,jk,kl->il", big, v.T, v) + ops.einsum("ij,jk,kl->il", x, w, v)

    shapes = [(5, 7), (7, 9), (9, 11)]
    report = dotsum.inspect(f, *(spec(*s) for s in shapes))
    two = {r.shapes: r.plan for r in report.rows if r.plan is not None and not r.plan.path}
    assert two == {((5, 7), (7, 9)): ops.einsum.plan("ij,jk->ik", (5, 7), (7, 9)),
                   ((5, 9), (9, 11)): ops.einsum.plan("ij,jk->ik", (5, 9), (9, 11))}
    three = {r.plan for r in report.rows if r.plan is not None and r.plan.path}
    assert three == {ops.einsum.plan("ij,jk,kl->il", (5, 11), (11, 9), (9, 11)),
                     ops.einsum.plan("ij,jk,kl->il", (5, 7), (7, 9), (9, 11))}
    assert all(r.plan is not None for r in report.rows)

    def g(x, w):
        return ops.einsum("ij,jk", x, w) + ops.einsum("ij,jk->ik", x, w)

    implicit, explicit = (ops.einsum.plan(s, (5, 7), (7, 9)) for s in ("ij,jk", "ij,jk->ik"))
    assert implicit != explicit and implicit.subscripts == explicit.subscripts
    named = [r.plan for r in dotsum.inspect(g, spec(5, 7), spec(7, 9)).rows]
    assert sorted(named, key=repr) == sorted([implicit, explicit], key=repr)


def test_grad_shows_the_backward_products():
    """d/dx and d/dw of sum(x @ w): two backward products, each 2mkn. The forward product's
    value is not needed (the gradient of a sum), so XLA removes it and it is not counted; with
    value_and_grad it is."""
    grad = jax.grad(lambda x, w: (x @ w).sum(), argnums=(0, 1))
    report = dotsum.inspect(grad, spec(8, 16), spec(16, 32))
    assert len(report.rows) == 2 and report.total_flops == 2 * mm(8, 16, 32)
    assert sorted(r.notes for r in report.rows) == [("backward",), ("backward",)]
    assert {r.subscripts for r in report.rows} == {"kb,kc->bc", "ak,bk->ab"}
    both = dotsum.inspect(jax.value_and_grad(lambda x, w: (x @ w).sum(), argnums=(0, 1)),
                          spec(8, 16), spec(16, 32))
    assert sorted(r.notes for r in both.rows) == [(), ("backward",), ("backward",)]
    assert both.total_flops == 3 * mm(8, 16, 32)


def test_grad_of_a_dotsum_op_names_the_op_on_its_backward_products():
    report = dotsum.inspect(jax.value_and_grad(
        lambda x, y: ops.einsum("bij,bjk->bik", x, y).sum()), spec(2, 3, 4), spec(2, 4, 5))
    assert [(r.op, r.notes) for r in report.rows] == [("ops.einsum", ()),
                                                       ("ops.einsum", ("backward",))]
    # the backward product is JAX's transpose of the plan's step: it names the plan too
    plan = ops.einsum.plan("bij,bjk->bik", (2, 3, 4), (2, 4, 5))
    assert [r.plan for r in report.rows] == [plan, plan]


def test_shard_map_bodies_are_read():
    from jax.sharding import PartitionSpec as P

    mesh = jax.make_mesh((1,), ("d",), devices=jax.devices()[:1])
    f = jax.shard_map(lambda x, w: x @ w, mesh=mesh, in_specs=(P(), P()), out_specs=P())
    (row,) = dotsum.inspect(f, spec(4, 8), spec(8, 2)).rows
    assert row.shapes == ((4, 8), (8, 2)) and row.flops == mm(4, 8, 2)


def test_identical_contractions_are_grouped_and_sorted_by_flops():
    def f(x, w, v):
        for _ in range(3):
            x = x @ w  # one line, three times
        return x @ v

    report = dotsum.inspect(f, spec(2, 8), spec(8, 8), spec(8, 64))
    assert [(r.count, r.total_flops) for r in report.rows] == [(1, mm(2, 8, 64)),
                                                               (3, 3 * mm(2, 8, 8))]
    text = str(report)
    assert text.splitlines()[0].split() == ["share", "flops", "count", "einsum", "shapes",
                                            "dtype", "source"]
    assert "72.7%" in text and "27.3%" in text  # 2048 and 3 x 256 FLOPs
    assert text.splitlines()[-1] == (f"total {report.total_flops:,} flops in 4 contractions "
                                     "(2 distinct)")


def test_pytrees_and_keyword_arguments():
    params = {"w": spec(8, 8), "b": [spec(8, 4)]}
    report = dotsum.inspect(lambda p, x, *, scale: (x @ p["w"]) @ p["b"][0] * scale,
                            params, spec(2, 8), scale=2.0)
    assert report.total_flops == mm(2, 8, 8) + mm(2, 8, 4)


@pytest.mark.parametrize("fn, shapes", [
    (lambda x, w: x @ w, [(64, 32), (32, 16)]),
    (lambda x, w: jnp.einsum("bij,bjk->bik", x, w), [(4, 8, 16), (4, 16, 8)]),
    (lambda x, w, v: jnp.tanh(x @ w) @ v, [(16, 32), (32, 8), (8, 4)]),
    (lambda x, w: K.batch_dot(x, w), [(4, 8, 16), (4, 16, 8)]),
    (lambda x, w: ops.einsum("bqd,bkd->bqk", x, w), [(2, 8, 16), (2, 4, 16)]),
    # gradients: the forward product whose value grad discards is dead code, not counted
    (jax.grad(lambda x, w: (x @ w).sum(), argnums=(0, 1)), [(64, 32), (32, 16)]),
    (jax.grad(lambda x, w, v: (x @ w @ v).sum(), argnums=(0, 1, 2)), [(16, 32), (32, 8), (8, 4)]),
    (jax.grad(lambda x, w: ops.einsum("bqd,bkd->bqk", x, w).sum(), argnums=(0, 1)),
     [(2, 8, 16), (2, 4, 16)]),
    (jax.grad(lambda x, w: K.batch_dot(x, w).sum(), argnums=(0, 1)), [(4, 8, 16), (4, 16, 8)]),
    # ... and inside a jit, whose discarded forward result is dead inside it
    (jax.grad(lambda x, w: jax.jit(lambda x, w: (x @ w).sum())(x, w), argnums=(0, 1)),
     [(64, 32), (32, 16)]),
    (lambda x, w: jax.jit(lambda x, w: (x @ w, w @ w))(x, w)[1], [(64, 32), (32, 32)]),
    # dotsum's multiply-only steps (on CPU a broadcast multiply, not a dot_general)
    (lambda x, y: dnp.einsum("bi,bj->bij", x, y), [(32, 64), (32, 16)]),
    (lambda x, y: dnp.outer(x, y), [(64,), (16,)]),
    (lambda x, y: dnp.matmul(x, y), [(64, 1), (1, 16)]),
    (lambda x, y, z: dnp.einsum("i,j,k->ijk", x, y, z), [(8,), (16,), (4,)]),
], ids=["matmul", "einsum", "chain", "batch_dot", "ops.einsum", "grad", "grad-chain",
        "grad-ops.einsum", "grad-batch_dot", "grad-jit", "jit-dead-result", "outer-einsum",
        "outer", "matmul-k1", "einsum3"])
def test_total_flops_equal_xlas_cost_analysis(fn, shapes):
    args = [spec(*s) for s in shapes]
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    assert dotsum.inspect(fn, *args).total_flops == cost["flops"]


@st.composite
def dot_generals(draw):
    """Random dot_general dimension numbers over ranks up to 4."""
    nb, nc = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    lf, rf = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sizes = st.integers(1, 3)
    batch = [draw(sizes) for _ in range(nb)]
    contract = [draw(sizes) for _ in range(nc)]
    lhs_axes = draw(st.permutations([("b", i) for i in range(nb)] + [("k", i) for i in range(nc)]
                                    + [("x", i) for i in range(lf)]))
    rhs_axes = draw(st.permutations([("b", i) for i in range(nb)] + [("k", i) for i in range(nc)]
                                    + [("y", i) for i in range(rf)]))
    free = {a: draw(sizes) for a in itertools.chain(lhs_axes, rhs_axes) if a[0] in "xy"}
    size = {**{("b", i): n for i, n in enumerate(batch)},
            **{("k", i): n for i, n in enumerate(contract)}, **free}
    dims = ((tuple(lhs_axes.index(("k", i)) for i in range(nc)),
             tuple(rhs_axes.index(("k", i)) for i in range(nc))),
            (tuple(lhs_axes.index(("b", i)) for i in range(nb)),
             tuple(rhs_axes.index(("b", i)) for i in range(nb))))
    return (tuple(size[a] for a in lhs_axes), tuple(size[a] for a in rhs_axes), dims)


@given(case=dot_generals())
def test_each_rows_einsum_is_its_dot_general(case):
    lhs_shape, rhs_shape, dims = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(lhs_shape).astype(np.float32)
    y = rng.standard_normal(rhs_shape).astype(np.float32)
    (row,) = dotsum.inspect(lambda a, b: lax.dot_general(a, b, dims), x, y).rows
    assert row.subscripts == lettered(len(lhs_shape), len(rhs_shape), dims)
    np.testing.assert_allclose(np.einsum(row.subscripts, x, y),
                               np.asarray(lax.dot_general(x, y, dims)), rtol=1e-5, atol=1e-5)
    assert row.flops == np.prod([*lhs_shape, *[n for p, n in enumerate(rhs_shape)
                                               if p not in dims[0][1] + dims[1][1]]]) * (
        2 if dims[0][0] else 1)


def test_mixed_dtypes_and_preferred_types_are_shown():
    report = dotsum.inspect(lambda x, w: lax.dot_general(
        x, w, (((1,), (0,)), ((), ())), preferred_element_type=F32),
        spec(2, 4, dtype=jnp.bfloat16), spec(4, 3, dtype=jnp.bfloat16))
    assert report.rows[0].dtype == "bfloat16->float32"


def test_an_untraceable_call_is_a_clear_error():
    with pytest.raises(TypeError, match=r"^dotsum\.inspect: cannot trace '<lambda>'"):
        dotsum.inspect(lambda x, w: x @ w, spec(2, 3), spec(4, 5))


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    report = dotsum.inspect(lambda x, w: (x @ w) @ w.T, spec(8, 16), spec(16, 4))
    report.plot(tmp_path / "shares.png")
    assert (tmp_path / "shares.png").read_bytes()[:4] == b"\x89PNG"


def test_cli(tmp_path, monkeypatch, capsys):
    (tmp_path / "model_under_test.py").write_text(
        "import jax.numpy as jnp\n\ndef forward(x, w):\n    return jnp.tanh(x @ w) @ w.T\n")
    (tmp_path / "broken_module.py").write_text("def f(:\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["inspect", "model_under_test:forward", "--args", "f32[8,128]",
                     "bf16[128,64]"]) == 0
    out = capsys.readouterr().out
    assert "ak,kc->ac  (8, 128) x (128, 64)" in out and "model_under_test.py:4 (forward)" in out
    assert cli.main(["inspect", "model_under_test:forward", "--args", "f32[8,128]",
                     "f32[128,64]", "--grad"]) == 0
    assert capsys.readouterr().out.count("(backward)") == 4
    assert cli.main(["inspect", "model_under_test:forward", "--args", "f32[b,128]",
                     "f32[128,64]"]) == 0  # a symbolic batch, as dotsum explain takes
    assert "16384*b      1  ak,kc->ac  (b, 128) x (128, 64)" in capsys.readouterr().out
    # the plot fails (a folder that is not there; no matplotlib) but the table still prints
    missing = str(tmp_path / "no" / "such" / "folder" / "x.png")
    assert cli.main(["inspect", "model_under_test:forward", "--args", "f32[8,128]",
                     "f32[128,64]", "--plot", missing]) == 2
    captured = capsys.readouterr()
    assert "ak,kc->ac  (8, 128) x (128, 64)" in captured.out
    assert captured.err.startswith(f"dotsum: error: --plot {missing}: ")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    assert cli.main(["inspect", "model_under_test:forward", "--args", "f32[8,128]",
                     "f32[128,64]", "--plot", str(tmp_path / "x.png")]) == 2
    captured = capsys.readouterr()
    assert "ak,kc->ac" in captured.out and "needs matplotlib" in captured.err
    for argv, message in [
        (["inspect", "model_under_test"], "malformed function 'model_under_test'"),
        (["inspect", "model_under_test:forward", "--args", "f32[b+,3]"], "malformed --args"),
        (["inspect", "model_under_test:nope"], "cannot import 'model_under_test:nope'"),
        (["inspect", "broken_module:f"], "cannot import 'broken_module:f': SyntaxError"),
        (["inspect", "model_under_test:forward", "--args", "f32(8)"], "malformed --args"),
        (["inspect", "model_under_test:forward", "--args", "f32[8,3]", "f32[4,5]"],
         "dotsum.inspect: cannot trace 'forward'"),
    ]:
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("dotsum: error: ") and message in err and err.count("\n") == 1


README_START = ("<!-- examples/inspect_transformer.py --quick on jax {}: "
                "tests/test_inspect.py keeps it -->")


def _big_rows(text: str) -> list[list[str]]:
    """The table rows of 1 % or more, without the share column (reductions that JAX's own
    gradients write differently from release to release, such as softmax's, are smaller)."""
    rows = []
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0].endswith("%") and float(cells[0][:-1]) >= 1.0:
            rows.append(cells[1:])
    return rows


def test_readme_shows_the_examples_output():
    """The README's model table is the example's output, regenerated here: it cannot drift.
    ``DOTSUM_UPDATE_README=1`` rewrites it after a deliberate change. The block names the JAX
    it came from (the README's test command installs it); on another JAX the rows of 1 % or
    more must be the same (what JAX's own gradients are made of differs between releases)."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("equinox")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "examples/inspect_transformer.py", "--quick"],
                          cwd=root, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, JAX_PLATFORMS="cpu"))
    assert done.returncode == 0, done.stderr
    readme = (root / "README.md").read_text()
    marker = re.search(re.escape(README_START).replace(r"\{\}", r"([\w.]+)"), readme)
    assert marker, "the README lost its inspect block"
    start = marker.start()
    end = readme.index("```\n", readme.index("```text", start) + 7) + 3
    block = f"{README_START.format(jax.__version__)}\n```text\n{done.stdout.strip()}\n```"
    if os.environ.get("DOTSUM_UPDATE_README"):
        (root / "README.md").write_text(readme[:start] + block + readme[end:])
        return
    if marker.group(1) == jax.__version__:
        assert readme[start:end] == block
    else:
        assert _big_rows(readme[start:end]) == _big_rows(block)


def test_only_this_platforms_layout_is_counted():
    """``ad,cdab->abc`` lowers differently for CPU (y transposed into GEMM layout first, an
    explicit transpose) and GPU/TPU (y as it is): the executor holds both under
    lax.platform_dependent, and inspect counts the one that runs here, once, without a cond
    note: its dot_general sees y's axes as (a, d, c, b)."""
    x, y = spec(2, 5), spec(7, 5, 2, 7)
    plan = ops.einsum.plan("ad,cdab->abc", x.shape, y.shape)
    cpu, tpu = plan.lowering_for("cpu"), plan.lowering_for("tpu")
    assert cpu.contractions[0].rhs_perm == (2, 1, 3, 0) and tpu.contractions[0].rhs_perm is None
    (row,) = dotsum.inspect(lambda x, y: ops.einsum("ad,cdab->abc", x, y), x, y).rows
    assert (row.count, row.notes, row.shapes, row.plan) == (1, (), ((2, 5), (2, 5, 7, 7)), plan)


@pytest.mark.parametrize("plan", [
    K.batch_dot.plan((8, 6, 4), (8, 4, 2)), K.dot.plan((2, 3, 4), (7, 4, 5)),
    ops.einsum.plan("nhd,hdu->nu", (8, 2, 4), (2, 4, 16)),
    ops.einsum.plan("ij,jk,kl->il", (2, 3), (3, 4), (4, 5)),
], ids=["batch_dot", "dot", "einsum", "einsum3"])
def test_plan_grad_lists_the_backward_contractions(plan):
    """One cotangent product per operand of each step, each as costly as its forward step (a
    GEMM's transposes cost what it costs), all marked backward."""
    rows = plan.grad().rows
    steps = max(1, len(plan.lowering.contractions))
    assert sum(r.count for r in rows) == 2 * steps
    assert all("backward" in r.notes for r in rows)
    assert plan.grad().total_flops == 2 * plan.flops


def test_a_product_written_as_mul_and_sum_is_a_contraction():
    """(x[:, :, None] * w[None]).sum(1) is x @ w: one row, 2 FLOPs per multiply-add (XLA counts
    a multiply and an add for all but the first, so its total is m*n less); a mul that only
    scales (a bias, a norm) is not a contraction."""
    x, w = spec(4, 5), spec(5, 3)
    report = dotsum.inspect(lambda x, w: (x[:, :, None] * w[None]).sum(1), x, w)
    assert rows(report) == [("ak,kc->ac", ((4, 5), (5, 3)), 1, ())]
    assert report.total_flops == mm(4, 5, 3)
    cost = jax.jit(lambda x, w: (x[:, :, None] * w[None]).sum(1)).lower(x, w).compile()
    cost = cost.cost_analysis()
    assert (cost[0] if isinstance(cost, (list, tuple)) else cost)["flops"] == mm(4, 5, 3) - 4 * 3
    (dot,) = dotsum.inspect(lambda x, y: jnp.sum(x * y), spec(7), spec(7)).rows
    assert (dot.subscripts, dot.flops) == ("k,k->", 14)
    assert dotsum.inspect(lambda x, b: x * b + x * 2.0, spec(4, 5), spec(5)).rows == ()


def test_multiply_only_steps_are_rows_and_name_their_plan():
    x, y = spec(32, 64), spec(32, 16)
    (row,) = dotsum.inspect(lambda x, y: dnp.einsum("bi,bj->bij", x, y), x, y).rows
    plan = dnp.einsum.plan("bi,bj->bij", (32, 64), (32, 16))
    assert (row.subscripts, row.shapes, row.flops) == ("ab,ad->abd", ((32, 64), (32, 16)),
                                                       plan.flops)
    assert (row.op, row.plan) == ("numpy.einsum", plan)
    (jnp_row,) = dotsum.inspect(lambda x, y: jnp.einsum("bi,bj->bij", x, y), x, y).rows
    assert (jnp_row.subscripts, jnp_row.flops) == (row.subscripts, row.flops)


def test_plan_grad_of_a_multiply_only_plan():
    plan = dnp.einsum.plan("bi,bj->bij", (4, 8), (4, 2))
    rows_ = plan.grad().rows
    assert len(rows_) == 2 and all("backward" in r.notes for r in rows_)
    assert plan.grad().total_flops == 2 * 2 * plan.flops


def test_the_plan_a_row_names_does_not_depend_on_what_ran_before():
    def f(x, w):
        return dnp.matmul(x, w)

    x, w = spec(6, 10), spec(10, 12)
    plan = dnp.matmul.plan((6, 10), (10, 12))
    assert dotsum.inspect(f, x, w).rows[0].plan == plan
    dnp.matmul(jnp.ones((6, 10)), jnp.ones((10, 12)), precision="highest")  # same scope, shapes
    assert dotsum.inspect(f, x, w).rows[0].plan == plan
    dnp.matmul.plan((10, 12), (12, 6))  # planned earlier at other shapes
    (row,) = dotsum.inspect(jax.vmap(f, in_axes=(0, None)), spec(3, 6, 10), w).rows
    assert row.plan == plan  # the per-example plan vmap batched, not another
    dotsum.clear_caches()
    gc.collect()
    (row,) = dotsum.inspect(f, x, w).rows  # an equal plan made again after the caches went
    assert row.plan == plan and row.op == "numpy.matmul"


@pytest.mark.parametrize("wrap", ["jit", "checkpoint", "scan", "cond"])
def test_backward_is_marked_inside_nested_programs(wrap):
    def product(x, w):
        return jnp.tanh(x @ w)

    def inner(x, w):
        if wrap == "jit":
            return jax.jit(product)(x, w)
        if wrap == "checkpoint":
            return jax.checkpoint(product)(x, w)
        if wrap == "scan":
            return lax.scan(lambda c, _: (product(c, w), None), x, None, length=3)[0]
        return lax.cond(x[0, 0] > 0, product, lambda x, w: product(-x, w), x, w)

    report = dotsum.inspect(jax.grad(lambda x, w: jnp.sum(inner(x, w) ** 2), argnums=(0, 1)),
                            spec(8, 8), spec(8, 8))
    kinds = [r.notes[-1] if r.notes and r.notes[-1] in ("backward", "recomputed") else "forward"
             for r in report.rows]
    assert kinds.count("backward") == 2 * kinds.count("forward") > 0, kinds
    assert kinds.count("recomputed") == (kinds.count("forward") if wrap == "checkpoint" else 0)
    assert all("test_inspect.py" in r.source for r in report.rows)


def test_symbolic_shares_are_priced_in_python_integers():
    """``67108864*b`` at b = 1024 is 2**36: JAX's own evaluation multiplies in int32 and wrapped,
    which printed every share as 0.0 %."""
    from dotsum._symbolic import HINT, hint

    b, c = jax.export.symbolic_shape("b, c")
    n = HINT
    for expr, value in [(67108864 * b, 67108864 * n), (b * b * c, n ** 3), (2 * c - b, n),
                        ((b + 1) * (c - 1), (n + 1) * (n - 1)), (b // 3, n // 3), (b % 3, n % 3)]:
        assert hint(expr) == value, expr
    x, w = spec(b, 128, 512), spec(512, 512)
    report = dotsum.inspect(lambda x, w: (x @ w, x[:, :, :64] @ w[:64]), x, w)
    assert [f"{report.share(r):.1%}" for r in report.rows] == ["88.9%", "11.1%"]


def test_a_plans_scope_is_the_same_in_every_process():
    """The scope is in every HLO op's name: the processes of a multi-process program must name
    it alike (Python's hash salts strings per process; with it, a cross-process all-reduce hung
    on JAX 0.12.1)."""
    import os
    import subprocess

    code = ("from dotsum import ops; from dotsum._origin import scope; "
            "print(scope(ops.einsum.plan('bqhd,bkhd->bhqk', (2, 4, 2, 8), (2, 4, 2, 8))))")
    names = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONHASHSEED=seed), check=True).stdout
             for seed in ("1", "2")}
    assert len(names) == 1 and names.pop().startswith("ops.einsum[bqhd,bkhd->bhqk]#")
