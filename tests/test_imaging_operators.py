"""Imaging physics (issue 13): each operator against an independent reference (scikit-image,
SciPy, closed forms), the MRI mask statistics, Poisson noise moments and argument errors. The
adjoint, jit, vmap, grad and solve tests run on their registry entries (tests/registry.py)."""

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
import numpy as np
import pytest
import scipy.ndimage
import scipy.signal

import bridge_jax as bj

# ----------------------------------------------------------------------------------- CT


def test_radon_matches_skimage_entry_by_entry(key, x64):
    transform = pytest.importorskip("skimage.transform")
    image = np.asarray(jr.uniform(key, (19, 14)))  # non-square: skimage pads to a square
    angles = np.concatenate([np.linspace(0, 180, 30, endpoint=False), [-33.3, 97.1, 271.0]])
    ref = transform.radon(image, theta=angles, circle=False)
    op = bj.Radon(image.shape, angles)
    assert op.out_structure().shape == ref.shape == (27, 33)
    np.testing.assert_allclose(op.mv(jnp.asarray(image)), ref, rtol=0, atol=1e-12)


def test_radon_float32_and_evenly_spaced_angles(key):
    transform = pytest.importorskip("skimage.transform")
    image = np.asarray(jr.uniform(key, (32, 32)), np.float64)
    op = bj.Radon((32, 32), 8)
    np.testing.assert_array_equal(op.angles, np.arange(8) * 22.5)
    ref = transform.radon(image, theta=np.arange(8) * 22.5, circle=False)
    # float32 coordinates and sums of ~46 values of size 1: rounding ~1e-5 of the scale.
    np.testing.assert_allclose(op.mv(jnp.asarray(image, jnp.float32)), ref, atol=1e-4)


# ---------------------------------------------------------------------------------- MRI


@pytest.mark.parametrize(("acceleration", "lines"), [(4, 16), (8, 8)])
def test_cartesian_mask_statistics(acceleration, lines, key):
    shape, center = (3, 64), 0.0625  # 4 central columns
    masks = jax.jit(
        jax.vmap(lambda k: bj.cartesian_mask(shape, acceleration, center_fraction=center, key=k))
    )(jr.split(key, 2000))
    masks = np.asarray(masks)
    assert masks.dtype == np.bool_ and masks.shape == (2000, *shape)
    assert np.all(masks == masks[:, :1, :])  # full lines: every row of a kept column
    columns = masks[:, 0, :]
    np.testing.assert_array_equal(columns.sum(1), lines)  # exactly W / acceleration lines
    centred = np.fft.fftshift(columns, axes=1)
    assert np.all(centred[:, 30:34])  # the lowest frequencies, always sampled
    # The others: each kept with probability (lines - 4) / 60, independently of its position.
    freq = np.delete(centred, np.s_[30:34], axis=1).mean(0)
    p = (lines - 4) / 60
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / 2000))


def test_cartesian_mask_fastmri_sizes(key):
    for acceleration, lines in ((4, 32), (8, 16)):
        mask = bj.cartesian_mask((128, 128), acceleration, center_fraction=0.08, key=key)
        assert int(mask[0].sum()) == lines and float(mask.mean()) == 1 / acceleration
        assert bool(mask[0, 0]) and bool(mask[0, -5]) and bool(mask[0, 4])  # 10 central lines


def test_mri_adjoint_is_zero_filled_and_pinv_agrees(key, x64):
    mask = bj.cartesian_mask((16, 16), 4, center_fraction=0.125, key=key)
    op = bj.MRI(mask)
    x = jr.normal(jr.fold_in(key, 1), (16, 16))
    y = op.mv(x)
    assert y.dtype == jnp.complex128 and float(jnp.abs(jnp.where(mask, 0, y)).max()) == 0
    np.testing.assert_allclose(
        bj.adjoint(op).mv(y), jnp.fft.ifft2(jnp.where(mask, y, 0), norm="ortho").real, atol=1e-12
    )
    dense = bj.pinv_solve(op, y)  # SVD of the stacked real and imaginary parts
    free = bj.pinv_solve(op, y, solver=lx.CG(rtol=1e-12, atol=1e-12))  # matrix-free
    np.testing.assert_allclose(free, dense, atol=1e-9)
    np.testing.assert_allclose(op.mv(dense), y, atol=1e-9)  # y is in the range: exact fit
    np.testing.assert_allclose(op.pseudoinverse(y), dense, atol=1e-9)
    # Off the range (any k-space data): the closed form is still the least-squares pinv.
    noisy = y + jnp.where(mask, jr.normal(jr.fold_in(key, 2), (16, 16)) * (1 + 1j), 0)
    np.testing.assert_allclose(op.pseudoinverse(noisy), bj.pinv_solve(op, noisy), atol=1e-9)


# --------------------------------------------------------------------------------- blur


def _pads(kernel):
    return [(k - 1 - (k - 1) // 2, (k - 1) // 2) for k in kernel.shape]


@pytest.mark.parametrize("kshape", [(3, 3), (4, 5)])
def test_blur_boundaries_match_scipy(kshape, key, x64):
    x = np.asarray(jr.normal(key, (11, 9)))
    k = np.asarray(jr.uniform(jr.fold_in(key, 1), kshape))
    refs = {
        "zero": scipy.signal.convolve2d(x, k, mode="same"),
        "valid": scipy.signal.convolve2d(x, k, mode="valid"),
        "reflect": scipy.signal.convolve2d(np.pad(x, _pads(k), "reflect"), k, mode="valid"),
        "circular": scipy.signal.convolve2d(np.pad(x, _pads(k), "wrap"), k, mode="valid"),
    }
    if kshape[0] % 2:  # odd kernels: SciPy's "mirror" boundary is numpy's "reflect"
        np.testing.assert_allclose(refs["reflect"], scipy.ndimage.convolve(x, k, mode="mirror"))
    for boundary, ref in refs.items():
        op = bj.Blur(jnp.asarray(k), shape=x.shape, boundary=boundary)
        assert op.out_structure().shape == ref.shape
        np.testing.assert_allclose(op.mv(jnp.asarray(x)), ref, atol=1e-12, err_msg=boundary)


def test_circular_blur_unchanged(key):
    # The circular blur of an image-sized kernel computes what it always did, bit for bit.
    kernel = jax.nn.softmax(jr.normal(key, (8, 8)))
    x = jr.normal(jr.fold_in(key, 1), (8, 8))
    op = bj.Blur(kernel)
    expected = jnp.real(jnp.fft.ifftn(jnp.fft.fftn(x) * jnp.fft.fftn(kernel))).astype(x.dtype)
    np.testing.assert_array_equal(op.mv(x), expected)
    transposed = jnp.real(jnp.fft.ifftn(jnp.fft.fftn(x) * jnp.conj(jnp.fft.fftn(kernel))))
    np.testing.assert_array_equal(op.T.mv(x), transposed.astype(x.dtype))
    assert op.T.T.transposed is False and op.boundary == "circular" and op.shape == (8, 8)
    g = bj.Blur.gaussian(1.5, shape=(8, 8))
    d = jnp.minimum(jnp.arange(8), 8 - jnp.arange(8))
    k = jnp.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * 1.5**2))
    np.testing.assert_array_equal(g.kernel, k / k.sum())


def test_kernels(key):
    kernels = {
        "gaussian": bj.gaussian_kernel(1.2),
        "motion": bj.motion_kernel(9, key=key),
        "random": bj.random_kernel(9, key=key),
    }
    assert kernels["gaussian"].shape == (9, 9)  # 2 ceil(3 sigma) + 1
    for name, k in kernels.items():
        assert float(k.min()) >= 0 and abs(float(k.sum()) - 1) < 1e-6, name
    g = kernels["gaussian"]
    np.testing.assert_allclose(g, g.T, atol=1e-7)
    np.testing.assert_allclose(g, g[::-1, ::-1], atol=1e-7)
    horizontal = bj.motion_kernel(5, key=key, length=5)
    assert horizontal.shape == (5, 5)
    # One kernel per key under vmap; different keys, different kernels.
    many = jax.jit(jax.vmap(lambda k: bj.motion_kernel(7, key=k)))(jr.split(key, 3))
    assert many.shape == (3, 7, 7) and not np.allclose(many[0], many[1])


# ---------------------------------------------------------------- the other operators


def test_downsample_is_block_mean(key, x64):
    transform = pytest.importorskip("skimage.transform")
    x = jr.normal(key, (12, 8))
    for factor in (2, 4):
        op = bj.Downsample((12, 8), factor)
        ref = transform.downscale_local_mean(np.asarray(x), (factor, factor))
        np.testing.assert_allclose(op.mv(x), ref, atol=1e-12)
        a = op.as_matrix()
        np.testing.assert_allclose(a @ a.T, np.eye(a.shape[0]) / factor**2, atol=1e-12)


def test_structured_sensing(key, x64):
    op = bj.StructuredSensing((8, 8), 20, key=key)
    a = np.asarray(op.as_matrix())
    np.testing.assert_allclose(a @ a.T, 64 / 20 * np.eye(20), atol=1e-12)  # orthogonal rows
    assert len(np.unique(np.asarray(op.indices))) == 20
    # E[A^T A] = (n/m) S C^T E[P^T P] C S = I: each row is kept with probability m/n.
    indices = jax.jit(jax.vmap(lambda k: bj.StructuredSensing(64, 20, key=k).indices))(
        jr.split(key, 2000)
    )
    freq = np.bincount(np.asarray(indices).ravel(), minlength=64) / 2000
    p = 20 / 64
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / 2000))


def test_box_mask_and_inpainting(key):
    mask = bj.box_mask((10, 12), (3, 4), key=key)
    assert mask.shape == (10, 12) and int((~mask).sum()) == 12
    rows, cols = np.nonzero(~np.asarray(mask))
    assert rows.max() - rows.min() == 2 and cols.max() - cols.min() == 3
    masks = jax.jit(jax.vmap(lambda k: bj.box_mask((10, 12), (3, 4), key=k, num_boxes=3)))(
        jr.split(key, 200)
    )
    hidden = (~masks).sum((1, 2))
    assert int(hidden.min()) >= 12 and int(hidden.max()) <= 36
    # Every position of the box is reachable: every pixel is hidden by some mask.
    assert bool(jnp.all(jnp.any(~masks, axis=0)))
    op = bj.Mask(mask)
    assert isinstance(op, bj.Mask)
    np.testing.assert_array_equal(op.mv(jnp.ones((10, 12))), mask.astype(jnp.float32))


# -------------------------------------------------------------------------------- noise


def test_poisson_noise_moments(key):
    # g Poisson(y / g): mean y, variance g y; with Gaussian read-out noise variance + sigma^2.
    y = jnp.array([0.5, 2.0, 10.0])
    gain, sigma, n = 0.5, 0.3, 20_000
    keys = jr.split(key, n)
    for noisy, var in (
        (jax.vmap(lambda k: bj.poisson_noise(y, gain, key=k))(keys), gain * y),
        (
            jax.vmap(lambda k: bj.poisson_gaussian_noise(y, gain, sigma, key=k))(keys),
            gain * y + sigma**2,
        ),
    ):
        noisy = np.asarray(noisy, np.float64)
        lam = np.asarray(y) / gain
        # Sample mean: sd sqrt(var / n). Sample variance: sd sqrt((mu4 - var^2) / n), with
        # mu4 = g^4 (lam + 3 lam^2) + 6 g^2 lam sigma^2 + 3 sigma^4 (sigma = 0 for Poisson).
        s2 = var - gain * y
        mu4 = gain**4 * (lam + 3 * lam**2) + 6 * gain**2 * lam * s2 + 3 * s2**2
        assert np.all(np.abs(noisy.mean(0) - y) < 5 * np.sqrt(var / n))
        assert np.all(np.abs(noisy.var(0) - var) < 5 * np.sqrt((mu4 - var**2) / n))


def test_noise_functions_are_the_modules(key):
    y = jnp.linspace(0.0, 3.0, 12)
    np.testing.assert_array_equal(
        bj.gaussian_noise(y, 0.2, key=key), bj.GaussianNoise(0.2)(y, key=key)
    )
    np.testing.assert_array_equal(
        bj.poisson_noise(y, 0.1, key=key), bj.PoissonNoise(0.1)(y, key=key)
    )
    np.testing.assert_array_equal(
        bj.poisson_gaussian_noise(y, 0.1, 0.2, key=key),
        bj.PoissonGaussianNoise(0.1, 0.2)(y, key=key),
    )
    # Each noise draw is the key's: a complex measurement (MRI) gets circular Gaussian noise.
    k_space = bj.MRI(jnp.ones((4, 4), bool)).mv(jnp.ones((4, 4)))
    assert bj.gaussian_noise(k_space, 0.1, key=key).dtype == k_space.dtype


# ------------------------------------------------------------------------------- errors


def test_bad_arguments_name_what_is_allowed(key):
    with pytest.raises(ValueError, match=r"factor 3 must divide every axis"):
        bj.Downsample((8, 8), 3)
    with pytest.raises(ValueError, match=r"acceleration must be finite and >= 1"):
        bj.cartesian_mask((8, 8), 0.5, key=key)
    with pytest.raises(ValueError, match=r"lower center_fraction"):
        bj.cartesian_mask((8, 16), 8, center_fraction=0.25, key=key)
    with pytest.raises(ValueError, match=r"boundary must be one of 'circular', 'zero'"):
        bj.Blur(jnp.ones((3, 3)), shape=(8, 8), boundary="mirror")
    with pytest.raises(ValueError, match=r"needs shape="):
        bj.Blur(jnp.ones((3, 3)), boundary="zero")
    with pytest.raises(ValueError, match=r"fit inside it"):
        bj.Blur(jnp.ones((9, 3)), shape=(8, 8), boundary="valid")
    with pytest.raises(ValueError, match=r"boundary='circular' only"):
        _ = bj.Blur(jnp.ones((3, 3)), shape=(8, 8), boundary="zero").spectrum
    with pytest.raises(ValueError, match=r"angles must be a 1-D array"):
        bj.Radon((8, 8), jnp.ones((2, 2)))
    with pytest.raises(ValueError, match=r"shape must be \(H, W\)"):
        bj.Radon((8, 8, 8), 4)
    with pytest.raises(TypeError, match=r"mask must be boolean"):
        bj.MRI(jnp.ones((4, 4)))
    with pytest.raises(ValueError, match=r"m must be in \[1, 64\]"):
        bj.StructuredSensing((8, 8), 65, key=key)
    with pytest.raises(ValueError, match=r"box \(9, 2\) does not fit"):
        bj.box_mask((8, 8), (9, 2), key=key)
    with pytest.raises(ValueError, match=r"length must be in \[1, size=5\]"):
        bj.motion_kernel(5, key=key, length=7)
