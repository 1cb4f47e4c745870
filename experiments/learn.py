"""Beyond the paper: learned step sizes and learned augmentations.

Questions (part 1, learned steps): how much can T learned step sizes beat the default
1/||A||^2, the best constant step 2/(lambda_max + lambda_min) and the Chebyshev schedule
(optimal for a known spectrum interval), with or without ground truth, and do steps learned on
one operator transfer? (Part 2, learned augmentation): (a) can a learned augmentation make the
leading subspace of C_SSRL align with the operator's null space far beyond the random-subspace
level that the paper's 0.651 / 5.023 sit at? (b) Can learning the augmentation lower the error
of SSRL-initialised Landweber?

Runs `bridge_jax/studies/learn.py` (which runs `learn_steps.py` and `learn_augment.py` there;
their docstrings state the definitions), the same code as `bridge-jax learn`; writes
DIR/learn.json, DIR/figures/learn_*.png and a section of DIR/report.md.
"""

from bridge_jax.studies import learn as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/learn.py"))
