"""XLA:CPU compile time and run time under compiler flags, side by side in one run.

The test suite and the short studies spend most of their time compiling, not running. This
measures what two XLA:CPU settings change: the backend's optimisation level
(`--xla_backend_optimization_level=0`, which the tests use) and the fusion emitters
(`--xla_cpu_use_fusion_emitters=false`: XLA's older LLVM IR emitters instead of its MLIR
ones). Each setting runs in its own child process (XLA reads its flags once per process), with
no persistent compilation cache, on the same programs and inputs:

- `eager`: `--eager` small NumPy-style expressions on arrays of distinct shapes, run eagerly
  (one tiny program per primitive, as most tests do);
- `landweber`: `bj.landweber` vmapped over 256 signals of a 256 x 128 Gaussian operator, 200
  steps;
- `unet_grad`: the gradient of the Noise2Self loss of a `bj.UNet` on 16 images of 32 x 32;
- `simclr_grad`: the gradient of the SimCLR method's loss on 64 signals of 64 entries.

For each program it reports the compile seconds (JAX's backend-compile events), the median run
time of `--repeat` calls after the compiling one, and the largest relative difference of its
output from the default setting's (the settings change rounding, not the arithmetic).

    python -m benchmarks.compile_flags [--eager 150] [--repeat 5] [--out FILE]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys

from benchmarks._common import median_time, write_record

SETTINGS = {
    "default": "",
    "O0": "--xla_backend_optimization_level=0",
    "legacy emitters": "--xla_cpu_use_fusion_emitters=false",
    "O0 + legacy emitters": (
        "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
    ),
}


def _programs():
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import jax.random as jr

    import bridge_jax as bj

    def loss_grad(batch, key):
        """The gradient of a method's loss on `batch` in all its arrays, as one vector."""

        @eqx.filter_jit
        def grad(method):
            grads = eqx.filter_grad(lambda m: m.loss(batch, key=key))(method)
            leaves = jax.tree_util.tree_leaves(eqx.filter(grads, eqx.is_array))
            return jnp.concatenate([g.reshape(-1) for g in leaves])

        return grad

    k_op, k_x, k_n, k_m = jr.split(jr.key(0), 4)
    op = bj.GaussianSensing(128, 256, key=k_op)
    ys = jax.vmap(op.mv)(jr.normal(k_x, (256, 128)))

    @jax.jit
    def landweber(ys):
        return jax.vmap(lambda y: bj.landweber(op, y, step_size=0.5, num_steps=200)[0])(ys)

    images = jr.uniform(k_x, (16, 32, 32))
    mask_op = bj.Mask(bj.random_mask((32, 32), 0.3, key=k_m))
    noisy = jax.vmap(mask_op.mv)(images) + 0.05 * jr.normal(k_n, images.shape)
    image_batch = bj.Batch(mask_op, noisy, sigma=0.05, u=noisy)
    net = bj.UNet(scales=2, width=8, key=k_op)
    n2s = bj.make_method("noise2self", 32 * 32, key=k_op, sigma=0.05, reconstructor=net)

    gauss = bj.GaussianSensing(64, 32, key=k_op)
    xs = jr.normal(k_x, (64, 64))
    vec_batch = bj.Batch(gauss, jax.vmap(gauss.mv)(xs), sigma=0.1, x=xs)
    simclr = bj.make_method("simclr", 64, key=k_op, step=0.2, sigma=0.1, width=32, dim=8)

    return {
        "landweber": (landweber, (ys,)),
        "unet_grad": (loss_grad(image_batch, k_n), (n2s,)),
        "simclr_grad": (loss_grad(vec_batch, k_n), (simclr,)),
    }


def child(eager: int, repeat: int) -> dict:
    import time

    import jax
    import jax.monitoring
    import jax.numpy as jnp
    import numpy as np

    compile_s = collections.Counter()

    def listen(name, secs, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            compile_s["s"] += secs
            compile_s["n"] += 1

    jax.monitoring.register_event_duration_secs_listener(listen)
    jnp.zeros(1).block_until_ready()
    rows = {}
    compile_s.clear()
    t0 = time.perf_counter()
    total = jnp.zeros(())
    for i in range(1, eager + 1):
        x = jnp.linspace(-1.0, 1.0, i)
        total = total + (jnp.sin(x) @ x + jnp.cumsum(2.0 * x + 1.0)[-1] + jnp.abs(x).max())
    total.block_until_ready()
    rows["eager"] = {
        "wall_s": time.perf_counter() - t0,
        "compile_s": compile_s["s"],
        "programs": compile_s["n"],
        "out": [float(total)],
    }
    for name, (fn, args) in _programs().items():
        compile_s.clear()
        median, first = median_time(fn, *args, repeat=repeat)
        rows[name] = {
            "compile_s": compile_s["s"],
            "programs": compile_s["n"],
            "first_call_s": first,
            "run_s": median,
            "out": np.asarray(fn(*args)).reshape(-1).tolist(),
        }
    return rows


def _max_rel(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-30))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eager", type=int, default=150, help="eager expressions (shapes)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", help="JSON file for the numbers (default: print only)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.eager, args.repeat)))
        return 0
    results = {}
    for label, flags in SETTINGS.items():
        env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
        env["XLA_FLAGS"] = flags
        cmd = [sys.executable, "-m", "benchmarks.compile_flags", "--child"]
        cmd += ["--eager", str(args.eager), "--repeat", str(args.repeat)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        results[label] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{label}: done", file=sys.stderr, flush=True)
    base = results["default"]
    print("| program | setting | compile s | programs | run s | max rel. diff from default |")
    print("|---|---|---|---|---|---|")
    for name in base:
        for label, rows in results.items():
            row = rows[name]
            run = f"{row['run_s']:.4f}" if "run_s" in row else f"{row['wall_s']:.2f} (wall)"
            diff = _max_rel(base[name]["out"], row["out"])
            print(
                f"| {name} | {label} | {row['compile_s']:.2f} | {row['programs']} | {run} "
                f"| {diff:.1e} |"
            )
    for rows in results.values():
        for row in rows.values():
            row["out"] = len(row["out"])  # the file keeps sizes, not the outputs
    if args.out:
        write_record(args.out, args, settings=SETTINGS, results=results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
