"""Time per batch of each imaging operator at 128 x 128, forward and adjoint.

For each operator a batch of 64 images and, where the operator has random parameters (masks,
kernels, signs and rows, CT angles), 64 operators drawn from 64 keys (otherwise one operator
shared by the batch); `eqx.filter_jit(eqx.filter_vmap(op.mv))` over (operators, images) and
the same for the adjoint `bridge_jax.adjoint(op)`. Times
are the median of `--repeat` runs after one untimed warm-up (the warm-up's time, compilation
included, is reported apart). float32.

    python benchmarks/imaging_ops.py [--size 128] [--batch 64] [--repeat 7]
        [--out benchmarks/imaging_ops.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform

import equinox as eqx
import jax
import jax.random as jr

import bridge_jax as bj
from benchmarks._common import median_time


def operators(size: int):
    """name -> (draw(key) -> operator, what is random per image)."""
    shape = (size, size)
    n = size * size

    def blur(boundary):
        return lambda k: bj.Blur(bj.random_kernel(9, key=k), shape=shape, boundary=boundary)

    return {
        "inpainting (pixels, 50%)": (
            lambda k: bj.Mask(bj.random_mask(shape, 0.5, key=k)),
            "mask",
        ),
        "inpainting (4 boxes 24x24)": (
            lambda k: bj.Mask(bj.box_mask(shape, (24, 24), key=k, num_boxes=4)),
            "mask",
        ),
        "cs structured (m = n/4)": (
            lambda k: bj.StructuredSensing(shape, n // 4, key=k),
            "signs, rows",
        ),
        "blur circular 9x9": (blur("circular"), "kernel"),
        "blur zero 9x9": (blur("zero"), "kernel"),
        "blur reflect 9x9": (blur("reflect"), "kernel"),
        "blur valid 9x9": (blur("valid"), "kernel"),
        "super-resolution x2": (lambda k: bj.Downsample(shape, 2), "none"),
        "super-resolution x4": (lambda k: bj.Downsample(shape, 4), "none"),
        "mri x4": (
            lambda k: bj.MRI(bj.cartesian_mask(shape, 4, center_fraction=0.08, key=k)),
            "mask",
        ),
        "mri x8": (
            lambda k: bj.MRI(bj.cartesian_mask(shape, 8, center_fraction=0.04, key=k)),
            "mask",
        ),
        "ct 30 angles": (lambda k: bj.Radon(shape, 30), "none"),
        "ct 60 angles": (lambda k: bj.Radon(shape, 60), "none"),
        "ct 60 random angles": (
            lambda k: bj.Radon(shape, jr.uniform(k, (60,), minval=0.0, maxval=180.0)),
            "angles",
        ),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", default="benchmarks/imaging_ops.json")
    args = parser.parse_args(argv)
    key = jr.key(0)
    xs = jr.uniform(jr.fold_in(key, 1), (args.batch, args.size, args.size))
    entries = []
    for name, (draw, random) in operators(args.size).items():
        if random == "none":  # one operator for the whole batch
            ops, in_axes = draw(key), (None, 0)
        else:  # one operator per image, drawn from its own key
            ops = eqx.filter_jit(jax.vmap(draw))(jr.split(jr.fold_in(key, 2), args.batch))
            in_axes = (eqx.if_array(0), 0)
        forward = eqx.filter_jit(eqx.filter_vmap(lambda op, x: op.mv(x), in_axes=in_axes))
        backward = eqx.filter_jit(
            eqx.filter_vmap(lambda op, y: bj.adjoint(op).mv(y), in_axes=in_axes)
        )
        ys = forward(ops, xs)
        fwd, fwd_first = median_time(forward, ops, xs, repeat=args.repeat)
        adj, adj_first = median_time(backward, ops, ys, repeat=args.repeat)
        entries.append(
            {
                "operator": name,
                "random_per_image": random,
                "output_shape": list(ys.shape[1:]),
                "output_dtype": str(ys.dtype),
                "forward_s": round(fwd, 5),
                "adjoint_s": round(adj, 5),
                "forward_first_call_s": round(fwd_first, 3),
                "adjoint_first_call_s": round(adj_first, 3),
            }
        )
        print(f"{name:28s} forward {fwd * 1e3:8.1f} ms  adjoint {adj * 1e3:8.1f} ms / batch")
    result = {
        "image_shape": [args.size, args.size],
        "batch": args.batch,
        "repeat": args.repeat,
        "statistic": "median seconds per batch after one warm-up call",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpu_count": os.cpu_count(),
            "device": str(jax.devices()[0].device_kind),
        },
        "versions": {"jax": jax.__version__, "jaxlib": jax.lib.__version__},
        "entries": entries,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
