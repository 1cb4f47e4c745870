r"""An SSRL augmentation with learnable parameters: rotation angle, noise level, generator.

A view is $T_k(x) = \exp(\alpha S_k)\,x + \sigma\varepsilon$ with a random rotation generator
confined to a learnable subspace: $S_k = B G_k B^\top$, $G_k$ a random $r \times r$
skew-symmetric matrix scaled to unit RMS angle, $B \in \mathbb{R}^{n \times r}$. With
$B = I_n$ this is `random_rotation`; a learned $B$ chooses which directions the augmentation
moves signals along. $\alpha = e^{a}$ and $\sigma = e^{b}$ are kept positive through their
logarithms.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.linalg import expm
from jaxtyping import Array, Float, PRNGKeyArray

from .. import _validate as check
from ._vectors import ViewBank, random_skew

# Under `vmap` the matrix exponential's branches become selects: every matrix goes through
# all `max_squarings` squarings of scaling and squaring (JAX's default is 16). Eight cover
# ||alpha S||_1 up to 3.93 * 2**9 (about 2,000: rotations by hundreds of radians); past that
# `expm` returns NaN, which `fit`'s finiteness guard reports. A learn_augment step: 440 -> 373
# and 325 -> 297 ms for its two objectives, values and gradients bit-identical
# (docs/performance.md).
MAX_SQUARINGS = 8


class LearnableAugmentation(eqx.Module):
    """Rotation-plus-noise augmentation whose angle, noise level `sigma` and generator basis
    are leaves."""

    log_angle: Float[Array, ""]
    log_sigma: Float[Array, ""]
    basis: Float[Array, "n r"]

    def __init__(self, n: int, *, angle=0.1, sigma=0.1, rank: int | None = None, key=None):
        """`rank=None`: full generator ($B = I_n$); otherwise a random orthonormal $n \\times r$
        start drawn from `key`."""
        n = check.positive_int("n", n)
        check.nonnegative("angle", angle, strict=True)
        check.nonnegative("sigma", sigma, strict=True)
        self.log_angle = jnp.log(jnp.asarray(angle, float))
        self.log_sigma = jnp.log(jnp.asarray(sigma, float))
        if rank is None:
            self.basis = jnp.eye(n)
        else:
            rank = check.int_in_range("rank", rank, 2, n)
            check.prng_key("key", key)
            self.basis = jnp.linalg.qr(jr.normal(key, (n, rank)))[0]

    @property
    def angle(self):
        return jnp.exp(self.log_angle)

    @property
    def sigma(self):
        return jnp.exp(self.log_sigma)

    def rotation(self, *, key: PRNGKeyArray) -> Float[Array, "n n"]:
        """One random rotation $\\exp(\\alpha B G B^\\top)$ (NaN where
        $\\|\\alpha B G B^\\top\\|_1 > 3.93 \\cdot 2^{9}$: see `MAX_SQUARINGS`)."""
        g = random_skew(self.basis.shape[1], key=key, dtype=self.basis.dtype)
        generator = self.angle * (self.basis @ g @ self.basis.T)
        return expm(generator, max_squarings=MAX_SQUARINGS)

    def bank(self, k: int, *, key: PRNGKeyArray) -> ViewBank:
        """A `ViewBank` of `k` rotations drawn from `key` and this augmentation's noise level
        (differentiable in the angle, the noise and the basis through `ViewBank.views`)."""
        k = check.positive_int("k", k)
        rotations = jax.vmap(lambda kk: self.rotation(key=kk))(jr.split(key, k))
        return ViewBank(transforms=rotations, sigma=self.sigma)

    def views(self, signals: Float[Array, "N n"], k: int, *, key: PRNGKeyArray):
        """`k` views of every signal, shape (N, k, n): k rotations shared by all signals (the
        paper's $T_1..T_K$) and fresh noise for every view."""
        k_rot, k_noise = jr.split(key)
        return self.bank(k, key=k_rot).views(signals, key=k_noise)
