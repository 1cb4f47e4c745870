"""Phase retrieval: the amplitude gradient, recovery up to the global sign or phase."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


def test_real_gradient_matches_autodiff(key, x64):
    k_op, k_x, k_y = jr.split(key, 3)
    op = bj.PhaseRetrieval.gaussian(6, 24, key=k_op)
    y = op(jr.normal(k_x, (6,))) + 0.1 * jr.uniform(k_y, (24,))
    x = jr.normal(jr.fold_in(key, 5), (6,))
    np.testing.assert_allclose(
        bj.amplitude_gradient(op, x, y),
        jax.grad(lambda v: bj.amplitude_loss(op, v, y))(x),
        rtol=1e-10,
    )


def test_complex_wirtinger_gradient_matches_finite_differences(key, x64):
    k_op, k_x, k_p = jr.split(key, 3)
    op = bj.PhaseRetrieval.gaussian(5, 20, key=k_op, complex=True)
    x_true = jr.normal(k_x, (5,)) + 1j * jr.normal(jr.fold_in(k_x, 1), (5,))
    y = op(x_true)
    x = x_true + 0.3 * (jr.normal(k_p, (5,)) + 1j * jr.normal(jr.fold_in(k_p, 1), (5,)))
    g = bj.amplitude_gradient(op, x, y)
    # For real f of complex x: df = Re <grad, dx> with grad = 2 df/d(conj x) (Wirtinger).
    eps = 1e-6
    for d in (jnp.eye(5)[2], 1j * jnp.eye(5)[3]):
        fd = (bj.amplitude_loss(op, x + eps * d, y) - bj.amplitude_loss(op, x - eps * d, y)) / (
            2 * eps
        )
        np.testing.assert_allclose(fd, jnp.real(jnp.vdot(g, d)), rtol=1e-6)


@pytest.mark.parametrize("complex_", [False, True])
def test_noiseless_recovery_up_to_global_phase(key, complex_, x64):
    k_op, k_x = jr.split(key)
    n = 8
    op = bj.PhaseRetrieval.gaussian(n, 10 * n, key=k_op, complex=complex_)
    x = jr.normal(k_x, (n,))
    y = op(x)
    x0 = bj.spectral_init(op, y)
    x_hat, losses = bj.amplitude_flow(op, y, x0=x0, num_steps=400)
    assert float(bj.relative_error(x_hat, x)) < 1e-6
    assert float(bj.relative_error(-x_hat if not complex_ else 1j * x_hat, x)) < 1e-6
    assert losses[-1] < 1e-10 * losses[0]


def test_relative_error_and_bad_input(key):
    x = jnp.array([1.0, -2.0, 0.5])
    assert float(bj.relative_error(-x, x)) < 1e-7
    assert float(bj.relative_error(1j * x, x)) < 1e-7
    with pytest.raises(ValueError, match="2-D"):
        bj.PhaseRetrieval(jnp.ones(3))
    op = bj.PhaseRetrieval.gaussian(3, 6, key=key)
    with pytest.raises(ValueError, match="x0 must have shape"):
        bj.amplitude_flow(op, op(x), x0=jnp.ones(4))
