"""Where one training step of the `methods` study goes: XLA ops by kind, from JAX's profiler.

For each method, builds the study's batch of models for one setting (all trials), times
`eqx.filter_value_and_grad` of the study's training loss (median of `--repeat` steps after a
compiling one), then records `--profiled` steps with `jax.profiler` and sums the XLA ops'
durations by kind (`dot`, `sort`, `wrapped_broadcast`, `multiply_add_fusion`, ...: the op's
name without its numeric suffix). On a multi-core CPU ops overlap, so the kinds' times add up
to more than the step. Prints a markdown table per method and writes everything to `--out`.

    python -m benchmarks.profile_step [--methods simclr,noise2self] [--setting cs:0.01]
        [--quick] [--repeat 10] [--profiled 5] [--out FILE]
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import tempfile

from benchmarks._common import median_time, write_record

_NOT_OPS = re.compile(r"^\$|Thunk|Pjit|PjRt|SlinkyThreadPool|stop_trace|DevicePut")


def op_kinds(trace_events, steps: int) -> dict[str, dict]:
    """`{kind: {"ms_per_step", "ops"}}` from a Chrome trace's complete events ("ph": "X"):
    XLA ops summed by name without numeric suffix, Python frames and runtime events left
    out; ordered by time."""
    total: dict[str, float] = collections.defaultdict(float)
    names: dict[str, set] = collections.defaultdict(set)
    for event in trace_events:
        if event.get("ph") != "X" or "dur" not in event or _NOT_OPS.search(event["name"]):
            continue
        kind = re.sub(r"[.\d]+$", "", event["name"])
        total[kind] += event["dur"]
        names[kind].add(event["name"])
    order = sorted(total, key=total.get, reverse=True)
    return {k: {"ms_per_step": total[k] / 1e3 / steps, "ops": len(names[k])} for k in order}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="simclr,dino,noise2self,ssdu")
    parser.add_argument("--setting", default="cs:0.01", help="KIND:VALUE, e.g. inpaint:0.5")
    parser.add_argument("--quick", action="store_true", help="the study's --quick setting")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--profiled", type=int, default=5)
    parser.add_argument("--top", type=int, default=12, help="op kinds shown per method")
    parser.add_argument("--out", help="JSON file for the numbers (default: print only)")
    args = parser.parse_args(argv)

    import equinox as eqx
    import jax
    import jax.random as jr

    import bridge_jax as bj
    from bridge_jax.studies._config import MethodsConfig
    from bridge_jax.studies.methods.config import STREAM
    from bridge_jax.studies.methods.trial import init_methods, make_trial, step_functions

    bj.use_unrolled_threefry()
    c = MethodsConfig.quick() if args.quick else MethodsConfig()
    kind, value = args.setting.split(":")
    key = jr.fold_in(jr.fold_in(jr.key(c.seed), STREAM), 0)
    trial_keys = jr.split(jr.fold_in(key, 0), c.trials)
    data = jax.jit(jax.vmap(lambda k: make_trial(k, kind, float(value), c)))(trial_keys)
    step = eqx.filter_jit(eqx.filter_value_and_grad(step_functions(data, c)[0]))
    records = {}
    for name in args.methods.split(","):
        methods = init_methods(name, c, trial_keys, data["step"], data["train"].sigma)
        seconds, first = median_time(step, methods, jr.key(1), repeat=args.repeat)
        with tempfile.TemporaryDirectory() as trace_dir:
            jax.profiler.start_trace(trace_dir)
            for i in range(args.profiled):
                out = step(methods, jr.key(2 + i))
            jax.block_until_ready(out)
            jax.profiler.stop_trace()
            (path,) = glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True)
            with gzip.open(path) as f:
                kinds = op_kinds(json.load(f)["traceEvents"], args.profiled)
        records[name] = {"ms_per_step": 1e3 * seconds, "first_call_s": first, "kinds": kinds}
        print(f"\n{name}: {1e3 * seconds:.1f} ms per step (first call {first:.1f} s)\n")
        print("| op kind | ms per step | ops |")
        print("|---|---|---|")
        for k, v in list(kinds.items())[: args.top]:
            print(f"| {k} | {v['ms_per_step']:.2f} | {v['ops']} |")
    if args.out:
        write_record(args.out, args, methods=records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
