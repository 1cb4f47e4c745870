"""Random draws: `use_unrolled_threefry` gives the same bits; small permutations by counting
(`bridge_jax._random`) give the same numbers as `jax.random.permutation`."""

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj

DRAWS = """
import jax, jax.numpy as jnp, jax.random as jr
keys = jr.split(jr.key(7), 3)
draws = {
    "bits": jax.vmap(lambda k: jr.bits(k, (5, 4)))(keys),
    "normal": jax.jit(jax.vmap(lambda k: jr.normal(k, (6,))))(keys),
    "uniform": jr.uniform(jr.fold_in(keys[0], 3), (9,)),
    "permutation": jr.permutation(keys[1], 10),
}
"""


def _draws():
    namespace: dict = {}
    exec(DRAWS, namespace)
    return {k: np.asarray(v).tolist() for k, v in namespace["draws"].items()}


def test_unrolled_threefry_gives_jax_default_bits(tmp_path):
    # The tests run with it on (conftest); a fresh process without bridge_jax has JAX's own
    # rolled lowering. Every draw, eager, vmapped and compiled, must be the same.
    assert bj.use_unrolled_threefry()  # this JAX has the internals it replaces
    script = DRAWS + "import json, numpy as np\nprint(json.dumps({k: np.asarray(v).tolist() "
    script += "for k, v in draws.items()}))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    assert json.loads(out.stdout) == _draws()


def test_unrolled_threefry_program_has_no_loop():
    # What makes it fast: the 20 rounds are straight-line code, not a while loop over the
    # whole array per 4 rounds.
    bj.use_unrolled_threefry()
    text = jax.jit(lambda k: jr.bits(k, (64,))).lower(jr.key(0)).as_text()
    assert "stablehlo.while" not in text
    assert jnp.asarray(jr.bits(jr.key(0), (64,))).dtype == jnp.uint32


def test_permutations_by_counting_equal_jax_permutation():
    from bridge_jax import _random

    def both(key, n):
        ints, floats = jnp.arange(n) % 3, jnp.linspace(-1.0, 1.0, n)
        want = (jr.permutation(key, n), jr.permutation(key, ints), jr.permutation(key, floats))
        got = [
            (
                _random.permutation(key, n, counting=counting),
                _random.permutation(key, ints, counting=counting),
                _random.permutation(key, floats, counting=counting),
                _random.random_ranks(n, key, counting=counting),
            )
            for counting in (None, True)
        ]
        return want, got

    # Sizes around the halves (odd, even), the threshold and above it (the default sorts
    # there); ints, integer and float arrays; vmapped and compiled, as the losses draw them
    # (one per signal); typed keys, and raw uint32 keys for one size.
    cases = [(n, jr.split(jr.key(n), 3)) for n in (1, 7, 32, 45, 64, 65, 200)]
    cases.append((45, jr.split(jr.PRNGKey(45), 3)))
    for n, keys in cases:
        want, got = jax.jit(jax.vmap(lambda k, n=n: both(k, n)))(keys)
        inverse = np.argsort(np.asarray(want[0]), axis=1)
        for counting, (perm, ints, floats, ranks) in zip((None, True), got, strict=True):
            for a, b in ((perm, want[0]), (ints, want[1]), (floats, want[2])):
                assert a.dtype == b.dtype and np.array_equal(a, b), (n, counting)
            assert ranks.dtype == want[0].dtype and np.array_equal(ranks, inverse)


def test_permutations_by_counting_under_x64_and_other_generators(x64):
    from bridge_jax import _random

    # Under x64 JAX's indices are int64; with another generator (rbg) the keys are drawn by
    # its own split and bits, as jax.random.permutation draws them.
    for key in (jr.key(3), jr.key(3, impl="rbg")):
        want = jr.permutation(key, 32)
        got = _random.permutation(key, 32)
        ranks = _random.random_ranks(32, key)
        assert got.dtype == want.dtype == ranks.dtype
        assert np.array_equal(got, want)
        assert np.array_equal(ranks, np.argsort(np.asarray(want)))


def test_small_permutations_do_not_sort():
    # The default path for small sizes is the counting one (the speed-up is its point).
    from bridge_jax import _random

    for fn in (
        lambda k: _random.permutation(k, 32),
        lambda k: _random.random_ranks(32, k),
        lambda k: bj.row_groups((32,), 4, key=k),
    ):
        assert "sort" not in str(jax.make_jaxpr(fn)(jr.key(0)))
    assert "sort" in str(jax.make_jaxpr(lambda k: _random.permutation(k, 65))(jr.key(0)))


def test_stable_ranks_break_ties_by_index_as_the_sort():
    from bridge_jax import _random

    # 32-bit keys collide rarely, so the ties are made by hand: the counting must order equal
    # keys by position, as the stable sort inside jax.random.permutation does.
    rng = np.random.default_rng(0)
    for n in (2, 5, 16, 33):
        keys = jnp.asarray(rng.integers(0, 4, n), jnp.uint32)  # many ties
        keys = keys.at[0].set(np.iinfo(np.uint32).max)  # and the padding's value
        _, order = jax.lax.sort_key_val(keys, jnp.arange(n))
        assert np.array_equal(_random.stable_ranks(keys), np.argsort(np.asarray(order)))


def test_permutation_rejects_bad_input():
    from bridge_jax import _random

    with pytest.raises(ValueError, match="1-D array"):
        _random.permutation(jr.key(0), jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="x must be >= 1"):
        _random.permutation(jr.key(0), 0)


def test_row_groups_are_the_permutation_of_group_labels():
    # row_groups draws its partition without a sort; it is still jax.random.permutation's.
    key = jr.key(11)
    for shape, groups in (((32,), 4), ((5, 6), 4), ((100,), 3)):
        m = int(np.prod(shape))
        label = jr.permutation(key, jnp.arange(m) % groups).reshape(shape)
        want = label[None] == jnp.arange(groups).reshape((-1,) + (1,) * len(shape))
        assert np.array_equal(bj.row_groups(shape, groups, key=key), want)


def _jax_draws(key):
    return {
        "split": jr.key_data(jr.split(key, 3)),
        "fold_in": jr.key_data(jr.fold_in(key, 11)),
        "bits8": jr.bits(key, (3, 5), jnp.uint8),
        "bits": jr.bits(key, (4, 3)),
        "normal": jr.normal(key, (7,)),
        "uniform": jr.uniform(key, (2, 3), minval=-1.0, maxval=2.0),
        "rademacher": jr.rademacher(key, (9,)),
        "permutation": jr.permutation(key, 100),
        "counted": bj._random.permutation(key, 20),
    }


@pytest.mark.parametrize("width", [32, 64])
def test_unrolled_threefry_key_draws_jax_numbers(width, key):
    # A key re-labelled with the unrolled implementation draws what jax.random draws from the
    # original key, for typed and raw keys, eagerly and under jit and vmap (float64 normals
    # use 64-bit draws).
    with jax.enable_x64(width == 64):
        for k in (key, jr.key(3), jr.PRNGKey(5), jr.split(jr.key(9), 4)[2]):
            fast = bj._random.unrolled_threefry_key(k)
            assert jr.key_impl(fast) is not jr.key_impl(jr.key(0))
            want, got = _jax_draws(k), _jax_draws(fast)
            for name in want:
                np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        keys = jr.split(key, 4)
        draw = jax.jit(jax.vmap(lambda k: jr.normal(k, (5,))))
        fast = jax.vmap(bj._random.unrolled_threefry_key)(keys)
        np.testing.assert_array_equal(draw(fast), draw(keys))


def test_unrolled_threefry_key_leaves_other_keys_alone():
    rbg = jr.key(0, impl="rbg")
    assert bj._random.unrolled_threefry_key(rbg) is rbg
