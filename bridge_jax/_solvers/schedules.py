r"""Step-size schedules for Landweber from the spectrum of $A^\top A$.

For the non-zero spectrum in $[\lambda_{\min}, \lambda_{\max}]$ the error after $T$ steps is
$\prod_k (1 - \tau_k \lambda)$ applied to each eigencomponent. The best constant step
$2/(\lambda_{\max} + \lambda_{\min})$ minimises $\max_\lambda |1 - \tau\lambda|$; the Chebyshev
steps (reciprocals of the roots of the shifted Chebyshev polynomial of degree $T$) minimise
$\max_\lambda |\prod_k (1 - \tau_k\lambda)|$ over all $T$-step schedules.
"""

from __future__ import annotations

import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from .. import _validate as check
from .._operators import check_operator, field_matrix


def spectrum_bounds(op: lx.AbstractLinearOperator) -> tuple[Float[Array, ""], Float[Array, ""]]:
    r"""Smallest and largest non-zero eigenvalues of $A^* A$ (the squared extreme non-zero
    singular values), from the smaller of $A A^*$ and $A^* A$ of the dense matrix (the real
    matrix `real_matrix(op)` for an operator linear over the reals only, e.g. MRI).
    Eigenvalues at or below $\max(p, q)\,\varepsilon\,\lambda_{\max}$ ($p \times q$ the
    matrix) count as zero, so a rank-deficient operator (a `Mask`) gets its smallest non-zero
    one."""
    a = field_matrix(check_operator(op))
    ah = jnp.conj(a).T
    gram = a @ ah if a.shape[0] <= a.shape[1] else ah @ a
    lam = jnp.linalg.eigvalsh(gram)
    cutoff = max(a.shape) * jnp.finfo(lam.dtype).eps * lam[-1]
    return jnp.min(jnp.where(lam > cutoff, lam, lam[-1])), lam[-1]


def constant_best_step(lam_min, lam_max) -> Float[Array, ""]:
    r"""$2/(\lambda_{\max} + \lambda_{\min})$: contraction $(\kappa - 1)/(\kappa + 1)$ per step."""
    return 2.0 / (jnp.asarray(lam_max) + jnp.asarray(lam_min))


def chebyshev_steps(lam_min, lam_max, num_steps: int) -> Float[Array, " num_steps"]:
    r"""The Chebyshev schedule: optimal over $T$ steps for a spectrum in $[\lambda_{\min},
    \lambda_{\max}]$.

    $\tau_k = 1/r_k$ with $r_k = \tfrac{\lambda_{\max}+\lambda_{\min}}2 +
    \tfrac{\lambda_{\max}-\lambda_{\min}}2 \cos\tfrac{(2k+1)\pi}{2T}$, $k = 0..T-1$, the roots
    of the shifted Chebyshev polynomial (exact arithmetic; for large $T$ the order of the steps
    matters for rounding).
    """
    num_steps = check.positive_int("num_steps", num_steps)
    lam_min, lam_max = jnp.asarray(lam_min), jnp.asarray(lam_max)
    k = jnp.arange(num_steps)
    roots = 0.5 * (lam_max + lam_min) + 0.5 * (lam_max - lam_min) * jnp.cos(
        (2 * k + 1) * jnp.pi / (2 * num_steps)
    )
    return 1.0 / roots
