import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


@pytest.fixture
def problem(key, x64):
    k_op, k_x = jr.split(key)
    op = bj.GaussianSensing(30, 10, key=k_op)
    x = bj.sparse_signal(30, 4, key=k_x)
    return op, x, op.mv(x)


@pytest.mark.default_compiler
def test_landweber_from_zero_reaches_minimum_norm_solution(problem, x64):
    op, _, y = problem
    x, losses = bj.landweber(op, y, num_steps=800)
    a = np.asarray(op.matrix)
    np.testing.assert_allclose(x, np.linalg.pinv(a) @ np.asarray(y), atol=1e-9)
    assert losses.shape == (801,)
    assert np.all(np.diff(np.asarray(losses)) <= 1e-15)  # monotone for a step < 2/||A||^2


def test_landweber_from_x0_keeps_nullspace_part(problem, key, x64):
    op, _, y = problem
    x0 = jr.normal(jr.fold_in(key, 9), (30,))
    x, _ = bj.landweber(op, y, x0=x0, num_steps=800)
    a = np.asarray(op.matrix)
    pinv = np.linalg.pinv(a)
    expected = pinv @ np.asarray(y) + (np.eye(30) - pinv @ a) @ np.asarray(x0)
    np.testing.assert_allclose(x, expected, atol=1e-9)


def test_landweber_losses_definition_and_schedule(problem, x64):
    op, _, y = problem
    steps = jnp.linspace(0.05, 0.2, 6)
    x, losses = bj.landweber(op, y, step_size=steps, num_steps=6)
    # Re-run by hand: losses[k] is the loss at iterate k, k = 0..T.
    xk, expected = jnp.zeros(30), []
    for tau in steps:
        expected.append(bj.measurement_loss(op, xk, y))
        xk = xk + tau * op.T.mv(y - op.mv(xk))
    expected.append(bj.measurement_loss(op, xk, y))
    np.testing.assert_allclose(losses, expected, rtol=1e-12)
    np.testing.assert_allclose(x, xk, rtol=1e-12)


def test_default_step_is_inverse_squared_norm(problem):
    op, _, _ = problem
    np.testing.assert_allclose(
        bj.default_step_size(op), 1 / np.linalg.norm(op.matrix, 2) ** 2, rtol=1e-4
    )


@pytest.mark.parametrize("solver", [bj.ista, bj.fista])
def test_ista_identity_operator_is_soft_threshold(solver, key, x64):
    y = jr.normal(key, (20,))
    op = bj.MatrixOperator(jnp.eye(20))
    x, _ = solver(op, y, lam=0.5, num_steps=50)
    np.testing.assert_allclose(x, np.sign(y) * np.maximum(np.abs(y) - 0.5, 0), atol=1e-10)


@pytest.mark.parametrize("solver", [bj.ista, bj.fista])
def test_ista_fista_satisfy_lasso_optimality(solver, problem, x64):
    op, _, y = problem
    lam = 0.05
    x, objectives = solver(op, y, lam=lam, num_steps=5000)
    g = np.asarray(op.T.mv(y - op.mv(x)))  # the KKT conditions of the lasso
    on = np.abs(np.asarray(x)) > 1e-8
    assert on.any()
    np.testing.assert_allclose(g[on], lam * np.sign(np.asarray(x)[on]), atol=1e-6)
    assert np.all(np.abs(g[~on]) <= lam + 1e-6)
    if solver is bj.ista:
        assert np.all(np.diff(np.asarray(objectives)) <= 1e-12)


def test_fista_is_faster_than_ista(problem, x64):
    op, _, y = problem
    _, oi = bj.ista(op, y, lam=0.05, num_steps=100)
    _, of = bj.fista(op, y, lam=0.05, num_steps=100)
    _, ref = bj.fista(op, y, lam=0.05, num_steps=5000)
    assert of[-1] - ref[-1] < oi[-1] - ref[-1]


def test_lmmse_is_the_least_squares_affine_fit(key, x64):
    k1, k2, k3 = jr.split(key, 3)
    op = bj.GaussianSensing(12, 6, key=k1)
    xs = bj.sparse_signals(400, 12, 3, key=k2)
    ys = xs @ op.matrix.T + 0.1 * jr.normal(k3, (400, 6))
    est = bj.lmmse_fit(xs, ys, ridge=0.0)
    design = np.hstack([np.asarray(ys), np.ones((400, 1))])
    coef, *_ = np.linalg.lstsq(design, np.asarray(xs), rcond=None)
    np.testing.assert_allclose(est.weight, coef[:-1].T, atol=1e-10)
    np.testing.assert_allclose(est.bias, coef[-1], atol=1e-10)
    np.testing.assert_allclose(bj.lmmse_apply(est, ys[0]), design[0] @ coef, atol=1e-10)
