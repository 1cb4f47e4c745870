"""Schedules, the unrolled model, measurement-only losses and the training loop."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import pytest

import bridge_jax as bj


@pytest.fixture
def setting(key):
    k_op, k_x, k_e = jr.split(key, 3)
    op = bj.GaussianSensing(24, 12, key=k_op)
    xs = bj.sparse_signals(64, 24, 4, key=k_x)
    ys = jax.vmap(op.mv)(xs) + 0.05 * jr.normal(k_e, (64, 12))
    return op, xs, ys


def test_spectrum_bounds_against_numpy(setting):
    op = setting[0]
    sv = np.linalg.svd(np.asarray(op.matrix), compute_uv=False)
    lo, hi = bj.spectrum_bounds(op)
    np.testing.assert_allclose([lo, hi], [sv.min() ** 2, sv.max() ** 2], rtol=1e-4)


def test_chebyshev_attains_its_minimax_bound(x64):
    # max over [lo, hi] of |prod_k (1 - tau_k lam)| = 1 / T_T((hi + lo) / (hi - lo)).
    lo, hi, t = 0.2, 5.0, 7
    lam = np.linspace(lo, hi, 20001)
    steps = np.asarray(bj.chebyshev_steps(lo, hi, t))
    poly = np.prod(1 - steps[:, None] * lam[None], axis=0)
    bound = 1 / np.cosh(t * np.arccosh((hi + lo) / (hi - lo)))
    np.testing.assert_allclose(np.abs(poly).max(), bound, rtol=1e-6)
    const = np.abs(1 - float(bj.constant_best_step(lo, hi)) * lam).max() ** t
    assert bound < const  # Chebyshev beats the best constant step over the same T


def test_unrolled_model_equals_landweber(setting):
    op, _, ys = setting
    steps = jnp.linspace(0.05, 0.3, 6)
    model = bj.UnrolledLandweber(steps)
    expected, _ = bj.landweber(op, ys[0], step_size=steps, num_steps=6)
    np.testing.assert_allclose(model(op, ys[0]), expected, rtol=1e-6)
    assert model.num_steps == 6


def test_unrolled_model_takes_any_real_steps_landweber_only_positive_ones(setting):
    # A learned schedule may turn negative (`bridge-jax learn` trained one): the model computes
    # it, eagerly and compiled, while the solver keeps its convergence condition.
    op, _, ys = setting
    steps = jnp.asarray([0.3, -0.1, 0.2])
    a = np.asarray(op.matrix, np.float64)
    x = np.zeros(a.shape[1])
    for tau in np.asarray(steps, np.float64):
        x = x + tau * a.T @ (np.asarray(ys[0], np.float64) - a @ x)
    model = bj.UnrolledLandweber(steps)
    np.testing.assert_allclose(model(op, ys[0]), x, rtol=1e-5, atol=1e-6)
    compiled = eqx.filter_jit(lambda m, y: m(op, y))
    np.testing.assert_allclose(compiled(model, ys[0]), x, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="step_size must be finite and > 0"):
        bj.landweber(op, ys[0], step_size=steps, num_steps=3)


def test_unrolled_gradient_matches_finite_differences(setting, x64):
    op, xs, ys = setting
    op = bj.MatrixOperator(np.asarray(op.matrix, np.float64))
    model = bj.UnrolledLandweber(jnp.full(4, 0.2), x0=jnp.zeros(24))

    def loss(m):
        return jnp.mean(jax.vmap(lambda y, x: bj.supervised_loss(m, op, y, x))(ys, xs))

    grads = eqx.filter_grad(loss)(model)
    for i in range(4):
        e = jnp.zeros(4).at[i].set(1e-6)
        up = eqx.tree_at(lambda m: m.steps, model, model.steps + e)
        down = eqx.tree_at(lambda m: m.steps, model, model.steps - e)
        np.testing.assert_allclose(grads.steps[i], (loss(up) - loss(down)) / 2e-6, rtol=1e-5)
    assert grads.x0.shape == (24,)


def test_split_loss_matches_manual_computation(setting, key):
    op, _, ys = setting
    model = bj.UnrolledLandweber(jnp.full(5, 0.2))
    got = bj.measurement_split_loss(model, op, ys[0], key=key, holdout=0.25)
    seen = bj.random_mask(12, 0.25, key=key)
    x_hat, _ = bj.landweber(
        bj.Mask(seen) @ op, jnp.where(seen, ys[0], 0.0), step_size=0.2, num_steps=5
    )
    resid = (op.mv(x_hat) - ys[0])[~seen]
    np.testing.assert_allclose(got, np.mean(np.asarray(resid) ** 2), rtol=1e-5)
    # the held-out measurements do not enter the reconstruction, only the score
    y2 = ys[0].at[jnp.flatnonzero(~seen, size=3)].add(1.0)
    x2, _ = bj.landweber(bj.Mask(seen) @ op, jnp.where(seen, y2, 0.0), step_size=0.2, num_steps=5)
    np.testing.assert_allclose(x2, x_hat)


@pytest.mark.parametrize("loss_name", ["supervised", "split"])
def test_short_training_lowers_the_loss(setting, loss_name, key):
    op, xs, ys = setting
    model = bj.UnrolledLandweber.constant(5, 0.05)

    def loss(m, k):
        if loss_name == "supervised":
            return jnp.mean(jax.vmap(lambda y, x: bj.supervised_loss(m, op, y, x))(ys, xs))
        keys = jr.split(jr.key(0), ys.shape[0])  # fixed splits: a deterministic objective
        return jnp.mean(
            jax.vmap(lambda y, kk: bj.measurement_split_loss(m, op, y, key=kk))(ys, keys)
        )

    trained, losses = bj.fit(loss, model, key=key, num_steps=40, learning_rate=2e-2)
    assert losses.shape == (40,)
    # The split loss has a floor (held-out noise); ask for a clear, not a large, decrease.
    assert float(loss(trained, key)) < 0.97 * float(losses[0])
    assert np.all(np.asarray(losses[-5:]) < float(losses[0]))


def test_trained_model_serialises_and_vmaps(setting, tmp_path, key):
    op, _, ys = setting
    model = bj.UnrolledLandweber(jr.uniform(key, (5,), minval=0.05, maxval=0.2), x0=jnp.ones(24))
    path = tmp_path / "model.eqx"
    eqx.tree_serialise_leaves(path, model)
    like = bj.UnrolledLandweber(jnp.zeros(5), x0=jnp.zeros(24))
    loaded = eqx.tree_deserialise_leaves(path, like)
    np.testing.assert_array_equal(loaded(op, ys[0]), model(op, ys[0]))
    batched = jax.jit(jax.vmap(loaded, (None, 0)))(op, ys)
    np.testing.assert_allclose(batched[3], model(op, ys[3]), rtol=1e-6)
    # one schedule per trial: vmap over a batch of models
    models = jax.vmap(lambda s: bj.UnrolledLandweber(s))(jnp.full((3, 5), 0.1))
    out = jax.vmap(lambda m: m(op, ys[0]))(models)
    assert out.shape == (3, 24)


def test_nan_stops_training_with_step_and_parameter(setting, key):
    op, xs, ys = setting
    model = bj.UnrolledLandweber.constant(3, 0.1)

    def loss(m, k):
        return jnp.mean(jax.vmap(lambda y, x: bj.supervised_loss(m, op, y, x))(ys, xs)) + jnp.log(
            1.0 - m.steps[0] * 5.0
        )  # NaN once steps[0] passes 0.2

    with pytest.raises(FloatingPointError, match=r"at step \d+ with parameters \['\.steps'\]") as e:
        bj.fit(loss, model, key=key, num_steps=200, learning_rate=0.05)
    assert np.all(np.isfinite(e.value.model.steps))


def test_bad_hyperparameters_fail_before_compiling(setting, key, compile_count):
    op = setting[0]
    model, empty, y = bj.UnrolledLandweber(jnp.ones(2)), jnp.ones((0,)), jnp.zeros(12)
    before = compile_count()
    with pytest.raises(ValueError, match="learning_rate must be finite and > 0"):
        bj.fit(lambda m, k: 0.0, model, key=key, num_steps=3, learning_rate=0.0)
    with pytest.raises(ValueError, match="num_steps must be >= 1"):
        bj.UnrolledLandweber.constant(0, 0.1)
    with pytest.raises(ValueError, match="steps must be a 1-D array of length T >= 1"):
        bj.UnrolledLandweber(empty)
    with pytest.raises(ValueError, match=r"holdout must be in \[0.0, 1.0\)"):
        bj.measurement_split_loss(model, op, y, key=key, holdout=1.2)
    assert compile_count() == before


def test_fit_compiles_once_whatever_the_number_of_steps(key, compile_count):
    # The step and its finiteness guard compile once; more steps must not add compilations.
    def loss(m, k):
        return jnp.sum((m - 1.0) ** 2)

    bj.fit(loss, jnp.zeros(3), key=key, num_steps=2, learning_rate=0.1)
    start = compile_count()
    bj.fit(loss, jnp.zeros(3), key=key, num_steps=2, learning_rate=0.1)
    two = compile_count() - start
    start = compile_count()
    bj.fit(loss, jnp.zeros(3), key=key, num_steps=12, learning_rate=0.1)
    assert compile_count() - start == two


def _data_loss(data, m, k):
    return jnp.sum((m - data) ** 2)


def test_fit_takes_a_pytree_loss_data_as_inputs_not_constants(key, backend_compile_count):
    # The same step program for other data of the same shapes: no new compilation (it comes
    # from the session's compilation cache), where a closure over the data compiles anew.
    fit = functools.partial(bj.fit, key=key, num_steps=3, learning_rate=0.1)
    data, other_data = jnp.arange(5.0), jnp.arange(5.0) + 7.0
    first, _ = fit(jtu.Partial(_data_loss, data), jnp.zeros(5))
    start = backend_compile_count()
    other, losses = fit(jtu.Partial(_data_loss, other_data), jnp.zeros(5))
    assert backend_compile_count() == start
    # ... and the data is really the input: the other data's answer, not the first's.
    closure, closure_losses = fit(lambda m, k: _data_loss(other_data, m, k), jnp.zeros(5))
    assert backend_compile_count() > start
    np.testing.assert_array_equal(other, closure)
    np.testing.assert_array_equal(losses, closure_losses)
    assert not np.allclose(first, other)


class _UnhashableLoss:
    __hash__ = None  # a callable that is neither a pytree nor hashable

    def __call__(self, m, k):
        return jnp.sum((m - 2.0) ** 2)


def test_fit_takes_any_callable_loss(key):
    model, losses = bj.fit(
        _UnhashableLoss(), jnp.zeros(2), key=key, num_steps=100, learning_rate=0.1
    )
    np.testing.assert_allclose(model, 2.0, atol=0.1)
    assert losses[-1] < 0.01 * losses[0]


def test_unrolled_model_by_the_closed_form_equals_the_iteration(setting):
    op, xs, ys = setting
    svd = bj.operator_svd(op)
    model = bj.UnrolledLandweber(jnp.asarray([0.3, -0.1, 0.2, 0.25]), x0=jnp.full(24, 0.1))
    np.testing.assert_allclose(model(op, ys[0], svd=svd), model(op, ys[0]), rtol=1e-5, atol=1e-6)

    def loss(m, **kw):
        return jnp.mean(jax.vmap(lambda y, x: jnp.mean((m(op, y, **kw) - x) ** 2))(ys, xs))

    g_closed, g_iter = (
        eqx.filter_grad(lambda m: loss(m, svd=svd))(model),
        eqx.filter_grad(loss)(model),
    )
    np.testing.assert_allclose(g_closed.steps, g_iter.steps, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(g_closed.x0, g_iter.x0, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="svd must be operator_svd"):
        model(op, ys[0], svd=bj.operator_svd(bj.MatrixOperator(jnp.ones((3, 24)))))


def test_fit_records_every_loss_without_storage_for_the_whole_run(key):
    """losses[i] is the loss before update i, past the host's fetch buffer; and a run of
    10^12 steps starts (nothing of size num_steps is allocated up front)."""
    import optax

    def loss(w, k):
        return jnp.sum(w**2)

    steps, lr = 2500, 1e-3  # more steps than the losses buffered between fetches
    _, losses = bj.fit(loss, jnp.ones(()), key=key, num_steps=steps, optimizer=optax.sgd(lr))
    expected = (1 - 2 * lr) ** (2 * np.arange(steps))  # w_{i+1} = (1 - 2 lr) w_i
    assert losses.shape == (steps,)
    np.testing.assert_allclose(np.asarray(losses), expected, rtol=2e-3)

    class Stop(Exception):
        pass

    def stop(name, step, num_steps, value):
        raise Stop(step)

    with pytest.raises(Stop) as info:
        bj.fit(loss, jnp.ones(()), key=key, num_steps=10**12, log_every=1, progress=stop)
    assert info.value.args == (1,)
