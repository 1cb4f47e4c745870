"""Experiment 5 (paper Figure 5): the four-axis taxonomy of eight self-supervised methods.

Question: the paper scores SimCLR, BYOL, DINO, MAE (SSRL) and Noise2Self, EI, SSDU,
Noisier2Noise (imaging) on invariance (I), masking (M), equivariance (E) and physics (P), and
reports that SSRL methods cluster in I-M, imaging methods in E-P, and that the most similar
cross-domain pair is DINO-Noise2Self (cosine 0.67). The paper does not publish its scores.

Runs `bridge_jax/studies/fig5_taxonomy.py` (its docstring states every definition), the code
that `bridge-jax reproduce` runs; writes DIR/experiments/fig5_taxonomy.json and
DIR/figures/fig5_taxonomy.png. Usage: `python experiments/fig5_taxonomy.py --out results`.
"""

from bridge_jax.studies import fig5_taxonomy as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/fig5_taxonomy.py"))
