"""Gradients against central finite differences (float64)."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj


def _fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_grad_of_landweber_loss_wrt_step_size(key, x64):
    k_op, k_x = jr.split(key)
    op = bj.GaussianSensing(20, 10, key=k_op)
    x_true = bj.sparse_signal(20, 4, key=k_x)
    y = op.mv(x_true)

    def mse(tau):
        x, _ = bj.landweber(op, y, step_size=tau, num_steps=12)
        return jnp.mean((x - x_true) ** 2)

    tau = jnp.asarray(0.3)
    np.testing.assert_allclose(jax.grad(mse)(tau), _fd(mse, tau), rtol=1e-6)


def test_grad_wrt_per_iteration_steps(key, x64):
    op = bj.GaussianSensing(20, 10, key=key)
    y = op.mv(bj.sparse_signal(20, 4, key=jr.fold_in(key, 1)))
    steps = jnp.linspace(0.1, 0.4, 5)
    loss = lambda s: bj.landweber(op, y, step_size=s, num_steps=5)[1][-1]  # noqa: E731
    g = jax.grad(loss)(steps)
    for i in range(5):
        e = jnp.zeros(5).at[i].set(1.0)
        np.testing.assert_allclose(g[i], _fd(lambda t, e=e: loss(steps + t * e), 0.0), rtol=1e-5)


def test_grad_of_augmentation_statistic_wrt_angle(key, x64):
    xs = bj.sparse_signals(20, 10, 3, key=key)
    keys = jr.split(jr.fold_in(key, 1), 20)

    def spread(angle):
        views = jax.vmap(lambda k, x: bj.augmentations(x, 4, key=k, angle=angle, sigma=0.05))(
            keys, xs
        )
        return jnp.trace(bj.augmentation_covariance(views))

    a = jnp.asarray(0.2)
    np.testing.assert_allclose(jax.grad(spread)(a), _fd(spread, a), rtol=1e-5)
