"""Imaging physics: a figure per operator: a test image, its measurement and its
pseudoinverse reconstruction, with PSNR.

Question: what does each imaging operator of bridge_jax keep of a real 128 x 128 image?

Runs `bridge_jax/studies/physics.py` (its docstring states every definition), the same code as
`bridge-jax physics`; writes DIR/figures/imaging_*.png and DIR/imaging_physics.json.
"""

from bridge_jax.studies import physics as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/physics.py"))
