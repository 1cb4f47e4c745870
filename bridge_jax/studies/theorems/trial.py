"""One trial (unbatched; vmapped over m and trials): draw a model and operators, measure,
learn from the measurements alone (from R initialisations, keeping the lowest training loss),
and score against the oracle and the pseudoinverse.

Signal models (`model`): "subspace", one k-dim subspace (MOI: Haar-random, or a union of
`num_subspaces`; EI: invariant to the group), learned by `SubspaceUnion`; "sparse", k-sparse
in an orthonormal basis D (MOI: Haar-random D; EI: D = I, the set closed under every
permutation), learned by `SparseInBasis` (a learned basis, every C(n, k) support).

Operators of m rows are padded with zero rows to `m_max` (what a zero row measures is
nothing), so one compiled program serves every m of a unit.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

import bridge_jax as bj
from bridge_jax.studies._config import TheoremsConfig


def _rows(m, m_max):
    return (jnp.arange(m_max) < m)[:, None]


def _gaussian(key, m, m_max, n):
    return jnp.where(_rows(m, m_max), jr.normal(key, (m_max, n)) / jnp.sqrt(m), 0.0)


def operator_matrix(kind: str, key, m, m_max: int, n: int):
    """The (m_max, n) matrix of one operator of `kind` with m rows (or rank m)."""
    if kind == "gaussian":
        return _gaussian(key, m, m_max, n)
    if kind == "mask":  # m distinct pixels
        return jnp.where(_rows(m, m_max), jnp.eye(n)[jr.permutation(key, n)[:m_max]], 0.0)
    # blur: circular convolution with the ideal low-pass kernel passing the DC and the
    # (m - 1) // 2 lowest frequency planes (rank m for odd m, m - 1 for even m): the
    # projection onto those Fourier bands, a circulant matrix (n x n, m_max = n).
    basis = bj.fourier_basis(n)
    keep = jnp.arange(n) < 2 * ((m - 1) // 2) + 1
    return (basis * keep) @ basis.T


def _rel(xhat, x):
    return jnp.sum((xhat - x) ** 2) / jnp.sum(x**2)


def _statistics(c: TheoremsConfig, u, gram, key):
    """C_SSRL of K views of the back-projections u (N, n), and its isotropic null."""
    k_bank, k_views, k_null = jr.split(key, 3)
    bank = bj.ViewBank(c.n, key=k_bank, num_rotations=c.views, angle=c.angle, sigma=c.aug_noise)
    cov = bj.augmentation_covariance(bank.views(u, key=k_views))
    noise = jr.normal(k_null, (u.shape[0] * c.views, c.n))
    return {"c_ssrl": cov, "c_null": noise.T @ noise / noise.shape[0], "gram": gram}


class ModelSource(bj.AbstractSource):
    """The signals of a true model: `SparseInBasis` (k-sparse in its basis) or
    `SubspaceUnion` (a union of subspaces)."""

    truth: bj.SparseInBasis | bj.SubspaceUnion

    def __call__(self, *, key):
        if isinstance(self.truth, bj.SparseInBasis):
            return bj.sparse_in_basis_signal(self.truth.basis, self.truth.k, key=key)
        return bj.subspace_signal(self.truth.bases, key=key)

    def structure(self):
        return jax.eval_shape(lambda: self(key=jr.key(0)))


def _model_signals(truth, key, shape):
    """Signals of `truth`, shape (*shape, n): one `draw` of the model's source."""
    return ModelSource(truth).draw(math.prod(shape), key=key).reshape(*shape, -1)


def _measure(a, x):
    """Noise-free `bj.measure` of signals x (..., n) through the matrix a (m, n)."""
    op = bj.MatrixOperator(a)
    flat = x.reshape(-1, x.shape[-1])
    return jax.vmap(lambda xi: bj.measure(op, xi))(flat).reshape(*x.shape[:-1], -1)


def _learner(model: str, n: int, k: int, num: int, key):
    """A random initial learner: `num` Haar-random k-dim subspaces, or a random basis."""
    if model == "sparse":
        return bj.SparseInBasis(bj.random_subspace(n, n, key=key), k)
    return bj.SubspaceUnion(bj.random_union(n, k, num, key=key))


def _inits(model: str, n: int, k: int, num: int, restarts: int, key):
    """R initial learners stacked (restart 0 from `key` itself, restart r from fold_in(key, r):
    with R = 1 the initialisation of the single-start path)."""
    keys = [key] + [jr.fold_in(key, r) for r in range(1, restarts)]
    models = [_learner(model, n, k, num, kk) for kk in keys]
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *models)


def spectral_start(a, y, k: int):
    r"""The $k$ leading eigenvectors of the back-projected second moment
    $\frac1N \sum_i A_{g(i)}^\top y_i y_i^\top A_{g(i)}$ of the measurements `y` (G, P, m)
    through the operators `a` (G, m, n): a method-of-moments estimate of one subspace from the
    measurements alone. For Gaussian $A$ with i.i.d. $N(0, 1/m)$ entries and $x$ isotropic in
    a $k$-dim subspace $S$ (covariance $P_S / k$ per unit energy), its expectation is
    $\frac{m+1}{m}\frac{P_S}{k} + \frac{1}{m} I$ per signal energy: the signal subspace
    on top of an isotropic floor, which the sample of $G P$ signals estimates with an error
    that shrinks with $G P$ and with $m$."""
    back = jnp.einsum("gmn,gpm->gpn", a, y).reshape(-1, a.shape[-1])  # A_g^T y_i, (N, n)
    return bj.leading_subspace(back.T @ back / back.shape[0], k)


def _fit(c: TheoremsConfig, loss, inits, key):
    model, losses, final = bj.fit_scan_restarts(
        loss, inits, key=key, num_steps=c.num_steps, learning_rate=c.learning_rate
    )
    best = jnp.argmin(final)
    # final_loss: the selected run's loss before its last update (as a single start reports);
    # train_loss: the selection criterion, its training loss after the last update.
    return model, {"final_loss": losses[best, -1], "train_loss": final[best]}


def _fit_varpro(c: TheoremsConfig, loss, inits, a, y, key):
    """`fit_subspaces` (Levenberg-Marquardt on the variable-projection objective) from every
    initialisation, keeping the lowest value of the same criterion as `_fit` (MOI's loss at
    `fold_in(key, steps)`, training data only)."""
    fitted, losses = jax.vmap(
        lambda b: bj.fit_subspaces(bj.SubspaceUnion(b), a, y, num_steps=c.varpro_steps)
    )(inits.bases)
    final = jax.vmap(lambda b: loss(bj.SubspaceUnion(b), jr.fold_in(key, c.varpro_steps)))(
        fitted.bases
    )
    best = jnp.argmin(final)
    # final_loss here: the variable-projection objective before the last step (its scale:
    # 1/(G P m), as moi_loss's first term).
    return bj.SubspaceUnion(fitted.bases[best]), {
        "final_loss": losses[best, -1],
        "train_loss": final[best],
    }


def moi_trial(
    c: TheoremsConfig, model: str, k: int, restarts: int, num_ops: int, m_max: int, key, m
):
    """G = `num_ops` Gaussian operators of m rows, `signals_per_operator` signals through each
    (training) and `test_signals` fresh signals spread over them (test)."""
    k_b, k_a, k_x, k_i, k_t, k_s, k_fit = jr.split(key, 7)
    n, g = c.n, num_ops
    if model == "sparse":
        truth = bj.SparseInBasis(bj.random_subspace(n, n, key=k_b), k)
    else:
        truth = bj.SubspaceUnion(bj.random_union(n, k, c.num_subspaces, key=k_b))
    a = jax.vmap(lambda kk: _gaussian(kk, m, m_max, n))(jr.split(k_a, g))
    x = _model_signals(truth, k_x, (g, c.signals_per_operator))
    y = jax.vmap(_measure)(a, x)
    inits = _inits(model, n, k, c.num_subspaces, restarts, k_i)
    if c.moi_init == "spectral":
        inits = eqx.tree_at(
            lambda u: u.bases, inits, inits.bases.at[0, 0].set(spectral_start(a, y, k))
        )

    def loss(model, kk):
        # Each operator's signals are also measured again through another operator.
        other = (jnp.arange(g) + jr.randint(kk, (g,), 1, max(g, 2))) % g

        def one_op(ag, ah, yg):
            op, oth = bj.MatrixOperator(ag), bj.MatrixOperator(ah)
            return jnp.mean(jax.vmap(lambda yy: bj.moi_loss(model, op, yy, oth))(yg))

        return jnp.mean(jax.vmap(one_op)(a, a[other], y))

    if c.moi_learner == "varpro" and model == "subspace":
        learned_model, fit_stats = _fit_varpro(c, loss, inits, a, y, k_fit)
    else:
        learned_model, fit_stats = _fit(c, loss, inits, k_fit)
    per = -(-c.test_signals // g)
    xt = _model_signals(truth, k_t, (g, per))
    yt = jax.vmap(_measure)(a, xt)

    def rec(fn):
        return jax.vmap(lambda ag, yg: jax.vmap(lambda yy: fn(ag, yy))(yg))(a, yt)

    mat = bj.MatrixOperator
    learned = rec(lambda ag, yy: learned_model(mat(ag), yy))
    oracle = rec(lambda ag, yy: truth(mat(ag), yy))
    pinv = rec(lambda ag, yy: jnp.linalg.pinv(ag) @ yy)
    u = jnp.einsum("gnm,gpm->gpn", jax.vmap(jnp.linalg.pinv)(a), y).reshape(-1, n)
    out = {
        "learned": _rel(learned, xt),
        "oracle": _rel(oracle, xt),
        "pinv": _rel(pinv, xt),
        **fit_stats,
        "a": a,
    }
    if model == "subspace":
        out["bases"] = truth.bases
    out.update(_statistics(c, u, jnp.einsum("gmi,gmj->ij", a, a), k_s))
    return out


def ei_trial(
    c: TheoremsConfig,
    model: str,
    k: int,
    restarts: int,
    group: str,
    kind: str,
    m_max: int,
    key,
    m,
):
    """One operator of `kind`, a model invariant to `group` (one k-dimensional invariant
    subspace, or k-sparse vectors in the canonical basis), EI with the group's random
    elements."""
    k_b, k_a, k_x, k_i, k_t, k_s, k_fit = jr.split(key, 7)
    n = c.n
    if model == "sparse":
        truth = bj.SparseInBasis(jnp.eye(n), k)
    else:
        truth = bj.SubspaceUnion(bj.invariant_subspace(n, k, group, key=k_b)[None])
    a = operator_matrix(kind, k_a, m, m_max, n)
    op = bj.MatrixOperator(a)
    x = _model_signals(truth, k_x, (c.ei_signals,))
    y = _measure(a, x)
    inits = _inits(model, n, k, 1, restarts, k_i)

    def transform(v, *, key):
        return bj.group_action(v, group, key=key)

    def loss(model, kk):
        ks = jr.split(kk, y.shape[0])
        return jnp.mean(
            jax.vmap(lambda yy, kk: bj.ei_loss(model, op, yy, transform, key=kk))(y, ks)
        )

    learned_model, fit_stats = _fit(c, loss, inits, k_fit)
    xt = _model_signals(truth, k_t, (c.test_signals,))
    yt = _measure(a, xt)
    pinv_a = jnp.linalg.pinv(a)
    mats = bj.group_matrices(group, n)
    virtual = jnp.einsum("mn,gnj->gmj", a, mats)  # A T_g
    out = {
        "learned": _rel(jax.vmap(lambda yy: learned_model(op, yy))(yt), xt),
        "oracle": _rel(jax.vmap(lambda yy: truth(op, yy))(yt), xt),
        "pinv": _rel(yt @ pinv_a.T, xt),
        **fit_stats,
        "a": a,
    }
    gram = jnp.einsum("gmi,gmj->ij", virtual, virtual) / mats.shape[0]
    out.update(_statistics(c, y @ pinv_a.T, gram, k_s))
    return out
