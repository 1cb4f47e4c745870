r"""Image augmentations, transform groups and a blur on ONE image.

Every function takes an `(H, W)` image, or a flat row-major vector of length $h w$ with its
`shape=(h, w)` (default `(8, 8)`, the digits), and returns the same form: flat in, flat out,
so the functions compose with the rest of the library on either. Rotations, shifts and crops
use bilinear interpolation with zeros outside the image (SciPy's `mode="grid-constant"`);
they, and the blur, are differentiable in their parameters and return floating images (an
integer image is first cast to JAX's default float); the pixel permutations (flips, 90-degree
rotations, circular shifts) keep the dtype. `vmap` them over images.

The samplers `random_rot90`, `random_flip`, `random_circular_shift` and
`random_small_rotation` draw one element of a transform group from `key` and apply it:
`transform(x, *, key)`, the form that Equivariant Imaging (`ei_loss`) takes. Every
augmentation and sampler is linear in the image, so `transform_matrix` turns one (with its
parameters or key fixed) into an $n \times n$ matrix $T_k$, the paper's augmentation operator.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.scipy.ndimage import map_coordinates
from jaxtyping import Array, Float, PRNGKeyArray

from .. import _validate as check

_FLAT_SHAPE = (8, 8)  # the digits: the shape of a flat vector when `shape` is not given


def _image(x, shape, *, floating: bool = False):
    """`(img, flat)`: `x` as an `(H, W)` array and whether it came as a flat vector.

    `floating=True` casts integer and boolean images to the default float (interpolation and
    blur need fractional values; they would otherwise be rounded, or fail to trace).
    """
    x = jnp.asarray(x)
    if floating and not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    if x.ndim == 2:
        if 0 in x.shape:
            raise ValueError(f"x must be a non-empty (H, W) image, got shape {x.shape}.")
        if shape is not None and tuple(shape) != x.shape:
            raise ValueError(f"shape={tuple(shape)} does not match the image's shape {x.shape}.")
        return x, False
    shape = _FLAT_SHAPE if shape is None else shape
    if not isinstance(shape, tuple | list) or len(shape) != 2:
        raise ValueError(f"shape must be (rows, cols), got {shape!r}.")
    h, w = check.signal_shape("shape", tuple(shape))
    if x.shape != (h * w,):
        raise ValueError(
            f"x must have shape ({h * w},) (a flat image of shape=({h}, {w})) or be an (H, W) "
            f"image, got shape {tuple(x.shape)}."
        )
    return x.reshape(h, w), True


def _out(img, flat: bool):
    return img.reshape(-1) if flat else img


def _pixels(img):
    """Row and column index of every pixel, in the image's dtype."""
    h, w = img.shape
    return jnp.meshgrid(
        jnp.arange(h, dtype=img.dtype), jnp.arange(w, dtype=img.dtype), indexing="ij"
    )


def _resample(img, src_i, src_j):
    return map_coordinates(img, [src_i, src_j], order=1, mode="constant", cval=0.0)


def image_rotate(x: Float[Array, "..."], angle, *, shape=None) -> Float[Array, "..."]:
    r"""Rotate an image by `angle` degrees (counter-clockwise) about its centre.

    Equals `scipy.ndimage.rotate(img, angle, reshape=False, order=1, mode="grid-constant")`.
    """
    img, flat = _image(x, shape, floating=True)
    h, w = img.shape
    t = jnp.deg2rad(jnp.asarray(angle, img.dtype))
    ii, jj = _pixels(img)
    di, dj = ii - (h - 1) / 2, jj - (w - 1) / 2
    src_i = jnp.cos(t) * di + jnp.sin(t) * dj + (h - 1) / 2
    src_j = -jnp.sin(t) * di + jnp.cos(t) * dj + (w - 1) / 2
    return _out(_resample(img, src_i, src_j), flat)


def image_shift(x: Float[Array, "..."], shift, *, shape=None) -> Float[Array, "..."]:
    r"""Translate an image by `shift = (rows, cols)` pixels (fractional allowed), zeros
    entering at the border. Equals `scipy.ndimage.shift(img, shift, order=1,
    mode="grid-constant")`; `random_circular_shift` is the circular (group) version."""
    img, flat = _image(x, shape, floating=True)
    shift = jnp.asarray(shift, img.dtype)
    if shift.shape != (2,):
        raise ValueError(f"shift must be (rows, cols), got shape {shift.shape}.")
    ii, jj = _pixels(img)
    return _out(_resample(img, ii - shift[0], jj - shift[1]), flat)


def image_crop(x: Float[Array, "..."], corner, size, *, shape=None) -> Float[Array, "..."]:
    r"""Crop the window of `size = (rows, cols)` pixels whose top-left pixel is `corner = (row,
    col)` and resize it to the full image (bilinear; fractional corners and sizes > 0
    allowed): the "random resized crop" of SimCLR on a small grid. Output pixel $(i, j)$
    samples the input at $(r_0 + i (s_r - 1)/(h - 1),\ c_0 + j (s_c - 1)/(w - 1))$, i.e.
    `scipy.ndimage.zoom(crop, ..., order=1, grid_mode=False)` of the cropped block for integer
    windows."""
    img, flat = _image(x, shape, floating=True)
    h, w = img.shape
    check.nonnegative("size", size, strict=True)
    corner = jnp.asarray(corner, img.dtype)
    size = jnp.asarray(size, img.dtype)
    if corner.shape != (2,) or size.shape != (2,):
        raise ValueError(
            f"corner and size must be (rows, cols) pairs, got shapes {corner.shape}, {size.shape}."
        )
    ii, jj = _pixels(img)
    src_i = corner[0] + ii * (size[0] - 1) / max(h - 1, 1)
    src_j = corner[1] + jj * (size[1] - 1) / max(w - 1, 1)
    return _out(_resample(img, src_i, src_j), flat)


def image_blur(x: Float[Array, "..."], sigma, *, shape=None) -> Float[Array, "..."]:
    r"""Gaussian blur of width `sigma` pixels with zeros outside the image (separable; the
    kernel spans the whole image and is normalised over it). Equals
    `scipy.ndimage.gaussian_filter(img, sigma, mode="constant", truncate=(max(h, w) - 1) /
    sigma)` for a square image. Differentiable in `sigma`; `Blur` is the circular operator."""
    check.nonnegative("sigma", sigma, strict=True)  # 0 would divide by zero (all NaN)
    img, flat = _image(x, shape, floating=True)
    h, w = img.shape
    r = max(h, w) - 1
    offsets = jnp.arange(-r, r + 1, dtype=img.dtype)
    sig = jnp.asarray(sigma, img.dtype)
    g = jnp.exp(-0.5 * (offsets / sig) ** 2)
    g = g / g.sum()

    def band(size):  # band[i, j] = g(j - i): correlation with g, zero padding
        d = jnp.arange(size)[None, :] - jnp.arange(size)[:, None]
        return g[d + r]

    return _out(band(h) @ img @ band(w).T, flat)


def image_flip(x: Float[Array, "..."], *, axis: int = 1, shape=None) -> Float[Array, "..."]:
    """Mirror an image left-right (`axis=1`) or up-down (`axis=0`)."""
    check.one_of("axis", axis, (0, 1))
    img, flat = _image(x, shape)
    return _out(jnp.flip(img, axis=axis), flat)


def random_image_augmentation(
    x: Float[Array, "..."],
    *,
    key: PRNGKeyArray,
    max_angle: float = 15.0,
    max_shift: float = 1.0,
    min_crop: float = 1.0,
    max_blur: float = 0.0,
    flip: bool = False,
    shape=None,
) -> Float[Array, "..."]:
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
    img, flat = _image(x, shape, floating=True)
    h, w = img.shape
    k_scale, k_pos, k_rot, k_shift, k_blur, k_flip = jr.split(key, 6)
    scale = jr.uniform(k_scale, (), img.dtype, min_crop, 1.0)
    size = scale * jnp.asarray([h - 1, w - 1], img.dtype) + 1.0  # span scale * (side - 1) px
    corner = jr.uniform(k_pos, (2,), img.dtype) * (jnp.asarray([h, w], img.dtype) - size)
    out = image_crop(img, corner, size)
    out = image_rotate(out, jr.uniform(k_rot, (), img.dtype, -max_angle, max_angle))
    out = image_shift(out, jr.uniform(k_shift, (2,), img.dtype, -max_shift, max_shift))
    if max_blur > 0:
        sigma = jr.uniform(k_blur, (), img.dtype, 0.0, max_blur)
        out = jnp.where(sigma > 1e-3, image_blur(out, jnp.maximum(sigma, 1e-3)), out)
    if flip:
        out = jnp.where(jr.bernoulli(k_flip), image_flip(out), out)
    return _out(out, flat)


# --------------------------------------------------------------------------- transform groups


def random_rot90(x: Float[Array, "..."], *, key: PRNGKeyArray, shape=None) -> Float[Array, "..."]:
    r"""Rotate a square image by $90 k$ degrees counter-clockwise (`jnp.rot90`), $k$ uniform in
    $\{1, 2, 3\}$: a non-identity element of the rotation group $C_4$, exact (a permutation of
    the pixels). The same `key` applied four times gives the image back."""
    check.prng_key("key", key)
    img, flat = _image(x, shape)
    if img.shape[0] != img.shape[1]:
        raise ValueError(f"random_rot90 needs a square image, got shape {img.shape}.")
    k = jr.randint(key, (), 1, 4)
    return _out(jnp.stack([jnp.rot90(img, i) for i in range(4)])[k], flat)


def random_flip(x: Float[Array, "..."], *, key: PRNGKeyArray, shape=None) -> Float[Array, "..."]:
    r"""Mirror an image left-right, up-down, or both (uniformly): a non-identity element of
    the group generated by the two mirrors (the Klein four-group; "both" is the rotation by
    180 degrees). Every element is an involution: the same `key` twice gives the image back."""
    check.prng_key("key", key)
    img, flat = _image(x, shape)
    choice = jr.randint(key, (), 0, 3)  # 0: left-right, 1: up-down, 2: both
    out = jnp.where(choice != 1, jnp.flip(img, axis=1), img)
    out = jnp.where(choice != 0, jnp.flip(out, axis=0), out)
    return _out(out, flat)


def random_circular_shift(
    x: Float[Array, "..."], *, key: PRNGKeyArray, shape=None
) -> Float[Array, "..."]:
    r"""Shift an image circularly by an integer $(s_r, s_c)$ pixels, uniform over the $h w - 1$
    non-zero shifts: $(T x)_{ij} = x_{(i - s_r) \bmod h,\ (j - s_c) \bmod w}$, i.e.
    `np.roll(img, (s_r, s_c), (0, 1))`. An exact group (the 2-D cyclic shifts; a permutation
    of the pixels, so sums and norms are kept), the symmetry that a circular blur commutes with.
    """
    check.prng_key("key", key)
    img, flat = _image(x, shape)
    h, w = img.shape
    if h * w < 2:
        raise ValueError(f"random_circular_shift needs at least 2 pixels, got shape {img.shape}.")
    s_r, s_c = jnp.divmod(jr.randint(key, (), 1, h * w), w)
    rows = (jnp.arange(h) - s_r) % h
    cols = (jnp.arange(w) - s_c) % w
    return _out(img[rows[:, None], cols[None, :]], flat)


def random_small_rotation(
    x: Float[Array, "..."], *, key: PRNGKeyArray, max_angle=15.0, shape=None
) -> Float[Array, "..."]:
    r"""Rotate an image by an angle drawn as `jax.random.uniform(key, (), dtype, -max_angle,
    max_angle)` degrees (`image_rotate`: bilinear, zeros outside). The rotations form a group
    only up to interpolation and the corners that leave the image: an approximate symmetry,
    for signal sets that are (nearly) rotation invariant."""
    check.prng_key("key", key)
    check.nonnegative("max_angle", max_angle)
    img, flat = _image(x, shape, floating=True)
    angle = jr.uniform(key, (), img.dtype, -max_angle, max_angle)
    return _out(image_rotate(img, angle), flat)


# --------------------------------------------------------------------------- matrices


def transform_matrix(fn: Callable, n, *, dtype=jnp.float32) -> Float[Array, "n n"]:
    r"""The $N \times N$ matrix $T$ of a linear map `fn`: $T\,\mathrm{vec}(x) =
    \mathrm{vec}(\mathrm{fn}(x))$.

    `n` is the signal length $N$ (`fn` takes vectors) or a shape such as `(H, W)` (`fn` takes
    arrays of that shape, flattened row-major, $N = H W$). E.g.
    `transform_matrix(lambda x: random_image_augmentation(x, key=key), 64)` or
    `transform_matrix(lambda x: random_rot90(x, key=key), (28, 28))`.

    A non-linear `fn` raises a `ValueError`: `fn` of a fixed random probe $p$ must equal $T p$
    and $\mathrm{fn}(0) = 0$ (to $10\sqrt{\epsilon}$ of the dtype, relative). The check runs
    when the numbers are known (not when `transform_matrix` is traced, e.g. under `vmap`).
    """
    shape = check.signal_shape("n", n)
    size = int(np.prod(shape))

    def flat_fn(v):
        return jnp.ravel(fn(v.reshape(shape)))

    t = jax.vmap(flat_fn)(jnp.eye(size, dtype=dtype)).T
    if check.is_concrete(t):
        probe = jr.normal(jr.key(0), (size,), dtype)  # fixed: a check, not a random result
        at_probe, at_zero = flat_fn(probe), flat_fn(jnp.zeros(size, dtype))
        expected = t @ probe
        tol = 10 * float(np.sqrt(np.finfo(np.dtype(t.dtype)).eps))
        scale = float(jnp.linalg.norm(expected) + jnp.linalg.norm(at_probe))
        if not (
            float(jnp.linalg.norm(at_probe - expected)) <= tol * scale
            and float(jnp.linalg.norm(at_zero)) <= tol * scale
        ):
            raise ValueError(
                "fn must be linear: on a random probe p, fn(p) differs from T p (T built from "
                "fn of the unit vectors), or fn(0) != 0; an offset, a clip or a square is not "
                "linear."
            )
    return t
