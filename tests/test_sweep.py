"""Sweeps: batching, chunking, resuming, sharding over devices, and configuration errors."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import bridge_jax as bj
from bridge_jax._cli import main as cli_main
from experiments import sweep as study
from experiments._runner import UserError

SMALL = dict(n=[12], m=[6], s=[3], signals=[10], k=[3], num_steps=[5])
GRID = {
    **SMALL,
    "sigma": [0.01, 0.5],
    "mask_ratio": [0.25],
    "step_scale": [1.0, 1.5],
    "angle": [0.1],
    "aug_noise": [0.1],
}


def _run(**kwargs):
    return bj.run_sweep(
        study.paper_trial,
        GRID,
        shape_params=tuple(study.SHAPE),
        trials=5,
        seed=3,
        progress=False,
        **kwargs,
    )


def test_chunked_equals_unchunked_and_points_batch():
    whole = _run()
    pieces = _run(chunk_trials=2)
    assert whole["groups"] == 1 and len(whole["points"]) == 4
    for name, values in whole["metrics"].items():
        assert values.shape == (4, 5) and np.all(np.isfinite(values))
        np.testing.assert_allclose(pieces["metrics"][name], values, rtol=1e-6, atol=1e-8)
    # Value parameters change the numbers, and common random numbers keep the rest equal.
    lw = whole["metrics"]["landweber_mse"]
    assert not np.allclose(lw[0], lw[2])  # sigma 0.01 vs 0.5
    np.testing.assert_array_equal(
        whole["metrics"]["masking_physics_mse"][0], whole["metrics"]["masking_physics_mse"][3]
    )


def test_shape_parameters_compile_per_group():
    grid = {**GRID, "n": [12, 16], "sigma": [0.1]}
    out = bj.run_sweep(
        study.paper_trial, grid, shape_params=tuple(study.SHAPE), trials=2, progress=False
    )
    assert out["groups"] == 2 and len(out["points"]) == 4


def test_resume_after_interruption_equals_uninterrupted(tmp_path, capsys):
    reference = _run()
    out = str(tmp_path)
    _run(out=out, chunk_trials=2)
    chunks = sorted(os.listdir(os.path.join(out, "chunks")))
    assert len(chunks) == 3
    # Killed mid-run: the last chunk never landed, a temporary file was left half-written.
    os.remove(os.path.join(out, "chunks", chunks[-1]))
    with open(os.path.join(out, "chunks", chunks[-1] + ".tmp"), "wb") as f:
        f.write(b"\x00partial")
    resumed = bj.run_sweep(
        study.paper_trial,
        GRID,
        shape_params=tuple(study.SHAPE),
        trials=5,
        seed=3,
        out=out,
        chunk_trials=2,
    )
    err = capsys.readouterr().err
    assert err.count("(loaded;") == 2 and err.count("(computed;") == 1
    for name, values in reference["metrics"].items():
        np.testing.assert_allclose(resumed["metrics"][name], values, rtol=1e-6, atol=1e-8)


def test_corrupted_or_foreign_chunk_is_a_clear_error(tmp_path):
    out = str(tmp_path)
    _run(out=out, chunk_trials=5)
    path = os.path.join(out, "chunks", os.listdir(os.path.join(out, "chunks"))[0])
    with pytest.raises(bj.SweepError, match="belongs to another sweep"):
        bj.run_sweep(
            study.paper_trial,
            GRID,
            shape_params=tuple(study.SHAPE),
            trials=5,
            seed=4,
            out=out,
            chunk_trials=5,
            progress=False,
        )
    with open(path, "wb") as f:
        f.write(b"garbage")
    with pytest.raises(bj.SweepError, match="not a readable sweep chunk"):
        _run(out=out, chunk_trials=5)


def test_sharded_over_four_devices_equals_one_device(tmp_path):
    script = textwrap.dedent(
        f"""
        import json, jax, numpy as np
        import bridge_jax as bj
        from experiments import sweep as study
        assert len(jax.devices()) == 4, jax.devices()
        out = bj.run_sweep(study.paper_trial, {GRID!r}, shape_params=tuple(study.SHAPE),
                           trials=5, seed=3, chunk_trials=3, progress=False)
        print(json.dumps({{k: np.asarray(v).tolist() for k, v in out["metrics"].items()}}))
        """
    )
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "JAX_PLATFORMS": "cpu",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(__file__)),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    sharded = json.loads(proc.stdout.strip().splitlines()[-1])
    single = _run()
    for name, values in single["metrics"].items():
        np.testing.assert_allclose(sharded[name], values, rtol=1e-5, atol=1e-7)


def test_config_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.toml"
    cases = [
        ("[grid]\nsigma = [0.1]\nfoo = [1]\n", "unknown parameters"),
        ("[grid]\nmask_ratio = [1.5]\n", "mask_ratio must be in"),
        ("[grid]\nstep_scale = [2.5]\n", "step_scale must be in"),
        ("[grid]\nm = [80]\n", "need m <= n"),
        ("[grid]\nn = [64.5]\n", "must be an integer"),
        ("trials = 0\n", "trials must be >= 1"),
        ("[grid]\nsigma = 0.1\n", "non-empty list"),
        ("bogus = 1\n", "unknown keys"),
        ("[grid\n", "not valid TOML"),
    ]
    for text, message in cases:
        bad.write_text(text)
        with pytest.raises(UserError, match=message):
            study.load_config(str(bad), [])
    with pytest.raises(UserError, match="NAME=V1"):
        study.load_config(None, ["sigma"])


def test_cli_sweep_writes_results_and_rejects_mistakes(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text(
        "trials = 3\nseed = 1\n[fixed]\nn = 12\nm = 6\ns = 3\nsignals = 8\nk = 2\n"
        "num_steps = 4\n[grid]\nsigma = [0.1, 1.0]\n"
    )
    out = tmp_path / "out"
    assert cli_main(["sweep", str(config), "--out", str(out), "--no-cache"]) == 0
    result = json.loads((out / "sweep.json").read_text())
    assert len(result["points"]) == 2
    m = result["points"][0]["metrics"]["landweber_mse"]
    assert {"mean", "std", "ci95", "n_trials"} <= set(m) and m["n_trials"] == 3
    assert cli_main(["sweep", str(tmp_path / "missing.toml"), "--out", str(out)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert cli_main(["sweep", "--set", "sigma=-1", "--out", str(out), "--no-cache"]) == 2
    assert "sigma must be >= 0" in capsys.readouterr().err
