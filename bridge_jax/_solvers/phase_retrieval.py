r"""Phase retrieval: the nonlinear forward model $y = |Ax|^2$ and amplitude flow.

The operator loses the global sign (real $A$) or phase (complex $A$) of $x$, so errors are
measured up to it (`relative_error`). Reconstruction minimises the amplitude loss
$f(x) = \frac{1}{2m}\sum_i (|a_i^* x| - \sqrt{y_i})^2$ by gradient descent (amplitude flow,
Wang, Giannakis & Eldar 2018) from a spectral, zero/random or any given initialisation. All
functions act on ONE signal (a vector, or an image for an operator on images, e.g.
`PhaseRetrieval.coded_diffraction`); `vmap` them over signals and trials.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jax import lax
from jaxtyping import PRNGKeyArray

from .. import _validate as check
from .._operators import (
    CodedDiffraction,
    MatrixOperator,
    adjoint,
    check_operator,
    is_complex,
    is_real_linear,
)


def _vector_matrix(op):
    """The matrix of a matrix model on vectors (`PhaseRetrieval(matrix)`), else None."""
    a = op.operator
    if isinstance(a, MatrixOperator) and (a.out_shape, a.in_shape) == (
        a.matrix.shape[:1],
        a.matrix.shape[1:],
    ):
        return a.matrix
    return None


def _dtype(op) -> jnp.dtype:
    """The iterates' dtype: complex for a complex matrix model, else the input's."""
    if isinstance(op.operator, MatrixOperator):
        return op.operator.matrix.dtype
    return op.operator.in_structure().dtype


class _Loop(NamedTuple):
    """How the functions below represent one signal for their products: `pack` and `unpack`
    to and from the representation, `forward` ($Ax$), `backward` ($A^* r$) and `modulus`
    ($|z|$ elementwise) on it."""

    pack: Callable
    unpack: Callable
    forward: Callable
    backward: Callable
    modulus: Callable


def _loop(op) -> _Loop:
    r"""The signal itself, or for a complex $m \times n$ matrix model a real pair
    $(\mathrm{Re}\,x, \mathrm{Im}\,x)$ of shape (2, n) with real products only: with
    $C = [\mathrm{Re}A; \mathrm{Im}A]$ ($2m \times n$), one product $[x_r; x_i] C^\top$ gives
    the four real products $\mathrm{Re}A\,x_r$, $\mathrm{Im}A\,x_r$, $\mathrm{Re}A\,x_i$,
    $\mathrm{Im}A\,x_i$ that make up $Ax$, and one $[[r_r, r_i]; [r_i, -r_r]] C$ gives
    $A^* r$. The same sums as the complex products in another order; on the 2-core CPU the
    phase study's flows run 1.06-2.8x faster than with complex products (m = 512-128,
    n = 64; `python -m benchmarks.phase_flow`). The modulus has a zero derivative where it is
    zero (as `jnp.abs` of a complex number), so gradients through a zero row stay finite."""
    a = _vector_matrix(op)
    if a is None or not jnp.iscomplexobj(a):
        same = lambda x: x  # noqa: E731
        return _Loop(same, same, op.operator.mv, adjoint(op.operator).mv, jnp.abs)
    m = a.shape[0]
    c = jnp.concatenate([a.real, a.imag])

    def forward(x):
        u = x @ c.T  # (2, 2m): rows x_r, x_i against Re A, Im A
        return jnp.stack([u[0, :m] - u[1, m:], u[1, :m] + u[0, m:]])

    def backward(r):
        return jnp.stack([jnp.concatenate([r[0], r[1]]), jnp.concatenate([r[1], -r[0]])]) @ c

    return _Loop(
        pack=lambda x: jnp.stack([jnp.real(x), jnp.imag(x)]),
        unpack=lambda x: lax.complex(x[0], x[1]),
        forward=forward,
        backward=backward,
        modulus=_pair_modulus,
    )


def _pair_modulus(z):
    r"""$|z|$ of a real pair (2, m), with derivative 0 where $z = 0$ (not $\sqrt{0}$'s NaN)."""
    s = jnp.sum(z * z, axis=0)
    return jnp.where(s > 0, jnp.sqrt(jnp.where(s > 0, s, 1.0)), 0.0)


def _residual(loop: _Loop, z, sqrt_y):
    r"""$r = z - \sqrt{y}\, z/|z|$ ($r = z$ where $z = 0$) and the amplitude loss at $z$."""
    mag = loop.modulus(z)
    shrink = 1.0 - sqrt_y * jnp.where(mag > 0, 1.0 / jnp.where(mag > 0, mag, 1.0), 0.0)
    return z * shrink, 0.5 * jnp.mean((mag - sqrt_y) ** 2)


class PhaseRetrieval(eqx.Module):
    r"""$x \mapsto |Ax|^2$ (elementwise) for a linear operator $A$ on signals of any shape.

    `PhaseRetrieval(a)` takes an $m \times n$ matrix (real or complex; signals are vectors) or
    any lineax operator, e.g. on `(H, W)` images (`coded_diffraction`). `gaussian(n, m)` draws
    the Gaussian model of the phase study.
    """

    operator: lx.AbstractLinearOperator

    def __init__(self, operator):
        if not isinstance(operator, lx.AbstractLinearOperator):
            matrix = jnp.asarray(operator)
            if matrix.ndim != 2:
                raise ValueError(
                    f"PhaseRetrieval takes a 2-D (m, n) matrix or a lineax operator, got an "
                    f"array of shape {matrix.shape}."
                )
            operator = MatrixOperator(matrix)
        self.operator = check_operator(operator)

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

    @classmethod
    def coded_diffraction(cls, shape, num_patterns: int, *, key: PRNGKeyArray, dtype=None):
        r"""Coded diffraction patterns on real images (Candes, Li & Soltanolkotabi 2015):
        $y_l = |F(d_l \odot x)|^2$, $l = 1..L$, with $F$ the orthonormal 2-D DFT and $d_l$
        random phase masks $e^{i\theta}$, $\theta \sim U[0, 2\pi)$. $m = L H W$ measurements
        of `shape = (H, W)` images; output shape `(L, H, W)`. Here $A^*A = L I$, so
        $\frac1m A^*A = I / (HW)$: run `amplitude_flow` with `step_size` about `0.6 * H * W`
        (the default 0.6 suits the Gaussian model, whose $\frac1m A^*A \approx I$)."""
        if (
            not isinstance(shape, tuple)
            or len(shape) != 2
            or not all(isinstance(s, int) and s >= 1 for s in shape)
        ):
            raise ValueError(f"shape must be (H, W) with H, W >= 1, got {shape!r}.")
        num_patterns = check.positive_int("num_patterns", num_patterns)
        check.prng_key("key", key)
        real = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
        theta = jr.uniform(key, (num_patterns, *shape), real, 0.0, 2 * jnp.pi)
        masks = jnp.exp(1j * theta.astype(jnp.result_type(real, jnp.complex64)))
        return cls(CodedDiffraction(masks, jnp.dtype(real)))

    @property
    def matrix(self):
        """The operator as a matrix (the stored one for a matrix model). An operator that is
        linear over the reals only (`coded_diffraction`: real images, complex fields) has no
        such matrix: a `ValueError` (its real matrix is `real_matrix(pr.operator)`)."""
        if is_real_linear(self.operator):
            i, o = (
                jnp.dtype(s.dtype).name
                for s in (self.operator.in_structure(), self.operator.out_structure())
            )
            raise ValueError(
                f"PhaseRetrieval.matrix: the operator ({type(self.operator).__name__}, {i} to "
                f"{o} arrays) is linear over the reals only and has no matrix; use "
                "bridge_jax.real_matrix(pr.operator) (rows: real, then imaginary parts of A x)."
            )
        return self.operator.as_matrix()

    @property
    def in_size(self) -> int:
        return self.operator.in_size()

    @property
    def out_size(self) -> int:
        return self.operator.out_size()

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self.operator.in_structure().shape

    @property
    def is_complex(self) -> bool:
        return is_complex(self.operator)

    def __call__(self, x):
        return jnp.abs(self.operator.mv(check.shape("x", x, self.in_shape))) ** 2

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.operator.out_structure().shape


def amplitude_loss(op: PhaseRetrieval, x, y):
    r"""$\frac{1}{2m}\sum_i (|a_i^* x| - \sqrt{y_i})^2$ (negative $y_i$ from noise count as 0)."""
    loop = _loop(op)
    return _residual(loop, loop.forward(loop.pack(x)), jnp.sqrt(jnp.maximum(y, 0.0)))[1]


def amplitude_gradient(op: PhaseRetrieval, x, y):
    r"""$\nabla f(x) = \frac1m A^*\big(Ax - \sqrt{y}\,\frac{Ax}{|Ax|}\big)$.

    For complex $A$ this is the Wirtinger gradient $\partial f / \partial \bar x$ times 2:
    $df = \mathrm{Re}\langle \nabla f, dx\rangle$, and descent along $-\nabla f$ decreases $f$.
    """
    loop = _loop(op)
    sqrt_y = jnp.sqrt(jnp.maximum(y, 0.0))
    return loop.unpack(_gradient_and_loss(op, loop, loop.pack(x), sqrt_y)[0])


def _gradient_and_loss(op, loop: _Loop, x, sqrt_y):
    r"""The amplitude gradient and loss at `x` in the loop's representation; `sqrt_y` is
    $\sqrt{\max(y, 0)}$."""
    r, loss = _residual(loop, loop.forward(x), sqrt_y)
    return loop.backward(r) / op.out_size, loss


def spectral_init(op: PhaseRetrieval, y, *, num_iters: int = 100, key: PRNGKeyArray | None = None):
    r"""Leading eigenvector of $\frac1m\sum_i y_i a_i a_i^*$ (power iteration), scaled to
    $\sqrt{\mathrm{mean}(y)}$, the norm of $x$ for Gaussian $A$ (Candes et al. 2015).

    Example:
        ```python
        model = bj.PhaseRetrieval.gaussian(16, 96, key=jr.key(0))
        y = model(bj.sparse_signal(16, 3, key=jr.key(1)))
        x0 = bj.spectral_init(model, y)  # leading eigenvector, scaled to sqrt(mean y)
        ```
    """
    num_iters = check.positive_int("num_iters", num_iters)
    y = check.shape("y", y, op.out_shape)
    key = jr.key(0) if key is None else check.prng_key("key", key)
    loop = _loop(op)
    v = loop.pack(jr.normal(key, op.in_shape).astype(_dtype(op)))

    def body(v, _):
        w = loop.backward(y * loop.forward(v)) / op.out_size
        return w / jnp.linalg.norm(w), None

    v, _ = lax.scan(body, v / jnp.linalg.norm(v), None, length=num_iters)
    return loop.unpack(v) * jnp.sqrt(jnp.maximum(jnp.mean(y), 0.0))


def amplitude_flow(
    op: PhaseRetrieval, y, *, x0, step_size=0.6, num_steps: int = 500, tol: float | None = None
):
    r"""Gradient descent on `amplitude_loss` from `x0`: $x_{k+1} = x_k - \mu \nabla f(x_k)$.

    With `tol`, it stops early, after the first step with
    $\|x_{k+1} - x_k\| \le \mathrm{tol}\,\|x_{k+1}\|$ (the iterate has stopped moving;
    `tol` about 1e-7 is float32's rounding), and at most `num_steps` steps; without, it runs
    all of them. Under `vmap` the loop runs until every signal has stopped, but the iterates
    of those that stopped stay where they stopped. With `tol` the loop is a while loop:
    forward-mode derivatives only (`jax.jvp`), not `jax.grad`.

    Returns `(x_T, losses)` with `losses[k]` the amplitude loss at $x_k$, $k = 0..T$
    (`num_steps + 1` of them: after an early stop at step $k$, `losses[j]` for $j > k$ repeat
    the loss at $x_k$).

    Example:
        ```python
        model = bj.PhaseRetrieval.gaussian(16, 96, key=jr.key(0))
        x = bj.sparse_signal(16, 3, key=jr.key(1))
        y = model(x)  # |Ax|^2
        x_hat, losses = bj.amplitude_flow(model, y, x0=bj.spectral_init(model, y), num_steps=300)
        error = bj.relative_error(x_hat, x)  # up to a global sign
        ```
    """
    num_steps = check.positive_int("num_steps", num_steps)
    check.nonnegative("step_size", step_size, strict=True)
    if tol is not None:
        tol = check.nonnegative("tol", tol)
    y = check.shape("y", y, op.out_shape)
    x0 = check.shape("x0", x0, op.in_shape).astype(
        jnp.result_type(_dtype(op), jnp.asarray(x0).dtype)
    )
    # A step size traced by a caller's jit is checked at run time; a concrete one was checked
    # above, and then the program has no host callback (JAX's persistent cache needs that).
    return _amplitude_flow(op, y, x0, step_size, num_steps, tol, not check.is_concrete(step_size))


@eqx.filter_jit
def _amplitude_flow(op, y, x0, step_size, num_steps, tol, check_step: bool):
    if check_step:
        x0 = eqx.error_if(x0, jnp.asarray(step_size) <= 0, "step_size must be > 0.")
    loop = _loop(op)
    sqrt_y = jnp.sqrt(jnp.maximum(y, 0.0))

    if tol is None:

        def step(x, _):
            gradient, loss = _gradient_and_loss(op, loop, x, sqrt_y)
            return x - step_size * gradient, loss

        x, losses = lax.scan(step, loop.pack(x0), None, length=num_steps)
        final_loss = _gradient_and_loss(op, loop, x, sqrt_y)[1]
        return loop.unpack(x), jnp.concatenate([losses, final_loss[None]])

    def moving(state):
        k, _, _, stopped = state
        return (k < num_steps) & ~stopped

    def body(state):
        k, x, losses, _ = state
        gradient, loss = _gradient_and_loss(op, loop, x, sqrt_y)
        new = x - step_size * gradient
        stopped = jnp.linalg.norm(new - x) <= tol * jnp.linalg.norm(new)
        return k + 1, new, losses.at[k].set(loss), stopped

    x = loop.pack(x0)
    losses = jnp.zeros(num_steps + 1, jnp.real(x).dtype)
    k, x, losses, _ = lax.while_loop(moving, body, (0, x, losses, False))
    final_loss = _gradient_and_loss(op, loop, x, sqrt_y)[1]
    return loop.unpack(x), jnp.where(jnp.arange(num_steps + 1) >= k, final_loss, losses)


def relative_error(x_hat, x):
    r"""$\min_\phi \|\hat x - e^{i\phi} x\| / \|x\|$: the error up to the global sign or phase."""
    x_hat, x = jnp.asarray(x_hat), jnp.asarray(x)
    if x_hat.shape != x.shape:
        raise ValueError(f"x_hat and x must have the same shape, got {x_hat.shape} and {x.shape}.")
    inner = jnp.vdot(x, x_hat)  # x^* x_hat
    phase = jnp.where(jnp.abs(inner) > 0, inner / jnp.abs(inner), 1.0)
    return jnp.linalg.norm(x_hat - phase * x) / jnp.linalg.norm(x)
