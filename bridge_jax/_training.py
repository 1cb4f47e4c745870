"""One optax training loop for any equinox model and loss, with progress and a NaN guard."""

from __future__ import annotations

import json
import os
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
    update_fn: Callable | None = None,
    checkpoint: str | None = None,
    checkpoint_every: int = 100,
):
    r"""Minimise `loss_fn(model, key)` over the inexact-array leaves of `model` with optax.

    A fresh key, `jax.random.fold_in(key, step)`, is passed at every step (for random splits
    or views). The update is one
    `eqx.filter_jit`-compiled step; the loop stays in Python so progress can be shown every
    `log_every` steps (0: silent) and a non-finite loss, gradient or parameter stops training
    with a `FloatingPointError` naming the step and the parameter, instead of returning garbage.

    `update_fn(model, key) -> model`, if given, runs after each optimiser step with the step's
    key (EMA targets, DINO's centre). With `checkpoint` (a file path), the model, optimiser
    state and losses are saved atomically every `checkpoint_every` steps and at the end; a
    call with the same arguments and an existing checkpoint resumes from it and gives the same
    result as an uninterrupted run (the keys are a function of `key` and the step).
    To train many independent trials at once, make `model` a batch of models
    (`eqx.filter_vmap` over their keys) and let `loss_fn` return the SUM of the per-trial
    losses: each trial's gradient is then exactly its own, and Adam acts elementwise.

    **Returns:** `(model, losses)` with `losses[i]` the loss before update `i` (for a batch
    of trials, the summed loss).
    """
    num_steps = check.positive_int("num_steps", num_steps)
    checkpoint_every = check.positive_int("checkpoint_every", checkpoint_every)
    if optimizer is None:
        check.nonnegative("learning_rate", learning_rate, strict=True)
        optimizer = optax.adam(learning_rate)
    check.prng_key("key", key)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(model, opt_state, k):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, k)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        model = eqx.apply_updates(model, updates)
        if update_fn is not None:
            model = update_fn(model, k)
        return model, opt_state, loss, grads

    losses = np.empty(num_steps)
    first = 0
    if checkpoint is not None and os.path.exists(checkpoint):
        first, model, opt_state, done = _load_checkpoint(checkpoint, name, model, opt_state)
        if first > num_steps:
            raise ValueError(
                f"{name}: checkpoint {checkpoint} has {first} steps, more than num_steps="
                f"{num_steps}; delete it or raise num_steps."
            )
        losses[:first] = done
    start = time.perf_counter()
    for i in range(first, num_steps):
        k = jr.fold_in(key, i)  # independent of num_steps, so a longer run extends a shorter one
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
        if checkpoint is not None and ((i + 1) % checkpoint_every == 0 or i == num_steps - 1):
            _save_checkpoint(checkpoint, name, i + 1, model, opt_state, losses[: i + 1])
        if log_every and (i % log_every == 0 or i == num_steps - 1):
            elapsed = time.perf_counter() - start
            print(
                f"  {name}: step {i + 1}/{num_steps} loss {losses[i]:.4g} ({elapsed:.1f}s)",
                file=sys.stderr,
                flush=True,
            )
    return model, jnp.asarray(losses)


_CKPT_FORMAT = "bridge_jax.checkpoint/1"


def _save_checkpoint(path, name, done, model, opt_state, losses):
    """One file: a JSON header line, then the leaves; replaced atomically (tmp + rename)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    meta = {"format": _CKPT_FORMAT, "name": name, "steps": done, "losses": losses.tolist()}
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(json.dumps(meta).encode() + b"\n")
        eqx.tree_serialise_leaves(f, (model, opt_state))
    os.replace(tmp, path)


def _load_checkpoint(path, name, model, opt_state):
    try:
        with open(path, "rb") as f:
            meta = json.loads(f.readline())
            if not isinstance(meta, dict) or meta.get("format") != _CKPT_FORMAT:
                raise ValueError("not a bridge_jax checkpoint")
            if meta.get("name") != name:
                raise ValueError(f"written for {meta.get('name')!r}, not {name!r}")
            model, opt_state = eqx.tree_deserialise_leaves(f, (model, opt_state))
    except (OSError, ValueError, UnicodeDecodeError, RuntimeError, TypeError) as e:
        raise ValueError(
            f"{name}: {path} is not a usable checkpoint for this run ({e}); delete it to start "
            "again."
        ) from e
    return int(meta["steps"]), model, opt_state, np.asarray(meta["losses"])
