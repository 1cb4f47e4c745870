r"""Image augmentations and a blur operator on a small grid (e.g. the 8x8 digits).

Signals are flat vectors of length $h w$ (row-major images), so every function here composes
with the rest of the library. Rotations, shifts and crops use bilinear interpolation with zeros
outside the image (SciPy's `mode="grid-constant"`); they, and the blur, are differentiable in
their parameters and act on ONE image; `vmap` them. Every augmentation is linear in the image,
so `transform_matrix` turns one (with its parameters fixed) into an $n \times n$ matrix $T_k$,
the paper's augmentation operator.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.ndimage import map_coordinates
from jaxtyping import Array, Float, PRNGKeyArray

from . import _validate as check


def _grid(x, shape):
    h, w = shape
    x = check.shape("x", x, (h * w,))
    return x.reshape(h, w)


def _pixels(img):
    """Row and column index of every pixel, in the image's dtype."""
    h, w = img.shape
    return jnp.meshgrid(
        jnp.arange(h, dtype=img.dtype), jnp.arange(w, dtype=img.dtype), indexing="ij"
    )


def _resample(img, src_i, src_j):
    return map_coordinates(img, [src_i, src_j], order=1, mode="constant", cval=0.0)


def image_rotate(x: Float[Array, " hw"], angle, *, shape=(8, 8)) -> Float[Array, " hw"]:
    r"""Rotate a flat image by `angle` degrees (counter-clockwise) about its centre.

    Equals `scipy.ndimage.rotate(img, angle, reshape=False, order=1, mode="grid-constant")`.
    """
    img = _grid(x, shape)
    h, w = shape
    t = jnp.deg2rad(jnp.asarray(angle, img.dtype))
    ii, jj = _pixels(img)
    di, dj = ii - (h - 1) / 2, jj - (w - 1) / 2
    src_i = jnp.cos(t) * di + jnp.sin(t) * dj + (h - 1) / 2
    src_j = -jnp.sin(t) * di + jnp.cos(t) * dj + (w - 1) / 2
    return _resample(img, src_i, src_j).reshape(-1)


def image_shift(x: Float[Array, " hw"], shift, *, shape=(8, 8)) -> Float[Array, " hw"]:
    r"""Translate a flat image by `shift = (rows, cols)` pixels (fractional allowed), zeros
    entering at the border. Equals `scipy.ndimage.shift(img, shift, order=1,
    mode="grid-constant")`."""
    img = _grid(x, shape)
    shift = jnp.asarray(shift, img.dtype)
    if shift.shape != (2,):
        raise ValueError(f"shift must be (rows, cols), got shape {shift.shape}.")
    ii, jj = _pixels(img)
    return _resample(img, ii - shift[0], jj - shift[1]).reshape(-1)


def image_crop(x: Float[Array, " hw"], corner, size, *, shape=(8, 8)) -> Float[Array, " hw"]:
    r"""Crop the window of `size = (rows, cols)` pixels whose top-left pixel is `corner = (row,
    col)` and resize it to the full image (bilinear; fractional corners and sizes allowed): the
    "random resized crop" of SimCLR on a small grid. Output pixel $(i, j)$ samples the input at
    $(r_0 + i (s_r - 1)/(h - 1),\ c_0 + j (s_c - 1)/(w - 1))$, i.e. `scipy.ndimage.zoom(crop,
    ..., order=1, grid_mode=False)` of the cropped block for integer windows."""
    img = _grid(x, shape)
    h, w = shape
    corner = jnp.asarray(corner, img.dtype)
    size = jnp.asarray(size, img.dtype)
    if corner.shape != (2,) or size.shape != (2,):
        raise ValueError(
            f"corner and size must be (rows, cols) pairs, got shapes {corner.shape}, {size.shape}."
        )
    ii, jj = _pixels(img)
    src_i = corner[0] + ii * (size[0] - 1) / max(h - 1, 1)
    src_j = corner[1] + jj * (size[1] - 1) / max(w - 1, 1)
    return _resample(img, src_i, src_j).reshape(-1)


def image_blur(x: Float[Array, " hw"], sigma, *, shape=(8, 8)) -> Float[Array, " hw"]:
    r"""Gaussian blur of width `sigma` pixels with zeros outside the image (separable; the
    kernel spans the whole image and is normalised over it). Equals
    `scipy.ndimage.gaussian_filter(img, sigma, mode="constant", truncate=(max(h, w) - 1) /
    sigma)` for a square image. Differentiable in `sigma`; `Blur` is the circular operator."""
    check.nonnegative("sigma", sigma, strict=True)  # 0 would divide by zero (all NaN)
    img = _grid(x, shape)
    h, w = shape
    r = max(h, w) - 1
    offsets = jnp.arange(-r, r + 1, dtype=img.dtype)
    sig = jnp.asarray(sigma, img.dtype)
    g = jnp.exp(-0.5 * (offsets / sig) ** 2)
    g = g / g.sum()

    def band(size):  # band[i, j] = g(j - i): correlation with g, zero padding
        d = jnp.arange(size)[None, :] - jnp.arange(size)[:, None]
        return g[d + r]

    return (band(h) @ img @ band(w).T).reshape(-1)


def random_image_augmentation(
    x: Float[Array, " hw"],
    *,
    key: PRNGKeyArray,
    max_angle: float = 15.0,
    max_shift: float = 1.0,
    min_crop: float = 1.0,
    max_blur: float = 0.0,
    flip: bool = False,
    shape=(8, 8),
) -> Float[Array, " hw"]:
    r"""One random image augmentation: a resized crop covering a fraction $U(\text{min\_crop},
    1)$ of each side at a uniform position, a rotation by $U(-a, a)$ degrees, a shift by
    $U(-s, s)$ pixels along each axis, a Gaussian blur of width $U(0, \text{max\_blur})$
    pixels (none when 0) and, with `flip=True`, a left-right mirror with probability 1/2.

    The result is linear in `x` for a fixed `key` (`transform_matrix` gives its matrix), so
    it serves as an SSRL view, as the paper's $T_k$, and as an EI transform (`ei_loss`).
    """
    check.nonnegative("max_angle", max_angle)
    check.nonnegative("max_shift", max_shift)
    check.ratio("min_crop", min_crop, closed_high=True)
    check.nonnegative("min_crop", min_crop, strict=True)
    check.nonnegative("max_blur", max_blur)
    check.prng_key("key", key)
    h, w = shape
    x = check.shape("x", x, (h * w,))
    k_scale, k_pos, k_rot, k_shift, k_blur, k_flip = jr.split(key, 6)
    scale = jr.uniform(k_scale, (), x.dtype, min_crop, 1.0)
    size = scale * jnp.asarray([h - 1, w - 1], x.dtype) + 1.0  # span scale * (side - 1) pixels
    corner = jr.uniform(k_pos, (2,), x.dtype) * (jnp.asarray([h, w], x.dtype) - size)
    out = image_crop(x, corner, size, shape=shape)
    out = image_rotate(out, jr.uniform(k_rot, (), x.dtype, -max_angle, max_angle), shape=shape)
    out = image_shift(out, jr.uniform(k_shift, (2,), x.dtype, -max_shift, max_shift), shape=shape)
    if max_blur > 0:
        sigma = jr.uniform(k_blur, (), x.dtype, 0.0, max_blur)
        out = jnp.where(sigma > 1e-3, image_blur(out, jnp.maximum(sigma, 1e-3), shape=shape), out)
    if flip:
        out = jnp.where(jr.bernoulli(k_flip), image_flip(out, shape=shape), out)
    return out


def transform_matrix(fn: Callable, n: int, *, dtype=jnp.float32) -> Float[Array, "n n"]:
    r"""The $n \times n$ matrix $T$ of a linear map `fn` on $\mathbb{R}^n$: $T x = $ `fn(x)`.

    E.g. `transform_matrix(lambda x: random_image_augmentation(key, x), 64)`."""
    n = check.positive_int("n", n)
    return jax.vmap(fn)(jnp.eye(n, dtype=dtype)).T


def image_flip(x: Float[Array, " hw"], *, axis: int = 1, shape=(8, 8)) -> Float[Array, " hw"]:
    """Mirror a flat image left-right (`axis=1`) or up-down (`axis=0`)."""
    check.one_of("axis", axis, (0, 1))
    return jnp.flip(_grid(x, shape), axis=axis).reshape(-1)
