"""Reproduce the whole paper: five experiments, results.json, figures and report.md.

Question: which of the paper's headline numbers hold up when recomputed with stated definitions,
how much each depends on the reading of the text, and which differ from a null baseline?

Runs `bridge_jax/studies/reproduce.py`, the same code as `bridge-jax reproduce` (same options:
`--out`, `--quick`, `--data digits`, `--operator`, `--trials`, `--signals`, `--seed`, `--fresh`).
"""

from bridge_jax.studies import reproduce as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/reproduce.py"))
