"""`bridge-jax spectra`: the paper's statistics at image scale, matrix-free (tiny sizes here)."""

import json

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.linalg

import bridge_jax as bj
from bridge_jax._cli import main as cli_main
from bridge_jax.studies import spectra

QUICK = ["spectra", "--quick", "--data", "patches", "--operators", "ct,inpainting", "--trials", "2"]


def test_quick_run_writes_the_contract_and_resumes(tmp_path, capsys):
    out = str(tmp_path)
    assert cli_main([*QUICK, "--out", out]) == 0
    result = json.loads((tmp_path / "spectra.json").read_text())
    assert set(result) >= {"format", "config", "definitions", "results"}
    assert "elapsed_s" not in result  # wall times go to timings.json: identical runs match
    assert set(result["results"]) == {"patches"}
    for per_op in result["results"].values():
        assert set(per_op) == {"ct", "inpainting"}
        for name, entry in per_op.items():
            for stat in spectra.STATISTICS:
                e = entry[stat]
                if e["mean"] is None:  # a projection's flat spectrum: undefined, said why
                    assert name == "inpainting" and e["undefined"] and e["differs"] is None
                    assert e["n_trials"] == 0
                    continue
                assert e["n_trials"] == 2 and e["null"]["n_trials"] == 2
                assert e["null"]["mean"] is not None
                lo, hi = e["ci95"]
                assert lo <= e["mean"] <= hi and isinstance(e["differs"], bool)
                assert e["differs"] == (not lo <= e["null"]["mean"] <= hi)
                assert (e["direction"] is not None) == e["differs"]
        # A^T A of a pixel mask is a projection: spectral correlation undefined; CT's is not.
        assert per_op["inpainting"]["spectral_correlation"]["mean"] is None
        assert per_op["ct"]["spectral_correlation"]["mean"] is not None
    assert (tmp_path / "figures" / "spectra.png").stat().st_size > 0
    assert spectra.BEGIN in (tmp_path / "report.md").read_text()
    capsys.readouterr()
    first = (tmp_path / "spectra.json").read_bytes()
    assert cli_main([*QUICK, "--out", out]) == 0
    err = capsys.readouterr().err
    assert err.count("loaded from an earlier run") == 2 and "running" not in err
    assert (tmp_path / "spectra.json").read_bytes() == first
    # One unit's file under another's name is that unit's no more: recomputed, and said so.
    units = tmp_path / "spectra"
    (units / "patches_inpainting.json").write_bytes((units / "patches_ct.json").read_bytes())
    assert cli_main([*QUICK, "--out", out]) == 0
    err = capsys.readouterr().err
    assert "patches_inpainting" in err and "saved for another unit" in err
    assert err.count("recomputing") == 1
    assert (tmp_path / "spectra.json").read_bytes() == first


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--operators", "ct,xray"], "operators must be a non-empty subset"),
        (["--trials", "0"], "trials must be a positive integer"),
        (["--data", ""], "data must be a non-empty subset"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    assert cli_main(["spectra", "--quick", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_matrix_free_statistics_agree_with_dense(key):
    # 8 x 8 images, CT with 6 angles (a non-flat A^T A): LOBPCG against eigh of the matrices.
    shape, n, k = (8, 8), 64, 4
    config = spectra.SpectraConfig(signals=10, views=4, k=k, patch_size=8)
    x = jr.uniform(jr.fold_in(key, 1), (config.signals, n))
    views = spectra.make_views(x, key=jr.fold_in(key, 2), config=config, shape=shape)
    op = bj.Radon(shape, 6)
    got = spectra.statistics(views, op, k, key=jr.fold_in(key, 3), num_iters=500)

    cov = np.asarray(bj.augmentation_covariance(views), np.float64)
    a = np.asarray(op.as_matrix(), np.float64)
    lam_c, vec_c = np.linalg.eigh(cov)
    lam_a, vec_a = np.linalg.eigh(a.T @ a)
    lam_c, u_c = lam_c[::-1][:k], vec_c[:, ::-1][:, :k]
    lam_a, u_a = lam_a[::-1][:k], vec_a[:, ::-1][:, :k]
    assert got["spectrum_c"] == pytest.approx(lam_c, rel=1e-3)
    assert got["spectrum_a"] == pytest.approx(lam_a, rel=1e-3)
    assert got["spectral_correlation"] == pytest.approx(np.corrcoef(lam_c, lam_a)[0, 1], abs=1e-3)
    theta = scipy.linalg.subspace_angles(u_c, u_a)
    assert got["subspace_alignment"] == pytest.approx(np.cos(theta).mean(), abs=1e-3)
    assert got["grassmann_distance"] == pytest.approx(np.linalg.norm(theta), abs=1e-2)
    energy = np.trace(u_c.T @ a.T @ a @ u_c) / (k * lam_a[0])
    assert got["measured_energy"] == pytest.approx(energy, rel=1e-3)
    p = np.clip(np.linalg.eigvalsh(cov), 0, None)
    p = p / p.sum()
    rank = np.exp(-np.sum(p[p > 0] * np.log(p[p > 0])))
    assert got["effective_rank"] == pytest.approx(rank, rel=1e-3)
    # Views share their K transforms: view k of every image is T_k(x_i) + noise.
    assert jnp.all(jnp.isfinite(views)) and views.shape == (config.signals, config.views, n)


def test_unit_keys_do_not_depend_on_the_order_of_names(monkeypatch):
    # A unit's key comes from its data and operator names: reordering the public DATA and
    # OPERATORS tuples changes no unit's draws (the key came from the positions).
    c = spectra.SpectraConfig.quick()

    def keys():
        return {
            (d, o): np.asarray(jr.key_data(spectra.unit_key(c, d, o)))
            for d in spectra.DATA
            for o in spectra.OPERATORS
        }

    before = keys()
    monkeypatch.setattr(spectra, "DATA", tuple(reversed(spectra.DATA)))
    monkeypatch.setattr(spectra, "OPERATORS", tuple(reversed(spectra.OPERATORS)))
    after = keys()
    assert before.keys() == after.keys()
    for unit, key in before.items():
        np.testing.assert_array_equal(key, after[unit])
    assert len({k.tobytes() for k in before.values()}) == len(before)  # every unit its own
