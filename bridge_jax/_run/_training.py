"""One optax training loop for any equinox model and loss, with progress and a NaN guard."""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import os
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

from .. import _validate as check
from .. import store


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
    learning_rate: float | optax.Schedule = 1e-2,
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

    `learning_rate` is a float or an optax schedule, a function of the step (e.g.
    `optax.warmup_cosine_decay_schedule(0.0, 1e-3, 100, num_steps)`), for the default Adam;
    or pass any `optimizer`. An optimizer that takes extra arguments gets the step's loss as
    `value` (`optax.contrib.reduce_on_plateau` chained after Adam lowers the learning rate
    when the training loss stops falling; average it over steps with its
    `accumulation_size`). To stop on held-out data and keep the best model, see
    `fit_until_converged`.

    **Returns:** `(model, losses)` with `losses[i]` the loss before update `i` (for a batch
    of trials, the summed loss).
    """
    model, losses, _ = _run(
        loss_fn,
        model,
        key=key,
        num_steps=num_steps,
        learning_rate=learning_rate,
        optimizer=optimizer,
        update_fn=update_fn,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        log_every=log_every,
        progress=progress,
        name=name,
        monitor=None,
    )
    return model, jnp.asarray(losses)


@dataclasses.dataclass(frozen=True)
class FitResult:
    r"""What `fit_until_converged` returns.

    **Fields:** `model` the model with the best validation value (the one to use);
    `last_model` and `opt_state` those after the last step (to continue training);
    `losses` the training loss before each update, shape `(stopped_at,)`; `eval_steps` the
    number of updates done at each evaluation (0 is the starting model) and `eval_values` the
    validation values there; `best_step` and `best_value` the evaluation `model` comes from;
    `stopped_at` the number of updates done; `reason` why training ended: `"patience"` (no
    improvement in `patience` evaluations) or `"num_steps"` (the cap).
    """

    model: Any
    last_model: Any
    opt_state: Any
    losses: np.ndarray
    eval_steps: np.ndarray
    eval_values: np.ndarray
    best_step: int
    best_value: float
    stopped_at: int
    reason: str


def fit_until_converged(
    loss_fn: Callable,
    model,
    *,
    key,
    validation: Callable,
    num_steps: int,
    eval_every: int = 100,
    patience: int = 10,
    min_delta: float = 0.0,
    min_steps: int = 0,
    learning_rate: float | optax.Schedule = 1e-2,
    optimizer: optax.GradientTransformation | None = None,
    update_fn: Callable | None = None,
    checkpoint: str | None = None,
    checkpoint_every: int | None = None,
    log_every: int = 0,
    progress: Callable[[str, int, int, float], None] | None = None,
    on_evaluate: Callable[[int, Any, float], None] | None = None,
    name: str = "training",
) -> FitResult:
    r"""`fit` with early stopping on held-out data: train until `validation(model)` stops
    improving, at most `num_steps` steps, and return the best model it saw.

    `validation(model) -> scalar`, lower is better, is evaluated on the starting model and
    after every `eval_every` updates (and after the last). For a self-supervised method it
    should use held-out MEASUREMENTS only, e.g. the method's own loss on measurements kept out
    of training: the rule then needs no ground truth, and a user without clean signals can
    apply it. An evaluation improves when its value is below the best so far by more than
    `min_delta` (absolute); after `patience` evaluations in a row without improvement,
    training stops (a NaN value never improves), but never before `min_steps` updates: a
    model may first get worse on held-out data before it improves (a network that starts
    as the identity on a good input does), and `min_steps` keeps such a dip from ending the
    run at its start. Give `validation` its data as pytree leaves
    (`jax.tree_util.Partial(f, data)`, called `f(data, model)`, or an `eqx.Module`), as for
    `loss_fn`: its arrays are then inputs of its compiled program, not constants.

    Everything else is `fit`'s: the keys, the finiteness guard, `learning_rate` as a float or
    an optax schedule, extra-argument optimizers given the loss as `value`
    (`optax.contrib.reduce_on_plateau`), `update_fn`, progress. `on_evaluate(step, model,
    value)`, if given, is called on the host after each evaluation (not for those a resumed
    run restores): to record something along the way, e.g. a test score that must not steer
    the stopping (its return value is ignored). With `checkpoint`, the
    model, the optimiser state, the losses, the best model and the stopping state (the
    evaluations so far, the patience count) are saved every `checkpoint_every` steps
    (default: `eval_every`) and when training ends; a call with the same arguments resumes,
    stops at the same step and returns the same result as an uninterrupted run, and a
    finished run's checkpoint returns its result at once. For a batch of trials
    (`fit`'s summed loss) the trials stop together, on the summed validation value: train
    them one by one to stop each at its own step.

    **Returns:** a `FitResult` (`result.model` the best model).

    Example:
        ```python
        import jax, jax.numpy as jnp, jax.random as jr, optax
        import bridge_jax as bj

        op = bj.GaussianSensing((8, 8), 32, key=jr.key(0))
        y = jax.vmap(op.mv)(jr.uniform(jr.key(1), (40, 8, 8)))  # measurements only
        train, held_out = y[:32], y[32:]

        def mc(data, model, key=None):  # measurement consistency on held measurements
            one = lambda yy: bj.measurement_consistency_loss(model, op, yy)
            return jnp.mean(jax.vmap(one)(data))

        result = bj.fit_until_converged(
            jax.tree_util.Partial(mc, train),
            bj.UNet(scales=1, width=4, key=jr.key(2)),
            key=jr.key(3),
            validation=jax.tree_util.Partial(mc, held_out),
            num_steps=2000,
            eval_every=50,
            patience=5,
            learning_rate=optax.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 2000),
        )
        result.model, result.stopped_at, result.reason  # best model; when and why it stopped
        ```
    """
    if not callable(validation):
        raise TypeError(f"validation must be callable (model) -> scalar, got {validation!r}.")
    eval_every = check.positive_int("eval_every", eval_every)
    patience = check.positive_int("patience", patience)
    min_delta = float(check.nonnegative("min_delta", min_delta))
    if isinstance(min_steps, bool) or not isinstance(min_steps, int) or min_steps < 0:
        raise TypeError(f"min_steps must be a Python int >= 0, got {min_steps!r}.")
    if on_evaluate is not None and not callable(on_evaluate):
        raise TypeError(f"on_evaluate must be callable (step, model, value), got {on_evaluate!r}.")
    monitor = _Monitor(validation, eval_every, patience, min_delta, on_evaluate, min_steps)
    last_model, losses, opt_state = _run(
        loss_fn,
        model,
        key=key,
        num_steps=num_steps,
        learning_rate=learning_rate,
        optimizer=optimizer,
        update_fn=update_fn,
        checkpoint=checkpoint,
        checkpoint_every=eval_every if checkpoint_every is None else checkpoint_every,
        log_every=log_every,
        progress=progress,
        name=name,
        monitor=monitor,
    )
    return FitResult(
        model=monitor.best_model,
        last_model=last_model,
        opt_state=opt_state,
        losses=losses,
        eval_steps=np.asarray(monitor.steps, np.int64),
        eval_values=np.asarray(monitor.values, np.float64),
        best_step=monitor.best_step,
        best_value=monitor.best_value,
        stopped_at=int(losses.shape[0]),
        reason=monitor.reason,
    )


class _Monitor:
    """Early stopping on the host: the validation curve, the best model and the patience
    count, all of which a checkpoint saves."""

    def __init__(self, validation, eval_every, patience, min_delta, on_evaluate=None, min_steps=0):
        self.on_evaluate = on_evaluate
        self.min_steps = min_steps
        self.eval_every = eval_every
        self.patience = patience
        self.min_delta = min_delta
        val_arrays, val_static = eqx.partition(validation, eqx.is_array)
        self.val_arrays = val_arrays
        self.name = _callable_name(validation)

        @eqx.filter_jit
        def value(val_arrays, model):
            return eqx.combine(val_arrays, val_static)(model)

        self._value = value
        self.steps: list[int] = []
        self.values: list[float] = []
        self.best_model = None
        self.best_step = -1
        self.best_value = float("inf")
        self.wait = 0
        self.reason: str | None = None

    def evaluate(self, model, step: int) -> None:
        value = np.asarray(self._value(self.val_arrays, model))
        if value.shape != ():
            raise ValueError(
                f"validation must return a scalar, got an array of shape {value.shape}."
            )
        value = float(value)
        self.steps.append(step)
        self.values.append(value)
        # An improvement beats the best by more than min_delta; a NaN never improves.
        if self.best_model is None or value < self.best_value - self.min_delta:
            self.best_model, self.best_step, self.best_value, self.wait = model, step, value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience and step >= self.min_steps:
                self.reason = "patience"
        if self.on_evaluate is not None:
            self.on_evaluate(step, model, value)

    def state(self) -> dict:
        return {
            "steps": self.steps,
            "values": self.values,
            "best_step": self.best_step,
            "best_value": self.best_value,
            "wait": self.wait,
            "reason": self.reason,
        }

    def restore(self, state: dict, best_model) -> None:
        self.steps = [int(s) for s in state["steps"]]
        self.values = [float(v) for v in state["values"]]
        self.best_step = int(state["best_step"])
        self.best_value = float(state["best_value"])
        self.wait = int(state["wait"])
        self.reason = state["reason"]
        self.best_model = best_model


def _learning_rate_digest(learning_rate, num_steps):
    """A float, or a schedule's values at 33 steps spread over the run (a schedule is a
    closure: its name does not tell one warm-up or decay from another)."""
    if learning_rate is None:
        return None
    if callable(learning_rate):
        steps = np.unique(np.linspace(0, num_steps, 33).astype(int))
        return [float(learning_rate(int(i))) for i in steps]
    return float(learning_rate)


def _run(
    loss_fn,
    model,
    *,
    key,
    num_steps,
    learning_rate,
    optimizer,
    update_fn,
    checkpoint,
    checkpoint_every,
    log_every,
    progress,
    name,
    monitor: _Monitor | None,
):
    """`fit`'s loop; with a `monitor`, also the evaluations and early stopping."""
    num_steps = check.positive_int("num_steps", num_steps)
    checkpoint_every = check.positive_int("checkpoint_every", checkpoint_every)
    if isinstance(log_every, bool) or not isinstance(log_every, int) or log_every < 0:
        raise TypeError(f"log_every must be an int >= 0, got {log_every!r}.")
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be callable (name, step, num_steps, loss), got {progress!r}."
        )
    if optimizer is None:
        if not callable(learning_rate):
            check.nonnegative("learning_rate", learning_rate, strict=True)
        optimizer = optax.adam(learning_rate)
    check.prng_key("key", key)
    if not jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array)):
        raise ValueError(
            f"{name}: the model has no trainable leaves (floating-point arrays), so fit would "
            f"train nothing; got a {type(model).__name__}. Pass a model with array parameters."
        )
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    # Transformations that take extra arguments (`optax.contrib.reduce_on_plateau` in a
    # chain) see the step's loss as `value`; the others ignore it.
    takes_value = isinstance(optimizer, optax.GradientTransformationExtraArgs)

    # The array leaves of the loss and update go in as arguments: those of a pytree `loss_fn`
    # (a `jax.tree_util.Partial`, an `eqx.Module`) are then the program's inputs, not
    # constants compiled into it, so fits on other data of the same shapes run the same
    # program. The rest (the functions) stays closed over: it need not be hashable.
    fn_arrays, fn_static = eqx.partition((loss_fn, update_fn), eqx.is_array)

    def raw_step(fn_arrays, model, opt_state, k):
        loss_fn, update_fn = eqx.combine(fn_arrays, fn_static)
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, k)
        params = eqx.filter(model, eqx.is_array)
        if takes_value:
            updates, opt_state = optimizer.update(grads, opt_state, params, value=loss)
        else:
            updates, opt_state = optimizer.update(grads, opt_state, params)
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
        what = {
            "name": name,
            "loss_fn": _callable_name(loss_fn),
            "update_fn": _callable_name(update_fn),
            "learning_rate": _learning_rate_digest(learning_rate, num_steps),
            "key": np.asarray(jr.key_data(key)).tolist(),
        }
        parts = [
            store.tree_digest((model, opt_state)),
            # the data a pytree loss or update carries (a closure's data is not seen)
            store.tree_digest(fn_arrays),
        ]
        if monitor is not None:  # the stopping rule and its data are part of the run
            what["validation"] = {
                "fn": monitor.name,
                "eval_every": monitor.eval_every,
                "patience": monitor.patience,
                "min_delta": monitor.min_delta,
                "num_steps": num_steps,
            }
            if monitor.min_steps:  # (absent when 0: checkpoints written before it still resume)
                what["validation"]["min_steps"] = monitor.min_steps
            parts.append(store.tree_digest(monitor.val_arrays))
        run_digest = store.digest(what, *parts)
    resumed = False
    if checkpoint is not None and os.path.exists(checkpoint):
        first, model, opt_state, done, extra = _load_checkpoint(
            checkpoint, name, run_digest, model, opt_state, monitor is not None
        )
        if first > num_steps:
            raise ValueError(
                f"{name}: checkpoint {checkpoint} has {first} steps, more than num_steps="
                f"{num_steps}; delete it or raise num_steps."
            )
        recorded.append(np.asarray(done, np.float64)[:first])
        if monitor is not None:
            monitor.restore(*extra)
        resumed = True
    if monitor is not None and not resumed:
        monitor.evaluate(model, 0)  # the starting model is a candidate too
    first_bad = jnp.asarray(-1, jnp.int32)
    pending: list = []  # device scalars of the losses since the last look on the host
    stop = monitor is not None and monitor.reason is not None
    i = first
    while i < num_steps and not stop:
        k = jr.fold_in(key, i)  # independent of num_steps, so a longer run extends a shorter one
        model, opt_state, loss, first_bad = step(model, opt_state, k, first_bad, jnp.int32(i))
        pending.append(loss)
        last = i == num_steps - 1
        evaluate = monitor is not None and ((i + 1) % monitor.eval_every == 0 or last)
        save = checkpoint is not None and ((i + 1) % checkpoint_every == 0 or last)
        report = log_every and (i % log_every == 0 or last)
        i += 1
        if not (save or report or last or evaluate or len(pending) >= _FETCH_EVERY):
            continue
        recorded.append(np.asarray(jax.device_get(pending), np.float64))
        pending = []
        bad = int(first_bad)
        if bad >= 0:
            _raise_nonfinite(name, compiled_step, model, opt_state, jr.fold_in(key, bad), bad)
        if evaluate:
            monitor.evaluate(model, i)
            stop = monitor.reason is not None
            save = save or (checkpoint is not None and stop)
        if save:
            recorded = [np.concatenate(recorded)]  # joined once per save, not per piece
            _save_checkpoint(
                checkpoint, name, run_digest, i, model, opt_state, recorded[0], monitor
            )
        if report and progress is not None:
            progress(name, i, num_steps, float(recorded[-1][-1]))
    if monitor is not None and monitor.reason is None:
        monitor.reason = "num_steps"
    losses = np.concatenate(recorded) if recorded else np.zeros(0)
    return model, losses, opt_state


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


def _save_checkpoint(path, name, digest, done, model, opt_state, losses, monitor=None):
    """One file: a JSON header line, then the leaves; replaced atomically by the store. With a
    monitor, its state in the header and the best model after the optimiser state."""
    meta = {
        "format": _CKPT_FORMAT,
        "name": name,
        "digest": digest,
        "steps": done,
        "losses": losses.tolist(),
    }
    leaves = (model, opt_state)
    if monitor is not None:
        meta["monitor"] = monitor.state()
        leaves = (model, opt_state, monitor.best_model)
    buf = io.BytesIO()
    buf.write(json.dumps(meta).encode() + b"\n")
    eqx.tree_serialise_leaves(buf, leaves)
    store.atomic_write(path, buf.getvalue())


def _load_checkpoint(path, name, digest, model, opt_state, monitored=False):
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
            if monitored != ("monitor" in meta):
                raise ValueError("written by another kind of run (with or without early stopping)")
            if monitored:
                model, opt_state, best = eqx.tree_deserialise_leaves(f, (model, opt_state, model))
            else:
                model, opt_state = eqx.tree_deserialise_leaves(f, (model, opt_state))
    except (OSError, ValueError, UnicodeDecodeError, RuntimeError, TypeError) as e:
        raise ValueError(
            f"{name}: {path} is not a usable checkpoint for this run ({e}); delete it to start "
            "again."
        ) from e
    extra = (meta["monitor"], best) if monitored else None
    return int(meta["steps"]), model, opt_state, np.asarray(meta["losses"]), extra


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
