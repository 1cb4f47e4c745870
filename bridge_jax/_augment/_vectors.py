r"""SSRL augmentations of one signal: small random rotations, additive noise, masking.

The paper (section 3.1) simulates SSRL augmentations "as small random rotations with additive
noise". Here one view is $T(x) = m \odot (Q x + \sigma \varepsilon)$ with $Q$ a random
rotation near the identity, $\varepsilon \sim \mathcal{N}(0, I)$ and $m$ an optional random
mask (off by default, `mask_ratio=0`). All strengths are arrays, so they can be swept with
`vmap` and learned with `grad`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.scipy.linalg import expm
from jaxtyping import Array, Float, PRNGKeyArray

from .. import _validate as check
from .._data._problems import gaussian_noise
from .._operators import random_mask


def random_skew(n: int, *, key: PRNGKeyArray, dtype=None) -> Float[Array, "n n"]:
    r"""A random skew-symmetric generator $S$, scaled so its rotation angles have RMS 1.

    $S = (G - G^\top)$ with Gaussian $G$, rescaled to $\|S\|_F = \sqrt{n}$. Since
    $\|S\|_F^2 = 2\sum_j \theta_j^2$ over the $\lfloor n/2 \rfloor$ rotation planes of
    $e^{S}$, the root-mean-square angle over the planes is 1 radian (exactly so for even n).
    """
    dtype = jnp.result_type(float) if dtype is None else dtype
    g = jr.normal(key, (n, n), dtype)
    s = g - g.T
    return s * (jnp.sqrt(jnp.asarray(n, dtype)) / jnp.linalg.norm(s))


def random_rotation(n: int, angle, *, key: PRNGKeyArray) -> Float[Array, "n n"]:
    r"""A random orthogonal matrix near the identity: $Q = \exp(\alpha S)$, $\det Q = 1$.

    $S$ is `random_skew(n, key=key)`, so `angle` $\alpha$ is the root-mean-square rotation angle
    (radians) over the invariant planes; $\|Q - I\|_F \approx \alpha \sqrt{n}$ for small
    $\alpha$. `angle` may be a traced array and is differentiable.
    """
    check.prng_key("key", key)
    n = check.positive_int("n", n)
    angle = _angle(angle)
    dtype = jnp.result_type(angle.dtype, float)
    return _rotation(n, angle.astype(dtype), key)


def _angle(angle) -> Array:
    """A rotation angle checked (a non-negative scalar) and as an array."""
    check.nonnegative("angle", angle)
    angle = jnp.asarray(angle)
    if angle.ndim != 0:
        raise ValueError(f"angle must be a scalar, got shape {angle.shape}.")
    return angle


@eqx.filter_jit
def _rotation(n, angle, key):
    # One compiled program: called eagerly (op by op), the matrix exponential alone compiled
    # some forty small programs per shape. Inside a caller's jit this is inlined.
    return expm(angle * random_skew(n, key=key, dtype=angle.dtype))


def rotate(x: Float[Array, " n"], angle, *, key: PRNGKeyArray) -> Float[Array, " n"]:
    r"""$\exp(\alpha S)\, x$: `random_rotation(n, angle, key=key) @ x` without forming the matrix.

    The same rotation (the same $S$ for the same key), applied to one vector by a Taylor series
    in $h S$, $h = \alpha / s$, taken $s = \lceil \alpha \|S\|_F \rceil$ times so that
    $\|h S\|_2 \le 1$ and the truncated terms are below the dtype's rounding. This costs
    $O(s n^2)$ against $O(n^3)$ for the matrix exponential, and calls no LAPACK routine (the
    per-view readings draw a fresh rotation for every view). Agrees with the matrix to float
    rounding.

    `angle` may be traced; reverse-mode derivatives in `x` and `angle` are exact
    ($\partial_\alpha e^{\alpha S} x = S e^{\alpha S} x$ and $(e^{\alpha S})^\top =
    e^{-\alpha S}$); for forward mode use `random_rotation`.
    """
    check.prng_key("key", key)
    x = check.shape("x", x, (None,))
    angle = _angle(angle)
    dtype = jnp.result_type(x.dtype, angle.dtype, float)
    s = random_skew(x.shape[0], key=key, dtype=dtype)
    return _expm_skew_mv(s, angle.astype(dtype), x.astype(dtype))


def _taylor_terms(dtype) -> int:
    # Smallest K with e / (K + 1)! below half the rounding unit: the remainder of the series of
    # exp(hS) v with ||hS||_2 <= 1 is at most e ||v|| / (K + 1)!.
    eps, k, factorial = float(jnp.finfo(dtype).eps), 1, 2.0
    while np.e / factorial >= eps / 2:
        k += 1
        factorial *= k + 1
    return k


def _expm_skew_mv_forward(s, angle, x):
    steps = jnp.maximum(1.0, jnp.ceil(jnp.abs(angle) * jnp.linalg.norm(s))).astype(jnp.int32)
    h = angle / steps.astype(angle.dtype)
    terms = _taylor_terms(x.dtype)

    def one_step(_, v):
        def term(i, carry):
            total, t = carry
            t = (h / i) * (s @ t)
            return total + t, t

        return jax.lax.fori_loop(1, terms + 1, term, (v, v))[0]

    return jax.lax.fori_loop(0, steps, one_step, x)


@jax.custom_vjp
def _expm_skew_mv(s, angle, x):
    return _expm_skew_mv_forward(s, angle, x)


def _expm_skew_mv_fwd(s, angle, x):
    y = _expm_skew_mv_forward(s, angle, x)
    return y, (s, angle, y)


def _expm_skew_mv_bwd(residuals, g):
    s, angle, y = residuals
    # S is skew: the adjoint of exp(aS) is exp(-aS), and d/da exp(aS) x = S exp(aS) x.
    return None, jnp.vdot(g, s @ y), _expm_skew_mv(s, -angle, g)


_expm_skew_mv.defvjp(_expm_skew_mv_fwd, _expm_skew_mv_bwd)


def random_masking(x: Float[Array, " n"], ratio, *, key: PRNGKeyArray) -> Float[Array, " n"]:
    r"""Zero a uniformly random subset of $\mathrm{round}(\rho n)$ entries of `x` (MAE-style)."""
    x = check.shape("x", x, (None,))
    return jnp.where(random_mask(x.shape[0], ratio, key=key), x, jnp.zeros((), x.dtype))


def augment(
    x: Float[Array, " n"],
    *,
    key: PRNGKeyArray,
    angle=0.1,
    sigma=0.1,
    mask_ratio=0.0,
) -> Float[Array, " n"]:
    r"""One SSRL view $T(x) = m \odot (Q x + \sigma\varepsilon)$.

    **Arguments:**
    - `key`: PRNG key; each call with a fresh key gives an independent view.
    - `x`: one signal, shape `(n,)`.
    - `angle`: RMS rotation angle of $Q$ (`random_rotation`), radians.
    - `sigma`: standard deviation $\sigma$ of the additive Gaussian noise (`gaussian_noise`).
    - `mask_ratio`: fraction of entries zeroed by the mask $m$ (0 disables masking).

    The defaults (0.1 rad, 0.1) are this project's reading of the paper's "small random
    rotations with additive noise"; the paper gives no values.
    """
    check.prng_key("key", key)
    x = check.shape("x", x, (None,))
    k_rot, k_noise, k_mask = jr.split(key, 3)
    view = rotate(x, angle, key=k_rot)
    view = gaussian_noise(view, sigma, key=k_noise)
    if check.is_concrete(mask_ratio) and float(np.max(np.asarray(mask_ratio))) == 0.0:
        return view
    return random_masking(view, mask_ratio, key=k_mask)


def augmentations(
    x: Float[Array, " n"], k: int, *, key: PRNGKeyArray, **augment_kwargs
) -> Float[Array, "k n"]:
    """`k` independent views of one signal, shape `(k, n)`; keywords go to `augment`."""
    check.prng_key("key", key)
    k = check.positive_int("k", k)
    x = check.shape("x", x, (None,))
    return jax.vmap(lambda kk: augment(x, key=kk, **augment_kwargs))(jr.split(key, k))


def cyclic_shift(x: Float[Array, " n"], shift) -> Float[Array, " n"]:
    r"""$(T_s x)_i = x_{(i - s) \bmod n}$: the cyclic shift group, an exact symmetry of i.i.d.
    sparse signals (their distribution is invariant to any permutation of the entries).

    `shift` may be a traced integer (it is used as an array, not a static size).
    """
    x = check.shape("x", x, (None,))
    n = x.shape[0]
    idx = (jnp.arange(n) - jnp.asarray(shift, jnp.int32)) % n
    return x[idx]


def random_shift(x: Float[Array, " n"], *, key: PRNGKeyArray) -> Float[Array, " n"]:
    """`cyclic_shift` by a uniformly random amount in {1, ..., n-1} (never the identity)."""
    check.prng_key("key", key)
    x = check.shape("x", x, (None,))
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"random_shift needs n >= 2 entries, got n = {n}.")
    return cyclic_shift(x, jr.randint(key, (), 1, n))


# ViewBank(x, key=...) forms all K products and picks one up to this K (see __call__).
_ALL_PRODUCTS_MAX_K = 32


class ViewBank(eqx.Module):
    r"""The paper's augmentation set $\{T_k\}_{k=1}^K$: $K$ transforms drawn once, fresh noise.

    The one views mechanism of bridge_jax: $C_{\mathrm{SSRL}}$, the SSRL methods, the learnable
    augmentation and the SSRL-informed initialisations all draw their views here.

    - `bank(x, key=key)`: ONE view $T_k x + \sigma\varepsilon$ of one signal, $k$ uniform in
      $1..K$ (what an SSRL method trains on);
    - `bank.views(x, key=key)`: all $K$ views of `x`, shape `(..., K, n)`, with fresh noise for
      every view. `x` is one signal `(n,)` or a stack `(..., n)`; the noise of the whole
      output is drawn from `key` in one call (the paper's studies rely on this stream). The
      noise is real, also for a complex `x`.

    Drawing the $K$ transforms once (instead of one matrix exponential per view) makes views
    cheap enough for training loops over thousands of signals. `ViewBank(n, key=...)` draws $K$
    rotations of RMS angle `angle`; `ViewBank.from_transforms` takes any $K$ linear
    augmentations, e.g. image crops, rotations and shifts (`random_image_augmentation`
    through `transform_matrix`). The alternative reading, a fresh random transform for every
    view, is `augmentations`.

    `views` is differentiable in the transforms and the noise level (`LearnableAugmentation`
    builds its views here); `bank(x, key=key)` treats them as constants (`stop_gradient`), so
    a method that holds a bank never trains it.
    """

    rotations: Float[Array, "K n n"]
    sigma: float | Float[Array, ""]

    def __init__(
        self,
        n: int | None = None,
        *,
        key: PRNGKeyArray | None = None,
        num_rotations: int = 16,
        angle=0.1,
        sigma=0.1,
        transforms: Float[Array, "K n n"] | None = None,
    ):
        """`K = num_rotations` rotations of R^n of RMS angle `angle`, drawn from `key`; or,
        with `transforms`, the given (K, n, n) matrices (see `from_transforms`). `sigma` is
        the standard deviation of the views' Gaussian noise (a float, or an array, e.g. a
        learnable one)."""
        check.nonnegative("sigma", sigma)
        self.sigma = float(sigma) if isinstance(sigma, (int, float)) else sigma
        if transforms is not None:
            transforms = jnp.asarray(transforms)
            if transforms.ndim != 3 or transforms.shape[1] != transforms.shape[2]:
                raise ValueError(f"transforms must have shape (K, n, n), got {transforms.shape}.")
            self.rotations = transforms
            return
        n = check.positive_int("n", n)
        num_rotations = check.positive_int("num_rotations", num_rotations)
        check.prng_key("key", key)
        keys = jr.split(key, num_rotations)
        self.rotations = jax.vmap(lambda k: random_rotation(n, angle, key=k))(keys)

    @classmethod
    def from_transforms(cls, transforms: Float[Array, "K n n"], *, sigma=0.1) -> ViewBank:
        r"""A bank of the given $K$ matrices $T_k$ (views $T_k x + \sigma\varepsilon$)."""
        return cls(transforms=transforms, sigma=sigma)

    def __call__(self, x: Float[Array, " n"], *, key: PRNGKeyArray) -> Float[Array, " n"]:
        """One view of one signal (transforms and noise level held constant)."""
        n = self.rotations.shape[-1]
        x = check.shape("x", x, (n,))
        k_pick, k_noise = jr.split(key)
        rotations = jax.lax.stop_gradient(self.rotations)
        pick = jr.randint(k_pick, (), 0, rotations.shape[0])
        if rotations.shape[0] <= _ALL_PRODUCTS_MAX_K:
            # All K products, then the picked one: vmapped over signals this is one matrix
            # product (K n x n against the stack), where picking the matrix first gathers an
            # n x n matrix per signal, in time independent of K (2,560 views of 64 entries:
            # 12.8 ms gathering; here 1.7 ms at K = 16, 3.6 ms at K = 32, 14.8 ms at K = 64;
            # benchmarks/view_bank.py). The same view up to float rounding.
            view = (rotations @ x)[pick]
        else:
            view = rotations[pick] @ x
        sigma = self.sigma if isinstance(self.sigma, float) else jax.lax.stop_gradient(self.sigma)
        return gaussian_noise(view, sigma, key=k_noise)

    def views(self, x: Float[Array, "... n"], *, key: PRNGKeyArray) -> Float[Array, "... K n"]:
        r"""All $K$ views $T_k x + \sigma\varepsilon_k$ of `x` (one signal or a stack)."""
        check.prng_key("key", key)
        x = jnp.asarray(x)
        n = self.rotations.shape[-1]
        if x.ndim == 0 or x.shape[-1] != n:
            raise ValueError(
                f"x must be a signal of length {n} (or a stack of them, shape (..., {n})), "
                f"got shape {x.shape}."
            )
        views = jnp.einsum("kab,...b->...ka", self.rotations.astype(x.dtype), x)
        # Real noise, also for complex signals (as the phase-retrieval study has always drawn).
        real = jnp.finfo(views.dtype).dtype
        return views + self.sigma * jr.normal(key, views.shape, real)
