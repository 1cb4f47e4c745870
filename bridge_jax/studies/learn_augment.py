"""Beyond the paper (part 2): learning the SSRL augmentation by gradient.

Questions: (a) can a learned augmentation make the leading subspace of C_SSRL align with the
operator's null space far beyond the random-subspace level that the paper's 0.651 / 5.023 sit
at? (b) Can learning the augmentation lower the error of SSRL-initialised Landweber?

Definitions. Augmentation: `LearnableAugmentation`, views exp(alpha B G_k B^T) x + sigma eps
with K rotations shared by all signals, learnable log alpha, log sigma and generator basis
B (n x r, r = m, random orthonormal start). "Before" is the paper's augmentation (B = I,
alpha = 0.1, sigma = 0.1). Each trial learns its own augmentation; all trials train in one
compiled loss (vmap over trials).
- Target of (a): the null space of A. Section 2.1 of the paper pairs augmentation-invariant
  directions with the directions A cannot see; an augmentation that moves signals only inside
  ker A asks the representation to ignore exactly what the measurements lose. Training
  objective: the fraction of C_SSRL's trace inside ker A, tr(P_N C) / tr(C) (smooth; it drives
  the leading m-dim eigenspace into ker A). Reported: principal-angle alignment and Grassmann
  distance between the leading m-dim eigenspace of C_SSRL (fresh views of held-out signals) and
  ker A, against random m-dim subspaces.
- Objective of (b): the held-out MSE of 20 Landweber steps from x0 = mean of K views of A^+ y
  (realisable; training uses ground-truth MSE). Imaging-only Landweber from zero is the
  reference. Linear theory predicts no gain: for an isotropic prior the best linear estimate of
  the null-space part of x from A^+ y is zero.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax import LearnableAugmentation
from bridge_jax.studies._common import metric, trial_keys
from bridge_jax.studies._config import LearnConfig

NAME = "learn_augment"
STREAM = 12
RECON_STEPS = 20


def make_data(key, c: LearnConfig):
    k = jr.split(key, 3)
    op = bj.GaussianSensing(c.n, c.m, key=k[0])
    problem = bj.Problem(bj.SparseSource(c.n, c.s), op, bj.GaussianNoise(c.learn_sigma))
    out = {"a": op.matrix, "null": bj.null_space(op)}
    for i, name in enumerate(("train", "test")):
        out[f"x_{name}"], _, out[f"y_{name}"] = problem.sample_many(c.signals, key=k[1 + i])
    return out


def null_energy(aug, key, x, null, k):
    cov = bj.augmentation_covariance(aug.views(x, k, key=key))
    return jnp.trace(null.T @ cov @ null) / jnp.trace(cov)


def subspace_stats(aug, key, x, null, k, m):
    lead = bj.leading_subspace(bj.augmentation_covariance(aug.views(x, k, key=key)), m)
    return bj.subspace_alignment(lead, null), bj.grassmann_distance(lead, null)


def ssrl_init_mse(aug, key, a, x, y, k):
    op = bj.MatrixOperator(a)
    pinv = y @ jnp.linalg.pinv(a).T
    x0 = aug.views(pinv, k, key=key).mean(axis=1)
    tau = 1.0 / jnp.linalg.norm(a, 2) ** 2
    xs = jax.vmap(
        lambda yi, x0i: bj.landweber(
            op, yi, x0=x0i, step_size=tau, num_steps=RECON_STEPS, throw=False
        )[0]
    )(y, x0)
    return jnp.mean((xs - x) ** 2)


def run(config: LearnConfig, progress=None) -> dict:
    c = config
    keys = trial_keys(c, STREAM)
    data = jax.jit(jax.vmap(lambda k: make_data(k, c)))(keys)
    eval_keys = jax.vmap(lambda k: jr.fold_in(k, 77))(keys)
    paper_aug = jax.vmap(lambda _: LearnableAugmentation(c.n, angle=c.angle, sigma=c.aug_noise))(
        keys
    )
    start = jax.vmap(
        lambda k: LearnableAugmentation(
            c.n, angle=c.angle, sigma=c.aug_noise, rank=c.aug_rank, key=jr.fold_in(k, 5)
        )
    )(keys)
    stats = jax.jit(jax.vmap(lambda aug, k, x, null: subspace_stats(aug, k, x, null, c.k, c.m)))
    mse_fn = jax.jit(jax.vmap(lambda aug, k, a, x, y: ssrl_init_mse(aug, k, a, x, y, c.k)))

    def train(objective, label, stream):
        if progress:
            progress(f"training augmentation for {label}")

        def loss(augs, key):
            ks = jr.split(key, c.trials)
            return jnp.mean(
                jax.vmap(objective)(
                    augs, ks, data["a"], data["null"], data["x_train"], data["y_train"]
                )
            )

        return bj.fit(
            loss,
            start,
            key=jr.fold_in(jr.key(c.seed), stream),
            num_steps=c.aug_steps,
            learning_rate=c.learn_lr,
            name=label,
        )

    aligned, curve_a = train(
        lambda aug, k, a, null, x, y: -null_energy(aug, k, x, null, c.k),
        "null_space_alignment",
        2001,
    )
    recon, curve_b = train(
        lambda aug, k, a, null, x, y: ssrl_init_mse(aug, k, a, x, y, c.k), "ssrl_init_mse", 2002
    )

    before = [np.asarray(v) for v in stats(paper_aug, eval_keys, data["x_test"], data["null"])]
    start_stats = [np.asarray(v) for v in stats(start, eval_keys, data["x_test"], data["null"])]
    after = [np.asarray(v) for v in stats(aligned, eval_keys, data["x_test"], data["null"])]
    null = bj.random_subspace_baseline(
        c.n, c.m, c.n - c.m, key=jr.fold_in(jr.key(c.seed), 412), num=c.null_samples
    )
    test = (data["a"], data["x_test"], data["y_test"])
    mse_before = np.asarray(mse_fn(paper_aug, eval_keys, *test))
    mse_after = np.asarray(mse_fn(recon, eval_keys, *test))
    mse_aligned = np.asarray(mse_fn(aligned, eval_keys, *test))
    imaging = np.asarray(
        jax.jit(
            jax.vmap(
                lambda a, x, y: jnp.mean(
                    (
                        jax.vmap(
                            lambda yi: bj.landweber(
                                bj.MatrixOperator(a),
                                yi,
                                step_size=1.0 / jnp.linalg.norm(a, 2) ** 2,
                                num_steps=RECON_STEPS,
                                throw=False,  # no host callback: the program is cached
                            )[0]
                        )(y)
                        - x
                    )
                    ** 2
                )
            )
        )(*test)
    )

    def m(v, d, null_values=None):
        return metric(v, paper=None, definition=d, null=null_values)

    metrics = {
        "augment.alignment_before": m(
            before[0],
            "paper's augmentation: leading m-dim eigenspace of C_SSRL vs ker A, mean cosine",
            null.alignment,
        ),
        "augment.alignment_start": m(
            start_stats[0], "random rank-r generator before training", null.alignment
        ),
        "augment.alignment_after": m(
            after[0],
            "learned for (a): same statistic on held-out signals and fresh views",
            null.alignment,
        ),
        "augment.alignment_null": m(
            np.asarray(null.alignment), "random m-dim vs (n-m)-dim subspaces of R^n"
        ),
        "augment.grassmann_before": m(
            before[1], "paper's augmentation: Grassmann distance to ker A", null.grassmann
        ),
        "augment.grassmann_after": m(
            after[1], "learned for (a): Grassmann distance to ker A", null.grassmann
        ),
        "augment.grassmann_null": m(np.asarray(null.grassmann), "random subspaces"),
        "augment.mse_imaging": m(imaging, f"Landweber from zero, {RECON_STEPS} steps"),
        "augment.mse_before": m(
            mse_before, f"{RECON_STEPS} steps from the mean of views of A^+ y, paper's augmentation"
        ),
        "augment.mse_after": m(mse_after, "same, augmentation learned for (b)"),
        "augment.mse_aligned": m(mse_aligned, "same, augmentation learned for (a)"),
        "augment.angle_after_a": m(np.asarray(aligned.angle), "learned RMS angle, (a)"),
        "augment.noise_after_a": m(np.asarray(aligned.sigma), "learned noise level, (a)"),
        "augment.angle_after_b": m(np.asarray(recon.angle), "learned RMS angle, (b)"),
        "augment.noise_after_b": m(np.asarray(recon.sigma), "learned noise level, (b)"),
    }
    curves = {
        "learning_curve_alignment": np.asarray(curve_a).tolist(),
        "learning_curve_ssrl_init_mse": np.asarray(curve_b).tolist(),
    }
    return {"metrics": metrics, "curves": curves}


def plot(result: dict, fig_dir) -> list[str]:
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import save

    cv, mt = result["curves"], result["metrics"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].plot(-np.asarray(cv["learning_curve_alignment"]), color="C0")
    axes[0].set_xlabel("Adam step")
    axes[0].set_ylabel("fraction of tr(C_SSRL) in ker A")
    axes[0].set_title("(a) learning curve", fontsize=9)
    axes[1].plot(cv["learning_curve_ssrl_init_mse"], color="C2")
    axes[1].axhline(mt["augment.mse_imaging"]["mean"], color="C3", ls="--", label="imaging only")
    axes[1].set_xlabel("Adam step")
    axes[1].set_ylabel("training MSE (mean over trials)")
    axes[1].set_title("(b) learning curve", fontsize=9)
    axes[1].legend(fontsize=8)
    labels = ["null (random)", "paper's aug.", "learned (a)"]
    vals = [
        mt["augment.alignment_null"],
        mt["augment.alignment_before"],
        mt["augment.alignment_after"],
    ]
    means = [v["mean"] for v in vals]
    errs = [[v["mean"] - v["ci95"][0] for v in vals], [v["ci95"][1] - v["mean"] for v in vals]]
    axes[2].bar(labels, means, yerr=errs, color=["0.6", "C3", "C0"], capsize=4)
    axes[2].set_ylabel("alignment with ker A (mean cos)")
    axes[2].set_ylim(0, 1.05)
    axes[2].set_title("held-out alignment, 95% CI over trials", fontsize=9)
    fig.suptitle("Learned augmentations", fontsize=10)
    return [save(fig, fig_dir, "learn_augment.png")]


def main(argv=None):
    from bridge_jax.studies._runner import single_experiment_main

    return single_experiment_main(NAME, argv, learn=True)


if __name__ == "__main__":
    raise SystemExit(main())
