r"""Linear measurement operators $A: \mathbb{R}^n \to \mathbb{R}^m$ as equinox modules.

Every operator is a pytree: its arrays are leaves (so an operator can be passed through
`jit`, batched with `vmap`, e.g. one Gaussian matrix per trial, and differentiated), its
sizes are static fields. Each operator acts on ONE unbatched vector.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from . import _validate as check


class LinearOperator(eqx.Module):
    r"""Abstract linear operator $A \in \mathbb{R}^{m \times n}$ acting on one vector.

    Subclasses implement `mv` ($x \mapsto Ax$), `rmv` (the adjoint, $y \mapsto A^\top y$),
    `as_matrix`, `in_size` ($n$) and `out_size` ($m$). `A @ B` composes two operators.
    """

    @abc.abstractmethod
    def mv(self, x: Float[Array, " n"]) -> Float[Array, " m"]:
        """$Ax$."""

    @abc.abstractmethod
    def rmv(self, y: Float[Array, " m"]) -> Float[Array, " n"]:
        r"""$A^\top y$, the adjoint."""

    @abc.abstractmethod
    def as_matrix(self) -> Float[Array, "m n"]:
        """The dense $m \\times n$ matrix."""

    @property
    @abc.abstractmethod
    def in_size(self) -> int:
        """$n$, the length of the signal."""

    @property
    @abc.abstractmethod
    def out_size(self) -> int:
        """$m$, the length of a measurement."""

    def __matmul__(self, other: LinearOperator) -> Composed:
        return Composed(self, other)


class AbstractMatrixOperator(LinearOperator):
    """An operator stored as a dense matrix; subclasses only say how the matrix is made."""

    matrix: eqx.AbstractVar[Float[Array, "m n"]]

    def mv(self, x):
        return self.matrix @ x

    def rmv(self, y):
        return self.matrix.T @ y

    def as_matrix(self):
        return self.matrix

    @property
    def in_size(self) -> int:
        return self.matrix.shape[1]

    @property
    def out_size(self) -> int:
        return self.matrix.shape[0]


class MatrixOperator(AbstractMatrixOperator):
    """A given dense matrix as an operator."""

    matrix: Float[Array, "m n"]

    def __init__(self, matrix: Float[Array, "m n"]):
        matrix = jnp.asarray(matrix)
        if matrix.ndim != 2:
            raise ValueError(f"matrix must be 2-D (m, n), got shape {matrix.shape}.")
        self.matrix = matrix


class GaussianSensing(AbstractMatrixOperator):
    r"""Compressed-sensing matrix with i.i.d. entries $A_{ij} \sim \mathcal{N}(0, 1/m)$.

    With this scaling $\mathbb{E}[A^\top A] = I_n$: the measurement keeps the signal's energy
    on average, and for $m < n$ the spectrum of $A^\top A$ is Marchenko-Pastur on the
    $m$-dimensional row space and zero on the $(n-m)$-dimensional nullspace.

    **Arguments:** `n` signal length, `m` number of measurements, `key` a PRNG key, `dtype`
    (default: JAX's default float).
    """

    matrix: Float[Array, "m n"]

    def __init__(self, n: int, m: int, *, key: PRNGKeyArray, dtype=None):
        n = check.positive_int("n", n)
        m = check.positive_int("m", m)
        check.prng_key("key", key)
        dtype = jnp.result_type(float) if dtype is None else dtype
        self.matrix = jr.normal(key, (m, n), dtype) / jnp.sqrt(jnp.asarray(m, dtype))


class Mask(LinearOperator):
    """Keep the entries where `mask` is true and zero the others: $A = \\mathrm{diag}(mask)$.

    Self-adjoint and idempotent; `in_size == out_size == len(mask)`. Use `Subsample` for
    the operator that drops the hidden entries instead of zeroing them.
    """

    mask: Bool[Array, " n"]

    def __init__(self, mask: Bool[Array, " n"]):
        mask = jnp.asarray(mask)
        if mask.ndim != 1:
            raise ValueError(f"mask must be 1-D, got shape {mask.shape}.")
        if mask.dtype != jnp.bool_:
            raise TypeError(f"mask must be boolean, got dtype {mask.dtype}.")
        self.mask = mask

    def mv(self, x):
        return jnp.where(self.mask, x, jnp.zeros((), x.dtype))

    def rmv(self, y):
        return self.mv(y)

    def as_matrix(self):
        return jnp.diag(self.mask.astype(float))

    @property
    def in_size(self) -> int:
        return self.mask.shape[0]

    @property
    def out_size(self) -> int:
        return self.mask.shape[0]


def random_mask(n: int, ratio, *, key: PRNGKeyArray) -> Bool[Array, " n"]:
    r"""Boolean mask of length `n` that hides exactly $\mathrm{round}(\rho n)$ entries.

    The hidden set is uniform over all subsets of that size. `ratio` $\rho \in [0, 1)$ may
    be a traced array (e.g. `vmap`-ed over a sweep of ratios): the count is computed at run
    time, the shape stays `(n,)`. `True` means *observed*.
    """
    n = check.positive_int("n", n)
    check.ratio("ratio", ratio)
    check.prng_key("key", key)
    num_hidden = jnp.round(jnp.asarray(ratio) * n).astype(jnp.int32)
    rank = jnp.argsort(jr.permutation(key, n))  # a uniform random rank for each entry
    return rank >= num_hidden


class Subsample(LinearOperator):
    r"""Keep the entries at `indices`: the rows of $I_n$ with those indices ($m \le n$).

    $A^\top$ scatters a measurement back into a length-`n` vector with zeros elsewhere.
    """

    indices: Int[Array, " m"]
    n: int = eqx.field(static=True)

    def __init__(self, indices: Int[Array, " m"], n: int):
        self.n = check.positive_int("n", n)
        indices = jnp.asarray(indices)
        if indices.ndim != 1 or not jnp.issubdtype(indices.dtype, jnp.integer):
            raise ValueError(
                f"indices must be a 1-D integer array, got {indices.dtype} "
                f"of shape {indices.shape}."
            )
        if indices.shape[0] > self.n:
            raise ValueError(
                f"Subsample keeps at most n={self.n} entries, got {indices.shape[0]} indices."
            )
        if check.is_concrete(indices):
            idx = np.asarray(indices)
            if idx.size and (idx.min() < 0 or idx.max() >= self.n):
                raise ValueError(
                    f"indices must lie in [0, {self.n - 1}], got min {idx.min()} "
                    f"and max {idx.max()}."
                )
            if np.unique(idx).size != idx.size:
                raise ValueError("indices must be distinct (each entry is observed once).")
        self.indices = indices

    @classmethod
    def from_mask(cls, mask) -> Subsample:
        """The subsampling that keeps the `True` entries of a concrete boolean mask."""
        mask = np.asarray(mask)
        if mask.ndim != 1 or mask.dtype != np.bool_:
            raise ValueError(
                f"mask must be a 1-D boolean array, got {mask.dtype} of shape {mask.shape}."
            )
        return cls(jnp.asarray(np.flatnonzero(mask), jnp.int32), mask.shape[0])

    def mv(self, x):
        return x[self.indices]

    def rmv(self, y):
        return jnp.zeros(self.n, y.dtype).at[self.indices].set(y)

    def as_matrix(self):
        return jnp.eye(self.n, dtype=float)[self.indices]

    @property
    def in_size(self) -> int:
        return self.n

    @property
    def out_size(self) -> int:
        return self.indices.shape[0]


class Composed(LinearOperator):
    r"""$A = \text{outer} \circ \text{inner}$, i.e. $Ax = \text{outer}(\text{inner}(x))$."""

    outer: LinearOperator
    inner: LinearOperator

    def __init__(self, outer: LinearOperator, inner: LinearOperator):
        for name, op in (("outer", outer), ("inner", inner)):
            if not isinstance(op, LinearOperator):
                raise TypeError(f"{name} must be a LinearOperator, got {type(op).__name__}.")
        if outer.in_size != inner.out_size:
            raise ValueError(
                f"cannot compose: outer takes vectors of length {outer.in_size} but "
                f"inner returns length {inner.out_size}."
            )
        self.outer = outer
        self.inner = inner

    def mv(self, x):
        return self.outer.mv(self.inner.mv(x))

    def rmv(self, y):
        return self.inner.rmv(self.outer.rmv(y))

    def as_matrix(self):
        return self.outer.as_matrix() @ self.inner.as_matrix()

    @property
    def in_size(self) -> int:
        return self.inner.in_size

    @property
    def out_size(self) -> int:
        return self.outer.out_size


def _check_operator(op) -> LinearOperator:
    if not isinstance(op, LinearOperator):
        raise TypeError(f"op must be a bridge_jax.LinearOperator, got {type(op).__name__}.")
    return op


@eqx.filter_jit
def _operator_norm(op, v0, num_iters):
    def body(v, _):
        w = op.rmv(op.mv(v))
        return w / jnp.maximum(jnp.linalg.norm(w), jnp.finfo(w.dtype).tiny), None

    v, _ = jax.lax.scan(body, v0, None, length=num_iters)
    return jnp.linalg.norm(op.mv(v))


def operator_norm(op: LinearOperator, *, num_iters: int = 200, key: PRNGKeyArray | None = None):
    r"""Spectral norm $\|A\|_2$ by power iteration on $A^\top A$.

    Power iteration approaches $\|A\|_2$ from below, at rate $(\lambda_2/\lambda_1)^k$ in the
    eigenvalues of $A^\top A$; 200 iterations give ~1e-4 relative accuracy on a Gaussian
    32x64 matrix. The start vector is drawn from `key` (default: a fixed key, so the result is
    deterministic).
    """
    _check_operator(op)
    num_iters = check.positive_int("num_iters", num_iters)
    key = jr.key(0) if key is None else check.prng_key("key", key)
    v0 = jr.normal(key, (op.in_size,))
    v0 = v0 / jnp.linalg.norm(v0)
    return _operator_norm(op, v0, num_iters)


def pinv_solve(op: LinearOperator, y: Float[Array, " m"], *, rtol=None) -> Float[Array, " n"]:
    r"""Minimum-norm least-squares solution $x = A^{+} y$.

    Computed from the SVD of the dense matrix; singular values below `rtol` times the
    largest are treated as zero (default: `max(m, n) * eps`, as `numpy.linalg.pinv`).
    Under `vmap` over `y` with a shared operator, the pseudoinverse is computed once.
    """
    _check_operator(op)
    y = check.shape("y", y, (op.out_size,))
    a = op.as_matrix().astype(y.dtype)
    return jnp.linalg.pinv(a, rtol=rtol) @ y
