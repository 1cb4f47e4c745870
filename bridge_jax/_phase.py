r"""Phase retrieval: the nonlinear forward model $y = |Ax|^2$ and amplitude flow.

The operator loses the global sign (real $A$) or phase (complex $A$) of $x$, so errors are
measured up to it (`relative_error`). Reconstruction minimises the amplitude loss
$f(x) = \frac{1}{2m}\sum_i (|a_i^* x| - \sqrt{y_i})^2$ by gradient descent (amplitude flow,
Wang, Giannakis & Eldar 2018) from a spectral, zero/random or any given initialisation. All
functions act on ONE signal (a vector, or an image for an operator on images, e.g.
`PhaseRetrieval.coded_diffraction`); `vmap` them over signals and trials.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jax import lax
from jaxtyping import PRNGKeyArray

from . import _validate as check
from ._operators import MatrixOperator, adjoint, check_operator, is_complex


def _forward(op, x):
    """$Ax$. A matrix model keeps the plain products (the phase study's published arithmetic)."""
    if isinstance(op.operator, MatrixOperator):
        return op.operator.matrix @ x
    return op.operator.mv(x)


def _backward(op, r):
    """$A^* r$ (the conjugate transpose); plain products for a matrix model, as `_forward`."""
    if isinstance(op.operator, MatrixOperator):
        return jnp.conj(op.operator.matrix).T @ r
    return adjoint(op.operator).mv(r)


def _dtype(op) -> jnp.dtype:
    """The iterates' dtype: complex for a complex matrix model, else the input's."""
    if isinstance(op.operator, MatrixOperator):
        return op.operator.matrix.dtype
    return op.operator.in_structure().dtype


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

        def forward(x):
            return jnp.fft.fft2(masks * x, norm="ortho")

        return cls(lx.FunctionLinearOperator(forward, jax.ShapeDtypeStruct(shape, real)))

    @property
    def matrix(self):
        """The operator as a matrix (the stored one for a matrix model)."""
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
        return jnp.abs(_forward(self, check.shape("x", x, self.in_shape))) ** 2

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.operator.out_structure().shape


def amplitude_loss(op: PhaseRetrieval, x, y):
    r"""$\frac{1}{2m}\sum_i (|a_i^* x| - \sqrt{y_i})^2$ (negative $y_i$ from noise count as 0)."""
    return 0.5 * jnp.mean((jnp.abs(_forward(op, x)) - jnp.sqrt(jnp.maximum(y, 0.0))) ** 2)


def amplitude_gradient(op: PhaseRetrieval, x, y):
    r"""$\nabla f(x) = \frac1m A^*\big(Ax - \sqrt{y}\,\frac{Ax}{|Ax|}\big)$.

    For complex $A$ this is the Wirtinger gradient $\partial f / \partial \bar x$ times 2:
    $df = \mathrm{Re}\langle \nabla f, dx\rangle$, and descent along $-\nabla f$ decreases $f$.
    """
    z = _forward(op, x)
    mag = jnp.abs(z)
    phase = jnp.where(mag > 0, z / jnp.where(mag > 0, mag, 1.0), 0.0)
    r = z - jnp.sqrt(jnp.maximum(y, 0.0)) * phase
    return _backward(op, r) / op.out_size


def spectral_init(op: PhaseRetrieval, y, *, num_iters: int = 100, key: PRNGKeyArray | None = None):
    r"""Leading eigenvector of $\frac1m\sum_i y_i a_i a_i^*$ (power iteration), scaled to
    $\sqrt{\mathrm{mean}(y)}$, the norm of $x$ for Gaussian $A$ (Candes et al. 2015)."""
    num_iters = check.positive_int("num_iters", num_iters)
    y = check.shape("y", y, op.out_shape)
    key = jr.key(0) if key is None else check.prng_key("key", key)
    v = jr.normal(key, op.in_shape).astype(_dtype(op))

    def body(v, _):
        w = _backward(op, y * _forward(op, v)) / op.out_size
        return w / jnp.linalg.norm(w), None

    v, _ = lax.scan(body, v / jnp.linalg.norm(v), None, length=num_iters)
    return v * jnp.sqrt(jnp.maximum(jnp.mean(y), 0.0))


def amplitude_flow(op: PhaseRetrieval, y, *, x0, step_size=0.6, num_steps: int = 500):
    r"""Gradient descent on `amplitude_loss` from `x0`: $x_{k+1} = x_k - \mu \nabla f(x_k)$.

    Returns `(x_T, losses)` with `losses[k]` the amplitude loss at $x_k$, $k = 0..T$.
    """
    num_steps = check.positive_int("num_steps", num_steps)
    check.nonnegative("step_size", step_size, strict=True)
    y = check.shape("y", y, op.out_shape)
    x0 = check.shape("x0", x0, op.in_shape).astype(
        jnp.result_type(_dtype(op), jnp.asarray(x0).dtype)
    )
    # A step size traced by a caller's jit is checked at run time; a concrete one was checked
    # above, and then the program has no host callback (JAX's persistent cache needs that).
    return _amplitude_flow(op, y, x0, step_size, num_steps, not check.is_concrete(step_size))


@eqx.filter_jit
def _amplitude_flow(op, y, x0, step_size, num_steps, check_step: bool):
    def step(x, _):
        return x - step_size * amplitude_gradient(op, x, y), amplitude_loss(op, x, y)

    if check_step:
        x0 = eqx.error_if(x0, jnp.asarray(step_size) <= 0, "step_size must be > 0.")
    x, losses = lax.scan(step, x0, None, length=num_steps)
    return x, jnp.concatenate([losses, amplitude_loss(op, x, y)[None]])


def relative_error(x_hat, x):
    r"""$\min_\phi \|\hat x - e^{i\phi} x\| / \|x\|$: the error up to the global sign or phase."""
    x_hat, x = jnp.asarray(x_hat), jnp.asarray(x)
    if x_hat.shape != x.shape:
        raise ValueError(f"x_hat and x must have the same shape, got {x_hat.shape} and {x.shape}.")
    inner = jnp.vdot(x, x_hat)  # x^* x_hat
    phase = jnp.where(jnp.abs(inner) > 0, inner / jnp.abs(inner), 1.0)
    return jnp.linalg.norm(x_hat - phase * x) / jnp.linalg.norm(x)
