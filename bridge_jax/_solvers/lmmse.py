r"""The supervised linear oracle: the affine estimator $\hat x = W y + b$ with least MSE."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _validate as check


class LMMSE(eqx.Module):
    r"""Affine estimator $\hat x = W y + b$ (fitted by `lmmse_fit`)."""

    weight: Float[Array, "n m"]
    bias: Float[Array, " n"]


def lmmse_fit(xs: Float[Array, "N n"], ys: Float[Array, "N m"], *, ridge=1e-6) -> LMMSE:
    r"""Fit the linear MMSE estimator from paired examples (it needs the ground truth).

    $W = \hat C_{xy} (\hat C_{yy} + \epsilon I)^{-1}$, $b = \bar x - W \bar y$, with sample
    covariances over the `N` pairs and $\epsilon$ = `ridge` times the mean diagonal of
    $\hat C_{yy}$ (for a well-posed solve when $N < m$). This is the best affine map in
    mean-squared error on the fitting set: a lower bound for any linear reconstructor.

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        xs = bj.sparse_signals(200, 16, 3, key=jr.key(1))
        ys = jax.vmap(op.mv)(xs)
        estimator = bj.lmmse_fit(xs, ys)  # uses the ground truth
        x_hat = bj.lmmse_apply(estimator, ys[0])
        ```
    """
    xs = check.shape("xs", xs, (None, None))
    ys = check.shape("ys", ys, (xs.shape[0], None))
    check.nonnegative("ridge", ridge)
    x_mean, y_mean = xs.mean(0), ys.mean(0)
    xc, yc = xs - x_mean, ys - y_mean
    cyy = yc.T @ yc / xs.shape[0]
    cxy = xc.T @ yc / xs.shape[0]
    eps = ridge * jnp.trace(cyy) / cyy.shape[0]
    weight = jnp.linalg.solve(cyy + eps * jnp.eye(cyy.shape[0], dtype=cyy.dtype), cxy.T).T
    return LMMSE(weight, x_mean - weight @ y_mean)


def lmmse_apply(estimator: LMMSE, y: Float[Array, " m"]) -> Float[Array, " n"]:
    r"""$\hat x = W y + b$ for one measurement.

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        xs = bj.sparse_signals(200, 16, 3, key=jr.key(1))
        estimator = bj.lmmse_fit(xs, jax.vmap(op.mv)(xs))
        x_hats = jax.vmap(lambda y: bj.lmmse_apply(estimator, y))(jax.vmap(op.mv)(xs))
        ```
    """
    y = check.shape("y", y, (estimator.weight.shape[1],))
    return estimator.weight @ y + estimator.bias
