"""Beyond the paper (part 1): learned Landweber step sizes, unrolled.

Question: how much can T learned step sizes beat the default 1/||A||^2, the best constant
step 2/(lambda_max + lambda_min) and the Chebyshev schedule (optimal for a known spectrum
interval), with or without ground truth, and do steps learned on one operator transfer?

Definitions. Per trial: a Gaussian A (m x n), N training and N held-out signals, y = Ax + 0.05e.
One schedule per trial is learned with Adam, all trials in one compiled loss (vmap over trials),
starting from the default step, on:
- supervised: mean (x_T - x)^2 (needs the ground truth);
- split (SSDU-style, measurement-only): a fresh random half of the rows is held out at every
  Adam step; reconstruct from the other half and score the held-out rows;
- consistency (measurement-only): mean (A x_T - y)^2 over all rows;
- supervised + learned x0: the supervised loss with a learnable initialisation too.
Evaluation on the held-out signals, with the trial's operator and with a fresh Gaussian
operator of the same size (transfer). MSE is over all n entries; "row-space MSE" is the error
projected onto the row space of A, the only part step sizes can change (the null-space part
of x is lost to every Landweber schedule from x0 = 0). Equivalent plain iterations: the first
k at which plain Landweber (step 1/||A||^2) reaches the learned 10-step MSE, capped at
`plain_max` (a capped trial means the learned schedule beats every plain iterate).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax.studies._common import curve, metric, trial_keys
from bridge_jax.studies._config import LearnConfig

NAME = "learn_steps"
STREAM = 11
LOSSES = ("supervised", "split", "consistency")


def make_data(key, c: LearnConfig):
    k = jr.split(key, 5)
    ops = {"a": bj.GaussianSensing(c.n, c.m, key=k[0])}
    ops["a_fresh"] = bj.GaussianSensing(c.n, c.m, key=k[1])
    out = {name: op.matrix for name, op in ops.items()}
    for i, name in enumerate(("train", "test", "fresh")):
        op = ops["a_fresh" if name == "fresh" else "a"]
        problem = bj.Problem(bj.SparseSource(c.n, c.s), op, bj.GaussianNoise(c.learn_sigma))
        out[f"x_{name}"], _, out[f"y_{name}"] = problem.sample_many(c.signals, key=k[2 + i])
    return out


def _per_trial_loss(kind, model, a, x, y, key):
    op = bj.MatrixOperator(a)
    if kind == "supervised":
        per = jax.vmap(lambda yi, xi: bj.supervised_loss(model, op, yi, xi))(y, x)
    elif kind == "consistency":
        per = jax.vmap(lambda yi: bj.measurement_consistency_loss(model, op, yi))(y)
    else:
        keys = jr.split(key, y.shape[0])
        per = jax.vmap(lambda yi, ki: bj.measurement_split_loss(model, op, yi, key=ki))(y, keys)
    return jnp.mean(per)


def _errors(model, a, x, y):
    """(MSE, row-space MSE) of a model on a set of signals."""
    op = bj.MatrixOperator(a)
    err = jax.vmap(lambda yi: model(op, yi))(y) - x
    proj = jnp.linalg.pinv(a) @ a
    return jnp.mean(err**2), jnp.mean((err @ proj) ** 2)


def _plain_mse_curve(a, x, y, num):
    """Test MSE of plain Landweber (step 1/||A||^2) at iterates 0..num."""
    tau = 1.0 / jnp.linalg.norm(a, 2) ** 2

    def step(xk, _):
        return xk + tau * (y - xk @ a.T) @ a, jnp.mean((xk - x) ** 2)

    xk, mses = jax.lax.scan(step, jnp.zeros_like(x), None, length=num)
    return jnp.concatenate([mses, jnp.mean((xk - x) ** 2)[None]])


def run(config: LearnConfig, progress=None) -> dict:
    c = config
    data = jax.jit(jax.vmap(lambda k: make_data(k, c)))(trial_keys(c, STREAM))
    default = jax.vmap(lambda a: 1.0 / jnp.linalg.norm(a, 2) ** 2)(data["a"])
    bounds = jax.vmap(lambda a: bj.spectrum_bounds(bj.MatrixOperator(a)))
    lo, hi = bounds(data["a"])
    lo_f, hi_f = bounds(data["a_fresh"])
    evaluate = jax.jit(jax.vmap(_errors))

    def eval_steps(steps, which="test"):
        a = data["a_fresh"] if which == "fresh" else data["a"]
        models = jax.vmap(bj.UnrolledLandweber)(steps)
        mse, row = evaluate(models, a, data[f"x_{which}"], data[f"y_{which}"])
        return np.asarray(mse), np.asarray(row)

    results, curves, schedules = {}, {}, {}
    for t in c.unroll:
        baselines = {
            "default": (jnp.broadcast_to(default[:, None], (c.trials, t)), None),
            "constant_best": (
                jnp.broadcast_to(bj.constant_best_step(lo, hi)[:, None], (c.trials, t)),
                jnp.broadcast_to(bj.constant_best_step(lo_f, hi_f)[:, None], (c.trials, t)),
            ),
            "chebyshev": (
                jax.vmap(lambda a, b, t=t: bj.chebyshev_steps(a, b, t))(lo, hi),
                jax.vmap(lambda a, b, t=t: bj.chebyshev_steps(a, b, t))(lo_f, hi_f),
            ),
        }
        for name, (steps, fresh_steps) in baselines.items():
            results[(t, name, "test")] = eval_steps(steps)
            # Spectrum-based schedules are recomputed for the fresh operator (they know it).
            results[(t, name, "fresh")] = eval_steps(
                steps if fresh_steps is None else fresh_steps, "fresh"
            )
            schedules[(t, name)] = np.asarray(steps)
        variants = [(kind, False) for kind in LOSSES]
        if t == 10:
            variants.append(("supervised", True))
        for kind, learn_init in variants:
            label = f"learned_{kind}" + ("_init" if learn_init else "")
            if progress:
                progress(f"T={t}: training {label}")
            steps0 = jnp.broadcast_to(default[:, None], (c.trials, t))
            x0 = jnp.zeros((c.trials, c.n)) if learn_init else None
            models = jax.vmap(bj.UnrolledLandweber)(steps0, x0)

            def loss(m, key, kind=kind):
                keys = jr.split(key, c.trials)
                per = jax.vmap(lambda mm, a, x, y, k: _per_trial_loss(kind, mm, a, x, y, k))(
                    m, data["a"], data["x_train"], data["y_train"], keys
                )
                return jnp.mean(per)

            trained, losses = bj.fit(
                loss,
                models,
                key=jr.fold_in(jr.key(c.seed), 1000 + t),
                num_steps=c.learn_iters,
                learning_rate=c.learn_lr,
                name=f"{label} T={t}",
            )
            mse, row = evaluate(trained, data["a"], data["x_test"], data["y_test"])
            results[(t, label, "test")] = (np.asarray(mse), np.asarray(row))
            fresh_models = jax.vmap(bj.UnrolledLandweber)(trained.steps)  # steps only
            mse_f, row_f = evaluate(fresh_models, data["a_fresh"], data["x_fresh"], data["y_fresh"])
            results[(t, label, "fresh")] = (np.asarray(mse_f), np.asarray(row_f))
            curves[f"learning_curve_{label}_T{t}"] = np.asarray(losses).tolist()
            schedules[(t, label)] = np.asarray(trained.steps)

    plain = np.asarray(
        jax.jit(jax.vmap(lambda a, x, y: _plain_mse_curve(a, x, y, c.plain_max)))(
            data["a"], data["x_test"], data["y_test"]
        )
    )
    target = results[(10, "learned_supervised", "test")][0]
    below = plain <= target[:, None]
    equivalent = np.where(below.any(1), below.argmax(1), c.plain_max).astype(float)

    def m(key, which="test", row=False, definition=""):
        return metric(results[key + (which,)][1 if row else 0], paper=None, definition=definition)

    metrics = {}
    names = {
        "default_mse": "default",
        "constant_best_mse": "constant_best",
        "chebyshev_mse": "chebyshev",
        "learned_supervised_mse": "learned_supervised",
        "learned_selfsupervised_mse": "learned_split",
        "learned_consistency_mse": "learned_consistency",
        "learned_supervised_init_mse": "learned_supervised_init",
    }
    for out_name, label in names.items():
        metrics[f"steps.{out_name}"] = m(
            (10, label), definition=f"held-out MSE after T=10 steps, {label} schedule"
        )
        metrics[f"steps.{out_name.replace('_mse', '_rowspace_mse')}"] = m(
            (10, label), row=True, definition=f"row-space part of that error, {label}"
        )
        if label != "learned_supervised_init":
            metrics[f"steps.transfer.{out_name}"] = m(
                (10, label),
                "fresh",
                definition=f"MSE on a fresh operator with the {label} schedule (T=10)",
            )
    metrics["steps.equivalent_plain_iterations"] = metric(
        equivalent,
        paper=None,
        definition=f"first plain-Landweber iterate reaching the learned (supervised) 10-step "
        f"MSE; {int((equivalent >= c.plain_max).sum())} of {c.trials} trials capped at "
        f"{c.plain_max} (never reached)",
        capped_trials=int((equivalent >= c.plain_max).sum()),
    )
    metrics["steps.best_plain_mse"] = metric(
        plain.min(1),
        paper=None,
        definition=f"lowest MSE of plain Landweber over {c.plain_max} "
        f"iterations (semi-convergence optimum)",
    )
    by_t = {}
    for t in c.unroll:
        for label in (
            "default",
            "constant_best",
            "chebyshev",
            "learned_supervised",
            "learned_split",
            "learned_consistency",
        ):
            for which in ("test", "fresh"):
                by_t[f"{label}_{which}_T{t}"] = float(results[(t, label, which)][0].mean())
                by_t[f"{label}_{which}_rowspace_T{t}"] = float(results[(t, label, which)][1].mean())
    curves.update(
        {
            "unroll": list(c.unroll),
            "mse_by_T": by_t,
            "plain_iteration_mse": curve(plain[:, :: max(1, c.plain_max // 500)]),
            "plain_iteration_stride": max(1, c.plain_max // 500),
            "schedules_T10": {
                label: curve(schedules[(10, label)])
                for label in (
                    "default",
                    "constant_best",
                    "chebyshev",
                    "learned_supervised",
                    "learned_split",
                    "learned_consistency",
                )
            },
        }
    )
    return {"metrics": metrics, "curves": curves}


def plot(result: dict, fig_dir) -> list[str]:
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import band, save

    cv = result["curves"]
    ts = cv["unroll"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    styles = {
        "default": "C3",
        "constant_best": "C1",
        "chebyshev": "C2",
        "learned_supervised": "C0",
        "learned_split": "C4",
        "learned_consistency": "0.5",
    }
    for label, color in styles.items():
        axes[0].plot(
            ts,
            [cv["mse_by_T"][f"{label}_test_rowspace_T{t}"] for t in ts],
            "o-",
            color=color,
            label=label,
        )
        axes[0].plot(
            ts, [cv["mse_by_T"][f"{label}_fresh_rowspace_T{t}"] for t in ts], "x:", color=color
        )
    axes[0].set_xlabel("unrolled steps T")
    axes[0].set_ylabel("row-space MSE (held-out)")
    axes[0].set_yscale("log")
    axes[0].set_title("solid: same operator, dotted: fresh operator", fontsize=9)
    axes[0].legend(fontsize=7)
    for label, color in styles.items():
        key = f"learning_curve_{label}_T10"
        if key in cv:
            v = np.asarray(cv[key])
            axes[1].plot(v / v[0], color=color, label=label)
    axes[1].set_xlabel("Adam step")
    axes[1].set_ylabel("training loss / initial")
    axes[1].set_title("learning curves, T = 10", fontsize=9)
    axes[1].legend(fontsize=7)
    sched = cv["schedules_T10"]
    k = list(range(1, 11))
    for label, color in styles.items():
        band(axes[2], k, sched[label], label, color, marker=".")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("iteration k")
    axes[2].set_ylabel("step size tau_k")
    axes[2].set_title("schedules at T = 10 (mean over trials)", fontsize=9)
    axes[2].legend(fontsize=7)
    fig.suptitle("Learned Landweber step sizes", fontsize=10)
    return [save(fig, fig_dir, "learn_steps.png")]


def main(argv=None):
    from bridge_jax.studies._runner import single_experiment_main

    return single_experiment_main(NAME, argv, learn=True)


if __name__ == "__main__":
    raise SystemExit(main())
