"""Workloads W1-W4 timed for bridge_jax, NumPy and PyTorch (when installed) in one run.

- W1: the paper reproduction end to end (`bridge-jax reproduce`), cold (empty compilation
  cache) and warm (persistent cache filled by the cold run), each in a fresh process.
- W2: batched Landweber, trials x signals x (m x n) x iterations; bridge_jax's iterative
  `landweber` (the reported `bridge_jax_s`), its Gram form `landweber_gram` and its closed
  form `landweber_spectral` (above `W2_BLOCK` signals also `landweber` and `landweber_gram`
  on blocks of signals: `blocked_s`, `gram_blocked_s`), against NumPy and PyTorch loops over
  trials and iterations with batched matrix products (what a competent user writes).
- W3: augmentation covariance, eigenspectrum and principal angles for 20 trials at n = 64,
  256, 1024.
- W4: learned Landweber step sizes (`UnrolledLandweber`, T = 10, Adam): training steps per
  second, against the same model in PyTorch with autograd (NumPy has no autodiff: null).

Each (workload, size) runs in its own process so that `peak_rss_mb` (the process's peak
resident size, all implementations of that entry together) means something. Times are the
median of `repeat` runs after one untimed warm-up (JAX compiles during the warm-up; the
compilation time is reported apart as `bridge_jax_compile_s`). GFLOP/s count the useful
floating-point work of the iterative algorithm; `gemm_peak_gflops` is the best float32 GEMM
rate measured on this machine in the same run (NumPy or XLA, 2048 x 2048).

Note on NumPy: on this workplace's machines OPENBLAS_CORETYPE is set, which slows a current
OpenBLAS; `python -m benchmarks` runs NumPy children with it and OPENBLAS_L2_SIZE unset and
records the BLAS kernel it used (`numpy_blas`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

SIZES = {
    "W2": {
        "paper": dict(trials=20, signals=500, n=64, m=32, iters=100),
        "10x": dict(trials=20, signals=5000, n=128, m=64, iters=100),
        "100x": dict(trials=4, signals=50000, n=256, m=128, iters=50),
    },
    "W3": {
        "n64": dict(trials=20, signals=500, k=10, n=64),
        "n256": dict(trials=20, signals=500, k=10, n=256),
        "n1024": dict(trials=20, signals=500, k=10, n=1024),
    },
    "W4": {"paper": dict(trials=20, signals=500, n=64, m=32, unroll=10, steps=20)},
}
# W2's blocked forms: signals per block and trial. The trials are vmapped inside each block,
# so one step of the loop over blocks runs all iterations on 20 x 1,000 signals at the 10x
# size (10 MB of iterates, against 51 MB unblocked). From one sweep at the 10x size (100, 250,
# 500, 1000, 2500 signals; measured once, at the 10x size) it was the fastest for both
# forms, and the neighbours within 10%.
W2_BLOCK = 1000

QUICK = {
    "W2": {"paper": dict(trials=4, signals=200, n=32, m=16, iters=20)},
    "W3": {"n64": dict(trials=4, signals=100, k=4, n=64)},
    "W4": {"paper": dict(trials=4, signals=100, n=32, m=16, unroll=5, steps=5)},
}


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# The device PyTorch runs on: "cpu", or "cuda" for `--gpu` (set by `benchmarks.gpu`).
TORCH_DEVICE = "cpu"


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    return torch


def _to_torch(torch, *arrays):
    """NumPy arrays as tensors on `TORCH_DEVICE`."""
    return tuple(torch.from_numpy(a).to(TORCH_DEVICE) for a in arrays)


def _torch_timed(torch, fn):
    """`fn` that returns once the device has finished its work (CUDA runs asynchronously)."""
    if TORCH_DEVICE == "cpu":
        return fn

    def synced():
        out = fn()
        torch.cuda.synchronize()
        return out

    return synced


def _blas() -> str | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i.get('internal_api')} {i.get('architecture')}" for i in info) or None


# --------------------------------------------------------------------------- GEMM peak


def gemm_peak(size: int = 2048, repeat: int = 5) -> dict:
    """Best float32 GEMM rate of NumPy and of XLA on this machine (GFLOP/s)."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    flops = 2.0 * size**3
    t_np = _median_time(lambda: a @ b, repeat)
    ja, jb = jnp.asarray(a), jnp.asarray(b)
    mm = jax.jit(jnp.matmul)
    mm(ja, jb).block_until_ready()
    t_jax = _median_time(lambda: mm(ja, jb).block_until_ready(), repeat)
    return {"numpy_gflops": flops / t_np / 1e9, "xla_gflops": flops / t_jax / 1e9}


# --------------------------------------------------------------------------- W2


def _w2_data(p):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((p["trials"], p["m"], p["n"])) / np.sqrt(p["m"])
    a = a.astype(np.float32)
    y = rng.standard_normal((p["trials"], p["signals"], p["m"]), dtype=np.float32)
    tau = (1.0 / np.linalg.norm(a, 2, axis=(1, 2)) ** 2).astype(np.float32)
    return a, y, tau


def w2(p: dict, repeat: int, impls) -> dict:
    a, y, tau = _w2_data(p)
    iters = p["iters"]
    flops = 4.0 * p["trials"] * iters * p["signals"] * p["m"] * p["n"]
    out = {"flops": flops}
    if "bridge_jax" in impls:
        import jax
        import jax.numpy as jnp

        import bridge_jax as bj

        def trial(a_t, y_t, tau_t, solver, block):
            op = bj.MatrixOperator(a_t)
            kw = dict(step_size=tau_t, num_steps=iters)
            if solver is bj.landweber:
                kw["throw"] = False

            def one(yi):
                return solver(op, yi, **kw)[0]

            if block is None:
                return jax.vmap(one)(y_t)
            # All iterations on one block of signals before the next (a vmap over each block,
            # a loop over blocks), instead of each iteration over all signals. (W2 vmaps the
            # trials outside: each step of the loop holds a block of every trial.)
            return jax.lax.map(one, y_t, batch_size=block)

        ja, jy, jt = jnp.asarray(a), jnp.asarray(y), jnp.asarray(tau)
        block = W2_BLOCK if p["signals"] > W2_BLOCK else None
        solvers = (
            ("bridge_jax", bj.landweber, None),
            ("spectral", bj.landweber_spectral, None),
            ("gram", bj.landweber_gram, None),
        )
        if block is not None:
            solvers += (
                ("blocked", bj.landweber, block),
                ("gram_blocked", bj.landweber_gram, block),
            )
        for name, solver, blk in solvers:
            run = jax.jit(jax.vmap(lambda at, yt, tt, s=solver, b=blk: trial(at, yt, tt, s, b)))
            t0 = time.perf_counter()
            ref = run(ja, jy, jt).block_until_ready()
            out[f"{name}_compile_s"] = time.perf_counter() - t0
            out[f"{name}_s"] = _median_time(lambda r=run: r(ja, jy, jt).block_until_ready(), repeat)
            out[f"{name}_x"] = np.asarray(ref)
    if "numpy" in impls:

        def numpy_run():
            xs = []
            for t in range(p["trials"]):
                at, yt = a[t], y[t]
                x = np.zeros((p["signals"], p["n"]), np.float32)
                for _ in range(iters):
                    x += tau[t] * ((yt - x @ at.T) @ at)
                xs.append(x)
            return np.stack(xs)

        out["numpy_x"] = numpy_run()
        out["numpy_s"] = _median_time(numpy_run, repeat)
    torch = _torch() if "torch" in impls else None
    if torch is not None:
        ta, ty, tt = _to_torch(torch, a, y, tau)

        def torch_run():
            with torch.no_grad():
                x = torch.zeros(p["trials"], p["signals"], p["n"], device=TORCH_DEVICE)
                at = ta.transpose(1, 2)
                for _ in range(iters):
                    x += tt[:, None, None] * torch.bmm(ty - torch.bmm(x, at), ta)
            return x

        out["torch_x"] = torch_run().cpu().numpy()
        out["torch_s"] = _median_time(_torch_timed(torch, torch_run), repeat)
    return out


# --------------------------------------------------------------------------- W3


def _w3_data(p):
    rng = np.random.default_rng(2)
    views = rng.standard_normal((p["trials"], p["signals"], p["k"], p["n"]), dtype=np.float32)
    a = rng.standard_normal((p["trials"], p["n"] // 2, p["n"]), dtype=np.float32)
    return views, a


def w3(p: dict, repeat: int, impls) -> dict:
    views, a = _w3_data(p)
    n, half = p["n"], p["n"] // 2
    nk = p["signals"] * p["k"]
    # covariance GEMM + eigh (~9 n^3) + row-space SVD (~6 m n^2) + angles (SVD of m x m).
    flops = p["trials"] * (2.0 * nk * n * n + 9.0 * n**3 + 6.0 * half * n * n + 10.0 * half**3)
    out = {"flops": flops}
    if "bridge_jax" in impls:
        import jax
        import jax.numpy as jnp

        import bridge_jax as bj

        def trial(v, at):
            cov = bj.augmentation_covariance(v)
            spectrum = bj.eigenspectrum(cov)
            lead = bj.leading_subspace(cov, half)
            row = bj.row_space(bj.MatrixOperator(at))
            angles = bj.principal_angles(lead, row, orthonormal=True)
            return spectrum, angles

        run = jax.jit(jax.vmap(trial))
        jv, ja = jnp.asarray(views), jnp.asarray(a)
        t0 = time.perf_counter()
        ref = jax.block_until_ready(run(jv, ja))
        out["bridge_jax_compile_s"] = time.perf_counter() - t0
        out["bridge_jax_s"] = _median_time(lambda: jax.block_until_ready(run(jv, ja)), repeat)
        out["bridge_jax_x"] = np.asarray(ref[1])
    if "numpy" in impls:

        def numpy_run():
            angles = []
            for t in range(p["trials"]):
                v = views[t] - views[t].mean(axis=1, keepdims=True)
                flat = v.reshape(-1, n)
                cov = flat.T @ flat / flat.shape[0]
                w, vec = np.linalg.eigh(cov)
                lead = vec[:, ::-1][:, :half]
                row = np.linalg.svd(a[t], full_matrices=False)[2].T
                s = np.linalg.svd(lead.T @ row, compute_uv=False)
                angles.append(np.sort(np.arccos(np.clip(s, -1, 1))))
            return np.stack(angles)

        out["numpy_x"] = numpy_run()
        out["numpy_s"] = _median_time(numpy_run, repeat)

        # Like with like: the angles by `scipy.linalg.subspace_angles`, the algorithm of
        # `principal_angles` (sines for the small angles), where the plain NumPy run takes the
        # arccos of one SVD's cosines. SciPy also orthonormalises both bases (an SVD each),
        # which `orthonormal=True` skips for bridge_jax's already orthonormal bases.
        import scipy.linalg

        def scipy_run():
            angles = []
            for t in range(p["trials"]):
                v = views[t] - views[t].mean(axis=1, keepdims=True)
                flat = v.reshape(-1, n)
                cov = flat.T @ flat / flat.shape[0]
                w, vec = np.linalg.eigh(cov)
                row = np.linalg.svd(a[t], full_matrices=False)[2].T
                angles.append(np.sort(scipy.linalg.subspace_angles(vec[:, ::-1][:, :half], row)))
            return np.stack(angles)

        out["scipy_x"] = scipy_run()
        out["scipy_s"] = _median_time(scipy_run, repeat)
    torch = _torch() if "torch" in impls else None
    if torch is not None:
        tv, ta = _to_torch(torch, views, a)

        def torch_run():
            v = tv - tv.mean(dim=2, keepdim=True)
            flat = v.reshape(p["trials"], -1, n)
            cov = flat.transpose(1, 2) @ flat / flat.shape[1]
            _, vec = torch.linalg.eigh(cov)
            lead = vec.flip(-1)[..., :half]
            row = torch.linalg.svd(ta, full_matrices=False)[2].transpose(1, 2)
            s = torch.linalg.svdvals(lead.transpose(1, 2) @ row)
            return torch.sort(torch.arccos(s.clamp(-1, 1)), dim=-1)[0]

        out["torch_x"] = torch_run().cpu().numpy()
        out["torch_s"] = _median_time(_torch_timed(torch, torch_run), repeat)
    return out


# --------------------------------------------------------------------------- W4


def w4(p: dict, repeat: int, impls) -> dict:
    a, y, tau = _w2_data({**p, "iters": 0})
    rng = np.random.default_rng(3)
    x = rng.standard_normal((p["trials"], p["signals"], p["n"]), dtype=np.float32)
    steps = p["steps"]
    out = {"flops": 3 * 4.0 * p["trials"] * p["unroll"] * p["signals"] * p["m"] * p["n"] * steps}
    if "bridge_jax" in impls:
        import equinox as eqx
        import jax
        import jax.numpy as jnp
        import optax

        import bridge_jax as bj

        model = jax.vmap(lambda t: bj.UnrolledLandweber(jnp.full(p["unroll"], t)))(jnp.asarray(tau))
        ja, jy, jx = jnp.asarray(a), jnp.asarray(y), jnp.asarray(x)

        def loss(models):
            def one(mdl, at, yt, xt):
                op = bj.MatrixOperator(at)
                return jnp.mean(
                    jax.vmap(lambda yi, xi: bj.supervised_loss(mdl, op, yi, xi))(yt, xt)
                )

            return jnp.sum(jax.vmap(one)(models, ja, jy, jx))

        opt = optax.adam(1e-3)

        @eqx.filter_jit
        def train(models, state):
            def body(carry, _):
                m, s = carry
                g = eqx.filter_grad(loss)(m)
                upd, s = opt.update(g, s)
                return (eqx.apply_updates(m, upd), s), None

            return jax.lax.scan(body, (models, state), None, length=steps)[0]

        state = opt.init(eqx.filter(model, eqx.is_array))
        t0 = time.perf_counter()
        jax.block_until_ready(train(model, state))
        out["bridge_jax_compile_s"] = time.perf_counter() - t0
        out["bridge_jax_s"] = _median_time(
            lambda: jax.block_until_ready(train(model, state)), repeat
        )
    torch = _torch() if "torch" in impls else None
    if torch is not None:
        ta, ty, tx = _to_torch(torch, a, y, x)

        def torch_run():
            s = torch.tensor(
                np.repeat(tau[:, None], p["unroll"], 1), requires_grad=True, device=TORCH_DEVICE
            )
            opt = torch.optim.Adam([s], lr=1e-3)
            at = ta.transpose(1, 2)
            for _ in range(steps):
                opt.zero_grad()
                xk = torch.zeros_like(tx)
                for k in range(p["unroll"]):
                    xk = xk + s[:, k, None, None] * torch.bmm(ty - torch.bmm(xk, at), ta)
                ((xk - tx) ** 2).mean(dim=(1, 2)).sum().backward()
                opt.step()

        out["torch_s"] = _median_time(_torch_timed(torch, torch_run), repeat)
    for impl in ("bridge_jax", "torch"):
        if f"{impl}_s" in out:
            out[f"{impl}_steps_per_s"] = steps / out[f"{impl}_s"]
    return out


# --------------------------------------------------------------------------- W1


def w1(quick: bool) -> dict:
    """`bridge-jax reproduce` end to end in fresh processes: cold cache, then warm."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "JAX_COMPILATION_CACHE_DIR": os.path.join(tmp, "cache"),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        cmd = [sys.executable, "-m", "bridge_jax._cli", "reproduce", "--fresh"]
        cmd += ["--quick"] if quick else []
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            proc = subprocess.run(
                cmd + ["--out", os.path.join(tmp, label)], env=env, capture_output=True, text=True
            )
            if proc.returncode != 0:
                raise RuntimeError(f"reproduce failed: {proc.stderr[-1000:]}")
            out[f"bridge_jax_{label}_s"] = time.perf_counter() - t0
    out["bridge_jax_s"] = out["bridge_jax_warm_s"]
    return out


# --------------------------------------------------------------------------- driver


def run_entry(workload: str, size: str, params: dict, repeat: int) -> dict:
    impls = ("bridge_jax", "numpy", "torch")
    fn = {"W2": w2, "W3": w3, "W4": w4}[workload]
    raw = fn(params, repeat, impls)
    # Check the implementations agree before reporting their speed.
    ref = raw.pop("bridge_jax_x", None)
    for impl in ("spectral", "gram", "blocked", "gram_blocked", "numpy", "scipy", "torch"):
        other = raw.pop(f"{impl}_x", None)
        if ref is not None and other is not None:
            scale = float(np.max(np.abs(ref))) or 1.0
            raw[f"{impl}_max_rel_diff"] = float(np.max(np.abs(other - ref)) / scale)
    raw["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    raw["numpy_blas"] = _blas()
    return raw


def _child(workload, size, params, repeat) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    arg = json.dumps({"workload": workload, "size": size, "params": params, "repeat": repeat})
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--entry", arg],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{workload}/{size} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _finish(entry: dict, peak: float, device: str) -> dict:
    t = entry.get("bridge_jax_s")
    for impl in ("numpy", "torch", "spectral", "scipy"):
        s = entry.get(f"{impl}_s")
        entry.setdefault(f"{impl}_s", None)
        entry[f"speedup_vs_{impl}"] = (s / t) if (s and t) else None
    flops = entry.get("flops")
    entry["gflops"] = flops / t / 1e9 if (flops and t) else None
    entry["gemm_peak_gflops"] = peak
    entry["fraction_of_peak"] = entry["gflops"] / peak if entry["gflops"] else None
    for form in ("gram", "blocked", "gram_blocked"):  # the same useful work, in other forms
        if entry.get(f"{form}_s") and flops:
            entry[f"{form}_gflops"] = flops / entry[f"{form}_s"] / 1e9
            entry[f"{form}_fraction_of_peak"] = entry[f"{form}_gflops"] / peak
    entry["device"] = device
    return entry


def scaling(quick: bool, repeat: int) -> list[dict]:
    """W2 time against N, n and trials (one axis at a time), bridge_jax and NumPy."""
    base = dict(trials=4, signals=500, n=64, m=32, iters=50)
    axes = {
        "signals": [250, 1000, 4000] if quick else [500, 2000, 8000, 32000],
        "n": [32, 64, 128] if quick else [64, 128, 256, 512],
        "trials": [2, 4, 8] if quick else [2, 8, 32],
    }
    rows = []
    for axis, values in axes.items():
        for v in values:
            p = {**base, axis: v}
            if axis == "n":
                p["m"] = v // 2
            raw = w2(p, repeat, ("bridge_jax", "numpy"))
            rows.append(
                {
                    "axis": axis,
                    "value": v,
                    "bridge_jax_s": raw["bridge_jax_s"],
                    "spectral_s": raw["spectral_s"],
                    "numpy_s": raw["numpy_s"],
                }
            )
    return rows


def plot_scaling(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes_names = sorted({r["axis"] for r in rows}, key=["signals", "n", "trials"].index)
    fig, axes = plt.subplots(1, len(axes_names), figsize=(4.2 * len(axes_names), 3.8))
    for ax, name in zip(np.atleast_1d(axes), axes_names, strict=True):
        sub = [r for r in rows if r["axis"] == name]
        x = [r["value"] for r in sub]
        for key, label in (
            ("bridge_jax_s", "bridge_jax (iterative)"),
            ("spectral_s", "bridge_jax (spectral)"),
            ("numpy_s", "NumPy"),
        ):
            ax.loglog(x, [r[key] for r in sub], "o-", label=label)
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xticks(x, [str(v) for v in x])
        ax.set_xlabel(name)
        ax.set_ylabel("seconds (median)")
        ax.set_title(f"W2 Landweber: time vs {name}")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


PARTS = ("W1", "W2", "W3", "W4", "scaling")


def bench(out: str, quick: bool = False, only=PARTS) -> dict:
    import jax

    os.makedirs(out, exist_ok=True)
    repeat = 2 if quick else 3
    device = f"{jax.devices()[0].device_kind} ({jax.default_backend()}, {os.cpu_count()} cores)"
    peak_raw = gemm_peak(512 if quick else 2048)
    peak = max(peak_raw.values())
    entries = []
    plan = QUICK if quick else SIZES
    for workload, sizes in plan.items():
        if workload not in only:
            continue
        for size, params in sizes.items():
            print(f"bench: {workload} {size} {params}", file=sys.stderr, flush=True)
            entry = {"workload": workload, "size": size, "params": params}
            entry.update(_child(workload, size, params, repeat))
            entries.append(_finish(entry, peak, device))
    if "W1" in only:
        print("bench: W1 reproduce (cold and warm)", file=sys.stderr, flush=True)
        w1_entry = {"workload": "W1", "size": "quick" if quick else "paper", "params": {}}
        entries.append(_finish({**w1_entry, **w1(quick)}, peak, device))
    rows = []
    if "scaling" in only:
        print("bench: scaling", file=sys.stderr, flush=True)
        rows = scaling(quick, 1 if quick else 2)
        plot_scaling(rows, os.path.join(out, "scaling.png"))
    torch = _torch()
    result = {
        "format": "bridge_jax.bench/1",
        "device": device,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cores": os.cpu_count(),
        },
        "versions": {
            "python": platform.python_version(),
            "jax": jax.__version__,
            "numpy": np.__version__,
            "torch": torch.__version__ if torch else None,
        },
        "gemm_peak": peak_raw,
        "quick": quick,
        "parts": list(only),
        "entries": entries,
        "scaling": rows,
    }
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(out, "RESULTS.md"), "w") as f:
        f.write(markdown(result))
    return result


def _f(v, digits=3):
    if v is None:
        return "-"
    return f"{v:.{digits}g}"


def markdown(result: dict) -> str:
    """The results table (as in benchmarks/RESULTS.md)."""
    lines = [
        f"Device: {result['device']}; {result['machine']['platform']}; versions: "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + f". GEMM peak (float32): NumPy {_f(result['gemm_peak']['numpy_gflops'])} GFLOP/s, "
        f"XLA {_f(result['gemm_peak']['xla_gflops'])} GFLOP/s.",
        "",
        "| workload | size | bridge_jax s | compile s | spectral s | NumPy s | PyTorch s | "
        "x NumPy | x PyTorch | GFLOP/s | of peak | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in result["entries"]:
        compile_s = e.get("bridge_jax_compile_s")
        if e["workload"] == "W1":
            compile_s = e["bridge_jax_cold_s"] - e["bridge_jax_warm_s"]
        lines.append(
            f"| {e['workload']} | {e['size']} | {_f(e.get('bridge_jax_s'))} | {_f(compile_s)} | "
            f"{_f(e.get('spectral_s'))} | {_f(e.get('numpy_s'))} | {_f(e.get('torch_s'))} | "
            f"{_f(e.get('speedup_vs_numpy'))} | {_f(e.get('speedup_vs_torch'))} | "
            f"{_f(e.get('gflops'))} | {_f(e.get('fraction_of_peak'), 2)} | "
            f"{_f(e.get('peak_rss_mb'), 4)} |"
        )
    w3 = [e for e in result["entries"] if e["workload"] == "W3" and e.get("scipy_s")]
    if w3:
        lines += [
            "",
            "W3 against NumPy with `scipy.linalg.subspace_angles` (the angles' algorithm of "
            "`principal_angles`):",
            "",
            "| size | bridge_jax s | NumPy + SciPy angles s | x SciPy |",
            "|---|---|---|---|",
        ]
        for e in w3:
            lines.append(
                f"| {e['size']} | {_f(e.get('bridge_jax_s'))} | {_f(e.get('scipy_s'))} | "
                f"{_f(e.get('speedup_vs_scipy'))} |"
            )
    forms = [e for e in result["entries"] if e["workload"] == "W2"]
    if forms:
        lines += [
            "",
            "W2 in each form (the same useful work and iterates; blocked: "
            f"{W2_BLOCK} signals at a time; of peak: GFLOP/s over the GEMM peak):",
            "",
            "| size | landweber s | of peak | blocked s | of peak | landweber_gram s | of peak "
            "| gram blocked s | of peak | spectral s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for e in forms:
            cells = [e["size"], _f(e.get("bridge_jax_s")), _f(e.get("fraction_of_peak"), 2)]
            for form in ("blocked", "gram", "gram_blocked"):
                cells += [_f(e.get(f"{form}_s")), _f(e.get(f"{form}_fraction_of_peak"), 2)]
            lines.append("| " + " | ".join(cells + [_f(e.get("spectral_s"))]) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="results-bench")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="on a GPU: W1-W4 and the networks' training steps against PyTorch on the same "
        "device, into DIR/bench-gpu-<date>.json and .md (with --quick and no GPU: a dry run "
        "on the CPU)",
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated parts to run, of {','.join(PARTS)} (with --gpu: "
        "W1,W2,W3,W4,networks; default: all)",
    )
    parser.add_argument("--entry", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.entry:
        spec = json.loads(args.entry)
        print(json.dumps(run_entry(spec["workload"], spec["size"], spec["params"], spec["repeat"])))
        return 0
    from benchmarks import gpu

    parts = gpu.PARTS if args.gpu else PARTS
    only = parts if args.only is None else [p.strip() for p in args.only.split(",") if p.strip()]
    if not only or any(part not in parts for part in only):
        print(
            f"benchmarks: error: --only must name parts of {','.join(parts)}, got {args.only!r}.",
            file=sys.stderr,
        )
        return 2
    try:
        os.makedirs(args.out, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=args.out, prefix=".probe-"):
            pass
    except OSError as e:
        print(
            f"benchmarks: error: cannot write to --out {args.out!r}: {e.strerror or e}.",
            file=sys.stderr,
        )
        return 2
    if args.gpu:
        try:
            result = gpu.bench_gpu(args.out, args.quick, only)
        except gpu.NoGPU as e:
            print(f"benchmarks: error: {e}", file=sys.stderr)
            return 2
        print(f"wrote {args.out}/bench-gpu-{result['date']}.json and .md", file=sys.stderr)
        return 0
    result = bench(args.out, args.quick, only)
    for e in result["entries"]:
        cells = [
            f"{k}={e[k]:.3g}"
            for k in ("bridge_jax_s", "numpy_s", "torch_s", "gflops", "fraction_of_peak")
            if e.get(k) is not None
        ]
        print(f"{e['workload']:<3} {e['size']:<6} " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
