"""`bridge-jax physics`: a figure and PSNR/SSIM per imaging operator (tiny size here)."""

import json

from bridge_jax._cli import main as cli_main


def test_physics_writes_a_figure_and_scores_per_operator(tmp_path):
    assert cli_main(["physics", "--size", "16", "--iters", "3", "--out", str(tmp_path)]) == 0
    scores = json.loads((tmp_path / "imaging_physics.json").read_text())
    operators = {k: v for k, v in scores.items() if k != "image"}
    assert len(operators) == 12 and scores["image"] == "camera"
    for name, entry in operators.items():
        assert (tmp_path / "figures" / f"imaging_{name}.png").stat().st_size > 0
        assert 0 <= entry["ssim"] <= 1 and entry["psnr_db"] > 0
    # Noise-free CT with 60 angles nearly inverts: far above inpainting half the pixels.
    assert operators["ct_60_angles"]["psnr_db"] > operators["inpainting_pixels"]["psnr_db"]


def test_physics_bad_size_is_one_line(tmp_path, capsys):
    assert cli_main(["physics", "--size", "4", "--out", str(tmp_path)]) == 2
    assert "--size must be >= 16" in capsys.readouterr().err
