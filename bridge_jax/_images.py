r"""Image augmentations and a blur operator on a small grid (e.g. the 8x8 digits).

Signals are flat vectors of length $h w$ (row-major images), so every function here composes
with the rest of the library. Rotations and shifts use bilinear interpolation with zeros
outside the image (SciPy's `mode="grid-constant"`), are differentiable in the angle and the
shift, and act on ONE image; `vmap` them.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.ndimage import map_coordinates
from jaxtyping import Array, Float

from . import _validate as check
from ._operators import LinearOperator


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


def image_flip(x: Float[Array, " hw"], *, axis: int = 1, shape=(8, 8)) -> Float[Array, " hw"]:
    """Mirror a flat image left-right (`axis=1`) or up-down (`axis=0`)."""
    check.one_of("axis", axis, (0, 1))
    return jnp.flip(_grid(x, shape), axis=axis).reshape(-1)


class Blur(LinearOperator):
    r"""Circular convolution of an $h \times w$ image with a kernel: $A = F^{-1}\,
    \mathrm{diag}(\hat k)\, F$. Its singular values are $|\hat k|$ (`spectrum`); the adjoint is
    the correlation with the same kernel."""

    kernel_hat: Array
    shape: tuple[int, int] = eqx.field(static=True)

    def __init__(self, kernel: Float[Array, "h w"]):
        kernel = jnp.asarray(kernel)
        if kernel.ndim != 2:
            raise ValueError(f"kernel must be a 2-D image, got shape {kernel.shape}.")
        self.kernel_hat = jnp.fft.fft2(kernel)
        self.shape = tuple(int(s) for s in kernel.shape)

    @classmethod
    def gaussian(cls, sigma: float, *, shape=(8, 8)) -> Blur:
        """A normalised Gaussian kernel of width `sigma` pixels, centred at pixel (0, 0)."""
        check.nonnegative("sigma", sigma, strict=True)
        h, w = shape
        di = jnp.minimum(jnp.arange(h), h - jnp.arange(h))
        dj = jnp.minimum(jnp.arange(w), w - jnp.arange(w))
        k = jnp.exp(-(di[:, None] ** 2 + dj[None, :] ** 2) / (2 * sigma**2))
        return cls(k / k.sum())

    def _apply(self, x, hat):
        img = x.reshape(self.shape)
        out = jnp.fft.ifft2(jnp.fft.fft2(img) * hat)
        return jnp.real(out).astype(x.dtype).reshape(-1)

    def mv(self, x):
        return self._apply(x, self.kernel_hat)

    def rmv(self, y):
        return self._apply(y, jnp.conj(self.kernel_hat))

    def as_matrix(self):
        return jax.vmap(self.mv)(jnp.eye(self.in_size)).T

    @property
    def spectrum(self) -> Float[Array, " hw"]:
        """Singular values $|\\hat k|$ (in FFT order)."""
        return jnp.abs(self.kernel_hat).reshape(-1)

    @property
    def in_size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def out_size(self) -> int:
        return self.in_size
