import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


@pytest.mark.parametrize("amplitude", ["gaussian", "rademacher", "uniform"])
def test_exactly_s_nonzeros(amplitude, key):
    xs = bj.sparse_signals(200, 64, 8, key=key, amplitude=amplitude)
    assert xs.shape == (200, 64)
    np.testing.assert_array_equal((xs != 0).sum(1), 8)
    if amplitude == "rademacher":
        np.testing.assert_array_equal(jnp.abs(xs[xs != 0]), 1.0)
    if amplitude == "uniform":
        assert float(jnp.abs(xs).max()) <= 1.0


def test_support_is_uniform_and_energy_is_s(key):
    xs = bj.sparse_signals(5000, 16, 4, key=key)
    freq = np.asarray((xs != 0).mean(0))
    sd = np.sqrt(0.25 * 0.75 / 5000)
    assert np.all(np.abs(freq - 0.25) < 5 * sd)
    energy = np.asarray((xs**2).sum(1))
    # E||x||^2 = s for N(0,1) amplitudes; sd of a chi^2_4 is sqrt(8).
    assert abs(energy.mean() - 4) < 5 * np.sqrt(8 / 5000)


def test_same_key_same_signal_different_key_different(key):
    a = bj.sparse_signal(32, 5, key=key)
    np.testing.assert_array_equal(a, bj.sparse_signal(32, 5, key=key))
    assert not np.array_equal(a, bj.sparse_signal(32, 5, key=jr.fold_in(key, 1)))


@pytest.mark.parametrize("amplitude", ["gaussian", "rademacher", "uniform"])
def test_the_numbers_of_jax_random(amplitude, key):
    # Drawn with Threefry's hash unrolled: the numbers jax.random gives for the same recipe.
    n, s = 70, 6  # above the counting permutation's size: jax.random.permutation itself

    def reference(k):
        k_support, k_amp = jr.split(k)
        draw = {"gaussian": jr.normal, "rademacher": jr.rademacher}.get(amplitude)
        if draw is None:
            values = jr.uniform(k_amp, (s,), minval=-1.0, maxval=1.0)
        else:
            values = draw(k_amp, (s,), jnp.result_type(float))
        return jnp.zeros(n).at[jr.permutation(k_support, n)[:s]].set(values)

    keys = jr.split(key, 5)
    want = np.stack([reference(k) for k in keys])
    np.testing.assert_array_equal(bj.sparse_signals(5, n, s, key=key, amplitude=amplitude), want)
    np.testing.assert_array_equal(bj.sparse_signal(n, s, key=keys[0], amplitude=amplitude), want[0])
    small = bj.sparse_signal(12, 3, key=keys[1])  # the counting permutation
    k_support, k_amp = jr.split(keys[1])
    support = jr.permutation(k_support, 12)[:3]
    np.testing.assert_array_equal(small[support], jr.normal(k_amp, (3,)))
    assert int((small != 0).sum()) == 3
