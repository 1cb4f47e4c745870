"""The benchmark workloads compute the same thing in every implementation (no timings asserted)."""

import argparse
import json

import numpy as np
import pytest

from benchmarks import run


def test_w2_and_w3_implementations_agree(monkeypatch):
    monkeypatch.setattr(run, "W2_BLOCK", 8)  # 20 signals: blocks of 8, 8 and 4
    for fn, params in (
        (run.w2, dict(trials=2, signals=20, n=12, m=6, iters=8)),
        (run.w3, dict(trials=2, signals=20, k=3, n=8)),
    ):
        raw = fn(params, 1, ("bridge_jax", "numpy"))
        ref = raw["bridge_jax_x"]
        np.testing.assert_allclose(raw["numpy_x"], ref, rtol=1e-3, atol=1e-4)
        forms = ("spectral", "gram", "blocked", "gram_blocked") if fn is run.w2 else ("scipy",)
        for form in forms:
            np.testing.assert_allclose(raw[f"{form}_x"], ref, rtol=1e-3, atol=1e-4)
        assert raw["bridge_jax_s"] > 0 and raw["flops"] > 0


def test_entry_fields_and_markdown():
    entry = run.run_entry("W4", "tiny", dict(trials=2, signals=10, n=8, m=4, unroll=3, steps=2), 1)
    done = run._finish({"workload": "W4", "size": "tiny", **entry}, peak=100.0, device="cpu")
    for key in (
        "bridge_jax_s",
        "numpy_s",
        "torch_s",
        "speedup_vs_numpy",
        "speedup_vs_torch",
        "gflops",
        "gemm_peak_gflops",
        "fraction_of_peak",
        "peak_rss_mb",
        "device",
    ):
        assert key in done
    assert done["numpy_s"] is None and done["speedup_vs_numpy"] is None  # no autodiff in NumPy
    result = {
        "device": "cpu",
        "machine": {"platform": "x"},
        "versions": {"jax": "0"},
        "gemm_peak": {"numpy_gflops": 1.0, "xla_gflops": 2.0},
        "entries": [done],
    }
    table = run.markdown(result)
    assert "| W4 | tiny |" in table and "W2 in each form" not in table
    w2 = {"workload": "W2", "size": "10x", "bridge_jax_s": 2.0, "flops": 4e11, "gram_s": 1.0}
    result["entries"].append(run._finish(w2, peak=400.0, device="cpu"))
    table = run.markdown(result)
    assert "| 10x | 2 | 0.5 | - | - | 1 | 1 | - | - | - |" in table  # 200 and 400 GFLOP/s
    w3 = {"workload": "W3", "size": "n64", "bridge_jax_s": 0.5, "scipy_s": 1.0, "flops": 1e9}
    result["entries"].append(run._finish(w3, peak=400.0, device="cpu"))
    assert "| n64 | 0.5 | 1 | 2 |" in run.markdown(result)  # x SciPy: 1.0 / 0.5


def test_reconstructor_benchmark_networks_match_pytorch():
    """The PyTorch UNet and unrolled network of `benchmarks/reconstructors.py` are the same
    networks as bridge_jax's: same parameter count, same loss with the copied weights."""
    import pytest

    torch = pytest.importorskip("torch")
    from benchmarks import reconstructors

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny sizes: threads only add synchronisation
    try:
        for name in reconstructors.CONFIGS:
            entry = reconstructors.bench(name, size=9, batch=2, repeat=2, torch=torch)
            assert entry["bridge_jax_parameters"] == entry["torch_parameters"] > 0
            assert entry["loss_relative_difference"] < 1e-5, entry["initial_loss"]
            assert entry["bridge_jax"]["median_s"] > 0 and entry["torch"]["median_s"] > 0
    finally:
        torch.set_num_threads(threads)


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    from benchmarks.run import main

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["--quick", "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert "cannot write to --out" in err and len(err.strip().splitlines()) == 1
    assert main(["--quick", "--only", "W2,W9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--only must name parts of W1,W2,W3,W4,scaling, got 'W2,W9'" in err


def test_profile_any_command_splits_compile_from_run(tmp_path, capsys):
    """`python -m benchmarks.profile_studies command -- ...`: one row per command, with the
    compilations it made counted and the parts adding up to the wall time."""
    from benchmarks import profile_studies

    config = tmp_path / "tiny.toml"
    config.write_text(
        "trials = 1\n[fixed]\nn = 8\nm = 4\ns = 2\nsignals = 2\nnum_steps = 5\n"
        "[grid]\nsigma = [0.1]\n"
    )
    out = tmp_path / "profile"
    argv = ["sweep", str(config), "--out", str(tmp_path / "sweep")]
    assert profile_studies.main(["--out", str(out), "command", "--", *argv]) == 0
    row = json.loads((out / "profile.json").read_text())["rows"][0]
    assert row["experiment"] == "sweep" and row["compilations"] > 0
    parts = row["trace_s"] + row["lower_s"] + row["compile_s"] + row["run_s"]
    assert abs(parts - row["wall_s"]) < 1e-6 and row["compile_s"] > 0
    assert (tmp_path / "sweep" / "sweep.json").exists()
    assert "| sweep |" in capsys.readouterr().out


def test_small_benchmarks_record_their_arguments_and_the_machine(tmp_path):
    from benchmarks._common import write_record

    write_record(str(tmp_path / "r.json"), argparse.Namespace(signals=3), rows=[{"K": 4}])
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["args"] == {"signals": 3} and record["rows"] == [{"K": 4}]
    assert len(record["loadavg"]) == 3 and record["machine"]
    with pytest.raises(ValueError, match="'machine' is written by write_record"):
        write_record(str(tmp_path / "r.json"), argparse.Namespace(), machine="mine")


def test_phase_flow_forms_agree(key):
    """benchmarks/phase_flow.py's complex-product flows iterate as `bj.amplitude_flow`."""
    import jax.random as jr

    import bridge_jax as bj
    from benchmarks import phase_flow

    op = bj.PhaseRetrieval.gaussian(6, 24, key=key, complex=True)
    x = jr.normal(jr.fold_in(key, 1), (6,))
    x0 = (x + 0.3 * jr.normal(jr.fold_in(key, 2), (6,))).astype(op.matrix.dtype)
    ref = bj.amplitude_flow(op, op(x), x0=x0, step_size=0.5, num_steps=20)[0]
    for vector_first in (False, True):
        out = phase_flow._complex_flow(
            op.matrix, op(x), x0, steps=20, step_size=0.5, vector_first=vector_first
        )
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_profile_step_sums_xla_ops_by_kind():
    from benchmarks.profile_step import op_kinds

    events = [
        {"ph": "X", "name": "dot.1", "dur": 3000.0},
        {"ph": "X", "name": "dot.12", "dur": 1000.0},
        {"ph": "X", "name": "sort", "dur": 6000.0},
        {"ph": "X", "name": "$_jit.py:206 __call__", "dur": 9e9},  # a Python frame
        {"ph": "X", "name": "ThunkExecutor::Execute", "dur": 9e9},  # the runtime
        {"ph": "i", "name": "dot.3", "dur": 9e9},  # not a complete event
    ]
    kinds = op_kinds(events, steps=2)
    assert list(kinds) == ["sort", "dot"]
    assert kinds["dot"] == {"ms_per_step": 2.0, "ops": 2}
    assert kinds["sort"] == {"ms_per_step": 3.0, "ops": 1}


def test_gpu_benchmark_dry_run_writes_dated_tables(tmp_path, capsys):
    """`python -m benchmarks --gpu --quick` runs W2, W4 and a network's training step (on the
    CPU where there is no GPU: a dry run) and writes bench-gpu-<date>.json and .md."""
    import jax

    from benchmarks.run import main

    assert main(["--gpu", "--quick", "--only", "W2,W4,networks", "--out", str(tmp_path)]) == 0
    (record,) = tmp_path.glob("bench-gpu-*.json")
    result = json.loads(record.read_text())
    assert result["dry_run"] == (jax.default_backend() != "gpu")
    assert [e["workload"] for e in result["entries"]] == ["W2", "W4"]
    assert all(e["bridge_jax_s"] > 0 for e in result["entries"])
    (net,) = result["networks"]
    assert net["network"] == "dncnn" and net["bridge_jax"]["median_s"] > 0
    if "torch" in net:
        assert net["loss_relative_difference"] < 1e-5
    table = record.with_suffix(".md").read_text()
    assert f"bridge_jax benchmark on a GPU, {result['date']}" in table
    assert "| W4 | paper |" in table and "| dncnn | 16x16 | 2 |" in table


def test_gpu_benchmark_without_a_gpu_needs_quick(tmp_path, capsys):
    import jax

    from benchmarks.run import main

    if jax.default_backend() == "gpu":
        pytest.skip("a GPU is present")
    assert main(["--gpu", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--gpu needs a GPU that JAX can use" in err and "--quick" in err
    assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("bench-gpu-*"))
    assert main(["--gpu", "--quick", "--only", "W2,scaling", "--out", str(tmp_path)]) == 2
    assert "--only must name parts of W1,W2,W3,W4,networks" in capsys.readouterr().err


def test_compare_results_tabulates_means_against_the_old_intervals(tmp_path, capsys):
    from benchmarks import compare_results

    old = {"a": {"mean": 1.0, "ci95": [0.9, 1.1], "n_trials": 20}, "b": {"mean": 2.0}}
    new = {"a": {"mean": 1.3, "ci95": [1.2, 1.4], "n_trials": 20}, "b": {"mean": 2.0}}
    (row,) = compare_results.intervals(old, new)
    assert row[0] == "/a" and row[5] is False  # 1.3 is outside [0.9, 1.1]
    # d = 0.3 / hypot(0.1, 0.1): beyond what re-drawing alone gives.
    assert compare_results.distance(*row[1:5]) == pytest.approx(0.3 / np.hypot(0.1, 0.1))
    for run_dir, tree in (("old", old), ("new", new)):
        (tmp_path / run_dir / "sub").mkdir(parents=True)
        (tmp_path / run_dir / "sub" / "r.json").write_text(json.dumps(tree))
    assert compare_results.main([str(tmp_path / "old"), str(tmp_path / "new"), "--intervals"]) == 0
    out = capsys.readouterr().out
    assert "## sub/r.json" in out and "0 of 1 new means inside" in out and "| NO |" in out
