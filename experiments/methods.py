"""Eight methods, one interface: train all eight and measure the taxonomy.

Question: trained on the same problems, how well does each of SimCLR, BYOL, DINO, MAE (SSRL),
Noise2Self, EI, SSDU, Noisier2Noise (imaging) and a supervised reference reconstruct, and where
does each trained model actually sit on the paper's four axes (invariance, masking,
equivariance, physics), measured on the model rather than scored by hand?

Runs `bridge_jax/studies/methods/` (its docstring states every definition), the same code as
`bridge-jax methods`; writes DIR/methods.json, DIR/figures/methods_*.png and a section of
DIR/report.md.
"""

from bridge_jax.studies import methods as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/methods.py"))
