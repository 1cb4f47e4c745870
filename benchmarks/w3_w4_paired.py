"""W3 and W4 side by side in one process: alternating rounds of every implementation, ratios
taken round by round (min and median over the rounds), so that a shared machine's drift moves
all of them alike.

- W3 (covariance + eigh + principal angles, `run.SIZES["W3"]`): bridge_jax as `run.py` runs
  it (`bj_library`: the bases from `leading_subspace` and `row_space` are orthonormal, so
  `principal_angles(..., orthonormal=True)`), the earlier form (`bj_qr_full_svd`: the QR
  of both bases in `principal_angles` and the row space from the complete SVD), and the
  library over the trials with `lax.map` instead of `vmap` (`bj_lax_map`), against NumPy
  with arccos of one SVD (as `run.py`), NumPy with `scipy.linalg.subspace_angles` and PyTorch.
- W4 (learned Landweber steps, `run.SIZES["W4"]`): bridge_jax's `UnrolledLandweber` with
  `supervised_loss` (as `run.py`), the same iteration written in plain `jax.numpy`, and
  PyTorch with autograd.

`--threads 1` pins every implementation to one thread (OpenBLAS, PyTorch, XLA:CPU's Eigen
pool): on a machine shared with other jobs, threaded libraries otherwise measure their
contention. `--cpu-time` times with the process's CPU seconds (all its threads) instead of the
wall clock: on one thread, a machine whose other jobs take the core away for a while then moves
the figures less. Usage: `python -m benchmarks.w3_w4_paired [--threads 1] [--rounds 3]
[--cpu-time] W3:n64 W4:paper`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _timed(fn, repeat: int, clock=time.perf_counter) -> float:
    fn()  # warm-up (and compilation)
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)


def w3_impls(p, threads):
    import jax
    import jax.numpy as jnp
    import numpy as np
    import scipy.linalg

    import bridge_jax as bj

    from .run import _torch, _w3_data

    views, a = _w3_data(p)
    n, half = p["n"], p["n"] // 2
    jv, ja = jnp.asarray(views), jnp.asarray(a)

    def bridge(row, orthonormal, batch=jax.vmap):
        def trial(v, at):
            c = bj.augmentation_covariance(v)
            lead = bj.leading_subspace(c, half)
            angles = bj.principal_angles(lead, row(at), orthonormal=orthonormal)
            return bj.eigenspectrum(c), angles

        f = jax.jit(batch(trial))
        return lambda: jax.block_until_ready(f(jv, ja))

    def lax_map(trial):  # one trial at a time: temporaries of one trial, not of all of them
        return lambda v, at: jax.lax.map(lambda x: trial(*x), (v, at))

    def numpy(angles, dtype=np.float32):
        def run():
            out = []
            for t in range(p["trials"]):
                v = views[t].astype(dtype) - views[t].astype(dtype).mean(axis=1, keepdims=True)
                flat = v.reshape(-1, n)
                w, vec = np.linalg.eigh(flat.T @ flat / flat.shape[0])
                row = np.linalg.svd(a[t].astype(dtype), full_matrices=False)[2].T
                out.append(np.sort(angles(vec[:, ::-1][:, :half], row)))
            return np.stack(out)

        return run

    def arccos(u, v):
        s = np.linalg.svd(u.T @ v, compute_uv=False)
        return np.sort(np.arccos(np.clip(s, -1, 1)))

    impls = {
        "bj_library": bridge(lambda at: bj.row_space(bj.MatrixOperator(at)), True),
        "bj_qr_full_svd": bridge(lambda at: jnp.linalg.svd(at)[2].T[:, : at.shape[0]], False),
        "bj_lax_map": bridge(lambda at: bj.row_space(bj.MatrixOperator(at)), True, lax_map),
        "numpy": numpy(arccos),
        "numpy_scipy_angles": numpy(scipy.linalg.subspace_angles),
    }
    # Same answers: the largest angle difference from SciPy's on float64 data, in radians.
    reference = numpy(scipy.linalg.subspace_angles, np.float64)()
    for name in ("bj_library", "bj_qr_full_svd", "numpy", "numpy_scipy_angles"):
        got = impls[name]()
        got = np.asarray(got[1] if name.startswith("bj_") else got)
        print(
            f"W3 n={n} {name}: largest angle difference from float64 SciPy "
            f"{np.abs(got - reference).max():.1e} rad",
            flush=True,
        )
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads or os.cpu_count() or 1)
        tv, ta = torch.from_numpy(views), torch.from_numpy(a)

        def torch_run():
            v = tv - tv.mean(dim=2, keepdim=True)
            flat = v.reshape(p["trials"], -1, n)
            _, vec = torch.linalg.eigh(flat.transpose(1, 2) @ flat / flat.shape[1])
            lead = vec.flip(-1)[..., :half]
            row = torch.linalg.svd(ta, full_matrices=False)[2].transpose(1, 2)
            s = torch.linalg.svdvals(lead.transpose(1, 2) @ row)
            return torch.sort(torch.arccos(s.clamp(-1, 1)), dim=-1)[0]

        impls["torch"] = torch_run
    return impls


def w4_impls(p, threads):
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    import bridge_jax as bj

    from .run import _torch, _w2_data

    a, y, tau = _w2_data({**p, "iters": 0})
    x = np.random.default_rng(3).standard_normal((p["trials"], p["signals"], p["n"]), np.float32)
    steps, unroll = p["steps"], p["unroll"]
    ja, jy, jx = jnp.asarray(a), jnp.asarray(y), jnp.asarray(x)
    model = jax.vmap(lambda t: bj.UnrolledLandweber(jnp.full(unroll, t)))(jnp.asarray(tau))
    opt = optax.adam(1e-3)

    def library_loss(models):
        def one(mdl, at, yt, xt):
            op = bj.MatrixOperator(at)
            return jnp.mean(jax.vmap(lambda yi, xi: bj.supervised_loss(mdl, op, yi, xi))(yt, xt))

        return jnp.sum(jax.vmap(one)(models, ja, jy, jx))

    def plain_loss(models):
        xk = jnp.zeros_like(jx)
        for k in range(unroll):
            r = jy - jnp.einsum("tsn,tmn->tsm", xk, ja)
            xk = xk + models.steps[:, k, None, None] * jnp.einsum("tsm,tmn->tsn", r, ja)
        return jnp.sum(jnp.mean((xk - jx) ** 2, axis=(1, 2)))

    def trainer(loss):
        @eqx.filter_jit
        def train(models, state):
            def body(carry, _):
                m, s = carry
                upd, s = opt.update(eqx.filter_grad(loss)(m), s)
                return (eqx.apply_updates(m, upd), s), None

            return jax.lax.scan(body, (models, state), None, length=steps)[0]

        state = opt.init(eqx.filter(model, eqx.is_array))
        return lambda: jax.block_until_ready(train(model, state))

    impls = {"bj_library": trainer(library_loss), "bj_plain_jnp": trainer(plain_loss)}
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads or os.cpu_count() or 1)
        ta, ty, tx = (torch.from_numpy(z) for z in (a, y, x))

        def torch_run():
            s = torch.tensor(np.repeat(tau[:, None], unroll, 1), requires_grad=True)
            o = torch.optim.Adam([s], lr=1e-3)
            at = ta.transpose(1, 2)
            for _ in range(steps):
                o.zero_grad()
                xk = torch.zeros_like(tx)
                for k in range(unroll):
                    xk = xk + s[:, k, None, None] * torch.bmm(ty - torch.bmm(xk, at), ta)
                ((xk - tx) ** 2).mean(dim=(1, 2)).sum().backward()
                o.step()

        impls["torch"] = torch_run
    return impls


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", nargs="+", help="WORKLOAD:SIZE, e.g. W3:n64 W4:paper")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu-time", action="store_true", help="CPU seconds, not wall seconds")
    args = parser.parse_args(argv)
    if args.threads:  # before NumPy, PyTorch and XLA start their thread pools
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
        if args.threads == 1:
            os.environ["XLA_FLAGS"] = (
                os.environ.get("XLA_FLAGS", "")
                + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
            )
    from .run import SIZES

    clock = time.process_time if args.cpu_time else time.perf_counter

    for entry in args.entries:
        workload, size = entry.split(":")
        if workload not in ("W3", "W4") or size not in SIZES[workload]:
            sys.exit(f"entries must be W3:SIZE or W4:SIZE with SIZE in run.SIZES, got {entry!r}")
        impls = (w3_impls if workload == "W3" else w4_impls)(SIZES[workload][size], args.threads)
        times = {k: [] for k in impls}
        for _ in range(args.rounds):
            for k, fn in impls.items():
                times[k].append(_timed(fn, args.repeat, clock))
        ours = [k for k in impls if k.startswith("bj_")]
        for b in ours:
            for other in impls:
                if other == b:
                    continue
                r = [o / t for o, t in zip(times[other], times[b], strict=True)]
                print(
                    f"{entry} {other} / {b}: min {min(r):.2f} median {statistics.median(r):.2f} "
                    f"({b} {statistics.median(times[b]):.4f} s, {other} "
                    f"{statistics.median(times[other]):.4f} s)",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
