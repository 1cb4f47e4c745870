"""Reproduce the whole paper: five experiments, results.json, figures and report.md.

Question: which of the paper's headline numbers hold up when recomputed with stated definitions,
how much each depends on the reading of the text, and which differ from a null baseline?
Each experiment's docstring (bridge_jax/studies/fig*_*.py) states its definitions.

`--data digits` runs the same five experiments on the 8x8 digits of scikit-learn with real
image augmentations, `--operator inpainting|blur` with an image operator; those runs write the
same files into DIR/digits/ (DIR/digits-blur/, ...) and a comparison section into DIR/report.md.
"""

from __future__ import annotations

import os
import time

from bridge_jax import store
from bridge_jax.studies._common import output_folder
from bridge_jax.studies._report import write_report, write_variants_section
from bridge_jax.studies._runner import (
    add_config_arguments,
    check_no_links,
    config_from_args,
    make_figures,
    run_experiments,
)

RESULTS_FORMAT = "bridge_jax.results/1"


def reproduce(config, out: str, *, fresh: bool = False) -> dict:
    """Run everything and write DIR/results.json, DIR/figures/*.png and DIR/report.md.

    Other data or operators (`--data digits`, `--operator blur`) write the same files into
    DIR/VARIANT/ and a comparison section into DIR/report.md.
    """
    check_no_links(out)  # DIR/VARIANT itself included
    base, out = out, output_folder(config, out)
    t0 = time.perf_counter()
    run = run_experiments(config, out, fresh=fresh)
    metrics, curves = {}, {}
    for name, result in run["results"].items():
        metrics.update(result["metrics"])
        curves[name] = result["curves"]
    results = {
        "format": RESULTS_FORMAT,
        "config": config.as_dict(),
        "metrics": metrics,
        "curves": curves,
    }
    store.write_json(os.path.join(out, "results.json"), results)
    figures = make_figures(run["results"], out)
    elapsed = time.perf_counter() - t0
    write_report(results, figures, out, timings=run["timings"], elapsed=elapsed)
    write_variants_section(base)
    return results


def add_arguments(parser) -> None:
    add_config_arguments(parser, data_options=True)


def run_from_args(args) -> int:
    config = config_from_args(args)
    reproduce(config, args.out, fresh=args.fresh)
    out = output_folder(config, args.out)
    print(
        f"wrote {os.path.join(out, 'results.json')}, "
        f"{os.path.join(out, 'report.md')} and {os.path.join(out, 'figures')}/"
    )
    with open(os.path.join(out, "report.md")) as f:
        table = f.read().split("\n## ", 2)[1]
    print("\n## " + table.strip())
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.reproduce") -> int:
    from bridge_jax.studies import main as run_study

    return run_study("reproduce", argv, prog)


if __name__ == "__main__":
    raise SystemExit(main())
