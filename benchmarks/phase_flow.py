"""Amplitude flow on a complex Gaussian model: real pairs (the library) against complex
products, side by side in one run.

The phase study runs `bj.amplitude_flow` from 28 starts (4 noise levels x 7 initialisations)
per trial, vmapped over 100 trials, each trial with its own m x 64 matrix. For a complex
matrix the library computes on the pair (Re x, Im x) with real products (`_phase._loop`).
This times that against the same iteration written with complex products, matrix first
(`A @ x`, what the library did before) and vector first (`x @ A.T`), at the
study's shapes with `--steps` steps, median of `--repeat` calls after a compiling one; and
for a real matrix, the library (vector first) against matrix first. It reports the largest
difference of each form from the library's iterates, relative to their largest entry.

    python -m benchmarks.phase_flow [--trials 100] [--steps 100] [--repeat 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import functools

from benchmarks._common import median_time, write_record


def _complex_flow(a, y, x0, *, steps: int, step_size: float, vector_first: bool):
    """The amplitude flow of `bj.amplitude_flow` with complex products (the alternative)."""
    import jax.numpy as jnp
    from jax import lax

    if vector_first:
        forward, backward = (lambda x: x @ a.T), (lambda r: r @ jnp.conj(a))
    else:
        forward, backward = (lambda x: a @ x), (lambda r: jnp.conj(a).T @ r)
    sqrt_y = jnp.sqrt(jnp.maximum(y, 0.0))

    def step(x, _):
        z = forward(x)
        mag = jnp.abs(z)
        phase = jnp.where(mag > 0, z / jnp.where(mag > 0, mag, 1.0), 0.0)
        return x - step_size * backward(z - sqrt_y * phase) / a.shape[0], None

    return lax.scan(step, x0, None, length=steps)[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--starts", type=int, default=28)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="JSON file for the numbers (default: print only)")
    args = parser.parse_args(argv)

    import jax
    import jax.random as jr
    import numpy as np

    import bridge_jax as bj

    n, mu = 64, 0.6

    def per_trial(flow):
        return jax.jit(jax.vmap(lambda a, y, x0: jax.vmap(lambda z: flow(a, y, z))(x0)))

    library = per_trial(
        lambda a, y, z: bj.amplitude_flow(
            bj.PhaseRetrieval(a), y, x0=z, step_size=mu, num_steps=args.steps
        )[0]
    )
    forms = {
        "matrix_first": per_trial(
            lambda a, y, z: _complex_flow(
                a, y, z, steps=args.steps, step_size=mu, vector_first=False
            )
        ),
        "vector_first": per_trial(
            lambda a, y, z: _complex_flow(
                a, y, z, steps=args.steps, step_size=mu, vector_first=True
            )
        ),
    }
    rows = []
    print(
        "| A | m | library s | complex, matrix first s | complex, vector first s | "
        "speed-up (matrix first) | largest difference |"
    )
    print("|---|---|---|---|---|---|---|")
    for field in ("complex", "real"):
        for m in (128, 256, 512):
            key = jr.fold_in(jr.key(0), m)
            draw = functools.partial(bj.PhaseRetrieval.gaussian, n, m, complex=field == "complex")
            ops = jax.vmap(lambda k, draw=draw: draw(key=k))(jr.split(key, args.trials))
            a = ops.operator.matrix
            x = jr.normal(jr.key(1), (args.trials, n))
            y = jax.vmap(lambda op, v: op(v))(ops, x)
            x0 = x[:, None, :] + 0.5 * jr.normal(jr.key(2), (args.trials, args.starts, n))
            x0 = x0.astype(a.dtype)
            row = {
                "field": field,
                "m": m,
                "library_s": median_time(library, a, y, x0, repeat=args.repeat)[0],
            }
            ref = np.asarray(library(a, y, x0))
            diffs = []
            for name, fn in forms.items():
                if field == "real" and name == "vector_first":
                    continue  # the library's real path is this form
                row[f"{name}_s"] = median_time(fn, a, y, x0, repeat=args.repeat)[0]
                out = np.asarray(fn(a, y, x0))
                diffs.append(float(np.max(np.abs(out - ref)) / np.max(np.abs(ref))))
            row["largest_difference"] = max(diffs)
            rows.append(row)
            vf = row.get("vector_first_s")
            print(
                f"| {field} | {m} | {row['library_s']:.3f} | {row['matrix_first_s']:.3f} | "
                f"{'-' if vf is None else f'{vf:.3f}'} | "
                f"{row['matrix_first_s'] / row['library_s']:.2f}x | "
                f"{row['largest_difference']:.1e} |"
            )
    if args.out:
        write_record(args.out, args, rows=rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
