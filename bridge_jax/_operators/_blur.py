r"""Blur: convolution of an image with a kernel, with a circular, zero, reflect or valid boundary.

`boundary="circular"` (the default) is diagonal in Fourier space; the other boundaries are
"valid" convolutions of the padded image, also computed by FFT. Kernels:
`gaussian_kernel`, `motion_kernel` (a line at a random angle) and `random_kernel` (an
anisotropic Gaussian at a random orientation), each a small `(size, size)` array whose centre
is pixel $((\mathrm{size} - 1) // 2, (\mathrm{size} - 1) // 2)$, normalised to sum 1.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jaxtyping import Array, Float, PRNGKeyArray

from .. import _validate as check
from ._base import AbstractOperator, Transpose, dense_matrix

BOUNDARIES = ("circular", "zero", "reflect", "valid")


def _embed(kernel, shape):
    """A small kernel as an image-sized circular one: its centre moved to pixel (0, ..., 0)."""
    full = jnp.zeros(shape, kernel.dtype)
    full = full.at[tuple(slice(0, k) for k in kernel.shape)].set(kernel)
    centre = tuple(-((k - 1) // 2) for k in kernel.shape)
    return jnp.roll(full, centre, axis=tuple(range(kernel.ndim)))


class Blur(AbstractOperator):
    r"""Convolution $A x = k * x$ of an image with a kernel $k$.

    - `boundary="circular"` (default): periodic image, $A = F^{-1}\,\mathrm{diag}(\hat k)\, F$
      on arrays of the image shape (any number of dimensions). Without `shape`, `kernel` has
      the image's shape and its pixel $(0, 0)$ is the centre (`Blur.gaussian`); with `shape`,
      a smaller kernel (centre pixel $(K-1)//2$ on each axis) is embedded so. Singular values
      $|\hat k|$ (`spectrum`); the adjoint `.T` is the correlation with the same kernel.
    - `boundary="zero"`: the image extended by zeros; output of the image's shape,
      $(Ax)[i] = \sum_a k[a]\, x[i + c - a]$ with $c = (K - 1) // 2$ per axis
      (`scipy.signal.convolve2d(x, k, mode="same")`).
    - `boundary="reflect"`: the same with the image mirrored at its border without repeating
      the edge pixel (`numpy.pad(mode="reflect")`, i.e. SciPy's `"mirror"`); the adjoint
      (`jax.linear_transpose`) folds the border back and is exact.
    - `boundary="valid"`: only the positions where the kernel fits inside the image; output
      shape $(H - K_h + 1, W - K_w + 1)$, non-square $A$
      (`scipy.signal.convolve2d(x, k, mode="valid")`).

    `shape` (the image shape) is required for every boundary but `"circular"`; the kernel
    has as many axes as the image and fits inside it. The kernel is a leaf: a blur can be
    drawn per image under `vmap` or learned by gradient.

    Example:
        ```python
        op = bj.Blur(bj.gaussian_kernel(1.0, size=5), shape=(16, 16), boundary="reflect")
        y = op.mv(jnp.ones((16, 16)))
        circ = bj.Blur.gaussian(1.0, shape=(16, 16))  # circular (FFT)
        singular_values = circ.spectrum()
        ```
    """

    kernel: Float[Array, "..."]
    transposed: bool = eqx.field(static=True)
    boundary: str = eqx.field(static=True)
    shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, kernel, *, shape=None, boundary: str = "circular", transposed=False):
        check.one_of("boundary", boundary, BOUNDARIES)
        kernel = jnp.asarray(kernel)
        if kernel.ndim == 0:
            raise ValueError("kernel must be an array (e.g. an (H, W) image), got a scalar.")
        if not jnp.issubdtype(kernel.dtype, jnp.floating):
            raise TypeError(f"kernel must be real floating point, got dtype {kernel.dtype}.")
        kernel = check.finite("kernel", kernel)  # when its values are known (not traced)
        if shape is None:
            if boundary != "circular":
                raise ValueError(
                    f"boundary={boundary!r} needs shape=, the image shape (the kernel is "
                    f"smaller than the image)."
                )
            shape = kernel.shape
        shape = check.signal_shape("shape", shape)
        if len(shape) != kernel.ndim or any(
            k > s for k, s in zip(kernel.shape, shape, strict=True)
        ):
            raise ValueError(
                f"kernel of shape {kernel.shape} must have as many axes as the image shape "
                f"{shape} and fit inside it."
            )
        if transposed and boundary != "circular":
            raise ValueError("transposed=True is for boundary='circular'; use .T otherwise.")
        if boundary == "circular" and kernel.shape != shape:
            kernel = _embed(kernel, shape)
        self.kernel = kernel
        self.transposed = bool(transposed)
        self.boundary = boundary
        self.shape = shape

    @classmethod
    def gaussian(cls, sigma: float, *, shape=(8, 8)) -> Blur:
        """A normalised 2-D Gaussian kernel of width `sigma` pixels, centred at pixel (0, 0)."""
        check.nonnegative("sigma", sigma, strict=True)
        h, w = shape
        di = jnp.minimum(jnp.arange(h), h - jnp.arange(h))
        dj = jnp.minimum(jnp.arange(w), w - jnp.arange(w))
        k = jnp.exp(-(di[:, None] ** 2 + dj[None, :] ** 2) / (2 * sigma**2))
        return cls(k / k.sum())

    def _circular_only(self, what):
        if self.boundary != "circular":
            raise ValueError(f"{what} is defined for boundary='circular' only.")

    @property
    def kernel_hat(self):
        """The kernel's discrete Fourier transform $\\hat k$ (circular boundary)."""
        self._circular_only("kernel_hat")
        return jnp.fft.fftn(self.kernel)

    @property
    def spectrum(self) -> Float[Array, " n"]:
        """Singular values $|\\hat k|$ (in FFT order, flattened; circular boundary)."""
        return jnp.abs(self.kernel_hat).reshape(-1)

    def _apply(self, x):
        if self.boundary == "circular":
            hat = jnp.conj(self.kernel_hat) if self.transposed else self.kernel_hat
            return jnp.real(jnp.fft.ifftn(jnp.fft.fftn(x) * hat)).astype(x.dtype)
        if self.boundary != "valid":
            pads = [(k - 1 - (k - 1) // 2, (k - 1) // 2) for k in self.kernel.shape]
            x = jnp.pad(x, pads, mode="constant" if self.boundary == "zero" else "reflect")
        # The valid convolution is the circular one on x's grid, less the K - 1 wrapped
        # entries at the start of each axis: by FFT, O(n log n) for any kernel size.
        axes = tuple(range(x.ndim))
        hat = jnp.fft.rfftn(self.kernel.astype(x.dtype), s=x.shape, axes=axes)
        full = jnp.fft.irfftn(jnp.fft.rfftn(x) * hat, s=x.shape, axes=axes).astype(x.dtype)
        return full[tuple(slice(k - 1, None) for k in self.kernel.shape)]

    def transpose(self):
        if self.boundary == "circular":
            return Blur(self.kernel, transposed=not self.transposed)
        return Transpose(self)

    def as_matrix(self):
        return dense_matrix(self)

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.shape, self.kernel.dtype)

    def out_structure(self):
        shape = self.shape
        if self.boundary == "valid":
            shape = tuple(s - k + 1 for s, k in zip(shape, self.kernel.shape, strict=True))
        return jax.ShapeDtypeStruct(shape, self.kernel.dtype)


@lx.conj.register(Blur)
def _(op):
    return op


# --------------------------------------------------------------------------------- kernels


def _centred_grid(size: int, dtype):
    """Row and column offsets from the kernel's centre $(\\mathrm{size} - 1)/2$."""
    d = jnp.arange(size, dtype=dtype) - (size - 1) / 2
    return d[:, None], d[None, :]


def gaussian_kernel(sigma, *, size: int | None = None, dtype=None) -> Float[Array, "k k"]:
    r"""$k[i, j] \propto \exp(-(d_i^2 + d_j^2) / 2\sigma^2)$, $d$ the offset from the centre
    $(\mathrm{size} - 1)/2$, normalised to sum 1; `size` default $2\lceil 3\sigma \rceil + 1$
    (needs a concrete `sigma`)."""
    check.nonnegative("sigma", sigma, strict=True)
    if size is None:
        if not check.is_concrete(sigma):
            raise TypeError("gaussian_kernel needs size= when sigma is traced.")
        size = 2 * math.ceil(3 * float(sigma)) + 1
    size = check.positive_int("size", size)
    dtype = jnp.result_type(float) if dtype is None else dtype
    di, dj = _centred_grid(size, dtype)
    k = jnp.exp(-(di**2 + dj**2) / (2 * jnp.asarray(sigma, dtype) ** 2))
    return k / k.sum()


def motion_kernel(
    size: int, *, key: PRNGKeyArray, length: float | None = None, dtype=None
) -> Float[Array, "k k"]:
    r"""Linear motion blur: a segment of `length` pixels (default `size`, at most `size`)
    through the kernel's centre at an angle uniform in $[0, \pi)$ drawn from `key`,
    rasterised by bilinear splatting of $8 \cdot$ `size` equispaced points, normalised to sum
    1. `vmap` over keys for one kernel per image."""
    size = check.positive_int("size", size)
    length = float(size if length is None else length)
    if not 1 <= length <= size:
        raise ValueError(f"length must be in [1, size={size}], got {length}.")
    check.prng_key("key", key)
    dtype = jnp.result_type(float) if dtype is None else dtype
    angle = jr.uniform(key, (), dtype, 0.0, jnp.pi)
    t = jnp.linspace(-(length - 1) / 2, (length - 1) / 2, 8 * size, dtype=dtype)
    centre = (size - 1) / 2
    rows = jnp.clip(centre - t * jnp.sin(angle), 0, size - 1)
    cols = jnp.clip(centre + t * jnp.cos(angle), 0, size - 1)
    r0, c0 = jnp.floor(rows), jnp.floor(cols)
    dr, dc = rows - r0, cols - c0
    r0, c0 = r0.astype(jnp.int32), c0.astype(jnp.int32)
    k = jnp.zeros((size, size), dtype)
    for a, b, w in (
        (r0, c0, (1 - dr) * (1 - dc)),
        (r0, c0 + 1, (1 - dr) * dc),
        (r0 + 1, c0, dr * (1 - dc)),
        (r0 + 1, c0 + 1, dr * dc),
    ):
        k = k.at[a, b].add(w, mode="drop")  # an index past the edge has weight 0
    return k / k.sum()


def random_kernel(
    size: int, *, key: PRNGKeyArray, sigma_range=(0.5, 3.0), dtype=None
) -> Float[Array, "k k"]:
    r"""A random anisotropic Gaussian kernel: widths $\sigma_1, \sigma_2$ uniform in
    `sigma_range` and an orientation $\phi$ uniform in $[0, \pi)$, all from `key`;
    $k(d) \propto \exp(-\tfrac12 d^\top R_\phi \mathrm{diag}(\sigma_1^{-2}, \sigma_2^{-2})
    R_\phi^\top d)$ on `(size, size)` offsets $d$ from the centre, normalised to sum 1."""
    size = check.positive_int("size", size)
    low, high = sigma_range
    check.nonnegative("sigma_range", (low, high), strict=True)
    if low > high:
        raise ValueError(f"sigma_range must be (low, high) with low <= high, got {sigma_range}.")
    check.prng_key("key", key)
    dtype = jnp.result_type(float) if dtype is None else dtype
    k_sigma, k_angle = jr.split(key)
    s1, s2 = jr.uniform(k_sigma, (2,), dtype, low, high)
    phi = jr.uniform(k_angle, (), dtype, 0.0, jnp.pi)
    di, dj = _centred_grid(size, dtype)
    u = jnp.cos(phi) * dj - jnp.sin(phi) * di
    v = jnp.sin(phi) * dj + jnp.cos(phi) * di
    k = jnp.exp(-0.5 * ((u / s1) ** 2 + (v / s2) ** 2))
    return k / k.sum()
