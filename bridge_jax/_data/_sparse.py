"""Synthetic signals: exactly s-sparse vectors in $\\mathbb{R}^n$."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from .. import _validate as check
from .._random import permutation, unrolled_threefry_key

AMPLITUDES = ("gaussian", "rademacher", "uniform")


def sparse_signal(
    n: int, s: int, *, key: PRNGKeyArray, amplitude: str = "gaussian", dtype=None
) -> Float[Array, " n"]:
    r"""One signal with exactly `s` non-zero entries at a uniformly random support.

    The non-zero amplitudes are i.i.d.: `"gaussian"` $\mathcal{N}(0, 1)$ (default),
    `"rademacher"` $\pm 1$, or `"uniform"` $U[-1, 1]$. Gaussian amplitudes give
    $\mathbb{E}\|x\|^2 = s$. The numbers are those of `jax.random` (`key` split into the
    support's and the amplitudes' keys; the support from `jax.random.permutation`), drawn with
    Threefry's hash unrolled (`unrolled_threefry_key`: the same bits, compiled about twice as
    fast on the CPU).
    """
    check.prng_key("key", key)
    n = check.positive_int("n", n)
    s = check.int_in_range("s", s, 0, n)
    check.one_of("amplitude", amplitude, AMPLITUDES)
    dtype = jnp.result_type(float) if dtype is None else dtype
    k_support, k_amp = jr.split(unrolled_threefry_key(key))
    support = permutation(k_support, n)[:s]
    if amplitude == "gaussian":
        values = jr.normal(k_amp, (s,), dtype)
    elif amplitude == "rademacher":
        values = jr.rademacher(k_amp, (s,), dtype)
    else:
        values = jr.uniform(k_amp, (s,), dtype, minval=-1.0, maxval=1.0)
    return jnp.zeros(n, dtype).at[support].set(values)


def sparse_signals(
    num: int, n: int, s: int, *, key: PRNGKeyArray, amplitude: str = "gaussian", dtype=None
) -> Float[Array, "num n"]:
    """`num` independent `sparse_signal`s, shape `(num, n)` (a `vmap` over split keys)."""
    check.prng_key("key", key)
    num = check.positive_int("num", num)
    n = check.positive_int("n", n)
    s = check.int_in_range("s", s, 0, n)
    check.one_of("amplitude", amplitude, AMPLITUDES)
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    return _sparse_signals(key, num, n, s, amplitude, dtype)


# One compiled program for the whole batch: called eagerly, the vmapped draws would otherwise
# be dispatched (and compiled) primitive by primitive.
@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _sparse_signals(key, num, n, s, amplitude, dtype):
    one = lambda k: sparse_signal(n, s, key=k, amplitude=amplitude, dtype=dtype)  # noqa: E731
    return jax.vmap(one)(jr.split(key, num))
