r"""Single-coil Cartesian MRI: an orthonormal 2-D Fourier transform and a k-space mask.

$A x = M \odot F x$ for a real image $x$ of shape $(H, W)$, with $F$ the orthonormal 2-D DFT
(`jnp.fft.fft2(x, norm="ortho")`) and $M$ a boolean k-space mask in the DFT's own order (zero
frequency at index `[0, 0]`; `jnp.fft.fftshift(mask)` shows it centred). The measurement has
the image's shape, complex, with zeros off the mask (the zero-filled k-space, as deepinv lays
it out).

The unknowns are real and the data complex: $A$ is linear over the reals only, and its
adjoint is for the real inner product $\mathrm{Re}\langle u, v\rangle$:
$A^* y = \mathrm{Re}(F^* (M \odot y))$, the zero-filled reconstruction. `op.T` and
`adjoint(op)` both return it (`op.T` is the real transpose, not the plain transpose
$\mathrm{Re}(F^\top (M \odot y))$), so a dot test $\mathrm{Re}\langle Au, v\rangle =
\langle u, A^\top v\rangle$ holds, also for compositions such as `op @ Blur(...)`. $A$ has no
complex matrix: `op.as_matrix()` and `lineax.linear_solve` with a dense solver raise (lineax
would solve the complex-linear problem and drop the imaginary part); `real_matrix(op)` is its
$2HW \times HW$ real matrix, and `pinv_solve(op, y)` its least squares over real images.
$A^* A = F^* \tfrac12 (M + M^\flat) F$ on real images, with $M^\flat$ the mask at the
negated frequencies: its eigenvalues are 0, 1/2 and 1, and `MRI.pseudoinverse` applies
$A^+$ in closed form. (`pinv_solve`'s CG on the normal equations converges in two or three
iterations, then may break down in float32 on the exact zero residual: prefer
`pseudoinverse`.)
"""

from __future__ import annotations

import math
import numbers

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Bool, Complex, Float, PRNGKeyArray

from .. import _validate as check
from ._base import AbstractMatrixFreeOperator, adjoint, check_input


class MRI(AbstractMatrixFreeOperator):
    r"""Single-coil Cartesian MRI $A x = M \odot F x$ on real `(H, W)` images (see the module
    docstring): `mask` a boolean `(H, W)` k-space mask in `jnp.fft.fft2` order (e.g.
    `cartesian_mask`), `dtype` the image's real dtype (default: JAX's default float). The
    measurement is complex, of shape `(H, W)`, zero off the mask. The mask is a leaf: draw one
    per image under `vmap`.

    Linear over the reals only (real images, complex data): `op.T` is the adjoint
    $y \mapsto \mathrm{Re}(F^* (M \odot y))$ for the real inner product (as `adjoint(op)`),
    `as_matrix()` raises (see `real_matrix`), and least squares are `pseudoinverse` (closed
    form) or `pinv_solve`, not `lineax.linear_solve` (its dense solvers refuse; `lineax.LSMR`
    fails inside lineax with a dtype error: pass it to `pinv_solve(op, y, solver=...)` instead).

    Example:
        ```python
        mask = bj.cartesian_mask((16, 16), 4, key=jr.key(0))  # fft2 order, zero frequency at [0, 0]
        op = bj.MRI(mask)
        y = op.mv(jnp.ones((16, 16)))  # complex (16, 16), zero off the mask
        x_zero_filled = bj.adjoint(op).mv(y)
        x_pinv = op.pseudoinverse(y)
        ```
    """

    mask: Bool[Array, "H W"]
    dtype: np.dtype = eqx.field(static=True)

    def __init__(self, mask, *, dtype=None):
        mask = jnp.asarray(mask)
        if mask.ndim != 2:
            raise ValueError(f"mask must be a 2-D (H, W) k-space mask, got shape {mask.shape}.")
        if mask.dtype != jnp.bool_:
            raise TypeError(f"mask must be boolean, got dtype {mask.dtype}.")
        dtype = jnp.dtype(jnp.result_type(float) if dtype is None else dtype)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(
                f"dtype is the image's real dtype (the k-space is complex), got {dtype}."
            )
        self.mask = mask
        self.dtype = dtype

    @property
    def complex_dtype(self):
        return jnp.result_type(self.dtype, jnp.complex64)

    def _apply(self, x):
        k = jnp.fft.fft2(x.astype(self.complex_dtype), norm="ortho")
        return jnp.where(self.mask, k, jnp.zeros((), k.dtype))

    def pseudoinverse(self, y: Complex[Array, "H W"]) -> Float[Array, "H W"]:
        r"""$A^+ y$ in closed form (exact, two FFT pairs): the real image minimising
        $\|M \odot F x - y\|$ with the least norm, $x = F^* D^+ F A^* y$, where
        $D = \tfrac12 (M + M^\flat)$ is $A^* A$ in Fourier space ($M^\flat(k) = M(-k)$) and
        $D^+$ inverts its non-zero entries (1/2 or 1)."""
        y = check_input(self, y, "y", output=True)
        mask = self.mask.astype(self.dtype)
        flipped = jnp.roll(jnp.flip(mask, (0, 1)), 1, axis=(0, 1))  # M(-k), indices mod N
        d = (mask + flipped) / 2
        z = jnp.fft.fft2(adjoint(self).mv(y), norm="ortho")
        z = jnp.where(d > 0, z / jnp.where(d > 0, d, 1), 0)
        return jnp.fft.ifft2(z, norm="ortho").real.astype(self.dtype)

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.mask.shape, self.dtype)

    def out_structure(self):
        return jax.ShapeDtypeStruct(self.mask.shape, self.complex_dtype)


def _line_counts(width: int, acceleration, center_fraction) -> tuple[int, int]:
    if isinstance(acceleration, bool) or not isinstance(acceleration, numbers.Real):
        raise TypeError(f"acceleration must be a Python number >= 1, got {acceleration!r}.")
    if not (math.isfinite(acceleration) and acceleration >= 1):
        raise ValueError(f"acceleration must be finite and >= 1, got {acceleration!r}.")
    if isinstance(center_fraction, bool) or not isinstance(center_fraction, numbers.Real):
        raise TypeError(
            f"center_fraction must be a Python number in [0, 1], got {center_fraction!r}."
        )
    if not 0 <= center_fraction <= 1:
        raise ValueError(f"center_fraction must be in [0, 1], got {center_fraction!r}.")
    num_lines = max(1, round(width / acceleration))
    num_center = round(width * center_fraction)
    if num_center > num_lines:
        raise ValueError(
            f"center_fraction {center_fraction} asks for {num_center} central lines but "
            f"acceleration {acceleration} keeps only {num_lines} of {width}: lower "
            f"center_fraction to at most 1/acceleration."
        )
    return num_lines, num_center


def cartesian_mask(
    shape, acceleration, *, center_fraction=0.08, key: PRNGKeyArray
) -> Bool[Array, "H W"]:
    r"""A random Cartesian k-space mask of full lines (columns) with a fully sampled centre.

    Of the $W$ columns (phase-encode lines) it keeps exactly $L = \mathrm{round}(W / R)$
    ($R$ = `acceleration` $\geq 1$; at least one): the $C = \mathrm{round}(W c)$ lowest
    frequencies ($c$ = `center_fraction`; in centred order the block starting at
    $\lfloor W/2 \rfloor - \lfloor C/2 \rfloor$) and $L - C$ further columns drawn uniformly
    without replacement from the others. Every row of a kept column is sampled, so the
    sampled fraction is exactly $L / W$ ($1/R$ up to rounding). $C > L$ is an error.

    **Arguments:** `shape` `(H, W)`, `acceleration` $R$ and `center_fraction` $c$ (Python
    numbers: they fix the number of lines), `key` a PRNG key (traced under `vmap`: one mask per
    key). **Returns** a boolean `(H, W)` mask in `jnp.fft.fft2` order (zero frequency at
    `[0, 0]`), `True` where sampled.

    Example:
        ```python
        mask = bj.cartesian_mask((32, 32), 4, center_fraction=0.08, key=jr.key(0))
        assert int(mask[0].sum()) == 8  # round(32 / 4) full columns
        centred = jnp.fft.fftshift(mask)  # to look at it with the zero frequency in the middle
        ```
    """
    shape = check.signal_shape("shape", shape)
    if len(shape) != 2:
        raise ValueError(f"shape must be (H, W), got {shape}.")
    check.prng_key("key", key)
    h, w = shape
    num_lines, num_center = _line_counts(w, acceleration, center_fraction)
    start = w // 2 - num_center // 2
    center = np.zeros(w, bool)
    center[start : start + num_center] = True
    center = np.fft.ifftshift(center)  # centred order -> the DFT's order
    # The C central columns first, then the others in a uniformly random order.
    score = jnp.where(jnp.asarray(center), -1.0, jr.uniform(key, (w,)))
    rank = jnp.argsort(jnp.argsort(score))
    columns = rank < num_lines
    return jnp.broadcast_to(columns[None, :], (h, w))
