"""`bridge-jax theorems --quick`: the theorems.json contract, the bounds it records, resume."""

import json

import pytest

import bridge_jax as bj
from bridge_jax._cli import main as cli_main
from bridge_jax.studies.theorems import TheoremsConfig, rank_correlations

ARGS = ["theorems", "--quick"]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("theorems")
    assert cli_main(ARGS + ["--out", str(out)]) == 0
    with open(out / "theorems.json") as f:
        return out, json.load(f)


def test_theorems_json_contract(quick):
    out, result = quick
    c = TheoremsConfig.quick()
    assert result["format"] == "bridge_jax.theorems/1"
    assert result["config"] == c.as_dict()
    (k,) = c.k
    moi = {(r["model"], r["k"], r["restarts"], r["G"], r["m"]) for r in result["moi"]}
    heads = {(model, kk, r) for model in c.models for kk in c.k for r in c.restarts}
    assert moi == {(*h, g, m) for h in heads for g in c.moi_operators for m in c.moi_m}
    ei = {(r["group"], r["kind"], r["m"]) for r in result["ei"]}
    assert ei == {(g, kind, m) for g in c.ei_groups for kind in c.ei_kinds for m in c.ei_m}
    for r in result["moi"] + result["ei"]:
        s = r["success"]
        assert s["n_trials"] == c.trials
        assert 0.0 <= s["ci95"][0] <= s["mean"] <= s["ci95"][1] <= 1.0
        assert 0.0 <= r["rank_condition"] <= 1.0
        assert r["learned_rel_mse"]["mean"] >= 0.0
    for r in result["moi"]:
        assert r["bounds"] == bj.moi_bounds(c.n, k, r["G"])
        # Gaussian operators: the rank condition holds exactly when G m >= n.
        assert r["rank_condition"] == float(r["G"] * r["m"] >= c.n)
        # One subspace: exactly identifiable iff m >= k + (n - k)/G (generic operators).
        assert r["identifiable"] == float(r["m"] >= r["bounds"]["one_subspace"])
        # Noiseless and m >= k: the oracle that knows the model is exact.
        assert r["oracle_rel_mse"]["mean"] < 1e-6
    for r in result["ei"]:
        assert r["bounds"]["necessary"] == bj.group_bounds(r["group"], c.n, k)["necessary"]
        if r["kind"] == "blur":  # commutes with the group: never full rank below m = n
            assert r["rank_condition"] == 0.0
    assert {t["part"] for t in result["transitions"]} == {"moi", "ei"}
    for t in result["transitions"]:
        if t["part"] == "moi":  # m = 10 >= k + (n - k)/G = 7: identifiable in every trial
            assert t["m_identifiable"] == 10 and t["m_oracle"] == 3
        else:
            assert t["m_identifiable"] is None
    assert set(result["rank_correlation"]) == {"moi", "ei"}
    for path in ("figures/theorems_moi.png", "figures/theorems_ei.png"):
        assert (out / path).stat().st_size > 1000
    report = (out / "report.md").read_text()
    assert "<!-- theorems:begin -->" in report and "transition" in report


def test_theorems_resumes_from_saved_units(quick, capsys):
    out, result = quick
    assert cli_main(ARGS + ["--out", str(out)]) == 0
    assert "loaded from an earlier run" in capsys.readouterr().err
    with open(out / "theorems.json") as f:
        again = json.load(f)
    assert again["moi"] == result["moi"] and again["ei"] == result["ei"]


def test_rank_correlation_reads_a_monotone_statistic():
    recs = [
        {"success": {"mean": s}, "spectral_correlation": v, "subspace_alignment": None,
         "rank_condition": v}
        for s, v in [(0.0, 0.1), (0.2, 0.3), (0.9, 0.5), (1.0, 0.9)]
    ]  # fmt: skip
    for i, r in enumerate(recs):
        r["spectral_correlation_null"] = 0.5
        r["m"] = i
    rc = rank_correlations(recs)
    assert rc["spectral_correlation"]["rho"] == pytest.approx(1.0)
    assert rc["spectral_correlation_minus_null"]["rho"] == pytest.approx(1.0)
    assert rc["subspace_alignment"]["rho"] is None
    assert rc["subspace_alignment_minus_null"]["rho"] is None
    assert rc["m"]["rho"] == pytest.approx(1.0)


def test_bad_settings_exit_2(tmp_path, capsys):
    assert cli_main(["theorems", "--quick", "--trials", "0", "--out", str(tmp_path)]) == 2
    assert "trials must be a positive integer" in capsys.readouterr().err
    assert cli_main(["theorems", "--quick", "--k", "2,x", "--out", str(tmp_path)]) == 2
    assert "--k must be comma-separated integers" in capsys.readouterr().err
    assert cli_main(["theorems", "--quick", "--models", "dense", "--out", str(tmp_path)]) == 2
    assert "models must be a non-empty subset" in capsys.readouterr().err
    args = ["theorems", "--quick", "--models", "sparse", "--n", "32", "--k", "8"]
    assert cli_main(args + ["--out", str(tmp_path)]) == 2
    assert "C(n, k) supports" in capsys.readouterr().err


def test_k_sweep_writes_every_curve(tmp_path, monkeypatch):
    """`--k 1,2 --models subspace,sparse --restarts 1,3`: every (model, k, R) has its unit
    file, records, bounds and transition (the trials are replaced by a stand-in whose
    error falls below the threshold from m = 2k + R; the real trials run in `quick`)."""
    from bridge_jax.studies.theorems import run as run_module

    def fake_unit(c, part, spec):
        model, k, restarts = spec[:3]
        ms = c.moi_m if part == "moi" else c.ei_m
        cell = dict.fromkeys(("oracle", "pinv", "final_loss", "train_loss"), 0.5)
        cell.update(stacked_rank=c.n, identifiable=None)
        cell.update(dict.fromkeys(("spectral_correlation", "subspace_alignment"), 0.5))
        cell.update(spectral_correlation_null=0.4, subspace_alignment_null=0.3)
        cells = [
            {**cell, "m": m, "trial": t, "learned": 0.0 if m >= 2 * k + restarts else 1.0}
            for m in ms
            for t in range(c.trials)
        ]
        return {"cells": cells}

    monkeypatch.setattr(run_module, "run_unit", fake_unit)
    args = ["theorems", "--quick", "--k", "1,2", "--models", "subspace,sparse"]
    args += ["--restarts", "1,3", "--moi-m", "2,4,6,8", "--ei-m", "3,5,7"]
    assert cli_main(args + ["--out", str(tmp_path)]) == 0
    with open(tmp_path / "theorems.json") as f:
        result = json.load(f)
    c = TheoremsConfig.quick(k=(1, 2), models=("subspace", "sparse"), restarts=(1, 3))
    heads = {(model, k, r) for model in c.models for k in c.k for r in c.restarts}
    for part in ("moi", "ei"):
        assert {(r["model"], r["k"], r["restarts"]) for r in result[part]} == heads
    for r in result["moi"]:
        b = bj.moi_bounds(c.n, r["k"], r["G"])
        if r["model"] == "sparse":
            b.pop("one_subspace")
        assert r["bounds"] == b
    got = {
        (t["part"], t["model"], t["k"], t["restarts"]): t["m_transition"]
        for t in result["transitions"]
    }
    want_moi = {h: next(m for m in (2, 4, 6, 8) if m >= 2 * h[1] + h[2]) for h in heads}
    want_ei = {h: next(m for m in (3, 5, 7) if m >= 2 * h[1] + h[2]) for h in heads}
    assert got == {("moi", *h): v for h, v in want_moi.items()} | {
        ("ei", *h): v for h, v in want_ei.items()
    }
    units = sorted(p.stem for p in (tmp_path / "theorems").glob("*.json"))
    assert len(units) == 2 * len(heads) and "moi_sparse_k2_R3_G2" in units
    assert "| MOI, G=2, sparse, k=2, R=3 |" in (tmp_path / "report.md").read_text()


def test_sparse_trial_learns_from_measurements_with_an_exact_oracle(key):
    """The sparse model in the study's MOI trial: an oracle that knows the basis is exact
    (m >= 2k), the pseudoinverse is not, the record has every field."""
    import jax
    import jax.numpy as jnp

    from bridge_jax.studies.theorems import moi_trial

    c = TheoremsConfig.quick(n=8, k=(2,), models=("sparse",), num_steps=3, test_signals=6)
    out = jax.jit(lambda kk, m: moi_trial(c, "sparse", 2, 2, 2, 6, kk, m))(key, jnp.asarray(5))
    assert float(out["oracle"]) < 1e-6 < float(out["pinv"])
    assert "bases" not in out and out["a"].shape == (2, 6, 8)
    assert float(out["train_loss"]) >= 0.0 and bool(jnp.isfinite(out["learned"]))


def test_spectral_start_estimates_the_subspace_from_measurements(key):
    """The back-projected second moment of measurements through many Gaussian operators has
    the signal subspace on top ((m+1)/(mk) P_S + I/m per unit energy): its leading
    eigenvectors recover S; through one operator they cannot leave its row space."""
    import jax
    import jax.numpy as jnp
    import jax.random as jr

    from bridge_jax.studies.theorems.trial import _gaussian, spectral_start

    n, k, m, g, p = 16, 2, 8, 64, 32
    k_s, k_a, k_x, k_r = jr.split(key, 4)
    truth = bj.random_subspace(n, k, key=k_s)
    a = jax.vmap(lambda kk: _gaussian(kk, m, m, n))(jr.split(k_a, g))
    x = jr.normal(k_x, (g, p, k)) @ truth.T
    y = jnp.einsum("gmn,gpn->gpm", a, x)
    u = spectral_start(a, y, k)
    assert u.shape == (n, k)
    assert float(bj.subspace_alignment(u, truth)) > 0.95
    assert float(bj.subspace_alignment(bj.random_subspace(n, k, key=k_r), truth)) < 0.8
    one = spectral_start(a[:1], y[:1], k)  # one operator: inside its row space
    row = bj.row_space(bj.MatrixOperator(a[0]))
    assert float(bj.subspace_alignment(one, row)) == pytest.approx(1.0, abs=1e-4)


def test_moi_trial_starts_from_the_spectral_estimate(key):
    """With `moi_init="spectral"` MOI's first run starts from the moment estimate: after one
    Adam step its test error is far below that of the random start (same draws)."""
    import jax
    import jax.numpy as jnp

    from bridge_jax.studies.theorems import moi_trial

    errors = {}
    for init in ("random", "spectral"):
        c = TheoremsConfig.quick(n=12, k=(2,), num_steps=1, moi_init=init, moi_learner="gradient")
        out = jax.jit(lambda kk, m, c=c: moi_trial(c, "subspace", 2, 1, 8, 10, kk, m))(
            key, jnp.asarray(10)
        )
        errors[init] = float(out["learned"])
    assert errors["spectral"] < 0.2 < 0.8 < errors["random"]  # 0.11 and 1.26 measured


def test_spectral_init_needs_one_subspace(tmp_path, capsys):
    args = ["theorems", "--quick", "--moi-init", "spectral", "--models", "sparse"]
    assert cli_main(args + ["--out", str(tmp_path)]) == 2
    assert "moi_init='spectral' estimates one subspace" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["theorems", "--moi-init", "pca", "--out", str(tmp_path)])


def test_moi_trial_with_the_varpro_learner_recovers_an_identifiable_subspace(key):
    """`moi_learner="varpro"`: Levenberg-Marquardt on the variable-projection objective,
    two starts, reaches rounding where the model is identifiable (m >= k + (n-k)/G)."""
    import jax
    import jax.numpy as jnp

    from bridge_jax.studies.theorems import moi_trial

    c = TheoremsConfig.quick(n=12, k=(2,), moi_learner="varpro", varpro_steps=40)
    assert 6 >= bj.moi_bounds(12, 2, 4)["one_subspace"]
    out = jax.jit(lambda kk, m: moi_trial(c, "subspace", 2, 2, 4, 8, kk, m))(key, jnp.asarray(6))
    assert float(out["oracle"]) < 1e-8
    assert float(out["learned"]) < 1e-6, out["learned"]
    assert float(out["train_loss"]) < 1e-8


def test_bad_learner_options_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli_main(["theorems", "--quick", "--moi-learner", "newton", "--out", str(tmp_path)])
    assert "invalid choice" in capsys.readouterr().err
    assert cli_main(["theorems", "--quick", "--varpro-steps", "0", "--out", str(tmp_path)]) == 2
    assert "varpro_steps" in capsys.readouterr().err
