"""The closed-form (SVD) Landweber path equals the iterative one."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


@pytest.mark.parametrize("shape", [(12, 6), (8, 8), (6, 10)])
def test_spectral_equals_iterative_for_any_schedule(shape, key, x64):
    n, m = shape
    k_op, k_y, k_x0, k_t = jr.split(key, 4)
    op = bj.GaussianSensing(n, m, key=k_op)
    y = jr.normal(k_y, (m,))
    x0 = jr.normal(k_x0, (n,))
    tau = float(bj.default_step_size(op))
    for steps in (tau, tau * jr.uniform(k_t, (15,), minval=0.2, maxval=1.9)):
        ref = bj.landweber(op, y, x0=x0, step_size=steps, num_steps=15)
        got = bj.landweber_spectral(op, y, x0=x0, step_size=steps, num_steps=15)
        np.testing.assert_allclose(got[0], ref[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got[1], ref[1], rtol=1e-10, atol=1e-12)


def test_spectral_on_structured_operators(key, x64):
    y = jr.normal(key, (10,))
    for op in (bj.Mask(jnp.arange(10) % 3 > 0), bj.Subsample(jnp.array([1, 4, 7]), 10)):
        yy = y[: op.out_size()]
        ref = bj.landweber(op, yy, num_steps=5, step_size=0.7)
        got = bj.landweber_spectral(op, yy, num_steps=5, step_size=0.7)
        np.testing.assert_allclose(got[0], ref[0], atol=1e-12)
        np.testing.assert_allclose(got[1], ref[1], atol=1e-12)


def test_spectral_gradient_in_steps_matches_iterative(key, x64):
    k_op, k_y, k_x = jr.split(key, 3)
    op = bj.GaussianSensing(10, 5, key=k_op)
    x = jr.normal(k_x, (10,))
    y = op.mv(x) + 0.1 * jr.normal(k_y, (5,))
    steps = jnp.full(6, 0.15)

    def mse(solver):
        return lambda t: jnp.mean((solver(op, y, step_size=t, num_steps=6)[0] - x) ** 2)

    np.testing.assert_allclose(
        jax.grad(mse(bj.landweber_spectral))(steps),
        jax.grad(mse(bj.landweber))(steps),
        rtol=1e-9,
    )


def test_shared_svd_under_vmap(key):
    op = bj.GaussianSensing(16, 8, key=key)
    ys = jr.normal(jr.fold_in(key, 1), (30, 8))
    svd = bj.operator_svd(op)
    batched = jax.vmap(lambda y: bj.landweber_spectral(op, y, num_steps=40, svd=svd))(ys)
    ref = jax.vmap(lambda y: bj.landweber(op, y, num_steps=40))(ys)
    np.testing.assert_allclose(batched[0], ref[0], rtol=2e-4, atol=2e-5)


def test_gram_form_equals_iterative(key, x64):
    k_op, k_y, k_x0 = jr.split(key, 3)
    op = bj.GaussianSensing(12, 6, key=k_op)
    y, x0 = jr.normal(k_y, (6,)), jr.normal(k_x0, (12,))
    steps = jnp.linspace(0.05, 0.3, 9)
    ref = bj.landweber(op, y, x0=x0, step_size=steps, num_steps=9)
    got = bj.landweber_gram(op, y, x0=x0, step_size=steps, num_steps=9)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="gram must have shape"):
        bj.landweber_gram(op, y, num_steps=2, gram=jnp.eye(6))
