r"""Losses for reconstructors `model(op, y) -> x` on ONE measurement: supervised and the
self-supervised imaging losses (SSDU, Noise2Self, Equivariant Imaging, Noisier2Noise).

The measurement-only losses need no ground truth. Measurement consistency alone is
minimised by anything that fits $y$, noise included, and cannot see the null space of $A$;
measurement splitting (SSDU, Yaman et al. 2020) and Noise2Self score the prediction of
measurements that the model did not see; Equivariant Imaging adds invariance of the signal set
to a transform group, the one route to the null space of a single fixed $A$ (Tachella et al.
2022); multi-operator imaging (MOI) takes the other route, several operators whose null spaces
differ; Noisier2Noise adds noise and undoes its effect in closed form.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jaxtyping import Array, Float, PRNGKeyArray

from . import _validate as check
from ._linalg import pinv_solve
from ._operators import Mask, check_operator, random_mask


def supervised_loss(model, op: lx.AbstractLinearOperator, y, x) -> Float[Array, ""]:
    r"""$\frac1n\|f(A, y) - x\|^2$ (needs the ground truth $x$)."""
    return jnp.mean((model(op, y) - x) ** 2)


def measurement_consistency_loss(model, op: lx.AbstractLinearOperator, y) -> Float[Array, ""]:
    r"""$\frac1m\|A f(A, y) - y\|^2$: measurement-only, blind to $\ker A$ and to noise."""
    return jnp.mean((op.mv(model(op, y)) - y) ** 2)


def measurement_split_loss(
    model, op: lx.AbstractLinearOperator, y, *, key: PRNGKeyArray, holdout=0.5
) -> Float[Array, ""]:
    r"""SSDU-style splitting: reconstruct from rows $\Lambda$, score the held-out rows $\Gamma$.

    A random fraction `holdout` of the $m$ rows forms $\Gamma$; the model sees
    $(M_\Lambda A, M_\Lambda y)$ and the loss is the mean of $(A\hat x - y)^2$ over $\Gamma$.
    With noise independent across rows the held-out noise does not correlate with $\hat x$,
    so the loss tracks the error on what $A$ measures, plus a constant.
    """
    check.ratio("holdout", holdout)
    out = op.out_structure()
    seen = random_mask(out.shape, holdout, key=key)
    keep = Mask(seen, dtype=out.dtype)
    x_hat = model(keep @ op, keep.mv(y))
    resid = jnp.where(seen, 0.0, op.mv(x_hat) - y)
    return jnp.sum(resid**2) / jnp.maximum(jnp.sum(~seen), 1)


def noise2self_loss(
    model, op: lx.AbstractLinearOperator, y, *, key: PRNGKeyArray, num_groups: int = 4
):
    r"""Noise2Self (Batson & Royer 2019) on the measurements: a $J$-invariant loss.

    The $m$ rows are split at random into `num_groups` disjoint sets $J_1..J_G$ that cover
    them all. For each $J$ the model sees $(M_{J^c} A, M_{J^c} y)$ (the rows of $J$ zeroed),
    so its prediction of $y_J$ cannot depend on $y_J$; the loss is
    $\frac1m \sum_J \|(A f(M_{J^c}A, M_{J^c}y) - y)_J\|^2$: every row is scored once.
    At test time the model sees all rows. Compared with `measurement_split_loss` (SSDU), every
    row is held out once per step instead of one random subset.
    """
    out = op.out_structure()
    m = op.out_size()
    num_groups = check.int_in_range("num_groups", num_groups, 2, max(2, m))
    group = jr.permutation(key, jnp.arange(m) % num_groups).reshape(out.shape)

    def one(g):
        seen = group != g
        keep = Mask(seen, dtype=out.dtype)
        x_hat = model(keep @ op, keep.mv(y))
        return jnp.sum(jnp.where(seen, 0.0, op.mv(x_hat) - y) ** 2)

    return jnp.sum(jax.vmap(one)(jnp.arange(num_groups))) / m


def ei_loss(
    model, op: lx.AbstractLinearOperator, y, transform, *, key: PRNGKeyArray, sigma=0.0, weight=1.0
):
    r"""Equivariant Imaging (Chen, Tachella & Davies 2021; Tachella et al. 2022).

    $x_1 = f(A, y)$, $x_2 = T_g x_1$ with a random group element (`transform(x, *, key)`, e.g.
    `random_shift`), $x_3 = f(A, A x_2 + \sigma\varepsilon)$; the loss is
    $\frac1m\|A x_1 - y\|^2 + w \frac1n \|x_3 - x_2\|^2$. It is zero for a reconstructor
    that fits the measurements and commutes with the group ($f(A T x) = T f(A x)$); the second
    term sees the null space of $A$ through $A T_g$.
    """
    check.nonnegative("sigma", sigma)
    check.nonnegative("weight", weight)
    k_t, k_e = jr.split(key)
    x1 = model(op, y)
    x2 = transform(x1, key=k_t)
    y2 = op.mv(x2)
    y2 = y2 + jnp.asarray(sigma, y2.dtype) * jr.normal(k_e, y2.shape, y2.dtype)
    x3 = model(op, y2)
    return jnp.mean((op.mv(x1) - y) ** 2) + weight * jnp.mean((x3 - x2) ** 2)


def moi_loss(
    model, op: lx.AbstractLinearOperator, y, other_op: lx.AbstractLinearOperator, *, weight=1.0
) -> Float[Array, ""]:
    r"""Multi-operator imaging (Tachella, Chen & Davies, NeurIPS 2022, eq. 4).

    $x_1 = f(A, y)$, $x_2 = f(A', A' x_1)$ with another operator $A'$ of the family (drawn by
    the caller, e.g. the operator of another training signal); the loss is
    $\frac1m\|A x_1 - y\|^2 + w \frac1n\|x_2 - x_1\|^2$. The second term asks the
    reconstruction to be a fixed point when measured again through $A'$, which sees part of
    $\ker A$: with operators whose stacked rows have rank $n$ it determines the signal model,
    which consistency with one fixed $A$ cannot.
    """
    check.nonnegative("weight", weight)
    check_operator(other_op, "other_op")
    if other_op.in_structure().shape != op.in_structure().shape:
        raise ValueError(
            f"other_op must act on signals of op's shape {op.in_structure().shape}, got "
            f"{other_op.in_structure().shape}."
        )
    x1 = model(op, y)
    x2 = model(other_op, other_op.mv(x1))
    return jnp.mean((op.mv(x1) - y) ** 2) + weight * jnp.mean((x2 - x1) ** 2)


def noisier(y, *, key: PRNGKeyArray, sigma, alpha=1.0):
    r"""$z = y + \alpha\sigma\varepsilon$: the doubly-noisy measurement of Noisier2Noise."""
    check.nonnegative("sigma", sigma)
    check.nonnegative("alpha", alpha, strict=True)
    y = jnp.asarray(y)
    scale = jnp.asarray(alpha, y.dtype) * jnp.asarray(sigma, y.dtype)
    return y + scale * jr.normal(key, y.shape, y.dtype)


def noisier2noise_loss(
    model, op: lx.AbstractLinearOperator, y, *, key: PRNGKeyArray, sigma, alpha=1.0
):
    r"""Noisier2Noise (Moran et al. 2020) on the measurements: $\frac1m\|A f(A, z) - y\|^2$.

    $z$ = `noisier(key, y, sigma=sigma, alpha=alpha)`. Its minimiser has
    $A f(A, z) = E[y \mid z]$, which `noisier2noise_estimate` turns into $E[Ax \mid z]$.
    Requires the noise level $\sigma$ of $y$ (Gaussian, i.i.d. across rows).
    """
    z = noisier(y, key=key, sigma=sigma, alpha=alpha)
    return jnp.mean((op.mv(model(op, z)) - y) ** 2)


def noisier2noise_estimate(model, op: lx.AbstractLinearOperator, z, *, alpha=1.0):
    r"""The Noisier2Noise correction applied to a model trained by `noisier2noise_loss`.

    With noise $\sigma$ in $y$ and $\alpha\sigma$ added, $E[y|z] = (z + \alpha^2 E[Ax|z])
    / (1 + \alpha^2)$, so $E[Ax|z] = ((1+\alpha^2) E[y|z] - z)/\alpha^2$ (Moran et al., eq. 6).
    In the signal domain: $\hat x = f(z) + A^+ (A f(z) - z)/\alpha^2$ corrects the row-space
    part of $f(z)$ and keeps its null-space part (which a measurement-domain loss never sees).
    """
    check.nonnegative("alpha", alpha, strict=True)
    x = model(op, z)
    return x + pinv_solve(op, op.mv(x) - z) / jnp.asarray(alpha, x.dtype) ** 2
