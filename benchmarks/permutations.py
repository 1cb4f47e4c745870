"""Small random permutations, batched: JAX's sort (`jax.random.permutation`) against
`bridge_jax`'s counting form (`bridge_jax._random`), side by side in one run.

For each size n, `--batch` keys (the methods study's Noise2Self step draws 2,560 row
partitions of 32 rows), median of `--repeat` runs after a compiling call:
- `permutation`: the partition of `row_groups`, `permutation(key, arange(n) % 4)`;
- `ranks`: `random_ranks` (the rank of each entry; `random_mask`, the split losses).
Both forms must give the same numbers; the table says whether they did.

    python -m benchmarks.permutations [--batch 2560] [--repeat 20] [--out FILE]
"""

from __future__ import annotations

import argparse

from benchmarks._common import median_time, write_record

SIZES = (8, 16, 32, 64, 128, 256)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2560)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", help="JSON file for the numbers (default: print only)")
    args = parser.parse_args(argv)

    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    import bridge_jax as bj
    from bridge_jax import _random

    bj.use_unrolled_threefry()
    keys = jr.split(jr.key(0), args.batch)
    rows = []
    print("| n | program | sort ms | counting ms | speed-up | same numbers |")
    print("|---|---|---|---|---|---|")
    for n in SIZES:
        groups = jnp.arange(n) % 4
        programs = {
            "permutation": lambda k, c, g=groups: _random.permutation(k, g, counting=c),
            "ranks": lambda k, c, n=n: _random.random_ranks(n, k, counting=c),
        }
        for name, one in programs.items():
            row = {"n": n, "program": name}
            out = {}
            for label, counting in (("sort", False), ("counting", True)):
                fn = jax.jit(jax.vmap(lambda k, c=counting, f=one: f(k, c)))
                median, first = median_time(fn, keys, repeat=args.repeat)
                row[f"{label}_ms"], row[f"{label}_first_s"] = 1e3 * median, first
                out[label] = np.asarray(fn(keys))
            row["same"] = bool(np.array_equal(out["sort"], out["counting"]))
            rows.append(row)
            print(
                f"| {n} | {name} | {row['sort_ms']:.2f} | {row['counting_ms']:.2f} | "
                f"{row['sort_ms'] / row['counting_ms']:.1f}x | {'yes' if row['same'] else 'no'} |"
            )
    if args.out:
        write_record(args.out, args, rows=rows, counting_max=_random.COUNTING_MAX)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
