r"""Reconstructors that represent a union of subspaces exactly, and their fitter.

`SubspaceUnion` (a union of $L$ subspaces, least-squares fit in the best one) and
`SparseInBasis` (every $k$-sparse combination of a basis) are the model-aware reconstructors of
the sensing-theorem experiments (`bridge_jax/_analysis/_identifiability.py` states the
theorems); `fit_subspaces` learns a `SubspaceUnion`'s bases from measurements alone by
Levenberg-Marquardt on the measurement-consistency residual.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, Float

from .. import _validate as check
from .._analysis._signal_models import supports
from .._operators import check_operator, is_complex


class SubspaceUnion(eqx.Module):
    r"""A reconstructor that represents a union of $L$ subspaces $\bigcup_l \mathrm{span}(U_l)$
    exactly: $f(A, y) = U_{l^*} (A U_{l^*})^{+} y$, with $l^*$ the subspace whose least-squares
    fit leaves the smallest residual $\|A U_l (A U_l)^+ y - y\|$ (ties: the first).

    With the true bases it is the oracle that knows the model (exact for noiseless $y$ when
    $A$ is injective on the union). Learned from measurements, the bases are the model. The
    least squares uses `jax.numpy.linalg.pinv` (SVD; its derivative is defined through the
    pseudoinverse, without the SVD's degenerate-singular-value derivatives); the gradient
    flows through the selected subspace only (a hard assignment, as in k-subspaces).
    Only the spans matter: $f$ is unchanged by $U_l \mapsto U_l M$ for invertible $M$.

    Note on the measurement-only losses: every output lies in $\mathrm{span}(U_{l^*})$ and is
    a fixed point of $x \mapsto f(A', A'x)$ whenever $A' U_{l^*}$ has full column rank, so
    the second term of `moi_loss` vanishes for this model and MOI learns through measurement
    consistency across the operators; `ei_loss`'s second term asks each learned subspace to
    be invariant to the group.
    """

    bases: Float[Array, "L n k"]

    def __init__(self, bases):
        bases = jnp.asarray(bases)
        if bases.ndim == 2:
            bases = bases[None]
        if bases.ndim != 3:
            raise ValueError(f"bases must be (n, k) or (L, n, k), got shape {bases.shape}.")
        self.bases = bases

    def __call__(self, op: lx.AbstractLinearOperator, y) -> Float[Array, " n"]:
        measured = jax.vmap(lambda u: _measure(op, u))(self.bases)  # (L, m, k)
        return _best_subspace(self.bases, measured, op, y)


def _measure(op: lx.AbstractLinearOperator, u) -> Float[Array, "m k"]:
    """$A U$, one column of $U$ $(n, k)$ at a time."""
    in_shape = op.in_structure().shape
    cols = jax.vmap(lambda c: op.mv(c.reshape(in_shape)).reshape(-1), in_axes=1)(u)
    return cols.T


def _best_subspace(bases, measured, op, y):
    """$U_{l^*} (A U_{l^*})^+ y$ with $l^*$ the smallest least-squares residual; `measured`
    holds $A U_l$ $(L, m, k)$. The gradient flows through the selected subspace only."""
    y = jnp.reshape(y, -1)
    coef = jax.vmap(lambda bl: jnp.linalg.pinv(bl) @ y)(measured)  # (L, k)
    resid = jnp.sum((jnp.einsum("lmk,lk->lm", measured, coef) - y) ** 2, axis=1)
    pick = jax.nn.one_hot(jnp.argmin(resid), bases.shape[0], dtype=y.dtype)
    x = jnp.einsum("l,lnk,lk->n", pick, bases, coef)
    return x.reshape(op.in_structure().shape)


class SparseInBasis(eqx.Module):
    r"""A reconstructor that represents the $k$-sparse model in a basis $D$ exactly: the
    `SubspaceUnion` of ALL $\binom{n}{k}$ coordinate subspaces $\mathrm{span}(D_{:,S})$,
    $|S| = k$ (`supports`), tied to the one learned matrix $D$ $(n, n)$:
    $f(A, y) = D_{:,S^*} (A D_{:,S^*})^+ y$ with $S^*$ the support of smallest residual
    (exhaustive search, the combinatorial $\ell_0$ decoder).

    With the true $D$ it is the oracle (exact for noiseless $y$ when every $2k$ columns of
    $AD$ are independent, e.g. $m \ge 2k$ for Gaussian $A$). Learned from measurements, $D$
    is the model; only the spans of its columns matter (a column's scale or sign, and their
    order, leave $f$ unchanged). The cost grows as $\binom{n}{k}$: meant for small cases
    ($n = 16$, $k = 2$: 120 subspaces); at $n = 32$, $k = 4$ it would hold 35,960.
    """

    basis: Float[Array, "n n"]
    k: int = eqx.field(static=True)

    def __init__(self, basis, k: int):
        basis = jnp.asarray(basis)
        if basis.ndim != 2 or basis.shape[0] != basis.shape[1]:
            raise ValueError(f"basis must be square (n, n), got shape {basis.shape}.")
        self.k = check.int_in_range("k", k, 1, basis.shape[0])
        self.basis = basis

    def __call__(self, op: lx.AbstractLinearOperator, y) -> Float[Array, " n"]:
        idx = supports(self.basis.shape[0], self.k)  # (L, k), a trace-time constant
        bases = jnp.moveaxis(self.basis[:, idx], 1, 0)  # (L, n, k)
        measured = jnp.moveaxis(_measure(op, self.basis)[:, idx], 1, 0)  # (L, m, k)
        return _best_subspace(bases, measured, op, y)


def _stacked_operators(ops, name: str = "ops"):
    """`ops` as `(batched, first, G)`: one operator pytree batched along a leading axis of
    size G, its first operator, and G. Accepts a (G, m, n) float array (G `MatrixOperator`s),
    a sequence of G operators of one kind and shape (stacked), or an already batched pytree."""
    if isinstance(ops, Sequence) and ops and isinstance(ops[0], lx.AbstractLinearOperator):
        for o in ops:
            check_operator(o, name)
        try:
            ops = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *ops)
        except (ValueError, TypeError) as e:
            raise ValueError(
                f"{name}: a sequence of operators must hold operators of one kind and shape "
                f"(stackable), e.g. G MatrixLinearOperators of one (m, n); got {e}"
            ) from None
    if isinstance(ops, lx.AbstractLinearOperator):
        leaves = jax.tree_util.tree_leaves(eqx.filter(ops, eqx.is_array))
        sizes = {leaf.shape[0] if leaf.ndim else None for leaf in leaves}
        if len(sizes) != 1 or None in sizes:
            raise ValueError(
                f"{name} must be operators stacked along one leading axis (e.g. "
                f"eqx.filter_vmap(lineax.MatrixLinearOperator)(a) for a (G, m, n) array a); "
                f"got array leaves with leading sizes {sorted(map(str, sizes))}."
            )
        first = check_operator(
            jax.tree_util.tree_map(lambda leaf: leaf[0] if eqx.is_array(leaf) else leaf, ops),
            name,
        )
        return ops, first, sizes.pop()
    if not (isinstance(ops, (jax.Array, np.ndarray)) or isinstance(ops, Sequence)):
        raise TypeError(
            f"{name} must be a (G, m, n) float array, a sequence of operators or a batched "
            f"operator pytree, got {type(ops).__name__}."
        )
    a = jnp.asarray(ops)
    if a.ndim != 3 or 0 in a.shape or not jnp.issubdtype(a.dtype, jnp.inexact):
        raise ValueError(
            f"{name} must be a (G, m, n) float array, a sequence of operators or a batched "
            f"operator pytree, got {a.dtype} array of shape {a.shape}."
        )
    batched = eqx.filter_vmap(lx.MatrixLinearOperator)(a)
    return batched, lx.MatrixLinearOperator(a[0]), a.shape[0]


def fit_subspaces(
    model: SubspaceUnion,
    ops,
    y,
    *,
    num_steps: int,
    damping: float = 1e-2,
    solver: lx.AbstractLinearSolver | None = None,
) -> tuple[SubspaceUnion, Float[Array, " num_steps"]]:
    r"""Learn a union of subspaces from measurements alone: the measurement-consistency fit
    of multi-operator learning by Levenberg-Marquardt on its variable-projection form.

    Data: $y_{gp} = A_g x_{gp}$, $P$ signals through each of $G$ operators. With the
    coefficients eliminated ($z = (A_g U_l)^+ y$, as `SubspaceUnion` reconstructs), the
    objective is $\sum_{g,p} \min_l \|(I - P_{A_g U_l}) y_{gp}\|^2$, a nonlinear least-squares
    problem in the bases alone (Golub & Pereyra's variable projection; for `SubspaceUnion`
    the second term of `moi_loss` vanishes, so this is MOI's loss up to the $1/m$ scale).
    Each step assigns every measurement to its best subspace, linearises the residuals
    $r(U)$ at the current bases (`jax.linearize`), solves
    $(J^\top J + \mu I)\,\delta = -J^\top r$ matrix-free with `solver` (the operators enter
    only through `mv`), keeps $U + \delta$ (re-orthonormalised by QR; only the span matters)
    if it lowers the objective, and adapts $\mu = \lambda \cdot$ (measurement energy per
    parameter): $\lambda / 3$ after a kept step, $\lambda \times 4$ after a rejected one,
    starting from `damping`. The objective never increases.

    Why not gradient steps: where the decoders $A_g U$ are badly conditioned (few rows per
    operator), the objective is a long, narrow valley that first-order steps crawl along
    (losses stalling at 1e-4 to 1e-3 with the model wrong); Gauss-Newton steps converge to
    rounding in tens of steps. What remains are genuine local minima (a distinct, higher
    final objective): restart from other initialisations and keep the lowest objective.

    `ops`: a float $(G, m, n)$ array, a sequence of $G$ operators of one kind and shape, or
    operators stacked along a leading axis of size $G$ (`eqx.filter_vmap` of a constructor);
    `y`: $(G, P, m)$, cast to the bases' dtype. A subspace to which no measurement is
    assigned gets a zero Jacobian block and does not move (restart from other
    initialisations). `solver`: a lineax solver for the
    $Lnk$-dimensional symmetric positive definite system, given matrix-free (default `None`:
    `lineax.Cholesky()`, which materialises it, $(Lnk)^2$ entries; as fast as forming the
    Jacobian densely at $n = 32$, $k = 4$; pass `lineax.CG(rtol, atol)` for large problems).

    **Returns:** `(model, losses)`: the fitted `SubspaceUnion` and the objective
    $\frac{1}{GPm}\sum_{g,p}\min_l\|(I - P_{A_g U_l}) y_{gp}\|^2$ before each step.
    """
    if not isinstance(model, SubspaceUnion):
        raise TypeError(f"model must be a SubspaceUnion, got {type(model).__name__}.")
    num_steps = check.positive_int("num_steps", num_steps)
    damping = check.nonnegative("damping", damping, strict=True)
    if not jnp.issubdtype(model.bases.dtype, jnp.floating):
        raise TypeError(f"model.bases must be real floats, got {model.bases.dtype}.")
    ops, op0, g = _stacked_operators(ops)
    y = jnp.asarray(y)
    num, n, k = model.bases.shape
    if y.ndim != 3 or y.shape[0] != g or 0 in y.shape:
        raise ValueError(f"y must have shape (G={g}, P, m) with P, m >= 1, got {y.shape}.")
    if op0.in_size() != n or op0.out_size() != y.shape[-1]:
        raise ValueError(
            f"ops map {op0.in_size()} -> {op0.out_size()} entries, but the bases have "
            f"n = {n} rows and y has m = {y.shape[-1]} entries."
        )
    if jnp.iscomplexobj(y) or is_complex(op0):
        raise ValueError(
            "fit_subspaces fits real subspaces through real operators; got complex "
            f"{'measurements' if jnp.iscomplexobj(y) else 'operators'} ({y.dtype}, operator "
            f"{op0.in_structure().dtype} -> {op0.out_structure().dtype}). Stack real and "
            "imaginary parts as real rows instead."
        )
    solver = lx.Cholesky() if solver is None else solver
    dtype = model.bases.dtype
    y = y.astype(dtype)
    scale = jnp.sum(y**2) / (num * n * k)  # measurement energy per parameter

    def fits(bases):  # (G, P, L, m): every measurement's least-squares fit in every subspace
        meas = eqx.filter_vmap(
            lambda op: jax.vmap(lambda u: _measure(op, u))(bases), in_axes=(eqx.if_array(0),)
        )(ops)  # (G, L, m, k)
        coef = jnp.einsum("glkm,gpm->gplk", jax.vmap(jax.vmap(jnp.linalg.pinv))(meas), y)
        return jnp.einsum("glmk,gplk->gplm", meas, coef)

    def assign(bases):
        resid = jnp.sum((fits(bases) - y[:, :, None]) ** 2, axis=-1)  # (G, P, L)
        pick = jax.nn.one_hot(jnp.argmin(resid, axis=-1), num, dtype=dtype)
        return pick, jnp.sum(pick * resid) / y.size

    def step(state, _):
        bases, lam, (pick, loss) = state  # the assignment of `bases`, carried from the last step
        resid, lin = jax.linearize(lambda b: jnp.einsum("gpl,gplm->gpm", pick, fits(b)) - y, bases)
        lin_t = jax.linear_transpose(lin, bases)
        mu = lam * scale
        normal = lx.FunctionLinearOperator(
            lambda v: lin_t(lin(v))[0] + mu * v,
            jax.ShapeDtypeStruct(bases.shape, dtype),
            tags=(lx.symmetric_tag, lx.positive_semidefinite_tag),
        )
        delta = lx.linear_solve(normal, -lin_t(resid)[0], solver, throw=False).value
        cand = jnp.linalg.qr(bases + delta)[0]
        cand_assigned = assign(cand)
        better = cand_assigned[1] < loss
        lam = jnp.clip(jnp.where(better, lam / 3, lam * 4), 1e-12, 1e12)
        new, assigned = jax.tree_util.tree_map(
            lambda c, o: jnp.where(better, c, o), (cand, cand_assigned), (bases, (pick, loss))
        )
        return (new, lam, assigned), loss

    start = (model.bases, jnp.asarray(damping, dtype), assign(model.bases))
    (bases, _, _), losses = jax.lax.scan(step, start, None, length=num_steps)
    return SubspaceUnion(bases), losses
