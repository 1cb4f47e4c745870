import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jax.scipy.linalg import expm

import bridge_jax as bj
from bridge_jax.studies.learn_augment import null_energy


def test_full_rank_augmentation_is_random_rotation(key):
    aug = bj.LearnableAugmentation(10, angle=0.2, sigma=0.1)
    np.testing.assert_allclose(
        aug.rotation(key=key), bj.random_rotation(10, 0.2, key=key), atol=1e-6
    )
    np.testing.assert_allclose([aug.angle, aug.sigma], [0.2, 0.1], rtol=1e-6)


def test_rotation_with_fewer_squarings_is_the_matrix_exponential(key):
    # The capped squarings change nothing up to large angles (here ||alpha S||_1 ~ 300, six
    # squarings), under vmap as in the studies; far beyond the cap the answer is NaN, not wrong.
    aug = bj.LearnableAugmentation(16, angle=40.0, sigma=0.1, rank=6, key=key)
    keys = jr.split(jr.fold_in(key, 1), 4)

    def full(k):
        g = bj.random_skew(6, key=k)
        return expm(aug.angle * (aug.basis @ g @ aug.basis.T), max_squarings=16)

    rotations = jax.vmap(lambda k: aug.rotation(key=k))(keys)
    np.testing.assert_array_equal(rotations, jax.vmap(full)(keys))
    far = eqx.tree_at(lambda a: a.log_angle, aug, jnp.log(jnp.float32(1e5)))
    assert np.all(np.isnan(far.rotation(key=keys[0])))


def test_low_rank_generator_moves_only_inside_its_span(key, x64):
    aug = bj.LearnableAugmentation(12, angle=0.5, sigma=0.1, rank=4, key=key)
    q = aug.rotation(key=jr.fold_in(key, 1))
    np.testing.assert_allclose(q.T @ q, np.eye(12), atol=1e-10)
    outside = np.eye(12) - aug.basis @ aug.basis.T
    np.testing.assert_allclose(outside @ (q - np.eye(12)), 0, atol=1e-10)


def test_gradient_of_augmentation_statistic_wrt_parameters(key, x64):
    k1, k2, k3 = jr.split(key, 3)
    aug = bj.LearnableAugmentation(8, angle=0.3, sigma=0.2, rank=4, key=k1)
    x = bj.sparse_signals(30, 8, 3, key=k2)
    null = bj.null_space(bj.GaussianSensing(8, 4, key=k3))

    def stat(a):
        return null_energy(a, jr.key(5), x, null, 4)

    grads = eqx.filter_grad(stat)(aug)
    h = 1e-6
    for field in ("log_angle", "log_sigma"):
        up = eqx.tree_at(lambda a, f=field: getattr(a, f), aug, getattr(aug, field) + h)
        down = eqx.tree_at(lambda a, f=field: getattr(a, f), aug, getattr(aug, field) - h)
        np.testing.assert_allclose(
            getattr(grads, field), (stat(up) - stat(down)) / (2 * h), rtol=1e-5
        )
    e = jnp.zeros_like(aug.basis).at[2, 1].set(h)
    up = eqx.tree_at(lambda a: a.basis, aug, aug.basis + e)
    down = eqx.tree_at(lambda a: a.basis, aug, aug.basis - e)
    np.testing.assert_allclose(grads.basis[2, 1], (stat(up) - stat(down)) / (2 * h), rtol=1e-5)


def test_augmentation_serialises_and_vmaps(key, tmp_path):
    aug = bj.LearnableAugmentation(6, angle=0.4, sigma=0.05, rank=3, key=key)
    eqx.tree_serialise_leaves(tmp_path / "aug.eqx", aug)
    like = bj.LearnableAugmentation(6, rank=3, key=jr.key(0))
    loaded = eqx.tree_deserialise_leaves(tmp_path / "aug.eqx", like)
    x = jnp.ones((5, 6))
    np.testing.assert_array_equal(loaded.views(x, 3, key=key), aug.views(x, 3, key=key))
    batch = jax.vmap(lambda k: bj.LearnableAugmentation(6, rank=3, key=k))(jr.split(key, 4))
    views = jax.vmap(lambda a: a.views(x, 3, key=key))(batch)
    assert views.shape == (4, 5, 3, 6)


def test_bad_augmentation_arguments(key):
    with pytest.raises(ValueError, match="angle must be finite and > 0"):
        bj.LearnableAugmentation(6, angle=0.0)
    with pytest.raises(ValueError, match=r"rank must be in \[2, 6\]"):
        bj.LearnableAugmentation(6, rank=9, key=key)
