"""Sensing theorems: when can a signal model be learned from measurements alone?
Phase diagrams of MOI (G operators) and EI (one operator and a group) against the bounds of
Tachella, Chen & Davies, and whether the paper's statistics predict success.

Runs `bridge_jax/studies/theorems/` (its docstring states every definition), the same code as
`bridge-jax theorems`; writes DIR/theorems.json, DIR/figures/theorems_*.png and a section of
DIR/report.md.
"""

from bridge_jax.studies import theorems as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/theorems.py"))
