"""Experiment 4 (paper Figure 4): reconstruction across noise levels, and subspace alignment.

Questions: (a) does SSRL-initialised Landweber match imaging-only Landweber at every noise level,
with a supervised oracle as lower bound? (b) The paper reports a mean subspace alignment of
0.651 and a Grassmann distance of 5.023 between "SSRL and imaging representations": do these
values differ from those of random subspaces?

Definitions (main reading first). y_i = A x_i + sigma e_i, sigma in the config's noise levels.
- Imaging-only: 100 Landweber steps (tau = 1/||A||^2) from zero.
- SSRL-initialised: the same from x0 = mean of K views of the clean x_i [uses ground truth];
  realisable alternative: from the mean of K views of A^+ y_i.
- Supervised oracle: the linear MMSE estimator fitted on an independent training set of N
  (x, y) pairs with the same A and sigma, evaluated on the test signals. With N = 500 pairs
  for its m n + n = 2112 parameters it carries estimation error, so we also report the exact
  linear MMSE mu + C A^T (A C A^T + sigma^2 I)^{-1} (y - A mu): the lowest MSE any affine
  reconstructor can have. Sparse signals: mu = 0, C = (s/n) I exactly; digits: mu and C of the
  whole data set, from which each trial's signals are drawn.
- MSE: mean over signals and entries of (xhat - x)^2.
- Subspaces: the leading m-dimensional eigenspace of C_SSRL (the directions the augmentations
  perturb most) against the row space of A (the directions the measurements see). Alternatives:
  against the null space of A; and the top-m principal subspaces of the SSRL-initialised and of
  the imaging-only reconstructions at sigma = 0.1 ("representations").
- Alignment: mean cosine of the principal angles; Grassmann distance: 2-norm of the angles.
- Null: the same statistics for pairs of independent uniformly random m-dimensional subspaces.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax.studies._common import Setting, curve, metric, trial_keys
from bridge_jax.studies._config import Config

NAME = "fig4_transfer"
STREAM = 4
METHODS = {
    "imaging": "Landweber from zero (imaging only)",
    "ssrl_oracle": "Landweber from the mean of views of x [uses ground truth]",
    "ssrl_pinv": "Landweber from the mean of views of A^+ y (realisable)",
    "supervised": "linear MMSE fitted on N training pairs (supervised oracle)",
    "lmmse_exact": "exact linear MMSE from the known prior, A and sigma (linear lower bound)",
}


def exact_lmmse_apply(a, mean, cov, sigma, y):
    """mu + C A^T (A C A^T + sigma^2 I)^{-1} (y - A mu) for a batch y (N, m): the linear MMSE
    estimate for signals with mean mu and covariance C and white noise."""
    gram = a @ cov @ a.T + sigma**2 * jnp.eye(a.shape[0], dtype=a.dtype)
    w = jnp.linalg.solve(gram, a @ cov).T  # C A^T gram^{-1} (gram and C symmetric)
    return mean + (y - mean @ a.T) @ w.T


def _principal(xs, k):
    centred = xs - xs.mean(0)
    return bj.leading_subspace(centred.T @ centred, k)


def run(config: Config, progress=None) -> dict:
    c = config
    sigmas = jnp.asarray(c.noise_levels)
    i_rep = int(np.argmin(np.abs(np.asarray(c.noise_levels) - 0.1)))

    def one_trial(key):
        st = Setting(key, c)
        tau = bj.default_step_size(st.op)
        a_mat = st.op.as_matrix()
        train = st.train
        x0_oracle = st.ssrl_mean(st.x)

        def at_sigma(sigma):
            y = st.measure(sigma)
            y_train = st.measure(sigma, train, jr.fold_in(st.k_train, 1))
            est = bj.lmmse_fit(train, y_train)
            pinv = jax.vmap(lambda yi: bj.pinv_solve(st.op, yi))(y)
            # throw=False: no host callback, so the program is cached (see fig3_convergence).
            lw = jax.vmap(
                lambda yi, x0: bj.landweber(
                    st.op, yi, x0=x0, step_size=tau, num_steps=c.num_steps, throw=False
                )[0]
            )
            recon = {
                "imaging": lw(y, jnp.zeros_like(st.x)),
                "ssrl_oracle": lw(y, x0_oracle),
                "ssrl_pinv": lw(y, st.ssrl_mean(pinv)),
                "supervised": jax.vmap(lambda yi: bj.lmmse_apply(est, yi))(y),
                "lmmse_exact": exact_lmmse_apply(a_mat, st.prior_mean, st.prior_cov, sigma, y),
            }
            return {name: jnp.mean((xh - st.x) ** 2) for name, xh in recon.items()}, recon

        mse, recon = jax.vmap(at_sigma)(sigmas)
        cov = bj.augmentation_covariance(st.views(st.x))
        u = bj.leading_subspace(cov, c.m)
        row, null = bj.row_space(st.op), bj.null_space(st.op)
        rep_ssrl = _principal(recon["ssrl_oracle"][i_rep], c.m)
        rep_img = _principal(recon["imaging"][i_rep], c.m)
        pairs = {
            "row_space": (u, row),
            "null_space": (u, null),
            "reconstructions": (rep_ssrl, rep_img),
        }
        sub = {}
        for name, (a, b) in pairs.items():
            sub[f"alignment_{name}"] = bj.subspace_alignment(a, b)
            sub[f"grassmann_{name}"] = bj.grassmann_distance(a, b)
        return {"mse": mse, **sub}

    keys = trial_keys(c, STREAM)
    r = bj.map_trials(one_trial, keys)
    null_m = bj.random_subspace_baseline(
        c.n, c.m, c.m, key=jr.fold_in(jr.key(c.seed), 400 + STREAM), num=c.null_samples
    )
    null_nm = bj.random_subspace_baseline(
        c.n, c.m, c.n - c.m, key=jr.fold_in(jr.key(c.seed), 401 + STREAM), num=c.null_samples
    )
    nulls = {"row_space": null_m, "null_space": null_nm, "reconstructions": null_m}
    descriptions = {
        "row_space": "leading m-dim eigenspace of C_SSRL vs the row space of A",
        "null_space": "leading m-dim eigenspace of C_SSRL vs the null space of A",
        "reconstructions": "top-m PCA subspaces of SSRL-initialised vs imaging-only "
        "reconstructions at sigma=0.1",
    }

    def subspace_metric(stat, paper, label):
        main = "row_space"
        null_field = "alignment" if stat == "alignment" else "grassmann"
        readings = {
            (f"{k} (main)" if k == main else k): metric(
                r[f"{stat}_{k}"],
                paper=None,
                definition=descriptions[k],
                null=np.asarray(getattr(nulls[k], null_field)),
            )
            for k in descriptions
        }
        return metric(
            r[f"{stat}_{main}"],
            paper=paper,
            definition=f"{label}: {descriptions[main]}.",
            null=np.asarray(getattr(nulls[main], null_field)),
            readings=readings,
        )

    metrics = {
        "subspace_alignment": subspace_metric(
            "alignment", 0.651, "mean cosine of the principal angles"
        ),
        "grassmann_distance": subspace_metric("grassmann", 5.023, "2-norm of the principal angles"),
    }
    for j, sigma in enumerate(c.noise_levels):
        for name, desc in METHODS.items():
            metrics[f"transfer_mse_{name}_sigma_{sigma:g}"] = metric(
                r["mse"][name][:, j], paper=None, definition=f"MSE at sigma={sigma:g}; {desc}"
            )
    curves = {"sigma": list(c.noise_levels)}
    curves.update({name: curve(r["mse"][name]) for name in METHODS})
    return {"metrics": metrics, "curves": curves}


def plot(result: dict, fig_dir) -> list[str]:
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import band, save

    cv = result["curves"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = {
        "imaging": ("C3", "-", "o"),
        "ssrl_oracle": ("C0", "-", "s"),
        "ssrl_pinv": ("C2", "--", "^"),
        "supervised": ("k", ":", "d"),
        "lmmse_exact": ("0.5", "-.", "x"),
    }
    for name, desc in METHODS.items():
        color, ls, mk = styles[name]
        band(ax, cv["sigma"], cv[name], desc, color, linestyle=ls, marker=mk)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("noise level sigma")
    ax.set_ylabel("reconstruction MSE")
    a = result["metrics"]["subspace_alignment"]
    g = result["metrics"]["grassmann_distance"]
    ax.set_title(
        f"Fig. 4: MSE vs noise. Alignment {a['mean']:.3f} (null {a['null']:.3f}), "
        f"Grassmann {g['mean']:.2f} (null {g['null']:.2f})",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    return [save(fig, fig_dir, "fig4_transfer.png")]


def main(argv=None, prog=None):
    from bridge_jax.studies._runner import single_experiment_main

    return single_experiment_main(NAME, argv, prog=prog)


if __name__ == "__main__":
    raise SystemExit(main())
