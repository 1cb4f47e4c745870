r"""Losses for reconstructors `model(op, y) -> x` on ONE measurement: supervised and the
self-supervised imaging losses (SSDU, Noise2Self, Equivariant Imaging, Noisier2Noise).

The measurement-only losses need no ground truth. Measurement consistency alone is
minimised by anything that fits $y$, noise included, and cannot see the null space of $A$;
measurement splitting (SSDU, Yaman et al. 2020) and Noise2Self score the prediction of
measurements that the model did not see; Equivariant Imaging adds invariance of the signal set
to a transform group, the one route to the null space of a single fixed $A$ (Tachella et al.
2022); multi-operator imaging (MOI) takes the other route, several operators whose null spaces
differ; Noisier2Noise adds noise and undoes its effect in closed form. For Gaussian noise of
known level $\sigma$, SURE (Stein 1981) and Recorrupted-to-Recorrupted (Pang et al. 2021)
estimate the measurement-domain error $\frac1m\|A f(A, y) - A x\|^2$ without $x$.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from .. import _validate as check
from .._data._problems import AbstractNoise, GaussianNoise, PoissonNoise
from .._linalg._core import pinv_solve
from .._operators import Mask, check_operator, is_complex, random_mask
from .._random import permutation, random_ranks


def _abs2(r):
    r"""$|r|^2$ entrywise: $r^2$ for real residuals, $(\mathrm{Re}\,r)^2 + (\mathrm{Im}\,r)^2$ for
    complex measurements (MRI), where $r^2$ would be complex and not a loss."""
    return jnp.abs(r) ** 2 if jnp.iscomplexobj(r) else r**2


def supervised_loss(model, op: lx.AbstractLinearOperator, y, x) -> Float[Array, ""]:
    r"""$\frac1n\|f(A, y) - x\|^2$ (needs the ground truth $x$).

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        x = bj.sparse_signal(16, 3, key=jr.key(1))
        model = bj.UnrolledShrinkage(16, num_iters=3, step=bj.default_step_size(op))
        loss = bj.supervised_loss(model, op, op.mv(x), x)  # model(op, y, *, key=None) -> x_hat
        ```
    """
    return jnp.mean((model(op, y) - x) ** 2)


def measurement_consistency_loss(model, op: lx.AbstractLinearOperator, y) -> Float[Array, ""]:
    r"""$\frac1m\|A f(A, y) - y\|^2$: measurement-only, blind to $\ker A$ and to noise.

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        y = op.mv(bj.sparse_signal(16, 3, key=jr.key(1)))
        model = bj.UnrolledShrinkage(16, num_iters=3, step=bj.default_step_size(op))
        loss = bj.measurement_consistency_loss(model, op, y)  # model(op, y, *, key=None) -> x_hat
        ```
    """
    return jnp.mean(_abs2(op.mv(model(op, y)) - y))


def measurement_split_loss(
    model, op: lx.AbstractLinearOperator, y, *, key: PRNGKeyArray, holdout=0.5
) -> Float[Array, ""]:
    r"""SSDU-style splitting: reconstruct from rows $\Lambda$, score the held-out rows $\Gamma$.

    A random fraction `holdout` of the $m$ rows forms $\Gamma$; the model sees
    $(M_\Lambda A, M_\Lambda y)$ and the loss is the mean of $(A\hat x - y)^2$ over $\Gamma$.
    With noise independent across rows the held-out noise does not correlate with $\hat x$,
    so the loss tracks the error on what $A$ measures, plus a constant. Only the held-out
    rows are scored: `SSDU.output` evaluates with `split_inference` (see there why).

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        y = op.mv(bj.sparse_signal(16, 3, key=jr.key(1)))
        model = bj.UnrolledShrinkage(16, num_iters=3, step=bj.default_step_size(op))
        # SSDU; the model is called as model(op, y, *, key=None)
        loss = bj.measurement_split_loss(model, op, y, key=jr.key(2))
        ```
    """
    check.ratio("holdout", holdout)
    out = op.out_structure()
    seen = random_mask(out.shape, holdout, key=key)
    keep = Mask(seen, dtype=out.dtype)
    x_hat = model(keep @ op, keep.mv(y))
    resid = jnp.where(seen, 0.0, op.mv(x_hat) - y)
    return jnp.sum(_abs2(resid)) / jnp.maximum(jnp.sum(~seen), 1)


def row_groups(shape, num_groups: int, *, key: PRNGKeyArray) -> Bool[Array, "G ..."]:
    r"""A random partition of the entries of an array of `shape` (the measurement's rows) into
    `num_groups` disjoint groups $J_1..J_G$ of sizes differing by at most one.

    **Returns:** a boolean `(num_groups, *shape)` array, `[g]` true on $J_g$ (the rows that
    split $g$ holds out); every entry is true in exactly one group.
    """
    shape = check.signal_shape("shape", shape)
    check.prng_key("key", key)
    m = math.prod(shape)
    num_groups = check.int_in_range("num_groups", num_groups, 2, max(2, m))
    # jr.permutation(key, arange(m) % num_groups), the same numbers without a sort.
    group = (permutation(key, m) % num_groups).reshape(shape)
    return group[None] == jnp.arange(num_groups).reshape((-1,) + (1,) * len(shape))


def cyclic_holdouts(shape, holdout, num_splits: int, *, key: PRNGKeyArray) -> Bool[Array, "K ..."]:
    r"""`num_splits` held-out sets of $L = \mathrm{round}(h m)$ of the $m$ entries of `shape`
    (`holdout` $h$) that together cover every entry.

    The entries get a uniform random rank $r$; split $k$ holds out the window of ranks
    $[\lfloor km/K \rfloor, \lfloor km/K \rfloor + L)$ taken modulo $m$. Each window alone is
    a uniform random subset of size $L$ (the held-out set of `measurement_split_loss`), and
    with $KL \ge m$ the windows cover every entry at least once ($hK$ times when that and
    $m/K$ are integers, e.g. twice for $h = 0.4$, $K = 5$).

    **Returns:** a boolean `(num_splits, *shape)` array, true where held out.
    """
    shape = check.signal_shape("shape", shape)
    check.ratio("holdout", holdout, low=0.0)
    m = math.prod(shape)
    num_splits = check.positive_int("num_splits", num_splits)
    length = round(float(holdout) * m)
    if num_splits * length < m:
        need = math.ceil(m / max(length, 1))
        raise ValueError(
            f"num_splits x round(holdout x m) must cover the m = {m} entries: got num_splits "
            f"{num_splits} and holdout {holdout} (use num_splits >= {need})."
        )
    rank = random_ranks(m, key).reshape(shape)
    starts = (jnp.arange(num_splits) * m) // num_splits
    offset = (rank[None] - starts.reshape((-1,) + (1,) * len(shape))) % m
    return offset < length


def noise_cutoff(sigma):
    r"""The relative singular-value cutoff of a correction $A^+ r$ when the data carry Gaussian
    noise of level `sigma` (None: unknown, `pinv_solve`'s default): $\max(\sigma, 10^{-4})$
    of the largest singular value. Directions the operator passes more weakly than the noise
    level carry noise, not signal (a truncated SVD at the noise level)."""
    if sigma is None:
        return None
    return jnp.maximum(jnp.asarray(sigma), 1e-4)


def noise2self_loss(
    model, op: lx.AbstractLinearOperator, y, *, key: PRNGKeyArray, num_groups: int = 4
):
    r"""Noise2Self (Batson & Royer 2019) on the measurements: a $J$-invariant loss.

    The $m$ rows are split at random into `num_groups` disjoint sets $J_1..J_G$ that cover
    them all (`row_groups`). For each $J$ the model sees $(M_{J^c} A, M_{J^c} y)$ (the rows
    of $J$ zeroed), so its prediction of $y_J$ cannot depend on $y_J$; the loss is
    $\frac1m \sum_J \|(A f(M_{J^c}A, M_{J^c}y) - y)_J\|^2$: every row is scored once.
    Only the held-out rows are scored: evaluate the trained model with `split_inference`
    (as `Noise2Self.output` does), not on the full measurement. Compared with
    `measurement_split_loss` (SSDU), every row is held out once per step instead of one
    random subset.

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        y = op.mv(bj.sparse_signal(16, 3, key=jr.key(1)))
        model = bj.UnrolledShrinkage(16, num_iters=3, step=bj.default_step_size(op))
        loss = bj.noise2self_loss(model, op, y, key=jr.key(2))  # model(op, y, *, key=None)
        ```
    """
    out = op.out_structure()
    groups = row_groups(out.shape, num_groups, key=key)

    def one(hidden):
        keep = Mask(~hidden, dtype=out.dtype)
        x_hat = model(keep @ op, keep.mv(y))
        return jnp.sum(_abs2(jnp.where(hidden, op.mv(x_hat) - y, 0.0)))

    return jnp.sum(jax.vmap(one)(groups)) / op.out_size()


def ei_loss(
    model,
    op: lx.AbstractLinearOperator,
    y,
    transform,
    *,
    key: PRNGKeyArray,
    sigma=0.0,
    weight=1.0,
    noise: AbstractNoise | None = None,
):
    r"""Equivariant Imaging (Chen, Tachella & Davies 2021; Tachella et al. 2022).

    $x_1 = f(A, y)$, $x_2 = T_g x_1$ with a random group element (`transform(x, *, key)`, e.g.
    `random_shift`), $x_3 = f(A, \mathcal{N}(A x_2))$ re-measured with the noise model
    $\mathcal{N}$; the loss is $\frac1m\|A x_1 - y\|^2 + w \frac1n \|x_3 - x_2\|^2$. It is
    zero for a reconstructor that fits the measurements and commutes with the group
    ($f(A T x) = T f(A x)$); the second term sees the null space of $A$ through $A T_g$.

    The noise of the re-measurement: Gaussian of level `sigma` (default 0: none), or `noise`
    (an `AbstractNoise`, e.g. `PoissonNoise`; its realisation enters as a constant,
    $A x_2 + \mathrm{sg}(\mathcal{N}(A x_2) - A x_2)$, as Poisson sampling has no derivative
    in its rate). Re-measuring with the measurements' own noise model, as robust EI does
    (Chen et al. 2022), is what makes the second term teach denoising: without noise, for
    denoising ($A = I$) the identity $f(A, y) = y$ makes both terms 0.

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        y = op.mv(bj.sparse_signal(16, 3, key=jr.key(1)))
        model = bj.UnrolledShrinkage(16, num_iters=3, step=bj.default_step_size(op))
        loss = bj.ei_loss(model, op, y, bj.random_shift, key=jr.key(2))  # model(op, y, *, key=None)
        ```
    """
    check.nonnegative("sigma", sigma)
    check.nonnegative("weight", weight)
    if noise is not None:
        if not isinstance(noise, AbstractNoise):
            raise TypeError(f"noise must be a bridge_jax noise model or None, got {noise!r}.")
        if check.is_concrete(sigma) and float(sigma) != 0.0:
            raise ValueError(f"give sigma or noise, not both: got sigma={sigma} and {noise!r}.")
    x1 = model(op, y)
    equivariance = _equivariance(model, op, x1, transform, key=key, sigma=sigma, noise=noise)
    return jnp.mean(_abs2(op.mv(x1) - y)) + weight * equivariance


def _equivariance(model, op, x1, transform, *, key, sigma=0.0, noise=None):
    r"""EI's second term: $rac1n\|x_3 - x_2\|^2$ with $x_2 = T_g x_1$ and $x_3 = f(A,
    \mathcal N(A x_2))$, re-measured with Gaussian noise of level `sigma` or with `noise`
    (its realisation a constant: Poisson sampling has no derivative in its rate)."""
    k_t, k_e = jr.split(key)
    x2 = transform(x1, key=k_t)
    y2 = op.mv(x2)
    if noise is None:
        y2 = y2 + jnp.asarray(sigma, y2.dtype) * jr.normal(k_e, y2.shape, y2.dtype)
    else:
        y2 = y2 + jax.lax.stop_gradient(noise(y2, key=k_e) - y2)
    return jnp.mean((model(op, y2) - x2) ** 2)


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

    Example:
        ```python
        ops = jax.vmap(lambda k: bj.GaussianSensing(16, 8, key=k))(jr.split(jr.key(0), 2))
        op, other = jax.tree.map(lambda a: a[0], ops), jax.tree.map(lambda a: a[1], ops)
        y = op.mv(bj.sparse_signal(16, 3, key=jr.key(1)))
        model = bj.UnrolledShrinkage(16, num_iters=3, step=0.5)
        loss = bj.moi_loss(model, op, y, other)  # model(op, y, *, key=None) -> x_hat
        ```
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
    return jnp.mean(_abs2(op.mv(x1) - y)) + weight * jnp.mean((x2 - x1) ** 2)


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

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        y = op.mv(bj.sparse_signal(16, 3, key=jr.key(1))) + 0.1 * jr.normal(jr.key(2), (8,))
        model = bj.UnrolledShrinkage(16, num_iters=3, step=bj.default_step_size(op))
        # the model is called as model(op, y, *, key=None)
        loss = bj.noisier2noise_loss(model, op, y, key=jr.key(3), sigma=0.1)
        ```
    """
    z = noisier(y, key=key, sigma=sigma, alpha=alpha)
    return jnp.mean(_abs2(op.mv(model(op, z)) - y))


def noisier2noise_estimate(model, op: lx.AbstractLinearOperator, z, *, alpha=1.0, sigma=None):
    r"""The Noisier2Noise correction applied to a model trained by `noisier2noise_loss`
    (called as `model(op, z, *, key=None)`, one measurement in, one signal out).

    With noise $\sigma$ in $y$ and $\alpha\sigma$ added, $E[y|z] = (z + \alpha^2 E[Ax|z])
    / (1 + \alpha^2)$, so $E[Ax|z] = ((1+\alpha^2) E[y|z] - z)/\alpha^2$ (Moran et al., eq. 6).
    In the signal domain: $\hat x = f(z) + A^+ (A f(z) - z)/\alpha^2$ corrects the row-space
    part of $f(z)$ and keeps its null-space part (which a measurement-domain loss never sees).
    `sigma`: the noise level of $y$, if known: $A^+$ then drops the singular values below
    `noise_cutoff(sigma)` (on a Gaussian blur or sparse-view CT the exact $A^+$ blew the
    correction up to -11 to -13 dB PSNR in the imaging benchmark).
    """
    check.nonnegative("alpha", alpha, strict=True)
    x = model(op, z)
    correction = pinv_solve(op, op.mv(x) - z, rtol=noise_cutoff(sigma))
    return x + correction / jnp.asarray(alpha, x.dtype) ** 2


def _real_measurements(op: lx.AbstractLinearOperator, loss: str) -> None:
    check_operator(op)
    if is_complex(op):
        raise ValueError(
            f"{loss} assumes real Gaussian noise on real measurements; got an operator with "
            f"input {op.in_structure().dtype} and output {op.out_structure().dtype}."
        )


def sure_loss(
    model,
    op: lx.AbstractLinearOperator,
    y,
    *,
    key: PRNGKeyArray,
    sigma,
    eps=None,
    divergence: str = "mc",
) -> Float[Array, ""]:
    r"""Stein's unbiased risk estimate (SURE) of the measurement-domain error, Gaussian noise.

    With $y = Ax + \sigma\varepsilon$, $\varepsilon \sim \mathcal{N}(0, I_m)$ and
    $g(y) = A f(A, y)$, the loss is
    $$\tfrac1m\|g(y) - y\|^2 - \sigma^2 + \tfrac{2\sigma^2}{m}\,\mathrm{div}\,g(y),$$
    whose expectation over the noise is exactly $\frac1m E\|A f(A, y) - A x\|^2$ (Stein's
    lemma; the constant $\sigma^2$ is subtracted so that the loss itself is unbiased, it does
    not change the gradient). For denoising ($A = I$) this is the supervised MSE
    $\frac1n E\|f(y) - x\|^2$; otherwise it says nothing about $\ker A$.

    `divergence="mc"` (default) estimates $\mathrm{div}\,g$ with one probe
    $b \sim \mathcal{N}(0, I_m)$ and a finite difference (Ramani, Blu & Unser 2008):
    $b^\top(g(y + \epsilon b) - g(y))/\epsilon$, unbiased for any $\epsilon$ when $g$ is
    linear and with a bias $O(\epsilon)$ otherwise. `divergence="exact"` computes the trace of
    the Jacobian of $g$ with $m$ forward-mode products (for tests and small problems).

    Complex measurements (MRI) carry the library's circular noise, $\sigma(\varepsilon_1 +
    i\varepsilon_2)/\sqrt2$: $\sigma^2$ per complex entry, $\sigma^2/2$ on each real part. As
    a real vector of $2m$ coordinates the same lemma gives
    $$\tfrac1m\|g(y) - y\|^2 - \sigma^2 + \tfrac{\sigma^2}{m}\,\mathrm{div}_{\mathbb R}\,g(y),$$
    with $\mathrm{div}_{\mathbb R}$ the trace of the real $2m \times 2m$ Jacobian ($g$ need not
    be holomorphic); the probe is complex, $b = b_1 + i b_2$ with $b_1, b_2 \sim
    \mathcal{N}(0, I_m)$, and $\mathrm{Re}\,b^* (g(y + \epsilon b) - g(y))/\epsilon$ estimates
    it. Rows of $A$ that are zero (MRI's unsampled frequencies) add pure noise to
    $\|g(y) - y\|^2$, which the $-\sigma^2$ removes on average.

    **Arguments:** `sigma` (the known noise standard deviation, $\ge 0$), `key` (the probe),
    `eps` (default $\epsilon = 10^{-2}\sigma$: small against the noise, so the probe
    explores $f$ only where the noise already does, and relative to $\sigma$ instead of
    deepinv's fixed $10^{-2}$, which suits $y$ in $[0, 1]$ and $\sigma$ near 0.1 only; with
    float32 the rounding error of the difference, about $10^{-7}\|g\|/\epsilon$ per entry,
    stays far below $\sigma^2$ for $\sigma \gg 10^{-5}$). With $\sigma = 0$ the loss is
    measurement consistency.

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        y = op.mv(bj.sparse_signal(16, 3, key=jr.key(1))) + 0.1 * jr.normal(jr.key(2), (8,))
        model = bj.UnrolledShrinkage(16, num_iters=3, step=bj.default_step_size(op))
        loss = bj.sure_loss(model, op, y, key=jr.key(3), sigma=0.1)  # model(op, y, *, key=None)
        ```
    """
    check_operator(op)
    check.nonnegative("sigma", sigma)
    check.one_of("divergence", divergence, ("mc", "exact"))
    if eps is not None:
        check.nonnegative("eps", eps, strict=True)
    y = jnp.asarray(y)

    def g(v):
        return op.mv(model(op, v))

    return _sure(g, y, g(y), key=key, sigma=sigma, eps=eps, divergence=divergence)


def _sure(g, y, gy, *, key, sigma, eps=None, divergence="mc"):
    """`sure_loss` given $g$ and $g(y)$ (computed once by a caller that also needs it)."""
    cplx = jnp.iscomplexobj(y)
    real = jnp.finfo(y.dtype).dtype
    sigma = jnp.asarray(sigma, real)
    m = y.size
    if divergence == "exact":
        basis = jnp.eye(m, dtype=real).reshape(m, *y.shape)
        if cplx:  # the real and the imaginary direction of every entry
            basis = jnp.concatenate([basis, 1j * basis]).astype(y.dtype)
        columns = jax.vmap(lambda e: jax.jvp(g, (y,), (e,))[1])(basis)
        # the real Jacobian's diagonal: Re <e, J e> for each real direction e
        div = jnp.sum(jnp.real(jnp.conj(basis) * columns))
    else:
        step = 1e-2 * sigma if eps is None else jnp.asarray(eps, real)
        # sigma = 0 multiplies the divergence by 0: any finite step keeps the loss finite.
        step = jnp.where(step > 0, step, jnp.ones((), real))
        if cplx:
            k1, k2 = jr.split(key)
            b = (jr.normal(k1, y.shape, real) + 1j * jr.normal(k2, y.shape, real)).astype(y.dtype)
        else:
            b = jr.normal(key, y.shape, y.dtype)
        div = jnp.sum(jnp.real(jnp.conj(b) * (g(y + step * b) - gy))) / step
    # 2 sigma^2 / m per real coordinate's variance sigma^2; sigma^2 / m for complex entries,
    # each real part of which has variance sigma^2 / 2.
    weight = 1.0 if cplx else 2.0
    return jnp.mean(_abs2(gy - y)) - sigma**2 + weight * sigma**2 * div / m


def pure_loss(
    model, op: lx.AbstractLinearOperator, y, *, key: PRNGKeyArray, gain, eps=None
) -> Float[Array, ""]:
    r"""The Poisson unbiased risk estimate (PURE) of the measurement-domain error.

    With $y = \gamma\,\mathrm{Poisson}(Ax/\gamma)$ (`PoissonNoise(gain)`: mean $\mu = Ax$,
    variance $\gamma\mu$) and $g(y) = A f(A, y)$, the loss is
    $$	frac1m\|g(y) - y\|^2 - 	frac{\gamma}{m}	extstyle\sum_i y_i
    + 	frac{2\gamma}{m}\sum_i y_i\,\partial_i g_i(y),$$
    whose expectation is $rac1m E\|g(y) - \mu\|^2$ up to the error of replacing the
    difference $g_i(y) - g_i(y - \gamma e_i)$ of the exact identity ($E[\mu_i h(y)] =
    E[y_i h(y - \gamma e_i)]$ for Poisson counts) by $\gamma\,\partial_i g_i$ (Le Montagner et
    al. 2014; the form of robust EI, Chen et al. 2022, and of deepinv's `SurePoissonLoss`).
    The diagonal term is estimated with one Rademacher probe $b$ and a finite difference:
    $\sum_i y_i b_i (g(y + \epsilon b) - g(y))_i / \epsilon$. For denoising ($A = I$) it is
    the supervised MSE $rac1n E\|f(y) - x\|^2$ up to that approximation.

    **Arguments:** `gain` ($\gamma > 0$, known), `key` (the probe), `eps` (default
    $10^{-2}\gamma$, small against the noise of a count). Real measurements only.
    """
    _real_measurements(op, "pure_loss")
    check.nonnegative("gain", gain, strict=True)
    if eps is not None:
        check.nonnegative("eps", eps, strict=True)
    y = jnp.asarray(y)

    def g(v):
        return op.mv(model(op, v))

    return _pure(g, y, g(y), key=key, gain=gain, eps=eps)


def _pure(g, y, gy, *, key, gain, eps=None):
    """`pure_loss` given $g$ and $g(y)$."""
    gain = jnp.asarray(gain, y.dtype)
    step = 1e-2 * gain if eps is None else jnp.asarray(eps, y.dtype)
    b = jnp.where(jr.bernoulli(key, 0.5, y.shape), 1.0, -1.0).astype(y.dtype)
    div = jnp.sum(y * b * (g(y + step * b) - gy)) / step
    m = y.size
    return jnp.mean((gy - y) ** 2) - gain * jnp.sum(y) / m + 2 * gain * div / m


def rei_loss(
    model,
    op: lx.AbstractLinearOperator,
    y,
    transform,
    *,
    key: PRNGKeyArray,
    noise: AbstractNoise,
    weight=1.0,
    eps=None,
) -> Float[Array, ""]:
    r"""Robust Equivariant Imaging (Chen, Tachella & Davies, CVPR 2022): an unbiased estimate
    of the measurement-domain error in place of EI's consistency term, plus EI's
    equivariance term with the transformed reconstruction measured again with the noise.

    $x_1 = f(A, y)$; the loss is $R(y) + w\,rac1n\|x_3 - x_2\|^2$ with $x_2 = T_g x_1$,
    $x_3 = f(A, \mathcal N(A x_2))$ (as in `ei_loss` with `noise`) and $R$ = `sure_loss` for
    `GaussianNoise` (real or complex) or `pure_loss` for `PoissonNoise`. Consistency
    $rac1m\|A x_1 - y\|^2$ is minimised by fitting the noise (on denoising, $A = I$, by the
    identity); $R$ is minimised by the denoiser that is best in the measurement domain.

    **Arguments:** `noise` (the measurements' noise model, known: `GaussianNoise(sigma)` or
    `PoissonNoise(gain)`), `transform(x, *, key)` (the group, as in `ei_loss`), `weight`
    ($w \ge 0$), `eps` (the finite-difference step of the risk estimate; default as there).
    """
    check_operator(op)
    check.nonnegative("weight", weight)
    if not isinstance(noise, GaussianNoise | PoissonNoise):
        raise TypeError(
            f"rei_loss needs the noise model to estimate the risk: GaussianNoise or "
            f"PoissonNoise, got {noise!r}."
        )
    if eps is not None:
        check.nonnegative("eps", eps, strict=True)
    noise = jax.lax.stop_gradient(noise)  # known, not a parameter
    y = jnp.asarray(y)
    k_risk, k_eq = jr.split(key)

    def g(v):
        return op.mv(model(op, v))

    x1 = model(op, y)
    gy = op.mv(x1)
    if isinstance(noise, PoissonNoise):
        _real_measurements(op, "rei_loss with PoissonNoise")
        risk = _pure(g, y, gy, key=k_risk, gain=noise.gain, eps=eps)
    else:
        risk = _sure(g, y, gy, key=k_risk, sigma=noise.sigma, eps=eps)
    return risk + weight * _equivariance(model, op, x1, transform, key=k_eq, noise=noise)


def recorrupt(y, *, key: PRNGKeyArray, sigma, alpha=0.5):
    r"""The pair of Recorrupted-to-Recorrupted: $y_1 = y + \alpha z$, $y_2 = y - z/\alpha$,
    $z \sim \mathcal{N}(0, \sigma^2 I)$ (for complex $y$ circular, $\sigma^2$ per entry as
    `GaussianNoise`'s: `jax.random.normal` of a complex dtype).

    With $y = Ax + \sigma\varepsilon$, the noises of $y_1$ and $y_2$ are jointly Gaussian and
    uncorrelated (for circular complex noise, their pseudo-covariance is 0 as well), hence
    independent: variances $\sigma^2(1 + \alpha^2)$ and $\sigma^2(1 + 1/\alpha^2)$.
    **Returns:** `(y1, y2)`.
    """
    check.nonnegative("sigma", sigma)
    check.nonnegative("alpha", alpha, strict=True)
    y = jnp.asarray(y)
    z = jnp.asarray(sigma, y.dtype) * jr.normal(key, y.shape, y.dtype)
    a = jnp.asarray(alpha, y.dtype)
    return y + a * z, y - z / a


def r2r_loss(
    model, op: lx.AbstractLinearOperator, y, *, key: PRNGKeyArray, sigma, alpha=0.5
) -> Float[Array, ""]:
    r"""Recorrupted-to-Recorrupted (Pang et al., CVPR 2021): $\frac1m\|A f(A, y_1) - y_2\|^2$.

    $(y_1, y_2)$ = `recorrupt(y, key=key, sigma=sigma, alpha=alpha)`. As the noise of $y_2$ is
    independent of $y_1$ and has mean 0, the expectation is
    $\frac1m E\|A f(A, y_1) - Ax\|^2 + \sigma^2(1 + 1/\alpha^2)$: the supervised
    measurement-domain error of the model at the noisier input $y_1$ (noise
    $\sigma\sqrt{1+\alpha^2}$), plus a constant. Requires the noise level $\sigma$ of $y$
    (Gaussian, i.i.d. across rows; circular for complex measurements such as MRI's, where the
    loss is $\frac1m\sum_i |\cdot|^2$). At test time apply $f$ to recorrupted copies
    $y + \alpha z$, the inputs it was trained on (`R2R.output` averages several).

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        y = op.mv(bj.sparse_signal(16, 3, key=jr.key(1))) + 0.1 * jr.normal(jr.key(2), (8,))
        model = bj.UnrolledShrinkage(16, num_iters=3, step=bj.default_step_size(op))
        loss = bj.r2r_loss(model, op, y, key=jr.key(3), sigma=0.1)  # model(op, y, *, key=None)
        ```
    """
    check_operator(op)
    y1, y2 = recorrupt(y, key=key, sigma=sigma, alpha=alpha)
    return jnp.mean(_abs2(op.mv(model(op, y1)) - y2))
