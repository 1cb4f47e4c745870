"""Image augmentations against scipy.ndimage; the blur operator's adjoint and spectrum."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.ndimage as ndi

import bridge_jax as bj


@pytest.fixture
def image():
    return np.random.default_rng(0).random((8, 8))


@pytest.mark.parametrize("angle", [-30.0, 7.5, 90.0])
def test_rotation_matches_scipy(image, angle, x64):
    ref = ndi.rotate(image, angle, reshape=False, order=1, mode="grid-constant", cval=0.0)
    np.testing.assert_allclose(bj.image_rotate(image.ravel(), angle).reshape(8, 8), ref, atol=1e-12)


@pytest.mark.parametrize("shift", [(1, -2), (0.5, 1.25)])
def test_shift_matches_scipy(image, shift, x64):
    ref = ndi.shift(image, shift, order=1, mode="grid-constant", cval=0.0)
    np.testing.assert_allclose(bj.image_shift(image.ravel(), shift).reshape(8, 8), ref, atol=1e-12)


def test_flip_and_differentiable_angle(image):
    flipped = bj.image_flip(image.ravel()).reshape(8, 8)
    np.testing.assert_allclose(flipped, image[:, ::-1], rtol=1e-6)
    np.testing.assert_allclose(
        bj.image_flip(image.ravel(), axis=0).reshape(8, 8), image[::-1], rtol=1e-6
    )
    g = jax.grad(lambda a: jnp.sum(bj.image_rotate(jnp.asarray(image.ravel()), a) ** 2))(10.0)
    assert np.isfinite(float(g)) and float(g) != 0.0
    with pytest.raises(ValueError, match="x must have shape"):
        bj.image_rotate(jnp.ones(10), 5.0)


def test_blur_adjoint_dense_and_spectrum(key, x64):
    op = bj.Blur.gaussian(1.0)
    k1, k2 = jr.split(key)
    x, y = jr.normal(k1, (64,)), jr.normal(k2, (64,))
    np.testing.assert_allclose(jnp.dot(op.mv(x), y), jnp.dot(x, op.rmv(y)), rtol=1e-12)
    dense = np.asarray(op.as_matrix())
    np.testing.assert_allclose(dense @ np.asarray(x), op.mv(x), atol=1e-12)
    np.testing.assert_allclose(
        np.sort(np.linalg.svd(dense, compute_uv=False)),
        np.sort(np.asarray(op.spectrum)),
        atol=1e-12,
    )
    # Against the definition: (k * x)[i, j] = sum_ab k[a, b] x[(i - a) % 8, (j - b) % 8].
    kernel = np.real(np.fft.ifft2(np.asarray(op.kernel_hat)))
    img = np.asarray(x).reshape(8, 8)
    ref = sum(kernel[a, b] * np.roll(img, (a, b), (0, 1)) for a in range(8) for b in range(8))
    np.testing.assert_allclose(op.mv(x).reshape(8, 8), ref, atol=1e-12)
