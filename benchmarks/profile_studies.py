"""Where a study's time goes: compilation against running, experiment by experiment.

    python -m benchmarks.profile_studies reproduce [--quick] [--only fig2_masking] [--out DIR]
        [--cache DIR]
    python -m benchmarks.profile_studies learn [--quick] [--out DIR] [--cache DIR]
    python -m benchmarks.profile_studies [--cache DIR] command -- phase --quick --out DIR

Runs each experiment of `bridge-jax reproduce` (or `learn`) in this process (fresh, no saved
results), or any other command as one row, and
splits its wall time with JAX's own monitoring events: tracing (`jaxpr_trace_duration`),
lowering to StableHLO (`jaxpr_to_mlir_module_duration`) and XLA compilation
(`backend_compile_duration`, which includes loading a program from the persistent compilation
cache, `cache_retrieval_time_sec`, shown on its own as "cache load"; only with `--cache DIR`);
"run" is the rest (execution, transfers, Python). Without `--cache` there is no persistent
cache (a cold run); run the same command twice with one `--cache DIR` for a cold and then a
warm run.
"CPU s" is the process's CPU time over the experiment (all threads), a figure that moves less
than wall time on a shared machine.
Prints a markdown table and writes it, with the raw numbers, to DIR/profile.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time

import jax
import jax.monitoring

EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace_s",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower_s",
    "/jax/core/compile/backend_compile_duration": "compile_s",
    "/jax/compilation_cache/cache_retrieval_time_sec": "load_s",
}
_TOTALS = dict.fromkeys(EVENTS.values(), 0.0) | {"compilations": 0, "loaded": 0}


def _cpu() -> float:
    """This process's CPU seconds (user + system), all threads: less sensitive to a busy
    machine than wall time."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _listen(name, seconds, **kwargs):
    if name in EVENTS:
        _TOTALS[EVENTS[name]] += seconds
        _TOTALS["compilations"] += name.endswith("backend_compile_duration")
        _TOTALS["loaded"] += name.endswith("cache_retrieval_time_sec")


def _measure(name: str, work) -> dict:
    """Run `work()` and split its wall time with the monitoring events; one table row."""
    before = dict(_TOTALS)
    t0, c0 = time.perf_counter(), _cpu()
    work()
    wall = time.perf_counter() - t0
    row = {"experiment": name, "wall_s": wall, "cpu_s": _cpu() - c0}
    row |= {k: _TOTALS[k] - before[k] for k in _TOTALS}
    row["run_s"] = wall - sum(row[k] for k in ("trace_s", "lower_s", "compile_s"))
    print(_line(row), file=sys.stderr, flush=True)
    return row


def profile_experiments(study: str, quick: bool, only=None, out=None, **overrides) -> list[dict]:
    """`reproduce` or `learn`, one row per experiment (each fresh, in this process)."""
    from bridge_jax.studies._config import Config, LearnConfig
    from bridge_jax.studies._runner import EXPERIMENTS, run_experiments
    from bridge_jax.studies.learn import NAMES

    cls, names = (Config, EXPERIMENTS) if study == "reproduce" else (LearnConfig, NAMES)
    config = cls.quick(**overrides) if quick else cls(**overrides)
    out = out or tempfile.mkdtemp(prefix="profile-")
    return [
        _measure(name, lambda name=name: run_experiments(config, out, names=(name,), fresh=True))
        for name in only or names
    ]


def profile_command(argv: list[str]) -> list[dict]:
    """Any `bridge-jax` command (e.g. `phase --quick --out DIR`), in this process: one row."""
    from bridge_jax._cli import main as cli_main

    def work():
        if cli_main(argv) != 0:
            raise SystemExit(f"bridge-jax {' '.join(argv)} failed")

    return [_measure(" ".join(argv[:1]), work)]


def _line(r) -> str:
    return (
        f"| {r['experiment']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['trace_s']:.2f} | "
        f"{r['lower_s']:.2f} | {r['compile_s']:.2f} | {r['compilations']} | {r['load_s']:.2f} | "
        f"{r['loaded']} | {r['run_s']:.2f} |"
    )


def markdown(rows) -> str:
    head = (
        "| experiment | wall s | CPU s | trace s | lower s | XLA compile s | compilations | "
        "of which cache load s | loaded | run s |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    total = {"experiment": "**total**"} | {
        k: sum(r[k] for r in rows)
        for k in ("wall_s", "cpu_s", "trace_s", "lower_s", "compile_s", "compilations")
        + ("load_s", "loaded", "run_s")
    }
    return "\n".join([head, *map(_line, rows), _line(total)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_studies",
        epilog="Other commands: python -m benchmarks.profile_studies command -- phase --quick "
        "--out DIR (any bridge-jax command and its options, after --; one row).",
    )
    parser.add_argument("study", choices=("reproduce", "learn", "command"))
    parser.add_argument("argv", nargs="*", help="with `command`: the bridge-jax command line")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="comma-separated experiment names")
    parser.add_argument("--out", help="folder for the experiments' results and profile.json")
    parser.add_argument("--trials", type=int, help="fewer trials (trial t is the same trial)")
    parser.add_argument("--cache", help="persistent compilation cache folder (default: none)")
    args = parser.parse_args(argv)
    import bridge_jax as bj

    bj.use_unrolled_threefry()  # as the bridge-jax command runs the studies
    if args.cache:
        from bridge_jax.studies._runner import enable_compilation_cache

        enable_compilation_cache(args.cache)
    jax.monitoring.register_event_duration_secs_listener(_listen)
    if args.study == "command":
        if not args.argv:
            parser.error("command needs a bridge-jax command line after --")
        # The command's own --cache would replace ours; ours (or none) is what is measured.
        rows = profile_command([*args.argv, "--no-cache"] if not args.cache else args.argv)
    else:
        only = tuple(args.only.split(",")) if args.only else None
        overrides = {} if args.trials is None else {"trials": args.trials}
        rows = profile_experiments(args.study, args.quick, only, args.out, **overrides)
    table = markdown(rows)
    print(table)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "profile.json"), "w") as f:
            record = {"quick": args.quick, "cache": args.cache, "loadavg": os.getloadavg()}
            json.dump(record | {"argv": argv or sys.argv[1:], "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
