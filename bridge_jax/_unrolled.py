r"""Unrolled Landweber with learnable step sizes (and, optionally, a learnable initialisation)."""

from __future__ import annotations

import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float, PRNGKeyArray

from . import _validate as check
from ._reconstructors import AbstractReconstructor, scan_unroll
from ._solvers.landweber import _landweber, prepare
from ._solvers.landweber_closed_form import OperatorSVD, spectral_iterate


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
