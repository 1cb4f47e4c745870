r"""Batched, sharded, chunked and resumable sweeps of a per-trial function over a grid.

`run_sweep(trial_fn, grid, ...)` evaluates `trial_fn(key, values, **shape)` for every grid
point and trial. Parameters are of two kinds:

- *value* parameters (noise level, ratio, step size, ...) keep array shapes fixed: all their
  grid points are stacked and batched with `vmap` in ONE compiled program;
- *shape* parameters (n, m, number of signals, iterations, ...) change shapes: the grid is
  split into groups of equal shape parameters, compiled once each.

Trials are processed in chunks of `chunk_trials` (chosen from the problem size by default, so a
sweep larger than device memory runs in pieces) and each chunk is sharded over all visible
devices along the trial axis with `jax.sharding` (1 CPU, 1 GPU or 8 GPUs, same code). On several
hosts, call `jax.distributed.initialize()` first and run the same call in every process (one per
host): the devices of all processes form one mesh, every process returns the whole result, and
the processes agree on the chunk size and on which saved chunks to reuse (`out` must then be a
folder all processes see; process 0 writes it). Trial `t` always uses the key
`fold_in(key(seed), t)` and the same key at every grid point (common random numbers), so
results do not depend on the chunk size or the number of devices.

With `out`, each finished chunk is written atomically to `out/chunks/`; a sweep started again
with the same arguments loads what was finished and computes only the rest. A file there that
is unreadable or belongs to another sweep (another grid, seed, `trial_fn` or version of
bridge_jax) is an error, never silently overwritten; see `bridge_jax.store`.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .. import _validate as check
from .. import store
from ._memory import _gib, auto_chunk, device_memory, memory_needed

_FORMAT = "bridge_jax.sweep-chunk/1"


class SweepError(ValueError):
    """A sweep's inputs or files are not usable (a clear message, no traceback needed)."""


def grid_points(grid: Mapping[str, Sequence]) -> list[dict]:
    """The Cartesian product of the grid's value lists, in order (last name varies fastest)."""
    if not isinstance(grid, Mapping) or not grid:
        raise SweepError("grid must be a non-empty mapping of parameter name to list of values.")
    names = list(grid)
    for name, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise SweepError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}.")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


def _digest(trial_fn, shape_names, points, seed) -> str:
    """The grid, the seed, the package's code, and `trial_fn` by qualified name and, when
    Python can find it, its source."""
    name = f"{getattr(trial_fn, '__module__', '')}.{getattr(trial_fn, '__qualname__', '')}"
    try:
        source = inspect.getsource(trial_fn)
    except (OSError, TypeError):
        source = ""
    config = {"shape": sorted(shape_names), "points": points, "seed": seed}
    return store.digest(config, name, source)


def _load_chunk(path: str, digest: str, stale: str) -> dict[str, np.ndarray] | None:
    try:
        return store.load_if_current(
            path,
            digest,
            fmt=_FORMAT,
            stale=stale,
            what="sweep chunk",
            writer="run_sweep",
            recover="use another output folder, or delete the folder's chunks/ to start again",
        )
    except store.StoreError as e:
        raise SweepError(str(e)) from e


def _gather(x) -> np.ndarray:
    """A (possibly multi-host) sharded array as one NumPy array on every process."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def _agree(value: int) -> int:
    """Process 0's `value` on every process (one process: `value`), so that all processes
    take the same branch around a collective computation."""
    if jax.process_count() == 1:
        return value
    from jax.experimental import multihost_utils

    return int(multihost_utils.broadcast_one_to_all(np.int32(value)))


def _all(flag: bool) -> bool:
    """Whether `flag` holds on every process."""
    if jax.process_count() == 1:
        return flag
    from jax.experimental import multihost_utils

    return bool(np.all(multihost_utils.process_allgather(np.int32(flag))))


def _mesh(devices) -> Mesh:
    devices = jax.devices() if devices is None else list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise SweepError(
            f"devices must be a non-empty list of JAX devices (e.g. jax.devices()), got "
            f"{devices!r}."
        )
    return Mesh(np.asarray(devices), ("trials",))


def _check_host_memory(metrics: int, points: int, trials: int, host: int) -> None:
    """The per-trial results stay on the host: float64 per metric, point and trial."""
    need = 8 * metrics * points * trials
    if need > host / 2:
        raise SweepError(
            f"{trials} trials x {points} grid points x {metrics} metric(s) keep {_gib(need)} "
            f"of results, more than half of this machine's {_gib(host)}; use fewer trials or "
            "points."
        )


def _check_metrics(one_point: Callable, value_names, shape: dict) -> None:
    """A `SweepError` naming the metric unless `trial_fn` returns a dict of scalars (traced
    once, nothing runs)."""
    vals = {name: jax.ShapeDtypeStruct((), jnp.result_type(float)) for name in value_names}
    out = jax.eval_shape(one_point, jax.ShapeDtypeStruct((), jnp.int32), vals)
    if not isinstance(out, dict) or not out:
        raise SweepError(
            f"trial_fn must return a non-empty dict of scalar metrics, got {type(out).__name__}"
            f" (at shape parameters {shape})."
        )
    for name, leaf in out.items():
        if getattr(leaf, "shape", None) != ():
            raise SweepError(
                f"trial_fn's metric {name!r} has shape {getattr(leaf, 'shape', None)}; each "
                "metric must be a scalar (shape ()): reduce it (e.g. its mean), or use "
                "map_trials for arrays."
            )


@contextlib.contextmanager
def _quiet_callback_log():
    """JAX logs the traceback of a host callback that raised (an `eqx.error_if`) before the
    error reaches the caller; `run_sweep` reports it itself, in one line."""
    logger = logging.getLogger("jax._src.callback")
    before, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = before


def _runtime_cause(e: Exception) -> str | None:
    """The message of an `eqx.error_if` (or another Python error raised in a host callback)
    inside a compiled program's runtime error, or None when there is none."""
    import re

    found = re.findall(r"(?:EquinoxRuntimeError|Error): ([^\n]+)", str(e))
    found = [f for f in found if "CpuCallback" not in f and "callback" not in f[:40]]
    return found[-1].strip() if found else None


def _failing_point(one_point, points, idx, value_names, start, stop) -> str:
    """Where a chunk failed: each of its (point, trial) rerun alone until one fails (on the
    error path only; one compilation for all of them)."""
    single = jax.jit(one_point)
    for i in idx:
        vals = {n: jnp.asarray(points[i][n], jnp.result_type(float)) for n in value_names}
        for t in range(start, stop):
            try:
                jax.block_until_ready(single(jnp.int32(t), vals))
            except Exception:  # noqa: BLE001 - any failure of this trial names it
                return f"at grid point {points[i]}, trial {t}"
    return f"in trials {start}-{stop - 1} of the grid points {[points[i] for i in idx]}"


def _over_trials(over_points: Callable, mesh: Mesh) -> Callable:
    """`over_points` for a chunk of trial ids sharded over the mesh: `vmap`-ed, except on
    several CPU devices, where each device runs its trials one after another (`lax.map`).

    Under jaxlib 0.9.2 XLA:CPU deadlocked, all threads asleep, when emulated CPU devices ran
    batched LAPACK calls (two batched SVDs in one program suffice) at the same time: jaxlib
    0.9.1-0.11.1 run a batched SVD as tasks on the one shared intra-op pool and block on them
    (`bridge_jax._compat`; excluded by the package's requirements). Unbatched calls do not
    block; the CPU devices share the cores anyway, so `lax.map` costs little and is kept.
    """
    over_trials = jax.vmap(over_points, in_axes=(0, None))
    if mesh.devices.size == 1 or mesh.devices.flat[0].platform != "cpu":
        return jax.jit(over_trials)
    spec = PartitionSpec("trials")

    def per_device(ids, values):
        return jax.lax.map(lambda t: over_points(t, values), ids)

    return jax.jit(
        jax.shard_map(
            per_device,
            mesh=mesh,
            in_specs=(spec, PartitionSpec()),
            out_specs=spec,
            check_vma=False,  # the trial code has conds whose branches differ in this type
        )
    )


def run_sweep(
    trial_fn: Callable,
    grid: Mapping[str, Sequence],
    *,
    shape_params: Sequence[str] = (),
    trials: int,
    seed: int = 0,
    out: str | None = None,
    chunk_trials: int | None = None,
    bytes_per_trial: Callable[[dict], float] | None = None,
    devices=None,
    progress: Callable[[int, int, str], None] | None = None,
    stale: str = "raise",
) -> dict:
    r"""Run `trial_fn` over every grid point and trial; return per-point, per-trial metrics.

    **Arguments:**
    - `trial_fn(key, values, **shape) -> dict[str, scalar]`: ONE trial at ONE grid point.
      `values` maps each value parameter to a scalar array (traced, batched by `vmap`); the
      shape parameters arrive as Python values (static).
    - `grid`: parameter name -> list of values; `shape_params`: the names that change shapes.
    - `trials`, `seed`: trial `t` uses `jax.random.fold_in(jax.random.key(seed), t)`.
    - `out`: folder for resumable chunk files (None: keep nothing). A chunk saved there is
      reused only by a sweep with the same grid, shape parameters, seed and code: the code is
      all of `bridge_jax` (`bridge_jax.store.code_digest`) plus `trial_fn`'s qualified name
      and, when Python can find it (`inspect.getsource`), its own source (not that of the
      functions it calls outside bridge_jax). A `trial_fn` whose source cannot be found (typed
      at a prompt, built at run time) is identified by its name only: after changing it, or
      what it calls, use another `out`. Each chunk's digest also holds its own group and
      trials, so a chunk file under another chunk's name is never read as that chunk.
    - `stale`: what a chunk saved by another sweep (another grid, seed or code) does:
      `"raise"` (default) a `SweepError`; `"recompute"`: it is computed again and replaced
      (the progress line says so).
    - `chunk_trials`: trials per chunk (rounded up to a multiple of the device count); by
      default from `bytes_per_trial(shape)` and the device memory (see `auto_chunk`).
    - `devices`: the devices to shard trials over (default: all).
    - `progress(done, total, message)`: called after every chunk (computed or loaded) with
      the chunks done so far, their total and a one-line status; the library prints nothing.

    **Returns:** `{"points": [...], "metrics": {name: array (points, trials)}, "groups": n}`.
    """
    trials = check.positive_int("trials", trials)
    check.one_of("stale", stale, ("raise", "recompute"))
    points = grid_points(grid)
    unknown = [p for p in shape_params if p not in grid]
    if unknown:
        raise SweepError(f"shape_params {unknown} are not in the grid ({', '.join(grid)}).")
    value_names = [p for p in grid if p not in shape_params]
    for name in value_names:
        for v in grid[name]:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise SweepError(
                    f"{name} = {v!r}: value parameters must be numbers; list parameters that "
                    f"change shapes in shape_params."
                )
    host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    _check_host_memory(1, len(points), trials, host)  # again with all metrics, once known
    mesh = _mesh(devices)
    ndev = mesh.devices.size
    seed = check.seed("seed", seed)
    digest = _digest(trial_fn, shape_params, points, seed)
    base = jr.key(seed)

    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(points):
        groups.setdefault(tuple(p[s] for s in shape_params), []).append(i)

    plan = []
    for g_index, (shape_values, idx) in enumerate(groups.items()):
        shape = dict(zip(shape_params, shape_values, strict=True))
        if chunk_trials is None:
            per_trial = len(idx) * (bytes_per_trial(shape) if bytes_per_trial else 1e6)
            chunk = _agree(auto_chunk(per_trial, ndev))  # device memory may differ by host
        else:
            chunk = check.positive_int("chunk_trials", chunk_trials)
        chunk = math.ceil(min(chunk, trials) / ndev) * ndev
        starts = list(range(0, trials, chunk))
        plan.append((g_index, shape, idx, chunk, starts))
    total = sum(len(p[4]) for p in plan)

    results: dict[str, np.ndarray] = {}
    done, computed, t0 = 0, 0, time.perf_counter()
    if out is not None:
        os.makedirs(os.path.join(out, "chunks"), exist_ok=True)
    replicated = NamedSharding(mesh, PartitionSpec())
    for g_index, shape, idx, chunk, starts in plan:
        values = {}
        for name in value_names:
            v = np.asarray([points[i][name] for i in idx], dtype=jnp.result_type(float))
            # A global (replicated) array: on several hosts jit takes only global arrays.
            values[name] = jax.make_array_from_callback(v.shape, replicated, v.__getitem__)

        def one_point(trial, vals, shape=shape):
            return trial_fn(jr.fold_in(base, trial), vals, **shape)

        _check_metrics(one_point, value_names, shape)
        over_points = jax.vmap(one_point, in_axes=(None, 0))
        over_trials = _over_trials(over_points, mesh)
        sharding = NamedSharding(mesh, PartitionSpec("trials"))
        checked = False
        for start in starts:
            stop = min(start + chunk, trials)
            path = None
            if out is not None:
                path = os.path.join(out, "chunks", f"g{g_index:03d}-t{start:07d}-{stop:07d}.npz")
            chunk_digest = store.digest(
                {"group": g_index, "start": start, "stop": stop}, digest, code=False
            )
            arrays = None if path is None else _load_chunk(path, chunk_digest, stale)
            replacing = arrays is None and path is not None and os.path.lexists(path)
            if path is not None and not _all(arrays is not None):
                arrays = None  # reuse a saved chunk only where every process can read it
            if arrays is not None:
                status = "loaded"
            else:
                # Pad the chunk to a multiple of the device count; padded trials are dropped.
                ids = np.arange(start, start + math.ceil((stop - start) / ndev) * ndev)
                ids = ids.astype(np.int32)
                # Built from a callback so that, on several hosts, each process supplies only
                # the trial indices of its own devices.
                trial_ids = jax.make_array_from_callback(ids.shape, sharding, ids.__getitem__)
                if not checked:  # compile first (a later call reuses it) and check the size
                    if progress is not None:
                        progress(
                            done,
                            total,
                            f"group {g_index + 1}/{len(plan)} ({shape}): compiling and running "
                            f"its first chunk ({len(ids)} trial{'s' if len(ids) > 1 else ''})",
                        )
                    need = memory_needed(over_trials.lower(trial_ids, values).compile())
                    limit = device_memory()
                    if not _all(need <= limit):  # every process takes the same branch
                        advice = (
                            f"pass chunk_trials={ndev} (one trial per device)"
                            if len(ids) > ndev
                            else "use smaller shapes (n, m, signals, k)"
                        )
                        raise SweepError(
                            f"the sweep's group {shape} needs about {_gib(need)} per device "
                            f"for a chunk of {len(ids)} trials x {len(idx)} points (XLA's "
                            f"estimate), more than the {_gib(limit)} of a device; {advice}."
                        )
                    checked = True
                try:
                    # A failed run-time check is re-raised below as one line naming the grid
                    # point; JAX's own log of the callback's traceback would only repeat it.
                    with _quiet_callback_log():
                        out_tree = over_trials(trial_ids, values)
                        arrays = {
                            k: _gather(v)[: stop - start].T for k, v in out_tree.items()
                        }  # (points in group, trials in chunk)
                except jax.errors.JaxRuntimeError as e:
                    cause = _runtime_cause(e)
                    if cause is None:
                        raise
                    with _quiet_callback_log():
                        where = _failing_point(one_point, points, idx, value_names, start, stop)
                    raise SweepError(f"the trial function failed {where}: {cause}") from None
                if path is not None and jax.process_index() == 0:
                    store.save_result(
                        path, arrays, fmt=_FORMAT, digest=chunk_digest, start=start, stop=stop
                    )
                computed += 1
                status = "computed: the saved one was another sweep's" if replacing else "computed"
            if not results:
                _check_host_memory(len(arrays), len(points), trials, host)
            for k, v in arrays.items():
                results.setdefault(k, np.full((len(points), trials), np.nan))[idx, start:stop] = v
            done += 1
            if progress is not None:
                elapsed = time.perf_counter() - t0
                eta = elapsed / computed * (total - done) if computed else 0.0
                progress(
                    done,
                    total,
                    f"chunk {done}/{total} ({status}; group {g_index + 1}/{len(plan)}, "
                    f"trials {start}-{stop - 1}) {elapsed:6.1f}s elapsed, ~{eta:5.0f}s left",
                )
    return {"points": points, "metrics": results, "groups": len(plan), "digest": digest}
