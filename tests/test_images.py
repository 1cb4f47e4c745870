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


# --------------------------------------------------------------------------- (H, W) images


def _image_functions():
    """Each function of an image (flat with shape=, or (H, W)), its parameters fixed."""
    k = jr.key(5)
    return {
        "rotate": lambda x, **kw: bj.image_rotate(x, 17.3, **kw),
        "shift": lambda x, **kw: bj.image_shift(x, (0.4, -1.3), **kw),
        "crop": lambda x, **kw: bj.image_crop(x, (1.2, 0.5), (4.5, 3.3), **kw),
        "blur": lambda x, **kw: bj.image_blur(x, 0.8, **kw),
        "flip": lambda x, **kw: bj.image_flip(x, axis=0, **kw),
        "augmentation": lambda x, **kw: bj.random_image_augmentation(
            x, key=k, min_crop=0.7, max_blur=1.0, flip=True, **kw
        ),
        "rot90": lambda x, **kw: bj.random_rot90(x, key=k, **kw),
        "random_flip": lambda x, **kw: bj.random_flip(x, key=k, **kw),
        "circular_shift": lambda x, **kw: bj.random_circular_shift(x, key=k, **kw),
        "small_rotation": lambda x, **kw: bj.random_small_rotation(x, key=k, **kw),
    }


@pytest.mark.parametrize("shape", [(8, 8), (6, 5)])
def test_image_form_equals_the_flat_form_bitwise(shape):
    """The digits studies use the flat form: the (H, W) form must not change a bit of it."""
    img = jnp.asarray(np.random.default_rng(3).random(shape), jnp.float32)
    for name, fn in _image_functions().items():
        if name == "rot90" and shape[0] != shape[1]:
            continue
        out = fn(img)
        assert out.shape == shape, name
        np.testing.assert_array_equal(fn(img.ravel(), shape=shape), out.ravel(), err_msg=name)
    # A flat vector without shape= is an 8 x 8 digit, as before.
    if shape == (8, 8):
        np.testing.assert_array_equal(
            bj.image_rotate(img.ravel(), 5.0), bj.image_rotate(img, 5.0).ravel()
        )
    with pytest.raises(ValueError, match="does not match"):
        bj.image_rotate(img, 5.0, shape=(shape[0] + 1, shape[1]))


IMAGE = (6, 6)
SAMPLERS = {
    "rot90": bj.random_rot90,
    "flip": bj.random_flip,
    "circular_shift": bj.random_circular_shift,
    "small_rotation": bj.random_small_rotation,
}


@pytest.fixture
def square():
    return jnp.asarray(np.random.default_rng(4).random(IMAGE), jnp.float32)


@pytest.mark.parametrize("seed", range(6))
def test_group_properties(square, seed):
    key = jr.key(seed)
    rot = lambda v: bj.random_rot90(v, key=key)  # noqa: E731
    once = rot(square)
    assert not np.array_equal(once, square)  # never the identity
    assert any(np.array_equal(once, np.rot90(square, k)) for k in (1, 2, 3))
    np.testing.assert_array_equal(rot(rot(rot(once))), square)  # g^4 = e
    flip = lambda v: bj.random_flip(v, key=key)  # noqa: E731
    assert any(
        np.array_equal(flip(square), ref)
        for ref in (square[:, ::-1], square[::-1], square[::-1, ::-1])
    )
    np.testing.assert_array_equal(flip(flip(square)), square)  # an involution
    shifted = bj.random_circular_shift(square, key=key)
    rolls = [
        (r, c)
        for r in range(6)
        for c in range(6)
        if np.array_equal(shifted, np.roll(square, (r, c), (0, 1)))
    ]
    assert rolls and rolls[0] != (0, 0)
    np.testing.assert_allclose(float(shifted.sum()), float(square.sum()), rtol=1e-6)
    inverse = np.roll(np.asarray(shifted), (-rolls[0][0], -rolls[0][1]), (0, 1))
    np.testing.assert_array_equal(inverse, square)
    # The small rotation is image_rotate by the documented draw; 0 degrees is the identity.
    angle = jr.uniform(key, (), jnp.float32, -10.0, 10.0)
    np.testing.assert_array_equal(
        bj.random_small_rotation(square, key=key, max_angle=10.0), bj.image_rotate(square, angle)
    )
    np.testing.assert_allclose(
        bj.random_small_rotation(square, key=key, max_angle=0.0), square, atol=1e-6
    )


@pytest.mark.parametrize("name", SAMPLERS)
def test_samplers_are_linear_under_jit_and_vmap(square, name):
    sampler = SAMPLERS[name]
    key = jr.key(7)
    t = bj.transform_matrix(lambda v: sampler(v, key=key), IMAGE)
    np.testing.assert_allclose(t @ square.ravel(), sampler(square, key=key).ravel(), atol=1e-6)
    if name != "small_rotation":  # exact groups permute the pixels: T is orthogonal
        np.testing.assert_array_equal(t.T @ t, np.eye(36))
    keys = jr.split(key, 4)
    batched = jax.jit(jax.vmap(lambda k: sampler(square, key=k)))(keys)
    np.testing.assert_allclose(batched, np.stack([sampler(square, key=k) for k in keys]), atol=1e-6)
    with pytest.raises(TypeError, match="key"):
        sampler(square, key=None)


@pytest.mark.parametrize("name", SAMPLERS)
def test_ei_runs_with_each_group_on_an_image_inpainting_problem(square, name):
    """With the back-projection model f(A, y) = A^T y on a pixel mask, consistency is 0 and
    the equivariance term is the energy that T moves into the hidden pixels:
    $\\frac1n\\|(1 - m) \\odot T (m \\odot y)\\|^2$."""
    transform = SAMPLERS[name]
    mask = bj.random_mask(IMAGE, 0.5, key=jr.key(8))
    op = bj.Mask(mask)
    y = op.mv(square)
    model = lambda o, v: o.T.mv(v)  # noqa: E731
    key = jr.key(9)
    loss = bj.ei_loss(model, op, y, transform, key=key)
    k_t, _ = jr.split(key)
    moved = transform(jnp.where(mask, y, 0.0), key=k_t)
    expected = jnp.mean(jnp.where(mask, 0.0, moved) ** 2)
    np.testing.assert_allclose(float(loss), float(expected), rtol=1e-5)
    assert float(loss) > 1e-6  # the group moves visible pixels into hidden ones


def test_sampler_bad_inputs():
    with pytest.raises(ValueError, match="square image"):
        bj.random_rot90(jnp.ones((4, 5)), key=jr.key(0))
    with pytest.raises(ValueError, match="max_angle"):
        bj.random_small_rotation(jnp.ones((4, 4)), key=jr.key(0), max_angle=-1.0)
    with pytest.raises(ValueError, match="at least 2 pixels"):
        bj.random_circular_shift(jnp.ones((1, 1)), key=jr.key(0))


# --------------------------------------------------------------------------- issue 12 inputs


def test_rotate_casts_an_integer_image_to_float(image):
    ints = jnp.asarray(np.round(image * 10), jnp.int32)
    out = bj.image_rotate(ints, 30.0)
    assert jnp.issubdtype(out.dtype, jnp.floating)
    np.testing.assert_array_equal(out, bj.image_rotate(ints.astype(jnp.float32), 30.0))
    assert not np.allclose(out, np.round(out))  # fractional values, not rounded integers


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda x: bj.image_crop(x, (0, 0), (0, 0)), "size must be finite and > 0"),
        (lambda x: bj.image_crop(x, (0, 0), (3, 0)), "size must be finite and > 0"),
        (lambda x: bj.image_crop(jnp.ones((0, 8)), (0, 0), (1, 1)), "non-empty"),
        (lambda x: bj.image_crop(jnp.ones(0), (0, 0), (1, 1), shape=(0, 8)), r"shape\[0\]"),
    ],
)
def test_empty_crops_and_images_are_refused(image, call, match):
    with pytest.raises(ValueError, match=match):
        call(jnp.asarray(image))


@pytest.mark.parametrize(
    "fn",
    [lambda v: v**2, lambda v: v + 1.0, lambda v: jnp.clip(v, -0.5, 0.5), jnp.abs],
)
def test_transform_matrix_refuses_a_nonlinear_function(fn):
    with pytest.raises(ValueError, match="fn must be linear"):
        bj.transform_matrix(fn, 16)


def test_transform_matrix_of_linear_maps(x64):
    rng = np.random.default_rng(5)
    a = jnp.asarray(rng.standard_normal((12, 12)))
    np.testing.assert_allclose(bj.transform_matrix(lambda v: a @ v, 12, dtype=jnp.float64), a)
    zero = bj.transform_matrix(lambda v: 0.0 * v, 12)
    np.testing.assert_array_equal(zero, np.zeros((12, 12)))
    img = jnp.asarray(rng.random((3, 4)))
    t = bj.transform_matrix(lambda v: jnp.flip(v, 1), (3, 4), dtype=jnp.float64)
    np.testing.assert_array_equal(t @ img.ravel(), img[:, ::-1].ravel())
