"""SSRL losses against NumPy references and their defining properties."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


def _nt_xent_numpy(z1, z2, t):
    z = np.concatenate([z1, z2])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    n2 = len(z)
    half = n2 // 2
    total = 0.0
    for i in range(n2):
        pos = (i + half) % n2
        sims = np.array([z[i] @ z[j] / t for j in range(n2) if j != i])
        total += -(z[i] @ z[pos] / t) + np.log(np.sum(np.exp(sims)))
    return total / n2


def test_nt_xent_against_numpy(key, x64):
    k1, k2 = jr.split(key)
    z1, z2 = jr.normal(k1, (6, 5)), jr.normal(k2, (6, 5))
    for t in (0.1, 0.5, 2.0):
        ours = bj.nt_xent_loss(z1, z2, temperature=t)
        np.testing.assert_allclose(
            ours, _nt_xent_numpy(np.asarray(z1), np.asarray(z2), t), rtol=1e-10
        )


def test_nt_xent_prefers_aligned_views(key):
    z = jr.normal(key, (16, 8))
    aligned = bj.nt_xent_loss(z, 2.0 * z, temperature=0.1)  # scale does not matter: cosine
    shuffled = bj.nt_xent_loss(z, jnp.roll(z, 1, axis=0), temperature=0.1)
    assert aligned < shuffled


def test_byol_loss_values_and_stop_gradient(key):
    p = jr.normal(key, (4, 3))
    np.testing.assert_allclose(bj.byol_loss(p, 3.0 * p), 0.0, atol=1e-6)
    np.testing.assert_allclose(bj.byol_loss(p, -p), 4.0, rtol=1e-6)
    grad_target = jax.grad(lambda z: bj.byol_loss(p, z))(jr.normal(jr.fold_in(key, 1), (4, 3)))
    assert np.all(grad_target == 0)


def test_dino_loss_against_numpy(key, x64):
    k1, k2, k3 = jr.split(key, 3)
    s, t, c = jr.normal(k1, (5, 7)), jr.normal(k2, (5, 7)), jr.normal(k3, (7,))
    ts, tt = 0.1, 0.04
    pt = np.exp((np.asarray(t) - np.asarray(c)) / tt)
    pt /= pt.sum(1, keepdims=True)
    logits = np.asarray(s) / ts
    log_ps = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = -np.mean(np.sum(pt * log_ps, axis=1))
    ours = bj.dino_loss(s, t, c, student_temperature=ts, teacher_temperature=tt)
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    # No gradient reaches the teacher or the centre.
    g_t, g_c = jax.grad(lambda t_, c_: bj.dino_loss(s, t_, c_), argnums=(0, 1))(t, c)
    assert np.all(g_t == 0) and np.all(g_c == 0)


def test_mae_loss_counts_hidden_entries_only(key):
    target = jr.normal(key, (3, 8))
    hidden = jnp.zeros((3, 8), bool).at[:, :4].set(True)
    pred = target.at[:, 4:].add(100.0)  # errors only on visible entries
    assert float(bj.mae_loss(pred, target, hidden)) == 0.0
    pred = target.at[:, :4].add(1.0)
    np.testing.assert_allclose(bj.mae_loss(pred, target, hidden), 1.0, rtol=1e-6)


def test_ema_update_mixes_float_leaves_only():
    target = {"w": jnp.ones(3), "i": jnp.arange(3)}
    online = {"w": jnp.zeros(3), "i": jnp.arange(3) + 5}
    new = bj.ema_update(target, online, 0.9)
    np.testing.assert_allclose(new["w"], 0.9)
    np.testing.assert_array_equal(new["i"], target["i"])


def test_bad_arguments():
    z = jnp.ones((4, 3))
    with pytest.raises(ValueError, match="z2 must have shape"):
        bj.nt_xent_loss(z, jnp.ones((4, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        bj.nt_xent_loss(z[:1], z[:1])
    with pytest.raises(ValueError, match="temperature"):
        bj.nt_xent_loss(z, z, temperature=0.0)
    with pytest.raises(ValueError, match="decay"):
        bj.ema_update(z, z, 1.5)
