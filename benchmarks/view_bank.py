"""One view per signal from a `ViewBank`, two ways side by side in one run.

An SSRL method draws one view `T_k x + sigma eps` per signal (`bank(x, key=...)`, vmapped over
the signals). Picking the matrix first gathers one n x n matrix per signal; forming all K
products first is one matrix product against the whole stack, K times the arithmetic. This
times both formulas (the noise left out), and the library's `bank(x, key=...)` (which forms all
products up to K = `_ALL_PRODUCTS_MAX_K`), for several K, on `--signals` signals of 64 entries
(the methods study's trials x minibatch: 20 x 128 = 2,560), median of `--repeat` calls after a
compiling one. The last column is the largest difference between the two formulas.

    python -m benchmarks.view_bank [--signals 2560] [--repeat 10] [--out FILE]
"""

from __future__ import annotations

import argparse

from benchmarks._common import median_time, write_record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=2560)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--out", help="JSON file for the numbers (default: print only)")
    args = parser.parse_args(argv)

    import jax
    import jax.numpy as jnp
    import jax.random as jr

    import bridge_jax as bj
    from bridge_jax._augment import _vectors as _augmentations

    bj.use_unrolled_threefry()
    n = 64
    xs = jr.normal(jr.key(0), (args.signals, n))
    keys = jr.split(jr.key(1), args.signals)
    rows = []
    print("| K | pick then product ms | all products ms | bank(x) ms | max abs diff |")
    print("|---|---|---|---|---|")
    for num in (4, 16, 32, 64, 256):
        bank = bj.ViewBank(n, key=jr.key(2), num_rotations=num, sigma=0.0)
        r = bank.rotations

        def gather(keys, xs, r=r, num=num):
            return jax.vmap(lambda k, x: r[jr.randint(k, (), 0, num)] @ x)(keys, xs)

        def all_products(keys, xs, r=r, num=num):
            return jax.vmap(lambda k, x: (r @ x)[jr.randint(k, (), 0, num)])(keys, xs)

        def library(keys, xs, bank=bank):
            return jax.vmap(lambda k, x: bank(x, key=k))(keys, xs)

        row = {"K": num}
        for name, fn in (("gather", gather), ("all_products", all_products), ("bank", library)):
            row[f"{name}_s"] = median_time(jax.jit(fn), keys, xs, repeat=args.repeat)[0]
        diff = jnp.max(jnp.abs(jax.jit(gather)(keys, xs) - jax.jit(all_products)(keys, xs)))
        row["max_abs_diff"] = float(diff)
        rows.append(row)
        print(
            f"| {num} | {1e3 * row['gather_s']:.2f} | {1e3 * row['all_products_s']:.2f} "
            f"| {1e3 * row['bank_s']:.2f} | {row['max_abs_diff']:.1e} |"
        )
    if args.out:
        max_k = _augmentations._ALL_PRODUCTS_MAX_K
        write_record(args.out, args, rows=rows, all_products_max_k=max_k)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
