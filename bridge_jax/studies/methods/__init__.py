"""Eight methods, one interface: train all eight and measure the taxonomy.

Question: trained on the same problems, how well does each of SimCLR, BYOL, DINO, MAE (SSRL),
Noise2Self, EI, SSDU, Noisier2Noise (imaging) and a supervised reference reconstruct, and where
does each trained model actually sit on the paper's four axes (invariance, masking,
equivariance, physics), measured on the model rather than scored by hand?

Definitions.
- Problems (one trial = one draw of everything; N training and N test signals, n, s as in the
  paper): Gaussian CS, one A (m x n, N(0, 1/m)) per trial, y = Ax + sigma e for each sigma in
  `cs_noise`; inpainting, a random mask per signal keeping round((1 - rho) n) entries, noise
  `inpaint_sigma`, for each rho in `inpaint_ratios`.
- Imaging methods and the supervised reference train `UnrolledNet` (Landweber steps with a
  shared residual MLP denoiser, starting as plain Landweber) with their own loss (see
  `bridge_jax/_losses/_imaging.py`); their reconstruction is the network's output
  (Noisier2Noise: the corrected estimate, averaged over 4 noisier copies of the test
  measurement).
- SSRL methods train an MLP encoder on back-projections u = A^+ y (realisable) with views from
  a `ViewBank`: 16 rotations of RMS angle 0.1 rad drawn once per trial (the paper's T_k), one
  picked at random per view, plus fresh N(0, 0.1^2) noise; MAE masks half the entries instead.
  Reconstruction: a linear probe from the representation to x fitted on the training signals
  (it uses their ground truth, as the linear-evaluation protocol does), then `probe_steps`
  Landweber steps from the probe's output, as the paper's transfer section initialises
  reconstruction from SSRL. `probe_mse` is the probe alone.
- Training: `train_steps` Adam steps (learning rate `train_lr`) on random minibatches of
  `batch_size` of the N training signals (the same draw for all trials at a step).
- MSE over all n entries of the test signals, mean over the test set; 95% t-intervals over
  trials. Baselines on the same data: Landweber from zero, the pseudoinverse A^+ y, FISTA with
  lambda = sigma sqrt(2 log n), and the LMMSE estimate fitted from the training pairs
  (supervised, linear in u).
- Measured axes (`bridge_jax.measure_axes`, on the test signals): invariance of the method's
  output (representation or reconstruction) to the SSRL augmentation, invariance to hiding 30%
  of the measurements (masking), equivariance of its signal estimate to cyclic shifts, and its
  measurement consistency (physics), each 1 - discrepancy / (the same between unrelated
  signals), clipped to [0, 1]. A method's vector is the mean over trials and settings.
- Claims tested: SSRL methods sit in I-M (I + M > E + P); imaging methods in E-P; DINO and
  Noise2Self are the most similar cross-domain pair (cosine similarity of the 4-vectors).
"""

from bridge_jax.studies.methods.config import (
    AXES,
    BASELINES,
    EIGHT,
    FORMAT,
    NAME,
    PAIR,
    STREAM,
    UNIT_FORMAT,
    settings,
)
from bridge_jax.studies.methods.plot import plot, section
from bridge_jax.studies.methods.run import (
    add_arguments,
    main,
    methods,
    run_from_args,
    run_units,
    unit_digest,
)
from bridge_jax.studies.methods.summary import summarise, taxonomy_claims
from bridge_jax.studies.methods.trial import (
    baselines,
    evaluate,
    image_group,
    image_views,
    init_methods,
    make_trial,
    train,
)

__all__ = [
    "AXES",
    "BASELINES",
    "EIGHT",
    "FORMAT",
    "NAME",
    "PAIR",
    "STREAM",
    "UNIT_FORMAT",
    "add_arguments",
    "baselines",
    "evaluate",
    "image_group",
    "image_views",
    "init_methods",
    "main",
    "make_trial",
    "methods",
    "plot",
    "run_from_args",
    "run_units",
    "section",
    "settings",
    "summarise",
    "taxonomy_claims",
    "train",
    "unit_digest",
]
