"""Sweeps: batching, chunking, resuming, sharding over devices, and configuration errors."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bridge_jax as bj
from bridge_jax._cli import main as cli_main
from bridge_jax.studies import sweep as study
from bridge_jax.studies._runner import UserError

sys.path.insert(0, os.path.dirname(__file__))
from sweep_toy import toy_trial  # noqa: E402

GRID = {"n": [6], "sigma": [0.01, 0.5], "scale": [1.0, 2.0]}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(**kwargs):
    kwargs.setdefault("progress", None)
    return bj.run_sweep(toy_trial, GRID, shape_params=("n",), trials=5, seed=3, **kwargs)


def test_chunked_equals_unchunked_and_points_batch():
    whole = _run()
    pieces = _run(chunk_trials=2)
    assert whole["groups"] == 1 and len(whole["points"]) == 4
    for name, values in whole["metrics"].items():
        assert values.shape == (4, 5) and np.all(np.isfinite(values))
        np.testing.assert_array_equal(pieces["metrics"][name], values)
    # Value parameters change the numbers; every point sees the same trials (same keys).
    err, first = whole["metrics"]["err"], whole["metrics"]["first"]
    assert np.all(err[2] > err[0])  # sigma 0.5 against 0.01
    np.testing.assert_array_equal(first[0], first[3])


def test_shape_parameters_compile_per_group():
    out = bj.run_sweep(
        toy_trial, {**GRID, "n": [4, 8]}, shape_params=("n",), trials=2, progress=None
    )
    assert out["groups"] == 2 and len(out["points"]) == 8
    with pytest.raises(bj.SweepError, match="must be numbers"):
        bj.run_sweep(toy_trial, {**GRID, "sigma": ["low"]}, shape_params=("n",), trials=2)
    with pytest.raises(bj.SweepError, match="not in the grid"):
        bj.run_sweep(toy_trial, GRID, shape_params=("m",), trials=2)


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
    seen = []
    resumed = _run(out=out, chunk_trials=2, progress=lambda *a: seen.append(a))
    # Before the computed chunk: a line saying that its group is compiling and running.
    assert [(done, total) for done, total, _ in seen] == [(1, 3), (2, 3), (2, 3), (3, 3)]
    assert "compiling and running its first chunk (1 trial)" in seen[2][2]
    messages = " ".join(m for _, _, m in seen)
    assert messages.count("(loaded;") == 2 and messages.count("(computed;") == 1
    assert capsys.readouterr().err == ""  # the library prints nothing
    for name, values in reference["metrics"].items():
        np.testing.assert_array_equal(resumed["metrics"][name], values)


def test_corrupted_or_foreign_chunk_is_a_clear_error(tmp_path):
    out = str(tmp_path)
    _run(out=out, chunk_trials=5)
    path = os.path.join(out, "chunks", os.listdir(os.path.join(out, "chunks"))[0])
    with pytest.raises(bj.SweepError, match="another configuration or another version of the code"):
        bj.run_sweep(
            toy_trial,
            GRID,
            shape_params=("n",),
            trials=5,
            seed=4,
            out=out,
            chunk_trials=5,
            progress=None,
        )
    with open(path, "wb") as f:
        f.write(b"garbage")
    with pytest.raises(bj.SweepError, match="not a readable sweep chunk"):
        _run(out=out, chunk_trials=5)


def test_a_chunk_under_another_chunks_name_is_never_read_as_it(tmp_path):
    out = str(tmp_path)
    reference = _run(out=out, chunk_trials=2)
    chunks = sorted(os.listdir(os.path.join(out, "chunks")))
    first, second = (os.path.join(out, "chunks", c) for c in chunks[:2])
    with open(first, "rb") as f:
        data = f.read()
    with open(second, "wb") as f:  # trials 0-1's numbers under trials 2-3's name
        f.write(data)
    with pytest.raises(bj.SweepError, match="another configuration"):
        _run(out=out, chunk_trials=2)
    seen = []
    again = _run(out=out, chunk_trials=2, stale="recompute", progress=lambda *a: seen.append(a))
    assert sum("the saved one was another sweep's" in m for _, _, m in seen) == 1
    for name, values in reference["metrics"].items():
        np.testing.assert_array_equal(again["metrics"][name], values)


PAPER_SETS = ["signals=6", "n=16", "m=8", "k=2", "num_steps=5", "sigma=0.0,0.1"]


@pytest.mark.parametrize("devices", [2, 4])
def test_paper_pipeline_on_several_cpu_devices_equals_one_device(devices):
    """Issue 12: on emulated CPU devices the paper's sweep hung (XLA:CPU deadlocks when the
    devices run batched LAPACK calls at once). Chunks of 1, 2 and 4 trials per device (of 7
    trials: the last chunk is padded) must finish and give the one-device numbers."""
    from bridge_jax.studies import sweep as study

    script = textwrap.dedent(
        f"""
        import json
        import jax, numpy as np
        import bridge_jax as bj
        from bridge_jax.studies import sweep as study
        assert len(jax.devices()) == {devices}, jax.devices()
        cfg = study.load_config(None, {PAPER_SETS!r})
        runs = []
        for per in (1, 2, 4):
            out = bj.run_sweep(study.paper_trial, cfg["grid"], shape_params=tuple(study.SHAPE),
                               trials=7, seed=1, chunk_trials={devices} * per)
            runs.append({{k: np.asarray(v).tolist() for k, v in out["metrics"].items()}})
        print(json.dumps(runs))
        """
    )
    env = {
        **os.environ,
        "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} "
        f"--xla_force_host_platform_device_count={devices}",
        "JAX_PLATFORMS": "cpu",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    cfg = study.load_config(None, PAPER_SETS)
    one = bj.run_sweep(
        study.paper_trial, cfg["grid"], shape_params=tuple(study.SHAPE), trials=7, seed=1
    )
    for run in runs:
        for name, values in one["metrics"].items():
            np.testing.assert_allclose(run[name], values, rtol=1e-5, atol=1e-7)


DISTRIBUTED = """
import json, sys
import jax, numpy as np
import bridge_jax as bj
from bridge_jax.studies.sweep import start_distributed
sys.path.insert(0, "tests")
from sweep_toy import toy_trial
start_distributed("127.0.0.1:{port}", 2, int(sys.argv[1]))  # what sweep --distributed calls
assert jax.process_count() == 2 and len(jax.devices()) == 2, jax.devices()
messages = []
out = bj.run_sweep(toy_trial, {grid!r}, shape_params=("n",), trials=5, seed=3, chunk_trials=2,
                   out={out!r}, progress=lambda done, total, msg: messages.append(msg))
print(json.dumps({{"metrics": {{k: v.tolist() for k, v in out["metrics"].items()}},
                  "messages": messages}}))
"""


def _two_processes(out):
    """`run_sweep` in two processes of one CPU device each (JAX's gloo collectives),
    coordinated over localhost as on two hosts; each process's printed result."""
    with socket.socket() as s:  # a free port for the coordinator
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = DISTRIBUTED.format(port=port, grid=GRID, out=str(out))
    # One device per process, compiled as this process compiles (its results are compared
    # with this process's bit for bit): drop only a forced device count from XLA_FLAGS.
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if "device_count" not in f]
    env = os.environ | {"XLA_FLAGS": " ".join(flags), "JAX_PLATFORMS": "cpu"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for i in range(2)
    ]
    try:
        logs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, logs, strict=True):
        assert p.returncode == 0, err[-3000:]
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in logs]


def test_two_processes_with_jax_distributed_equal_one_process(tmp_path):
    """A sweep over `jax.distributed` (two processes on localhost, one device each, one mesh
    over both) returns the single-process numbers to every process: exactly with the same
    work per device (one trial), to float32 rounding with all trials in one batch. Run again,
    both processes reuse the chunks process 0 wrote."""
    first = _two_processes(tmp_path)
    assert first[0]["metrics"] == first[1]["metrics"]
    assert sorted(os.listdir(tmp_path / "chunks")) == [
        "g000-t0000000-0000002.npz",
        "g000-t0000002-0000004.npz",
        "g000-t0000004-0000005.npz",
    ]
    for name, values in _run(chunk_trials=1)["metrics"].items():
        np.testing.assert_array_equal(first[0]["metrics"][name], values)
    for name, values in _run()["metrics"].items():
        np.testing.assert_allclose(first[0]["metrics"][name], values, rtol=1e-6, atol=1e-7)
    again = _two_processes(tmp_path)
    for result in again:
        assert result["metrics"] == first[0]["metrics"]
        assert all("(loaded;" in m for m in result["messages"]) and len(result["messages"]) == 3


def test_distributed_settings_mistakes_are_one_line(tmp_path, capsys):
    assert cli_main(["sweep", "--process-id", "1", "--out", str(tmp_path)]) == 2
    assert "need --distributed" in capsys.readouterr().err
    jax.devices()  # the backend is up: jax.distributed refuses to start, in one line
    with pytest.raises(UserError, match=r"--distributed: jax.distributed.initialize\(\) must be"):
        study.start_distributed("127.0.0.1:1", 2, 0)


def test_config_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.toml"
    cases = [
        ("[grid]\nsigma = [0.1]\nfoo = [1]\n", "unknown parameters"),
        ("[grid]\nmask_ratio = [1.5]\n", "mask_ratio must be in"),
        ("[grid]\nstep_scale = [2.5]\n", "step_scale must be in"),
        ("[grid]\nm = [80]\n", "need m <= n"),
        ("[grid]\nn = [64.5]\n", "n must be a positive integer"),
        ("[grid]\nsigma = [nan]\n", "sigma must be finite"),
        ("seed = 99999999999999999999999\n", "seed must be an integer in"),
        ("trials = 0\n", "trials must be a positive integer"),
        ("[grid]\nsigma = 0.1\n", "non-empty list"),
        ("bogus = 1\n", "unknown keys"),
        ("fixed = 3\n", "fixed must be a table"),
        ("grid = [1, 2]\n", "grid must be a table"),
        ("[grid\n", "not valid TOML"),
    ]
    for text, message in cases:
        bad.write_text(text)
        with pytest.raises(UserError, match=message):
            study.load_config(str(bad), [])
    with pytest.raises(UserError, match="NAME=V1"):
        study.load_config(None, ["sigma"])


def test_cli_sweep_of_the_paper_pipeline(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text(
        "trials = 3\nseed = 1\n[fixed]\nn = 12\nm = 6\ns = 3\nsignals = 8\nk = 2\n"
        "num_steps = 4\n[grid]\nsigma = [0.1, 1.0]\n"
    )
    out = tmp_path / "out"
    assert cli_main(["sweep", str(config), "--out", str(out), "--no-cache"]) == 0
    result = json.loads((out / "sweep.json").read_text())
    assert len(result["points"]) == 2
    low, high = (p["metrics"]["landweber_mse"] for p in result["points"])
    assert {"mean", "std", "ci95", "n_trials"} <= set(low) and low["n_trials"] == 3
    assert high["mean"] > low["mean"]  # more noise, larger error, on the same trials
    # Issue 12: a rerun (chunks loaded) writes the same bytes; the wall time is in timings.json.
    first = (out / "sweep.json").read_bytes()
    assert cli_main(["sweep", str(config), "--out", str(out), "--no-cache"]) == 0
    assert (out / "sweep.json").read_bytes() == first
    assert set(json.loads((out / "timings.json").read_text())) == {"sweep"}
    # Another configuration in the same folder: recomputed and said, as every command does.
    capsys.readouterr()
    config.write_text(config.read_text().replace("seed = 1", "seed = 2"))
    assert cli_main(["sweep", str(config), "--out", str(out), "--no-cache"]) == 0
    assert "the saved one was another sweep's" in capsys.readouterr().err
    assert (out / "sweep.json").read_bytes() != first
    assert cli_main(["sweep", str(tmp_path / "missing.toml"), "--out", str(out)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert cli_main(["sweep", "--set", "sigma=-1", "--out", str(out), "--no-cache"]) == 2
    assert "sigma must be >= 0" in capsys.readouterr().err


def test_map_trials_batches_one_trial_function(key):
    """`map_trials`: any output shapes, a leading trial axis, NumPy out; chunking by
    `batch_size` gives the same numbers as one batch."""
    keys = jax.random.split(key, 6)

    def trial(k):
        x = jax.random.normal(k, (3,))
        return {"x": x, "norm": jnp.sum(x**2)}

    whole = bj.map_trials(trial, keys)
    chunked = bj.map_trials(trial, keys, batch_size=2)
    assert whole["x"].shape == (6, 3) and whole["norm"].shape == (6,)
    assert isinstance(whole["x"], np.ndarray)
    np.testing.assert_allclose(whole["x"][4], jax.random.normal(keys[4], (3,)), rtol=1e-6)
    for name in whole:
        np.testing.assert_allclose(chunked[name], whole[name], rtol=1e-6)


def test_cache_reload_prints_no_cpu_feature_errors(tmp_path):
    """Issue 12: reruns from the compilation cache printed XLA's cpu_aot_loader 'SIGILL' lines."""
    import subprocess
    import sys

    config = tmp_path / "tiny.toml"
    config.write_text(
        "trials = 1\n[fixed]\nn = 8\nm = 4\ns = 2\nsignals = 2\n[grid]\nsigma = [0.1]\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    cmd = [sys.executable, "-m", "bridge_jax", "sweep", str(config), "--cache", str(tmp_path / "c")]
    for run in ("first", "second"):
        out = tmp_path / run
        proc = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "cpu_aot_loader" not in proc.stderr and "SIGILL" not in proc.stderr, proc.stderr
    assert any((tmp_path / "c").iterdir())  # the second run did load from the cache


@pytest.mark.parametrize(
    "command",
    [["sweep", "--set", "n=8", "--set", "m=4", "--set", "s=2"], ["reproduce", "--quick"]],
    ids=["sweep", "reproduce"],
)
def test_cache_that_is_a_file_is_one_line(command, tmp_path, capsys):
    """Every command has --cache (and --no-cache); an unusable folder is one line, exit 2,
    before any work."""
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    args = [*command, "--out", str(tmp_path / "out")]
    assert cli_main([*args, "--cache", str(blocker)]) == 2
    assert not (tmp_path / "out").exists()
    err = capsys.readouterr().err
    assert "cannot use" in err and "--no-cache" in err and len(err.strip().splitlines()) == 1


def test_binary_config_is_one_line(tmp_path, capsys):
    config = tmp_path / "binary.toml"
    config.write_bytes(b"\xff\xfe\x00\x01")
    assert cli_main(["sweep", str(config), "--out", str(tmp_path / "o"), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "is not a TOML file (not UTF-8 text" in err and len(err.strip().splitlines()) == 1


def test_every_command_uses_the_cache_by_default_and_as_told(tmp_path, monkeypatch):
    """`--cache DIR` and `--no-cache` on every command, the cache on by default (imaging's
    too: its crashes were the memory-mapping limit, see release_programs_if_needed)."""
    import argparse

    from bridge_jax import studies
    from bridge_jax.studies import _runner

    seen = []
    monkeypatch.setattr(
        _runner, "enable_compilation_cache", lambda p, prune=True: seen.append(p) or p
    )
    for name in ("imaging", "reproduce"):
        parser = argparse.ArgumentParser()
        studies.add_arguments(name, parser)
        assert _runner.use_compilation_cache(parser.parse_args([])) is not None
        given = parser.parse_args(["--cache", str(tmp_path / name)])
        assert _runner.use_compilation_cache(given) == str(tmp_path / name)
        assert _runner.use_compilation_cache(parser.parse_args(["--no-cache"])) is None
    assert seen[-1] == str(tmp_path / "reproduce")


def test_the_paper_trial_has_no_host_callback_so_the_cache_can_keep_it():
    """JAX's persistent cache does not save programs with host callbacks: the sweep's main
    program must have none, or every rerun compiles it again."""
    import jax.random as jr

    shape = dict(n=12, m=6, s=3, signals=8, k=2, num_steps=4)
    values = {k: jnp.asarray(v) for k, v in study.VALUE.items()}
    trial = jax.jit(lambda key, v: study.paper_trial(key, v, **shape))
    assert "callback" not in trial.lower(jr.key(0), values).as_text()


def test_a_failing_trial_is_one_line_and_nothing_printed(capfd):
    import equinox as eqx

    def trial(key, v):
        return {"x": eqx.error_if(v["step"], v["step"] > 2.0, "diverged: lower step_size.")}

    with pytest.raises(bj.SweepError) as info:
        bj.run_sweep(trial, {"step": [1.0, 3.0]}, trials=2)
    assert str(info.value) == (
        "the trial function failed at grid point {'step': 3.0}, trial 0: diverged: lower step_size."
    )
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""  # the library prints nothing
