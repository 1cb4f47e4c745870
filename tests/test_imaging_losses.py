"""Imaging self-supervised losses: Noise2Self, EI, Noisier2Noise, their defining properties."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


class Linear:
    """A linear reconstructor x = W A^T y (callable as model(op, y))."""

    def __init__(self, w):
        self.w = w

    def __call__(self, op, y):
        return self.w @ op.T.mv(y)


def test_noise2self_is_j_invariant(key):
    # The identity map copies its input, so it fits y perfectly under measurement consistency.
    # Under a J-invariant loss the prediction of row j cannot see y_j: the copy of a hidden row
    # is 0 and every row costs y_j^2, whatever the partition.
    op = bj.MatrixOperator(jnp.eye(10))
    y = jr.normal(key, (10,))

    def identity(o, yy):
        return o.T.mv(yy)

    assert float(bj.measurement_consistency_loss(identity, op, y)) == 0.0
    for groups in (2, 3, 10):
        for k in jr.split(jr.fold_in(key, groups), 3):
            loss = bj.noise2self_loss(identity, op, y, key=k, num_groups=groups)
            np.testing.assert_allclose(loss, jnp.mean(y**2), rtol=1e-6)


def test_noise2self_prediction_of_a_row_does_not_depend_on_it(key, x64):
    # Linear model: the loss is a quadratic in y, sum_j (p_j(y) - y_j)^2 / m with p linear.
    # J-invariance means p_j has no y_j term, so the cross-term -2 p_j y_j has no y_j^2 part:
    # d^2 L / d y_j^2 = (2 / m) (1 + sum_{i != j} (dp_i / dy_j)^2) >= 2 / m, while a model that
    # may copy y_j (consistency loss with the identity-like linear map) can go below it.
    k_w, k_y, k_l = jr.split(key, 3)
    op = bj.MatrixOperator(jnp.eye(8))
    w = jnp.eye(8) + 0.1 * jr.normal(k_w, (8, 8))
    model = Linear(w)
    y = jr.normal(k_y, (8,))
    hess = jax.hessian(lambda yy: bj.noise2self_loss(model, op, yy, key=k_l, num_groups=4))(y)
    assert np.all(np.diag(hess) >= 2.0 / 8 - 1e-12)
    hess_mc = jax.hessian(lambda yy: bj.measurement_consistency_loss(model, op, yy))(y)
    assert np.all(np.diag(hess_mc) < 2.0 / 8)


def test_ei_loss_is_zero_for_equivariant_consistent_reconstructor(key, x64):
    k_op, k_x, k_l = jr.split(key, 3)
    op = bj.GaussianSensing(7, 7, key=k_op)  # square and invertible
    inverse = jnp.linalg.inv(op.matrix)

    def model(o, y):
        return inverse @ y  # f(A T x) = T x: consistent and shift-equivariant

    y = op.mv(bj.sparse_signal(7, 3, key=k_x))
    assert float(bj.ei_loss(model, op, y, bj.random_shift, key=k_l)) < 1e-20

    def shrink(o, y):
        return 0.5 * inverse @ y  # equivariant but not consistent

    assert float(bj.ei_loss(shrink, op, y, bj.random_shift, key=k_l)) > 1e-3


def test_ei_loss_penalises_a_non_equivariant_reconstructor(key):
    k_op, k_x, k_l = jr.split(key, 3)
    op = bj.Mask(jnp.arange(8) % 2 == 0)
    y = op.mv(bj.sparse_signal(8, 8, key=k_x))
    # The zero-filled reconstruction fits y exactly but is not shift-equivariant.
    loss = bj.ei_loss(lambda o, yy: yy, op, y, bj.random_shift, key=k_l)
    assert float(loss) > 1e-3


def test_noisier2noise_correction_recovers_the_clean_posterior_mean(key, x64):
    # Linear toy: x ~ N(0, I), y = x + sigma e (A = I), z = y + alpha sigma e'. The best linear
    # map z -> y is c z with c = (1 + s2) / (1 + s2 (1 + a2)); the corrected estimate must be
    # E[x | z] = z / (1 + s2 (1 + a2)).
    n, num, sigma, alpha = 3, 200_000, 0.7, 0.8
    kx, ky, kz, kt = jr.split(key, 4)
    x = jr.normal(kx, (num, n))
    y = x + sigma * jr.normal(ky, (num, n))
    z = jax.vmap(lambda k, yy: bj.noisier(yy, key=k, sigma=sigma, alpha=alpha))(
        jr.split(kz, num), y
    )
    g = jnp.linalg.lstsq(z, y)[0].T  # fitted by Noisier2Noise's loss, no clean data used
    op = bj.MatrixOperator(jnp.eye(n))
    z_test = jr.normal(kt, (n,))
    corrected = bj.noisier2noise_estimate(lambda o, zz: g @ zz, op, z_test, alpha=alpha)
    expected = z_test / (1 + sigma**2 * (1 + alpha**2))
    # Sampling error of the fitted slope is ~ 1/sqrt(num), amplified by (1 + a2) / a2.
    np.testing.assert_allclose(corrected, expected, atol=0.02 * np.abs(z_test).max())
    uncorrected = g @ z_test
    assert np.abs(uncorrected - expected).max() > 0.1 * np.abs(expected).max()


def test_noisier2noise_loss_uses_only_measurements(key):
    op = bj.GaussianSensing(6, 4, key=key)
    y = jnp.ones(4)
    loss = bj.noisier2noise_loss(lambda o, z: o.T.mv(z), op, y, key=key, sigma=0.1)
    assert np.isfinite(float(loss))
    with pytest.raises(ValueError, match="alpha"):
        bj.noisier(y, key=key, sigma=0.1, alpha=0.0)
    with pytest.raises(ValueError, match="num_groups"):
        bj.noise2self_loss(lambda o, z: o.T.mv(z), op, y, key=key, num_groups=1)


def test_cyclic_shift_group(key):
    x = jnp.arange(6.0)
    np.testing.assert_array_equal(bj.cyclic_shift(x, 2), np.roll(np.arange(6.0), 2))
    np.testing.assert_array_equal(bj.cyclic_shift(bj.cyclic_shift(x, 2), 4), x)
    shifted = bj.random_shift(x, key=key)
    assert not np.array_equal(shifted, x) and sorted(np.asarray(shifted)) == list(range(6))


# --------------------------------------------------------------------------- split inference


class _Conv3(bj.AbstractDenoiser):
    """A learned 3x3 convolution of A^T y (a network on A^T y), initialised at the identity."""

    w: jax.Array

    def denoise(self, x):
        return jax.scipy.signal.convolve2d(x, self.w, mode="same")


def test_row_groups_partition_and_cyclic_holdouts_cover(key):
    groups = np.asarray(bj.row_groups((5, 6), 4, key=key))
    assert groups.shape == (4, 5, 6)
    np.testing.assert_array_equal(groups.sum(0), 1)  # every row in exactly one group
    assert sorted(groups.sum((1, 2))) == [7, 7, 8, 8]
    # h = 0.4, K = 5, m = 30: windows of 12 ranks starting every 6: each row held out twice.
    held = np.asarray(bj.cyclic_holdouts((5, 6), 0.4, 5, key=key))
    np.testing.assert_array_equal(held.sum(0), 2)
    np.testing.assert_array_equal(held.sum((1, 2)), 12)
    held = np.asarray(bj.cyclic_holdouts(21, 0.4, 3, key=key))  # 3 x 8 >= 21: once or twice
    assert held.sum(0).min() == 1 and held.sum(0).max() == 2
    with pytest.raises(ValueError, match="num_splits"):
        bj.cyclic_holdouts(30, 0.4, 2, key=key)  # 2 x 12 < 30 leaves rows never held out


@pytest.mark.parametrize("name", ["noise2self", "ssdu"])
def test_split_inference_of_the_identity_is_zero(name, key):
    # A model that copies its input, f(A, y) = A^T y = y (denoising; as an untrained UNet
    # does): each row is predicted by a model that saw it zeroed, so the held-out prediction of
    # every row is 0, and so is the reconstruction (the J-invariant f_J of the identity).
    # Evaluated on the full measurement, as before the fix, it returned y.
    k_y, k_out = jr.split(key)
    identity = _Conv3(jnp.zeros((3, 3)).at[1, 1].set(1.0))
    cls = type(bj.make_method(name, 36, key=key, reconstructor=identity))
    method = cls(model=identity)  # sigma None: the noise is not known
    op = bj.Mask(jnp.ones((6, 6), bool))  # the identity on (6, 6) images
    y = 0.1 * jr.normal(k_y, (6, 6))  # entries of about 0.1, as pixel errors are
    np.testing.assert_allclose(identity(op, y), y, atol=1e-6)
    output = eqx.filter_jit(lambda m, yy, k: m.output(op, yy, yy, key=k))
    np.testing.assert_allclose(output(method, y, k_out), 0.0, atol=1e-6)
    # With the noise level known, each row weighs the held-out prediction (0) against y:
    # w = v / (v + sigma^2), v = mean(y^2) - sigma^2 (the prediction's error variance as y
    # shows it), so the output is w y; at sigma = 0 it is y (exactly data-consistent), and
    # above the measured spread (v clipped at 0) the held-out prediction alone.
    for sigma in (0.0, 0.05, 0.5):
        v = max(float(jnp.mean(y**2)) - sigma**2, 0.0)
        w = v / (v + sigma**2)
        made = bj.make_method(name, 36, key=key, reconstructor=identity, sigma=sigma)
        np.testing.assert_allclose(output(made, y, k_out), w * y, atol=1e-5)
    # Other noise models (Poisson): the level is not known, the output J-invariant.
    poisson = bj.make_method(
        name, 36, key=key, reconstructor=identity, sigma=0.5, noise=bj.PoissonNoise(0.1)
    )
    assert poisson.sigma is None
    np.testing.assert_allclose(output(poisson, y, k_out), 0.0, atol=1e-6)
    # Asked for the full measurement (the default for unrolled networks), it copies y.
    method = type(method)(model=identity, split_inference=False)
    np.testing.assert_allclose(method.output(op, y, y, key=k_out), y, atol=1e-6)
    unrolled = type(method)(model=bj.UnrolledShrinkage(36, num_iters=2, step=1.0))
    vec = bj.MatrixOperator(jnp.eye(36))
    np.testing.assert_array_equal(
        unrolled.output(vec, y.reshape(-1), None, key=k_out), unrolled.model(vec, y.reshape(-1))
    )


def test_split_inference_keeps_a_consistent_reconstruction(key, x64):
    # Noiseless, overdetermined (m = 40 > n = 16): every 3/4 of the rows determine x, so a
    # model that solves least squares returns x on every split and the reconstruction is x.
    k_op, k_x, k_g = jr.split(key, 3)
    op = bj.GaussianSensing((4, 4), 40, key=k_op)
    x = jr.normal(k_x, (4, 4))
    groups = bj.row_groups((40,), 4, key=k_g)
    solve = jax.jit(lambda y, g: bj.split_inference(lambda o, yy: bj.pinv_solve(o, yy), op, y, g))
    out = solve(op.mv(x), groups)
    np.testing.assert_allclose(out, x, atol=1e-8)
    # Inpainting: the observed pixels come from the held-out predictions, the hidden ones
    # from the mean of the split reconstructions (a model returning A^T y + c everywhere).
    mask = jr.bernoulli(k_x, 0.5, (5, 5))
    inpaint = bj.Mask(mask)
    y = inpaint.mv(jr.normal(k_g, (5, 5)))
    held = bj.row_groups((5, 5), 2, key=k_op)
    out = jax.jit(bj.split_inference, static_argnums=0)(
        lambda o, yy: o.T.mv(yy) + 1.0, inpaint, y, held
    )
    np.testing.assert_allclose(out, np.where(mask, 1.0, 1.0 + 0.5 * np.asarray(y)), atol=1e-12)


def test_noise2self_trained_on_noise_alone_beats_y(key):
    # Smooth 16 x 16 images, Gaussian noise 0.3: Noise2Self learns the 3x3 filter from the noisy
    # images alone. The centre tap only ever sees zeros on scored pixels, so training leaves it
    # at its initial 1: on the full measurement (the old output) the filter adds y to the
    # average of its neighbours and falls below y; the J-invariant output beats y.
    k_x, k_e, k_t, k_o = jr.split(key, 4)
    blur = bj.Blur(bj.gaussian_kernel(2.0, size=9), shape=(16, 16))
    x = jax.vmap(blur.mv)(jr.uniform(k_x, (64, 16, 16)))
    x = (x - x.mean()) / x.std() * 0.25 + 0.5
    y = x + 0.3 * jr.normal(k_e, x.shape)
    op = bj.Mask(jnp.ones((16, 16), bool))
    start = bj.Noise2Self(model=_Conv3(jnp.zeros((3, 3)).at[1, 1].set(1.0)))
    batch = bj.Batch(op, y[:48], sigma=0.3, u=y[:48])
    trained, _ = bj.fit(
        lambda m, k: m.loss(batch, key=k), start, key=k_t, num_steps=50, learning_rate=5e-2
    )
    test_x, test_y = x[48:], y[48:]
    keys = jr.split(k_o, 16)
    j_inv = eqx.filter_jit(jax.vmap(lambda yy, k: trained.output(op, yy, yy, key=k)))(test_y, keys)
    full = eqx.filter_jit(jax.vmap(lambda yy: trained.model(op, yy)))(test_y)

    def psnr(a):
        return float(jnp.mean(jax.vmap(lambda u, v: bj.psnr(u, v, data_range=1.0))(a, test_x)))

    assert psnr(j_inv) > psnr(test_y) + 3.0 > psnr(full) + 3.0
    # Weighing each pixel's J-invariant prediction against its own noisy value (the noise
    # level known) does better still: the two errors are independent.
    known = eqx.tree_at(lambda m: m.sigma, trained, jnp.asarray(0.3), is_leaf=lambda v: v is None)
    combined = eqx.filter_jit(jax.vmap(lambda yy, k: known.output(op, yy, yy, key=k)))(test_y, keys)
    assert psnr(combined) > psnr(j_inv)


def test_ei_remeasures_with_the_noise_model(key):
    # Denoising, f = identity, T a circular shift: x3 = N(T y), so the second term is
    # ||N(Ty) - Ty||^2 / n, whose expectation under Poisson noise of gain g is g mean(y)
    # (variance g Ax per pixel). Without a noise model both terms are 0: the identity is a
    # minimiser and EI on Poisson denoising returned y (the bug this guards).
    k_y, k_l = jr.split(key)
    op = bj.Mask(jnp.ones((8, 8), bool))
    y = jr.uniform(k_y, (8, 8))

    def identity(o, yy):
        return bj.adjoint(o).mv(yy)

    group = bj.random_circular_shift
    assert float(bj.ei_loss(identity, op, y, group, key=k_l)) == 0.0
    noise = bj.PoissonNoise(0.05)
    losses = jax.jit(jax.vmap(lambda k: bj.ei_loss(identity, op, y, group, key=k, noise=noise)))(
        jr.split(k_l, 2000)
    )
    losses = np.asarray(losses)
    expected = 0.05 * float(jnp.mean(y))
    assert abs(losses.mean() - expected) < 4 * losses.std() / np.sqrt(losses.size)
    with pytest.raises(ValueError, match="sigma or noise"):
        bj.ei_loss(identity, op, y, group, key=k_l, sigma=0.1, noise=noise)


def test_corrections_on_an_ill_conditioned_blur_stay_bounded(key):
    # A Gaussian blur of width 1.5 px passes its highest frequencies ~1e-5 times as strongly as
    # the lowest: the exact A^+ of a noisy residual explodes. With the noise level known, the
    # corrections of split inference and Noisier2Noise drop the directions below it (the
    # imaging benchmark's Noise2Self, SSDU and Noisier2Noise gave -5 to -13 dB on deblurring
    # with the exact A^+). A model that returns A^T y stands in for a trained network.
    k_x, k_e, k_g = jr.split(key, 3)
    op = bj.Blur(bj.gaussian_kernel(1.5, size=9), shape=(16, 16))
    x = jr.uniform(k_x, (16, 16))
    sigma = 0.03
    y = op.mv(x) + sigma * jr.normal(k_e, (16, 16))
    groups = bj.row_groups((16, 16), 4, key=k_g)

    def model(o, yy):
        return bj.adjoint(o).mv(yy)

    def err(v):
        return float(jnp.linalg.norm(v - x) / jnp.linalg.norm(x))

    exact = bj.split_inference(model, op, y, groups)
    known = bj.split_inference(model, op, y, groups, sigma=sigma)
    assert err(known) < 1.0 < 10.0 < err(exact)  # the error is less than x itself
    n2n_exact = bj.noisier2noise_estimate(model, op, y)
    n2n_known = bj.noisier2noise_estimate(model, op, y, sigma=sigma)
    assert err(n2n_known) < 1.0 < 10.0 < err(n2n_exact)


def test_split_weight_ignores_the_unmeasured_rows_of_mri(key):
    # MRI at 4x: three quarters of k-space are rows of A that are identically zero, where y is
    # pure noise and the held-out prediction is 0. The prediction's error variance v, and the
    # weight w = v / (v + sigma^2), must be estimated over the measured rows only.
    from bridge_jax._methods._inference import _measured_rows, _split_weight

    k_m, k_x, k_d, k_n = jr.split(key, 4)
    shape, sigma = (32, 32), 0.05
    mask = bj.cartesian_mask(shape, 4, key=k_m)
    op = bj.MRI(mask)
    rows = _measured_rows(op)
    np.testing.assert_array_equal(rows, mask)  # the probe finds exactly the mask
    x = jr.uniform(k_x, shape)
    d = 2 * sigma * jr.normal(k_d, shape)  # the prediction's error: v ~ 4 sigma^2
    y = bj.GaussianNoise(sigma)(op.mv(x), key=k_n)  # noise on every entry, as measured
    y_hat = op.mv(x + d)  # a held-out prediction with a known error A d
    v = float(jnp.mean(jnp.abs(op.mv(d))[mask] ** 2))
    oracle = v / (v + sigma**2)
    # The sampling error of the estimate: the mean of t_i = |A d_i - n_i|^2 over the measured
    # rows has standard error s; w = 1 - sigma^2 / mean(t) moves by sigma^2 / mean(t)^2 per unit.
    t = np.asarray(jnp.abs(y_hat - y)[mask] ** 2)
    tol = 4 * t.std() / np.sqrt(t.size) * sigma**2 / t.mean() ** 2
    w = float(_split_weight(y_hat, y, rows, sigma))
    assert abs(w - oracle) < tol, (w, oracle, tol)
    # Over every entry (the old estimate) the zero rows pull v, and w, far down.
    old = float(_split_weight(y_hat, y, jnp.ones(shape, bool), sigma))
    assert oracle - old > 3 * tol, (old, oracle, tol)


def test_measured_rows_of_dense_operators(key):
    # A Gaussian matrix measures every row; an inpainting mask only its observed pixels.
    from bridge_jax._methods._inference import _measured_rows

    assert bool(jnp.all(_measured_rows(bj.GaussianSensing((4, 4), 10, key=key))))
    mask = jr.bernoulli(key, 0.5, (5, 5))
    np.testing.assert_array_equal(_measured_rows(bj.Mask(mask)), mask)
