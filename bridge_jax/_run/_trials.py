"""Trials in memory: one per-trial function over all trial keys in one compiled program
(`map_trials`; `run_sweep` in `_sweep.py` adds grids, chunk files, resuming and devices)."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import numpy as np

from .. import _validate as check
from ._memory import TooLargeError, _gib, device_memory, memory_needed


def map_trials(fn: Callable, keys, *, batch_size: int | None = None) -> dict:
    """`fn(key)` (ONE trial, unbatched) over all trial keys in ONE compiled program; the
    outputs (any pytree of arrays, e.g. spectra and curves) come back as NumPy arrays with a
    leading trial axis.

    Trials are batched with `vmap`; `batch_size` bounds memory by running `lax.map` over
    chunks of that many `vmap`-ed trials. By default all trials run in one batch if XLA's
    estimate of the program's memory fits the device (`device_memory`), else in smaller
    batches; a `TooLargeError` (before anything runs) if even one trial at a time, or the
    given `batch_size`, does not fit. The in-memory counterpart of `run_sweep` (which adds a
    grid, chunk files, resuming and devices, for scalar metrics).

    `fn` is compiled on each call: over a grid, a new `fn` per grid point (a closure over
    the point's values) compiles once per point. To sweep values without recompiling, use
    `run_sweep`, which batches value parameters in one program per shape.

    `keys`: a 1-D array of `jax.random` keys (e.g. `jax.random.split(key, trials)`).
    """
    if not (hasattr(keys, "shape") and hasattr(keys, "dtype")) or len(keys.shape) < 1:
        raise TypeError(
            f"keys must be an array of jax.random keys with a leading trial axis (e.g. "
            f"jax.random.split(key, trials)), got {keys!r}."
        )
    if int(keys.shape[0]) < 1:
        raise ValueError("keys must hold at least one trial key, got none.")
    num = int(keys.shape[0])
    auto = batch_size is None
    batch_size = num if auto else check.positive_int("batch_size", batch_size)
    limit = device_memory()
    while True:
        run = jax.jit(lambda k, size=batch_size: jax.lax.map(fn, k, batch_size=size))
        compiled = run.lower(keys).compile()  # the call below reuses this compilation
        need = memory_needed(compiled)
        if need <= limit:
            return jax.tree_util.tree_map(np.asarray, run(keys))
        if not auto or batch_size == 1:
            raise TooLargeError(
                f"{num} trials in batches of {batch_size} need about {_gib(need)} at once "
                f"(XLA's estimate), more than the {_gib(limit)} of {jax.devices()[0]}; use "
                "fewer trials or smaller ones (fewer signals, smaller n)."
            )
        batch_size = max(1, batch_size // max(2, math.ceil(need / limit)))
