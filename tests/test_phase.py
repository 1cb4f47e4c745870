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


def test_phase_retrieval_on_images_with_coded_diffraction(key):
    """Phase retrieval on a (H, W) image: coded diffraction patterns (random phase masks, then
    the orthonormal DFT), spectral initialisation and amplitude flow recover the image up to
    its sign; any lineax operator works in the same functions."""
    img = jr.uniform(jr.fold_in(key, 1), (12, 12))
    op = bj.PhaseRetrieval.coded_diffraction((12, 12), 3, key=key)
    y = op(img)
    assert y.shape == (3, 12, 12) and op.out_size == 3 * 144 and op.in_shape == (12, 12)
    # A^* A = L I for unit-modulus masks and an orthonormal DFT: measurements keep the energy.
    np.testing.assert_allclose(float(y.sum()), 3 * float(jnp.sum(img**2)), rtol=1e-4)
    x0 = bj.spectral_init(op, y, key=jr.fold_in(key, 2))
    x, losses = bj.amplitude_flow(op, y, x0=x0, step_size=0.6 * 144, num_steps=300)
    assert x.shape == (12, 12) and float(losses[-1]) < 1e-3 * float(losses[0])
    assert float(bj.relative_error(x, img)) < 1e-3
    with pytest.raises(ValueError, match=r"shape must be \(H, W\)"):
        bj.PhaseRetrieval.coded_diffraction((12,), 3, key=key)
    with pytest.raises(ValueError, match="matrix or a lineax operator"):
        bj.PhaseRetrieval(jnp.ones(5))


@pytest.mark.parametrize("complex_", [False, True])
def test_amplitude_flow_is_gradient_descent_on_the_amplitude_loss(key, complex_, x64):
    """The flow's loop (real products on (Re x, Im x) pairs for a complex matrix model) takes
    the steps x - mu * amplitude_gradient and reports amplitude_loss at every iterate."""
    k_op, k_x, k_0 = jr.split(key, 3)
    n, m, mu = 6, 30, 0.4
    op = bj.PhaseRetrieval.gaussian(n, m, key=k_op, complex=complex_)
    y = op(jr.normal(k_x, (n,))) + 0.05 * jr.uniform(jr.fold_in(k_x, 1), (m,))
    x = x0 = jr.normal(k_0, (n,)) + (1j * jr.normal(jr.fold_in(k_0, 1), (n,)) if complex_ else 0)
    expected = []
    for _ in range(5):
        expected.append(bj.amplitude_loss(op, x, y))
        x = x - mu * bj.amplitude_gradient(op, x, y)
    expected.append(bj.amplitude_loss(op, x, y))
    x_hat, losses = bj.amplitude_flow(op, y, x0=x0, step_size=mu, num_steps=5)
    assert x_hat.dtype == x.dtype
    np.testing.assert_allclose(x_hat, x, rtol=1e-12)
    np.testing.assert_allclose(losses, jnp.stack(expected), rtol=1e-12)


def test_matrix_model_on_images(key):
    """A matrix model on (H, W) images (`MatrixOperator(a, in_shape=...)`) measures and
    reconstructs what the same matrix does on the flattened vectors."""
    a = jr.normal(key, (40, 16)) + 1j * jr.normal(jr.fold_in(key, 1), (40, 16))
    on_vectors = bj.PhaseRetrieval(a)
    on_images = bj.PhaseRetrieval(bj.MatrixOperator(a, in_shape=(4, 4)))
    img = jr.normal(jr.fold_in(key, 2), (4, 4))
    y = on_images(img)
    np.testing.assert_allclose(y, on_vectors(img.ravel()), rtol=1e-5)
    x0 = (img + 0.1 * jr.normal(jr.fold_in(key, 3), (4, 4))).astype(a.dtype)
    x_img, _ = bj.amplitude_flow(on_images, y, x0=x0, step_size=0.1, num_steps=20)
    x_vec, _ = bj.amplitude_flow(on_vectors, y, x0=x0.ravel(), step_size=0.1, num_steps=20)
    assert x_img.shape == (4, 4)
    np.testing.assert_allclose(x_img.ravel(), x_vec, rtol=1e-4, atol=1e-5)


def test_complex_model_against_the_complex_formulas(key, x64):
    """The loss and gradient of a complex matrix model (computed on (Re x, Im x) pairs with
    real products) against the formulas in NumPy's complex arithmetic."""
    k_op, k_x, k_y = jr.split(key, 3)
    op = bj.PhaseRetrieval.gaussian(5, 17, key=k_op, complex=True)
    x = jr.normal(k_x, (5,)) + 1j * jr.normal(jr.fold_in(k_x, 1), (5,))
    y = op(jr.normal(k_y, (5,))) - 0.05  # a few negative measurements count as 0
    a, xn, yn = np.asarray(op.matrix), np.asarray(x), np.maximum(np.asarray(y), 0.0)
    z = a @ xn
    residual = z - np.sqrt(yn) * z / np.abs(z)
    np.testing.assert_allclose(
        bj.amplitude_gradient(op, x, y), a.conj().T @ residual / 17, rtol=1e-12
    )
    np.testing.assert_allclose(
        bj.amplitude_loss(op, x, y), 0.5 * np.mean((np.abs(z) - np.sqrt(yn)) ** 2), rtol=1e-12
    )


def test_gradients_stay_finite_where_a_measurement_is_zero(key):
    """At x = 0, or with a zero row of A, |Ax| is 0 somewhere: jax.grad of the loss (in x, in
    A, through amplitude_flow in the step size) is finite, as for jnp.abs of a complex 0."""
    a = jr.normal(key, (12, 4)) + 1j * jr.normal(jr.fold_in(key, 1), (12, 4))
    a = a.at[3].set(0.0)
    x = jr.normal(jr.fold_in(key, 2), (4,)).astype(a.dtype)
    y = bj.PhaseRetrieval(a)(x)
    for x_at in (jnp.zeros_like(x), x + 0.1):
        g = jax.grad(lambda v: bj.amplitude_loss(bj.PhaseRetrieval(a), v, y).real)(x_at.real)
        g_a = jax.grad(lambda b, v=x_at: bj.amplitude_loss(bj.PhaseRetrieval(b), v, y))(a)
        assert bool(jnp.all(jnp.isfinite(g))) and bool(jnp.all(jnp.isfinite(g_a)))

    def last_loss(mu):
        return bj.amplitude_flow(bj.PhaseRetrieval(a), y, x0=x + 0.1, step_size=mu, num_steps=3)[1][
            -1
        ]

    assert bool(jnp.isfinite(jax.grad(last_loss)(0.3)))


def test_amplitude_flow_vmapped_over_signals_equals_a_loop(key):
    op = bj.PhaseRetrieval.gaussian(4, 16, key=key, complex=True)
    xs = jr.normal(jr.fold_in(key, 1), (3, 4)).astype(op.matrix.dtype)
    ys = jax.vmap(op)(xs)
    x0s = xs + 0.2
    batched = jax.vmap(lambda y, z: bj.amplitude_flow(op, y, x0=z, num_steps=10)[0])(ys, x0s)
    for i in range(3):
        one = bj.amplitude_flow(op, ys[i], x0=x0s[i], num_steps=10)[0]
        np.testing.assert_allclose(batched[i], one, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("complex_", [False, True])
def test_amplitude_flow_stops_when_the_iterate_stops_moving(key, complex_):
    """With `tol` the flow stops after the first step whose relative change is <= tol: its
    result is the fixed-length flow's after that many steps, and its losses repeat the last."""
    k_op, k_x = jr.split(key)
    op = bj.PhaseRetrieval.gaussian(8, 64, key=k_op, complex=complex_)
    x = jr.normal(k_x, (8,))
    y = op(x)
    x0 = bj.spectral_init(op, y)
    tol = 1e-4
    x_stop, losses = bj.amplitude_flow(op, y, x0=x0, num_steps=500, tol=tol)
    x_all, losses_all = bj.amplitude_flow(op, y, x0=x0, num_steps=500)
    # The step count from the fixed-length flow: the first k with a change <= tol.
    xs = [x0]
    for _ in range(500):
        xs.append(bj.amplitude_flow(op, y, x0=xs[-1], num_steps=1)[0])
        if jnp.linalg.norm(xs[-1] - xs[-2]) <= tol * jnp.linalg.norm(xs[-1]):
            break
    k = len(xs) - 1
    assert 1 < k < 500
    np.testing.assert_allclose(x_stop, xs[-1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(losses[: k + 1], losses_all[: k + 1], rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(losses[k:], jnp.full(501 - k, losses[k]))
    assert losses.shape == losses_all.shape
    assert float(bj.relative_error(x_stop, x)) < 1e-2


def test_amplitude_flow_with_tol_vmapped_equals_a_loop(key):
    """Under vmap each signal stops at its own step (one starts at 0, where it never moves)."""
    op = bj.PhaseRetrieval.gaussian(4, 32, key=key)
    xs = jr.normal(jr.fold_in(key, 1), (3, 4))
    ys = jax.vmap(op)(xs)
    x0s = jnp.stack([xs[0] + 0.05, xs[1] + 0.3, jnp.zeros(4)])

    def flow(y, z):
        return bj.amplitude_flow(op, y, x0=z, num_steps=300, tol=1e-5)

    batched_x, batched_losses = jax.vmap(flow)(ys, x0s)
    for i in range(3):
        one_x, one_losses = flow(ys[i], x0s[i])
        np.testing.assert_allclose(batched_x[i], one_x, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(batched_losses[i], one_losses, rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(batched_x[2], jnp.zeros(4))


def test_amplitude_flow_rejects_a_negative_tol(key):
    op = bj.PhaseRetrieval.gaussian(3, 6, key=key)
    with pytest.raises(ValueError, match="tol must be finite and >= 0"):
        bj.amplitude_flow(op, op(jnp.ones(3)), x0=jnp.ones(3), tol=-1.0)
