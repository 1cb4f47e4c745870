r"""Super-resolution: anti-aliased downsampling by an integer factor (box filter, decimation)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate as check
from ._base import AbstractMatrixFreeOperator


class Downsample(AbstractMatrixFreeOperator):
    r"""Downsampling by an integer `factor` $f$ with a box anti-aliasing filter: each output
    pixel is the mean of an $f \times f$ block,
    $$ (A x)[i, j] = \frac{1}{f^2} \sum_{a, b = 0}^{f - 1} x[f i + a,\ f j + b], $$
    i.e. an $f \times f$ moving average then decimation by $f$ (scikit-image's
    `downscale_local_mean`). Acts on arrays of shape `shape` (any number of axes, each
    divisible by $f$; output shape divided by $f$). $A A^\top = I / f^{d}$ ($d$ axes): the
    rows are orthogonal, and $A^\top$ spreads each value evenly over its block (divided by
    $f^d$).

    Example:
        ```python
        op = bj.Downsample((16, 16), 2)  # 2 x 2 box average, then decimation
        y = op.mv(jnp.ones((16, 16)))  # shape (8, 8)
        ```
    """

    shape: tuple[int, ...] = eqx.field(static=True)
    factor: int = eqx.field(static=True)
    dtype: np.dtype = eqx.field(static=True)

    def __init__(self, shape, factor: int, *, dtype=None):
        self.shape = check.signal_shape("shape", shape)
        self.factor = check.positive_int("factor", factor)
        bad = [s for s in self.shape if s % self.factor]
        if bad:
            raise ValueError(
                f"factor {self.factor} must divide every axis of shape {self.shape}; "
                f"{bad} are not multiples of it (crop or pad the image first)."
            )
        self.dtype = jnp.dtype(jnp.result_type(float) if dtype is None else dtype)

    def _apply(self, x):
        f = self.factor
        blocks = x.reshape([n for s in self.shape for n in (s // f, f)])
        return blocks.mean(axis=tuple(range(1, 2 * len(self.shape), 2)))

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.shape, self.dtype)

    def out_structure(self):
        return jax.ShapeDtypeStruct(tuple(s // self.factor for s in self.shape), self.dtype)
