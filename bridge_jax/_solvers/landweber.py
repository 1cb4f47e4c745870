r"""Landweber iteration $x_{k+1} = x_k + \tau_k A^\top (y - A x_k)$."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import lineax as lx
from jax import lax
from jaxtyping import Array, Float, Inexact

from .. import _validate as check
from .._linalg._core import operator_norm
from .._operators import (
    adjoint,
    check_input,
    check_operator,
    from_real,
    is_complex,
    real_matrix,
    to_real,
)


def default_step_size(op: lx.AbstractLinearOperator):
    r"""$1/\|A\|_2^2$: safe, since Landweber converges for $0 < \tau < 2/\|A\|_2^2$."""
    return 1.0 / operator_norm(check_operator(op)) ** 2


def sum_squares(r) -> Float[Array, ""]:
    r"""$\|r\|_2^2$ of a real or complex array."""
    return jnp.sum(r * r) if not jnp.iscomplexobj(r) else jnp.sum(jnp.abs(r) ** 2)


def measurement_loss(op: lx.AbstractLinearOperator, x, y):
    r"""$\tfrac12 \|y - A x\|_2^2$."""
    return 0.5 * sum_squares(y - op.mv(x))


def prepare(op, y, x0, step_size, num_steps: int, throw: bool = True, positive: bool = True):
    """Validate Landweber-style arguments in Python and return them as arrays. With `positive`
    the step sizes must be > 0 (checked now when concrete, at run time when traced and
    `throw`); a learned schedule (`UnrolledLandweber`) passes `positive=False`."""
    op = check_operator(op)
    num_steps = check.positive_int("num_steps", num_steps)
    y = check.finite("y", check_input(op, y, "y", output=True))
    # Iterate in the common float type of the data and the operator (a float64 operator with
    # float32 data iterates in float64); the iterate is real when the operator's input is.
    y = y.astype(jnp.result_type(y, op.out_structure().dtype, float))
    in_struct = op.in_structure()
    x_dtype = jnp.result_type(in_struct.dtype, jnp.finfo(y.dtype).dtype)
    if x0 is None:
        x0 = jnp.zeros(in_struct.shape, x_dtype)
    else:
        x0 = check.finite("x0", check_input(op, x0, "x0"))
    if step_size is None:
        step_size = default_step_size(op)
    elif positive:
        check.nonnegative("step_size", step_size, strict=True)
    steps = jnp.asarray(step_size, jnp.finfo(y.dtype).dtype)
    if steps.ndim == 0:
        steps = jnp.broadcast_to(steps, (num_steps,))
    elif steps.shape != (num_steps,):
        raise ValueError(
            f"step_size must be a scalar or have shape (num_steps,) = ({num_steps},), "
            f"got shape {steps.shape}."
        )
    # A traced step size is checked at run time (a concrete one was, above).
    if positive and throw and not check.is_concrete(steps):
        steps = eqx.error_if(steps, jnp.any(steps <= 0), "step_size must be > 0.")
    return y, x0.astype(x_dtype), steps


@eqx.filter_jit
def _landweber(op, y, x0, steps, throw: bool, unroll: int = 1):
    def step(x, tau):
        r = y - op.mv(x)
        # The adjoint is formed inside the loop body: XLA then folds a matrix transpose into
        # the product instead of materialising a transposed copy (same numbers as A^T y).
        return x + tau * adjoint(op).mv(r).astype(x.dtype), 0.5 * sum_squares(r)

    x, losses = lax.scan(step, x0, steps, unroll=unroll)
    losses = jnp.concatenate([losses, measurement_loss(op, x, y)[None]])
    if throw:
        # Inputs traced by a caller's jit are checked here (concrete ones were, in `prepare`).
        x = eqx.error_if(
            x,
            ~(jnp.all(jnp.isfinite(y)) & jnp.all(jnp.isfinite(x0))),
            "Landweber's input is not finite: y or x0 contains NaN or inf.",
        )
        # A convergent step never increases the residual; the slack absorbs rounding when
        # x0 already fits the data (losses[0] ~ 0).
        slack = 1e-3 * (losses[0] + 0.5 * sum_squares(y)) + jnp.finfo(y.dtype).tiny
        bad = ~jnp.isfinite(losses[-1]) | (losses[-1] > losses[0] + slack)
        x = eqx.error_if(
            x,
            bad,
            "Landweber diverged: the measurement loss grew over the iterations. Lower step_size "
            "(convergence needs 0 < step_size < 2/||A||^2; the default 1/||A||^2 is safe), or "
            "pass throw=False to get the iterates anyway.",
        )
    return x, losses


def landweber(
    op: lx.AbstractLinearOperator,
    y: Inexact[Array, "..."],
    *,
    x0: Inexact[Array, "..."] | None = None,
    step_size=None,
    num_steps: int,
    throw: bool = True,
) -> tuple[Inexact[Array, "..."], Float[Array, " num_steps+1"]]:
    r"""Landweber iteration for $\min_x \tfrac12\|y - Ax\|^2$, unrolled with `lax.scan`.

    $x_{k+1} = x_k + \tau_k A^* (y - A x_k)$ ($A^*$ the adjoint, `adjoint(op)`). From $x_0$ it
    converges (for $0 < \tau < 2/\|A\|^2$) to $A^+ y + P_{\ker A}\, x_0$: the minimum-norm
    solution plus the part of the initialisation that the measurements cannot see.

    **Arguments:**
    - `op`, `y`: any lineax operator (real or complex, on arrays of any shape) and one
      measurement of its output shape.
    - `x0`: initial iterate (default zeros).
    - `step_size`: a scalar, or one step per iteration (shape `(num_steps,)`); default
      $1/\|A\|_2^2$. An array, so a sweep over step sizes does not recompile, and the result
      is differentiable in it.
    - `num_steps`: number of iterations $T \geq 1$ (static).
    - `throw`: raise at run time if a traced input is not finite, a traced step size is not
      positive, or the loss is non-finite or grew from $x_0$ to $x_T$ (a step size too large).
      With `False` there is no run-time check: whatever was computed is returned, and the
      compiled program has no host callback (JAX's persistent compilation cache stores only
      programs without one). Concrete inputs are checked before tracing either way.

    **Returns:** `(x_T, losses)` with `losses[k]` $= \tfrac12\|y - A x_k\|^2$ for
    $k = 0, \dots, T$ (so `losses[0]` is the loss at `x0`, `losses[-1]` at `x_T`).

    **Many signals:** `jax.vmap` it over `y` (one operator: each iteration is then one matrix
    product for the whole batch). For tens of thousands of signals, `jax.lax.map(solve, ys,
    batch_size=B)` runs every iteration on one block of B signals before the next, with a
    smaller working set; blocks of several thousand signals can be faster on a CPU, small
    ones are not (measurements: the documentation's Performance page,
    `python -m benchmarks --only W2`).

    Example:
        ```python
        op = bj.GaussianSensing(64, 32, key=jr.key(0))
        y = op.mv(bj.sparse_signal(64, 8, key=jr.key(1)))
        x_hat, losses = bj.landweber(op, y, num_steps=100)  # step 1/||A||^2
        ys = jax.vmap(op.mv)(bj.sparse_signals(10, 64, 8, key=jr.key(2)))
        x_hats, _ = jax.vmap(lambda y: bj.landweber(op, y, num_steps=100))(ys)  # 10 signals
        ```
    """
    y, x0, steps = prepare(op, y, x0, step_size, num_steps, bool(throw))
    return _landweber(op, y, x0, steps, bool(throw))


@eqx.filter_jit
def _landweber_gram(gram, b, yy, x0, steps):
    def step(x, tau):
        gx = x @ gram  # G x, G symmetric; x first keeps a vmapped batch's axis first
        loss = 0.5 * (yy - 2 * jnp.dot(x, b) + jnp.dot(x, gx))
        return x + tau * (b - gx), loss

    x, losses = lax.scan(step, x0, steps)
    final = 0.5 * (yy - 2 * jnp.dot(x, b) + jnp.dot(x, x @ gram))
    return x, jnp.concatenate([losses, final[None]])


def landweber_gram(
    op: lx.AbstractLinearOperator,
    y: Inexact[Array, "..."],
    *,
    x0: Inexact[Array, "..."] | None = None,
    step_size=None,
    num_steps: int,
    gram: Float[Array, "n n"] | None = None,
) -> tuple[Inexact[Array, "..."], Float[Array, " num_steps+1"]]:
    r"""`landweber` on the normal equations: $x_{k+1} = x_k + \tau_k (A^\top y - G x_k)$.

    Same iterates as `landweber` (up to rounding) with $G = A^\top A$ formed once (pass
    `gram`, which must be symmetric, to reuse it; under `vmap` over `y` with one operator it
    is formed once anyway).
    Batched over signals, each iteration is ONE square GEMM ($N \times n$ by $n \times n$)
    instead of two skinny ones, which runs closer to the machine's GEMM peak. The losses
    $\tfrac12\|y - Ax_k\|^2$ are computed as $\tfrac12(\|y\|^2 - 2x^\top A^\top y + x^\top G x)$,
    which loses relative accuracy once the loss is below ~1e-6 of $\|y\|^2$ (float32).
    Dense: for small $n$; no divergence check. Returns `x_T` in the operator's input shape.

    A complex operator (a complex matrix, or one linear over the reals only such as MRI)
    iterates in the real coordinates of its input and output (`to_real`: real parts, then
    imaginary parts) with $G = R^\top R$ for its real matrix $R$ = `real_matrix(op)` ($q
    \times q$, $q$ = $n$ or $2n$: pass that as `gram`): the same iterates as `landweber`, whose
    adjoint is $R^\top$ in those coordinates.

    Example:
        ```python
        op = bj.GaussianSensing(64, 32, key=jr.key(0))
        y = op.mv(bj.sparse_signal(64, 8, key=jr.key(1)))
        x_hat, losses = bj.landweber_gram(op, y, num_steps=100)  # the same iterates as landweber
        ```
    """
    y, x0, steps = prepare(op, y, x0, step_size, num_steps)
    if is_complex(op):
        # Real coordinates: the adjoint of the real matrix is its transpose, for a complex
        # matrix and for an operator linear over the reals only alike.
        a = real_matrix(op)
        y_r, x0_r = to_real(y), to_real(x0)
        a = a.astype(y_r.dtype)
    elif jnp.iscomplexobj(y):
        raise ValueError(
            f"y is complex ({y.dtype}) but the operator's output is real "
            f"({op.out_structure().dtype}): pass the real data."
        )
    else:
        a = op.as_matrix().astype(y.dtype)
        y_r, x0_r = y.reshape(-1), x0.reshape(-1)
    q = a.shape[1]
    gram = a.T @ a if gram is None else check.shape("gram", gram, (q, q))
    x, losses = _landweber_gram(gram.astype(y_r.dtype), y_r @ a, jnp.dot(y_r, y_r), x0_r, steps)
    x = from_real(x, x0) if is_complex(op) else x.reshape(x0.shape)
    return x, losses
