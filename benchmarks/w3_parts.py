"""Where W3's time goes: each part of bridge_jax's W3 trial beside NumPy's, on the same data.

The parts (20 trials at `run.SIZES["W3"]`, each row one jitted program over all trials, or a
NumPy loop over them): the augmentation covariance (centring + the `N K x n` product), `eigh`
of the covariance, the SVD of A for its row space (thin and complete), and the principal angles
of two `n x n/2` orthonormal bases (with and without their QR), against NumPy's `a.T @ a`
(which calls BLAS `syrk`: half the product's flops), `eigh`, thin SVD and one `svdvals`.
Timed in CPU seconds of the process on ONE thread, rounds interleaved, median over the rounds:
on a shared machine, others' jobs then move the figures little.
Usage: `python -m benchmarks.w3_parts [--rounds 5] n64 n256`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def parts(p) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    import bridge_jax as bj

    from .run import _w3_data

    views, a = _w3_data(p)
    trials, n, half = p["trials"], p["n"], p["n"] // 2

    def np_cov(t):
        v = views[t] - views[t].mean(axis=1, keepdims=True)
        flat = v.reshape(-1, n)
        return flat.T @ flat / flat.shape[0]

    covs = np.stack([np_cov(t) for t in range(trials)])
    lead = np.stack([np.linalg.eigh(c)[1][:, ::-1][:, :half] for c in covs])
    row = np.stack([np.linalg.svd(x, full_matrices=False)[2].T for x in a])
    cross = np.einsum("tni,tnj->tij", lead, row)
    jv, ja, jc, jl, jr = map(jnp.asarray, (views, a, covs, lead, row))

    def jitted(f, *args):
        g = jax.jit(f)
        return lambda: jax.block_until_ready(g(*args))

    def trial(v, at):
        c = bj.augmentation_covariance(v)
        angles = bj.principal_angles(
            bj.leading_subspace(c, half), bj.row_space(bj.MatrixOperator(at)), orthonormal=True
        )
        return bj.eigenspectrum(c), angles

    angles = jax.vmap(bj.principal_angles)
    orth = jax.vmap(lambda u, v: bj.principal_angles(u, v, orthonormal=True))
    return {
        "bj: whole trial": jitted(jax.vmap(trial), jv, ja),
        "bj: covariance": jitted(jax.vmap(bj.augmentation_covariance), jv),
        "bj: eigh": jitted(jnp.linalg.eigh, jc),
        "bj: SVD of A, thin": jitted(lambda x: jnp.linalg.svd(x, full_matrices=False), ja),
        "bj: SVD of A, complete": jitted(jnp.linalg.svd, ja),
        "bj: angles, orthonormal=True": jitted(orth, jl, jr),
        "bj: angles, with QR": jitted(angles, jl, jr),
        "numpy: whole trial": lambda: [
            np.linalg.svd(
                np.linalg.eigh(np_cov(t))[1][:, ::-1][:, :half].T
                @ np.linalg.svd(a[t], full_matrices=False)[2].T,
                compute_uv=False,
            )
            for t in range(trials)
        ],
        "numpy: covariance": lambda: [np_cov(t) for t in range(trials)],
        "numpy: eigh": lambda: [np.linalg.eigh(c) for c in covs],
        "numpy: SVD of A, thin": lambda: [np.linalg.svd(x, full_matrices=False) for x in a],
        "numpy: angles, svdvals": lambda: [np.linalg.svd(x, compute_uv=False) for x in cross],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", help="keys of run.SIZES['W3'], e.g. n64 n256")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )
    from .run import SIZES

    for size in args.sizes:
        if size not in SIZES["W3"]:
            sys.exit(f"sizes must be among {sorted(SIZES['W3'])}, got {size!r}")
        impls = parts(SIZES["W3"][size])
        for fn in impls.values():
            fn()  # compilation
        times = {k: [] for k in impls}
        for _ in range(args.rounds):
            for k, fn in impls.items():
                t0 = time.process_time()
                fn()
                times[k].append(time.process_time() - t0)
        for k, ts in times.items():
            print(f"W3:{size} {k:30s} {statistics.median(ts) * 1e3:9.1f} ms CPU", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
