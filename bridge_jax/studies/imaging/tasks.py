"""The benchmark's tasks: data, operator (one fixed per seed, and a family for MOI), noise,
the lower reference and EI's transform group."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx

import bridge_jax as bj

# CT: 40 angles per 64 pixels of side (20 on 32 x 32 patches): the same angular undersampling,
# 0.4 of the ~pi N / 2 angles that an N x N image needs, whatever the patch size.
CT_ANGLES_PER_64 = 40
CS_POOL = 16  # MOI on compressed sensing: 16 Gaussian matrices, one drawn per image


@dataclasses.dataclass(frozen=True)
class Task:
    """One inverse problem. `operator(key, shape)` draws the seed's fixed operator,
    `family(key, shape)` one operator of MOI's family (None: no family, MOI not run),
    `noise(config)` the noise model, `sigma(config)` the known Gaussian noise level given to
    Noisier2Noise, SURE and R2R (None: not Gaussian, those three are not run), `reference(op,
    y)` the lower reference, `group` EI's transform group."""

    name: str
    data: str
    description: str
    operator: Callable
    family: Callable | None
    noise: Callable
    sigma: Callable
    reference: Callable
    reference_name: str
    group: Callable
    group_name: str
    complex_data: bool = False

    def method_kwargs(self, method: str, config) -> dict:
        """Extra keyword arguments of `bj.make_method` for `method` on this task (none yet)."""
        return {}


class Images(NamedTuple):
    """A task's images: `train`, `test` `(N, H, W)` in [0, 1]; `test_source[i]` the index into
    `names` of the source test image `i` comes from."""

    train: jax.Array
    test: jax.Array
    test_source: jax.Array
    names: tuple[str, ...]


@functools.cache
def images(c, data: str) -> Images:
    """The train and test images of `data` ("mnist" or "patches"), fixed by `c.seed`."""
    if data == "mnist":
        x, _ = bj.load_mnist()
        order = jr.permutation(jr.fold_in(jr.key(c.seed), 0), x.shape[0])
        test = x[order[c.mnist_train : c.mnist_train + c.mnist_test]]
        return Images(
            x[order[: c.mnist_train]], test, jnp.zeros(test.shape[0], jnp.int32), ("mnist",)
        )
    p = bj.load_image_patches(
        c.patch_size, patches_per_image=c.patches_per_image, key=jr.fold_in(jr.key(c.seed), 1)
    )
    return Images(p.train, p.test, p.test_source, p.names)


def _identity(key, shape):
    return lx.IdentityLinearOperator(jax.ShapeDtypeStruct(shape, jnp.float32))


def _inpainting(key, shape):
    return bj.Mask(bj.random_mask(shape, 0.5, key=key))


def _cs(key, shape):
    n = shape[0] * shape[1]
    return bj.GaussianSensing(shape, n // 4, key=key)


def ct_angles(shape) -> int:
    """The number of CT angles for `(H, W)` patches: 40 per 64 pixels of side."""
    return max(2, round(CT_ANGLES_PER_64 * shape[0] / 64))


def _ct_scale(shape):
    # Radon(shape, a) has norm ~0.98 sqrt(a H) (49.7 for 64 x 64 and 40 angles): scaled to
    # norm ~1 so that A^T y has the image's scale and the networks see the same range of
    # inputs on every task.
    return 1.0 / (ct_angles(shape) * shape[0]) ** 0.5


def _ct(key, shape):
    return bj.Radon(shape, ct_angles(shape)) * _ct_scale(shape)


def _ct_family(key, shape):
    angles = jnp.sort(jr.uniform(key, (ct_angles(shape),), minval=0.0, maxval=180.0))
    return bj.Radon(shape, angles) * _ct_scale(shape)


def _mri(key, shape):
    return bj.MRI(bj.cartesian_mask(shape, 4, key=key))


def _blur(key, shape):
    return bj.Blur(bj.gaussian_kernel(1.5, size=9), shape=shape)


def _blur_family(key, shape):
    return bj.Blur(bj.random_kernel(9, key=key, sigma_range=(0.5, 2.5)), shape=shape)


def _sr(key, shape):
    # Scaled by f = 2 so that A A^T = I: A^T y is the nearest-neighbour upsampling at the
    # image's scale (the unscaled A^T y is a quarter of it), and A^+ = A^T.
    return bj.Downsample(shape, 2) * 2.0


def _back_projection(op, y):
    return bj.adjoint(op).mv(y)


def _measurement(op, y):
    return y


def _pinv(op, y):
    return bj.pinv_solve(op, y)


def _mri_pinv(op, y):
    return op.pseudoinverse(y)


def _landweber(op, y):
    # ||A|| ~ 1 after scaling: step 1, 50 steps from zero (early stopping regularises; the
    # exact pseudoinverse amplifies the noise through the small singular values).
    x0 = jnp.zeros(op.in_structure().shape, y.dtype)
    return bj.landweber(op, y, x0=x0, step_size=1.0, num_steps=50)[0]


def _gaussian(attr):
    return lambda c: bj.GaussianNoise(getattr(c, attr))


def _sigma(attr):
    return lambda c: getattr(c, attr)


_NONE = lambda c: None  # noqa: E731

TASKS = {
    t.name: t
    for t in (
        Task(
            "mnist_denoise",
            "mnist",
            "MNIST 28x28 denoising, Gaussian noise",
            _identity,
            None,
            _gaussian("denoise_sigma"),
            _sigma("denoise_sigma"),
            _measurement,
            "y (the noisy image)",
            bj.random_circular_shift,
            "circular shifts",
        ),
        Task(
            "mnist_poisson",
            "mnist",
            "MNIST 28x28 denoising, Poisson noise",
            _identity,
            None,
            lambda c: bj.PoissonNoise(c.poisson_gain),
            _NONE,
            _measurement,
            "y (the noisy image)",
            bj.random_circular_shift,
            "circular shifts",
        ),
        Task(
            "mnist_inpaint",
            "mnist",
            "MNIST 28x28 inpainting, 50% of the pixels (one random mask per seed)",
            _inpainting,
            _inpainting,
            _gaussian("sigma"),
            _sigma("sigma"),
            _back_projection,
            "zero-filled A^T y (= A^+ y)",
            bj.random_circular_shift,
            "circular shifts",
        ),
        Task(
            "mnist_cs",
            "mnist",
            "MNIST 28x28 compressed sensing, Gaussian A, m = n/4 = 196",
            _cs,
            _cs,
            _gaussian("sigma"),
            _sigma("sigma"),
            _pinv,
            "A^+ y",
            bj.random_circular_shift,
            "circular shifts",
        ),
        Task(
            "ct",
            "patches",
            "image patches, sparse-view CT, 40 evenly spaced angles per 64 px of side "
            "(20 on 32x32; Radon / sqrt(angles x side))",
            _ct,
            _ct_family,
            _gaussian("sigma"),
            _sigma("sigma"),
            _landweber,
            "Landweber, 50 steps from 0",
            bj.random_small_rotation,
            "rotations within +-15 degrees",
        ),
        Task(
            "mri",
            "patches",
            "image patches, MRI, 4x Cartesian lines (8% centre; one random mask per seed)",
            _mri,
            _mri,
            _gaussian("sigma"),
            _sigma("sigma"),
            _mri_pinv,
            "zero-filled A^+ y",
            bj.random_rot90,
            "90-degree rotations",
            complex_data=True,
        ),
        Task(
            "deblur",
            "patches",
            "image patches, deblurring, circular Gaussian blur sigma 1.5 px",
            _blur,
            _blur_family,
            _gaussian("sigma"),
            _sigma("sigma"),
            _measurement,
            "y (the blurred image)",
            bj.random_circular_shift,
            "circular shifts (the blur is equivariant to them: EI expected to gain nothing)",
        ),
        Task(
            "sr",
            "patches",
            "image patches, x2 super-resolution (2x2 box average, scaled by 2: A A^T = I)",
            _sr,
            None,
            _gaussian("sigma"),
            _sigma("sigma"),
            _back_projection,
            "A^+ y = A^T y (nearest-neighbour upsampling)",
            bj.random_circular_shift,
            "circular shifts",
        ),
    )
}

NEEDS_SIGMA = ("noisier2noise", "sure", "r2r")
REAL_ONLY = ("sure", "r2r")  # their losses assume real Gaussian noise on real measurements


def applicable(task: Task, method: str, config) -> str | None:
    """Why `method` is not run on `task` (None: it is)."""
    if method == "moi" and task.family is None:
        return "one operator only: no family for MOI"
    if method in NEEDS_SIGMA and task.sigma(config) is None:
        return "assumes Gaussian noise of known level"
    if method in REAL_ONLY and task.complex_data:
        return "assumes real measurements"
    return None
