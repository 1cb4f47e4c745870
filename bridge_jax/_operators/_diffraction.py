r"""Coded diffraction: $L$ random phase masks, each followed by an orthonormal 2-D DFT."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex

from ._base import AbstractMatrixFreeOperator


class CodedDiffraction(AbstractMatrixFreeOperator):
    r"""$(A x)_l = F(d_l \odot x)$, $l = 1..L$, on real `(H, W)` images: $F$ the orthonormal
    2-D DFT, `masks` the $L$ complex masks $d_l$ (shape `(L, H, W)`), `dtype` the image's real
    dtype. The output is complex, of shape `(L, H, W)`: the operator is linear over the reals
    only, its adjoint $y \mapsto \mathrm{Re}\sum_l \bar d_l \odot F^* y_l$ (`adjoint(op)`, also
    `op.T`). With unit-modulus masks $A^* A = L I$. Least squares: `pinv_solve`, not
    `lineax.linear_solve` (its dense solvers refuse; `lineax.LSMR` fails inside lineax with a
    dtype error: pass it to `pinv_solve(op, y, solver=...)` instead)."""

    masks: Complex[Array, "L H W"]
    dtype: np.dtype = eqx.field(static=True)

    def _apply(self, x):
        return jnp.fft.fft2(self.masks * x, norm="ortho")

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.masks.shape[1:], self.dtype)

    def out_structure(self):
        return jax.ShapeDtypeStruct(self.masks.shape, self.masks.dtype)
