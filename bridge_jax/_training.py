"""One optax training loop for any equinox model and loss, with progress and a NaN guard."""

from __future__ import annotations

import functools
import io
import json
import os
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

from . import _validate as check
from . import store


def _leaf_names(tree) -> list[str]:
    paths = jax.tree_util.tree_flatten_with_path(eqx.filter(tree, eqx.is_inexact_array))[0]
    return [jax.tree_util.keystr(path) or "<root>" for path, _ in paths]


def _nonfinite(tree) -> list[str]:
    leaves = jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_inexact_array))
    names = _leaf_names(tree)
    return [n for n, leaf in zip(names, leaves, strict=True) if not np.all(np.isfinite(leaf))]


def _all_finite(tree):
    leaves = jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_inexact_array))
    return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(leaf)) for leaf in leaves] or [True]))


def _select(flag, new, old):
    """`new` where `flag`, else `old`, on every array leaf (other leaves from `new`)."""
    new_arrays, static = eqx.partition(new, eqx.is_array)
    old_arrays = eqx.filter(old, eqx.is_array)
    chosen = jax.tree_util.tree_map(lambda a, b: jnp.where(flag, a, b), new_arrays, old_arrays)
    return eqx.combine(chosen, static)


def fit(
    loss_fn: Callable,
    model,
    *,
    key,
    num_steps: int,
    learning_rate: float = 1e-2,
    optimizer: optax.GradientTransformation | None = None,
    update_fn: Callable | None = None,
    checkpoint: str | None = None,
    checkpoint_every: int = 100,
    log_every: int = 0,
    progress: Callable[[str, int, int, float], None] | None = None,
    name: str = "training",
):
    r"""Minimise `loss_fn(model, key)` over the inexact-array leaves of `model` with optax.

    A fresh key, `jax.random.fold_in(key, step)`, is passed at every step (for random splits
    or views). Each step runs two compiled programs, the update and a finiteness guard, and
    nothing returns to the host between steps: the guard checks that the loss, the gradients
    and the new parameters are finite and, from the first step where they are not, keeps the
    last finite state. The host looks at the losses only every `log_every` steps (0: at
    checkpoints and the end), where a non-finite step stops training with a
    `FloatingPointError` naming the step and the parameters, with the last finite model in
    `error.model`.

    `progress(name, step, num_steps, loss)`, if given, is called at those points (the library
    prints nothing itself). `update_fn(model, key) -> model`, if given, runs after each
    optimiser step with the step's key (EMA targets, DINO's centre). With `checkpoint` (a file
    path), the model, optimiser state and losses are saved atomically every
    `checkpoint_every` steps and at the end; a call with the same arguments and an existing
    checkpoint resumes from it and gives the same result as an uninterrupted run (the keys are
    a function of `key` and the step).
    To train many independent trials at once, make `model` a batch of models
    (`eqx.filter_vmap` over their keys) and let `loss_fn` return the SUM of the per-trial
    losses: each trial's gradient is then exactly its own, and Adam acts elementwise.

    Arrays that a plain `loss_fn` closes over are compiled into the step as constants: a new
    dataset is a new program, and a large one a slow compilation. Give the data as pytree
    leaves instead, `loss_fn = jax.tree_util.Partial(f, data)` (called as
    `f(data, model, key)`) or an `eqx.Module` with a `__call__`; `update_fn` likewise. Their
    arrays are then inputs of the compiled step, so fits on other data of the same shapes and
    dtypes share one program (from the persistent compilation cache, where it is on).

    **Returns:** `(model, losses)` with `losses[i]` the loss before update `i` (for a batch
    of trials, the summed loss).
    """
    num_steps = check.positive_int("num_steps", num_steps)
    checkpoint_every = check.positive_int("checkpoint_every", checkpoint_every)
    if isinstance(log_every, bool) or not isinstance(log_every, int) or log_every < 0:
        raise TypeError(f"log_every must be an int >= 0, got {log_every!r}.")
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be callable (name, step, num_steps, loss), got {progress!r}."
        )
    if optimizer is None:
        check.nonnegative("learning_rate", learning_rate, strict=True)
        optimizer = optax.adam(learning_rate)
    check.prng_key("key", key)
    if not jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array)):
        raise ValueError(
            f"{name}: the model has no trainable leaves (floating-point arrays), so fit would "
            f"train nothing; got a {type(model).__name__}. Pass a model with array parameters."
        )
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))

    # The array leaves of the loss and update go in as arguments: those of a pytree `loss_fn`
    # (a `jax.tree_util.Partial`, an `eqx.Module`) are then the program's inputs, not
    # constants compiled into it, so fits on other data of the same shapes run the same
    # program. The rest (the functions) stays closed over: it need not be hashable.
    fn_arrays, fn_static = eqx.partition((loss_fn, update_fn), eqx.is_array)

    def raw_step(fn_arrays, model, opt_state, k):
        loss_fn, update_fn = eqx.combine(fn_arrays, fn_static)
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, k)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        new_model = eqx.apply_updates(model, updates)
        if update_fn is not None:
            new_model = update_fn(new_model, k)
        return new_model, opt_state, loss, grads

    compiled_step = functools.partial(eqx.filter_jit(raw_step), fn_arrays)

    @eqx.filter_jit
    def guard(new_model, new_state, loss, grads, model, opt_state, first_bad, i):
        ok = jnp.isfinite(loss) & _all_finite(grads) & _all_finite(new_model) & (first_bad < 0)
        model = _select(ok, new_model, model)
        opt_state = _select(ok, new_state, opt_state)
        return model, opt_state, jnp.where((first_bad < 0) & ~ok, i, first_bad)

    def step(model, opt_state, k, first_bad, i):
        # Two compiled programs: the update exactly as an unguarded step computes it, then the
        # finiteness guard (fused into one program, XLA may round the update differently).
        new_model, new_state, loss, grads = compiled_step(model, opt_state, k)
        model, opt_state, first_bad = guard(
            new_model, new_state, loss, grads, model, opt_state, first_bad, i
        )
        return model, opt_state, loss, first_bad

    # The losses so far, in the pieces fetched from the device: nothing of size num_steps is
    # allocated up front (a run of 10^9 steps must not ask for 8 GB before its first step).
    recorded: list[np.ndarray] = []
    first = 0
    run_digest = None
    if checkpoint is not None:
        # What the run is: the starting model and optimiser state, the key, the names of the
        # loss and update functions, the learning rate and the code (a custom `optimizer` is
        # known only through its initial state). A checkpoint of another run is never resumed.
        run_digest = store.digest(
            {
                "name": name,
                "loss_fn": _callable_name(loss_fn),
                "update_fn": _callable_name(update_fn),
                "learning_rate": None if learning_rate is None else float(learning_rate),
                "key": np.asarray(jr.key_data(key)).tolist(),
            },
            store.tree_digest((model, opt_state)),
            # the data a pytree loss or update carries (a closure's data is not seen)
            store.tree_digest(fn_arrays),
        )
    if checkpoint is not None and os.path.exists(checkpoint):
        first, model, opt_state, done = _load_checkpoint(
            checkpoint, name, run_digest, model, opt_state
        )
        if first > num_steps:
            raise ValueError(
                f"{name}: checkpoint {checkpoint} has {first} steps, more than num_steps="
                f"{num_steps}; delete it or raise num_steps."
            )
        recorded.append(np.asarray(done, np.float64)[:first])
    first_bad = jnp.asarray(-1, jnp.int32)
    pending: list = []  # device scalars of the losses since the last look on the host
    for i in range(first, num_steps):
        k = jr.fold_in(key, i)  # independent of num_steps, so a longer run extends a shorter one
        model, opt_state, loss, first_bad = step(model, opt_state, k, first_bad, jnp.int32(i))
        pending.append(loss)
        last = i == num_steps - 1
        save = checkpoint is not None and ((i + 1) % checkpoint_every == 0 or last)
        report = log_every and (i % log_every == 0 or last)
        if not (save or report or last or len(pending) >= _FETCH_EVERY):
            continue
        recorded.append(np.asarray(jax.device_get(pending), np.float64))
        pending = []
        bad = int(first_bad)
        if bad >= 0:
            _raise_nonfinite(name, compiled_step, model, opt_state, jr.fold_in(key, bad), bad)
        if save:
            recorded = [np.concatenate(recorded)]  # joined once per save, not per piece
            _save_checkpoint(checkpoint, name, run_digest, i + 1, model, opt_state, recorded[0])
        if report and progress is not None:
            progress(name, i + 1, num_steps, float(recorded[-1][-1]))
    return model, jnp.asarray(np.concatenate(recorded) if recorded else np.zeros(0))


_FETCH_EVERY = 1024  # at most this many losses wait on the device between fetches


def _callable_name(fn) -> str:
    """A function's qualified name; a `Partial`'s or a module's, that of what it calls."""
    for f in (fn, getattr(fn, "func", None)):
        if hasattr(f, "__qualname__"):
            return f.__qualname__
    return repr(fn) if fn is None else type(fn).__qualname__


def _raise_nonfinite(name, step, model, opt_state, k, i):
    """Redo step `i` from the last finite state to name, on the host, what went wrong."""
    new_model, _, loss, grads = step(model, opt_state, k)
    loss = float(loss)
    if not np.isfinite(loss) or _nonfinite(grads):
        culprits = _nonfinite(grads) or _leaf_names(model)
        err = FloatingPointError(
            f"{name}: the loss became {loss} at step {i} with parameters {culprits} "
            f"(non-finite gradients: {_nonfinite(grads) or 'none'}). Lower the learning "
            f"rate or constrain the parameters; the last finite model is in `error.model`."
        )
    else:
        err = FloatingPointError(
            f"{name}: parameters {_nonfinite(new_model)} became non-finite at step {i}; lower "
            f"the learning rate. The last finite model is in `error.model`."
        )
    err.model = model
    raise err


_CKPT_FORMAT = "bridge_jax.checkpoint/2"


def _save_checkpoint(path, name, digest, done, model, opt_state, losses):
    """One file: a JSON header line, then the leaves; replaced atomically by the store."""
    meta = {
        "format": _CKPT_FORMAT,
        "name": name,
        "digest": digest,
        "steps": done,
        "losses": losses.tolist(),
    }
    buf = io.BytesIO()
    buf.write(json.dumps(meta).encode() + b"\n")
    eqx.tree_serialise_leaves(buf, (model, opt_state))
    store.atomic_write(path, buf.getvalue())


def _load_checkpoint(path, name, digest, model, opt_state):
    try:
        with open(path, "rb") as f:
            meta = json.loads(f.readline())
            if not isinstance(meta, dict) or meta.get("format") != _CKPT_FORMAT:
                raise ValueError("not a bridge_jax checkpoint")
            if meta.get("name") != name:
                raise ValueError(f"written for {meta.get('name')!r}, not {name!r}")
            if meta.get("digest") != digest:
                raise ValueError(
                    "written by another run (another starting model, key, loss, optimiser "
                    "setting or version of the code)"
                )
            model, opt_state = eqx.tree_deserialise_leaves(f, (model, opt_state))
    except (OSError, ValueError, UnicodeDecodeError, RuntimeError, TypeError) as e:
        raise ValueError(
            f"{name}: {path} is not a usable checkpoint for this run ({e}); delete it to start "
            "again."
        ) from e
    return int(meta["steps"]), model, opt_state, np.asarray(meta["losses"])


def fit_scan(
    loss_fn: Callable,
    model,
    *,
    key,
    num_steps: int,
    learning_rate=1e-2,
    final_fraction: float = 1e-2,
):
    r"""`fit`'s loop as one traceable program: Adam on the inexact-array leaves of `model`
    for `num_steps` steps of `lax.scan`, the learning rate decaying from `learning_rate` to
    `final_fraction` times it (cosine), step $i$ seeing the key `jax.random.fold_in(key, i)`.

    No guard, no checkpoint, no progress: it can be `jit`-ed and `vmap`-ed over trials (one
    compiled program trains them all), which `fit` cannot. `learning_rate` may be traced.
    **Returns:** `(model, losses)`, `losses[i]` the loss before update `i`.
    """
    num_steps = check.positive_int("num_steps", num_steps)
    check.prng_key("key", key)
    schedule = optax.cosine_decay_schedule(1.0, num_steps, alpha=final_fraction)
    optimizer = optax.chain(optax.scale_by_adam(), optax.scale_by_schedule(schedule))
    params, static = eqx.partition(model, eqx.is_inexact_array)
    state = optimizer.init(params)
    lr = jnp.asarray(learning_rate)

    def body(carry, i):
        params, state = carry
        k = jr.fold_in(key, i)
        loss, grads = jax.value_and_grad(lambda p: loss_fn(eqx.combine(p, static), k))(params)
        updates, state = optimizer.update(grads, state, params)
        updates = jax.tree_util.tree_map(lambda u: -lr.astype(u.dtype) * u, updates)
        return (optax.apply_updates(params, updates), state), loss

    (params, _), losses = jax.lax.scan(body, (params, state), jnp.arange(num_steps))
    return eqx.combine(params, static), losses


def fit_scan_restarts(
    loss_fn: Callable,
    models,
    *,
    key,
    num_steps: int,
    learning_rate=1e-2,
    final_fraction: float = 1e-2,
):
    r"""`fit_scan` from $R$ initialisations at once (vmapped), keeping the run whose final
    TRAINING loss is lowest: random restarts against poor local minima.

    `models`: a batch of $R$ models, every inexact-array leaf stacked along a leading axis
    (e.g. `eqx.filter_vmap(make_model)(jr.split(key, R))`); array leaves that are not
    inexact are shared. Every restart sees the same step keys (`jax.random.fold_in(key, i)`),
    so the restarts differ by their initialisation only. The criterion is
    `loss_fn(model_r, jax.random.fold_in(key, num_steps))`, the training loss of each final
    model (the loss `fit_scan` would see at the next step): it uses the training data alone,
    never a test error. Ties go to the first restart. With $R = 1$ this is `fit_scan` itself
    (the same program, bit for bit).

    **Returns:** `(model, losses, final_losses)`: the selected model (unbatched), the losses of
    every restart $(R, \text{num\_steps})$ and the criterion of every restart $(R,)$; the
    selected restart is `argmin(final_losses)`.
    """
    num_steps = check.positive_int("num_steps", num_steps)
    check.prng_key("key", key)
    params, static = eqx.partition(models, eqx.is_inexact_array)
    sizes = {leaf.shape[0] if leaf.ndim else None for leaf in jax.tree_util.tree_leaves(params)}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(
            "models must be a batch of models, every inexact-array leaf stacked along a "
            f"leading axis of one size R; got leading sizes {sorted(map(str, sizes))}."
        )
    (restarts,) = sizes
    final_key = jr.fold_in(key, num_steps)

    def one(p):
        model, losses = fit_scan(
            loss_fn,
            eqx.combine(p, static),
            key=key,
            num_steps=num_steps,
            learning_rate=learning_rate,
            final_fraction=final_fraction,
        )
        return model, losses, loss_fn(model, final_key)

    if restarts == 1:  # no vmap: exactly fit_scan's program
        p0 = jax.tree_util.tree_map(lambda a: a[0], params)
        model, losses, final = one(p0)
        return model, losses[None], jnp.reshape(final, (1,))

    def one_params(p):
        model, losses, final = one(p)
        return eqx.filter(model, eqx.is_inexact_array), losses, final

    trained, losses, final = jax.vmap(one_params)(params)
    best = jnp.argmin(final)
    chosen = jax.tree_util.tree_map(lambda a: a[best], trained)
    return eqx.combine(chosen, static), losses, final
