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
