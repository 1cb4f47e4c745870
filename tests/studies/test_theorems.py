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
    moi = {(r["G"], r["m"]) for r in result["moi"]}
    assert moi == {(g, m) for g in c.moi_operators for m in c.moi_m}
    ei = {(r["group"], r["kind"], r["m"]) for r in result["ei"]}
    assert ei == {(g, k, m) for g in c.ei_groups for k in c.ei_kinds for m in c.ei_m}
    for r in result["moi"] + result["ei"]:
        s = r["success"]
        assert s["n_trials"] == c.trials
        assert 0.0 <= s["ci95"][0] <= s["mean"] <= s["ci95"][1] <= 1.0
        assert 0.0 <= r["rank_condition"] <= 1.0
        assert r["learned_rel_mse"]["mean"] >= 0.0
    for r in result["moi"]:
        assert r["bounds"] == bj.moi_bounds(c.n, c.k, r["G"])
        # Gaussian operators: the rank condition holds exactly when G m >= n.
        assert r["rank_condition"] == float(r["G"] * r["m"] >= c.n)
        # One subspace: exactly identifiable iff m >= k + (n - k)/G (generic operators).
        assert r["identifiable"] == float(r["m"] >= r["bounds"]["one_subspace"])
        # Noiseless and m >= k: the oracle that knows the model is exact.
        assert r["oracle_rel_mse"]["mean"] < 1e-6
    for r in result["ei"]:
        assert r["bounds"]["necessary"] == bj.group_bounds(r["group"], c.n, c.k)["necessary"]
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
