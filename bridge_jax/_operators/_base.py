r"""The operator core: every operator is a `lineax.AbstractLinearOperator`.

A bridge_jax operator maps arrays of any shape to arrays of any shape (a vector, an `(H, W)`
image, complex k-space), described by `in_structure()` / `out_structure()` as in lineax. Every
solver and analysis tool of bridge_jax accepts ANY lineax operator (a user's
`lineax.FunctionLinearOperator` included).

bridge_jax's own operators derive from `AbstractOperator`, which adds one thing to lineax's
base class: `mv` checks the input's shape and raises a `ValueError` naming the expected
structure (instead of an error from deep inside XLA), then calls the subclass's `_apply`.
An operator known only by its action derives from `AbstractMatrixFreeOperator`, which
supplies its transpose (`jax.linear_transpose` of `_apply`) and its matrix (the operator
applied to the basis arrays). lineax's structural queries (`lineax.is_symmetric`,
`lineax.diagonal`, `lineax.conj`, ...) are answered here once for all subclasses; a subclass
with structure (a mask is diagonal) registers its own answers.

**Fields.** An operator is linear over the field its structures declare. Between real arrays,
or between complex arrays by a complex matrix, it has an $m \times n$ matrix (`as_matrix()`,
`dense_matrix`). An operator from real to complex arrays (MRI: an image to k-space), from
complex to real arrays (its adjoint), or built from such a map (`is_real_linear`) is linear
over the reals only: its inner products are the real ones $\mathrm{Re}\langle u, v\rangle$
(the real and imaginary parts of a complex array are separate coordinates), and its matrix is
the real matrix of those coordinates (`real_matrix`). It has no complex matrix: its
`as_matrix()` raises (lineax's dense solvers would solve the complex-linear problem and
silently drop the imaginary part of the solution); `pinv_solve` solves its least squares.
lineax's matrix-free `lineax.LSMR` called directly on it (`lineax.linear_solve(op, y,
lineax.LSMR(...))`) fails inside lineax with a dtype error (a loop carry, a `cond` or the
operator's function given complex where it expects real, or back): LSMR computes in one
dtype, the common type of the data and the unknowns, and lineax offers no hook to change or
intercept that. `pinv_solve(op, y, solver=lineax.LSMR(...))` runs LSMR over the real
coordinates instead.

**Transpose and adjoint.** `adjoint(op)` is the adjoint $A^*$ over the declared field, for any
lineax operator: $\langle A x, y\rangle = \langle x, A^* y\rangle$ with the real part of the
inner product for a real-linear operator. Every solver in bridge_jax uses it. `op.T` is
lineax's transpose: for a real operator and for a bridge_jax operator that is linear over the
reals only it IS the adjoint (the real transpose, e.g. $\mathrm{Re}(F^* M y)$ for MRI); for a
complex operator given by a complex matrix it is the plain transpose $A^\top$, as in lineax
(the adjoint is then `lineax.conj(op).T`). Beware a user's `lineax.FunctionLinearOperator` from
real to complex arrays: its `.T` is JAX's linear transpose $\mathrm{Re}(A^\top y)$, not the
adjoint; `adjoint(op)` is right for it too.
"""

from __future__ import annotations

import abc
import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float, Inexact

from .._validate import signal_shape

AbstractLinearOperator = lx.AbstractLinearOperator


def _pretty(struct) -> str:
    return f"shape {tuple(struct.shape)} ({jnp.dtype(struct.dtype).name})"


def check_operator(op, name: str = "op") -> lx.AbstractLinearOperator:
    """`op` if it is a lineax operator on ONE array (not a pytree of arrays), else an error."""
    if not isinstance(op, lx.AbstractLinearOperator):
        raise TypeError(
            f"{name} must be a linear operator (a lineax.AbstractLinearOperator, e.g. "
            f"bridge_jax.GaussianSensing or lineax.FunctionLinearOperator), got "
            f"{type(op).__name__}."
        )
    for which in ("in_structure", "out_structure"):
        struct = getattr(op, which)()
        if not isinstance(struct, jax.ShapeDtypeStruct):
            raise ValueError(
                f"{name}.{which}() must be a single jax.ShapeDtypeStruct (operators on one "
                f"array of any shape), got {struct!r}."
            )
    return op


def check_input(op: lx.AbstractLinearOperator, x, name: str = "x", *, output: bool = False):
    """`x` as an array of the operator's input (or, `output=True`, output) shape."""
    struct = op.out_structure() if output else op.in_structure()
    x = jnp.asarray(x)
    if x.shape != struct.shape:
        side = "output" if output else "input"
        raise ValueError(
            f"{name} must have the operator's {side} shape {tuple(struct.shape)}, got shape "
            f"{tuple(x.shape)} (the operator's {side} structure is {_pretty(struct)}; batch "
            f"over several signals with jax.vmap)."
        )
    return x


def is_complex(op: lx.AbstractLinearOperator) -> bool:
    """Whether the operator's input or output is complex (its adjoint then conjugates)."""
    return any(
        jnp.issubdtype(s.dtype, jnp.complexfloating)
        for s in (op.in_structure(), op.out_structure())
    )


def _mixes_fields(op) -> bool:
    inputs, outputs = (
        jnp.issubdtype(s.dtype, jnp.complexfloating)
        for s in (op.in_structure(), op.out_structure())
    )
    return inputs != outputs


def is_real_linear(op: lx.AbstractLinearOperator) -> bool:
    r"""Whether `op` is linear over the reals only: it maps real arrays to complex ones or
    back (an image to k-space, its adjoint), or is built (composed, summed, scaled) from such
    a map, e.g. `adjoint(mri) @ mri` or `mri @ adjoint(mri)`. Such an operator has no complex
    matrix; `real_matrix` gives its real one."""
    if _mixes_fields(op):
        return True
    if dataclasses.is_dataclass(op):  # lineax's and bridge_jax's composite operators
        for field in dataclasses.fields(op):
            inner = getattr(op, field.name, None)
            if isinstance(inner, lx.AbstractLinearOperator) and is_real_linear(inner):
                return True
    return False


def _matrix_error(op) -> ValueError:
    i, o = (jnp.dtype(s.dtype).name for s in (op.in_structure(), op.out_structure()))
    return ValueError(
        f"{type(op).__name__} (from {i} to {o} arrays) is linear over the reals only: it has "
        "no complex matrix, and lineax's dense solvers (lineax.SVD, QR, LU, "
        "AutoLinearSolver) would solve a different, complex-linear problem. Use "
        "bridge_jax.pinv_solve for its least squares and bridge_jax.real_matrix for its "
        "matrix."
    )


def adjoint(op: lx.AbstractLinearOperator) -> lx.AbstractLinearOperator:
    r"""The adjoint $A^*$ over the field `op`'s structures declare (module docstring):
    `op.T` for a real operator, `lineax.conj(op).T` otherwise. For a real-to-complex map
    (MRI) it is $y \mapsto \mathrm{Re}(A^H y)$, the adjoint for the real inner product
    $\mathrm{Re}\langle u, v\rangle$; for a complex matrix it is $A^H$.

    Example:
        ```python
        op = bj.MRI(bj.cartesian_mask((8, 8), 2, key=jr.key(0)))
        y = op.mv(jnp.ones((8, 8)))
        x = bj.adjoint(op).mv(y)  # Re(A^H y), a real image; the same as op.T.mv(y)
        ```
    """
    op = check_operator(op)
    return lx.conj(op).T if is_complex(op) else op.T


def _basis(struct):
    """The basis arrays of a structure's real coordinates: the $n$ unit arrays, then (for a
    complex structure) $i$ times them."""
    n = math.prod(struct.shape)
    eye = jnp.eye(n, dtype=struct.dtype)
    if jnp.issubdtype(struct.dtype, jnp.complexfloating):
        eye = jnp.concatenate([eye, 1j * eye])
    return eye.reshape((-1, *struct.shape))


def to_real(v) -> Float[Array, " k"]:
    """An array's real coordinates: flattened, with the imaginary parts after the real parts
    for a complex array (the coordinates of `real_matrix`)."""
    v = jnp.ravel(v)
    return jnp.concatenate([v.real, v.imag]) if jnp.iscomplexobj(v) else v


def from_real(v, struct):
    """The inverse of `to_real`: an array of `struct`'s shape and dtype."""
    if jnp.issubdtype(struct.dtype, jnp.complexfloating):
        half = v.shape[0] // 2
        v = v[:half] + 1j * v[half:]
    return v.astype(struct.dtype).reshape(struct.shape)


def real_matrix(op: lx.AbstractLinearOperator) -> Float[Array, "p q"]:
    r"""The real matrix of `op` as a map between the real coordinates of its input and output
    (`to_real`: real parts, then imaginary parts of a complex array), built by applying `op`
    to the basis arrays: $p = m$ or $2m$, $q = n$ or $2n$. For a real operator it is
    `dense_matrix(op)`; for MRI ($x$ real, $Ax$ complex) it is
    $\begin{bmatrix}\mathrm{Re}A\\ \mathrm{Im}A\end{bmatrix}$. The least squares and spectra
    of a real-linear operator (`is_real_linear`) are those of this matrix. Costs $q$
    applications: for small operators and tests."""
    op = check_operator(op)
    return jax.vmap(lambda e: to_real(op.mv(e)))(_basis(op.in_structure())).T


def field_matrix(op: lx.AbstractLinearOperator) -> Inexact[Array, "p q"]:
    """The matrix of `op` over the field it is linear over: `op.as_matrix()` (real, or complex
    for a complex matrix), or for an operator linear over the reals only its real matrix
    `real_matrix(op)`, on the real coordinates `to_real` of its input and output."""
    return real_matrix(op) if is_real_linear(op) else check_operator(op).as_matrix()


def dense_matrix(op: lx.AbstractLinearOperator) -> Inexact[Array, "m n"]:
    r"""The $m \times n$ matrix of `op` on flattened inputs and outputs (row-major), built by
    applying `op` to the $n$ basis arrays. Costs $n$ applications and $mn$ memory: for small
    operators and tests. An operator that is linear over the reals only (`is_real_linear`)
    has no such matrix: a `ValueError` (use `real_matrix`)."""
    if is_real_linear(op):
        raise _matrix_error(op)
    struct = op.in_structure()
    n = math.prod(struct.shape)
    basis = jnp.eye(n, dtype=struct.dtype).reshape((n, *struct.shape))
    return jax.vmap(lambda e: jnp.ravel(op.mv(e)))(basis).T


class AbstractOperator(lx.AbstractLinearOperator):
    """Base of bridge_jax's operators: `mv` checks the input shape, then calls `_apply`.

    Subclasses implement `_apply(x)` (the action on one input of shape
    `in_structure().shape`), `transpose`, `as_matrix`, `in_structure` and `out_structure`;
    an operator with no closed form for its transpose and matrix derives from
    `AbstractMatrixFreeOperator` instead, which supplies both.
    """

    def mv(self, vector):
        return self._apply(check_input(self, vector))

    @abc.abstractmethod
    def _apply(self, x):
        """The operator applied to one input array."""


class AbstractMatrixFreeOperator(AbstractOperator):
    """An operator known by its action `_apply` only: its transpose is `Transpose(self)`
    (`jax.linear_transpose`; the real transpose for a real-to-complex map) and its matrix
    `dense_matrix(self)` ($n$ applications; a `ValueError` for a real-to-complex map, see
    `real_matrix`). Subclasses implement `_apply`, `in_structure` and `out_structure`."""

    def transpose(self):
        return Transpose(self)

    def as_matrix(self):
        return dense_matrix(self)


class Transpose(AbstractOperator):
    r"""The transpose of an operator, derived by `jax.linear_transpose` of its `mv`: $A^\top$,
    or for an operator that is linear over the reals only (`is_real_linear`) its real
    transpose, the adjoint for $\mathrm{Re}\langle u, v\rangle$ (e.g.
    $y \mapsto \mathrm{Re}(A^H y)$ for a real-to-complex $A$)."""

    operator: lx.AbstractLinearOperator

    def _apply(self, y):
        transpose = jax.linear_transpose(self.operator.mv, self.operator.in_structure())
        if is_real_linear(self.operator):
            # JAX transposes for the bilinear pairing Re(sum(u * v)); the real inner product
            # Re(sum(conj(u) * v)) conjugates both sides.
            (x,) = transpose(jnp.conj(y))
            return jnp.conj(x)
        (x,) = transpose(y)
        return x

    def transpose(self):
        return self.operator

    def as_matrix(self):
        return self.operator.as_matrix().T

    def in_structure(self):
        return self.operator.out_structure()

    def out_structure(self):
        return self.operator.in_structure()


class Conjugate(AbstractOperator):
    r"""The elementwise conjugate of a complex operator: $\bar A x = \overline{A \bar x}$."""

    operator: lx.AbstractLinearOperator

    def _apply(self, x):
        return jnp.conj(self.operator.mv(jnp.conj(x)))

    def transpose(self):
        return Conjugate(self.operator.T)

    def as_matrix(self):
        return jnp.conj(self.operator.as_matrix())

    def in_structure(self):
        return self.operator.in_structure()

    def out_structure(self):
        return self.operator.out_structure()


# lineax's structural queries, answered once for every bridge_jax operator. A subclass with
# structure registers its own answers (see `Mask`).
@lx.linearise.register(AbstractOperator)
@lx.materialise.register(AbstractOperator)
def _(op):
    return op


@lx.diagonal.register(AbstractOperator)
def _(op):
    return jnp.diagonal(op.as_matrix())


@lx.tridiagonal.register(AbstractOperator)
def _(op):
    a = op.as_matrix()
    return jnp.diagonal(a), jnp.diagonal(a, offset=-1), jnp.diagonal(a, offset=1)


for _query in (
    lx.is_symmetric,
    lx.is_diagonal,
    lx.is_tridiagonal,
    lx.has_unit_diagonal,
    lx.is_lower_triangular,
    lx.is_upper_triangular,
    lx.is_positive_semidefinite,
    lx.is_negative_semidefinite,
):
    _query.register(AbstractOperator)(lambda op: False)


@lx.conj.register(AbstractOperator)
def _(op):
    # An operator between real arrays has a real matrix, whatever it computes inside (an FFT);
    # so has one that is linear over the reals only (its real matrix): both are their own
    # conjugate, and `lineax.conj(op).T` is then their transpose, the adjoint.
    return Conjugate(op) if is_complex(op) and not is_real_linear(op) else op


class Reshaped(AbstractOperator):
    r"""`operator` seen through reshapes: inputs of shape `in_shape` are reshaped to the
    operator's input shape, and its outputs to `out_shape` (e.g. an image operator acting on
    flattened images, `Reshaped(blur, in_shape=(64,), out_shape=(64,))`).

    Example:
        ```python
        base = bj.MatrixOperator(jr.normal(jr.key(0), (8, 16)))
        op = bj.Reshaped(base, in_shape=(4, 4), out_shape=(2, 4))
        y = op.mv(jnp.ones((4, 4)))  # shape (2, 4)
        ```
    """

    operator: lx.AbstractLinearOperator
    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, operator, *, in_shape=None, out_shape=None):
        self.operator = check_operator(operator, "operator")
        in_struct, out_struct = operator.in_structure(), operator.out_structure()
        self.in_shape = in_struct.shape if in_shape is None else signal_shape("in_shape", in_shape)
        self.out_shape = (
            out_struct.shape if out_shape is None else signal_shape("out_shape", out_shape)
        )
        for name, new, old in (
            ("in", self.in_shape, in_struct),
            ("out", self.out_shape, out_struct),
        ):
            if math.prod(new) != math.prod(old.shape):
                raise ValueError(
                    f"{name}_shape {new} has {math.prod(new)} entries; the operator's "
                    f"{name}put has shape {tuple(old.shape)}."
                )

    def _apply(self, x):
        return self.operator.mv(x.reshape(self.operator.in_structure().shape)).reshape(
            self.out_shape
        )

    def transpose(self):
        return Reshaped(self.operator.T, in_shape=self.out_shape, out_shape=self.in_shape)

    def as_matrix(self):
        return self.operator.as_matrix()

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.in_shape, self.operator.in_structure().dtype)

    def out_structure(self):
        return jax.ShapeDtypeStruct(self.out_shape, self.operator.out_structure().dtype)
