r"""Landweber in closed form: a polynomial filter of $A^\top A$, from one SVD of $A$.

With $A = U \mathrm{diag}(s) V^\top$ (full $V$), every Landweber iterate acts on each right
singular direction separately. In the coordinates $c = V^\top x$ and $\tilde y = U^\top y$,
$c_{k+1} = (1 - \tau_k s^2) c_k + \tau_k s \tilde y$, and directions with $s = 0$ (the null space)
never move. So $T$ steps with any schedule cost $O(Tn)$ per signal after an $O(mn)$ projection,
instead of $O(Tmn)$: the whole convergence curve, for all iterates at once, for the price of one
decomposition of $A$ shared by every signal (`vmap` over $y$ with one operator computes it once).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import lineax as lx
from jax import lax
from jaxtyping import Array, Float

from .._operators import check_operator, field_matrix, from_real, is_real_linear, to_real
from .landweber import prepare


class OperatorSVD(eqx.Module):
    r"""The singular value decomposition of a linear operator's matrix (from `operator_svd`;
    not a solver, unlike `lineax.SVD`): $A = U \mathrm{diag}(s) V^\top$ with $U$ ($m \times r$),
    $s$ ($r$), $V$ ($n \times n$), $r = \min(m, n)$; the last $n - r$ columns of $V$ span (part
    of) $\ker A$. For an operator linear over the reals only (`is_real_linear`, e.g. MRI) it
    is the SVD of its real matrix `real_matrix(op)` ($m$, $n$ counted in real coordinates,
    `to_real`: real parts, then imaginary parts of a complex array)."""

    u: Float[Array, "m r"]
    s: Float[Array, " r"]
    v: Float[Array, "n n"]


def operator_svd(op: lx.AbstractLinearOperator, dtype=None) -> OperatorSVD:
    """The SVD of the operator's dense matrix on flattened arrays (computed once; reuse it for
    many signals), or of its real matrix for an operator linear over the reals only (its
    singular vectors in real coordinates: `from_real` turns a column of `v` into an input).
    Dense: for operators small enough to form."""
    a = field_matrix(check_operator(op))
    a = a if dtype is None else a.astype(dtype)
    u, s, vt = jnp.linalg.svd(a, full_matrices=True)
    r = s.shape[0]
    return OperatorSVD(u[:, :r], s, vt.T)


def _landweber_spectral(svd: OperatorSVD, y, x0, steps):
    r = svd.s.shape[0]
    n = svd.v.shape[0]
    s = jnp.zeros(n, y.dtype).at[:r].set(svd.s.astype(y.dtype))
    # Vector first in each product: under vmap over signals their axis stays first.
    y_t = y @ svd.u.astype(y.dtype)  # U^T y
    b = s * jnp.zeros(n, y.dtype).at[:r].set(y_t)  # V^T A^T y
    outside = jnp.sum(y * y) - jnp.sum(y_t * y_t)  # the part of y outside range(A)

    def loss(c):
        resid = y_t - svd.s.astype(y.dtype) * c[:r]
        return 0.5 * (jnp.maximum(outside, 0.0) + jnp.sum(resid * resid))

    def step(c, tau):
        return (1 - tau * s * s) * c + tau * b, loss(c)

    c0 = x0 @ svd.v.astype(y.dtype)  # V^T x0
    c, losses = lax.scan(step, c0, steps)
    return c @ svd.v.T.astype(y.dtype), jnp.concatenate([losses, loss(c)[None]])


def landweber_spectral(
    op: lx.AbstractLinearOperator,
    y: Float[Array, "..."],
    *,
    x0: Float[Array, "..."] | None = None,
    step_size=None,
    num_steps: int,
    svd: OperatorSVD | None = None,
    throw: bool = True,
) -> tuple[Float[Array, "..."], Float[Array, " num_steps+1"]]:
    r"""Exactly `landweber(op, y, ...)` (same arguments and returns), computed from the SVD.

    Pass `svd=operator_svd(op)` to reuse one decomposition across calls; under `vmap` over `y`
    with an unbatched `op`, the decomposition is computed once anyway. Differentiable in
    `step_size` and `x0`. Exact for linear operators only (the iterative `landweber` is the
    general path). There is no divergence check: with too large a step the returned losses
    grow, as the iterative path's would. A traced `step_size` is checked to be > 0 at run
    time (a host callback in the compiled program) unless `throw=False`: a caller that has
    checked it already gets a program without callbacks, which JAX's persistent compilation
    cache can save.

    Example:
        ```python
        op = bj.GaussianSensing(64, 32, key=jr.key(0))
        svd = bj.operator_svd(op)  # once per operator
        y = op.mv(bj.sparse_signal(64, 8, key=jr.key(1)))
        x_hat, losses = bj.landweber_spectral(op, y, num_steps=100, svd=svd)
        ```
    """
    y, x0, steps = prepare(op, y, x0, step_size, num_steps, throw=throw)
    return spectral_iterate(op, svd, y, x0, steps)


def spectral_iterate(op, svd, y, x0, steps):
    """Landweber from `x0` with `steps` (checked by `prepare`) by the closed form: `(x_T,
    losses)`, shaped as `x0`. `svd` is `operator_svd(op)` (checked here), or None to compute
    it."""
    real = is_real_linear(op)  # in the real coordinates of its real matrix
    if jnp.iscomplexobj(y) and not real:
        raise ValueError(
            "landweber_spectral is for real operators and operators linear over the reals "
            "only (MRI); use landweber or landweber_gram for a complex matrix."
        )
    x_struct = x0
    if real:
        y, x0 = to_real(y), to_real(x0)
    m, n = y.size, x0.size
    if svd is None:
        svd = operator_svd(op, y.dtype)
    elif not isinstance(svd, OperatorSVD):
        raise TypeError(
            f"svd must be an OperatorSVD from operator_svd(op), got {type(svd).__name__}."
        )
    elif svd.u.shape[0] != m or svd.v.shape[0] != n:
        raise ValueError(
            f"svd must be operator_svd(op) of this operator ({m} x {n} on flattened arrays"
            f"{', in real coordinates' if real else ''}), got the SVD of a {svd.u.shape[0]} x "
            f"{svd.v.shape[0]} matrix."
        )
    x, losses = _landweber_spectral(svd, y.reshape(-1), x0.reshape(-1), steps)
    x = from_real(x, x_struct) if real else x.reshape(x_struct.shape)
    return x, losses
