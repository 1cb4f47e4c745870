r"""The operator core: every operator is a `lineax.AbstractLinearOperator`.

A bridge_jax operator maps arrays of any shape to arrays of any shape (a vector, an `(H, W)`
image, complex k-space), described by `in_structure()` / `out_structure()` as in lineax. Every
solver and analysis tool of bridge_jax accepts ANY lineax operator (a user's
`lineax.FunctionLinearOperator` included), and every bridge_jax operator works in
`lineax.linear_solve`.

bridge_jax's own operators derive from `AbstractOperator`, which adds one thing to lineax's
base class: `mv` checks the input's shape and raises a `ValueError` naming the expected
structure (instead of an error from deep inside XLA), then calls the subclass's `_apply`.
lineax's structural queries (`lineax.is_symmetric`, `lineax.diagonal`, `lineax.conj`, ...)
are answered here once for all subclasses; a subclass with structure (a mask is diagonal)
registers its own answers.

Adjoints: `op.T` is the transpose; for a complex operator the adjoint is the conjugate
transpose `lineax.conj(op).T`, which `adjoint(op)` returns for any operator, real or complex.
Every solver in bridge_jax uses `adjoint`.
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Inexact

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


def adjoint(op: lx.AbstractLinearOperator) -> lx.AbstractLinearOperator:
    r"""The adjoint $A^*$: `op.T` for a real operator, `lineax.conj(op).T` for a complex one.

    Example:
        ```python
        op = bj.MRI(bj.cartesian_mask((8, 8), 2, key=jr.key(0)))
        y = op.mv(jnp.ones((8, 8)))
        x = bj.adjoint(op).mv(y)  # the conjugate transpose; op.T is the plain transpose
        ```
    """
    op = check_operator(op)
    return lx.conj(op).T if is_complex(op) else op.T


def dense_matrix(op: lx.AbstractLinearOperator) -> Inexact[Array, "m n"]:
    r"""The $m \times n$ matrix of `op` on flattened inputs and outputs (row-major), built by
    applying `op` to the $n$ basis arrays. Costs $n$ applications and $mn$ memory: for small
    operators and tests."""
    struct = op.in_structure()
    n = math.prod(struct.shape)
    basis = jnp.eye(n, dtype=struct.dtype).reshape((n, *struct.shape))
    return jax.vmap(lambda e: jnp.ravel(op.mv(e)))(basis).T


class AbstractOperator(lx.AbstractLinearOperator):
    """Base of bridge_jax's operators: `mv` checks the input shape, then calls `_apply`.

    Subclasses implement `_apply(x)` (the action on one input of shape
    `in_structure().shape`), `transpose`, `as_matrix` (e.g. `dense_matrix(self)`),
    `in_structure` and `out_structure`.
    """

    def mv(self, vector):
        return self._apply(check_input(self, vector))

    @abc.abstractmethod
    def _apply(self, x):
        """The operator applied to one input array."""


class Transpose(AbstractOperator):
    r"""$A^\top$ of an operator, derived by `jax.linear_transpose` of its `mv`."""

    operator: lx.AbstractLinearOperator

    def _apply(self, y):
        (x,) = jax.linear_transpose(self.operator.mv, self.operator.in_structure())(y)
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
    # An operator between real arrays has a real matrix, whatever it computes inside (an FFT).
    return Conjugate(op) if is_complex(op) else op


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
