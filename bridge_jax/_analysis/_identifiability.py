r"""When can a signal model be learned from measurements alone? The sensing conditions of
Tachella, Chen & Davies and their exact checks (the reconstructors able to represent such a
model, `SubspaceUnion` and `SparseInBasis`, are in `bridge_jax/_models/_subspace_union.py`).

Setting: signals in a set $\mathcal{X} \subset \mathbb{R}^n$ of dimension $k$ (here a union of
$k$-dimensional subspaces), each observed as $y = A_g x$ through one of $G$ operators
$A_g \in \mathbb{R}^{m \times n}$; or, with one operator $A$, a set invariant to a group
$\{T_g\}$, so that $y = Ax$ carries the same information as the virtual operators $A T_g$.

The conditions, checked against the published text of Tachella, Chen & Davies, "Sensing
Theorems for Unsupervised Learning in Linear Inverse Problems", JMLR 24(39):1-45, 2023 (arXiv
2203.12513; the PDF in the JmlrOrg/v24 repository, 22-0315). Its signal sets satisfy
assumption A1: bounded with upper box-counting dimension $k$, or an unbounded cone whose
intersection with the unit sphere has dimension $k - 1$ (a union of $k$-dimensional
subspaces is such a cone).

- multiple operators (JMLR Section 3.3; first in the NeurIPS 2022 paper, arXiv 2201.12151,
  whose text we could not retrieve; the authors' poster states the same two results):
  Proposition 3 (credited to Chen et al., ICCV 2021): $\mathcal{X}$ can be uniquely identified
  from $\{A_g \mathcal{X}\}_g$ only if $\mathrm{rank}\,[A_1; \dots; A_G] = n$ (otherwise the
  common null space $\bigcap_g \ker A_g$ is invisible in every measurement), hence only if
  $m \ge n/G$. Theorem 4: for almost every set of $G$ operators (Lebesgue measure on
  $\mathbb{R}^{Gmn}$) it can be identified if $m > k + n/G$ (`moi_bounds`);
- one operator and a group (JMLR Section 4): write the action as
  $T_g = \bigoplus_j \rho_j(g)^{\oplus c_j}$ with real irreducible representations $\rho_j$
  of dimension $s_j$ appearing $c_j$ times (Theorem 5). Proposition 8 (any compact group):
  necessary $m \ge \max_j c_j / s_j$ (the rank of $[A T_g]_g$ must be $n$). Theorem 9
  (compact CYCLIC groups): for almost every $A$, identified if $m > 2k + \max_j c_j + 1$
  (`group_bounds`); for other compact groups (here: dihedral) that bound, with
  $\max_j c_j/s_j$, is only Conjecture 10 (for the dihedral action on $\mathbb{R}^n$ both
  maxima are 1). Theorem 11: if $A$ is equivariant ($A T_g = \tilde T_g A$, e.g. a circular
  blur and the shifts), every $A T_g$ has the null space of $A$, and nothing is identified
  when $m < n$: the group adds nothing. (Our reflection is $i \mapsto -i \bmod n$, which
  fixes entries $0$ and $n/2$: $\max_j c_j = \lfloor n/2 \rfloor + 1$; the paper's example,
  $m > 2k + n/2 + 1$, is the reversal without fixed entries.)

Derived here (and tested): for ONE subspace $S = \mathrm{span}(U)$, the model is identified
by $\{A_g S\}_g$ iff $\bigcap_g (S + \ker A_g) = S$ (`identifiable_dimension`), which for
generic Gaussian operators with $m \ge k$ holds iff $G(m - k) \ge n - k$, i.e.
$m \ge k + (n-k)/G$: between the necessary bound and the sufficient one.

The rank computations run on the host in float64 NumPy (SVD, NumPy's default tolerance):
exact for the well-conditioned small cases they are meant for, and not traceable.
"""

from __future__ import annotations

from collections.abc import Sequence

import lineax as lx
import numpy as np

from .. import _validate as check
from .._operators import check_operator, dense_matrix
from ._signal_models import GROUPS, group_matrices


def _eps(ops) -> float:
    """The machine epsilon of the precision `ops` were given in (float32 data: float32's)."""
    if isinstance(ops, Sequence) and ops and isinstance(ops[0], lx.AbstractLinearOperator):
        dtype = ops[0].in_structure().dtype
    else:
        dtype = getattr(ops, "dtype", np.float64)
    return float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else 0.0


def _rank(a: np.ndarray, eps: float) -> int:
    """Rank with NumPy's default tolerance, at the precision `eps` of the input."""
    sv = np.linalg.svd(a, compute_uv=False)
    tol = sv.max(initial=0.0) * max(a.shape) * max(eps, np.finfo(np.float64).eps)
    return int(np.sum(sv > tol))


def _matrices(ops, name: str = "ops") -> list[np.ndarray]:
    """[A_g] as float64 (m_g, n) arrays, from a (G, m, n) array or a sequence of operators."""
    if isinstance(ops, lx.AbstractLinearOperator):
        raise TypeError(
            f"{name} must be a (G, m, n) array or a sequence of operators; for one stacked "
            f"operator pytree pass jax.vmap(bridge_jax.dense_matrix)({name})."
        )
    if isinstance(ops, Sequence) and ops and isinstance(ops[0], lx.AbstractLinearOperator):
        mats = [
            np.asarray(dense_matrix(check_operator(o, name)), np.float64).reshape(
                o.out_size(), o.in_size()
            )
            for o in ops
        ]
        if len({a.shape[1] for a in mats}) != 1:
            raise ValueError(f"{name} must act on signals of one size, got {mats}.")
        return mats
    a = np.asarray(ops, np.float64)
    if a.ndim != 3 or 0 in a.shape:
        raise ValueError(f"{name} must have shape (G, m, n) with G, m, n >= 1, got {a.shape}.")
    return list(a)


def stacked_rank(ops) -> int:
    r"""$\mathrm{rank}\,[A_1; \dots; A_G]$: the dimension of the part of $\mathbb{R}^n$ that at
    least one operator sees. `ops`: a $(G, m, n)$ array or a sequence of operators (their
    numbers of rows may differ). Singular values below NumPy's default tolerance at the
    precision of the input (float32 data: float32's epsilon) count as zero."""
    return _rank(np.concatenate(_matrices(ops)), _eps(ops))


def rank_condition(ops) -> bool:
    r"""The necessary condition for learning from measurements alone: $\mathrm{rank}\,[A_1;
    \dots; A_G] = n$."""
    mats = _matrices(ops)
    return stacked_rank(mats) == mats[0].shape[1]


def group_rank(a, group: str) -> int:
    r"""$\mathrm{rank}\,[A T_g]_{g}$ over the elements of `group` (one of `GROUPS`): the
    stacked rank of the virtual operators that group invariance provides. `a`: $(m, n)$."""
    eps = _eps(a)
    a = np.asarray(a, np.float64)
    if a.ndim != 2:
        raise ValueError(f"a must be an (m, n) matrix, got shape {a.shape}.")
    mats = np.asarray(group_matrices(group, a.shape[1]), np.float64)
    return _rank((a[None] @ mats).reshape(-1, a.shape[1]), eps)


def moi_bounds(n: int, k: int, num_operators: int) -> dict:
    r"""The measurement bounds for $G$ operators, as thresholds on $m$:
    `necessary` $= n/G$ (learning needs $m \ge$ it), `sufficient` $= k + n/G$ (almost every
    set of operators allows it when $m >$ it), `one_subspace` $= k + (n-k)/G$ (one subspace
    is identified by generic operators iff $m \ge$ it; see the module docstring)."""
    n = check.positive_int("n", n)
    k = check.int_in_range("k", k, 0, n)
    g = check.positive_int("num_operators", num_operators)
    return {"necessary": n / g, "sufficient": k + n / g, "one_subspace": k + (n - k) / g}


def group_multiplicities(group: str, n: int) -> list[tuple[int, int]]:
    r"""$(c_j, s_j)$ for the real irreducible representations in the action of `group` on
    $\mathbb{R}^n$: multiplicity and dimension.

    identity: one 1-dim irrep $n$ times. shift: the Fourier bands, each once (DC and Nyquist
    1-dim, the frequency planes 2-dim). reflection: even vectors ($\lfloor n/2\rfloor + 1$
    times the trivial irrep) and odd vectors (the sign irrep, the rest). dihedral: each band
    once (the planes are 2-dim irreps of the dihedral group, DC and Nyquist 1-dim).
    """
    check.one_of("group", group, GROUPS)
    n = check.positive_int("n", n)
    planes = (n + 1) // 2 - 1
    ones = 1 + (n % 2 == 0)
    if group == "identity":
        return [(n, 1)]
    if group in ("shift", "dihedral"):
        return [(1, 1)] * ones + [(1, 2)] * planes
    even = n // 2 + 1
    return [(even, 1)] + ([(n - even, 1)] if n > even else [])


def group_bounds(group: str, n: int, k: int) -> dict:
    r"""The measurement bounds for one operator and a group, as thresholds on $m$:
    `necessary` $= \max_j c_j/s_j$ ($m \ge$ it), `sufficient` $= 2k + \max_j c_j + 1$
    ($m >$ it, for almost every $A$), with $(c_j, s_j)$ from `group_multiplicities`."""
    n = check.positive_int("n", n)
    k = check.int_in_range("k", k, 0, n)
    cs = group_multiplicities(group, n)
    return {
        "necessary": max(c / s for c, s in cs),
        "sufficient": 2 * k + max(c for c, _ in cs) + 1,
    }


def identifiable_dimension(basis, ops) -> int:
    r"""$\dim \bigcap_g (S + \ker A_g)$ for $S = \mathrm{span}(U)$: the subspaces $S'$ inside it
    with $\dim S' = \dim S$ give the same measurements $A_g S' = A_g S$ through every
    operator. $S$ is identified by the operators iff this equals $k$.

    Computed as $n - \dim \sum_g (\mathrm{row}(A_g) \cap S^\perp)$ (the orthogonal complement
    of the intersection), with $\mathrm{row}(A_g) \cap S^\perp = A_g^\top \ker (A_g U)^\top$.
    `basis` $U$: $(n, k)$ of full column rank; `ops`: as in `stacked_rank`.
    """
    eps = max(_eps(basis), _eps(ops))
    u = np.asarray(basis, np.float64)
    a = _matrices(ops)
    if u.ndim != 2 or u.shape[0] != a[0].shape[1]:
        raise ValueError(f"basis must be (n, k) with n = {a[0].shape[1]}, got {u.shape}.")
    n = u.shape[0]
    pieces = []
    for ag in a:
        b = ag @ u  # (m, k)
        left, sv, _ = np.linalg.svd(b, full_matrices=True)
        rank = _rank(b, eps)
        pieces.append(ag.T @ left[:, rank:])  # A_g^T ker(B^T)
    w = np.concatenate(pieces, axis=1)
    return n - (_rank(w, eps) if w.shape[1] else 0)
