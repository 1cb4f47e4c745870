"""Imaging physics: a figure per operator: a test image, its measurement and its
pseudoinverse reconstruction, with PSNR.

Question: what does each imaging operator of bridge_jax keep of a real 128 x 128 image, i.e.
how far is the minimum-norm least-squares reconstruction $A^+ A x$ from $x$?

Definitions: $x$ is scikit-image's `camera` (or `--image`), grey in [0, 1], centre-cropped
and box-downsampled to `--size`; $y = A x$ without noise (magnitude shown for complex
k-space, on a log scale); $\\hat x = A^+ y$: for MRI in closed form (`MRI.pseudoinverse`),
otherwise `bridge_jax.pinv_solve(A, y)` matrix-free, i.e. LSMR from zero stopped after at
most `--iters` iterations (the minimum-norm solution, truncated for the ill-conditioned blurs
and CT); PSNR and SSIM with `data_range=1`, of the reconstruction clipped to [0, 1].
Writes DIR/figures/imaging_<operator>.png and DIR/imaging_physics.json.

    bridge-jax physics --out DIR [--image camera] [--size 128]
"""

from __future__ import annotations

import os

import jax.numpy as jnp
import jax.random as jr
import lineax as lx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import bridge_jax as bj  # noqa: E402
from bridge_jax import store  # noqa: E402
from bridge_jax.studies._common import name_key  # noqa: E402
from bridge_jax.studies._runner import UserError, check_writable  # noqa: E402


def test_image(name: str, size: int):
    """A centred square crop of a bundled image, box-downsampled to size x size."""
    image = bj.load_image(name)
    factor = min(image.shape) // size
    h, w = image.shape
    crop = size * factor
    top, left = (h - crop) // 2, (w - crop) // 2
    return bj.Downsample((crop, crop), factor).mv(image[top : top + crop, left : left + crop])


def operators(size: int, key):
    """The twelve imaging operators on size x size images; each draws its randomness from
    its own name (`name_key`), so adding or reordering entries changes no other operator."""
    shape, n = (size, size), size * size
    return {
        "inpainting_pixels": bj.Mask(
            bj.random_mask(shape, 0.5, key=name_key(key, "inpainting_pixels"))
        ),
        "inpainting_boxes": bj.Mask(
            bj.box_mask(
                shape, (3 * size // 16,) * 2, key=name_key(key, "inpainting_boxes"), num_boxes=4
            )
        ),
        "cs_structured": bj.StructuredSensing(shape, n // 4, key=name_key(key, "cs_structured")),
        "blur_gaussian_circular": bj.Blur(bj.gaussian_kernel(2.0), shape=shape),
        "blur_motion_reflect": bj.Blur(
            bj.motion_kernel(11, key=name_key(key, "blur_motion_reflect")),
            shape=shape,
            boundary="reflect",
        ),
        "blur_random_valid": bj.Blur(
            bj.random_kernel(9, key=name_key(key, "blur_random_valid")),
            shape=shape,
            boundary="valid",
        ),
        "sr_x2": bj.Downsample(shape, 2),
        "sr_x4": bj.Downsample(shape, 4),
        "mri_x4": bj.MRI(
            bj.cartesian_mask(shape, 4, center_fraction=0.08, key=name_key(key, "mri_x4"))
        ),
        "mri_x8": bj.MRI(
            bj.cartesian_mask(shape, 8, center_fraction=0.04, key=name_key(key, "mri_x8"))
        ),
        "ct_60_angles": bj.Radon(shape, 60),
        "ct_30_angles": bj.Radon(shape, 30),
    }


def shown(y, size):
    """The measurement as an image: |k-space| (centred, log), a CS vector reshaped."""
    y = np.asarray(y)
    if np.iscomplexobj(y):
        return np.log10(1e-4 + np.abs(np.fft.fftshift(y)))
    if y.ndim == 1:
        side = int(np.sqrt(y.size))
        return y[: side * side].reshape(side, side)
    return y


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="results", help="output folder (default: results)")
    parser.add_argument(
        "--image",
        default="camera",
        choices=bj.IMAGE_NAMES,
        metavar="NAME",
        help=f"scikit-image test image, one of {', '.join(bj.IMAGE_NAMES)}",
    )
    parser.add_argument("--size", type=int, default=128, help="image side (default 128)")
    parser.add_argument("--iters", type=int, default=300, help="LSMR iterations at most")
    parser.add_argument("--seed", type=int, default=0, help="random seed")


def run_from_args(args) -> int:
    if args.size < 16 or args.iters < 1:
        raise UserError(f"--size must be >= 16 and --iters >= 1, got {args.size}, {args.iters}.")
    if args.seed < 0:
        raise UserError(f"--seed must be >= 0, got {args.seed}.")
    side = min(bj.load_image(args.image).shape)
    if args.size > side:
        raise UserError(
            f"--size must be at most {side} (the shorter side of image {args.image!r}), got "
            f"{args.size}."
        )
    check_writable(args.out)
    x = test_image(args.image, args.size)
    results = {}
    for name, op in operators(args.size, jr.key(args.seed)).items():
        y = bj.measure(op, x)  # noise-free: the pseudoinverse's own error
        if isinstance(op, bj.MRI):
            x_hat = op.pseudoinverse(y)  # closed form
        else:
            lsmr = lx.LSMR(rtol=1e-6, atol=1e-6, max_steps=args.iters)
            x_hat = bj.pinv_solve(op, y, solver=lsmr, throw=False)
        psnr = float(bj.psnr(jnp.clip(x_hat, 0, 1), x, data_range=1.0))
        ssim = float(bj.ssim(jnp.clip(x_hat, 0, 1), x, data_range=1.0))
        results[name] = {"psnr_db": round(psnr, 2), "ssim": round(ssim, 4)}
        fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.7))
        panels = (
            (x, f"image x ({args.image})"),
            (shown(y, args.size), f"measurement y, shape {tuple(y.shape)}"),
            (x_hat, f"pinv(A) y: PSNR {psnr:.1f} dB, SSIM {ssim:.2f}"),
        )
        for i, (ax, (img, title)) in enumerate(zip(axes, panels, strict=True)):
            ax.imshow(np.asarray(img), cmap="gray", aspect="auto" if i == 1 else "equal")
            ax.set_title(title, fontsize=9)
            ax.axis("off")
        fig.suptitle(f"{name}: {type(op).__name__}", fontsize=10)
        fig.tight_layout()
        store.save_figure(fig, os.path.join(args.out, "figures", f"imaging_{name}.png"), dpi=110)
        plt.close(fig)
        print(f"{name:24s} PSNR {psnr:6.2f} dB  SSIM {ssim:.3f}", flush=True)
    store.write_json(
        os.path.join(args.out, "imaging_physics.json"), {"image": args.image, **results}
    )
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.physics") -> int:
    from bridge_jax.studies import main as run_study

    return run_study("physics", argv, prog)


if __name__ == "__main__":
    raise SystemExit(main())
