r"""Random permutations of small arrays without a sort: the same numbers as
`jax.random.permutation`.

`jax.random.permutation(key, n)` draws 32-bit keys and sorts by them (one round of
`lax.sort_key_val` up to $n \approx 1600$; more rounds above, against repeated keys). On XLA:CPU a
batched sort of a few dozen entries is slow: in the methods study's Noise2Self step, one row
partition per signal (2,560 signals of 32 rows) was a quarter of the step. For small $n$ the
rank of each key in the stable sort is a count, $r_i = \#\{j : k_j < k_i\} + \#\{j < i : k_j
= k_i\}$ ($n^2$ comparisons, summed by a matrix product), and the permutation is read off the
ranks the same way. Both give exactly what the sort gives (`tests/test_random.py`); batched
over 2,560 keys the counting is 2.8-10x faster for $8 \le n \le 64$ on the 2-core CPU
(`python -m benchmarks.permutations`; less over few keys: 0.7x for $n = 8$ over 256). The
memory is $O(n^2)$ per permutation, hence the sort above `COUNTING_MAX`.

On the CPU, JAX lowers each Threefry hash (every `split`, `bits`, `normal` draw) to a rolled loop,
which XLA:CPU compiles slowly: `sparse_signal` makes four such draws, and most of its compile
time was theirs. `unrolled_threefry_key` re-labels a Threefry key with `UNROLLED_THREEFRY`, a
PRNG implementation defined through JAX's public `jax.extend.random.define_prng_impl` whose hash
is the same 20 Threefry-2x32 rounds written out (as JAX lowers them on GPU): every
`jax.random` function then returns the same numbers from it, compiled as straight-line code.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.extend.random as jex_random
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax
from jaxtyping import Array, Float, Int, PRNGKeyArray, UInt32

from . import _validate as check

# Up to this size the counting form is used (n^2 comparisons, 16 KB per permutation at 64);
# above it the sort. `benchmarks/permutations.py` measures both.
COUNTING_MAX = 64


_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry2x32(k1, k2, x1, x2):
    """The Threefry-2x32 hash (20 rounds) of the counter pairs `(x1, x2)` under the key
    `(k1, k2)`, unrolled: JAX's `threefry2x32` lowering with `use_rolled_loops=False`."""

    def rotate_left(v, d):
        return lax.shift_left(v, np.uint32(d)) | lax.shift_right_logical(v, np.uint32(32 - d))

    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = x1 ^ rotate_left(x2, r)
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def _counters(shape):
    # JAX's `iota_2x32_shape`: the flat index of each entry as (high, low) 32-bit words.
    size = math.prod(shape)
    if size >= 2**32:
        raise ValueError(f"at most 2**32 - 1 random entries per draw, got shape {shape}.")
    low = lax.iota(np.uint32, size).reshape(shape)
    return jnp.zeros(shape, np.uint32), low


def _unrolled_split(key, shape):
    b1, b2 = _threefry2x32(key[0], key[1], *_counters(shape))
    return jnp.stack([b1, b2], axis=b1.ndim)


def _unrolled_bits(key, bit_width, shape):
    b1, b2 = _threefry2x32(key[0], key[1], *_counters(shape))
    dtype = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}[bit_width]
    if bit_width == 64:
        hi, lo = b1.astype(dtype), b2.astype(dtype)
        return lax.shift_left(hi, jnp.asarray(32, dtype)) | lo
    return (b1 ^ b2).astype(dtype)


# Seeding and fold_in are rare: they use JAX's own Threefry.
UNROLLED_THREEFRY = jex_random.define_prng_impl(
    key_shape=(2,),
    seed=lambda seed: jr.key_data(jr.key(seed, impl="threefry2x32")),
    split=_unrolled_split,
    random_bits=_unrolled_bits,
    fold_in=lambda key, data: jr.key_data(
        jr.fold_in(jr.wrap_key_data(key, impl="threefry2x32"), data)
    ),
    name="threefry2x32_unrolled",
    tag="fry_unrolled",
)


def unrolled_threefry_key(key: PRNGKeyArray) -> PRNGKeyArray:
    """`key` (a Threefry key, typed or a raw `uint32[2]`) as a key of `UNROLLED_THREEFRY`: every
    `jax.random` function draws the same numbers from it as from `key`, with the hash unrolled.
    Keys of other implementations, and Threefry keys under
    `jax_threefry_partitionable=False` (another counter layout), are returned unchanged."""
    if jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):
        impl = jr.key_impl(key)
    else:
        impl = jax.config.jax_default_prng_impl
    if "threefry2x32" not in str(impl) or not jax.config.jax_threefry_partitionable:
        return key
    return jr.wrap_key_data(jr.key_data(key), impl=UNROLLED_THREEFRY)


def _one_sort_round(n: int) -> bool:
    # jax.random.permutation's number of sorting rounds (`jax._src.random._shuffle`).
    rounds = int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))
    return rounds == 1


def _count(matrix: Float[Array, "n k"], weights) -> Float[Array, " n"]:
    # Row sums of 0/1 entries as a matrix product: exact in float32 (n < 2**24; HIGHEST: no
    # reduced-precision products on accelerators), and on XLA:CPU several times faster than
    # the same sum as a reduction for n = 64-128 (benchmarks/permutations.py).
    return jnp.matmul(matrix, weights.astype(jnp.float32), precision=lax.Precision.HIGHEST)


def stable_ranks(keys: UInt32[Array, " n"]) -> Int[Array, " n"]:
    """The position of each of the 1-D uint32 `keys` after a stable ascending sort (ties in
    index order, as `lax.sort_key_val`), by counting the entries that come before it."""
    n = keys.shape[0]
    half = -(-n // 2)
    # The columns in two halves, padded with entries that precede nothing, visited by a loop:
    # a loop's operands are materialised, so XLA:CPU cannot fuse the keys' hash into the n^2
    # comparisons and compute it again for each (8x slower at n = 64).
    pad = 2 * half - n
    cols = jnp.concatenate([keys, jnp.full((pad,), jnp.iinfo(jnp.uint32).max, jnp.uint32)])
    cols, col_index = cols.reshape(2, half), jnp.arange(2 * half).reshape(2, half)
    row_index = jnp.arange(n)

    def add_half(b, total):
        k, i = cols[b], col_index[b]
        below = k[None, :] < keys[:, None]
        tied_before = (k[None, :] == keys[:, None]) & (i[None, :] < row_index[:, None])
        return total + _count((below | tied_before).astype(jnp.float32), jnp.ones(half))

    total = lax.fori_loop(0, 2, add_half, jnp.zeros(n, jnp.float32))
    return total.astype(jnp.arange(n).dtype)  # int32, or int64 under x64: jax's index dtype


def _sort_keys(key: PRNGKeyArray, n: int) -> Array:
    # The keys of jax.random.permutation's single round: bits of the split's second key.
    _, subkey = jr.split(key)
    return jr.bits(subkey, (n,), jnp.uint32)


# The counting forms as compiled programs, one per size: called eagerly (as tests and scripts
# do), a dozen primitives would otherwise each be compiled on their own.
@functools.partial(jax.jit, static_argnums=1)
def _counted_ranks(key: PRNGKeyArray, n: int) -> Int[Array, " n"]:
    return stable_ranks(_sort_keys(key, n))


@functools.partial(jax.jit, static_argnums=1)
def _counted_permutation(key: PRNGKeyArray, n: int) -> Int[Array, " n"]:
    ranks = _counted_ranks(key, n)
    # perm[p] = the index i whose rank is p: one match per row.
    hits = (ranks[None, :] == jnp.arange(n, dtype=ranks.dtype)[:, None]).astype(jnp.float32)
    return _count(hits, jnp.arange(n)).astype(jnp.arange(n).dtype)


def _counting(n: int, counting: bool | None) -> bool:
    use = n <= COUNTING_MAX if counting is None else counting
    return use and _one_sort_round(n)


def random_ranks(
    size: int, key: PRNGKeyArray, *, counting: bool | None = None
) -> Int[Array, " size"]:
    """A uniform random rank 0..size-1 for each of `size` entries: the inverse of
    `jr.permutation(key, size)` (the same numbers).

    `counting`: `None` (default) counts for `size` up to `COUNTING_MAX` and sorts above;
    `True` counts at any size where JAX sorts once (2 to about 1,600; JAX draws no keys for
    1 and sorts repeatedly above), `False` sorts. The numbers are the same."""
    size = check.positive_int("size", size)
    if _counting(size, counting):
        return _counted_ranks(key, size)
    perm = jr.permutation(key, size)
    # The inverse by a scatter: argsort's numbers without a second sort.
    ranks = jnp.arange(size, dtype=perm.dtype)
    return jnp.zeros(size, perm.dtype).at[perm].set(ranks, unique_indices=True)


def permutation(key: PRNGKeyArray, x, *, counting: bool | None = None) -> Array:
    """`jax.random.permutation(key, x)` for a Python int `x >= 1` (a permutation of
    `range(x)`) or a 1-D array `x` (its entries permuted): the same numbers, by counting for
    sizes up to `COUNTING_MAX` (`counting` as in `random_ranks`)."""
    if np.ndim(x) == 0:
        n = check.positive_int("x", x)
        x = None
    else:
        x = jnp.asarray(x)
        if x.ndim != 1:
            raise ValueError(f"x must be an int or a 1-D array, got an array of shape {x.shape}.")
        n = x.shape[0]
    if not _counting(n, counting):
        return jr.permutation(key, n if x is None else x)
    index = _counted_permutation(key, n)
    return index if x is None else x[index]
