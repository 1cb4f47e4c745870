"""A fresh random rotation per view: `rotate` (no matrix) against `random_rotation(...) @ x`.

fig1's per-view reading draws a rotation $e^{\alpha S}$ for each of 100,000 views and applies
it to one signal. Three programs, each vmapped over the same views and keys, timed in one run:
the generator $S$ alone applied to $x$ (the floor: drawing the normals), `bj.rotate(x, angle,
key=key)` (Taylor series on the vector) and `bj.random_rotation(n, angle, key=key) @ x` (the
matrix exponential). Reports microseconds per view (median of `--repeat` runs after a
compiling call), the compile times and the largest difference between the two rotations.

    python -m benchmarks.rotations [--n 64] [--views 5000] [--angle 0.1] [--out FILE]
"""

from __future__ import annotations

import argparse

import jax
import jax.random as jr

import bridge_jax as bj
from benchmarks._common import median_time, write_record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--views", type=int, default=5000)
    parser.add_argument("--angle", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", help="JSON file for the numbers (default: print only)")
    args = parser.parse_args(argv)
    n, angle = args.n, args.angle
    keys = jr.split(jr.key(0), args.views)
    xs = jr.normal(jr.key(1), (args.views, n))
    programs = {
        "generator_only": lambda k, x: bj.random_skew(n, key=k) @ x,
        "rotate": lambda k, x: bj.rotate(x, angle, key=k),
        "random_rotation_matmul": lambda k, x: bj.random_rotation(n, angle, key=k) @ x,
    }
    rows = {}
    for name, one in programs.items():
        fn = jax.jit(jax.vmap(one))
        median, first = median_time(fn, keys, xs, repeat=args.repeat)
        rows[name] = {"us_per_view": 1e6 * median / args.views, "first_call_s": first}
        print(f"{name:24s} {rows[name]['us_per_view']:8.1f} us/view  first call {first:.2f} s")
    fast = jax.jit(jax.vmap(programs["rotate"]))(keys, xs)
    dense = jax.jit(jax.vmap(programs["random_rotation_matmul"]))(keys, xs)
    diff = float(abs(fast - dense).max())
    print(f"largest |rotate - random_rotation @ x|: {diff:.2e}")
    if args.out:
        devices = [str(d) for d in jax.devices()]
        write_record(args.out, args, rows=rows, max_abs_difference=diff, devices=devices)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
