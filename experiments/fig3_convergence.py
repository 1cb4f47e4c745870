"""Experiment 3 (paper Figure 3): Landweber from zero against Landweber from the SSRL mean.

Question: the paper reports that Landweber iteration from the SSRL augmentation mean converges
faster initially than from zero, to a similar final measurement loss. Does it, and is the
SSRL initialisation something a real method could compute?

Runs `bridge_jax/studies/fig3_convergence.py` (its docstring states every definition), the code
that `bridge-jax reproduce` runs; writes DIR/experiments/fig3_convergence.json and
DIR/figures/fig3_convergence.png. Usage: `python experiments/fig3_convergence.py --out results`.
"""

from bridge_jax.studies import fig3_convergence as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/fig3_convergence.py"))
