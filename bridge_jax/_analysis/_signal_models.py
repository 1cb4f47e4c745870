r"""Signal models of known dimension in $\mathbb{R}^n$, and the finite groups acting on them.

A signal model here is a finite union of $k$-dimensional subspaces, $\mathcal{X} =
\bigcup_{l=1}^{L} \mathrm{span}(U_l)$ with $U_l \in \mathbb{R}^{n\times k}$: its (box-counting)
dimension is exactly $k$. $k$-sparse vectors in a basis $D$ (`sparse_in_basis_signal`) are
the union of all $\binom{n}{k}$ coordinate subspaces $\mathrm{span}(D_{:,S})$, $|S| = k$
(`supports`), of dimension $k$.

Groups (`GROUPS`) act on $\mathbb{R}^n$ by permutation matrices $T_g$:
`"identity"` (the trivial group), `"shift"` (the cyclic shifts $(T_s x)_i = x_{i-s}$, as
`cyclic_shift`), `"reflection"` ($\{I, R\}$, $(Rx)_i = x_{-i \bmod n}$) and `"dihedral"` (both).
A model is invariant when $T_g \mathcal{X} = \mathcal{X}$ for every $g$. Which invariant sets
of dimension $k$ exist depends on the group:

- one subspace invariant to the shifts is a sum of real Fourier bands: the DC line, the planes
  $\mathrm{span}\{\cos(2\pi f i/n), \sin(2\pi f i/n)\}$ and (for even $n$) the Nyquist line;
  these are the real irreducible pieces of the shift action, each appearing once, so the
  shift-invariant subspaces are exactly these sums (`invariant_subspace(..., "shift")`).
  Each band is also reflection-invariant ($\cos$ is even, $\sin$ odd), so they serve the
  dihedral group as well;
- a reflection-invariant subspace is spanned by even vectors ($x_i = x_{-i}$) and odd vectors
  ($x_i = -x_{-i}$);
- the $s$-sparse set is invariant to every permutation, hence to all four groups, while each
  of its subspaces is not: it is the orbit of one coordinate subspace, a union of
  $\binom{n}{s}$ subspaces, still of dimension $s$.
"""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .. import _validate as check
from .._data._sparse import sparse_signal
from .._linalg._subspaces import random_subspace

GROUPS = ("identity", "shift", "reflection", "dihedral")


def fourier_basis(n: int) -> Float[Array, "n n"]:
    r"""The orthonormal real Fourier basis of $\mathbb{R}^n$, columns ordered by frequency.

    Columns: the constant $1/\sqrt n$; then for $f = 1, \dots, \lceil n/2\rceil - 1$ the pair
    $\sqrt{2/n}\cos(2\pi f i/n)$, $\sqrt{2/n}\sin(2\pi f i/n)$; then (even $n$) the Nyquist
    vector $(-1)^i/\sqrt n$. Column $j$ has frequency `fourier_frequencies(n)[j]`.
    """
    n = check.positive_int("n", n)
    i = np.arange(n)
    cols = [np.full(n, 1 / np.sqrt(n))]
    for f in range(1, (n + 1) // 2):
        cols.append(np.sqrt(2 / n) * np.cos(2 * np.pi * f * i / n))
        cols.append(np.sqrt(2 / n) * np.sin(2 * np.pi * f * i / n))
    if n % 2 == 0:
        cols.append((-1.0) ** i / np.sqrt(n))
    return jnp.asarray(np.stack(cols, axis=1), jnp.result_type(float))


def fourier_frequencies(n: int) -> np.ndarray:
    """The frequency of each column of `fourier_basis(n)`: 0, 1, 1, 2, 2, ..., (n/2)."""
    n = check.positive_int("n", n)
    freqs = [0] + [f for f in range(1, (n + 1) // 2) for _ in (0, 1)]
    return np.asarray(freqs + ([n // 2] if n % 2 == 0 else []))


def group_matrices(group: str, n: int) -> Float[Array, "G n n"]:
    r"""The permutation matrices $T_g$ of `group` (one of `GROUPS`) acting on $\mathbb{R}^n$.

    Shapes: identity $(1, n, n)$, shift $(n, n, n)$ with $T_s x$ = `cyclic_shift(x, s)`,
    reflection $(2, n, n)$, dihedral $(2n, n, n)$ (the shifts, then the shifts after $R$).
    """
    check.one_of("group", group, GROUPS)
    n = check.positive_int("n", n)
    return jnp.asarray(_group_matrices(group, n), jnp.result_type(float))


@functools.lru_cache(maxsize=32)
def _group_matrices(group: str, n: int) -> np.ndarray:
    eye = np.eye(n)
    shifts = np.stack([np.roll(eye, s, axis=0) for s in range(n)])
    reflect = eye[(-np.arange(n)) % n]
    if group == "identity":
        return eye[None]
    if group == "shift":
        return shifts
    if group == "reflection":
        return np.stack([eye, reflect])
    return np.concatenate([shifts, shifts @ reflect])


def group_action(x: Float[Array, " n"], group: str, *, key: PRNGKeyArray) -> Float[Array, " n"]:
    r"""$T_g x$ for a uniformly random element $g$ of `group` (the identity included).

    Use as Equivariant Imaging's transform: `lambda x, *, key: group_action(x, "shift",
    key=key)`.
    """
    check.prng_key("key", key)
    x = check.shape("x", x, (None,))
    mats = group_matrices(group, x.shape[0]).astype(x.dtype)
    return mats[jr.randint(key, (), 0, mats.shape[0])] @ x


def invariant_subspace(n: int, k: int, group: str, *, key: PRNGKeyArray) -> Float[Array, "n k"]:
    r"""An orthonormal basis of a random $k$-dimensional subspace invariant to `group`.

    - `"identity"`: a Haar-random subspace (`random_subspace`);
    - `"shift"`, `"dihedral"`: a sum of real Fourier bands (see the module docstring) drawn
      at random: $\lfloor k/2\rfloor$ distinct frequency planes $f \in \{1, \dots,
      \lceil n/2\rceil - 1\}$, plus the DC line when $k$ is odd;
    - `"reflection"`: $\lceil k/2\rceil$ random even and $\lfloor k/2\rfloor$ random odd
      directions (orthonormal: the even and odd subspaces are orthogonal).
    """
    check.prng_key("key", key)
    check.one_of("group", group, GROUPS)
    n = check.positive_int("n", n)
    k = check.int_in_range("k", k, 1, n)
    if group == "identity":
        return random_subspace(n, k, key=key)
    if group in ("shift", "dihedral"):
        pairs = (n + 1) // 2 - 1
        if k // 2 > pairs:
            raise ValueError(
                f"k must be <= {2 * pairs + 1} for a sum of distinct Fourier bands in R^{n}, "
                f"got k={k}."
            )
        basis = fourier_basis(n)
        freqs = jr.permutation(key, pairs)[: k // 2] + 1  # chosen frequencies, 1-based
        cols = jnp.stack([2 * freqs - 1, 2 * freqs], axis=1).reshape(-1)
        if k % 2:
            cols = jnp.concatenate([jnp.zeros(1, cols.dtype), cols])
        return basis[:, cols]
    n_even = n // 2 + 1
    k_even, k_odd = (k + 1) // 2, k // 2
    if k_even > n_even or k_odd > n - n_even:
        raise ValueError(
            f"k={k} does not fit a reflection-invariant split in R^{n} ({n_even} even and "
            f"{n - n_even} odd directions)."
        )
    reflect = group_matrices("reflection", n)[1]
    k1, k2 = jr.split(key)
    g = jr.normal(k1, (n, k_even))
    h = jr.normal(k2, (n, k_odd))
    even = g + reflect @ g
    odd = h - reflect @ h
    q, _ = jnp.linalg.qr(jnp.concatenate([even, odd], axis=1))
    return q


def subspace_signal(bases: Float[Array, "L n k"], *, key: PRNGKeyArray) -> Float[Array, " n"]:
    r"""One signal of the union of subspaces $\bigcup_l \mathrm{span}(U_l)$: $x = U_l c$ with
    $l$ uniform and $c \sim \mathcal{N}(0, I_k)$ (so $\mathbb{E}\|x\|^2 = k$ for orthonormal
    bases). `bases` has shape $(L, n, k)$ (one subspace: $L = 1$)."""
    check.prng_key("key", key)
    bases = check.shape("bases", bases, (None, None, None))
    k_l, k_c = jr.split(key)
    index = jr.randint(k_l, (), 0, bases.shape[0])
    return bases[index] @ jr.normal(k_c, (bases.shape[2],), bases.dtype)


def random_union(n: int, k: int, num: int, *, key: PRNGKeyArray) -> Float[Array, "L n k"]:
    """`num` independent Haar-random $k$-dimensional subspaces of $\\mathbb{R}^n$, $(L, n, k)$."""
    check.prng_key("key", key)
    n = check.positive_int("n", n)
    k = check.int_in_range("k", k, 1, n)
    num = check.positive_int("num", num)
    return jax.vmap(lambda kk: random_subspace(n, k, key=kk))(jr.split(key, num))


def sparse_in_basis_signal(
    basis: Float[Array, "n n"], k: int, *, key: PRNGKeyArray
) -> Float[Array, " n"]:
    r"""One signal $x = D s$, $k$-sparse in the basis $D$ (columns): $s$ has exactly $k$
    non-zero entries, $\mathcal{N}(0, 1)$, at a uniformly random support (`sparse_signal`).

    The model is the union of the $\binom{n}{k}$ coordinate subspaces
    $\mathrm{span}(D_{:, S})$, $|S| = k$: of dimension $k$. With $D = I$ (the canonical basis)
    the set is invariant to every permutation of the entries, hence to all of `GROUPS`
    (the shift-invariant sparse model), although none of its subspaces is.
    """
    check.prng_key("key", key)
    basis = check.shape("basis", basis, (None, None))
    n = basis.shape[0]
    if basis.shape[1] != n:
        raise ValueError(f"basis must be square (n, n), got shape {basis.shape}.")
    k = check.int_in_range("k", k, 1, n)
    return basis @ sparse_signal(n, k, key=key, dtype=basis.dtype)


@functools.lru_cache(maxsize=32)
def supports(n: int, k: int) -> np.ndarray:
    r"""Every $k$-subset of $\{0, \dots, n-1\}$ in lexicographic order, $(\binom{n}{k}, k)$:
    the supports of the coordinate subspaces of the $k$-sparse model."""
    n = check.positive_int("n", n)
    k = check.int_in_range("k", k, 1, n)
    out = np.asarray(list(itertools.combinations(range(n), k)), np.int32)
    out.setflags(write=False)
    return out
