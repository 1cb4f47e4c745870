"""Running the study: every (setting, method) unit saved as it finishes and resumed, the
summary, figures and report, and the command line."""

from __future__ import annotations

import dataclasses
import os
import sys
import time

import equinox as eqx
import jax
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax import store
from bridge_jax.studies._common import name_key, output_folder, to_numpy
from bridge_jax.studies._config import MethodsConfig
from bridge_jax.studies._report import fmt, write_section
from bridge_jax.studies._runner import (
    add_config_arguments,
    check_no_links,
    check_writable,
    config_from_args,
    load_or_compute,
    progress_printer,
)
from bridge_jax.studies._runner import unit_digest as _unit_digest
from bridge_jax.studies.methods.config import (
    AXES,
    BASELINES,
    BEGIN,
    END,
    FORMAT,
    STREAM,
    UNIT_FORMAT,
    settings,
)
from bridge_jax.studies.methods.plot import plot, section
from bridge_jax.studies.methods.summary import summarise
from bridge_jax.studies.methods.trial import (
    baselines,
    evaluate,
    evaluation_draws,
    make_trial,
    train,
)


def unit_digest(config: MethodsConfig, setting: str, name: str) -> str:
    """Identifies one saved unit: the configuration, the unit's (setting, method) and all of
    the package's code (the library and the studies: any change to them computes it again)."""
    return _unit_digest(config, "methods", setting=setting, method=name)


# The evaluation's random draws in one program per problem shape, shared by every method; each
# method's own evaluation program then has no random-number code.
@eqx.filter_jit
def _draws(c: MethodsConfig, test, keys):
    return eqx.filter_vmap(lambda b, k: evaluation_draws(b, k, c))(test, keys)


@eqx.filter_jit
def _evaluate(c: MethodsConfig, trained, train, test, draws):
    return eqx.filter_vmap(lambda m, a, b, d: evaluate(m, a, b, d, c))(trained, train, test, draws)


def _curve(losses, trials: int, points: int = 100) -> list[float]:
    per_trial = np.asarray(losses) / trials
    idx = np.unique(np.linspace(0, len(per_trial) - 1, min(points, len(per_trial))).astype(int))
    return [[int(i), float(per_trial[i])] for i in idx]


def run_units(c: MethodsConfig, out: str, *, fresh: bool = False) -> dict:
    """Train and evaluate every (setting, method); each is saved as it finishes."""
    unit_dir = os.path.join(out, "methods")
    grid = settings(c)
    total = len(grid) * (len(c.methods) + 1)
    units: dict[str, dict] = {}
    printer = progress_printer(total)
    index = 0

    for label, kind, value in grid:
        # From the setting's label (not its place in the grid): reordering or adding noise
        # levels or ratios changes no other setting's draws.
        key = name_key(jr.fold_in(jr.key(c.seed), STREAM), label)
        trial_keys = jr.split(jr.fold_in(key, 0), c.trials)
        data = []  # the setting's trials, drawn once when a unit first needs them

        def trials(kind=kind, value=value, trial_keys=trial_keys, data=data):
            if not data:
                make = jax.vmap(lambda k: make_trial(k, kind, value, c))
                data.append(jax.jit(make)(trial_keys))
            return data[0]

        for name in ("baselines",) + tuple(c.methods):
            digest = unit_digest(c, label, name)

            def compute(name=name, key=key, digest=digest, label=label, trials=trials):
                d, t0 = trials(), time.perf_counter()
                if name == "baselines":
                    run = jax.jit(jax.vmap(lambda a, b: baselines(a, b, c)))
                    result = to_numpy(run(d["train"], d["test"]))
                    result = {k: v.tolist() for k, v in result.items()}
                else:
                    ckpt = os.path.join(unit_dir, "checkpoints", f"{label}__{name}__{digest}.eqx")
                    # From the method's name (not its position in bj.METHODS), in a stream
                    # apart from the data's (0).
                    mkey = name_key(jr.fold_in(key, 1), name)
                    trained, losses = train(name, d, c, mkey, None if fresh else ckpt)
                    draws = _draws(c, d["test"], jr.split(jr.fold_in(mkey, 9), c.trials))
                    scores = _evaluate(c, trained, d["train"], d["test"], draws)
                    result = {k: np.asarray(v).tolist() for k, v in scores.items()}
                    result["learning_curve"] = _curve(losses, c.trials)
                    if os.path.exists(ckpt):
                        os.remove(ckpt)
                result["seconds"] = time.perf_counter() - t0
                return result

            index += 1
            units[f"{label}/{name}"] = load_or_compute(
                os.path.join(unit_dir, f"{label}__{name}.json"),
                digest,
                compute,
                fmt=UNIT_FORMAT,
                writer="bridge-jax methods",
                required=BASELINES if name == "baselines" else ("mse", *AXES, "learning_curve"),
                say=lambda status, i=index, what=f"{label} {name}": printer(i, what, status),
                fresh=fresh,
            )
    return units


def methods(config: MethodsConfig, out: str, *, fresh: bool = False) -> dict:
    """Run the study and write DIR/methods.json, DIR/figures/methods_*.png and the report
    (DIR/digits/... for `--data digits`)."""
    t0 = time.perf_counter()
    config.validate()
    check_no_links(out)  # DIR/VARIANT itself included
    out = output_folder(config, out)
    check_writable(out)
    units = run_units(config, out, fresh=fresh)
    result = {"format": FORMAT, "config": config.as_dict(), **summarise(units, config)}
    store.write_json(os.path.join(out, "methods.json"), result)
    figures = plot(result, os.path.join(out, "figures"))
    write_section(out, section(result, figures, out, time.perf_counter() - t0), BEGIN, END)
    return result


def add_arguments(parser) -> None:
    add_config_arguments(parser, data_options=True)
    parser.add_argument(
        "--methods",
        help=f"comma-separated subset of {','.join(bj.METHODS)} (default: the paper's eight "
        "and supervised; moi needs one operator per signal: the inpainting settings)",
    )
    parser.add_argument("--steps", type=int, help="Adam steps per method (default 300)")


def run_from_args(args) -> int:
    config = config_from_args(args, MethodsConfig)
    overrides = {}
    if args.methods is not None:
        overrides["methods"] = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    if args.steps is not None:
        overrides["train_steps"] = args.steps
    if overrides:
        config = dataclasses.replace(config, **overrides).validate()
    result = methods(config, args.out, fresh=args.fresh)
    print(f"wrote {os.path.join(output_folder(config, args.out), 'methods.json')}", file=sys.stderr)
    for name, entry in result["methods"].items():
        cells = "  ".join(f"{fmt(entry['mse'][lab]['mean'], 3)}" for lab in result["settings"])
        print(f"  {name:<14} {cells}")
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.methods") -> int:
    from bridge_jax.studies import main as run_study

    return run_study("methods", argv, prog)
