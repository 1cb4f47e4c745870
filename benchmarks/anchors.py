"""The imaging benchmark's losses run in the setting of a published result, to place a cell of
`bridge-jax imaging` beside it like for like where the setting can be matched.

- `noise2self`: Batson & Royer's Noise2Self example ("Intro to Neural Nets.ipynb" in
  czbiohub-sf/noise2self): MNIST with Gaussian noise of sigma 0.4 (not clipped), Adam at a
  constant learning rate 1e-3, 101 steps of 32 images (each image seen once), a held-out
  fraction of 1/16 of the pixels per pass; the test MSE (all pixels of 32 test digits) of the
  single-pass output `f(y)` and of the J-invariant output. Here: `Noise2Self(num_groups=16)`
  on a `UNet(scales=3, width=16)` (their BabyUnet: 3 levels, width 16), the digits of
  `load_mnist` (4,968 training, 32 test), and the supervised loss at the same budget beside it.
- `ei_inpainting`: Chen, Tachella & Davies's EI inpainting setting (their `train_paper_bash.sh`:
  a random mask dropping 30% of the pixels, no noise, shifts, weight 1) on the benchmark's
  `mnist_inpaint` cell: the study's own units (mc, ei, supervised; its UNet, training rule and
  data) with the mask keeping 70% and the noise level set to 1e-3 (the study needs a
  positive one; below the 8-bit quantisation step of the images).

    python -m benchmarks.anchors noise2self [--seeds 5] [--first-seed 0] [--groups 16] [--out FILE]
    python -m benchmarks.anchors ei_inpainting [--seeds 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from benchmarks._common import write_record


def _interval(values) -> dict:
    import bridge_jax as bj

    s = bj.summarize(values)
    return {"mean": s["mean"], "ci95": s["ci95"], "values": [float(v) for v in values]}


def noise2self(args) -> dict:
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import lineax as lx
    import optax

    import bridge_jax as bj
    from bridge_jax.studies._config import ImagingConfig
    from bridge_jax.studies.imaging.tasks import images

    sigma, steps, batch, lr = 0.4, 101, 32, 1e-3
    data = images(ImagingConfig(mnist_train=4968, mnist_test=32), "mnist")
    train, test = data.train, data.test
    op = lx.IdentityLinearOperator(jax.ShapeDtypeStruct(train.shape[1:], train.dtype))
    noise = bj.GaussianNoise(sigma)

    def measure(x, key):
        return jax.vmap(lambda xi, k: bj.measure(op, xi, noise, key=k))(
            x, jr.split(key, x.shape[0])
        )

    def make(name, key):
        net = bj.UNet(scales=3, width=16, key=key)
        if name == "noise2self":
            return bj.Noise2Self(model=net, num_groups=args.groups)
        return bj.Supervised(model=net)

    def train_one(name, key):
        k_net, k_y, k_order, k_loss = jr.split(key, 4)
        method = make(name, k_net)
        y_train = measure(train, k_y)
        order = jr.permutation(k_order, train.shape[0])[: steps * batch].reshape(steps, batch)
        opt = optax.adam(lr)
        params, static = eqx.partition(method, eqx.is_inexact_array)
        state = opt.init(params)

        @eqx.filter_jit
        def step(params, state, idx, k):
            def loss(p):
                m = eqx.combine(p, static)
                x = train[idx] if name == "supervised" else None
                return m.loss(bj.Batch(op, y_train[idx], sigma=sigma, x=x, u=y_train[idx]), key=k)

            value, grads = eqx.filter_value_and_grad(loss)(params)
            updates, state = opt.update(grads, state, params)
            return eqx.apply_updates(params, updates), state, value

        for i, k in enumerate(jr.split(k_loss, steps)):
            params, state, _ = step(params, state, order[i], k)
        return eqx.combine(params, static)

    @eqx.filter_jit
    def evaluate(method, y, key):
        single = jax.vmap(lambda yi: method.model(op, yi))(y)
        groups = bj.row_groups(test.shape[1:], args.groups, key=key)
        j_inv = jax.vmap(lambda yi: bj.split_inference(method.model, op, yi, groups))(y)
        return jnp.mean((single - test) ** 2), jnp.mean((j_inv - test) ** 2)

    out = {"noise2self": {"single_pass": [], "j_invariant": []}, "supervised": [], "y": []}
    for s in range(args.first_seed, args.first_seed + args.seeds):
        key = jr.fold_in(jr.key(2026), s)
        k_test, k_eval, k_n2s, k_sup = jr.split(key, 4)
        y_test = measure(test, k_test)
        out["y"].append(float(jnp.mean((y_test - test) ** 2)))
        n2s = train_one("noise2self", k_n2s)
        single, j_inv = evaluate(n2s, y_test, k_eval)
        out["noise2self"]["single_pass"].append(float(single))
        out["noise2self"]["j_invariant"].append(float(j_inv))
        sup = train_one("supervised", k_sup)
        out["supervised"].append(float(evaluate(sup, y_test, k_eval)[0]))
        print(
            f"seed {s}: test MSE y {out['y'][-1]:.4f}  noise2self single pass {float(single):.4f}"
            f"  J-invariant {float(j_inv):.4f}  supervised {out['supervised'][-1]:.4f}",
            flush=True,
        )

    def mse_and_psnr(values):
        psnr = [-10.0 * float(jnp.log10(v)) for v in values]
        return {"mse": _interval(values), "psnr": _interval(psnr)}

    return {
        "setting": {
            "sigma": sigma,
            "steps": steps,
            "batch": batch,
            "learning_rate": lr,
            "network": "UNet(scales=3, width=16)",
            "train": int(train.shape[0]),
            "test": int(test.shape[0]),
            "num_groups": args.groups,
        },
        "y": mse_and_psnr(out["y"]),
        "noise2self_single_pass": mse_and_psnr(out["noise2self"]["single_pass"]),
        "noise2self_j_invariant": mse_and_psnr(out["noise2self"]["j_invariant"]),
        "supervised_single_pass": mse_and_psnr(out["supervised"]),
    }


def ei_inpainting(args) -> dict:
    import bridge_jax as bj
    from bridge_jax.studies._config import ImagingConfig
    from bridge_jax.studies.imaging.run import run_reference, run_unit
    from bridge_jax.studies.imaging.tasks import TASKS

    # `random_mask`'s ratio is the fraction hidden: EI's mask rate 0.3.
    def mask70(key, shape):
        return bj.Mask(bj.random_mask(shape, 0.3, key=key))

    task = dataclasses.replace(
        TASKS["mnist_inpaint"],
        operator=mask70,
        family=mask70,
        description="MNIST 28x28 inpainting, 70% of the pixels kept (EI's mask rate 0.3)",
    )
    c = ImagingConfig(
        tasks=("mnist_inpaint",), methods=("mc", "ei", "supervised"), seeds=args.seeds, sigma=1e-3
    )
    c.validate()
    result = {"pinv": run_reference(c, task)}
    print(f"A^+ y: {_interval(result['pinv']['psnr'])}", flush=True)
    for method in ("mc", "ei", "supervised"):
        t0 = time.perf_counter()
        unit = run_unit(c, task, method)
        result[method] = {
            "psnr": _interval(unit["psnr"]),
            "ssim": _interval(unit["ssim"]),
            "steps": [sd["steps"] for sd in unit["seeds"]],
            "seconds": time.perf_counter() - t0,
        }
        print(f"{method}: {result[method]['psnr']} steps {result[method]['steps']}", flush=True)
    low, high = result["pinv"]["psnr"], result["supervised"]["psnr"]["values"]
    result["ei_gap_closed"] = [
        (e - lo) / (h - lo)
        for e, lo, h in zip(result["ei"]["psnr"]["values"], low, high, strict=True)
    ]
    return {"setting": c.as_dict(), **result}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("anchor", choices=("noise2self", "ei_inpainting"))
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--groups", type=int, default=16, help="noise2self: held-out groups")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="noise2self: the first seed (one run per seed)"
    )
    parser.add_argument("--out", help="JSON file for the numbers (default: print only)")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 5 if args.anchor == "noise2self" else 3
    t0 = time.perf_counter()
    numbers = noise2self(args) if args.anchor == "noise2self" else ei_inpainting(args)
    numbers["wall_seconds"] = time.perf_counter() - t0
    if args.out:
        write_record(args.out, args, **numbers)
    print(numbers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
