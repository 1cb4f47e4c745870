"""End-to-end `bridge-jax methods --quick`: the methods.json contract, figures, report, resume."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bridge_jax as bj
from bridge_jax._cli import main as cli_main
from bridge_jax.studies import methods as study
from bridge_jax.studies._config import MethodsConfig

SUMMARY = {"mean", "std", "ci95", "n_trials"}


@pytest.fixture(scope="module")
def methods_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("methods")
    assert cli_main(["methods", "--quick", "--out", str(out)]) == 0
    return out


def test_methods_json_contract(methods_run):
    result = json.loads((methods_run / "methods.json").read_text())
    trials = result["config"]["trials"]
    assert set(result["methods"]) == set(MethodsConfig().methods)
    for name, entry in result["methods"].items():
        for label in result["settings"]:
            assert SUMMARY <= set(entry["mse"][label]), (name, label)
            assert entry["mse"][label]["n_trials"] == trials
        assert set(entry["axes"]) == {"invariance", "masking", "equivariance", "physics"}
        assert all(0.0 <= v <= 1.0 for v in entry["axes"].values())
    tax = result["taxonomy"]
    assert tax["methods"] == list(study.EIGHT)
    for key in ("measured_similarity", "hand_similarity"):
        sim = np.asarray(tax[key])
        assert sim.shape == (8, 8)
        np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-6)
        np.testing.assert_allclose(sim, sim.T, atol=1e-6)
    hand = bj.cosine_similarity_matrix(bj.load_taxonomy().scores)
    order = [list(bj.load_taxonomy().methods).index(m) for m in study.EIGHT]
    np.testing.assert_allclose(tax["hand_similarity"], np.asarray(hand)[np.ix_(order, order)])
    for b in study.BASELINES:
        assert SUMMARY <= set(result["baselines"][b][result["settings"][0]])


def test_figures_and_report_section(methods_run):
    for name in ("methods_mse.png", "methods_taxonomy.png", "methods_learning_curves.png"):
        assert (methods_run / "figures" / name).stat().st_size > 10_000
    report = (methods_run / "report.md").read_text()
    assert report.count("## Eight methods, one interface") == 1
    assert "figures/methods_taxonomy.png" in report


def test_rerun_loads_every_unit_and_gives_the_same_json(methods_run, capsys):
    before = (methods_run / "methods.json").read_text()
    assert cli_main(["methods", "--quick", "--out", str(methods_run)]) == 0
    err = capsys.readouterr().err
    assert err.count("loaded from an earlier run") == len(MethodsConfig().methods) + 1
    assert "running" not in err
    after = json.loads((methods_run / "methods.json").read_text())
    assert after["methods"] == json.loads(before)["methods"]


def test_corrupted_unit_is_a_clear_error(methods_run, tmp_path, capsys):
    unit = next((methods_run / "methods").glob("*__baselines.json"))  # the first one read
    (tmp_path / "methods").mkdir()
    (tmp_path / "methods" / unit.name).write_text("{ not json")
    assert cli_main(["methods", "--quick", "--out", str(tmp_path)]) == 2
    assert "not a readable experiment result" in capsys.readouterr().err


def test_inpainting_problem_trains_and_scores(tmp_path):
    config = MethodsConfig.quick(cs_noise=(), inpaint_ratios=(0.5,), methods=("mae", "ssdu"))
    units = study.run_units(config.validate(), str(tmp_path))
    for name in ("mae", "ssdu"):
        unit = units[f"inpaint_rho0.5/{name}"]
        assert len(unit["mse"]) == config.trials and np.all(np.isfinite(unit["mse"]))
    assert np.all(np.isfinite(units["inpaint_rho0.5/baselines"]["lmmse"]))


def test_user_mistakes_exit_2(tmp_path, capsys):
    assert cli_main(["methods", "--quick", "--methods", "simsiam", "--out", str(tmp_path)]) == 2
    assert "unknown methods" in capsys.readouterr().err
    assert cli_main(["methods", "--quick", "--steps", "0", "--out", str(tmp_path)]) == 2
    assert "train_steps" in capsys.readouterr().err


def test_method_keys_do_not_depend_on_the_order_of_names(tmp_path, monkeypatch):
    # Each method's key comes from its name: reordering the public METHODS tuple changes no
    # method's draws (the key came from the position in METHODS).
    from bridge_jax.studies.methods import run

    class Stop(Exception):
        pass

    seen = {}

    def train(name, data, c, key, ckpt):
        seen[name] = np.asarray(jax.random.key_data(key))
        raise Stop  # the key is all this test needs

    monkeypatch.setattr(run, "train", train)
    monkeypatch.setattr(run, "baselines", lambda a, b, c: {"zero": jnp.zeros(())})
    keys = {}
    for order in (bj.METHODS, tuple(reversed(bj.METHODS))):
        monkeypatch.setattr(bj, "METHODS", order)
        for name in ("ei", "sure"):
            with pytest.raises(Stop):
                run.run_units(MethodsConfig.quick(methods=(name,)), str(tmp_path), fresh=True)
            keys.setdefault(name, []).append(seen[name])
    for first, second in keys.values():
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(keys["ei"][0], keys["sure"][0])


def test_setting_keys_do_not_depend_on_the_order_of_the_grid(tmp_path, monkeypatch):
    # Each setting's data and method keys come from its label: reordering the noise levels
    # changes no setting's draws (the key came from the position in the grid).
    import os

    from bridge_jax.studies.methods import run

    class Stop(Exception):
        pass

    seen = {}

    def make_trial(key, kind, value, c):  # the data's trial keys stand for the data
        return jax.random.key_data(key)

    def train(name, data, c, key, ckpt):
        label = os.path.basename(ckpt).split("__")[0]
        seen[label] = (np.asarray(data), np.asarray(jax.random.key_data(key)))
        raise Stop

    def load_or_compute(path, digest, compute, **kwargs):
        if not path.endswith("__baselines.json"):
            with pytest.raises(Stop):
                compute()
        return {}

    monkeypatch.setattr(run, "make_trial", make_trial)
    monkeypatch.setattr(run, "train", train)
    monkeypatch.setattr(run, "load_or_compute", load_or_compute)
    runs = []
    for levels in ((0.1, 0.5), (0.5, 0.1)):
        seen.clear()
        config = MethodsConfig.quick(cs_noise=levels, inpaint_ratios=(), methods=("ei",))
        run.run_units(config.validate(), str(tmp_path / str(levels[0])))
        runs.append(dict(seen))
    assert set(runs[0]) == set(runs[1]) == {"cs_sigma0.1", "cs_sigma0.5"}
    for label in runs[0]:
        for a, b in zip(runs[0][label], runs[1][label], strict=True):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[0]["cs_sigma0.1"][0], runs[0]["cs_sigma0.5"][0])
