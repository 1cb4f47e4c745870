"""End-to-end `bridge-jax learn --quick`: the learn.json contract, figures, report section."""

import json

import pytest

from bridge_jax._cli import main as cli_main
from bridge_jax.studies._config import LearnConfig

KEYS = (
    "steps.default_mse",
    "steps.constant_best_mse",
    "steps.chebyshev_mse",
    "steps.learned_supervised_mse",
    "steps.learned_selfsupervised_mse",
    "steps.equivalent_plain_iterations",
    "augment.alignment_before",
    "augment.alignment_after",
    "augment.alignment_null",
    "augment.grassmann_before",
    "augment.grassmann_after",
)


@pytest.fixture(scope="module")
def learn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("learn")
    assert cli_main(["learn", "--quick", "--out", str(out)]) == 0
    return out


def test_learn_json_contract(learn_run):
    results = json.loads((learn_run / "learn.json").read_text())
    for key in KEYS:
        m = results["metrics"][key]
        assert {"mean", "std", "ci95", "n_trials"} <= set(m), key
        # the null is summarised over its random-subspace samples, the rest over trials
        expected = "null_samples" if key.endswith("_null") else "trials"
        assert m["n_trials"] == results["config"][expected]
    curves = results["curves"]["learn_steps"]
    assert len(curves["learning_curve_learned_supervised_T10"]) == results["config"]["learn_iters"]


def test_figures_and_report_section(learn_run):
    for name in ("learn_steps.png", "learn_augment.png"):
        assert (learn_run / "figures" / name).stat().st_size > 10_000
    report = (learn_run / "report.md").read_text()
    assert report.count("## Beyond the paper") == 1
    assert "figures/learn_steps.png" in report


def test_rerun_replaces_the_section(learn_run):
    assert cli_main(["learn", "--quick", "--out", str(learn_run)]) == 0
    assert (learn_run / "report.md").read_text().count("## Beyond the paper") == 1


def test_learn_config_rejects_bad_values():
    with pytest.raises(ValueError, match="unroll must include T = 10"):
        LearnConfig.quick(unroll=(5, 20)).validate()
    with pytest.raises(ValueError, match="learn_lr must be > 0"):
        LearnConfig.quick(learn_lr=-1.0).validate()
