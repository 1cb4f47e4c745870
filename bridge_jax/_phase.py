r"""Phase retrieval: the nonlinear forward model $y = |Ax|^2$ and amplitude flow.

The operator loses the global sign (real $A$) or phase (complex $A$) of $x$, so errors are
measured up to it (`relative_error`). Reconstruction minimises the amplitude loss
$f(x) = \frac{1}{2m}\sum_i (|a_i^* x| - \sqrt{y_i})^2$ by gradient descent (amplitude flow,
Wang, Giannakis & Eldar 2018) from a spectral, zero/random or any given initialisation. All
functions act on ONE signal; `vmap` them over signals and trials.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jax import lax
from jaxtyping import Array, Inexact, PRNGKeyArray

from . import _validate as check


class PhaseRetrieval(eqx.Module):
    r"""$x \mapsto |Ax|^2$ (elementwise), $A$ real or complex, $m \times n$."""

    matrix: Inexact[Array, "m n"]

    def __init__(self, matrix):
        matrix = jnp.asarray(matrix)
        if matrix.ndim != 2:
            raise ValueError(f"matrix must be 2-D (m, n), got shape {matrix.shape}.")
        self.matrix = matrix

    @classmethod
    def gaussian(cls, n: int, m: int, *, key: PRNGKeyArray, complex: bool = False):
        r"""Entries $\mathcal{N}(0, 1)$ (real) or $\mathcal{CN}(0, 1)$ (complex)."""
        n = check.positive_int("n", n)
        m = check.positive_int("m", m)
        check.prng_key("key", key)
        if not complex:
            return cls(jr.normal(key, (m, n)))
        kr, ki = jr.split(key)
        return cls((jr.normal(kr, (m, n)) + 1j * jr.normal(ki, (m, n))) / jnp.sqrt(2.0))

    @property
    def in_size(self) -> int:
        return self.matrix.shape[1]

    @property
    def out_size(self) -> int:
        return self.matrix.shape[0]

    @property
    def is_complex(self) -> bool:
        return jnp.iscomplexobj(self.matrix)

    def __call__(self, x):
        return jnp.abs(self.matrix @ x) ** 2


def amplitude_loss(op: PhaseRetrieval, x, y):
    r"""$\frac{1}{2m}\sum_i (|a_i^* x| - \sqrt{y_i})^2$ (negative $y_i$ from noise count as 0)."""
    return 0.5 * jnp.mean((jnp.abs(op.matrix @ x) - jnp.sqrt(jnp.maximum(y, 0.0))) ** 2)


def amplitude_gradient(op: PhaseRetrieval, x, y):
    r"""$\nabla f(x) = \frac1m A^*\big(Ax - \sqrt{y}\,\frac{Ax}{|Ax|}\big)$.

    For complex $A$ this is the Wirtinger gradient $\partial f / \partial \bar x$ times 2:
    $df = \mathrm{Re}\langle \nabla f, dx\rangle$, and descent along $-\nabla f$ decreases $f$.
    """
    z = op.matrix @ x
    mag = jnp.abs(z)
    phase = jnp.where(mag > 0, z / jnp.where(mag > 0, mag, 1.0), 0.0)
    r = z - jnp.sqrt(jnp.maximum(y, 0.0)) * phase
    return jnp.conj(op.matrix).T @ r / op.out_size


def spectral_init(op: PhaseRetrieval, y, *, num_iters: int = 100, key: PRNGKeyArray | None = None):
    r"""Leading eigenvector of $\frac1m\sum_i y_i a_i a_i^*$ (power iteration), scaled to
    $\sqrt{\mathrm{mean}(y)}$, the norm of $x$ for Gaussian $A$ (Candes et al. 2015)."""
    num_iters = check.positive_int("num_iters", num_iters)
    key = jr.key(0) if key is None else check.prng_key("key", key)
    a = op.matrix
    v = jr.normal(key, (op.in_size,)).astype(a.dtype)

    def body(v, _):
        w = jnp.conj(a).T @ (y * (a @ v)) / op.out_size
        return w / jnp.linalg.norm(w), None

    v, _ = lax.scan(body, v / jnp.linalg.norm(v), None, length=num_iters)
    return v * jnp.sqrt(jnp.maximum(jnp.mean(y), 0.0))


@eqx.filter_jit
def amplitude_flow(op: PhaseRetrieval, y, *, x0, step_size=0.6, num_steps: int = 500):
    r"""Gradient descent on `amplitude_loss` from `x0`: $x_{k+1} = x_k - \mu \nabla f(x_k)$.

    Returns `(x_T, losses)` with `losses[k]` the amplitude loss at $x_k$, $k = 0..T$.
    """
    num_steps = check.positive_int("num_steps", num_steps)
    check.nonnegative("step_size", step_size, strict=True)
    x0 = check.shape("x0", x0, (op.in_size,)).astype(
        jnp.result_type(op.matrix.dtype, jnp.asarray(x0).dtype)
    )

    def step(x, _):
        return x - step_size * amplitude_gradient(op, x, y), amplitude_loss(op, x, y)

    x, losses = lax.scan(step, x0, None, length=num_steps)
    return x, jnp.concatenate([losses, amplitude_loss(op, x, y)[None]])


def relative_error(x_hat, x):
    r"""$\min_\phi \|\hat x - e^{i\phi} x\| / \|x\|$: the error up to the global sign or phase."""
    x_hat, x = jnp.asarray(x_hat), jnp.asarray(x)
    inner = jnp.vdot(x, x_hat)  # x^* x_hat
    phase = jnp.where(jnp.abs(inner) > 0, inner / jnp.abs(inner), 1.0)
    return jnp.linalg.norm(x_hat - phase * x) / jnp.linalg.norm(x)
