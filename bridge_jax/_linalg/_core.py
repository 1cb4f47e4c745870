r"""Linear algebra on any lineax operator: norm, pseudoinverse, leading eigenpairs.

Each tool has an exact dense path for small operators (the matrix is formed, as NumPy would)
and a matrix-free path for large ones (only `mv` and the adjoint are called), so the same call
works on a 32 x 64 Gaussian matrix and on a blur of a 128 x 128 image (n = 16,384) without
forming an n x n matrix.
"""

from __future__ import annotations

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jax.experimental.sparse.linalg import lobpcg_standard
from jaxtyping import Array, Bool, Float, Inexact, PRNGKeyArray

from .. import _validate as check
from .._operators import (
    adjoint,
    check_input,
    check_operator,
    from_real,
    is_complex,
    is_real_linear,
    real_matrix,
    to_real,
)

# Dense paths up to this many matrix entries (16 MiB in float32): exact and fast at the
# paper's sizes; beyond it the matrix-free paths.
DENSE_LIMIT = 2**22


def gram(op: lx.AbstractLinearOperator) -> lx.AbstractLinearOperator:
    r"""$A^* A$ as a symmetric positive semi-definite operator on $A$'s input space."""
    op = check_operator(op)
    return lx.TaggedLinearOperator(
        adjoint(op) @ op, (lx.symmetric_tag, lx.positive_semidefinite_tag)
    )


@eqx.filter_jit
def _operator_norm(op, v0, num_iters):
    def body(v, _):
        w = adjoint(op).mv(op.mv(v))
        return w / jnp.maximum(jnp.linalg.norm(w), jnp.finfo(w.dtype).tiny), None

    v, _ = jax.lax.scan(body, v0, None, length=num_iters)
    return jnp.linalg.norm(op.mv(v))


def operator_norm(
    op: lx.AbstractLinearOperator, *, num_iters: int = 200, key: PRNGKeyArray | None = None
) -> Float[Array, ""]:
    r"""Spectral norm $\|A\|_2$ by power iteration on $A^* A$ (matrix-free, any operator).

    Power iteration approaches $\|A\|_2$ from below, at rate $(\lambda_2/\lambda_1)^k$ in the
    eigenvalues of $A^* A$; 200 iterations give ~1e-4 relative accuracy on a Gaussian
    32x64 matrix. The start is drawn from `key` (default: a fixed key, so the result is
    deterministic).
    """
    op = check_operator(op)
    num_iters = check.positive_int("num_iters", num_iters)
    key = jr.key(0) if key is None else check.prng_key("key", key)
    struct = op.in_structure()
    v0 = jr.normal(key, struct.shape).astype(struct.dtype)
    v0 = v0 / jnp.linalg.norm(v0)
    return _operator_norm(op, v0, num_iters)


def pinv_solve(
    op: lx.AbstractLinearOperator,
    y: Inexact[Array, "..."],
    *,
    rtol=None,
    solver: lx.AbstractLinearSolver | None = None,
    throw: bool = True,
) -> Inexact[Array, "..."]:
    r"""Minimum-norm least-squares solution $x = A^{+} y$ for any operator, over the field its
    structures declare: real unknowns stay real when the data are complex (an image to
    k-space), i.e. the least squares of the real matrix `real_matrix(op)` for an operator
    that is linear over the reals only (`is_real_linear`).

    - Small operators (at most `DENSE_LIMIT` matrix entries) with `solver=None`: from the SVD
      of the dense matrix (the real matrix for a real-linear operator), singular values at or
      below `rtol` times the largest treated as zero; default `rtol` $= \max(p, q)\,\varepsilon$
      for the $p \times q$ matrix solved, as `numpy.linalg.pinv(a, rtol=None)`. Under `vmap`
      over `y` with a shared operator, the pseudoinverse is computed once.
    - Real diagonal operators (`lineax.is_diagonal`: a `Mask`, the identity) with
      `solver=None`: entry by entry, $x_i = y_i / d_i$ where $|d_i|$ is above the same cutoff
      ($n \varepsilon \max_i |d_i|$ by default), else 0 (no matrix formed).
    - Otherwise: `lineax.linear_solve(op, y, solver)` with `solver` default `lineax.LSMR`
      (matrix-free, from zero, so the minimum-norm solution; tolerance `rtol`, default 1e-6);
      for an operator linear over the reals only (real unknowns and complex data, or back),
      over the real coordinates, real and imaginary parts stacked (a `lineax.CG` solver is
      applied to their normal equations).
      `throw` as in lineax: raise at run time if the solver did not converge.

    Returns an array of the operator's input shape.

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        y = op.mv(jnp.ones(16))
        x = bj.pinv_solve(op, y)  # the minimum-norm least-squares solution A^+ y
        ```
    """
    op = check_operator(op)
    y = check_input(op, y, "y", output=True)
    m, n = op.out_size(), op.in_size()
    in_struct = op.in_structure()
    if solver is None and _is_real_diagonal(op):
        # A diagonal $D$ (a mask, the identity): $D^+ y$ entry by entry, with the SVD path's
        # cutoff on $|d_i|$ (its singular values), instead of an SVD of an n x n matrix.
        d = lx.diagonal(op).astype(jnp.result_type(y.dtype, in_struct.dtype))
        size = jnp.abs(d)
        cutoff = (n * jnp.finfo(d.dtype).eps if rtol is None else rtol) * jnp.max(size)
        keep = size > cutoff
        x = jnp.where(keep, y.reshape(-1).astype(d.dtype) / jnp.where(keep, d, 1), 0)
        return x.reshape(in_struct.shape)
    if solver is None and m * n <= DENSE_LIMIT:
        dtype = jnp.result_type(y.dtype, in_struct.dtype, op.out_structure().dtype)
        real = is_real_linear(op)
        if real:
            # Linear over the reals only (an image to k-space, or back): the least squares of
            # its real matrix, on the real coordinates of y and x.
            a = real_matrix(op).astype(jnp.finfo(dtype).dtype)
            b = to_real(y.astype(jnp.result_type(y.dtype, op.out_structure().dtype)))
        else:
            a = op.as_matrix().astype(dtype)
            b = y.reshape(-1).astype(dtype)
        if rtol is None:
            rtol = max(a.shape) * jnp.finfo(a.dtype).eps
        x = jnp.linalg.pinv(a, rtol=rtol) @ b
        return from_real(x, in_struct) if real else x.reshape(in_struct.shape)
    if solver is not None and not isinstance(solver, lx.AbstractLinearSolver):
        raise TypeError(f"solver must be a lineax.AbstractLinearSolver, got {solver!r}.")
    tol = 1e-6 if rtol is None else float(check.nonnegative("rtol", rtol))
    y = y.astype(jnp.result_type(y.dtype, op.out_structure().dtype))
    solver = lx.LSMR(rtol=tol, atol=tol) if solver is None else solver
    if is_real_linear(op):
        # Linear over the reals only (real unknowns and complex data, or back): solve over the
        # real coordinates (real and imaginary parts stacked), as the dense path does.
        # (CG on A^* A x = A^* y broke down: for an MRI operator A^* A is a projection, CG
        # converges in one step and then divides 0 by 0.)
        real_op, unstack = _real_form(op)
        y_real = to_real(y)
        if isinstance(solver, lx.CG):  # a solver for square operators: the normal equations
            rhs = real_op.transpose().mv(y_real)
            x = lx.linear_solve(gram(real_op), rhs, solver, throw=throw).value
        else:
            x = lx.linear_solve(real_op, y_real, solver, throw=throw).value
        return unstack(x)
    return lx.linear_solve(op, y, solver, throw=throw).value


def _real_form(op):
    """`op` as a lineax operator between the real coordinates of its input and output
    (`to_real`, the coordinates of `real_matrix`), and the map from its solutions back to
    `op`'s input."""
    in_struct = op.in_structure()
    size = math.prod(in_struct.shape) * (
        2 if jnp.issubdtype(in_struct.dtype, jnp.complexfloating) else 1
    )
    real = jax.ShapeDtypeStruct((size,), jnp.finfo(in_struct.dtype).dtype)

    def unstack(v):
        return from_real(v, in_struct)

    return lx.FunctionLinearOperator(lambda v: to_real(op.mv(unstack(v))), real), unstack


def _is_real_diagonal(op) -> bool:
    return (
        lx.is_diagonal(op)
        and op.in_structure().shape == op.out_structure().shape
        and not is_complex(op)
    )


def masked_pinv_solve(
    op: lx.AbstractLinearOperator,
    mask: Bool[Array, "..."],
    y: Float[Array, "..."],
    *,
    method: Literal["qr", "cholesky"] = "qr",
    throw: bool = True,
) -> Float[Array, "..."]:
    r"""$x = (D A)^{+} y$ for $D = \mathrm{diag}(mask)$: the minimum-norm least-squares solution
    from the rows of $A$ that `mask` keeps (the entries of `y` it hides are ignored).

    The same numbers as `pinv_solve(Mask(mask) @ op, y)` up to rounding, without an SVD.
    Applied to $y = A x$ it is the orthogonal projection of $x$ onto the row space of $A_K$
    (the kept rows). Requires the kept rows to be linearly independent (true with probability
    one for a Gaussian $A$ with at most $n$ rows); otherwise use `pinv_solve`, which
    thresholds small singular values. Real operators with at most as many rows as columns
    (`op.out_size() <= op.in_size()`), dense: the matrix is formed.

    - `method="qr"` (default): one QR factorisation of $A^\top$ with the kept rows first:
      for $K$ kept rows, $A_K^\top = Q_K R_K$ and $A_K^{+} y_K = Q_K R_K^{-\top} y_K$.
      Accurate to about $\mathrm{cond}(A_K)\,\varepsilon$.
    - `method="cholesky"`: the Cholesky factor of the kept rows' Gram matrix $A_K A_K^\top$
      (a block of $A A^\top$, which a `vmap` over masks forms once), then
      $x = A_K^\top (A_K A_K^\top)^{-1} y_K$ with two steps of iterative refinement against
      $A$ itself (the corrected semi-normal equations). About 2.5x faster than `"qr"` for
      many masks of one matrix (`python -m benchmarks.masked_pinv`) and as accurate while
      $\mathrm{cond}(A_K)^2 \varepsilon < 1$ (in float32, $\mathrm{cond}(A_K)$ up to about
      $10^3$). Beyond that the refinement does not converge: where its last correction is
      larger than $\sqrt{\varepsilon}\,\|x\|$ (or the factorisation fails) it raises at run
      time (`throw=True`), or returns NaN (`throw=False`: no run-time check, so the compiled
      program has no host callback and enters JAX's persistent cache); use `"qr"` there.
      The rule caught every inaccurate case we tried; it is a test of convergence, not a
      proof of accuracy.

    **Arguments:** `op` (a real lineax operator, $m \le n$); `mask`: booleans of the operator's
    output shape, true where a row is kept; `y`: an array of the operator's output shape;
    `method`: `"qr"` or `"cholesky"`; `throw`: for `"cholesky"`, raise rather than return NaN
    (QR has no such check).

    **Returns:** an array of the operator's input shape.

    Example:
        ```python
        op = bj.GaussianSensing(16, 16, key=jr.key(0))
        keep = bj.random_mask((16,), 0.5, key=jr.key(1))  # the rows kept
        x = bj.masked_pinv_solve(op, keep, op.mv(jnp.ones(16)))  # (D A)^+ y, D the row mask
        ```
    """
    op = check_operator(op)
    y = check_input(op, y, "y", output=True)
    m, n = op.out_size(), op.in_size()
    if is_complex(op):
        raise ValueError("op must be real for masked_pinv_solve; use pinv_solve.")
    if m > n:
        raise ValueError(
            f"op must have at most as many rows as columns for masked_pinv_solve (kept rows "
            f"linearly independent), got {m} x {n}; use pinv_solve."
        )
    if method not in ("qr", "cholesky"):
        raise ValueError(f"method must be 'qr' or 'cholesky', got {method!r}.")
    mask = jnp.asarray(mask)
    if mask.dtype != jnp.bool_:
        raise TypeError(f"mask must be boolean, got dtype {mask.dtype}.")
    check.shape("mask", mask, tuple(op.out_structure().shape))
    a = op.as_matrix()
    rows = mask.reshape(-1)
    y = y.reshape(-1).astype(a.dtype)
    if method == "qr":
        x = _masked_pinv_qr(a, rows, y)
    else:
        x = _masked_pinv_cholesky(a, rows, y, bool(throw))
    return x.reshape(op.in_structure().shape)


def _kept_block(matrix, kept):
    """`matrix` (m x m) with every entry outside the kept rows' and columns' block replaced by
    the identity's: a system in it, with zero right-hand sides on the hidden rows, has the kept
    block's solution on the kept rows and zero on the others (fixed shapes under vmap)."""
    block = kept[:, None] & kept[None, :]
    return jnp.where(block, matrix, jnp.eye(matrix.shape[0], dtype=matrix.dtype))


def _masked_pinv_qr(a, rows, y):
    m = a.shape[0]
    order = jnp.argsort(~rows, stable=True)  # kept rows first, in their order
    kept = jnp.arange(m) < jnp.sum(rows)
    q, r = jnp.linalg.qr(a[order].T)  # (n, m), (m, m): A_K^T = Q[:, :K] R[:K, :K]
    r = _kept_block(r, kept)  # R_K^{-T} y_K from the full triangular system
    rhs = jnp.where(kept, y[order], 0)
    z = jax.scipy.linalg.solve_triangular(r, rhs, trans="T", lower=False)
    return q @ jnp.where(kept, z, 0)


# Refinement steps of the corrected semi-normal equations: the first brings the error from
# cond(A_K)^2 eps to about cond(A_K) eps; the second's correction measures what is left.
_CHOLESKY_REFINEMENTS = 2


def _masked_pinv_cholesky(a, rows, y, throw: bool):
    gram_rows = a @ a.T  # does not depend on the mask: computed once under a vmap over masks
    factor = jax.scipy.linalg.cho_factor(_kept_block(gram_rows, rows), lower=True)

    def min_norm(residual):  # A_K^T (A_K A_K^T)^{-1} r_K: in the kept rows' span
        z = jax.scipy.linalg.cho_solve(factor, jnp.where(rows, residual, 0))
        return a.T @ jnp.where(rows, z, 0)

    correction = min_norm(y)
    x = correction
    for _ in range(_CHOLESKY_REFINEMENTS):
        correction = min_norm(y - a @ x)
        x = x + correction
    tol = jnp.sqrt(jnp.finfo(a.dtype).eps) * jnp.linalg.norm(x)
    converged = jnp.linalg.norm(correction) <= tol  # False for NaN (a failed factorisation)
    if throw:
        x = eqx.error_if(
            x,
            ~converged,
            "masked_pinv_solve(method='cholesky'): the kept rows are too ill-conditioned for "
            "their Gram matrix (its refinement did not converge); use method='qr'.",
        )
    return jnp.where(converged, x, jnp.nan)


def _sym_check(op, name):
    op = check_operator(op, name)
    if op.in_structure().shape != op.out_structure().shape:
        raise ValueError(
            f"{name} must be square (input and output of one shape), got input "
            f"{op.in_structure().shape} and output {op.out_structure().shape}; for a "
            f"rectangular A pass gram(A) = A^T A."
        )
    return op


def leading_eigenpairs(
    op: lx.AbstractLinearOperator | Float[Array, "n n"],
    k: int,
    *,
    method: str = "auto",
    num_iters: int = 200,
    tol: float = 1e-4,
    key: PRNGKeyArray | None = None,
) -> tuple[Float[Array, " k"], Float[Array, "k ..."]]:
    r"""The `k` largest eigenvalues (decreasing) and eigenvectors of a symmetric operator.

    `op` is a symmetric positive semi-definite operator (e.g. `gram(A)` for $A^\top A$, or
    `augmentation_covariance_operator(views)` for $C_{\mathrm{SSRL}}$) or a dense symmetric
    matrix. `method`:
    - `"dense"`: `eigh` of the dense matrix (exact; $n^2$ memory);
    - `"lobpcg"`: matrix-free LOBPCG (`jax.experimental.sparse.linalg.lobpcg_standard`),
      which needs $5k < n$ and calls `op.mv` on a block of $3k$ vectors per iteration; it
      stops after `num_iters` iterations or once every residual
      $\|Cv - \lambda v\| \leq$ `tol` $\cdot (\lambda + \|Cv\|)$ (`tol` is relative; the
      float32 floor is about 1e-5). Start block from `key` (default a fixed key);
    - `"auto"` (default): dense for $n^2 \leq$ `DENSE_LIMIT` or $5k \geq n$, else LOBPCG.

    **Returns:** `(eigenvalues, eigenvectors)`, shapes `(k,)` and `(k, *input_shape)`:
    `eigenvectors[i]` is the $i$-th eigenvector as an array of the operator's input shape
    (orthonormal as flattened vectors).
    """
    if not isinstance(op, lx.AbstractLinearOperator):
        matrix = check.shape("op", op, (None, None))
        if matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"a dense op must be a square matrix, got shape {matrix.shape}.")
        op = lx.MatrixLinearOperator(matrix, lx.symmetric_tag)
    op = _sym_check(op, "op")
    check.one_of("method", method, ("auto", "dense", "lobpcg"))
    struct = op.in_structure()
    n = math.prod(struct.shape)
    k = check.int_in_range("k", k, 1, n)
    num_iters = check.positive_int("num_iters", num_iters)
    if method == "auto":
        method = "dense" if (n * n <= DENSE_LIMIT or 5 * k >= n) else "lobpcg"
    if method == "dense":
        if is_real_linear(op):  # e.g. gram(mri): symmetric in the real coordinates
            vals, vecs = jnp.linalg.eigh(real_matrix(op))
            vecs = jax.vmap(lambda v: from_real(v, struct).reshape(-1), 1, 1)(vecs)
        else:
            vals, vecs = jnp.linalg.eigh(op.as_matrix())
        vals, vecs = vals[::-1][:k], vecs[:, ::-1][:, :k]
    else:
        if 5 * k >= n:
            raise ValueError(f"method='lobpcg' needs 5k < n, got k={k} and n={n}.")
        key = jr.key(0) if key is None else check.prng_key("key", key)
        check.nonnegative("tol", tol, strict=True)
        vals, vecs = _lobpcg(op, k, num_iters, tol, key)
    return vals, vecs.T.reshape((k, *struct.shape))


@eqx.filter_jit
def _lobpcg(op, k, num_iters, tol, key):
    struct = op.in_structure()
    n = math.prod(struct.shape)

    def apply(block):  # (n, b) -> (n, b), one operator application per column
        cols = block.T.reshape((block.shape[1], *struct.shape)).astype(struct.dtype)
        return jax.vmap(op.mv)(cols).reshape(block.shape[1], n).T.astype(block.dtype)

    x0 = jr.normal(key, (n, k), struct.dtype)
    # jax's criterion is ||r|| <= tol' * 10 n (lambda + ||Cv||): rescale to a relative tol.
    vals, vecs, _ = lobpcg_standard(apply, x0, m=num_iters, tol=tol / (10 * n))
    return vals, vecs
