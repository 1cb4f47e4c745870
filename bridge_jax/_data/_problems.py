r"""The problem: where signals come from, how they are measured, and with what noise.

`Problem(source, operator, noise).sample(key=key) -> (x, op, y)` draws ONE signal, its
operator (fixed, or drawn per signal from the key, e.g. a fresh mask per image) and its noisy
measurement $y = \mathcal{N}(A x)$; `vmap` it over keys for a data set:

    mask = lambda k: bj.Mask(bj.random_mask((28, 28), 0.5, key=k))  # a fresh mask per image
    problem = bj.Problem(bj.DatasetSource(images), mask, bj.GaussianNoise(0.1))
    x, op, y = jax.vmap(lambda k: problem.sample(key=k))(jr.split(key, 500))

(With a fixed operator, `vmap` broadcasts it to every sample; take `problem.operator` and
`vmap` with `out_axes` if the copies matter.)

`measure(op, x, noise, key=key)` is the one measurement function: every study and method
that measures a signal goes through it (or through `Problem.sample`).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jaxtyping import Array, Float, Inexact, PRNGKeyArray

from .. import _validate as check
from .._operators import check_input, check_operator
from ._sparse import AMPLITUDES, sparse_signal

# --------------------------------------------------------------------------- signal sources


class AbstractSource(eqx.Module):
    """Where signals come from: `source(key=key)` draws ONE signal of `structure()`."""

    @abc.abstractmethod
    def __call__(self, *, key: PRNGKeyArray) -> Float[Array, "..."]:
        """One signal."""

    @abc.abstractmethod
    def structure(self) -> jax.ShapeDtypeStruct:
        """The shape and dtype of one signal."""

    def draw(self, num: int, *, key: PRNGKeyArray) -> Inexact[Array, "num ..."]:
        """`num` signals at once, shape `(num, *structure().shape)`: independent draws (one
        per key of `jr.split(key, num)`) unless the source says otherwise (a data set drawn
        without replacement gives `num` distinct entries)."""
        num = check.positive_int("num", num)
        check.prng_key("key", key)
        if isinstance(self, DatasetSource) and not self.replace:
            return self.distinct(num, key=key)
        return jax.vmap(lambda k: self(key=k))(jr.split(key, num))


class SparseSource(AbstractSource):
    r"""Exactly `s`-sparse signals (`sparse_signal`) of shape `shape` (an int `n` or a tuple):
    a uniformly random support of `s` entries with i.i.d. `amplitude` values."""

    shape: tuple[int, ...] = eqx.field(static=True)
    s: int = eqx.field(static=True)
    amplitude: str = eqx.field(static=True)
    dtype: object = eqx.field(static=True)

    def __init__(self, shape, s: int, *, amplitude: str = "gaussian", dtype=None):
        self.shape = check.signal_shape("shape", shape)
        self.s = check.int_in_range("s", s, 0, math.prod(self.shape))
        self.amplitude = check.one_of("amplitude", amplitude, AMPLITUDES)
        self.dtype = jnp.dtype(jnp.result_type(float) if dtype is None else dtype)

    def __call__(self, *, key):
        n = math.prod(self.shape)
        x = sparse_signal(n, self.s, key=key, amplitude=self.amplitude, dtype=self.dtype)
        return x.reshape(self.shape)

    def structure(self):
        return jax.ShapeDtypeStruct(self.shape, self.dtype)


class DatasetSource(AbstractSource):
    """Signals drawn uniformly from a data set `data` of shape `(N, ...)`: digits, MNIST
    images, image patches. The data set is a leaf (it may live on the GPU).

    `replace=True` (default): every draw is independent, so `draw(num)` may repeat entries.
    `replace=False`: `draw(num)` gives `num` distinct entries (the first `num` of a random
    permutation, `num <= N`), e.g. disjoint training and test signals from one
    `draw(2 * N)`; one signal (`source(key=key)`) is a uniform entry either way."""

    data: Inexact[Array, "N ..."]
    replace: bool = eqx.field(static=True)

    def __init__(self, data, *, replace: bool = True):
        data = jnp.asarray(data)
        if data.ndim < 2 or data.shape[0] < 1:
            raise ValueError(
                f"data must have shape (N, *signal_shape) with N >= 1, got {data.shape}."
            )
        if not jnp.issubdtype(data.dtype, jnp.inexact):
            data = data.astype(jnp.result_type(float))
        if not isinstance(replace, bool):
            raise TypeError(f"replace must be True or False, got {replace!r}.")
        self.data, self.replace = data, replace

    def __call__(self, *, key):
        return self.data[jr.randint(key, (), 0, self.data.shape[0])]

    def distinct(self, num: int, *, key: PRNGKeyArray) -> Inexact[Array, "num ..."]:
        """`num` distinct entries of the data set (the first `num` of a random permutation),
        whatever `replace` says: `draw` of a source with `replace=False`."""
        size = self.data.shape[0]
        num = check.positive_int("num", num)
        if num > size:
            raise ValueError(
                f"num must be at most the data set's {size} signals when drawing without "
                f"replacement, got {num}."
            )
        check.prng_key("key", key)
        return self.data[jr.permutation(key, size)[:num]]

    def structure(self):
        return jax.ShapeDtypeStruct(self.data.shape[1:], self.data.dtype)


# --------------------------------------------------------------------------- noise models


class AbstractNoise(eqx.Module):
    """A noise model: `noise(y, key=key)` corrupts ONE clean measurement $Ax$."""

    @abc.abstractmethod
    def __call__(self, y: Inexact[Array, "..."], *, key: PRNGKeyArray) -> Inexact[Array, "..."]:
        """The noisy measurement."""


class GaussianNoise(AbstractNoise):
    r"""$y + \sigma\varepsilon$, $\varepsilon \sim \mathcal{N}(0, I)$; for complex $y$ circular
    noise $\sigma(\varepsilon_1 + i\varepsilon_2)/\sqrt2$ (the same $\sigma^2$ per entry).
    `sigma` is a leaf: sweep it with `vmap`, learn it with `grad`."""

    sigma: Float[Array, ""]

    def __init__(self, sigma):
        check.nonnegative("sigma", sigma)
        self.sigma = jnp.asarray(sigma, jnp.result_type(float))

    def __call__(self, y, *, key):
        return gaussian_noise(y, self.sigma, key=key)


class PoissonNoise(AbstractNoise):
    r"""Photon counting: $y = g\,\mathrm{Poisson}(Ax/g)$ with gain $g$ (mean $Ax$, variance
    $g\,Ax$); needs $Ax \ge 0$ (negative entries count as 0). Not differentiable in $y$.

    A NaN in $Ax$ stays NaN in $y$. Rates $Ax/g$ above `NORMAL_ABOVE` ($10^6$, beyond which
    the Poisson law's skewness is below $10^{-3}$) are drawn from its normal approximation
    $\mathcal{N}(\lambda, \lambda)$ rounded (to any size: JAX's Poisson sampler counts in
    32-bit integers and would clip them at $2^{31}$)."""

    NORMAL_ABOVE: ClassVar[float] = 1e6

    gain: Float[Array, ""]

    def __init__(self, gain):
        check.nonnegative("gain", gain, strict=True)
        self.gain = jnp.asarray(gain, jnp.result_type(float))

    def __call__(self, y, *, key):
        y = jnp.asarray(y)
        if jnp.iscomplexobj(y):
            raise ValueError("PoissonNoise needs real, non-negative measurements.")
        nan = jnp.isnan(y)
        rate = jnp.where(nan, 0.0, jnp.maximum(y, 0.0)) / self.gain.astype(y.dtype)
        large = rate > self.NORMAL_ABOVE
        counts = jr.poisson(key, jnp.where(large, 0.0, rate)).astype(y.dtype)
        normal = jr.normal(jr.fold_in(key, 1), rate.shape, y.dtype)
        approx = jnp.maximum(jnp.round(rate + jnp.sqrt(rate) * normal), 0.0)
        counts = jnp.where(large, approx, counts)
        return jnp.where(nan, jnp.nan, self.gain.astype(y.dtype) * counts)


class PoissonGaussianNoise(AbstractNoise):
    r"""$y = g\,\mathrm{Poisson}(Ax/g) + \sigma\varepsilon$: shot noise plus read-out noise."""

    poisson: PoissonNoise
    gaussian: GaussianNoise

    def __init__(self, gain, sigma):
        self.poisson = PoissonNoise(gain)
        self.gaussian = GaussianNoise(sigma)

    def __call__(self, y, *, key):
        k_p, k_g = jr.split(key)
        return self.gaussian(self.poisson(y, key=k_p), key=k_g)


def measure(
    op: lx.AbstractLinearOperator,
    x: Inexact[Array, "..."],
    noise: AbstractNoise | None = None,
    *,
    key: PRNGKeyArray | None = None,
) -> Inexact[Array, "..."]:
    r"""The measurement of ONE signal: $y = \mathcal{N}(A x)$ (`noise=None`: $y = Ax$).

    `key` is required with a noise model. `vmap` over signals (and operators) for a data set.
    """
    op = check_operator(op)
    y = op.mv(check_input(op, x))
    if noise is None:
        return y
    if not isinstance(noise, AbstractNoise):
        raise TypeError(
            f"noise must be a bridge_jax noise model (e.g. GaussianNoise), got {noise!r}."
        )
    check.prng_key("key", key)
    return noise(y, key=key)


# --------------------------------------------------------------------------- the problem


class Problem(eqx.Module):
    r"""A problem: signal source, operator and noise model; `sample(key=key)` draws ONE
    `(x, op, y)`.

    `operator` is a lineax operator shared by every signal, or a function `key -> operator`
    that draws a fresh one per signal (a new mask or kernel per image); `noise` a noise model
    (default: none). Arrays inside (the operator's matrix, a data set, $\sigma$) are leaves, so
    a problem can be `vmap`-ed (e.g. over noise levels) and passed through `jit`.
    """

    source: AbstractSource
    operator: lx.AbstractLinearOperator | None
    draw_operator: Callable[[PRNGKeyArray], lx.AbstractLinearOperator] | None = eqx.field(
        static=True
    )
    noise: AbstractNoise | None

    def __init__(self, source: AbstractSource, operator, noise: AbstractNoise | None = None):
        if not isinstance(source, AbstractSource):
            raise TypeError(
                f"source must be a signal source (SparseSource, DatasetSource, ...), got "
                f"{type(source).__name__}."
            )
        if noise is not None and not isinstance(noise, AbstractNoise):
            raise TypeError(f"noise must be a noise model (e.g. GaussianNoise), got {noise!r}.")
        self.source, self.noise = source, noise
        if isinstance(operator, lx.AbstractLinearOperator):
            self.operator, self.draw_operator = check_operator(operator, "operator"), None
            example = operator
        elif callable(operator):
            self.operator, self.draw_operator = None, operator
            example = jax.eval_shape(operator, jr.key(0))
        else:
            raise TypeError(
                f"operator must be a lineax operator or a function key -> operator, got "
                f"{type(operator).__name__}."
            )
        if example.in_structure().shape != source.structure().shape:
            raise ValueError(
                f"the operator takes inputs of shape {example.in_structure().shape} but the "
                f"source draws signals of shape {source.structure().shape}."
            )

    def sample(self, *, key: PRNGKeyArray):
        """One `(x, op, y)`: a signal, its operator and its noisy measurement."""
        k_x, k_op, k_noise = jr.split(key, 3)
        x = self.source(key=k_x)
        op = self.operator if self.draw_operator is None else self.draw_operator(k_op)
        return x, op, measure(op, x, self.noise, key=k_noise)

    def sample_many(self, num: int, *, key: PRNGKeyArray):
        """`num` samples at once, `(x, op, y)` with a leading axis `num` on `x`, `y` (and on
        `op` when the operator is drawn per signal; a fixed operator is returned once).

        The signals come from `source.draw(num)` (distinct entries for a data set drawn
        without replacement), each measured with its own noise key.
        """
        num = check.positive_int("num", num)
        check.prng_key("key", key)
        k_x, k_op, k_noise = jr.split(key, 3)
        x = self.source.draw(num, key=k_x)
        noise_keys = jr.split(k_noise, num)
        if self.draw_operator is None:
            op = self.operator
            y = jax.vmap(lambda xi, k: measure(op, xi, self.noise, key=k))(x, noise_keys)
            return x, op, y
        ops = jax.vmap(self.draw_operator)(jr.split(k_op, num))
        y = jax.vmap(lambda o, xi, k: measure(o, xi, self.noise, key=k))(ops, x, noise_keys)
        return x, ops, y


def gaussian_noise(y: Inexact[Array, "..."], sigma, *, key: PRNGKeyArray) -> Inexact[Array, "..."]:
    r"""$y + \sigma\varepsilon$, $\varepsilon \sim \mathcal{N}(0, I)$; for complex $y$ circular
    noise $\sigma(\varepsilon_1 + i\varepsilon_2)/\sqrt2$ (the same $\sigma^2$ per entry).

    The one Gaussian noise of bridge_jax: `GaussianNoise(sigma)` (the noise model of `measure`
    and `Problem`) and the augmentations' views (`augment`, `ViewBank`) draw theirs here.
    """
    check.prng_key("key", key)
    check.nonnegative("sigma", sigma)
    y = jnp.asarray(y)
    if jnp.iscomplexobj(y):
        real = jnp.finfo(y.dtype).dtype
        k1, k2 = jr.split(key)
        e = (jr.normal(k1, y.shape, real) + 1j * jr.normal(k2, y.shape, real)) / jnp.sqrt(2.0)
        return y + jnp.asarray(sigma).astype(real) * e.astype(y.dtype)
    return y + jnp.asarray(sigma, y.dtype) * jr.normal(key, y.shape, y.dtype)


def poisson_noise(y: Float[Array, "..."], gain, *, key: PRNGKeyArray) -> Float[Array, "..."]:
    r"""$g\,\mathrm{Poisson}(y/g)$: `PoissonNoise(gain)(y, key=key)`."""
    return PoissonNoise(gain)(y, key=key)


def poisson_gaussian_noise(
    y: Float[Array, "..."], gain, sigma, *, key: PRNGKeyArray
) -> Float[Array, "..."]:
    r"""$g\,\mathrm{Poisson}(y/g) + \sigma\varepsilon$: `PoissonGaussianNoise(gain, sigma)`."""
    return PoissonGaussianNoise(gain, sigma)(y, key=key)
