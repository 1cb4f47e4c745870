"""A cheap per-trial function for the sweep machinery tests (importable by subprocesses)."""

import jax
import jax.numpy as jnp


def toy_trial(key, v, *, n):
    """A noisy scaled draw: the machinery tests compile it in no time."""
    k1, k2 = jax.random.split(key)
    x = jax.random.normal(k1, (n,))
    y = v["scale"] * x + v["sigma"] * jax.random.normal(k2, (n,))
    return {"err": jnp.mean((y / v["scale"] - x) ** 2), "first": x[0]}
