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
    x, y = jr.normal(k1, (8, 8)), jr.normal(k2, (8, 8))
    np.testing.assert_allclose(jnp.vdot(op.mv(x), y), jnp.vdot(x, op.T.mv(y)), rtol=1e-12)
    dense = np.asarray(op.as_matrix())
    np.testing.assert_allclose(dense @ np.asarray(x).ravel(), op.mv(x).ravel(), atol=1e-12)
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


@pytest.mark.parametrize("corner,size", [((1, 2), (6, 5)), ((0, 0), (8, 8)), ((2, 1), (4, 7))])
def test_crop_matches_scipy_zoom(image, corner, size, x64):
    (r, c), (h, w) = corner, size
    ref = ndi.zoom(image[r : r + h, c : c + w], (8 / h, 8 / w), order=1, grid_mode=False)
    out = bj.image_crop(image.ravel(), corner, size).reshape(8, 8)
    np.testing.assert_allclose(out, ref, atol=1e-12)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.5])
def test_blur_augmentation_matches_scipy(image, sigma, x64):
    ref = ndi.gaussian_filter(image, sigma, mode="constant", truncate=7 / sigma)
    np.testing.assert_allclose(bj.image_blur(image.ravel(), sigma).reshape(8, 8), ref, atol=1e-12)
    g = jax.grad(lambda s: jnp.sum(bj.image_blur(jnp.asarray(image.ravel()), s) ** 2))(sigma)
    assert np.isfinite(float(g)) and float(g) < 0  # more blur, less energy


def test_random_augmentation_is_linear_and_its_matrix(image, x64):
    key = jr.key(3)

    def aug(v):
        return bj.random_image_augmentation(v, key=key, min_crop=0.7, max_blur=1.0, flip=True)

    t = bj.transform_matrix(aug, 64, dtype=jnp.float64)
    x = jnp.asarray(image.ravel())
    np.testing.assert_allclose(t @ x, aug(x), atol=1e-12)
    x2 = jnp.asarray(np.random.default_rng(1).random(64))
    np.testing.assert_allclose(aug(2.0 * x - x2), 2.0 * aug(x) - aug(x2), atol=1e-12)
    # Different keys give different transforms; the identity settings give the identity.
    other = bj.random_image_augmentation(x, key=jr.key(4), min_crop=0.7)
    assert float(jnp.linalg.norm(other - aug(x))) > 1e-3
    same = bj.random_image_augmentation(x, key=key, max_angle=0.0, max_shift=0.0)
    np.testing.assert_allclose(same, x, atol=1e-12)
    # jit and vmap over keys (a batch of views of one image).
    views = jax.jit(jax.vmap(lambda k: bj.random_image_augmentation(x, key=k)))(jr.split(key, 5))
    assert views.shape == (5, 64) and bool(jnp.all(jnp.isfinite(views)))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(max_angle=-1.0), "max_angle"),
        (dict(min_crop=0.0), "min_crop"),
        (dict(min_crop=1.5), "min_crop"),
        (dict(max_blur=-0.1), "max_blur"),
    ],
)
def test_random_augmentation_rejects_bad_parameters(image, kwargs, match):
    with pytest.raises(ValueError, match=match):
        bj.random_image_augmentation(jnp.asarray(image.ravel()), key=jr.key(0), **kwargs)


def test_image_augmentation_as_ei_transform_group():
    """EI with image rotations/shifts: zero for a reconstructor equivariant to the group (the
    identity model on an identity operator), positive for one that is not (a fixed blur)."""
    x = jnp.asarray(np.random.default_rng(2).random(64), jnp.float32)
    op = bj.MatrixOperator(jnp.eye(64))

    def transform(v, *, key):
        return bj.random_image_augmentation(v, key=key, max_angle=20.0, max_shift=1.0)

    identity = lambda a, y: a.T.mv(y)  # noqa: E731
    loss = bj.ei_loss(identity, op, op.mv(x), transform, key=jr.key(0))
    assert float(loss) < 1e-10
    blur = lambda a, y: bj.image_blur(a.T.mv(y), 1.0) + 0.5  # noqa: E731 - not equivariant
    assert float(bj.ei_loss(blur, op, op.mv(x), transform, key=jr.key(0))) > 1e-3


def test_image_blur_refuses_a_zero_or_negative_width():
    x = jnp.ones(64)
    for sigma in (0.0, -1.0):
        with pytest.raises(ValueError, match="sigma must be finite and > 0"):
            bj.image_blur(x, sigma)
