"""Phase retrieval: y = |Ax|^2, a spectral start, amplitude flow, error up to a global sign.

For each number of measurements m = ratio * n, draw real Gaussian models and sparse signals,
start from the spectral estimate and run amplitude flow; a trial succeeds when the relative
error up to sign is below 1e-2. Trials are `vmap`-ed, and the whole thing is one program per m.

    python docs/examples/phase_retrieval.py
"""

import jax
import jax.numpy as jnp
import jax.random as jr

import bridge_jax as bj


def one_trial(key, n, m, steps):
    k_a, k_x = jr.split(key)
    model = bj.PhaseRetrieval.gaussian(n, m, key=k_a)  # real Gaussian A, m x n
    x = bj.sparse_signal(n, n // 8, key=k_x)
    y = model(x)  # |Ax|^2, noiseless
    x0 = bj.spectral_init(model, y)
    x_hat, _ = bj.amplitude_flow(model, y, x0=x0, num_steps=steps)
    return bj.relative_error(x_hat, x)


def main(quick: bool = False) -> dict:
    n, trials, steps = (16, 4, 50) if quick else (64, 50, 500)
    ratios = (2, 6) if quick else (2, 3, 4, 5, 6, 8)
    rates = {}
    for ratio in ratios:
        run = jax.jit(jax.vmap(lambda k, r=ratio: one_trial(k, n, r * n, steps)))
        errors = run(jr.split(jr.key(ratio), trials))
        rates[ratio] = float(jnp.mean(errors < 1e-2))
        print(f"m/n = {ratio}: success rate {rates[ratio]:.2f} ({trials} trials)")
    return rates


if __name__ == "__main__":
    main()
