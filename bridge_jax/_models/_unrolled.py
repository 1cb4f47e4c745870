r"""Unrolled networks: a fixed number of iterations of a solver, with learned parts.

- `UnrolledLandweber`: Landweber with learnable step sizes (and, optionally, a learnable
  initialisation);
- `UnrolledNet`: unrolled gradient steps with a learned MLP correction (vectors);
- `UnrolledShrinkage`: learned ISTA (vectors);
- `UnrolledProximalGradient`: proximal-gradient steps with a learned `DnCNN` as the prox
  (MoDL-style, images); it calls only `op.mv` and `adjoint(op).mv`, so it runs with every
  imaging operator, and untrained it is plain gradient descent.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jax import lax
from jaxtyping import Array, Float, Inexact, PRNGKeyArray

from .. import _validate as check
from .._operators import adjoint
from .._solvers.landweber import _landweber, prepare
from .._solvers.landweber_closed_form import OperatorSVD, spectral_iterate
from ._base import AbstractReconstructor, _back_projection, measurement, scan_unroll
from ._convolutional import DnCNN
from ._vector import _mlp


class UnrolledLandweber(AbstractReconstructor):
    r"""$T$ Landweber steps $x_{k+1} = x_k + \tau_k A^\top(y - A x_k)$ from $x_0$, as a model.

    `steps` ($\tau_0..\tau_{T-1}$) and `x0` are array leaves: train them with
    `eqx.filter_grad` and optax. With `x0=None` the iteration starts from zero and the start is
    not learned. Call it as `model(op, y)` on one measurement; `vmap` it over signals and
    operators. The steps may be any real numbers: the plain iteration's condition
    $0 < \tau < 2/\|A\|^2$ is what makes Landweber converge, not what makes $T$ unrolled steps
    a valid network, and learned schedules do leave it (`landweber` itself still requires
    positive steps).

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        model = bj.UnrolledLandweber(jnp.full(10, bj.default_step_size(op)))  # 10 learnable steps
        x_hat = model(op, op.mv(jnp.ones(16)))
        ```
    """

    steps: Float[Array, " T"]
    x0: Float[Array, " n"] | None

    def __init__(self, steps, x0=None):
        steps = jnp.asarray(steps)
        if steps.ndim != 1 or steps.shape[0] < 1:
            raise ValueError(
                f"steps must be a 1-D array of length T >= 1, got shape {steps.shape}."
            )
        self.steps = steps
        self.x0 = None if x0 is None else check.shape("x0", x0, (None,))

    @classmethod
    def constant(cls, num_steps: int, step, *, n: int | None = None) -> UnrolledLandweber:
        """`num_steps` copies of `step`; with `n`, also a learnable zero initialisation."""
        num_steps = check.positive_int("num_steps", num_steps)
        check.nonnegative("step", step, strict=True)
        x0 = None if n is None else jnp.zeros(check.positive_int("n", n))
        return cls(jnp.full((num_steps,), step, dtype=jnp.result_type(float)), x0)

    @property
    def num_steps(self) -> int:
        return self.steps.shape[0]

    def __call__(
        self,
        op: lx.AbstractLinearOperator,
        y: Float[Array, " m"],
        *,
        key: PRNGKeyArray | None = None,
        svd: OperatorSVD | None = None,
    ) -> Float[Array, " n"]:
        """$x_T$ for one measurement `y`. With `svd=operator_svd(op)` (a real operator) the
        same iterate by the closed form of `landweber_spectral`: $O(Tn)$ per signal after one
        projection, equal to the iteration up to float rounding and differentiable in `steps`
        and `x0` alike; for training on many signals of one operator."""
        # Any real steps: a schedule learned by gradient descent may leave (0, 2/||A||^2), even
        # turn negative, and is still a valid network (`bridge-jax learn` trains such ones).
        y, x0, steps = prepare(
            op, y, self.x0, self.steps, self.num_steps, throw=False, positive=False
        )
        if svd is not None:
            return spectral_iterate(op, svd, y, x0, steps)[0]
        return _landweber(op, y, x0, steps, False, unroll=scan_unroll(self.num_steps))[0]


class UnrolledProximalGradient(AbstractReconstructor):
    r"""$K$ learned proximal-gradient steps (MoDL / unrolled PGD) on `(H, W)` images:

    $x_{k+1} = D_k\big(x_k - \tau_k A^*(A x_k - y)\big)$, $x_0 = A^* y$,

    with $D_k$ a `DnCNN` (one shared by all steps, or one per step with `shared=False`) and
    step sizes $\tau_k = e^{\theta_k}$ learned on a log scale (they stay positive), starting at
    `step`. Only `op.mv` and `adjoint(op).mv` are called: any operator on real images works.
    $x_0 = A^* y$ rather than 0 so that the first denoiser sees an image, not the first
    gradient step from zero. The denoisers' last convolution starts at zero, so the untrained
    network is exactly $K$ Landweber steps from $A^* y$ (`landweber(op, y, x0=adjoint(op).mv(y),
    step_size=step, num_steps=K)`); `step` should be below $2/\|A\|^2$ (1 suits masks, MRI
    and normalised blurs, whose norm is at most 1).

    Example:
        ```python
        model = bj.UnrolledProximalGradient(num_iters=3, depth=3, width=8, key=jr.key(0))
        op = bj.Blur.gaussian(1.0, shape=(16, 16))
        x_hat = model(op, op.mv(jnp.ones((16, 16))))  # calls only op and its adjoint
        ```
    """

    log_steps: Float[Array, " K"]
    denoiser: DnCNN
    shared: bool = eqx.field(static=True)

    def __init__(
        self,
        *,
        num_iters: int = 5,
        step=1.0,
        shared: bool = True,
        depth: int = 5,
        width: int = 32,
        key: PRNGKeyArray,
    ):
        num_iters = check.positive_int("num_iters", num_iters)
        check.nonnegative("step", step, strict=True)
        if not isinstance(shared, bool):
            raise TypeError(f"shared must be a bool, got {shared!r}.")
        check.prng_key("key", key)
        self.shared = shared
        self.log_steps = jnp.full((num_iters,), jnp.log(jnp.asarray(step, float)))
        if shared:
            self.denoiser = DnCNN(depth=depth, width=width, key=key)
        else:
            # One denoiser per step, stacked along a leading axis of every array (lax.scan
            # then compiles one step, not K).
            self.denoiser = eqx.filter_vmap(lambda k: DnCNN(depth=depth, width=width, key=k))(
                jr.split(key, num_iters)
            )

    @property
    def num_iters(self) -> int:
        return self.log_steps.shape[0]

    @property
    def steps(self) -> Float[Array, " K"]:
        return jnp.exp(self.log_steps)

    def __call__(
        self,
        op: lx.AbstractLinearOperator,
        y: Inexact[Array, "..."],
        *,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, "H W"]:
        u = _back_projection("UnrolledProximalGradient", op, y)
        params, static = eqx.partition(self.denoiser, eqx.is_array)
        a_star = adjoint(op)

        def body(x, step):
            log_tau, p = step
            z = x - jnp.exp(log_tau).astype(x.dtype) * a_star.mv(op.mv(x) - y)
            return eqx.combine(params if self.shared else p, static).denoise(z), None

        # Unrolled (`scan_unroll`): XLA:CPU runs convolutions inside a while loop ~8x slower
        # than the same convolutions in straight-line code (the benchmark's training step).
        xs = (self.log_steps, None if self.shared else params)
        x, _ = lax.scan(body, u, xs, unroll=scan_unroll(self.log_steps.shape[0]))
        return x


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
