"""Sweeps of the paper's pipeline over a grid: `bridge-jax sweep [CONFIG.toml]`.

Question: how do the paper's quantities (Landweber and SSRL-initialised reconstruction error,
the masking gap) move with the noise level, masking ratio, step size, augmentation strength,
and the problem sizes m, n, s, N, K, T, over many trials?

One trial at one grid point (`paper_trial`): a Gaussian A (m x n, N(0, 1/m)), N s-sparse
signals, y = Ax + sigma e; T Landweber steps of step_scale / ||A||^2 from zero (the closed-form
`landweber_spectral`, exact for this linear A) and from the SSRL mean (K views Q_k u + noise of
u = A^+ y, Q_k rotations of RMS angle `angle`); the pseudoinverse; and the masking pair at
ratio mask_ratio (one random mask per signal): physics-aware zero fill against filling hidden
entries with the visible mean, MSE over all entries. Metrics are means over the N signals.

Configuration (TOML; every key optional):

    trials = 20          # trials per grid point
    seed = 42
    chunk_trials = 0     # 0: chosen from the problem size and device memory
    [fixed]              # scalars for parameters not swept
    n = 64
    [grid]               # lists: the Cartesian product is swept
    sigma = [0.01, 0.1, 1.0]
    n = [64, 128]

Shape parameters (compiled once per combination): n, m, s, signals, k, num_steps. Value
parameters (batched with vmap in one program): sigma, mask_ratio, step_scale, angle, aug_noise.
`--set NAME=V1,V2,...` adds or replaces a grid entry from the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax import SweepError, run_sweep, store, summarize
from bridge_jax.studies._config import number, positive_int, seed_value
from bridge_jax.studies._runner import UserError, check_writable, write_timing

FORMAT = "bridge_jax.sweep/1"
SHAPE = {"n": 64, "m": 32, "s": 8, "signals": 500, "k": 10, "num_steps": 100}
VALUE = {"sigma": 0.1, "mask_ratio": 0.5, "step_scale": 1.0, "angle": 0.1, "aug_noise": 0.1}


def paper_trial(key, v, *, n, m, s, signals, k, num_steps):
    """One trial of the paper's pipeline at one grid point (see the module docstring)."""
    # (The third key, once the noise's, is unused: the others keep their streams.)
    k_op, k_x, _, k_rot, k_view, k_mask = jr.split(key, 6)
    op = bj.GaussianSensing(n, m, key=k_op)
    problem = bj.Problem(bj.SparseSource(n, s), op, bj.GaussianNoise(v["sigma"]))
    x, _, y = problem.sample_many(signals, key=k_x)
    svd = bj.operator_svd(op)
    tau = v["step_scale"] / svd.s[0] ** 2
    u = y @ jnp.linalg.pinv(op.matrix).T

    def solve(x0):
        def one(yi, x0i):
            # step_scale was checked in (0, 2) with the configuration, so tau > 0: no run-time
            # check, and so no host callback that would keep the program out of the cache.
            return bj.landweber_spectral(
                op, yi, x0=x0i, step_size=tau, num_steps=num_steps, svd=svd, throw=False
            )[0]

        return jax.vmap(one)(y, x0)

    rotations = jax.vmap(lambda kk: bj.random_rotation(n, v["angle"], key=kk))(jr.split(k_rot, k))
    views = bj.ViewBank.from_transforms(rotations, sigma=v["aug_noise"]).views(u, key=k_view)
    visible = jax.vmap(lambda kk: bj.random_mask(n, v["mask_ratio"], key=kk))(
        jr.split(k_mask, signals)
    )
    zero_fill = jnp.where(visible, x, 0.0)
    fill = jnp.sum(zero_fill, axis=1, keepdims=True) / jnp.maximum(
        jnp.sum(visible, axis=1, keepdims=True), 1
    )
    mean_fill = jnp.where(visible, x, fill)

    def mse(est):
        return jnp.mean((est - x) ** 2)

    return {
        "landweber_mse": mse(solve(jnp.zeros_like(x))),
        "ssrl_init_mse": mse(solve(views.mean(axis=1))),
        "pinv_mse": mse(u),
        "masking_physics_mse": mse(zero_fill),
        "masking_meanfill_mse": mse(mean_fill),
    }


def bytes_per_trial(shape: dict) -> float:
    """A generous estimate of one trial's working memory (float32), for the chunk size."""
    n, m, N, K = shape["n"], shape["m"], shape["signals"], shape["k"]
    return 4.0 * (N * n * (K + 12) + K * n * n * 8 + m * n * 4 + n * n * 4)


# The rules of the study configurations (one validation path), per grid parameter.
RULES = {
    **dict.fromkeys(SHAPE, positive_int),
    **dict.fromkeys(("sigma", "angle", "aug_noise"), number(0)),
    "mask_ratio": number(0, 1, high_open=True),
    "step_scale": number(0, 2, low_open=True, high_open=True),
}


def _check_point(p: dict) -> None:
    for name, rule in RULES.items():
        problem = rule(p[name])
        if problem:
            if name == "step_scale":
                problem += " (Landweber converges for tau < 2/||A||^2)"
            raise UserError(f"{name} {problem}.")
    if p["m"] > p["n"] or p["s"] > p["n"]:
        raise UserError(f"need m <= n and s <= n, got m={p['m']}, s={p['s']}, n={p['n']}.")


def load_config(path: str | None, sets: list[str]) -> dict:
    """The sweep configuration from a TOML file and `--set` options, validated."""
    raw: dict = {}
    if path is not None:
        try:
            with open(path, "rb") as f:
                raw = tomllib.load(f)
        except OSError as e:
            raise UserError(f"cannot read {path}: {e.strerror or e}.") from e
        except tomllib.TOMLDecodeError as e:
            raise UserError(f"{path} is not valid TOML: {e}.") from e
        except UnicodeDecodeError as e:
            raise UserError(f"{path} is not a TOML file (not UTF-8 text: {e.reason}).") from e
    allowed = {"trials", "seed", "chunk_trials", "fixed", "grid"}
    extra = set(raw) - allowed
    if extra:
        raise UserError(f"unknown keys {sorted(extra)} in the config; allowed: {sorted(allowed)}.")
    for table in ("fixed", "grid"):
        if not isinstance(raw.get(table, {}), dict):
            raise UserError(
                f"{table} must be a table ([{table}] with one name = value per line), got "
                f"{raw[table]!r}."
            )
    fixed, grid = dict(raw.get("fixed", {})), dict(raw.get("grid", {}))
    for item in sets:
        if "=" not in item:
            raise UserError(f"--set takes NAME=V1,V2,..., got {item!r}.")
        name, values = item.split("=", 1)
        try:
            grid[name.strip()] = [json.loads(v) for v in values.split(",")]
        except json.JSONDecodeError as e:
            raise UserError(f"--set {item!r}: values must be numbers ({e}).") from e
    known = set(SHAPE) | set(VALUE)
    for table, entries in (("fixed", fixed), ("grid", grid)):
        bad = set(entries) - known
        if bad:
            raise UserError(
                f"unknown parameters {sorted(bad)} in [{table}]; allowed: {sorted(known)}."
            )
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise UserError(f"grid.{name} must be a non-empty list, got {values!r}.")
    params = {**SHAPE, **VALUE, **fixed}
    full_grid = {name: grid.get(name, [params[name]]) for name in (*SHAPE, *VALUE)}
    for point in bj.grid_points(full_grid):
        _check_point(point)
    trials = raw.get("trials", 20)
    seed = raw.get("seed", 42)
    chunk = raw.get("chunk_trials", 0)
    for name, value, rule in (
        ("trials", trials, positive_int),
        ("seed", seed, seed_value),
        ("chunk_trials", chunk, lambda v: positive_int(v) if v != 0 else None),
    ):
        problem = rule(value)
        if problem:
            raise UserError(f"{name} {problem}.")
    return {"trials": trials, "seed": seed, "chunk_trials": chunk, "grid": full_grid}


def _print_chunk(done: int, total: int, message: str) -> None:
    print(f"  sweep: {message}", file=sys.stderr, flush=True)


def sweep(config: dict, out: str, *, chunk_trials: int | None = None, progress=True) -> dict:
    """Run the sweep and write DIR/sweep.json (per-point summaries over trials)."""
    check_writable(out)
    t0 = time.perf_counter()
    chunk = chunk_trials or config["chunk_trials"] or None
    try:
        raw = run_sweep(
            paper_trial,
            config["grid"],
            shape_params=tuple(SHAPE),
            trials=config["trials"],
            seed=config["seed"],
            out=out,
            chunk_trials=chunk,
            bytes_per_trial=bytes_per_trial,
            progress=_print_chunk if progress else None,
            stale="recompute",  # every command's rule for a folder of another configuration
        )
    except SweepError as e:
        raise UserError(str(e)) from e
    points = []
    for i, p in enumerate(raw["points"]):
        metrics = {k: summarize(v[i]) for k, v in raw["metrics"].items()}
        points.append({"params": p, "metrics": metrics})
    result = {
        "format": FORMAT,
        "config": config,
        "devices": [str(d) for d in jax.devices()],
        "compiled_groups": raw["groups"],
        "points": points,
        "per_trial": {k: np.asarray(v).tolist() for k, v in raw["metrics"].items()},
    }
    seconds = time.perf_counter() - t0
    if jax.process_index() == 0:  # every process has the whole result; one writes it
        store.write_json(os.path.join(out, "sweep.json"), result)
        write_timing(out, "sweep", seconds)
    return {**result, "seconds": seconds}


def start_distributed(coordinator=None, num_processes=None, process_id=None) -> None:
    """`jax.distributed.initialize` (None: from the cluster environment); its complaints about
    missing settings become one-line errors."""
    try:
        jax.distributed.initialize(coordinator, num_processes, process_id)
    except (ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"--distributed: {first}") from e


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML file (see the docstring); optional")
    parser.add_argument("--out", default="results-sweep", help="output folder")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="add or replace a grid entry (repeatable; default: the grid of the TOML file)",
    )
    parser.add_argument("--chunk", type=int, help="trials per chunk (default: from memory)")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="several hosts, one process each, all running the same command: call "
        "jax.distributed.initialize() first (settings from the cluster environment, e.g. "
        "SLURM or Open MPI, or from the three options below); --out must be a shared folder",
    )
    parser.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help="with --distributed: process 0's address (default: from the cluster environment)",
    )
    parser.add_argument(
        "--num-processes",
        type=int,
        help="with --distributed: how many (default: from the cluster environment)",
    )
    parser.add_argument(
        "--process-id",
        type=int,
        help="with --distributed: this one's, from 0 (default: from the cluster environment)",
    )


def run_from_args(args) -> int:
    if args.chunk is not None and args.chunk < 1:
        raise UserError(f"--chunk must be >= 1, got {args.chunk}.")
    config = load_config(args.config, args.set)
    if args.distributed:
        start_distributed(args.coordinator, args.num_processes, args.process_id)
    elif (args.coordinator, args.num_processes, args.process_id) != (None, None, None):
        raise UserError("--coordinator, --num-processes and --process-id need --distributed.")
    result = sweep(config, args.out, chunk_trials=args.chunk)
    if jax.process_index() != 0:
        return 0
    print(
        f"wrote {os.path.join(args.out, 'sweep.json')}: {len(result['points'])} grid points x "
        f"{config['trials']} trials, {result['compiled_groups']} compiled shape groups, "
        f"{result['seconds']:.1f}s",
        file=sys.stderr,
    )
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.sweep") -> int:
    from bridge_jax.studies import main as run_study

    return run_study("sweep", argv, prog)


if __name__ == "__main__":
    raise SystemExit(main())
