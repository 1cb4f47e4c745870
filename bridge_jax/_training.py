"""One optax training loop for any equinox model and loss, with progress and a NaN guard."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

from . import _validate as check


def _leaf_names(tree) -> list[str]:
    paths = jax.tree_util.tree_flatten_with_path(eqx.filter(tree, eqx.is_inexact_array))[0]
    return [jax.tree_util.keystr(path) or "<root>" for path, _ in paths]


def _nonfinite(tree) -> list[str]:
    leaves = jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_inexact_array))
    names = _leaf_names(tree)
    return [n for n, leaf in zip(names, leaves, strict=True) if not np.all(np.isfinite(leaf))]


def fit(
    loss_fn: Callable,
    model,
    *,
    key,
    num_steps: int,
    learning_rate: float = 1e-2,
    optimizer: optax.GradientTransformation | None = None,
    log_every: int = 0,
    name: str = "training",
):
    r"""Minimise `loss_fn(model, key)` over the inexact-array leaves of `model` with optax.

    A fresh key is passed at every step (for random splits or views). The update is one
    `eqx.filter_jit`-compiled step; the loop stays in Python so progress can be shown every
    `log_every` steps (0: silent) and a non-finite loss, gradient or parameter stops training
    with a `FloatingPointError` naming the step and the parameter, instead of returning garbage.

    **Returns:** `(model, losses)` with `losses[i]` the loss before update `i`.
    """
    num_steps = check.positive_int("num_steps", num_steps)
    if optimizer is None:
        check.nonnegative("learning_rate", learning_rate, strict=True)
        optimizer = optax.adam(learning_rate)
    check.prng_key("key", key)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(model, opt_state, k):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, k)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, loss, grads

    losses = np.empty(num_steps)
    start = time.perf_counter()
    for i, k in enumerate(jr.split(key, num_steps)):
        new_model, opt_state, loss, grads = step(model, opt_state, k)
        losses[i] = float(loss)
        if not np.isfinite(losses[i]):
            culprits = _nonfinite(grads) or _leaf_names(model)
            err = FloatingPointError(
                f"{name}: the loss became {losses[i]} at step {i} with parameters {culprits} "
                f"(non-finite gradients: {_nonfinite(grads) or 'none'}). Lower the learning "
                f"rate or constrain the parameters; the last finite model is in `error.model`."
            )
            err.model = model
            raise err
        bad = _nonfinite(new_model)
        if bad:
            err = FloatingPointError(
                f"{name}: parameters {bad} became non-finite at step {i}; lower the learning "
                f"rate. The last finite model is in `error.model`."
            )
            err.model = model
            raise err
        model = new_model
        if log_every and (i % log_every == 0 or i == num_steps - 1):
            elapsed = time.perf_counter() - start
            print(
                f"  {name}: step {i + 1}/{num_steps} loss {losses[i]:.4g} ({elapsed:.1f}s)",
                file=sys.stderr,
                flush=True,
            )
    return model, jnp.asarray(losses)
