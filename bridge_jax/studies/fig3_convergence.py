"""Experiment 3 (paper Figure 3): Landweber from zero against Landweber from the SSRL mean.

Question: the paper reports that Landweber iteration from the SSRL augmentation mean converges
faster initially than from zero, to a similar final measurement loss. Does it, and is the
SSRL initialisation something a real method could compute?

Definitions (main reading first). y_i = A x_i + 0.1 e_i; Landweber
x_{k+1} = x_k + tau A^T (y - A x_k), tau = 1/||A||^2, 100 steps; the loss at iterate k is
(1/2)||y_i - A x_k||^2 averaged over the N signals.
- SSRL initialisation: x0_i = (1/K) sum_k T_k(x_i), the mean of the views of the CLEAN signal
  (the paper's "SSRL augmentation mean"; it uses the ground truth, so no real method has it).
  Realisable alternatives: the mean of the views of the pseudoinverse A^+ y_i, and of the
  back-projection A^T y_i.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import bridge_jax as bj
from bridge_jax.studies._common import Setting, curve, metric, trial_keys
from bridge_jax.studies._config import Config

NAME = "fig3_convergence"
STREAM = 3

INITS = {
    "zero": "x0 = 0 (imaging only)",
    "ssrl_oracle": "x0 = mean of K views of the clean x_i [uses ground truth]",
    "ssrl_pinv": "x0 = mean of K views of A^+ y_i (realisable)",
    "ssrl_backprojection": "x0 = mean of K views of A^T y_i (realisable)",
}


def initialisations(st: Setting, y):
    pinv = jax.vmap(lambda yi: bj.pinv_solve(st.op, yi))(y)
    return {
        "zero": jnp.zeros_like(st.x),
        "ssrl_oracle": st.ssrl_mean(st.x),
        "ssrl_pinv": st.ssrl_mean(pinv),
        "ssrl_backprojection": st.ssrl_mean(jax.vmap(st.op.T.mv)(y)),
    }


def run(config: Config, progress=None) -> dict:
    c = config

    def one_trial(key):
        st = Setting(key, c)
        y = st.measure(c.convergence_sigma)
        tau = bj.default_step_size(st.op)
        out = {}
        for name, x0 in initialisations(st, y).items():
            # throw=False: no run-time check, so no host callback in the compiled program and
            # it enters the persistent compilation cache; the step 1/||A||^2 converges and the
            # inputs are finite by construction (a NaN would show in the results).
            solve = lambda yi, x0i: bj.landweber(  # noqa: E731
                st.op, yi, x0=x0i, step_size=tau, num_steps=c.num_steps, throw=False
            )
            xs, losses = jax.vmap(solve)(y, x0)
            out[f"loss_{name}"] = losses.mean(0)
            out[f"mse_{name}"] = jnp.mean((xs - st.x) ** 2)
        return out

    r = bj.map_trials(one_trial, trial_keys(c, STREAM))
    early = min(10, c.num_steps)
    metrics = {}
    for name, desc in INITS.items():
        metrics[f"convergence_loss_at_0_{name}"] = metric(
            r[f"loss_{name}"][:, 0], paper=None, definition=f"loss at iterate 0; {desc}"
        )
        metrics[f"convergence_loss_at_{early}_{name}"] = metric(
            r[f"loss_{name}"][:, early], paper=None, definition=f"loss at iterate {early}; {desc}"
        )
        metrics[f"convergence_final_loss_{name}"] = metric(
            r[f"loss_{name}"][:, -1],
            paper=None,
            definition=f"loss at iterate {c.num_steps}; {desc}",
        )
        metrics[f"convergence_final_mse_{name}"] = metric(
            r[f"mse_{name}"], paper=None, definition=f"MSE to x after {c.num_steps} steps; {desc}"
        )
    curves = {"iteration": list(range(c.num_steps + 1))}
    curves.update({name: curve(r[f"loss_{name}"]) for name in INITS})
    return {"metrics": metrics, "curves": curves}


def plot(result: dict, fig_dir) -> list[str]:
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import band, save

    cv = result["curves"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = {
        "zero": ("C3", "-"),
        "ssrl_oracle": ("C0", "-"),
        "ssrl_pinv": ("C2", "--"),
        "ssrl_backprojection": ("C1", ":"),
    }
    for name, desc in INITS.items():
        color, ls = styles[name]
        band(ax, cv["iteration"], cv[name], desc, color, linestyle=ls)
    ax.set_yscale("log")
    ax.set_xlabel("Landweber iteration k")
    ax.set_ylabel("measurement loss 0.5||y - A x_k||^2")
    ax.set_title(
        "Fig. 3: convergence from zero vs SSRL-mean initialisation\n"
        "(mean over trials; band: 16th-84th percentile)",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    return [save(fig, fig_dir, "fig3_convergence.png")]


def main(argv=None, prog=None):
    from bridge_jax.studies._runner import single_experiment_main

    return single_experiment_main(NAME, argv, prog=prog)


if __name__ == "__main__":
    raise SystemExit(main())
