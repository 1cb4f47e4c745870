"""The digits setting of the reproduction: data split, real augmentations, image operators."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj
from bridge_jax.studies._common import Setting, digits_array, make_operator
from bridge_jax.studies._config import Config


@pytest.mark.parametrize(
    "overrides,match",
    [
        (dict(data="digits", n=16, m=8), "n = 64"),
        (dict(data="digits", signals=899), "signals must be <= 898"),
        (dict(data="mnist"), "data must be one of"),
        (dict(operator="radon"), "operator must be one of"),
        (dict(operator="blur", n=60, m=8), "n = side"),
        (dict(image_crop=0.0), "image_crop"),
    ],
)
def test_config_rejects_bad_data_settings(overrides, match):
    with pytest.raises(ValueError, match=match):
        Config(**overrides).validate()


def test_digits_setting_splits_and_augments(key):
    c = Config.quick(data="digits", n=64, m=16).validate()
    st = Setting(key, c)
    data = digits_array()
    assert st.x.shape == (c.signals, 64) and st.train.shape == (c.signals, 64)
    # Test and training images are distinct rows of the data set.
    rows = lambda a: {tuple(np.round(np.asarray(v), 6)) for v in a}  # noqa: E731
    assert rows(st.x) <= rows(data) and rows(st.train) <= rows(data)
    assert not rows(st.x) & rows(st.train)
    np.testing.assert_allclose(st.prior_mean, data.mean(0), atol=1e-6)
    # Shared transforms are the image augmentations' matrices.
    t = st.shared_transforms()
    assert t.shape == (c.k, 64, 64)
    keys = jr.split(st.k_rot, c.k)
    direct = st._transform(st.x[0], key=keys[1])
    np.testing.assert_allclose(t[1] @ st.x[0], direct, atol=1e-5)
    assert st.views(st.x).shape == (c.signals, c.k, 64)
    assert st.per_view_views(st.x).shape == (c.signals, c.k, 64)


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_image_operators(key, operator):
    c = Config.quick(operator=operator, n=64, m=20).validate()
    op = make_operator(key, c)
    mat = op.as_matrix()
    assert mat.shape == (20, 64)
    x, y = jr.normal(jr.fold_in(key, 1), (64,)), jr.normal(jr.fold_in(key, 2), (20,))
    np.testing.assert_allclose(jnp.dot(op.mv(x), y), jnp.dot(x, op.T.mv(y)), rtol=1e-4)
    if operator == "inpainting":
        # Each row observes one pixel, every pixel at most once.
        assert np.all(np.asarray(mat).sum(1) == 1) and np.all(np.asarray(mat).sum(0) <= 1)
    else:
        blur = bj.Blur.gaussian(c.blur_sigma).as_matrix()
        np.testing.assert_allclose(mat, blur[np.asarray(op.operator1.indices)], atol=1e-6)


def test_paper_setting_is_unchanged_by_the_data_option(key):
    """The synthetic Setting draws exactly what it drew before issue 7 (same keys)."""
    c = Config.quick().validate()
    st = Setting(key, c)
    k_op, k_x, k_rot, _, _, k_train = jr.split(key, 6)
    np.testing.assert_array_equal(st.op.matrix, bj.GaussianSensing(c.n, c.m, key=k_op).matrix)
    np.testing.assert_array_equal(st.x, bj.sparse_signals(c.signals, c.n, c.s, key=k_x))
    np.testing.assert_array_equal(st.train, bj.sparse_signals(c.signals, c.n, c.s, key=k_train))
    q = jax.vmap(lambda k: bj.random_rotation(c.n, c.angle, key=k))(jr.split(k_rot, c.k))
    np.testing.assert_array_equal(st.shared_transforms(), q)
