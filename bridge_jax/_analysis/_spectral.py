r"""Spectral tools: the SSRL augmentation covariance and comparisons of eigenspectra.

Paper, section 2.1: $C_{\mathrm{SSRL}} = \frac{1}{NK}\sum_{i,k} (T_k(x_i) - \bar x_i)
(T_k(x_i) - \bar x_i)^\top$, compared with the spectrum of $A^\top A$.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from .. import _validate as check
from .._linalg._core import gram, leading_eigenpairs
from .._operators import check_operator, field_matrix


def augmentation_covariance(
    views: Float[Array, "N K n"], center: Float[Array, "N n"] | None = None
) -> Float[Array, "n n"]:
    r"""The paper's $C_{\mathrm{SSRL}}$ from `views[i, k]` $= T_k(x_i)$.

    $\bar x_i$ is `center[i]` when given (e.g. the clean signals $x_i$, a reading that needs
    the ground truth), otherwise the mean of signal $i$'s views $\frac1K\sum_k T_k(x_i)$
    (the default: it uses only the views). The normalisation is $1/(NK)$ as in the paper.
    """
    views = check.shape("views", views, (None, None, None))
    num, k, n = views.shape
    if center is None:
        center = views.mean(axis=1)
    else:
        center = check.shape("center", center, (num, n))
    d = (views - center[:, None, :]).reshape(num * k, n)
    return d.T @ d / (num * k)


def eigenspectrum(matrix: Float[Array, "n n"]) -> Float[Array, " n"]:
    """Eigenvalues of a symmetric matrix, sorted in decreasing order."""
    matrix = check.shape("matrix", matrix, (None, None))
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square, got shape {matrix.shape}.")
    return jnp.linalg.eigvalsh(matrix)[::-1]


def operator_spectrum(
    op: lx.AbstractLinearOperator, k: int | None = None, **eig_kwargs
) -> Float[Array, " n"]:
    r"""Eigenvalues of $A^* A$, decreasing (the squared singular values, padded with zeros).

    `k=None`: all of them, from the dense matrix ($n$; for an operator linear over the reals
    only, those of its real matrix `real_matrix(op)`: $n$ for real inputs, $2n$ for complex
    ones). With `k`: the `k` largest, matrix-free for large operators
    (`leading_eigenpairs(gram(op), k, **eig_kwargs)`).
    """
    op = check_operator(op)
    if k is None:
        a = field_matrix(op)
        return eigenspectrum(jnp.conj(a).T @ a)  # conj is the identity on a real matrix
    return leading_eigenpairs(gram(op), k, **eig_kwargs)[0]


def augmentation_covariance_operator(
    views: Float[Array, "N K ..."], center: Float[Array, "N ..."] | None = None
) -> lx.AbstractLinearOperator:
    r"""$C_{\mathrm{SSRL}}$ of `augmentation_covariance` as a matrix-free operator.

    For views of any shape `(N, K, *shape)`, $C v = \frac{1}{NK} D^\top (D v)$ with $D$ the
    $NK \times n$ matrix of centred views: $O(NKn)$ per application and no $n \times n$ matrix,
    so `leading_eigenpairs(augmentation_covariance_operator(views), k)` runs on large images.
    """
    views = jnp.asarray(views)
    if views.ndim < 3:
        raise ValueError(f"views must have shape (N, K, *signal_shape), got {views.shape}.")
    num, k = views.shape[:2]
    shape = views.shape[2:]
    center = views.mean(axis=1) if center is None else check.shape("center", center, (num, *shape))
    d = (views - center[:, None]).reshape(num * k, -1)

    def cov(v):
        return (d.T @ (d @ v.reshape(-1)) / (num * k)).reshape(shape)

    return lx.FunctionLinearOperator(
        cov,
        jax.ShapeDtypeStruct(shape, d.dtype),
        (lx.symmetric_tag, lx.positive_semidefinite_tag),
    )


NORMALISATIONS = ("max", "sum", "l2")


def normalize_spectrum(spectrum: Float[Array, " n"], method: str = "max") -> Float[Array, " n"]:
    r"""Scale a spectrum to unit `"max"` (top eigenvalue 1), unit `"sum"` or unit `"l2"` norm."""
    spectrum = check.shape("spectrum", spectrum, (None,))
    check.one_of("method", method, NORMALISATIONS)
    if method == "max":
        scale = jnp.max(spectrum)
    elif method == "sum":
        scale = jnp.sum(spectrum)
    else:
        scale = jnp.linalg.norm(spectrum)
    return spectrum / scale


def spectral_correlation(
    a: Float[Array, " n"], b: Float[Array, " n"], k: int | None = None
) -> Float[Array, ""]:
    r"""Pearson correlation of two spectra, each sorted in decreasing order, over the top `k`.

    With `k` (e.g. $k = m$, "restricted to the measurement subspace") only the `k` largest
    eigenvalues of each spectrum enter. Pearson's $r$ is invariant to scaling either spectrum,
    so the normalisation does not matter. Beware: any two decreasing sequences correlate
    positively, so compare the value with that of unrelated sorted spectra (a null).
    """
    a = check.shape("a", a, (None,))
    b = check.shape("b", b, (a.shape[0],))
    if k is not None:
        k = check.int_in_range("k", k, 2, a.shape[0])
    elif a.shape[0] < 2:
        raise ValueError("spectral_correlation needs spectra of length >= 2.")
    a = jnp.sort(a)[::-1][:k]
    b = jnp.sort(b)[::-1][:k]
    a, b = a - a.mean(), b - b.mean()
    return jnp.sum(a * b) / jnp.sqrt(jnp.sum(a * a) * jnp.sum(b * b))


RANK_METHODS = ("threshold", "entropy")


def effective_rank(spectrum: Float[Array, " n"], method: str = "threshold", *, rtol=None):
    r"""Effective rank of a (non-negative) spectrum.

    - `"threshold"`: the number of eigenvalues above `rtol` times the largest (default
      `rtol = n * eps`, the numerical rank of `numpy.linalg.matrix_rank`).
    - `"entropy"` (Roy & Vetterli, 2007): $\exp(-\sum_j p_j \log p_j)$ with
      $p_j = \lambda_j / \sum_l \lambda_l$; equals the rank for a flat spectrum and is
      smaller the more unequal the eigenvalues are.
    """
    spectrum = check.shape("spectrum", spectrum, (None,))
    check.one_of("method", method, RANK_METHODS)
    lam = jnp.maximum(spectrum, 0.0)
    if method == "threshold":
        if rtol is None:
            rtol = spectrum.shape[0] * jnp.finfo(lam.dtype).eps
        else:
            check.nonnegative("rtol", rtol)
        return jnp.sum(lam > rtol * jnp.max(lam))
    p = lam / jnp.sum(lam)
    safe = jnp.where(p > 0, p, 1.0)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(safe), 0.0)))
