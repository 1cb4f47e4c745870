r"""The interface of every learned reconstructor, and its input checks in one place.

Every reconstructor is an `AbstractReconstructor`: called as `model(op, y, *, key=None) -> x`
on ONE measurement `y` of the lineax operator `op`, it returns an array of `op`'s input
structure. The operator is an argument, not part of the model, so one network serves a fresh
mask per image (multi-operator training), a masked operator (measurement splitting) or an
operator it never saw. `key` is for stochastic networks; the deterministic ones ignore it.

The input checks: `measurement` for the vector networks (built for signals of a fixed size),
`_check_image_operator`, `_back_projection` and `_check_image` for the image ones.
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float, Inexact, PRNGKeyArray

from .._operators import adjoint, check_input, check_operator

# Unrolled networks run up to this many iterations as straight-line code (`lax.scan` fully
# unrolled): XLA:CPU then fuses across iterations and, under the gradient, no longer
# materialises broadcast parameters and stacked residuals inside a loop (a Noise2Self training
# step of the learned ISTA 74 -> 42-49 ms at T = 10; convolutions in a loop ran ~8x slower).
# Compile time grows with T and past ~30 iterations the gain is gone, so longer ones keep the
# rolled loop (docs/performance.md).
FULL_UNROLL_MAX = 32


def scan_unroll(length: int) -> int:
    """`lax.scan`'s `unroll` for an unrolled network of `length` iterations."""
    return length if length <= FULL_UNROLL_MAX else 1


class AbstractReconstructor(eqx.Module):
    r"""A learned map from a measurement to a signal: `model(op, y, *, key=None) -> x`.

    `op` is a lineax operator, `y` one measurement of `op.out_structure()`'s shape, and `x`
    has `op.in_structure()`'s shape. `key` (a `jax.random` key) is for stochastic networks;
    deterministic ones accept and ignore it. Batch with `jax.vmap` over `y` (and over `op`
    for one operator per signal).
    """

    @abc.abstractmethod
    def __call__(
        self,
        op: lx.AbstractLinearOperator,
        y: Inexact[Array, "..."],
        *,
        key: PRNGKeyArray | None = None,
    ) -> Inexact[Array, "..."]:
        """The reconstruction of `y` measured through `op`."""


def measurement(name: str, op, y, n: int) -> Inexact[Array, "..."]:
    """`y` as one measurement of `op`, after checking that `op` takes signals of `n` entries
    (the size the vector network `name` was built for)."""
    size = check_operator(op).in_size()
    if size != n:
        raise ValueError(
            f"{name} was built for signals of {n} entries: op.in_size() must be {n}, got {size}."
        )
    return check_input(op, y, "y", output=True)


def _check_image_operator(name: str, op) -> tuple[int, int]:
    """The `(H, W)` of an operator on real images, or an error naming `name`."""
    struct = check_operator(op).in_structure()
    if len(struct.shape) != 2:
        raise ValueError(
            f"{name} reconstructs (H, W) images: op.in_structure() must have 2 dimensions, got "
            f"shape {tuple(struct.shape)} (wrap a vector operator with bridge_jax.Reshaped)."
        )
    if not jnp.issubdtype(struct.dtype, jnp.floating):
        raise TypeError(
            f"{name} reconstructs real images: op.in_structure() must have a real dtype, got "
            f"{jnp.dtype(struct.dtype).name} (complex-valued data with real images, such as "
            f"bridge_jax.MRI, is fine)."
        )
    return tuple(struct.shape)


def _back_projection(name: str, op, y) -> Float[Array, "H W"]:
    """$A^* y$ after checking that `op` acts on real images and `y` has its output shape."""
    _check_image_operator(name, op)
    return adjoint(op).mv(check_input(op, y, "y", output=True))


def _check_image(name: str, x) -> Float[Array, "H W"]:
    x = jnp.asarray(x)
    if x.ndim != 2:
        raise ValueError(
            f"{name}.denoise takes one (H, W) image, got shape {tuple(x.shape)} (batch with "
            f"jax.vmap)."
        )
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{name}.denoise takes a real image, got dtype {x.dtype}.")
    return x


def num_parameters(model) -> int:
    """The number of scalars in the model's array leaves (its trainable parameters)."""
    return sum(
        math.prod(a.shape) for a in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))
    )
