r"""ISTA and FISTA for the lasso $\min_x \tfrac12\|y - Ax\|^2 + \lambda\|x\|_1$."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jax import lax

from .. import _validate as check
from .._operators import adjoint
from .landweber import prepare, sum_squares


def soft_threshold(x, threshold):
    r"""$\mathrm{sign}(x)\max(|x| - t, 0)$, the proximal map of $t\|\cdot\|_1$."""
    return jnp.sign(x) * jnp.maximum(jnp.abs(x) - threshold, 0.0)


def _objective(op, x, y, lam):
    return 0.5 * sum_squares(y - op.mv(x)) + lam * jnp.sum(jnp.abs(x))


@eqx.filter_jit
def _ista(op, y, x0, steps, lam, accelerated: bool):
    def grad_step(z, tau):
        return soft_threshold(z + tau * adjoint(op).mv(y - op.mv(z)), tau * lam)

    def ista_step(x, tau):
        return grad_step(x, tau), _objective(op, x, y, lam)

    def fista_step(carry, tau):
        x, z, t = carry
        x_new = grad_step(z, tau)
        t_new = 0.5 * (1 + jnp.sqrt(1 + 4 * t * t))
        z_new = x_new + ((t - 1) / t_new) * (x_new - x)
        return (x_new, z_new, t_new), _objective(op, x, y, lam)

    if accelerated:
        (x, _, _), objs = lax.scan(fista_step, (x0, x0, jnp.ones((), x0.dtype)), steps)
    else:
        x, objs = lax.scan(ista_step, x0, steps)
    return x, jnp.concatenate([objs, _objective(op, x, y, lam)[None]])


def _run(op, y, lam, x0, step_size, num_steps, accelerated):
    y, x0, steps = prepare(op, y, x0, step_size, num_steps)
    check.nonnegative("lam", lam)
    if jnp.iscomplexobj(x0):
        raise ValueError(
            "ista and fista need a real signal (a real soft threshold); the operator's input "
            "is complex."
        )
    return _ista(op, y, x0, steps, jnp.asarray(lam, x0.dtype), accelerated)


def ista(op, y, *, lam, x0=None, step_size=None, num_steps: int):
    r"""ISTA: $x_{k+1} = \mathrm{soft}(x_k + \tau A^\top(y - Ax_k),\ \tau\lambda)$.

    Converges for $0 < \tau \leq 1/\|A\|^2$ (the default). Returns `(x_T, objectives)` with
    `objectives[k]` the lasso objective at $x_k$, $k = 0..T$ (non-increasing).

    Example:
        ```python
        op = bj.GaussianSensing(64, 32, key=jr.key(0))
        y = op.mv(bj.sparse_signal(64, 4, key=jr.key(1)))
        x_hat = bj.ista(op, y, lam=0.01, num_steps=200)
        ```
    """
    return _run(op, y, lam, x0, step_size, num_steps, accelerated=False)


def fista(op, y, *, lam, x0=None, step_size=None, num_steps: int):
    r"""FISTA (Beck & Teboulle, 2009): ISTA with Nesterov momentum, $O(1/k^2)$ objective decay.

    Same arguments and returns as `ista` (`objectives[k]` at the k-th main iterate; FISTA's
    objective is not monotone).

    Example:
        ```python
        op = bj.GaussianSensing(64, 32, key=jr.key(0))
        y = op.mv(bj.sparse_signal(64, 4, key=jr.key(1)))
        x_hat = bj.fista(op, y, lam=0.01, num_steps=200)
        ```
    """
    return _run(op, y, lam, x0, step_size, num_steps, accelerated=True)
