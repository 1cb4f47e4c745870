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
    assert result["format"] == "bridge_jax.imaging/2"
    assert set(result["results"]) == set(c.tasks)
    for task, rows in result["results"].items():
        assert set(rows) == {"pinv", *c.methods} - set(result["not_run"].get(task, {}))
        for name, row in rows.items():
            for metric in ("psnr", "ssim"):
                m = row[metric]
                assert set(m) == {"mean", "ci95", "n_seeds"} and m["n_seeds"] == c.seeds
                assert m["ci95"][0] <= m["mean"] <= m["ci95"][1]
                assert np.isfinite(m["mean"])
                # The reported rule is the first (the paper's) of the method's rules.
                assert row["rules"][row["rule"]][metric]["mean"] == pytest.approx(m["mean"])
            assert row["rule"] == next(iter(row["rules"]))  # the first rule is reported
            assert -1.0 <= row["ssim"]["mean"] <= 1.0
            if name == "pinv":
                continue
            # Each seed stopped by its own rule, at most at the cap.
            assert len(row["stopped_by"]) == c.seeds
            assert set(row["stopped_by"]) <= {"patience", "num_steps"}
            assert 0 < row["steps"]["mean"] <= c.max_steps
            assert all(0 <= b <= c.max_steps for b in row["best_step"])
            curves = result["curves"][task][name]
            assert len(curves) == c.seeds
            for seed, curve in enumerate(curves):
                val, psnr = curve["validation_curve"], curve["test_psnr_curve"]
                assert val["steps"][0] == 0 and len(val["loss"]) == len(val["steps"])
                assert psnr["steps"] == val["steps"] and all(np.isfinite(psnr["psnr"]))
                assert curve["train_curve"]["steps"][-1] == val["steps"][-1]
                stopped = val["steps"][-1]
                assert (row["stopped_by"][seed] == "num_steps") == (stopped == c.max_steps)
                # The model kept is the one with the lowest validation value.
                best = val["steps"][int(np.argmin(val["loss"]))]
                assert row["best_step"][seed] == best
            passes = row["forward_passes_per_step"] * min(c.batch_size, 14)
            assert row["forward_passes"]["mean"] == pytest.approx(passes * row["steps"]["mean"])
        # Paired by seed: the mean of the per-seed differences is the difference of the means.
        for m in set(rows) - {"pinv", "mc"}:
            d = rows[m]["psnr_minus_mc"]
            want = rows[m]["psnr"]["mean"] - rows["mc"]["psnr"]["mean"]
            assert d["n_seeds"] == c.seeds and d["mean"] == pytest.approx(want, abs=1e-9)
            assert d["ci95"][0] <= d["mean"] <= d["ci95"][1]
        # The two references close 0 and all of the gap, by definition.
        assert rows["pinv"]["gap_closed"]["psnr"] == pytest.approx(0.0, abs=1e-12)
        assert rows["supervised"]["gap_closed"]["psnr"] == pytest.approx(1.0)
        for name in ("imaging", "imaging_curves"):
            assert (out / "figures" / f"{name}_{task}.png").stat().st_size > 1000
    claims = result["conclusions"]["claims"]
    assert {c["verdict"] for c in claims} <= {"held", "failed", "undecided", "not run"}
    run = [c for c in claims if c["verdict"] != "not run"]
    assert run, "the quick run decides at least one expectation"
    for claim in run:
        rows = result["results"][claim["task"]]
        want = rows[claim["a"]]["psnr"]["mean"] - rows[claim["b"]]["psnr"]["mean"]
        assert claim["mean"] == pytest.approx(want, abs=1e-9)
        (lo, hi), t = claim["ci95"], claim["threshold_db"]
        side = lo > t if claim["relation"] == ">" else hi < t
        assert (claim["verdict"] == "held") == side
        assert claim["n_images"] == c.mnist_test
    report = (out / "report.md").read_text()
    assert "<!-- imaging:begin -->" in report and "| mc | network |" in report
    assert "gap closed" in report and "verdict (seeds)" in report


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


def _one_seed(c, method, *, test=None, checkpoint=None):
    """One seed of `method` on the quick inpainting task, as the benchmark trains it."""
    import jax.random as jr

    from bridge_jax.studies.imaging import run
    from bridge_jax.studies.imaging.tasks import TASKS, images

    task = TASKS["mnist_inpaint"]
    d = run._take(run.all_seed_data(c, task), 0)
    d["sigma"] = c.sigma
    keys = [run._seed_keys(c, task.name, i)[0] for i in (1, 2, 3)]
    if test is not None:  # other test images, measured like the real ones
        d["y_test"] = run._measure_all(d["op"], test, task.noise(c), jr.key(5))
    return run.train_seed(
        c,
        task,
        method,
        d,
        images(c, task.data).test if test is None else test,
        key_model=keys[0],
        key_train=keys[1],
        key_test=keys[2],
        checkpoint=checkpoint,
    )


STOP = dict(max_steps=8, eval_every=2, patience=2, min_delta=0.0)


def test_the_stopping_rule_never_sees_the_test_images():
    """Replacing the test images (and their measurements) changes the recorded test PSNR but
    not one training loss, validation value, stopping step or chosen model (the best step of
    the same trajectory) of a self-supervised unit (SSDU)."""
    import jax.random as jr

    from bridge_jax.studies.imaging.tasks import images

    c = ImagingConfig.quick(**STOP)
    first = _one_seed(c, "ssdu")
    test = images(c, "mnist").test
    other = jr.uniform(jr.key(7), test.shape)  # not digits at all
    second = _one_seed(c, "ssdu", test=other)
    for k in ("steps", "best_step", "reason", "train_curve", "validation_curve"):
        assert first[k] == second[k], k
    assert first["test_psnr_curve"]["psnr"] != second["test_psnr_curve"]["psnr"]


def test_a_killed_seed_resumes_mid_training(tmp_path, monkeypatch):
    from bridge_jax import store
    from bridge_jax.studies.imaging import run

    c = ImagingConfig.quick(**{**STOP, "patience": 10})
    whole = _one_seed(c, "ssdu")
    assert whole["steps"] == 8  # trained to the cap: the interruption below is mid-training

    class Killed(Exception):
        pass

    write = store.write_json

    def write_json(path, value):  # the run dies while recording the evaluation at step 4
        if "4" in value:
            raise Killed
        write(path, value)

    ckpt = str(tmp_path / "seed0.ckpt")
    monkeypatch.setattr(run.store, "write_json", write_json)
    with pytest.raises(Killed):
        _one_seed(c, "ssdu", checkpoint=ckpt)
    monkeypatch.undo()
    resumed = _one_seed(c, "ssdu", checkpoint=ckpt)
    assert resumed == whole


def test_ill_conditioned_reads_the_operator_and_noise_level_only():
    import jax.numpy as jnp
    import lineax as lx

    from bridge_jax.studies.imaging.run import ill_conditioned, rules

    # singular values 1, 0.5, 0.01 and an exact 0 (a null direction, which does not count)
    op = lx.DiagonalLinearOperator(jnp.asarray([1.0, 0.5, 0.01, 0.0]))
    assert ill_conditioned(op, 0.03) and not ill_conditioned(op, 0.005)
    assert rules("noisier2noise")[0] == "corrected" and rules("noisier2noise", True)[0] == "network"
    assert rules("noise2self", True)[0] == "split_mean" and rules("ssdu", True)[0] == "network"


def test_equal_budget_reads_each_method_where_its_passes_reach_the_cap():
    """A method with p forward passes per image-step is read at step cap / p of its curve (a
    seed that stopped earlier with its last evaluation); one-pass methods are not listed."""
    from bridge_jax.studies.imaging.plot import equal_budget, equal_budget_lines

    def seed(psnrs, steps=(100, 200, 300, 400)):
        return {"test_psnr_curve": {"steps": list(steps[: len(psnrs)]), "psnr": psnrs}}

    result = {
        "config": {"max_steps": 400, "eval_every": 100},
        "curves": {
            "t": {
                "noise2self": [seed([1.0, 2.0, 3.0, 4.0]), seed([3.0, 4.0, 5.0, 6.0])],
                "ei": [seed([1.0, 2.0, 3.0, 4.0]), seed([5.0])],  # the second stopped at 100
                "mc": [seed([7.0, 8.0, 9.0, 10.0])],
            }
        },
        "results": {
            "t": {
                "noise2self": {"forward_passes_per_step": 4, "psnr": {"mean": 6.0}},
                "ei": {"forward_passes_per_step": 2, "psnr": {"mean": 4.5}},
                "mc": {"forward_passes_per_step": 1, "psnr": {"mean": 10.0}},
            }
        },
    }
    b = equal_budget(result)["t"]
    assert (b["noise2self"]["step"], b["noise2self"]["psnr"]) == (100, 2.0)
    assert (b["ei"]["step"], b["ei"]["psnr"]) == (200, 3.5)
    assert (b["mc"]["step"], b["mc"]["psnr"]) == (400, 10.0)
    table = "\n".join(equal_budget_lines(result))
    assert "| t | noise2self | 4 | 100 | 2.00 | 6.00 |" in table and "| t | mc |" not in table
