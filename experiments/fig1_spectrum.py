"""Experiment 1 (paper Figure 1): is the SSRL augmentation spectrum related to that of A^T A?

Question: the paper reports that the eigenspectra of the augmentation covariance C_SSRL and of
A^T A correlate at rho = 0.993 "when restricted to the measurement subspace", with effective
ranks 64 and 32. Does that hold, and does the correlation carry information?

Runs `bridge_jax/studies/fig1_spectrum.py` (its docstring states every definition), the code
that `bridge-jax reproduce` runs; writes DIR/experiments/fig1_spectrum.json and
DIR/figures/fig1_spectrum.png. Usage: `python experiments/fig1_spectrum.py --out results`.
"""

from bridge_jax.studies import fig1_spectrum as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/fig1_spectrum.py"))
