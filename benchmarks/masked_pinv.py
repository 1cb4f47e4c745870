"""`masked_pinv_solve` by QR against by the kept rows' Gram matrix, side by side in one run.

fig2's Gaussian reading projects each signal onto the row span of its own random subset of
the rows of one n x n Gaussian (one mask per signal): one factorisation per signal. This
times `bj.masked_pinv_solve(op, mask, A x, method=...)` vmapped over `--signals` masks of
one 64 x 64 Gaussian (fig2 at paper scale: 500 signals x 9 ratios = 4,500 per trial), at
several masking ratios, median of `--repeat` calls after a compiling one, and measures each
method's largest error against NumPy's float64 `pinv` of the masked rows on the first 300
signals (relative to the largest entry of the exact projection).

    python -m benchmarks.masked_pinv [--signals 4500] [--repeat 5] [--out FILE]
"""

from __future__ import annotations

import argparse
import functools

from benchmarks._common import median_time, write_record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=4500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", help="JSON file for the numbers (default: print only)")
    args = parser.parse_args(argv)

    import jax
    import jax.random as jr
    import numpy as np

    import bridge_jax as bj

    bj.use_unrolled_threefry()
    n, checked = 64, min(300, args.signals)
    a = jr.normal(jr.key(0), (n, n)) / np.sqrt(n)
    op = bj.MatrixOperator(a)
    xs = jr.normal(jr.key(1), (args.signals, n))
    keys = jr.split(jr.key(2), args.signals)
    rows = []
    print("| ratio | kept rows | qr ms | cholesky ms | speed-up | qr error | cholesky error |")
    print("|---|---|---|---|---|---|---|")
    for ratio in (0.1, 0.5, 0.9):
        masks = jax.vmap(lambda k, r=ratio: bj.random_mask(n, r, key=k))(keys)
        a64, x64 = np.asarray(a, np.float64), np.asarray(xs[:checked], np.float64)
        kept = np.asarray(masks[:checked])
        exact = np.stack(
            [np.linalg.pinv(a64[k]) @ (a64[k] @ v) for k, v in zip(kept, x64, strict=True)]
        )
        row = {"ratio": ratio, "kept_rows": int(masks[0].sum())}
        for method in ("qr", "cholesky"):

            def solve(masks, xs, method=method):
                one = functools.partial(bj.masked_pinv_solve, op, method=method)
                return jax.vmap(lambda mask, x: one(mask, op.mv(x)))(masks, xs)

            fn = jax.jit(solve)
            row[f"{method}_s"] = median_time(fn, masks, xs, repeat=args.repeat)[0]
            out = fn(masks, xs)
            err = np.max(np.abs(np.asarray(out[:checked], np.float64) - exact))
            row[f"{method}_error"] = float(err / np.max(np.abs(exact)))
        rows.append(row)
        print(
            f"| {ratio} | {row['kept_rows']} | {1e3 * row['qr_s']:.1f} "
            f"| {1e3 * row['cholesky_s']:.1f} | {row['qr_s'] / row['cholesky_s']:.2f}x "
            f"| {row['qr_error']:.1e} | {row['cholesky_error']:.1e} |"
        )
    if args.out:
        write_record(args.out, args, rows=rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
