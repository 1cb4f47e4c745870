import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


def test_augmentation_covariance_against_loop(key, x64):
    views = np.asarray(jr.normal(key, (5, 4, 6)))
    c = np.zeros((6, 6))
    for i in range(5):
        xbar = views[i].mean(0)
        for k in range(4):
            d = views[i, k] - xbar
            c += np.outer(d, d)
    np.testing.assert_allclose(bj.augmentation_covariance(views), c / 20, rtol=1e-12)
    center = np.asarray(jr.normal(jr.fold_in(key, 1), (5, 6)))
    d = (views - center[:, None]).reshape(20, 6)
    np.testing.assert_allclose(bj.augmentation_covariance(views, center), d.T @ d / 20)


def test_isotropic_noise_views_give_flat_covariance(key):
    # Pure N(0, s^2) views: C_SSRL -> s^2 (K-1)/K I with the 1/(NK) normalisation.
    views = 0.5 * jr.normal(key, (4000, 10, 8))
    c = np.asarray(bj.augmentation_covariance(views))
    np.testing.assert_allclose(c, 0.25 * 0.9 * np.eye(8), atol=0.01)


def test_eigenspectrum_and_operator_spectrum(key, x64):
    a = np.asarray(jr.normal(key, (5, 9)))
    m = a.T @ a
    np.testing.assert_allclose(
        bj.eigenspectrum(m), np.sort(np.linalg.eigvalsh(m))[::-1], rtol=1e-10, atol=1e-12
    )
    spec = bj.operator_spectrum(bj.MatrixOperator(a))
    sv = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(spec[:5], sv**2, rtol=1e-10)
    np.testing.assert_allclose(spec[5:], 0, atol=1e-10)


@pytest.mark.parametrize("method", ["max", "sum", "l2"])
def test_normalize_spectrum(method):
    s = jnp.array([4.0, 2.0, 1.0, 1.0])
    n = bj.normalize_spectrum(s, method)
    target = {"max": 4.0, "sum": 8.0, "l2": np.sqrt(22.0)}[method]
    np.testing.assert_allclose(n, np.asarray(s) / target, rtol=1e-6)


def test_spectral_correlation_is_pearson_of_sorted(key, x64):
    a = np.asarray(jr.uniform(key, (10,)))
    b = np.asarray(jr.uniform(jr.fold_in(key, 1), (10,)))
    sa, sb = np.sort(a)[::-1], np.sort(b)[::-1]
    np.testing.assert_allclose(bj.spectral_correlation(a, b), np.corrcoef(sa, sb)[0, 1])
    np.testing.assert_allclose(
        bj.spectral_correlation(a, b, k=4), np.corrcoef(sa[:4], sb[:4])[0, 1]
    )
    np.testing.assert_allclose(bj.spectral_correlation(a, 3 * a + 1), 1.0)


def test_effective_rank_threshold_is_matrix_rank(key, x64):
    for r in (1, 3, 6):
        f = np.asarray(jr.normal(jr.fold_in(key, r), (8, r)))
        m = f @ f.T
        assert int(bj.effective_rank(bj.eigenspectrum(m))) == np.linalg.matrix_rank(m) == r


def test_effective_rank_entropy_closed_forms():
    np.testing.assert_allclose(bj.effective_rank(jnp.array([2.0, 2, 2, 0, 0]), "entropy"), 3.0)
    p = np.array([0.5, 0.25, 0.25])
    np.testing.assert_allclose(
        bj.effective_rank(jnp.asarray(p), "entropy"), np.exp(-(p * np.log(p)).sum()), rtol=1e-6
    )
