"""Phase retrieval (beyond the paper): how often does amplitude flow recover x from
y = |Ax|^2, against the number of measurements m/n and the noise, from each initialisation?

Question: the paper's linear analysis says an SSRL-informed start helps Landweber only early
(it converges anyway). Phase retrieval is non-convex: the start decides whether gradient
descent finds x at all. Does an SSRL-informed start change the success rate, and does it
need the ground truth to do so?

Definitions (all stated in phase.json too):
- Signals x in R^64: 8-sparse with N(0, 1) amplitudes, or one 8x8 digit of scikit-learn per
  trial (drawn from digits not used for training).
- Measurements y = |A x|^2 + sigma ||x||^2 e, e ~ N(0, I_m): sigma is the noise relative to
  the mean measurement E|a_i^* x|^2 = ||x||^2. A is m x n, N(0, 1) (real) or CN(0, 1)
  (complex) entries, drawn per trial; m = round(ratio n).
- Solver: amplitude flow (gradient descent on (1/2m) sum (|a_i^* x| - sqrt(y_i))^2), step 0.6,
  at most `num_steps` steps, stopping after the first step with ||x_{k+1} - x_k|| <=
  `stop_tol` ||x_{k+1}|| (1e-7: the iterate no longer moves in float32; 0 runs all steps),
  from each initialisation:
  spectral: leading eigenvector of (1/m) sum_i y_i a_i a_i^* (100 power iterations), scaled to
  sqrt(mean y) (an estimate of ||x||); random: a Gaussian direction (complex Gaussian for
  complex A) at the same scale; zero: x0 = 0, where the amplitude gradient vanishes, so the
  iterates never move (reported to show that, not to be fixed); ssrl_oracle [uses x]: the mean
  of K views of the clean x, the paper's "SSRL augmentation mean" of Fig. 3; ssrl_spectral
  (realisable): the mean of K views of the spectral estimate; ssrl_subspace (realisable): the
  spectral estimate projected onto the leading n/4-dimensional eigenspace of the second-moment
  matrix of K views of N unlabelled training signals (the subspace a linear SSRL encoder
  trained on augmented data keeps), rescaled to sqrt(mean y); blur_spectral (control): the
  spectral estimate blurred by a 1-pixel Gaussian on the 8x8 grid and rescaled, to tell an
  SSRL effect from that of any low-pass filter (the mean of K crops, rotations and shifts is
  itself a low-pass filter).
  Views: K = 10 transforms drawn once per trial (rotations of RMS angle 0.1 rad for sparse
  signals; image crops, rotations and shifts for digits, as in `reproduce --data digits`) plus
  N(0, 0.1^2) noise.
- Success: relative error min_phi ||xhat - e^{i phi} x|| / ||x|| < `threshold` (1e-2) after
  the last step. Per (data, field, m/n, noise, init): the success rate over trials with its 95%
  Wilson interval, and the median relative error.
"""

from bridge_jax.studies.phase.config import (
    BEGIN,
    DATA,
    END,
    FIELDS,
    FORMAT,
    INITS,
    UNIT_FORMAT,
    PhaseConfig,
)
from bridge_jax.studies.phase.plot import plot, section
from bridge_jax.studies.phase.run import (
    add_arguments,
    main,
    phase,
    run_from_args,
    run_unit,
    signals,
    unit_digest,
)
from bridge_jax.studies.phase.trial import one_trial, training_subspace, view_transforms

__all__ = [
    "BEGIN",
    "DATA",
    "END",
    "FIELDS",
    "FORMAT",
    "INITS",
    "UNIT_FORMAT",
    "PhaseConfig",
    "add_arguments",
    "main",
    "one_trial",
    "phase",
    "plot",
    "run_from_args",
    "run_unit",
    "section",
    "signals",
    "training_subspace",
    "unit_digest",
    "view_transforms",
]
