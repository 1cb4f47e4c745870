"""Units (one (data, field, m/n) with all trials, noise levels and inits in one compiled
program), saved as they finish and resumed; the command line."""

from __future__ import annotations

import functools
import os
import sys
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax import store, summarize_success
from bridge_jax.studies._common import digits_array, name_key
from bridge_jax.studies._report import write_section
from bridge_jax.studies._runner import (
    check_writable,
    load_or_compute,
    progress_printer,
    require_scikit_learn,
    study_config,
    write_timing,
)
from bridge_jax.studies._runner import unit_digest as _unit_digest
from bridge_jax.studies.phase.config import (
    BEGIN,
    DATA,
    END,
    FORMAT,
    INITS,
    UNIT_FORMAT,
    PhaseConfig,
)
from bridge_jax.studies.phase.plot import plot, section
from bridge_jax.studies.phase.trial import one_trial, training_subspace, view_transforms


def signals(c: PhaseConfig, data: str):
    """(trials test signals, train_signals training signals) for `data`, fixed by the seed:
    from the data's source (digits without replacement, so the two sets are disjoint)."""
    k_test, k_train = jr.split(name_key(jr.key(c.seed), data))
    if data == "sparse":
        source = bj.SparseSource(c.n, c.s)
        return source.draw(c.trials, key=k_test), source.draw(c.train_signals, key=k_train)
    drawn = bj.DatasetSource(digits_array(), replace=False).draw(
        c.train_signals + c.trials, key=k_test
    )
    return drawn[c.train_signals :], drawn[: c.train_signals]


# Every trial's view transforms, in a program compiled once per (configuration, data): the
# program does not depend on m or the field, and compiling it into each unit's program cost
# ~1 s a unit.
_trial_transforms = jax.jit(
    jax.vmap(view_transforms, in_axes=(None, None, 0)), static_argnums=(0, 1)
)


# One unit's trials, one after another (`lax.map`): each trial's amplitude flows stop when
# all of its signals have stopped moving (`stop_tol`), where a `vmap` over trials would run
# every trial until the slowest had stopped (at m/n = 2-8, 1.5-12x less time on the 2-core CPU).
# The data set's training subspace is an input, not a constant, so the
# sparse and digits units of one (field, m) compile to the same program (the second comes
# from the persistent compilation cache): `data` only picks the view transforms, which come
# in computed.
@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _unit_errors(c: PhaseConfig, data: str, field: str, m: int, test, keys, transforms, subspace):
    def trial(x, k, t):
        return one_trial(c, data, field, m, x, subspace, k, t)

    # (trials, noise levels, inits)
    return jax.lax.map(lambda a: trial(*a), (test, keys, transforms))


def unit_keys(c: PhaseConfig, data: str, field: str, m: int):
    """(the training subspace's key, one key per trial) of the unit (data, field, m): from the
    names of the data and the field (not their places in DATA and FIELDS), so a unit's draws
    do not depend on which other units exist or their order."""
    base = name_key(jr.fold_in(jr.key(c.seed), 1000), data)
    unit = jr.fold_in(name_key(jr.fold_in(base, 2), field), m)
    return jr.fold_in(base, 1), jax.vmap(lambda t: jr.fold_in(unit, t))(jnp.arange(c.trials))


def run_unit(c: PhaseConfig, data: str, field: str, ratio: float) -> dict:
    m = int(round(ratio * c.n))
    test, train = signals(c, data)
    k_subspace, keys = unit_keys(c, data, field, m)
    subspace = training_subspace(c, data, train, k_subspace)
    transforms = _trial_transforms(c, data, keys)
    errors = np.asarray(
        _unit_errors(c, data, field, m, test, keys, transforms, subspace), np.float64
    )
    return {"m": m, "errors": errors.tolist()}


def unit_digest(c: PhaseConfig, data: str, field: str, ratio: float) -> str:
    """Identifies one saved unit: the configuration, the unit's (data, field, m/n) and all
    of the package's code."""
    return _unit_digest(c, "phase", data=data, field=field, m_over_n=ratio)


def phase(config: PhaseConfig, out: str, *, fresh: bool = False) -> dict:
    """Run (or resume) every unit; write DIR/phase.json, DIR/figures/phase_*.png and a section
    of DIR/report.md."""
    c = config.validate()
    check_writable(out)
    t0 = time.perf_counter()
    units = [(d, f, r) for d in c.data for f in c.fields for r in c.ratios]
    say = progress_printer(len(units))
    records = []
    for i, (data, field, ratio) in enumerate(units, 1):
        label = f"{data}_{field}_{ratio:g}"
        path = os.path.join(out, "phase", f"{label}.json")
        unit = load_or_compute(
            path,
            unit_digest(c, data, field, ratio),
            functools.partial(run_unit, c, data, field, ratio),
            fmt=UNIT_FORMAT,
            writer="bridge-jax phase",
            required=("m", "errors"),
            say=lambda status, i=i, label=label: say(i, label, status),
            fresh=fresh,
        )
        errors = np.asarray(unit["errors"])
        for j, sigma in enumerate(c.noise_levels):
            for q, init in enumerate(INITS):
                err = errors[:, j, q]
                records.append(
                    {
                        "data": data,
                        "field": field,
                        "m_over_n": ratio,
                        "m": unit["m"],
                        "noise": sigma,
                        "init": init,
                        **summarize_success(err < c.threshold),
                        "median_error": float(np.median(err)),
                    }
                )
    result = {
        "format": FORMAT,
        "config": c.as_dict(),
        "definitions": {
            "success": f"relative error up to global sign/phase < {c.threshold:g} after "
            f"at most {c.num_steps} amplitude-flow steps (stopping after the first step with "
            f"||x_k+1 - x_k|| <= {c.stop_tol:g} ||x_k+1||); mean = success rate over trials, "
            "ci95 = 95% Wilson score interval",
            "noise": "y = |Ax|^2 + noise * ||x||^2 * e, e ~ N(0, I)",
            "inits": INITS,
        },
        "success": records,
    }
    store.write_json(os.path.join(out, "phase.json"), result)
    figures = plot(result, os.path.join(out, "figures"))
    elapsed = time.perf_counter() - t0
    write_timing(out, "phase", elapsed)
    write_section(out, section(result, figures, out, elapsed=elapsed), BEGIN, END)
    return result


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="results", help="output folder (default: results)")
    parser.add_argument("--trials", type=int, help="trials per cell (default 100)")
    parser.add_argument("--seed", type=int, help="random seed (default 42)")
    parser.add_argument("--steps", type=int, help="amplitude-flow steps (default 1000)")
    parser.add_argument(
        "--data",
        help=f"comma-separated subset of {','.join(DATA)} (default: both; digits need "
        "pip install 'bridge_jax[data]')",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny setting (smoke test)")
    parser.add_argument("--fresh", action="store_true", help="recompute saved units")


def run_from_args(args) -> int:
    overrides = {}
    if args.data is not None:
        overrides["data"] = tuple(d.strip() for d in args.data.split(",") if d.strip())
    flags = {"trials": "trials", "seed": "seed", "steps": "num_steps"}
    config = study_config(PhaseConfig, args, flags, **overrides)
    if "digits" in config.data:
        require_scikit_learn(", or pass --data sparse")
    phase(config, args.out, fresh=args.fresh)
    print(
        f"wrote {os.path.join(args.out, 'phase.json')} and a section of "
        f"{os.path.join(args.out, 'report.md')}",
        file=sys.stderr,
    )
    with open(os.path.join(args.out, "report.md")) as f:
        text = f.read()
    print(text.split(BEGIN, 1)[1].split("Success rate", 1)[0].strip())
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.phase") -> int:
    from bridge_jax.studies import main as run_study

    return run_study("phase", argv, prog)
