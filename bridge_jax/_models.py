r"""Learned reconstructors on vectors (MLP, unrolled) and encoders, each acting on ONE signal.

The reconstructors are `AbstractReconstructor`s (see `_reconstructors.py`, which also holds
the convolutional ones for images): called as `model(op, y, *, key=None) -> x`, the same
convention as `UnrolledLandweber` and the losses in `_losses.py`, so a model trained with one
operator can be applied with another (a masked one for measurement splitting, a fresh one for
transfer). They are deterministic and ignore `key`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jax import lax
from jaxtyping import Array, Float, PRNGKeyArray

from . import _validate as check
from ._operators import adjoint
from ._reconstructors import AbstractReconstructor, measurement, scan_unroll


def _mlp(in_size: int, out_size: int, width: int, depth: int, key, *, zero_last=False):
    mlp = eqx.nn.MLP(in_size, out_size, width, depth, activation=jax.nn.gelu, key=key)
    if zero_last:
        last = mlp.layers[-1]
        mlp = eqx.tree_at(
            lambda m: (m.layers[-1].weight, m.layers[-1].bias),
            mlp,
            (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)),
        )
    return mlp


class MLPReconstructor(AbstractReconstructor):
    r"""$\hat x = \mathrm{MLP}(A^\top y)$: a learned map from the back-projection.

    Knows the physics only through $A^\top$; it must learn any inverse itself.

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        model = bj.MLPReconstructor(16, width=32, key=jr.key(1))
        x_hat = model(op, op.mv(jnp.ones(16)))  # an MLP on A^T y
        ```
    """

    mlp: eqx.nn.MLP

    def __init__(self, n: int, *, width: int = 128, depth: int = 2, key: PRNGKeyArray):
        n = check.positive_int("n", n)
        check.prng_key("key", key)
        self.mlp = _mlp(n, n, check.positive_int("width", width), depth, key)

    def __call__(
        self,
        op: lx.AbstractLinearOperator,
        y: Float[Array, " m"],
        *,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, " n"]:
        y = measurement("MLPReconstructor", op, y, self.mlp.in_size)
        u = adjoint(op).mv(y)
        return self.mlp(u.reshape(-1)).reshape(u.shape)


class UnrolledNet(AbstractReconstructor):
    r"""$T$ Landweber steps interleaved with a learned residual denoiser (shared weights):

    $x_{k+1} = z_k + D(z_k)$, $z_k = x_k + \tau_k A^\top(y - A x_k)$, $x_0 = 0$.

    The denoiser's last layer starts at zero, so the untrained model is plain Landweber with
    steps $\tau_k$ = `step`; the steps are learned on a log scale (they stay positive).

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        model = bj.UnrolledNet(16, num_iters=3, step=bj.default_step_size(op), key=jr.key(1))
        x_hat = model(op, op.mv(jnp.ones(16)))
        ```
    """

    log_steps: Float[Array, " T"]
    denoiser: eqx.nn.MLP

    def __init__(
        self,
        n: int,
        *,
        num_iters: int = 5,
        step=1.0,
        width: int = 64,
        depth: int = 2,
        key: PRNGKeyArray,
    ):
        n = check.positive_int("n", n)
        num_iters = check.positive_int("num_iters", num_iters)
        check.nonnegative("step", step, strict=True)
        check.prng_key("key", key)
        self.log_steps = jnp.full((num_iters,), jnp.log(jnp.asarray(step, float)))
        self.denoiser = _mlp(n, n, check.positive_int("width", width), depth, key, zero_last=True)

    def __call__(
        self,
        op: lx.AbstractLinearOperator,
        y: Float[Array, " m"],
        *,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, " n"]:
        y = measurement("UnrolledNet", op, y, self.denoiser.in_size)

        def body(x, log_tau):
            z = x + jnp.exp(log_tau) * adjoint(op).mv(y - op.mv(x))
            return z + self.denoiser(z.reshape(-1)).reshape(z.shape), None

        x0 = jnp.zeros(op.in_structure().shape, y.dtype)
        x, _ = lax.scan(body, x0, self.log_steps, unroll=scan_unroll(self.log_steps.shape[0]))
        return x


class UnrolledShrinkage(AbstractReconstructor):
    r"""ISTA unrolled with learned steps and thresholds (a LISTA-style network that keeps $A$):

    $x_{k+1} = \mathrm{soft}(x_k + \tau_k A^\top(y - A x_k),\ \tau_k \lambda_k)$, $x_0 = 0$.

    Its denoiser is the soft threshold, 2 parameters per iteration: the right inductive bias
    for sparse signals, and little to overfit with a few hundred training signals. The steps
    are $\tau_k = 2 s\,\mathrm{sigmoid}(\theta_k)$ with $s$ = `step` (e.g. $1/\|A\|^2$ of the
    full operator; not trained), so they stay inside ISTA's convergent range $(0, 2/\|A\|^2)$
    even when training sees a subsampled operator of smaller norm (SSDU, Noise2Self). They
    start at $\tau_k = s$; the thresholds $\lambda_k$ are learned on a log scale from
    `threshold`.

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        # learned ISTA: 10 iterations, thresholds and steps learnable
        model = bj.UnrolledShrinkage(16, num_iters=10, step=bj.default_step_size(op))
        x_hat = model(op, op.mv(bj.sparse_signal(16, 3, key=jr.key(1))))
        ```
    """

    step_logits: Float[Array, " T"]
    log_thresholds: Float[Array, " T"]
    step: Float[Array, ""]
    n: int = eqx.field(static=True)

    def __init__(self, n: int, *, num_iters: int = 10, step=1.0, threshold=0.05):
        self.n = check.positive_int("n", n)
        num_iters = check.positive_int("num_iters", num_iters)
        check.nonnegative("step", step, strict=True)
        check.nonnegative("threshold", threshold, strict=True)
        self.step = jnp.asarray(step, float)
        self.step_logits = jnp.zeros((num_iters,))
        self.log_thresholds = jnp.full((num_iters,), jnp.log(jnp.asarray(threshold, float)))

    @property
    def steps(self) -> Float[Array, " T"]:
        return 2 * lax.stop_gradient(self.step) * jax.nn.sigmoid(self.step_logits)

    def __call__(
        self,
        op: lx.AbstractLinearOperator,
        y: Float[Array, " m"],
        *,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, " n"]:
        y = measurement("UnrolledShrinkage", op, y, self.n)

        def body(x, params):
            tau, log_lam = params
            z = x + tau * adjoint(op).mv(y - op.mv(x))
            return jnp.sign(z) * jnp.maximum(jnp.abs(z) - tau * jnp.exp(log_lam), 0.0), None

        x0 = jnp.zeros(op.in_structure().shape, y.dtype)
        params = (self.steps.astype(y.dtype), self.log_thresholds)
        x, _ = lax.scan(body, x0, params, unroll=scan_unroll(self.log_thresholds.shape[0]))
        return x


class Encoder(eqx.Module):
    r"""An MLP encoder $e: \mathbb{R}^{n} \to \mathbb{R}^{d}$ for SSRL (one input vector).

    Example:
        ```python
        encoder = bj.Encoder(16, 4, width=32, key=jr.key(0))
        z = encoder(jnp.ones(16))  # a representation in R^4
        ```
    """

    mlp: eqx.nn.MLP

    def __init__(
        self, in_size: int, out_size: int, *, width: int = 128, depth: int = 2, key: PRNGKeyArray
    ):
        check.prng_key("key", key)
        self.mlp = _mlp(
            check.positive_int("in_size", in_size),
            check.positive_int("out_size", out_size),
            check.positive_int("width", width),
            depth,
            key,
        )

    @property
    def in_size(self) -> int:
        return self.mlp.in_size

    @property
    def out_size(self) -> int:
        return self.mlp.out_size

    def __call__(self, u: Float[Array, " n"]) -> Float[Array, " d"]:
        return self.mlp(u)
