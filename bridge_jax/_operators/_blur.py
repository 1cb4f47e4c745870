r"""Circular blur: convolution with a kernel on a periodic image, diagonal in Fourier space."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from .. import _validate as check
from ._base import AbstractOperator, dense_matrix


class Blur(AbstractOperator):
    r"""Circular convolution of an image with a kernel of the same shape:
    $A = F^{-1}\,\mathrm{diag}(\hat k)\, F$ on arrays of shape `kernel.shape` (any number of
    dimensions). Its singular values are $|\hat k|$ (`spectrum`); its adjoint, `.T`, is the
    correlation with the same kernel ($\hat k$ conjugated). The kernel is a leaf: a blur can be
    learned by gradient.
    """

    kernel: Float[Array, "..."]
    transposed: bool = eqx.field(static=True)

    def __init__(self, kernel, *, transposed: bool = False):
        kernel = jnp.asarray(kernel)
        if kernel.ndim == 0:
            raise ValueError("kernel must be an array (e.g. an (H, W) image), got a scalar.")
        if not jnp.issubdtype(kernel.dtype, jnp.floating):
            raise TypeError(f"kernel must be real floating point, got dtype {kernel.dtype}.")
        self.kernel = kernel
        self.transposed = bool(transposed)

    @classmethod
    def gaussian(cls, sigma: float, *, shape=(8, 8)) -> Blur:
        """A normalised 2-D Gaussian kernel of width `sigma` pixels, centred at pixel (0, 0)."""
        check.nonnegative("sigma", sigma, strict=True)
        h, w = shape
        di = jnp.minimum(jnp.arange(h), h - jnp.arange(h))
        dj = jnp.minimum(jnp.arange(w), w - jnp.arange(w))
        k = jnp.exp(-(di[:, None] ** 2 + dj[None, :] ** 2) / (2 * sigma**2))
        return cls(k / k.sum())

    @property
    def kernel_hat(self):
        """The kernel's discrete Fourier transform $\\hat k$."""
        return jnp.fft.fftn(self.kernel)

    @property
    def spectrum(self) -> Float[Array, " n"]:
        """Singular values $|\\hat k|$ (in FFT order, flattened)."""
        return jnp.abs(self.kernel_hat).reshape(-1)

    def _apply(self, x):
        hat = jnp.conj(self.kernel_hat) if self.transposed else self.kernel_hat
        return jnp.real(jnp.fft.ifftn(jnp.fft.fftn(x) * hat)).astype(x.dtype)

    def transpose(self):
        return Blur(self.kernel, transposed=not self.transposed)

    def as_matrix(self):
        return dense_matrix(self)

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.kernel.shape, self.kernel.dtype)

    def out_structure(self):
        return jax.ShapeDtypeStruct(self.kernel.shape, self.kernel.dtype)


@lx.conj.register(Blur)
def _(op):
    return op
