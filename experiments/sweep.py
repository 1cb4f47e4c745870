"""Sweeps of the paper's pipeline over a grid.

Question: how do the paper's quantities (Landweber and SSRL-initialised reconstruction error,
the masking gap) move with the noise level, masking ratio, step size, augmentation strength,
and the problem sizes m, n, s, N, K, T, over many trials?

Runs `bridge_jax/studies/sweep.py` (its docstring states the trial and the TOML format), the
same code as `bridge-jax sweep`: `python experiments/sweep.py [CONFIG.toml] [--set
NAME=V1,V2,...] --out DIR`.
"""

from bridge_jax.studies import sweep as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/sweep.py"))
