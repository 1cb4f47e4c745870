"""Image metrics: PSNR and SSIM equal scikit-image's; MSE; vmap, jit and grad."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj

metrics = pytest.importorskip("skimage.metrics")


def _pair(key, shape, noise=0.1):
    k1, k2 = jr.split(key)
    ref = jr.uniform(k1, shape)
    return jnp.clip(ref + noise * jr.normal(k2, shape), 0, 1), ref


@pytest.mark.parametrize(
    ("shape", "data_range", "win_size"), [((32, 32), 1.0, 7), ((20, 27), 2.0, 5)]
)
def test_psnr_ssim_equal_skimage(shape, data_range, win_size, key):
    for dtype in (jnp.float32, jnp.float64):
        with jax.enable_x64(dtype == jnp.float64):
            x, ref = _pair(key, shape)
            x, ref = x.astype(dtype), ref.astype(dtype)
            xn, rn = np.asarray(x, np.float64), np.asarray(ref, np.float64)
            expected_psnr = metrics.peak_signal_noise_ratio(rn, xn, data_range=data_range)
            expected_ssim = metrics.structural_similarity(
                rn, xn, data_range=data_range, win_size=win_size, gaussian_weights=False
            )
            got_psnr = bj.psnr(x, ref, data_range=data_range)
            got_ssim = bj.ssim(x, ref, data_range=data_range, win_size=win_size)
            assert abs(float(got_psnr) - expected_psnr) < 1e-4, dtype
            assert abs(float(got_ssim) - expected_ssim) < 1e-4, dtype
            np.testing.assert_allclose(bj.mse(x, ref), np.mean((xn - rn) ** 2), rtol=1e-5)


def test_metrics_identical_images_vmap_and_grad(key):
    x, ref = _pair(key, (2, 16, 16))
    assert float(bj.ssim(ref[0], ref[0], data_range=1.0)) == pytest.approx(1.0, abs=1e-6)
    assert np.isinf(float(bj.psnr(ref[0], ref[0], data_range=1.0)))
    batched = jax.jit(jax.vmap(lambda a, b: bj.ssim(a, b, data_range=1.0)))(x, ref)
    looped = [float(bj.ssim(a, b, data_range=1.0)) for a, b in zip(x, ref, strict=True)]
    np.testing.assert_allclose(batched, looped, rtol=1e-5)
    g = jax.grad(lambda a: bj.ssim(a, ref[0], data_range=1.0))(x[0])
    assert g.shape == (16, 16) and bool(jnp.all(jnp.isfinite(g)))


def test_metric_errors():
    with pytest.raises(ValueError, match="same shape"):
        bj.psnr(jnp.ones((4, 4)), jnp.ones((4, 5)), data_range=1.0)
    with pytest.raises(ValueError, match="data_range must be finite and > 0"):
        bj.psnr(jnp.ones((4, 4)), jnp.zeros((4, 4)), data_range=0.0)
    with pytest.raises(ValueError, match="win_size must be odd"):
        bj.ssim(jnp.ones((6, 6)), jnp.ones((6, 6)), data_range=1.0)
    with pytest.raises(TypeError, match="data_range"):
        bj.ssim(jnp.ones((8, 8)), jnp.ones((8, 8)))
