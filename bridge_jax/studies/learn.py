"""Beyond the paper: learned step sizes and learned augmentations.

Runs bridge_jax/studies/learn_steps.py and bridge_jax/studies/learn_augment.py, writes
DIR/learn.json, DIR/figures/learn_*.png, and a "Beyond the paper" section in DIR/report.md (added
to the reproduction report when one is there, replacing an earlier version of the section).
"""

from __future__ import annotations

import os
import time

from bridge_jax import store
from bridge_jax.studies._config import LearnConfig
from bridge_jax.studies._report import fmt, write_section
from bridge_jax.studies._runner import (
    add_config_arguments,
    config_from_args,
    make_figures,
    run_experiments,
)

NAMES = ("learn_steps", "learn_augment")
FORMAT = "bridge_jax.learn/1"
BEGIN, END = "<!-- beyond-the-paper:begin -->", "<!-- beyond-the-paper:end -->"


def _section(metrics: dict, figures: list[str], out: str, elapsed: float) -> str:
    lines = [
        BEGIN,
        "## Beyond the paper: learned step sizes and augmentations",
        "",
        "Mean over held-out trials with 95% t-interval; see bridge_jax/studies/learn_steps.py and "
        "bridge_jax/studies/learn_augment.py for every definition.",
        "",
        "| metric | ours: mean [95% CI] | null | definition |",
        "|---|---|---|---|",
    ]
    for name, m in metrics.items():
        ci = f"{fmt(m['mean'])} [{fmt(m['ci95'][0])}, {fmt(m['ci95'][1])}]"
        lines.append(f"| `{name}` | {ci} | {fmt(m.get('null'))} | {m['definition']} |")
    lines.append("")
    for path in figures:
        lines += [f"![{os.path.basename(path)}]({os.path.relpath(path, out)})", ""]
    lines += [f"Run time: {elapsed:.0f} s.", END]
    return "\n".join(lines)


def learn(config: LearnConfig, out: str, *, fresh: bool = False) -> dict:
    t0 = time.perf_counter()
    run = run_experiments(config, out, names=NAMES, fresh=fresh)
    metrics, curves = {}, {}
    for name, result in run["results"].items():
        metrics.update(result["metrics"])
        curves[name] = result["curves"]
    results = {"format": FORMAT, "config": config.as_dict(), "metrics": metrics, "curves": curves}
    store.write_json(os.path.join(out, "learn.json"), results)
    figures = make_figures(run["results"], out)
    write_section(out, _section(metrics, figures, out, time.perf_counter() - t0), BEGIN, END)
    return results


def add_arguments(parser) -> None:
    add_config_arguments(parser)


def run_from_args(args) -> int:
    config = config_from_args(args, LearnConfig)
    results = learn(config, args.out, fresh=args.fresh)
    print(
        f"wrote {os.path.join(args.out, 'learn.json')} and the 'Beyond the paper' section of "
        f"{os.path.join(args.out, 'report.md')}"
    )
    for key in (
        "steps.default_mse",
        "steps.chebyshev_mse",
        "steps.learned_supervised_mse",
        "steps.learned_selfsupervised_mse",
        "steps.equivalent_plain_iterations",
        "augment.alignment_before",
        "augment.alignment_after",
        "augment.alignment_null",
    ):
        m = results["metrics"][key]
        print(f"  {key:<36} {fmt(m['mean'])} [{fmt(m['ci95'][0])}, {fmt(m['ci95'][1])}]")
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.learn") -> int:
    from bridge_jax.studies import main as run_study

    return run_study("learn", argv, prog)


if __name__ == "__main__":
    raise SystemExit(main())
