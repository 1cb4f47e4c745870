"""The benchmark's tasks: data, operator (one fixed per seed, and a family for MOI), noise,
the lower reference, EI's transform group and weight.

Image patches: `load_image_patches(split="regions")`: every one of the 16 bundled images gives
`test_patches_per_image` test patches (default 4) from a band along its longer axis (a quarter
of it, at least one patch wide) and `patches_per_image` training patches from the rest, so the
test set has 16 sources and no test pixel is in a training patch; a test patch whose pixels
have a standard deviation below `min_test_std` (default 0.01: flat background or a saturated
region, which a split by image gave 7 of its 48 test patches) is redrawn from the same band.
CT uses the same patches multiplied by the inscribed disc (`disc`), the field of view of
parallel-beam CT: the patches are masked, not the operator (the Radon transform of the whole
square, whose outer detector bins then measure zeros plus noise).
"""

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

# Sparse-view CT: as many evenly spaced angles as give m / n = 0.3 (P detector bins per
# angle, n = H W pixels): 7 angles on 32 x 32 (m = 322, m / n = 0.31), 14 on 64 x 64.
CT_RATIO = 0.3
# EI's weight on its equivariance term, as its papers set it, for the balance of its two terms
# (consistency in the measurements' units, equivariance in the image's):
# - compressed sensing: 10 (Chen, Tachella & Davies 2021, their example on USPS, alpha = 10,
#   with A ~ N(0, 1/m) as `GaussianSensing`'s): taken as is;
# - CT: 100 (the EI code's CT training, --ei-alpha 100) on an unscaled Radon transform of 50
#   views of 128 x 128 images, of squared norm ~0.98^2 x 50 x 128 ~ 6,150; our Radon is scaled
#   to norm ~1, which multiplies the consistency term by 1 / 6,150 against theirs: the same
#   balance is 100 / 6,150 = 0.016. (Measured, one seed, 1,000 steps of the default unit:
#   weight 100 unscaled gave 14.8 dB against 19.7 for mc, 20.1 for 0.016, 20.3 for 1.)
# - elsewhere 1 (their inpainting default; robust EI, Chen et al. 2022: 1 on inpainting, MRI).
EI_WEIGHT_CS = 10.0
EI_WEIGHT_CT = 100.0 / (0.98**2 * 50 * 128)
CS_POOL = 16  # MOI on compressed sensing: 16 Gaussian matrices, one drawn per image


@dataclasses.dataclass(frozen=True)
class Task:
    """One inverse problem. `operator(key, shape)` draws the seed's fixed operator,
    `family(key, shape)` one operator of MOI's family (None: no family, MOI not run),
    `noise(config)` the noise model, `sigma(config)` the known Gaussian noise level given to
    Noisier2Noise, SURE and R2R (None: not Gaussian, those three are not run), `reference(op,
    y)` the lower reference, `group` EI's transform group. `reference_matrix(op)`: the
    `(n, m)` matrix of `reference(op, .)` where that reference is linear in y and costly (an
    SVD, an iterative solve), so that a network on it (`net_input` "pinv") applies it, formed
    once per operator, instead of solving in every forward pass; None where the reference (a
    mask, an FFT, y itself) is as cheap as that matrix."""

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
    ei_weight: float = 1.0
    denoising: bool = False
    reference_matrix: Callable | None = None

    def method_kwargs(self, method: str, config) -> dict:
        """Extra keyword arguments of `bj.make_method` for `method` on this task: EI's and
        robust EI's weight (`ei_weight`)."""
        if method in ("ei", "rei"):
            return {"ei_weight": self.ei_weight}
        return {}


class Images(NamedTuple):
    """A task's images: `train`, `test` `(N, H, W)` in [0, 1]; `test_source[i]` the index into
    `names` of the source test image `i` comes from."""

    train: jax.Array
    test: jax.Array
    test_source: jax.Array
    names: tuple[str, ...]


def disc(shape) -> jax.Array:
    """The inscribed disc of an `(H, W)` image: true at the pixels whose centre lies within
    `min(H, W) / 2` of the image's centre `((H - 1) / 2, (W - 1) / 2)` (`image_rotate`'s)."""
    h, w = shape
    i, j = jnp.arange(h)[:, None] - (h - 1) / 2, jnp.arange(w)[None, :] - (w - 1) / 2
    return i**2 + j**2 <= (min(h, w) / 2) ** 2


@functools.cache
def images(c, data: str) -> Images:
    """The train and test images of `data` ("mnist", "patches" or "disc_patches": the patches
    inside the inscribed disc, zero outside), fixed by `c.seed`. New settings read with their
    defaults if the config lacks them: `test_patches_per_image` (4), `min_test_std` (0.01)."""
    if data == "disc_patches":
        p = images(c, "patches")
        inside = disc(p.train.shape[1:])
        return Images(p.train * inside, p.test * inside, p.test_source, p.names)
    if data == "mnist":
        x, _ = bj.load_mnist()
        order = jr.permutation(jr.fold_in(jr.key(c.seed), 0), x.shape[0])
        test = x[order[c.mnist_train : c.mnist_train + c.mnist_test]]
        return Images(
            x[order[: c.mnist_train]], test, jnp.zeros(test.shape[0], jnp.int32), ("mnist",)
        )
    p = bj.load_image_patches(
        c.patch_size,
        patches_per_image=c.patches_per_image,
        key=jr.fold_in(jr.key(c.seed), 1),
        split="regions",
        test_patches_per_image=c.test_patches_per_image,
        min_test_std=c.min_test_std,
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
    """The number of CT angles for `(H, W)` patches: `round(CT_RATIO H W / P)` with `P` the
    detector bins per angle (`Radon.num_bins`), so that m / n is about `CT_RATIO`."""
    bins = bj.Radon(tuple(shape), 1).num_bins
    return max(2, round(CT_RATIO * shape[0] * shape[1] / bins))


def _ct_scale(shape):
    # Radon(shape, a) has norm ~0.98 sqrt(a H): scaled to norm ~1 so that A^T y has the
    # image's scale and the networks see the same range of inputs on every task.
    return 1.0 / (ct_angles(shape) * shape[0]) ** 0.5


def _ct(key, shape):
    return bj.Radon(shape, ct_angles(shape)) * _ct_scale(shape)


def _ct_family(key, shape):
    angles = jnp.sort(jr.uniform(key, (ct_angles(shape),), minval=0.0, maxval=180.0))
    return bj.Radon(shape, angles) * _ct_scale(shape)


def disc_rotation(x, *, key):
    """EI's group for CT: a rotation by an angle uniform in [0, 360) degrees about the centre
    (`image_rotate`, bilinear), then the disc mask. It maps images supported in the inscribed
    disc to images supported in it (nothing leaves the square, unlike `random_small_rotation`'s
    corners) and its angles are not a multiple of the angle step: $A T_g$ sees projections
    that $A$ does not. It is a group up to the interpolation."""
    angle = jr.uniform(key, (), x.dtype, 0.0, 360.0)
    return bj.image_rotate(x, angle) * disc(x.shape)


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


# CT's reference: Landweber with step 1 (||A|| ~ 1 after scaling) for this many steps from
# zero (early stopping regularises; the exact pseudoinverse amplifies the noise through the
# small singular values).
LANDWEBER_STEPS = 50


def _landweber(op, y):
    x0 = jnp.zeros(op.in_structure().shape, y.dtype)
    return bj.landweber(op, y, x0=x0, step_size=1.0, num_steps=LANDWEBER_STEPS)[0]


def linear_map_matrix(op, reference) -> jax.Array:
    """The `(n, m)` matrix of `reference(op, .)`, a map linear in the measurement: its columns
    are its values on the m unit measurements."""
    solve = lx.FunctionLinearOperator(lambda e: reference(op, e), op.out_structure())
    return bj.dense_matrix(solve)


def _pinv_matrix(op):
    return linear_map_matrix(op, _pinv)


def _landweber_matrix(op):
    r"""The `(n, m)` matrix of `_landweber(op, .)` in closed form: $T$ steps of size 1 from
    zero give $\sum_{j<T} (I - A^\top A)^j A^\top = A^\top h(A A^\top)$ with $h(t) = (1 - (1 -
    t)^T) / t$ (`landweber_spectral`'s filter), $h$ applied through one eigendecomposition
    of the `(m, m)` matrix $A A^\top$. That instead of $T$ Landweber steps on each of the m
    unit measurements: cheap enough for MOI's CT family, one operator per training patch."""
    a = bj.dense_matrix(op)  # (m, n) on flattened arrays
    t, u = jnp.linalg.eigh(a @ a.T)
    # (1 - (1 - t)^T) / t without the cancellation at small t (expm1 / log1p there); its
    # limit T at t = 0 (rounding can make an eigenvalue of A A^T zero or slightly negative).
    small = -jnp.expm1(LANDWEBER_STEPS * jnp.log1p(-jnp.clip(t, 0.0, 0.5)))
    passed = jnp.where(t < 0.5, small, 1 - (1 - t) ** LANDWEBER_STEPS)
    h = jnp.where(t > 0, passed / jnp.where(t > 0, t, 1.0), LANDWEBER_STEPS)
    return a.T @ ((u * h) @ u.T)


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
            denoising=True,
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
            denoising=True,
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
            ei_weight=EI_WEIGHT_CS,
            reference_matrix=_pinv_matrix,
        ),
        Task(
            "ct",
            "disc_patches",
            "image patches inside the inscribed disc (zero outside: CT's circular field of "
            "view), sparse-view CT, evenly spaced angles for m/n = 0.3 (7 on 32x32, m = 322; "
            "Radon / sqrt(angles x side))",
            _ct,
            _ct_family,
            _gaussian("sigma"),
            _sigma("sigma"),
            _landweber,
            "Landweber, 50 steps from 0",
            disc_rotation,
            "rotations by any angle in [0, 360) about the disc's centre, disc-masked",
            ei_weight=EI_WEIGHT_CT,
            reference_matrix=_landweber_matrix,
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
REAL_ONLY = ()  # SURE and R2R take MRI's circular complex noise too


def applicable(task: Task, method: str, config) -> str | None:
    """Why `method` is not run on `task` (None: it is)."""
    if method == "moi" and task.family is None:
        return "one operator only: no family for MOI"
    if method in NEEDS_SIGMA and task.sigma(config) is None:
        return "assumes Gaussian noise of known level"
    if method in REAL_ONLY and task.complex_data:
        return "assumes real measurements"
    if method == "rei" and not task.denoising:
        # Robust EI replaces EI's consistency term by SURE (PURE for Poisson noise): with
        # A = I that term alone is minimised by the identity. Elsewhere EI is run.
        return "robust EI is run on the denoising tasks (A = I); EI elsewhere"
    return None
