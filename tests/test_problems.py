"""The problem layer: signal sources, noise models, `measure` and `Problem.sample`."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


def test_sources_draw_one_signal(key):
    sparse = bj.SparseSource((6, 5), 4)
    x = sparse(key=key)
    assert x.shape == (6, 5) and int(jnp.sum(x != 0)) == 4
    data = jr.normal(key, (10, 3, 3))
    xs = jax.vmap(lambda k: bj.DatasetSource(data)(key=k))(jr.split(key, 50))
    # Every draw is one of the data set's rows.
    dist = jnp.abs(xs[:, None] - data[None]).sum((2, 3)).min(1)
    np.testing.assert_array_equal(dist, 0.0)


@pytest.mark.parametrize("complex_", [False, True])
def test_gaussian_noise_has_the_stated_variance(key, complex_):
    y = jnp.zeros(20_000, jnp.complex64 if complex_ else jnp.float32)
    e = bj.GaussianNoise(0.3)(y, key=key) - y
    power = float(jnp.mean(jnp.abs(e) ** 2))
    # E|e|^2 = sigma^2 per entry; the sample mean of 20,000 has sd ~ sigma^2 sqrt(2/20000).
    assert abs(power - 0.09) < 5 * 0.09 * np.sqrt(2 / 20_000)
    assert bool(jnp.iscomplexobj(e)) == complex_


def test_poisson_noise_mean_and_variance(key):
    y = jnp.full(20_000, 4.0)
    z = bj.PoissonNoise(0.5)(y, key=key)
    # g * Poisson(y / g): mean y = 4, variance g y = 2.
    assert abs(float(z.mean()) - 4.0) < 5 * np.sqrt(2 / 20_000)
    assert abs(float(z.var()) - 2.0) < 0.1
    both = bj.PoissonGaussianNoise(0.5, 0.1)(y, key=key)
    assert abs(float(both.var()) - 2.01) < 0.1


def test_measure_is_the_operator_plus_noise(key):
    op = bj.GaussianSensing((4, 4), 6, key=key)
    x = jr.normal(jr.fold_in(key, 1), (4, 4))
    np.testing.assert_array_equal(bj.measure(op, x), op.mv(x))
    y = bj.measure(op, x, bj.GaussianNoise(0.1), key=jr.fold_in(key, 2))
    expected = op.mv(x) + 0.1 * jr.normal(jr.fold_in(key, 2), (6,))
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="input shape"):
        bj.measure(op, jnp.ones(16))
    with pytest.raises(TypeError, match="key is required"):
        bj.measure(op, x, bj.GaussianNoise(0.1))


def test_problem_with_a_fixed_operator(key):
    op = bj.GaussianSensing(16, 8, key=key)
    problem = bj.Problem(bj.SparseSource(16, 3), op, bj.GaussianNoise(0.0))
    x, op_i, y = jax.jit(jax.vmap(lambda k: problem.sample(key=k)))(jr.split(key, 5))
    assert x.shape == (5, 16) and y.shape == (5, 8)
    np.testing.assert_allclose(y, x @ op.matrix.T, rtol=1e-5, atol=1e-6)


def test_problem_with_an_operator_per_signal(key):
    def draw(k):
        return bj.Mask(bj.random_mask((5, 5), 0.5, key=k))

    problem = bj.Problem(bj.DatasetSource(jnp.ones((3, 5, 5))), draw, bj.GaussianNoise(0.0))
    x, ops, y = jax.vmap(lambda k: problem.sample(key=k))(jr.split(key, 4))
    assert ops.mask.shape == (4, 5, 5)
    assert not bool(jnp.all(ops.mask[0] == ops.mask[1]))  # a fresh mask per signal
    np.testing.assert_array_equal(y, jnp.where(ops.mask, 1.0, 0.0))


def test_problem_is_a_pytree_over_noise_levels(key):
    problem = bj.Problem(bj.SparseSource(8, 2), bj.Mask(jnp.ones(8, bool)), bj.GaussianNoise(0.1))
    sigmas = jnp.array([0.0, 1.0])

    def at(sigma):  # the same problem at another noise level, swept by vmap
        return eqx.tree_at(lambda p: p.noise.sigma, problem, sigma).sample(key=key)[2]

    y = jax.jit(jax.vmap(at))(sigmas)
    x, _, _ = problem.sample(key=key)
    np.testing.assert_allclose(y[0], x)  # sigma = 0: the clean measurement
    assert float(jnp.abs(y[1] - x).max()) > 0


def test_problem_rejects_mismatched_parts(key):
    with pytest.raises(ValueError, match=r"operator takes inputs of shape \(16,\)"):
        bj.Problem(bj.SparseSource(8, 2), bj.GaussianSensing(16, 4, key=key))
    with pytest.raises(TypeError, match="source must be a signal source"):
        bj.Problem(jnp.ones(8), bj.GaussianSensing(8, 4, key=key))
    with pytest.raises(TypeError, match="operator must be a lineax operator"):
        bj.Problem(bj.SparseSource(8, 2), jnp.ones((4, 8)))
    with pytest.raises(ValueError, match="sigma must be finite and >= 0"):
        bj.GaussianNoise(-1.0)


@pytest.mark.parametrize("gain", [1e-3, 1e-7, 1e-10])  # rate 1e3 (exact), 1e7, 1e10 (normal)
def test_poisson_noise_mean_and_variance_at_any_rate(gain):
    """Mean Ax and variance g Ax, also past JAX's 32-bit counts (rates above 2^31)."""
    n = 20_000
    y = np.asarray(bj.PoissonNoise(gain)(jnp.ones(n), key=jr.key(3)), np.float64)
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(gain / n)
    # The sample variance's relative standard deviation is sqrt(2 / (n - 1)).
    assert abs(y.var(ddof=1) / gain - 1.0) < 5 * np.sqrt(2 / (n - 1))


def test_poisson_noise_keeps_nan_as_nan():
    y = bj.PoissonNoise(0.1)(jnp.array([jnp.nan, 1.0, -2.0]), key=jr.key(0))
    assert np.isnan(y[0]) and np.isfinite(y[1:]).all() and y[1] >= 0 and y[2] == 0.0


def test_source_draw_matches_one_signal_per_split_key(key):
    source = bj.SparseSource(12, 3)
    xs = source.draw(7, key=key)
    assert xs.shape == (7, 12)
    np.testing.assert_array_equal(xs, jax.vmap(lambda k: source(key=k))(jr.split(key, 7)))
    # The same draws as the library's batch of sparse signals.
    np.testing.assert_array_equal(xs, bj.sparse_signals(7, 12, 3, key=key))


def test_dataset_drawn_without_replacement_gives_distinct_entries(key):
    data = jnp.arange(10.0)[:, None] * jnp.ones((1, 3))
    xs = bj.DatasetSource(data, replace=False).draw(10, key=key)
    # Every entry exactly once: a permutation of the data set.
    np.testing.assert_array_equal(np.sort(np.asarray(xs[:, 0])), np.arange(10.0))
    with pytest.raises(ValueError, match="at most the data set's 10 signals"):
        bj.DatasetSource(data, replace=False).draw(11, key=key)
    with pytest.raises(TypeError, match="replace must be True or False"):
        bj.DatasetSource(data, replace=1)
    # With replacement: independent uniform draws, one per split key.
    source = bj.DatasetSource(data)
    np.testing.assert_array_equal(
        source.draw(30, key=key), jax.vmap(lambda k: source(key=k))(jr.split(key, 30))
    )


def test_problem_sample_many_with_a_fixed_operator(key):
    op = bj.GaussianSensing(16, 8, key=key)
    problem = bj.Problem(bj.SparseSource(16, 3), op, bj.GaussianNoise(0.5))
    x, op_out, y = problem.sample_many(6, key=key)
    assert x.shape == (6, 16) and y.shape == (6, 8) and op_out is op
    # Each signal measured through `measure` with its own noise key.
    k_noise = jr.split(key, 3)[2]
    expected = jax.vmap(lambda xi, k: bj.measure(op, xi, bj.GaussianNoise(0.5), key=k))(
        x, jr.split(k_noise, 6)
    )
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    assert float(jnp.abs(y - x @ op.matrix.T).max()) > 0.1  # the noise is there


def test_problem_sample_many_draws_an_operator_per_signal(key):
    def draw(k):
        return bj.Mask(bj.random_mask((5, 5), 0.5, key=k))

    data = jr.normal(key, (8, 5, 5))
    problem = bj.Problem(bj.DatasetSource(data, replace=False), draw)
    x, ops, y = problem.sample_many(8, key=key)
    assert ops.mask.shape == (8, 5, 5)
    assert not bool(jnp.all(ops.mask[0] == ops.mask[1]))
    np.testing.assert_array_equal(y, jnp.where(ops.mask, x, 0.0))
    # Without replacement: all 8 images, each once.
    dist = jnp.abs(x[:, None] - data[None]).sum((2, 3))
    np.testing.assert_array_equal(np.sort(np.asarray(jnp.argmin(dist, 1))), np.arange(8))
