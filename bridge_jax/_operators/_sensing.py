r"""Sensing operators: dense matrices, Gaussian compressed sensing, masks and subsampling.

Each acts on one array of any shape (a vector, an `(H, W)` image): a matrix operator acts on
the flattened input, a mask keeps the input's shape, a subsampling returns the kept entries.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
import numpy as np
from jaxtyping import Array, Bool, Inexact, Int, PRNGKeyArray

from .. import _validate as check
from .._random import random_ranks
from ._base import AbstractMatrixFreeOperator, AbstractOperator


class AbstractMatrixOperator(AbstractOperator):
    r"""A dense matrix $A$ ($m \times n$) acting on inputs of shape `in_shape` (flattened,
    row-major, $n$ entries) and returning outputs of shape `out_shape` ($m$ entries)."""

    matrix: eqx.AbstractVar[Inexact[Array, "m n"]]
    in_shape: eqx.AbstractVar[tuple[int, ...]]
    out_shape: eqx.AbstractVar[tuple[int, ...]]

    def _apply(self, x):
        # x A^T rather than A x: the same sum for one signal, but under `vmap` over signals
        # the signals' axis stays first in the product (a batch of rows times A^T, one GEMM
        # whose output needs no transpose); with A x it lands last and every use of the result
        # transposes it. Batched Landweber runs 1.7x faster this way (docs/performance.md).
        return jnp.matmul(x.reshape(-1), self.matrix.T).reshape(self.out_shape)

    def transpose(self):
        return MatrixOperator(self.matrix.T, in_shape=self.out_shape, out_shape=self.in_shape)

    def as_matrix(self):
        return self.matrix

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.in_shape, self.matrix.dtype)

    def out_structure(self):
        return jax.ShapeDtypeStruct(self.out_shape, self.matrix.dtype)


def _matrix_shapes(matrix, in_shape, out_shape):
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D (m, n), got shape {matrix.shape}.")
    m, n = matrix.shape
    in_shape = (n,) if in_shape is None else check.signal_shape("in_shape", in_shape)
    out_shape = (m,) if out_shape is None else check.signal_shape("out_shape", out_shape)
    if math.prod(in_shape) != n or math.prod(out_shape) != m:
        raise ValueError(
            f"a {m} x {n} matrix maps {n} entries to {m}: in_shape {in_shape} and out_shape "
            f"{out_shape} do not fit."
        )
    return in_shape, out_shape


class MatrixOperator(AbstractMatrixOperator):
    """A given dense matrix as an operator, optionally on inputs/outputs of any shape.

    Example:
        ```python
        op = bj.MatrixOperator(jr.normal(jr.key(0), (8, 16)))  # vectors of 16 -> 8
        y = op.mv(jnp.ones(16))
        img_op = bj.MatrixOperator(jr.normal(jr.key(1), (8, 16)), in_shape=(4, 4))
        x_back = img_op.T.mv(img_op.mv(jnp.ones((4, 4))))  # (4, 4)
        ```
    """

    matrix: Inexact[Array, "m n"]
    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, matrix, *, in_shape=None, out_shape=None):
        matrix = jnp.asarray(matrix)
        if not jnp.issubdtype(matrix.dtype, jnp.inexact):
            matrix = matrix.astype(jnp.result_type(float))
        self.in_shape, self.out_shape = _matrix_shapes(matrix, in_shape, out_shape)
        self.matrix = matrix


class GaussianSensing(AbstractMatrixOperator):
    r"""Compressed-sensing matrix with i.i.d. entries $A_{ij} \sim \mathcal{N}(0, 1/m)$.

    With this scaling $\mathbb{E}[A^\top A] = I_n$: the measurement keeps the signal's energy
    on average, and for $m < n$ the spectrum of $A^\top A$ is Marchenko-Pastur on the
    $m$-dimensional row space and zero on the $(n-m)$-dimensional nullspace.

    **Arguments:** `shape` the signal shape (an int $n$ for vectors, or e.g. `(H, W)`),
    `m` the number of measurements, `key` a PRNG key, `dtype` (default: JAX's default float).
    Dense: $mn$ numbers, for $n$ up to a few thousand.

    Example:
        ```python
        op = bj.GaussianSensing(64, 32, key=jr.key(0))  # A: 32 x 64, N(0, 1/m) entries
        y = op.mv(bj.sparse_signal(64, 8, key=jr.key(1)))
        keys = jr.split(jr.key(2), 5)
        ops = jax.vmap(lambda k: bj.GaussianSensing(64, 32, key=k))(keys)  # 5 operators
        ```
    """

    matrix: Inexact[Array, "m n"]
    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, shape, m: int, *, key: PRNGKeyArray, dtype=None):
        self.in_shape = check.signal_shape("shape", shape)
        m = check.positive_int("m", m)
        self.out_shape = (m,)
        check.prng_key("key", key)
        dtype = jnp.result_type(float) if dtype is None else dtype
        n = math.prod(self.in_shape)
        self.matrix = jr.normal(key, (m, n), dtype) / jnp.sqrt(jnp.asarray(m, dtype))


class Mask(AbstractOperator):
    r"""Keep the entries where `mask` is true and zero the others: $A = \mathrm{diag}(mask)$.

    Acts on arrays of the mask's shape (`dtype` default: JAX's default float; pass a complex
    dtype for k-space). Self-adjoint and idempotent. `Subsample` drops the hidden entries
    instead of zeroing them.

    Example:
        ```python
        mask = bj.random_mask((8, 8), 0.5, key=jr.key(0))  # hide half of the pixels
        op = bj.Mask(mask)
        y = op.mv(jnp.ones((8, 8)))  # hidden pixels are 0
        ```
    """

    mask: Bool[Array, "..."]
    dtype: np.dtype = eqx.field(static=True)

    def __init__(self, mask, *, dtype=None):
        mask = jnp.asarray(mask)
        if mask.ndim == 0:
            raise ValueError("mask must have at least one dimension, got a scalar.")
        if mask.dtype != jnp.bool_:
            raise TypeError(f"mask must be boolean, got dtype {mask.dtype}.")
        self.mask = mask
        self.dtype = jnp.dtype(jnp.result_type(float) if dtype is None else dtype)

    def _apply(self, x):
        return jnp.where(self.mask, x, jnp.zeros((), x.dtype))

    def transpose(self):
        return self

    def as_matrix(self):
        return jnp.diag(self.mask.reshape(-1).astype(self.dtype))

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.mask.shape, self.dtype)

    def out_structure(self):
        return jax.ShapeDtypeStruct(self.mask.shape, self.dtype)


@lx.is_symmetric.register(Mask)
@lx.is_diagonal.register(Mask)
@lx.is_positive_semidefinite.register(Mask)
def _(op):
    return True


@lx.diagonal.register(Mask)
def _(op):
    return op.mask.reshape(-1).astype(op.dtype)


@lx.conj.register(Mask)
def _(op):
    return op


def random_mask(shape, ratio, *, key: PRNGKeyArray) -> Bool[Array, "..."]:
    r"""Boolean mask of shape `shape` (an int `n` or a tuple) that hides exactly
    $\mathrm{round}(\rho N)$ of its $N$ entries.

    The hidden set is uniform over all subsets of that size. `ratio` $\rho \in [0, 1)$ may
    be a traced array (e.g. `vmap`-ed over a sweep of ratios): the count is computed at run
    time, the shape stays fixed. `True` means *observed*.

    Example:
        ```python
        mask = bj.random_mask((8, 8), 0.25, key=jr.key(0))  # True where observed
        masks = jax.vmap(lambda k: bj.random_mask((8, 8), 0.25, key=k))(jr.split(jr.key(1), 4))
        ```
    """
    shape = check.signal_shape("n", shape)
    check.ratio("ratio", ratio)
    check.prng_key("key", key)
    size = math.prod(shape)
    num_hidden = jnp.round(jnp.asarray(ratio) * size).astype(jnp.int32)
    rank = random_ranks(size, key)
    return (rank >= num_hidden).reshape(shape)


class Subsample(AbstractMatrixFreeOperator):
    r"""Keep the entries at `indices` (into the flattened input of shape `shape`): $m$ rows
    of the identity. The adjoint scatters a measurement back with zeros elsewhere.

    Example:
        ```python
        op = bj.Subsample(jnp.array([0, 3, 5]), (8,))  # keep entries 0, 3 and 5
        y = op.mv(jnp.arange(8.0))  # [0., 3., 5.]
        x_back = op.T.mv(y)  # zeros elsewhere
        ```
    """

    indices: Int[Array, " m"]
    shape: tuple[int, ...] = eqx.field(static=True)
    dtype: np.dtype = eqx.field(static=True)

    def __init__(self, indices, shape, *, dtype=None):
        self.shape = check.signal_shape("shape", shape)
        self.dtype = jnp.dtype(jnp.result_type(float) if dtype is None else dtype)
        size = math.prod(self.shape)
        indices = jnp.asarray(indices)
        if indices.ndim != 1 or not jnp.issubdtype(indices.dtype, jnp.integer):
            raise ValueError(
                f"indices must be a 1-D integer array, got {indices.dtype} "
                f"of shape {indices.shape}."
            )
        if indices.shape[0] > size:
            raise ValueError(
                f"Subsample keeps at most {size} entries, got {indices.shape[0]} indices."
            )
        if check.is_concrete(indices):
            idx = np.asarray(indices)
            if idx.size and (idx.min() < 0 or idx.max() >= size):
                raise ValueError(
                    f"indices must lie in [0, {size - 1}], got min {idx.min()} and max {idx.max()}."
                )
            if np.unique(idx).size != idx.size:
                raise ValueError("indices must be distinct (each entry is observed once).")
        self.indices = indices

    @classmethod
    def from_mask(cls, mask, *, dtype=None) -> Subsample:
        """The subsampling that keeps the `True` entries of a concrete boolean mask."""
        mask = np.asarray(mask)
        if mask.ndim == 0 or mask.dtype != np.bool_:
            raise ValueError(
                f"mask must be a boolean array, got {mask.dtype} of shape {mask.shape}."
            )
        return cls(jnp.asarray(np.flatnonzero(mask), jnp.int32), mask.shape, dtype=dtype)

    def _apply(self, x):
        return x.reshape(-1)[self.indices]

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.shape, self.dtype)

    def out_structure(self):
        return jax.ShapeDtypeStruct(self.indices.shape, self.dtype)
