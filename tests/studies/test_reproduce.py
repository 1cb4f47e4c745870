"""End-to-end `bridge-jax reproduce --quick`: outputs, determinism, resume and CLI errors."""

import json
import os
import subprocess
import sys

import pytest

from bridge_jax._cli import main as cli_main

HEADLINE = (
    "spectral_correlation",
    "effective_rank_augmentation",
    "effective_rank_operator",
    "masking_mse_physics_at_0.5",
    "masking_mse_meanfill_at_0.5",
    "masking_reduction_pct_at_0.5",
    "subspace_alignment",
    "grassmann_distance",
    "taxonomy_dino_noise2self",
)
FIGURES = (
    "fig1_spectrum.png",
    "fig2_masking.png",
    "fig3_convergence.png",
    "fig4_transfer.png",
    "fig5_taxonomy.png",
)


def test_results_json_contract(quick_run):
    with open(quick_run / "results.json") as f:
        results = json.load(f)
    assert results["config"]["trials"] == 3 and results["config"]["seed"] == 42
    for key in HEADLINE:
        m = results["metrics"][key]
        for field in ("mean", "std", "ci95", "n_trials", "paper", "definition"):
            assert field in m, (key, field)
        assert len(m["ci95"]) == 2
        if m["n_trials"] == 1:  # one value (the hand-scored taxonomy): no interval, null
            assert m["ci95"] == [None, None] and m["std"] is None
        else:
            assert m["ci95"][0] <= m["mean"] <= m["ci95"][1]
        assert isinstance(m["definition"], str) and m["definition"]
    for key in ("spectral_correlation", "subspace_alignment", "grassmann_distance"):
        assert "null" in results["metrics"][key]
    assert results["metrics"]["spectral_correlation"]["paper"] == 0.993
    for exp in (
        "fig1_spectrum",
        "fig2_masking",
        "fig3_convergence",
        "fig4_transfer",
        "fig5_taxonomy",
    ):
        assert results["curves"][exp]


def test_figures_and_report(quick_run):
    for name in FIGURES:
        path = quick_run / "figures" / name
        assert path.exists() and path.stat().st_size > 10_000
    report = (quick_run / "report.md").read_text()
    assert "| metric | paper |" in report
    for name in FIGURES:
        assert f"figures/{name}" in report
    for key in HEADLINE:
        assert f"`{key}`" in report


def test_same_seed_same_results(quick_run, tmp_path):
    assert cli_main(["reproduce", "--quick", "--out", str(tmp_path), "--fresh"]) == 0
    assert (tmp_path / "results.json").read_bytes() == (quick_run / "results.json").read_bytes()


def test_different_seed_changes_results(quick_run, tmp_path):
    from bridge_jax.studies._config import Config
    from bridge_jax.studies._runner import run_experiments

    run = run_experiments(Config.quick(seed=7), str(tmp_path), names=("fig1_spectrum",))
    a = run["results"]["fig1_spectrum"]["metrics"]
    b = json.loads((quick_run / "results.json").read_text())["metrics"]
    assert a["spectral_correlation"]["mean"] != b["spectral_correlation"]["mean"]


def test_resume_reuses_finished_experiments(quick_run, tmp_path, capsys):
    import shutil

    shutil.copytree(quick_run / "experiments", tmp_path / "experiments")
    os.remove(tmp_path / "experiments" / "fig4_transfer.json")  # "interrupted" during fig4
    assert cli_main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err.count("loaded from an earlier run") == 4
    assert (tmp_path / "results.json").read_bytes() == (quick_run / "results.json").read_bytes()


def test_corrupted_or_foreign_result_is_a_clear_error(quick_run, tmp_path, capsys):
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "fig1_spectrum.json").write_text("{not json")
    assert cli_main(["reproduce", "--quick", "--out", str(tmp_path)]) == 2
    assert "not a readable experiment result" in capsys.readouterr().err
    (tmp_path / "experiments" / "fig1_spectrum.json").write_text('{"hello": 1}')
    assert cli_main(["reproduce", "--quick", "--out", str(tmp_path)]) == 2
    assert "not written by bridge-jax reproduce" in capsys.readouterr().err


def test_damaged_result_folders_name_the_file(quick_run, tmp_path, capsys):
    """Issue 12: an empty saved result, a truncated variant and a report that is not UTF-8."""
    import shutil

    shutil.copytree(quick_run, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "experiments" / "fig2_masking.json"
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "result": {}}))  # right format and digest, no result
    assert cli_main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "fig2_masking" in err and "saved file has no metrics, curves: recomputing" in err
    assert json.loads(path.read_text()) == saved  # recomputed: the same bytes as before

    (tmp_path / "digits").mkdir()
    (tmp_path / "digits" / "results.json").write_text('{"format": "bridge_jax.results/1", "me')
    (tmp_path / "report.md").write_bytes(b"# report\n\xff\xfe not utf-8\n")
    assert cli_main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "left " + str(tmp_path / "digits" / "results.json") + " out of the comparison" in err
    assert "was not UTF-8 text" in err
    assert (tmp_path / "report.md.unreadable").read_bytes().startswith(b"# report")
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "<!-- variants:begin -->" not in report and "spectral_correlation" in report
    assert (tmp_path / "results.json").read_bytes() == (quick_run / "results.json").read_bytes()


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "bridge_jax._cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _cli_in_process(capsys, *args):
    """The CLI's exit code and stderr, in this process (an uncaught exception fails the test,
    as a traceback would); `test_unwritable_output_folder` runs the real command."""
    capsys.readouterr()
    try:
        code = cli_main(list(args))
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args,needle",
    [
        (("reproduce", "--bogus"), "unrecognized arguments: --bogus"),
        (("reproduce", "--trials", "-3"), "--trials must be a positive integer, got -3"),
        (("reproduce", "--trials", "many"), "invalid int value: 'many'"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        (("reproduce", "--quick", "--trials", "1000000000"), "trials need at least"),
        (("reproduce", "--quick", "--signals", "1"), "signals must be >= 2"),
    ],
)
def test_user_mistakes_get_one_line_and_exit_2(args, needle, capsys):
    code, err = _cli_in_process(capsys, *args)
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_unwritable_output_folder(tmp_path):
    """As a separate process: `python -m bridge_jax._cli` exits 2 with one line, no
    traceback."""
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    proc = _cli("reproduce", "--quick", "--out", str(blocker / "sub"))
    assert proc.returncode == 2
    assert "cannot write to output folder" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_digits_run_has_the_same_layout_beside_the_synthetic_one(quick_run, tmp_path):
    """`reproduce --data digits` writes the same results.json layout into DIR/digits/, and the
    comparison section into DIR/report.md when the synthetic run is there too."""
    import shutil

    shutil.copytree(quick_run, tmp_path, dirs_exist_ok=True)
    assert cli_main(["reproduce", "--quick", "--data", "digits", "--out", str(tmp_path)]) == 0
    with open(quick_run / "results.json") as f:
        synthetic = json.load(f)
    with open(tmp_path / "digits" / "results.json") as f:
        digits = json.load(f)
    assert digits["format"] == synthetic["format"]
    assert set(digits["metrics"]) == set(synthetic["metrics"])
    assert set(digits["curves"]) == set(synthetic["curves"])
    assert digits["config"]["data"] == "digits" and digits["config"]["n"] == 64
    # Different data, different numbers (nothing silently reused from the synthetic run).
    assert digits["metrics"]["spectral_correlation"]["mean"] != pytest.approx(
        synthetic["metrics"]["spectral_correlation"]["mean"]
    )
    for name in FIGURES:
        assert (tmp_path / "digits" / "figures" / name).stat().st_size > 1000
    # The exact linear MMSE uses the data's moments: on digits it beats Landweber from zero.
    mse = lambda name: digits["metrics"][f"transfer_mse_{name}_sigma_0.1"]["mean"]  # noqa: E731
    assert mse("lmmse_exact") < mse("imaging")
    report = (tmp_path / "report.md").read_text()
    assert "<!-- variants:begin -->" in report and "| paper setting | digits |" in report
    assert "8x8 digits" in (tmp_path / "digits" / "report.md").read_text()


@pytest.mark.parametrize(
    "args,needle",
    [
        (("reproduce", "--data", "cifar"), "invalid choice: 'cifar'"),
        (("reproduce", "--operator", "radon"), "invalid choice: 'radon'"),
        (("reproduce", "--data", "digits", "--signals", "1000"), "signals must be <= 898"),
        (("phase", "--data", "sparse,cifar"), "data must be a non-empty subset"),
        (("phase", "--trials", "0"), "trials must be a positive integer"),
    ],
)
def test_data_and_phase_mistakes_get_one_line_and_exit_2(args, needle, capsys):
    code, err = _cli_in_process(capsys, *args)
    assert code == 2, err
    assert needle in err
    assert len(err.strip().splitlines()) == 1


def test_digits_without_scikit_learn_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    code = cli_main(["reproduce", "--quick", "--data", "digits", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'bridge_jax[data]'" in err and len(err.splitlines()) == 1
