r"""Inference for models trained to predict held-out rows (Noise2Self, SSDU): every measured
row predicted only by a model that did not see it (`split_inference`). An inference
procedure, not a loss: the losses that train such models are in `_losses/_imaging.py`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jaxtyping import Array, Bool, Float

from .. import _validate as check
from .._linalg._core import pinv_solve
from .._losses._imaging import noise_cutoff
from .._operators import Mask, check_operator


def split_inference(
    model, op: lx.AbstractLinearOperator, y, held_out, *, sigma=None
) -> Float[Array, "..."]:
    r"""The reconstruction of a model trained to predict held-out rows (Noise2Self, SSDU),
    evaluated the way it was trained: every measured row is predicted only by a model that
    did not see it.

    `held_out`: a boolean `(K, *y.shape)` array, the rows $H_k$ hidden from split $k$, every
    row in at least one split (`row_groups`, `cyclic_holdouts`). With
    $f_k = f(M_{H_k^c} A, M_{H_k^c} y)$ (the rows $H_k$ zeroed, as in training),
    $\bar x = \frac1K\sum_k f_k$ and the held-out prediction of the measurements
    $\hat y = \sum_k M_{H_k} A f_k / \sum_k M_{H_k}$,
    $$\hat x = \bar x + A^+(\hat y - A\bar x):$$
    its measured part ($A\hat x = \hat y$ for $A$ of full row rank) is exactly what the loss
    scored, and its null-space part is that of $\bar x$. For denoising ($A = I$) and
    partitions this is Batson & Royer's $J$-invariant $f_J$ ($\hat x_J = f(1_{J^c} y)_J$),
    with which their theory holds. For a pixel mask the observed pixels come from $\hat y$,
    the hidden ones from $\bar x$.

    Why not `model(op, y)`, as Yaman et al. evaluate SSDU: the loss scores the prediction of the
    rows a model did not see and never what it outputs on the rows it saw. An unrolled network
    with data consistency ties those to $y$; a network on $A^\top y$ (a UNet) does not, and on
    the full measurement every row is a seen row (on MNIST denoising a UNet trained by
    Noise2Self gave 6.3 dB on `model(op, y)`, 17.8 dB with this inference, 14.0 dB for $y$).
    Costs $K$ forward passes and one `pinv_solve`.

    `sigma`: the known level of white Gaussian noise on $y$ ($E|n_i|^2 = \sigma^2$ per entry,
    complex ones included), or `None` (default: not known, or not Gaussian). Given, each
    measured row combines the held-out prediction with its own measurement,
    $\tilde y = \hat y + w (y - \hat y)$, $w = \hat v / (\hat v + \sigma^2)$: the
    minimum-variance weighting of two independent estimates of $(Ax)_i$, with $\hat v =
    \max(0, \overline{|\hat y - y|^2} - \sigma^2)$ the prediction's error variance estimated
    from $y$ alone (the error of a held-out prediction is independent of the row's own noise, so
    $E|\hat y_i - y_i|^2 = v + \sigma^2$). The mean runs over the rows that $A$ measures,
    those not identically zero (found by one product with a fixed random probe): on the
    zero rows of a `Mask` or `MRI` (its unmeasured pixels or frequencies) $y_i$ is pure noise
    and $\hat y_i = 0$, which would pull $\hat v$ towards 0 (on 4x MRI, to a quarter of its
    value); those rows keep $\hat y_i = 0$. A $J$-invariant estimate ignores $y_i$ entirely,
    which costs little at the noise of denoising but much when rows are nearly exact: at
    $\sigma = 0$ this gives $A\hat x = y$. This is Batson & Royer's remark that $f_J$ can be
    combined with the noisy input, in its simplest form (one weight per signal); Laine et al.
    (2019) do it per pixel with a learned posterior. Given `sigma`, the final $A^+$ also
    treats singular values below $\max(\sigma, 10^{-4})$ times the largest as zero
    (`pinv_solve(..., rtol=)`): on an ill-conditioned operator (a Gaussian blur, sparse-view
    CT) the exact $A^+$ multiplies the errors of $\tilde y$ by up to $10^4$-$10^5$, and the
    default imaging run's Noise2Self and SSDU fell to -5 to -9 dB PSNR on CT and deblurring.
    """
    check_operator(op)
    out = op.out_structure()
    held_out = jnp.asarray(held_out)
    if held_out.dtype != jnp.bool_ or held_out.shape[1:] != tuple(out.shape):
        raise ValueError(
            f"held_out must be a boolean (K, *{tuple(out.shape)}) array (op's output shape), "
            f"got dtype {held_out.dtype} and shape {tuple(held_out.shape)}."
        )

    def one(hidden):
        keep = Mask(~hidden, dtype=out.dtype)
        x = model(keep @ op, keep.mv(y))
        return x, op.mv(x)

    xs, ys = jax.vmap(one)(held_out)
    x_bar = jnp.mean(xs, axis=0)
    y_bar = op.mv(x_bar)
    count = jnp.sum(held_out, axis=0)
    y_hat = jnp.sum(jnp.where(held_out, ys, 0), axis=0) / jnp.maximum(count, 1)
    y_hat = jnp.where(count > 0, y_hat, y_bar)
    if sigma is not None:
        measured = (count > 0) & _measured_rows(op)
        w = _split_weight(y_hat, y, measured, sigma)
        y_hat = jnp.where(measured, y_hat + w.astype(y_hat.real.dtype) * (y - y_hat), y_hat)
    return x_bar + pinv_solve(op, y_hat - y_bar, rtol=noise_cutoff(sigma))


def _measured_rows(op: lx.AbstractLinearOperator) -> Bool[Array, "..."]:
    r"""The rows that `op` actually measures: true where row $i$ of $A$ is not identically zero
    (a `Mask`'s or an `MRI`'s mask; every row of a Gaussian matrix).

    Decided by one matrix-vector product with a fixed Gaussian probe $z$: row $a_i$ is taken
    as zero where $|a_i^\top z| \le 16\,\epsilon \max_j |a_j^\top z|$ ($\epsilon$ the
    precision of the output). A non-zero row passes with probability one (for a continuous
    $z$, $a_i^\top z = 0$ has probability zero); a row zeroed by a mask gives an exact zero.
    The probe is deterministic, so the answer is the same at every call.

    **Returns:** a boolean array of `op`'s output shape.
    """
    check_operator(op)
    inp = op.in_structure()
    z = jr.normal(jr.key(0), inp.shape, jnp.finfo(inp.dtype).dtype).astype(inp.dtype)
    a = jnp.abs(op.mv(z))
    eps = jnp.finfo(a.dtype).eps
    return a > 16 * eps * jnp.max(a)


def _split_weight(y_hat, y, measured, sigma):
    r"""$w = \hat v / (\hat v + \sigma^2)$, $\hat v = \max(0, \overline{|\hat y - y|^2} -
    \sigma^2)$ with the mean over the `measured` rows only (see `split_inference`)."""
    noise_var = jnp.square(check.nonnegative("sigma", sigma))
    gap = jnp.sum(jnp.where(measured, jnp.abs(y_hat - y) ** 2, 0)) / jnp.maximum(
        jnp.sum(measured), 1
    )
    # w = v / (v + sigma^2) with v = max(gap - sigma^2, 0), so v + sigma^2 = max(gap,
    # sigma^2); when both are 0 the prediction equals y and any w will do (1).
    total = jnp.maximum(gap, noise_var)
    return jnp.where(
        total > 0, jnp.maximum(gap - noise_var, 0.0) / jnp.where(total > 0, total, 1), 1.0
    )
