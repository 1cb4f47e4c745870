"""Experiment 2 (paper Figure 2): MAE-style mean-fill against physics-aware reconstruction.

Question: the paper reports that physics-aware pseudoinverse reconstruction from masked
observations has 47.0% lower MSE than MAE-style mean-fill at masking ratio 0.5 (0.068 against
0.129), with a gap that grows with the ratio. Does it?

Runs `bridge_jax/studies/fig2_masking.py` (its docstring states every definition), the code
that `bridge-jax reproduce` runs; writes DIR/experiments/fig2_masking.json and
DIR/figures/fig2_masking.png. Usage: `python experiments/fig2_masking.py --out results`.
"""

from bridge_jax.studies import fig2_masking as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/fig2_masking.py"))
