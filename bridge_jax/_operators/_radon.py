r"""Parallel-beam CT: the Radon transform of an image by rotation (bilinear) and summation.

The sinogram is laid out as `skimage.transform.radon(image, theta=angles, circle=False)` lays
it out, entry by entry: the image is (virtually) zero-padded to a $P \times P$ square with
$P = \lceil \sqrt2 \max(H, W) \rceil$, centred as skimage centres it; for each angle
$\theta$ the padded image is rotated about pixel $c = \lfloor P/2 \rfloor$ with bilinear
interpolation (zeros outside) and its columns summed:
$$ (A x)[j, a] = \sum_{i=0}^{P-1} \tilde x\big(c - \sin\theta_a (j - c) + \cos\theta_a (i - c),\;
c + \cos\theta_a (j - c) + \sin\theta_a (i - c)\big), $$
$\tilde x$ the bilinear interpolant of the padded image (row, column). The adjoint is the
exact transpose of this forward (`jax.linear_transpose`: the back-projection with the same
bilinear weights), not skimage's filtered back-projection.
"""

from __future__ import annotations

import math
import numbers

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _validate as check
from ._base import AbstractMatrixFreeOperator


def _geometry(shape: tuple[int, int]) -> tuple[int, tuple[int, int]]:
    """The padded side $P$ and the padding before each axis, as in skimage's `radon`."""
    diagonal = math.sqrt(2) * max(shape)
    pad = [int(math.ceil(diagonal - s)) for s in shape]
    before = tuple((s + p) // 2 - s // 2 for s, p in zip(shape, pad, strict=True))
    return shape[0] + pad[0], before


class Radon(AbstractMatrixFreeOperator):
    r"""Parallel-beam CT $A$: real `(H, W)` images to sinograms of shape `(P, len(angles))`
    with $P = \lceil \sqrt2 \max(H, W) \rceil$ detector bins (see the module docstring for
    the formula); equal to `skimage.transform.radon(x, theta=angles, circle=False)`.

    **Arguments:** `shape` `(H, W)`; `angles` the projection angles in degrees (a 1-D array,
    a leaf: draw them per image under `vmap`, or learn them), or a Python int $a$ for $a$
    evenly spaced angles in $[0°, 180°)$ (sparse view: 30 to 60); `dtype` (default: JAX's
    default float). Costs $4 P^2$ gathers per angle; the adjoint the same scatters.

    Example:
        ```python
        op = bj.Radon((16, 16), 30)  # 30 angles evenly spaced in [0, 180) degrees
        sinogram = op.mv(jnp.ones((16, 16)))  # shape (23, 30): P = ceil(sqrt(2) * 16)
        back = op.T.mv(sinogram)  # the exact transpose (not a filtered back-projection)
        ```
    """

    angles: Float[Array, " a"]
    shape: tuple[int, int] = eqx.field(static=True)
    dtype: np.dtype = eqx.field(static=True)

    def __init__(self, shape, angles, *, dtype=None):
        shape = check.signal_shape("shape", shape)
        if len(shape) != 2:
            raise ValueError(f"shape must be (H, W), got {shape}.")
        self.shape = shape
        self.dtype = jnp.dtype(jnp.result_type(float) if dtype is None else dtype)
        if not jnp.issubdtype(self.dtype, jnp.floating):
            raise TypeError(f"dtype must be real floating point, got {self.dtype}.")
        if isinstance(angles, numbers.Integral) and not isinstance(angles, bool):
            num = check.positive_int("angles", angles)
            angles = np.arange(num) * (180.0 / num)
        angles = jnp.asarray(angles)
        if angles.ndim != 1 or angles.shape[0] < 1:
            raise ValueError(
                f"angles must be a 1-D array of angles in degrees (or an int: that many evenly "
                f"spaced in [0, 180)), got shape {angles.shape}."
            )
        if not any(jnp.issubdtype(angles.dtype, t) for t in (jnp.floating, jnp.integer)):
            raise TypeError(f"angles must be real, got dtype {angles.dtype}.")
        if check.is_concrete(angles) and not np.all(np.isfinite(np.asarray(angles))):
            raise ValueError("angles must be finite.")
        self.angles = angles.astype(self.dtype)

    @property
    def num_bins(self) -> int:
        """$P$, the number of detector bins (the sinogram's rows)."""
        return _geometry(self.shape)[0]

    def _apply(self, x):
        if jnp.iscomplexobj(x):  # a real operator: each part on its own (linearity)
            return self._apply(x.real) + 1j * self._apply(x.imag)
        h, w = self.shape
        size, (before_i, before_j) = _geometry(self.shape)
        c = size // 2
        # One ring of zeros: a neighbour index clipped into it reads 0, which is skimage's
        # "constant" mode (each out-of-range neighbour contributes cval = 0).
        padded = jnp.pad(x, 1)
        grid = jnp.arange(size, dtype=x.dtype) - c
        i, j = grid[:, None], grid[None, :]  # output pixel (row, column) of the rotated image

        def project(theta):
            cos, sin = jnp.cos(theta), jnp.sin(theta)
            src_j = cos * j + sin * i + (c - before_j)  # column in the unpadded image
            src_i = -sin * j + cos * i + (c - before_i)
            i0, j0 = jnp.floor(src_i), jnp.floor(src_j)
            di, dj = src_i - i0, src_j - j0
            i0, j0 = i0.astype(jnp.int32) + 1, j0.astype(jnp.int32) + 1  # +1: the zero ring

            def pixel(a, b):
                return padded[jnp.clip(a, 0, h + 1), jnp.clip(b, 0, w + 1)]

            top = (1 - dj) * pixel(i0, j0) + dj * pixel(i0, j0 + 1)
            bottom = (1 - dj) * pixel(i0 + 1, j0) + dj * pixel(i0 + 1, j0 + 1)
            return jnp.sum((1 - di) * top + di * bottom, axis=0)

        return jax.vmap(project, out_axes=1)(jnp.deg2rad(self.angles.astype(x.dtype)))

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.shape, self.dtype)

    def out_structure(self):
        return jax.ShapeDtypeStruct((self.num_bins, self.angles.shape[0]), self.dtype)
