"""`bridge-jax phase`: the phase.json contract, recovery where it must succeed, resume."""

import json

import numpy as np
import pytest
import scipy.stats

from bridge_jax._analysis._stats import proportion_interval, summarize_success
from bridge_jax._cli import main as cli_main
from bridge_jax.studies.phase import INITS, PhaseConfig, one_trial, unit_digest, view_transforms

ARGS = ["phase", "--quick", "--data", "sparse"]


@pytest.fixture(scope="module")
def quick_phase(tmp_path_factory):
    out = tmp_path_factory.mktemp("phase")
    assert cli_main(ARGS + ["--out", str(out)]) == 0
    with open(out / "phase.json") as f:
        return out, json.load(f)


def test_phase_json_contract(quick_phase):
    out, result = quick_phase
    c = PhaseConfig.quick(data=("sparse",))
    assert result["format"] == "bridge_jax.phase/1"
    cells = {
        (r["data"], r["field"], r["m_over_n"], r["noise"], r["init"]) for r in result["success"]
    }
    expected = {
        ("sparse", f, r, s, i)
        for f in c.fields
        for r in c.ratios
        for s in c.noise_levels
        for i in INITS
    }
    assert cells == expected and len(result["success"]) == len(expected)
    for r in result["success"]:
        assert r["n_trials"] == c.trials
        assert 0.0 <= r["ci95"][0] <= r["mean"] <= r["ci95"][1] <= 1.0
        assert r["m"] == round(r["m_over_n"] * c.n)
    for path in ("figures/phase_real.png", "figures/phase_complex.png"):
        assert (out / path).stat().st_size > 1000
    report = (out / "report.md").read_text()
    assert "<!-- phase:begin -->" in report and "Smallest m/n" in report


def test_phase_outcomes_that_must_hold(quick_phase):
    _, result = quick_phase

    def rate(**where):
        (r,) = [r for r in result["success"] if all(r[k] == v for k, v in where.items())]
        return r["mean"]

    for field in ("real", "complex"):
        # x0 = 0 is a stationary point of the amplitude loss: it never succeeds.
        assert rate(field=field, m_over_n=6.0, noise=0.0, init="zero") == 0.0
        # Noiseless, m = 6n: spectral initialisation + amplitude flow recovers x.
        assert rate(field=field, m_over_n=6.0, noise=0.0, init="spectral") >= 0.8


def test_phase_resumes_from_saved_units(quick_phase, tmp_path, capsys):
    out, first = quick_phase
    import shutil

    shutil.copytree(out, tmp_path, dirs_exist_ok=True)
    capsys.readouterr()
    assert cli_main(ARGS + ["--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "loaded from an earlier run" in err and "running" not in err
    with open(tmp_path / "phase.json") as f:
        second = json.load(f)
    assert second["success"] == first["success"]
    # Issue 12: identical runs write identical bytes (the wall time goes to timings.json).
    assert (tmp_path / "phase.json").read_bytes() == (out / "phase.json").read_bytes()
    assert set(json.loads((tmp_path / "timings.json").read_text())) == {"phase"}


def test_a_unit_copied_under_another_name_is_recomputed_not_read(quick_phase, tmp_path, capsys):
    """`cp phase/sparse_real_2.json phase/sparse_real_6.json` must not report m/n = 6 with the
    m/n = 2 data: each unit's digest holds its own (data, field, m/n)."""
    import shutil

    out, first = quick_phase
    shutil.copytree(out, tmp_path, dirs_exist_ok=True)
    units = tmp_path / "phase"
    shutil.copyfile(units / "sparse_real_2.json", units / "sparse_real_6.json")
    empty = json.loads((units / "sparse_complex_2.json").read_text())
    (units / "sparse_complex_2.json").write_text(json.dumps({**empty, "result": {}}))
    capsys.readouterr()
    assert cli_main(ARGS + ["--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "sparse_real_6" in err and "saved for another unit, configuration or code" in err
    assert "sparse_complex_2" in err and "saved file has no m, errors: recomputing" in err
    assert err.count("recomputing") == 2
    second = json.loads((tmp_path / "phase.json").read_text())
    assert second["success"] == first["success"]
    assert (units / "sparse_real_6.json").read_bytes() == (
        out / "phase" / "sparse_real_6.json"
    ).read_bytes()


def test_unit_shapes_and_errors_are_relative(quick_phase):
    # A unit as run_unit returned it, saved by the quick run (m = 2n, real field).
    out, _ = quick_phase
    c = PhaseConfig.quick(data=("sparse",))
    saved = json.loads((out / "phase" / "sparse_real_2.json").read_text())
    assert saved["digest"] == unit_digest(c, "sparse", "real", 2.0)
    unit = saved["result"]
    a = np.asarray(unit["errors"])
    assert unit["m"] == 2 * c.n and a.shape == (c.trials, len(c.noise_levels), len(INITS))
    np.testing.assert_allclose(a[:, :, list(INITS).index("zero")], 1.0, rtol=1e-6)


def test_one_trial_draws_its_own_view_transforms_as_run_unit_passes_them():
    """`run_unit` computes each trial's view transforms in a program of their own; a trial
    given them computes what a trial that draws them itself does."""
    import jax
    import jax.numpy as jnp
    import jax.random as jr

    c = PhaseConfig(num_steps=3, power_iters=3, noise_levels=(0.0,), k=3)
    key, x = jr.key(5), jr.normal(jr.key(6), (c.n,))
    sub = jnp.eye(c.n)[:, : c.n // 4]
    given = view_transforms(c, "sparse", key)
    assert given.shape == (2, c.k, c.n, c.n)
    trial = jax.jit(lambda t: one_trial(c, "sparse", "complex", 2 * c.n, x, sub, key, t))
    # Equal to rounding: the two programs may fuse the flow's loop differently.
    np.testing.assert_allclose(trial(None), trial(given), rtol=1e-5)


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (17, 40), (1, 1)])
def test_wilson_interval_against_scipy(k, n):
    ref = scipy.stats.binomtest(k, n).proportion_ci(method="wilson")
    np.testing.assert_allclose(proportion_interval(k, n), [ref.low, ref.high], atol=1e-12)
    s = summarize_success(np.arange(n) < k)
    assert s["mean"] == k / n and s["n_trials"] == n


def test_wilson_interval_rejects_bad_counts():
    with pytest.raises(ValueError, match="successes"):
        proportion_interval(5, 3)
    with pytest.raises(ValueError, match="trials"):
        proportion_interval(0, 0)


def test_machine_failures_are_one_line_and_a_rerun_matches(
    quick_phase, tmp_path, capsys, monkeypatch
):
    """A full disk while a unit is saved, then report.md that is a folder: one line naming the
    path, exit code 1, the folder consistent; a rerun after the fix writes the same bytes."""
    import errno
    import os
    import shutil

    from bridge_jax import store

    out, _ = quick_phase
    shutil.copytree(out, tmp_path, dirs_exist_ok=True)
    unit = tmp_path / "phase" / "sparse_real_6.json"
    unit.unlink()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(store.os, "fsync", full)
        capsys.readouterr()
        assert cli_main(ARGS + ["--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"bridge-jax: error: {unit}: No space left on device." in err
    assert err.count("error") == 1 and "Traceback" not in err
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing half-written, no temporary file, nothing else changed

    (tmp_path / "report.md").unlink()
    (tmp_path / "report.md").mkdir()
    assert cli_main(ARGS + ["--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if "error" in x]
    assert line == [
        f"bridge-jax: error: {tmp_path / 'report.md'}: Is a directory. Finished "
        "units are saved: a rerun resumes."
    ]
    os.rmdir(tmp_path / "report.md")
    assert cli_main(ARGS + ["--out", str(tmp_path)]) == 0
    for name in ("phase.json", "phase/sparse_real_6.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_unit_draws_do_not_depend_on_the_order_of_names(monkeypatch):
    # A unit's signals and keys come from the names of its data and field: reordering the
    # public DATA and FIELDS tuples changes no unit's numbers.
    import jax

    from bridge_jax.studies.phase import config, run

    c = PhaseConfig.quick()

    def draws():
        out = {}
        for data in ("sparse", "digits"):
            test, train = run.signals(c, data)
            for field in ("real", "complex"):
                k_sub, keys = run.unit_keys(c, data, field, 2 * c.n)
                out[data, field] = [
                    np.asarray(test),
                    np.asarray(train),
                    np.asarray(jax.random.key_data(k_sub)),
                    np.asarray(jax.random.key_data(keys)),
                ]
        return out

    before = draws()
    monkeypatch.setattr(run, "DATA", tuple(reversed(run.DATA)))
    monkeypatch.setattr(config, "DATA", tuple(reversed(config.DATA)))
    monkeypatch.setattr(config, "FIELDS", tuple(reversed(config.FIELDS)))
    after = draws()
    for unit, arrays in before.items():
        for a, b in zip(arrays, after[unit], strict=True):
            np.testing.assert_array_equal(a, b)
    # Different fields of one data set draw different trial keys.
    assert not np.array_equal(before["sparse", "real"][3], before["sparse", "complex"][3])
