r"""Networks on vectors: `MLPReconstructor` (an `AbstractReconstructor`, see `_base.py`) and
the SSRL `Encoder`, each acting on ONE signal (the unrolled vector networks are in
`_unrolled.py`). Deterministic: they ignore `key`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float, PRNGKeyArray

from .. import _validate as check
from .._operators import adjoint
from ._base import AbstractReconstructor, measurement


def _mlp(in_size: int, out_size: int, width: int, depth: int, key, *, zero_last=False):
    mlp = eqx.nn.MLP(in_size, out_size, width, depth, activation=jax.nn.gelu, key=key)
    if zero_last:
        last = mlp.layers[-1]
        mlp = eqx.tree_at(
            lambda m: (m.layers[-1].weight, m.layers[-1].bias),
            mlp,
            (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)),
        )
    return mlp


class MLPReconstructor(AbstractReconstructor):
    r"""$\hat x = \mathrm{MLP}(A^\top y)$: a learned map from the back-projection.

    Knows the physics only through $A^\top$; it must learn any inverse itself.

    Example:
        ```python
        op = bj.GaussianSensing(16, 8, key=jr.key(0))
        model = bj.MLPReconstructor(16, width=32, key=jr.key(1))
        x_hat = model(op, op.mv(jnp.ones(16)))  # an MLP on A^T y
        ```
    """

    mlp: eqx.nn.MLP

    def __init__(self, n: int, *, width: int = 128, depth: int = 2, key: PRNGKeyArray):
        n = check.positive_int("n", n)
        check.prng_key("key", key)
        self.mlp = _mlp(n, n, check.positive_int("width", width), depth, key)

    def __call__(
        self,
        op: lx.AbstractLinearOperator,
        y: Float[Array, " m"],
        *,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, " n"]:
        y = measurement("MLPReconstructor", op, y, self.mlp.in_size)
        u = adjoint(op).mv(y)
        return self.mlp(u.reshape(-1)).reshape(u.shape)


class Encoder(eqx.Module):
    r"""An MLP encoder $e: \mathbb{R}^{n} \to \mathbb{R}^{d}$ for SSRL (one input vector).

    Example:
        ```python
        encoder = bj.Encoder(16, 4, width=32, key=jr.key(0))
        z = encoder(jnp.ones(16))  # a representation in R^4
        ```
    """

    mlp: eqx.nn.MLP

    def __init__(
        self, in_size: int, out_size: int, *, width: int = 128, depth: int = 2, key: PRNGKeyArray
    ):
        check.prng_key("key", key)
        self.mlp = _mlp(
            check.positive_int("in_size", in_size),
            check.positive_int("out_size", out_size),
            check.positive_int("width", width),
            depth,
            key,
        )

    @property
    def in_size(self) -> int:
        return self.mlp.in_size

    @property
    def out_size(self) -> int:
        return self.mlp.out_size

    def __call__(self, u: Float[Array, " n"]) -> Float[Array, " d"]:
        return self.mlp(u)
