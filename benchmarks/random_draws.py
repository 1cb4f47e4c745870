"""Random draws on the CPU: JAX's rolled Threefry (its CPU default) against the unrolled one
(`bridge_jax.use_unrolled_threefry`), side by side in one run.

Each lowering runs in its own child process (the choice is global to a process); both time the
same programs on the same keys and report a checksum of what they drew, so the run also shows
whether the numbers are the same. Programs (vmapped over `--views` keys, median of `--repeat`
runs after a compiling call): the raw bits of a 64 x 64 generator per view, its normals, a
per-view rotation `bj.rotate` (the per-view readings and the SSRL methods) and `bj.random_mask`
of 32 entries (the split losses).

    python -m benchmarks.random_draws [--views 20000] [--repeat 5] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks._common import median_time, write_record


def child(lowering: str, views: int, repeat: int) -> dict:
    import hashlib

    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    import bridge_jax as bj

    if lowering == "unrolled":
        assert bj.use_unrolled_threefry()
    n = 64
    keys = jr.split(jr.key(0), views)
    x = jnp.ones(n)
    programs = {
        "bits (64 x 64 per view)": lambda k: jr.bits(k, (n, n)),
        "normal (64 x 64 per view)": lambda k: jr.normal(k, (n, n)),
        "rotate (one rotation per view)": lambda k: bj.rotate(x, 0.1, key=k),
        "random_mask (32 entries per view)": lambda k: bj.random_mask(32, 0.5, key=k),
    }
    rows = {}
    for name, one in programs.items():
        fn = jax.jit(jax.vmap(one))
        median, first = median_time(fn, keys, repeat=repeat)
        out = np.asarray(fn(keys))
        rows[name] = {
            "s": median,
            "first_call_s": first,
            "sha256": hashlib.sha256(out.tobytes()).hexdigest(),
        }
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", help="JSON file for the numbers (default: print only)")
    parser.add_argument("--child", choices=("rolled", "unrolled"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.views, args.repeat)))
        return 0
    results = {}
    for lowering in ("rolled", "unrolled"):
        cmd = [sys.executable, "-m", "benchmarks.random_draws", "--child", lowering]
        cmd += ["--views", str(args.views), "--repeat", str(args.repeat)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[lowering] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"| program ({args.views} views) | rolled s | unrolled s | speed-up | same numbers |")
    print("|---|---|---|---|---|")
    for name, old in results["rolled"].items():
        new = results["unrolled"][name]
        same = "yes" if old["sha256"] == new["sha256"] else "no"
        print(f"| {name} | {old['s']:.3f} | {new['s']:.3f} | {old['s'] / new['s']:.1f}x | {same} |")
    if args.out:
        write_record(args.out, args, results=results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
