r"""Fast structured compressed sensing: random signs, an orthonormal DCT, random rows."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.fft import dctn
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .. import _validate as check
from ._base import AbstractMatrixFreeOperator


class StructuredSensing(AbstractMatrixFreeOperator):
    r"""Compressed sensing in $O(n \log n)$: $A x = \sqrt{n/m}\; P_\Omega\, C\, (s \odot x)$
    with $s$ i.i.d. random signs (shape `shape`), $C$ the orthonormal DCT-II over every axis
    (`jax.scipy.fft.dctn(..., norm="ortho")`) and $P_\Omega$ the $m$ flattened coefficients at
    a uniformly random set $\Omega$ of $m$ distinct indices. As `GaussianSensing`,
    $\mathbb{E}[A^\top A] = I_n$; the rows are orthogonal, $A A^\top = (n/m) I_m$, so the
    pseudoinverse is $(m/n) A^\top$.

    **Arguments:** `shape` the signal shape (an int or e.g. `(H, W)`), `m` the number of
    measurements ($1 \le m \le n$), `key` a PRNG key (traced under `vmap`: one operator per
    key), `dtype` (default: JAX's default float). Output shape `(m,)`. Stores $n + m$ numbers
    instead of GaussianSensing's $mn$.

    Example:
        ```python
        op = bj.StructuredSensing((16, 16), 64, key=jr.key(0))  # m = n/4, O(n log n)
        y = op.mv(jnp.ones((16, 16)))  # shape (64,)
        ```
    """

    signs: Float[Array, "..."]
    indices: Int[Array, " m"]
    shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, shape, m: int, *, key: PRNGKeyArray, dtype=None):
        self.shape = check.signal_shape("shape", shape)
        n = math.prod(self.shape)
        m = check.int_in_range("m", m, 1, n)
        check.prng_key("key", key)
        dtype = jnp.result_type(float) if dtype is None else dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(f"dtype must be real floating point, got {jnp.dtype(dtype)}.")
        k_sign, k_rows = jr.split(key)
        self.signs = jr.rademacher(k_sign, self.shape, dtype)
        self.indices = jr.permutation(k_rows, n)[:m].astype(jnp.int32)

    def _apply(self, x):
        n, m = math.prod(self.shape), self.indices.shape[0]
        coefficients = dctn(self.signs * x, norm="ortho").reshape(-1)
        return coefficients[self.indices] * jnp.sqrt(jnp.asarray(n / m, x.dtype))

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.shape, self.signs.dtype)

    def out_structure(self):
        return jax.ShapeDtypeStruct(self.indices.shape, self.signs.dtype)
