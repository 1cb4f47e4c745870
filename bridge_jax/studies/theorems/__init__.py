"""Sensing theorems: when can a signal model be learned from measurements alone?

Question: Tachella, Chen & Davies state when unsupervised learning of a signal model from
incomplete linear measurements is possible: with G operators of m rows, necessary m >= n/G
(rank of the stacked operators = n), sufficient m > k + n/G for almost every set of operators
(NeurIPS 2022; JMLR 2023 Proposition 3 and Theorem 4); with one operator and a group,
necessary m >= max_j c_j/s_j (Proposition 8), sufficient m > 2k + max_j c_j + 1 for almost
every operator and a cyclic group (Theorem 9; c_j, s_j: multiplicity and dimension of the j-th
real irreducible representation). Statements checked against the JMLR paper's text
(JMLR 24(39), 2023, arXiv 2203.12513); exact wording in the docstring of
bridge_jax/_analysis/_identifiability.py. Do learners trained from measurements alone succeed where
the bounds say, and do the seed paper's statistics (spectral correlation, subspace
alignment) predict where?

Definitions (all in theorems.json too):
- Swept: the signal model (`models`), its dimension k (`k`, a list), the number of random
  restarts R (`restarts`), and G (MOI) or (group, operator kind) (EI), each over m. A unit's
  random draws depend on the part, G or (group, kind) and the model only, so every k and R
  sees the same operators and the same first initialisation (paired comparisons).
- Signals, model "subspace": x = U c, c ~ N(0, I_k), U an orthonormal basis of a
  k-dimensional subspace of R^n (MOI: Haar-random; `num_subspaces` > 1: a union, one
  subspace drawn per signal; EI: a random subspace invariant to the group: a sum of Fourier
  bands for shift, even + odd vectors for reflection, Haar-random for identity). Model
  "sparse": x = D s, s exactly k-sparse with N(0, 1) entries (MOI: D a Haar-random
  orthonormal basis; EI: D = I, a set invariant to every permutation, hence to each group).
- MOI: G Gaussian operators A_g (m x n, N(0, 1/m) entries), `signals_per_operator` training
  signals through each; moi_loss with the other operator drawn per step. EI: one operator,
  `ei_signals` training signals; ei_loss with a uniformly random group element; operator
  kinds: gaussian (m x n), mask (m distinct pixels), blur (circular convolution with an ideal
  low-pass kernel passing DC and the (m-1)//2 lowest frequency planes: rank m for odd m; it
  commutes with the shifts and the reflection, so the group adds no rank).
- Learner: "subspace": `SubspaceUnion` (f(A, y) = U (AU)^+ y, the subspace with the
  smallest residual), random initial bases; "sparse": `SparseInBasis` (the same over ALL
  C(n, k) coordinate subspaces of one learned basis D, an exhaustive l0 decoder), a random
  orthonormal initial D. MOI with the subspace model (`moi_learner="varpro"`, the default):
  `varpro_steps` Levenberg-Marquardt steps on the variable-projection objective
  sum_i min_l ||(I - P_{A_i U_l}) y_i||^2 (`bj.fit_subspaces`: measurement consistency, the
  coefficients eliminated; the cross-operator term of moi_loss vanishes for this learner).
  Otherwise (EI, the sparse model, or `moi_learner="gradient"`): `num_steps` Adam steps
  (cosine decay from `learning_rate`) on the loss, full batch. Either from R initialisations
  at once (vmapped), keeping the one with the lowest final TRAINING loss (the
  measurement-only loss; never a test error); for Adam, R = 1 is the single-start path bit
  for bit. `moi_init="spectral"` (`--moi-init spectral`) starts
  MOI's first run instead from the k leading eigenvectors of the back-projected second moment
  (1/N) sum_i A_i^T y_i y_i^T A_i, a method-of-moments estimate from the measurements alone
  (`trial.spectral_start`; the other R - 1 stay random). Oracle: the same reconstructor with
  the true model.
  Baseline: A^+ y.
- Outcome per (part, m, G or group/kind): test relative MSE of `test_signals` fresh signals
  measured through the training operators; success = relative MSE < `threshold`; success
  rate with its 95% Wilson interval; the rank condition (exact, float32 tolerance) and, for
  one subspace, exact identifiability dim cap_g (S + ker A_g) = k (`identifiable_dimension`,
  threshold m >= k + (n-k)/G for generic operators).
- Statistics per cell: C_SSRL from K = `views` rotations (RMS angle `angle`) + noise
  `aug_noise` of the back-projections A^+ y; spectral correlation against the stacked Gram
  (top r = stacked rank) with an isotropic-noise null; subspace alignment of the leading
  r-dim eigenspaces with a random-subspace null; Spearman's rho of each against the success
  rate over the cells.
"""

from bridge_jax.studies._config import EI_KINDS, TheoremsConfig
from bridge_jax.studies.theorems.plot import BEGIN, END, plot, section
from bridge_jax.studies.theorems.run import (
    FORMAT,
    UNIT_FORMAT,
    add_arguments,
    main,
    rank_correlations,
    run_from_args,
    run_unit,
    theorems,
    transitions,
    unit_digest,
)
from bridge_jax.studies.theorems.trial import ei_trial, moi_trial, operator_matrix

__all__ = [
    "BEGIN",
    "EI_KINDS",
    "END",
    "FORMAT",
    "UNIT_FORMAT",
    "TheoremsConfig",
    "add_arguments",
    "ei_trial",
    "main",
    "moi_trial",
    "operator_matrix",
    "plot",
    "rank_correlations",
    "run_from_args",
    "run_unit",
    "section",
    "theorems",
    "transitions",
    "unit_digest",
]
