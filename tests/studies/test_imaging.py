"""`bridge-jax imaging --quick`: the imaging.json contract, a known answer, resume, errors."""

import json
import shutil

import numpy as np
import pytest

from bridge_jax._cli import main as cli_main
from bridge_jax.studies._config import ImagingConfig

ARGS = ["imaging", "--quick"]


@pytest.fixture(scope="module")
def quick_imaging(tmp_path_factory):
    out = tmp_path_factory.mktemp("imaging")
    assert cli_main(ARGS + ["--out", str(out)]) == 0
    with open(out / "imaging.json") as f:
        return out, json.load(f)


def test_imaging_json_contract(quick_imaging):
    out, result = quick_imaging
    c = ImagingConfig.quick()
    assert result["format"] == "bridge_jax.imaging/1"
    assert set(result["results"]) == set(c.tasks)
    for task, rows in result["results"].items():
        assert set(rows) == {"pinv", *c.methods} - set(result["not_run"].get(task, {}))
        for row in rows.values():
            for metric in ("psnr", "ssim"):
                m = row[metric]
                assert set(m) == {"mean", "ci95", "n_seeds"} and m["n_seeds"] == c.seeds
                assert m["ci95"][0] <= m["mean"] <= m["ci95"][1]
                assert np.isfinite(m["mean"])
            assert -1.0 <= row["ssim"]["mean"] <= 1.0
        # Paired by seed: the mean of the per-seed differences is the difference of the means.
        for m in set(rows) - {"pinv", "mc"}:
            d = rows[m]["psnr_minus_mc"]
            want = rows[m]["psnr"]["mean"] - rows["mc"]["psnr"]["mean"]
            assert d["n_seeds"] == c.seeds and d["mean"] == pytest.approx(want, abs=1e-9)
            assert d["ci95"][0] <= d["mean"] <= d["ci95"][1]
        # The two references close 0 and all of the gap, by definition.
        assert rows["pinv"]["gap_closed"]["psnr"] == pytest.approx(0.0, abs=1e-12)
        assert rows["supervised"]["gap_closed"]["psnr"] == pytest.approx(1.0)
        assert (out / "figures" / f"imaging_{task}.png").stat().st_size > 1000
    report = (out / "report.md").read_text()
    assert "<!-- imaging:begin -->" in report and "| mc |" in report and "gap closed" in report
    assert "paired by seed, moi - mc" in report


def test_mc_cannot_leave_the_zero_filled_image(quick_imaging):
    """Inpainting, UNet on A^T y starting as the identity: the zero-filled image is already
    measurement-consistent, so mc's gradient is exactly 0 and it ends where pinv is, on every
    seed (the theory's blindness to the null space, in its sharpest form)."""
    out, _ = quick_imaging
    units = {
        m: json.loads((out / "imaging" / "mnist_inpaint" / f"{m}.json").read_text())
        for m in ("pinv", "mc")
    }
    # Unit files: a header line, then the payload (bridge_jax.store).
    mc, pinv = (u.get("result", u) for u in (units["mc"], units["pinv"]))
    np.testing.assert_allclose(mc["psnr"], pinv["psnr"], rtol=1e-5)
    np.testing.assert_allclose(mc["example"], pinv["example"], atol=1e-3)


def test_imaging_resumes_from_saved_units(quick_imaging, tmp_path, capsys):
    out, first = quick_imaging
    shutil.copytree(out, tmp_path, dirs_exist_ok=True)
    capsys.readouterr()
    assert cli_main(ARGS + ["--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "loaded from an earlier run" in err and "running" not in err
    assert (tmp_path / "imaging.json").read_bytes() == (out / "imaging.json").read_bytes()


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--tasks", "mnist_inpaint,xray"], "unknown ['xray']"),
        (["--methods", "mc,simclr"], "unknown ['simclr']"),
        (["--methods", ","], "at least one"),
        (["--seeds", "0"], "seeds must be a positive integer"),
    ],
)
def test_bad_arguments_are_one_line(extra, words, tmp_path, capsys):
    assert cli_main(ARGS + extra + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and "Traceback" not in err


def test_ct_family_draws_as_many_angles_as_the_fixed_operator():
    # The docstring: MOI's CT family is a set of random angles, as many as the fixed
    # operator's (7 on 32 x 32 and 14 on 64 x 64: m / n about 0.3).
    import jax.random as jr

    from bridge_jax.studies.imaging.tasks import TASKS

    ct = TASKS["ct"]
    for shape, angles in (((32, 32), 7), ((64, 64), 14)):
        fixed = ct.operator(jr.key(0), shape)
        drawn = ct.family(jr.key(1), shape)
        sinogram = drawn.mv(np.zeros(shape, np.float32))
        assert fixed.out_structure().shape == sinogram.shape == (sinogram.shape[0], angles)
