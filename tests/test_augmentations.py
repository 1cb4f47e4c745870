import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy.linalg import expm as scipy_expm

import bridge_jax as bj


@pytest.mark.parametrize("angle", [0.0, 0.05, 0.3, 1.5])
def test_rotation_is_special_orthogonal(angle, key, x64):
    q = np.asarray(bj.random_rotation(9, angle, key=key))
    np.testing.assert_allclose(q.T @ q, np.eye(9), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(q), 1.0, atol=1e-10)


def test_rotation_matches_scipy_expm_and_rms_angle(key, x64):
    s = np.asarray(bj.random_skew(10, key=key))
    np.testing.assert_allclose(s, -s.T)
    np.testing.assert_allclose(
        bj.random_rotation(10, 0.2, key=key), scipy_expm(0.2 * s), atol=1e-12
    )
    # The eigenvalues of S are +-i theta_j; their RMS over the 5 planes is 1 by construction.
    theta = np.abs(np.linalg.eigvals(s).imag)
    np.testing.assert_allclose(np.sqrt(np.mean(theta**2)), 1.0, rtol=1e-10)


@pytest.mark.parametrize("angle", [0.0, 0.05, 0.3, 1.5, 4.0])
def test_rotate_is_the_rotation_matrix_applied(angle, key, x64):
    """`rotate` applies exp(angle S) to one vector without forming it: the same S, to float64
    rounding, also where several scaling steps are needed (angle * sqrt(n) > 1)."""
    x = jr.normal(jr.fold_in(key, 1), (12,))
    expected = scipy_expm(angle * np.asarray(bj.random_skew(12, key=key))) @ np.asarray(x)
    np.testing.assert_allclose(bj.rotate(x, angle, key=key), expected, rtol=0, atol=1e-13)
    # vmapped over angles, as a sweep calls it
    angles = jnp.array([angle, 0.7])
    batched = jax.vmap(lambda a: bj.rotate(x, a, key=key))(angles)
    np.testing.assert_allclose(batched[0], expected, atol=1e-13)


def test_rotate_gradients_match_the_matrix_path(key, x64):
    x = jr.normal(jr.fold_in(key, 1), (10,))
    w = jr.normal(jr.fold_in(key, 2), (10,))

    def loss(rot):
        return lambda a, v: jnp.sum(jnp.sin(w * rot(a, v)))

    fast = loss(lambda a, v: bj.rotate(v, a, key=key))
    dense = loss(lambda a, v: bj.random_rotation(10, a, key=key) @ v)
    for a in (0.2, 2.5):
        g_fast, g_dense = jax.grad(fast, (0, 1))(a, x), jax.grad(dense, (0, 1))(a, x)
        np.testing.assert_allclose(g_fast[0], g_dense[0], rtol=1e-12)
        np.testing.assert_allclose(g_fast[1], g_dense[1], atol=1e-12)
        np.testing.assert_allclose(
            jax.grad(jax.grad(fast))(a, x), jax.grad(jax.grad(dense))(a, x), rtol=1e-10
        )


@pytest.mark.parametrize(
    ("angle", "message"), [(-0.1, "angle must be"), (jnp.ones(2), "angle must be a scalar")]
)
def test_rotate_rejects_bad_angles(angle, message, key):
    with pytest.raises(ValueError, match=message):
        bj.rotate(jnp.ones(5), angle, key=key)


def test_gaussian_noise_statistics(key):
    x = jnp.zeros(20000)
    z = bj.gaussian_noise(x, 0.3, key=key)
    assert abs(float(z.std()) - 0.3) < 5 * 0.3 / np.sqrt(2 * 20000)


def test_random_masking_zeroes_round_ratio_n(key):
    x = jnp.arange(1.0, 41.0)
    z = bj.random_masking(x, 0.25, key=key)
    assert int((z == 0).sum()) == 10
    np.testing.assert_array_equal(z[z != 0], x[z != 0])


def test_augment_defaults_and_views(key):
    x = bj.sparse_signal(32, 4, key=key)
    views = bj.augmentations(x, 7, key=jr.fold_in(key, 1), angle=0.1, sigma=0.05)
    assert views.shape == (7, 32)
    # distinct keys give distinct views; zero strengths give the signal back.
    assert not np.allclose(views[0], views[1])
    same = bj.augmentations(x, 3, key=key, angle=0.0, sigma=0.0)
    np.testing.assert_allclose(same, jnp.broadcast_to(x, (3, 32)), atol=1e-6)


def test_augment_with_masking_hides_entries(key):
    x = jnp.ones(20)
    v = bj.augment(x, key=key, angle=0.0, sigma=0.0, mask_ratio=0.5)
    assert int((v == 0).sum()) == 10


def test_view_perturbation_scales_with_angle(key):
    # ||Qx - x|| ~ angle * ||x|| for small angles (S has unit RMS angle): check the ratio.
    x = bj.sparse_signal(64, 8, key=key)
    keys = jr.split(jr.fold_in(key, 3), 200)

    def dist(a):
        views = jax.vmap(lambda k: bj.augment(x, key=k, angle=a, sigma=0.0))(keys)
        return jnp.mean(jnp.linalg.norm(views - x, axis=1))

    r = float(dist(0.02) / dist(0.01))
    assert 1.9 < r < 2.1


def test_view_bank_views_one_signal_or_a_stack(key):
    """`ViewBank.views`: all K views T_k x + sigma eps of one signal or of a stack; the noise of
    the whole output comes from one key; without noise the views are exactly T_k x."""
    bank = bj.ViewBank(8, key=key, num_rotations=5, angle=0.2, sigma=0.0)
    xs = jr.normal(jr.fold_in(key, 1), (3, 8))
    stack = bank.views(xs, key=jr.fold_in(key, 2))
    assert stack.shape == (3, 5, 8)
    np.testing.assert_allclose(stack[1], bank.rotations @ xs[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bank.views(xs[1], key=key), stack[1], rtol=1e-5, atol=1e-6)
    noisy = bj.ViewBank.from_transforms(bank.rotations, sigma=0.3)
    v = noisy.views(xs, key=jr.fold_in(key, 3))
    residual = v - stack
    assert 0.2 < float(jnp.std(residual)) < 0.4
    with pytest.raises(ValueError, match="signal of length 8"):
        bank.views(jnp.ones(7), key=key)


@pytest.mark.parametrize("num", [4, 40])
def test_view_bank_one_view_is_the_picked_transform(num, key):
    """`bank(x, key=...)` is T_k x + sigma eps for one uniform k, whichever way it computes it
    (all K products then the pick for a small bank, the picked matrix for a large one): the
    same view, vmapped over signals or not, as the picked matrix applied to x."""
    from bridge_jax._augment import _vectors as _augmentations

    assert (num <= _augmentations._ALL_PRODUCTS_MAX_K) == (num == 4)  # both branches
    bank = bj.ViewBank(8, key=key, num_rotations=num, angle=0.2, sigma=0.3)
    xs = jr.normal(jr.fold_in(key, 1), (6, 8))
    keys = jr.split(jr.fold_in(key, 2), 6)
    views = jax.jit(jax.vmap(lambda k, x: bank(x, key=k)))(keys, xs)
    picks = []
    for k, x, v in zip(keys, xs, views, strict=True):
        k_pick, k_noise = jr.split(k)
        pick = int(jr.randint(k_pick, (), 0, num))
        picks.append(pick)
        expected = bank.rotations[pick] @ x + 0.3 * jr.normal(k_noise, (8,))
        np.testing.assert_allclose(v, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(bank(x, key=k), v, rtol=1e-5, atol=1e-5)
    assert len(set(picks)) > 1


def test_view_bank_gradients(key):
    """`views` is differentiable in the transforms and a traced noise level; one view drawn with
    `bank(x, key=...)` holds the bank constant (a method never trains its augmentations)."""
    x = jr.normal(key, (8,))
    t = bj.ViewBank(8, key=key, num_rotations=4).rotations

    def energy(t, sigma):
        return jnp.sum(bj.ViewBank.from_transforms(t, sigma=sigma).views(x, key=key) ** 2)

    g_t, g_sigma = jax.grad(energy, argnums=(0, 1))(t, jnp.asarray(0.1))
    assert float(jnp.abs(g_t).sum()) > 0 and float(jnp.abs(g_sigma)) > 0

    def one_view(t, sigma):
        return jnp.sum(bj.ViewBank.from_transforms(t, sigma=sigma)(x, key=key) ** 2)

    g_t, g_sigma = jax.grad(one_view, argnums=(0, 1))(t, jnp.asarray(0.1))
    assert float(jnp.abs(g_t).sum()) == 0 and float(g_sigma) == 0


def test_random_mask_is_the_rank_of_a_random_permutation():
    # The mask hides the entries of rank < round(rho N) in the order jr.permutation draws: the
    # scatter that inverts the permutation gives argsort's numbers exactly, batched or not.
    keys = jr.split(jr.key(3), 7)
    for shape, ratio in ((32, 0.5), ((8, 8), 0.3), (5, 0.0), ((3, 4), 0.9)):
        size = int(np.prod(shape))
        expected = np.stack(
            [
                (np.argsort(np.asarray(jr.permutation(k, size))) >= round(ratio * size)).reshape(
                    shape
                )
                for k in keys
            ]
        )
        got = jax.vmap(lambda k, s=shape, r=ratio: bj.random_mask(s, r, key=k))(keys)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(bj.random_mask(shape, ratio, key=keys[0]), expected[0])
        assert (~expected).sum(axis=tuple(range(1, expected.ndim))).tolist() == [
            round(ratio * size)
        ] * len(keys)
