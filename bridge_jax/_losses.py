r"""Losses for reconstructors `model(op, y) -> x`: supervised and measurement-only.

The measurement-only losses need no ground truth. Measurement consistency alone is
minimised by anything that fits $y$, noise included, and cannot see the null space of $A$;
measurement splitting (SSDU, Yaman et al. 2020) scores the prediction of measurements that the
model did not see.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from . import _validate as check
from ._operators import LinearOperator, Mask, random_mask


def supervised_loss(model, op: LinearOperator, y, x) -> Float[Array, ""]:
    r"""$\frac1n\|f(A, y) - x\|^2$ (needs the ground truth $x$)."""
    return jnp.mean((model(op, y) - x) ** 2)


def measurement_consistency_loss(model, op: LinearOperator, y) -> Float[Array, ""]:
    r"""$\frac1m\|A f(A, y) - y\|^2$: measurement-only, blind to $\ker A$ and to noise."""
    return jnp.mean((op.mv(model(op, y)) - y) ** 2)


def measurement_split_loss(
    model, op: LinearOperator, y, *, key: PRNGKeyArray, holdout=0.5
) -> Float[Array, ""]:
    r"""SSDU-style splitting: reconstruct from rows $\Lambda$, score the held-out rows $\Gamma$.

    A random fraction `holdout` of the $m$ rows forms $\Gamma$; the model sees
    $(M_\Lambda A, M_\Lambda y)$ and the loss is the mean of $(A\hat x - y)^2$ over $\Gamma$.
    With noise independent across rows the held-out noise does not correlate with $\hat x$,
    so the loss tracks the error on what $A$ measures, plus a constant.
    """
    check.ratio("holdout", holdout)
    seen = random_mask(op.out_size, holdout, key=key)
    keep = Mask(seen)
    x_hat = model(keep @ op, keep.mv(y))
    resid = jnp.where(seen, 0.0, op.mv(x_hat) - y)
    return jnp.sum(resid**2) / jnp.maximum(jnp.sum(~seen), 1)
