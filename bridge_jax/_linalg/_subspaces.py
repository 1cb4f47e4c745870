r"""Subspaces: principal angles, alignment, Grassmann distance, and their random null.

A subspace is given by any matrix whose columns span it, shape `(n, p)` with $p \leq n$;
it is orthonormalised internally.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jaxtyping import Array, Float, PRNGKeyArray

from .. import _validate as check
from .._operators import check_operator, field_matrix, from_real, is_real_linear
from ._core import leading_eigenpairs


def _basis(name: str, u) -> Float[Array, "n p"]:
    u = check.shape(name, u, (None, None))
    if u.shape[1] > u.shape[0]:
        raise ValueError(
            f"{name} must have at most as many columns as rows (n, p <= n), got shape {u.shape}."
        )
    if u.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column.")
    return u


def principal_angles(
    u: Float[Array, "n p"], v: Float[Array, "n q"], *, orthonormal: bool = False
) -> Float[Array, " r"]:
    r"""The $r = \min(p, q)$ principal angles between span(u) and span(v), increasing, radians.

    Cosines are the singular values of $Q_u^\top Q_v$; since $\arccos$ loses accuracy near 0,
    angles with $\cos^2\theta \geq 1/2$ are taken from the sines instead, the singular values of
    the residual $Q_v - Q_u Q_u^\top Q_v$ (Knyazev & Argentati, 2002; as
    `scipy.linalg.subspace_angles`, which returns them in decreasing order).

    `orthonormal=True` declares that `u` and `v` already have orthonormal columns (as the
    bases from `leading_subspace`, `row_space`, `null_space` and `random_subspace` do): they
    are then used as $Q_u$, $Q_v$ without their QR, which saves two of the four
    decompositions, and no rank check is made. For other inputs the angles are then wrong.
    """
    u, v = _basis("u", u), _basis("v", v)
    if u.shape[0] != v.shape[0]:
        raise ValueError(
            f"u and v must live in the same space: u has {u.shape[0]} rows and v has {v.shape[0]}."
        )
    if not isinstance(orthonormal, bool):
        raise TypeError(f"orthonormal must be True or False, got {orthonormal!r}.")
    if u.shape[1] < v.shape[1]:
        u, v = v, u  # angles are symmetric; keep p >= q so the residual has q sines
    if orthonormal:
        return _angles(u, v)
    qu, ru = jnp.linalg.qr(u)
    qv, rv = jnp.linalg.qr(v)
    # A column that depends on the others leaves a (near) zero on R's diagonal: its Q column is
    # then arbitrary and so would be the angles. Refuse (or, traced, return NaN).
    deficient = _rank_deficient(ru) | _rank_deficient(rv)
    if check.is_concrete(deficient) and bool(deficient):
        raise ValueError(
            "u and v must have linearly independent columns (full column rank): a column "
            "depends on the others, so the subspace has fewer dimensions than columns and the "
            "angles are undefined. Drop the dependent columns (e.g. leading_subspace or an SVD "
            "with a cut-off)."
        )
    return jnp.where(deficient, jnp.nan, _angles(qu, qv))


def _angles(qu, qv) -> jax.Array:
    """Increasing principal angles between orthonormal bases `qu` (n, p) and `qv` (n, q), p >= q."""
    cross = jnp.conj(qu).T @ qv  # the Hermitian inner products (complex bases too)
    cos = jnp.clip(jnp.linalg.svd(cross, compute_uv=False), -1.0, 1.0)  # decreasing
    sin = jnp.clip(jnp.linalg.svd(qv - qu @ cross, compute_uv=False), -1.0, 1.0)[::-1]
    return jnp.where(cos**2 >= 0.5, jnp.arcsin(sin), jnp.arccos(cos))


def _rank_deficient(r) -> jax.Array:
    d = jnp.abs(jnp.diagonal(r))
    tol = max(r.shape) * jnp.finfo(r.dtype).eps * jnp.max(d)
    return jnp.any(d <= tol)


def subspace_alignment(
    u: Float[Array, "n p"], v: Float[Array, "n q"], *, orthonormal: bool = False
) -> Float[Array, ""]:
    r"""Mean cosine of the principal angles: 1 for nested subspaces, 0 for orthogonal ones.

    `orthonormal` as in `principal_angles`."""
    return jnp.mean(jnp.cos(principal_angles(u, v, orthonormal=orthonormal)))


def grassmann_distance(
    u: Float[Array, "n p"], v: Float[Array, "n q"], *, orthonormal: bool = False
) -> Float[Array, ""]:
    r"""Geodesic distance on the Grassmannian, $\|\theta\|_2$ over the principal angles.

    `orthonormal` as in `principal_angles`."""
    return jnp.linalg.norm(principal_angles(u, v, orthonormal=orthonormal))


class SubspaceBaseline(NamedTuple):
    """Samples of the subspace statistics for pairs of independent uniformly random subspaces."""

    alignment: Float[Array, " num"]
    grassmann: Float[Array, " num"]


def random_subspace(n: int, p: int, *, key: PRNGKeyArray) -> Float[Array, "n p"]:
    """An orthonormal basis of a uniformly (Haar) random p-dimensional subspace of R^n."""
    q, r = jnp.linalg.qr(jr.normal(key, (n, p)))
    return q * jnp.sign(jnp.diagonal(r))


def random_subspace_baseline(
    n: int, p: int, q: int | None = None, *, key: PRNGKeyArray, num: int = 1000
) -> SubspaceBaseline:
    r"""`subspace_alignment` and `grassmann_distance` for `num` pairs of random subspaces.

    The null distribution for an observed value between a p- and a q-dimensional subspace of
    $\mathbb{R}^n$: a value inside it carries no information about the pair.
    """
    check.prng_key("key", key)
    n = check.positive_int("n", n)
    p = check.int_in_range("p", p, 1, n)
    q = p if q is None else check.int_in_range("q", q, 1, n)
    num = check.positive_int("num", num)

    def one(k):
        ku, kv = jr.split(k)
        u, v = random_subspace(n, p, key=ku), random_subspace(n, q, key=kv)
        theta = principal_angles(u, v, orthonormal=True)
        return jnp.mean(jnp.cos(theta)), jnp.linalg.norm(theta)

    alignment, grassmann = jax.vmap(one)(jr.split(key, num))
    return SubspaceBaseline(alignment, grassmann)


def leading_subspace(
    matrix: Float[Array, "n n"] | lx.AbstractLinearOperator, k: int, **eig_kwargs
) -> Float[Array, "n k"]:
    """Orthonormal eigenvectors of the `k` largest eigenvalues of a symmetric matrix, or of a
    symmetric operator (e.g. `gram(A)`, `augmentation_covariance_operator(views)`; matrix-free
    for large ones, see `leading_eigenpairs`), as the columns of an `(n, k)` basis of the
    flattened input space."""
    _, vecs = leading_eigenpairs(matrix, k, **eig_kwargs)
    return vecs.reshape(k, -1).T


def _right_singular(op: lx.AbstractLinearOperator, rank: int | None, *, complete: bool):
    a = field_matrix(check_operator(op))
    full = min(a.shape)
    rank = full if rank is None else check.int_in_range("rank", rank, 0, full)
    # The row space needs only the first min(m, n) right singular vectors: the thin SVD, which
    # does not form the other n - m (the null space's) for a wide A.
    _, _, vt = jnp.linalg.svd(a, full_matrices=complete)
    v = jnp.conj(vt).T  # the right singular vectors: A v_i = s_i u_i
    if is_real_linear(op):  # from the real coordinates back to the operator's inputs
        struct = op.in_structure()
        v = jax.vmap(lambda c: from_real(c, struct).reshape(-1), 1, 1)(v)
    return v, rank


def row_space(op: lx.AbstractLinearOperator, rank: int | None = None) -> Float[Array, "n r"]:
    r"""Orthonormal basis of the row space of $A$ (what the measurements see), shape (n, rank).

    `rank` defaults to $\min(m, n)$, right for a full-rank operator such as `GaussianSensing`;
    pass it for rank-deficient ones (e.g. a `Mask`: the number of observed entries).

    For a complex matrix the basis is complex (orthonormal for $\langle u, v\rangle = u^H v$).
    For an operator linear over the reals only (MRI, `is_real_linear`) it is the row space of
    its real matrix `real_matrix(op)` ($m$, $n$ counted in real coordinates), each basis
    vector mapped back to an input array with `from_real` and flattened: real for real
    inputs; for complex inputs complex, orthonormal for $\mathrm{Re}\langle u, v\rangle$.
    """
    v, rank = _right_singular(op, rank, complete=False)
    return v[:, :rank]


def null_space(op: lx.AbstractLinearOperator, rank: int | None = None) -> Float[Array, "n n-r"]:
    r"""Orthonormal basis of $\ker A$ (what the measurements cannot see), shape (n, n - rank);
    for complex and real-linear operators as in `row_space`."""
    v, rank = _right_singular(op, rank, complete=True)
    return v[:, rank:]
