"""Experiment 4 (paper Figure 4): reconstruction across noise levels, and subspace alignment.

Questions: (a) does SSRL-initialised Landweber match imaging-only Landweber at every noise level,
with a supervised oracle as lower bound? (b) The paper reports a mean subspace alignment of
0.651 and a Grassmann distance of 5.023 between "SSRL and imaging representations": do these
values differ from those of random subspaces?

Runs `bridge_jax/studies/fig4_transfer.py` (its docstring states every definition), the code
that `bridge-jax reproduce` runs; writes DIR/experiments/fig4_transfer.json and
DIR/figures/fig4_transfer.png. Usage: `python experiments/fig4_transfer.py --out results`.
"""

from bridge_jax.studies import fig4_transfer as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/fig4_transfer.py"))
