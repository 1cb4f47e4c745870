"""A batched sweep with `run_sweep`, and a plot of its result.

One trial draws a Gaussian operator and sparse signals, measures them with noise, and
reconstructs by Landweber; the grid sweeps the noise level (a value parameter: all values
`vmap`-ed in one compiled program) and the number of measurements m (a shape parameter: one
program per value). Trials run in chunks sized from the device memory and sharded over every
visible device; with `out=` each chunk is saved, and a rerun resumes.

    python docs/examples/sweep_plot.py [OUT_DIR]
"""

import os
import sys

import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import bridge_jax as bj  # noqa: E402

N = 64  # signal length


def trial(key, values, *, m, signals):
    """ONE trial at ONE grid point: `values["sigma"]` is a traced scalar; m is static."""
    k_op, k_x, k_e = jr.split(key, 3)
    op = bj.GaussianSensing(N, m, key=k_op)
    xs = bj.sparse_signals(signals, N, 8, key=k_x)
    ys = jax.vmap(op.mv)(xs) + values["sigma"] * jr.normal(k_e, (signals, m))
    x_hat = jax.vmap(lambda y: bj.landweber(op, y, num_steps=50, throw=False)[0])(ys)
    return {"mse": jnp.mean((x_hat - xs) ** 2)}


def main(out: str | None = None, quick: bool = False) -> dict:
    if quick:
        grid = {"sigma": [0.01, 0.5], "m": [16, 32], "signals": [8]}
    else:
        grid = {"sigma": [0.01, 0.03, 0.1, 0.3, 1.0], "m": [16, 32, 48], "signals": [200]}
    trials = 3 if quick else 20
    result = bj.run_sweep(
        trial, grid, shape_params=("m", "signals"), trials=trials, seed=0, out=out
    )
    mse = result["metrics"]["mse"]  # (grid points, trials)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for m in grid["m"]:
        rows = [i for i, p in enumerate(result["points"]) if p["m"] == m]
        sigmas = [result["points"][i]["sigma"] for i in rows]
        mean, sd = mse[rows].mean(1), mse[rows].std(1)
        ax.errorbar(sigmas, mean, yerr=sd, marker="o", label=f"m = {m}")
    ax.set(xscale="log", xlabel="noise level sigma", ylabel="Landweber MSE", title=f"n = {N}")
    ax.legend()
    if out is not None:
        os.makedirs(out, exist_ok=True)
        fig.savefig(os.path.join(out, "sweep.png"), dpi=120, bbox_inches="tight")
        print("wrote", os.path.join(out, "sweep.png"))
    plt.close(fig)
    for point, row in zip(result["points"], mse, strict=True):
        print(point, f"MSE {float(row.mean()):.4f}")
    return result


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results-sweep-example")
