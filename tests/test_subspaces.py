import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy.linalg import subspace_angles
from scipy.special import gammaln

import bridge_jax as bj


@pytest.mark.parametrize("p,q", [(3, 3), (5, 2), (2, 6), (1, 1), (10, 10)])
def test_principal_angles_against_scipy(p, q, key, x64):
    ku, kv = jr.split(key)
    u = np.asarray(jr.normal(ku, (12, p)))
    v = np.asarray(jr.normal(kv, (12, q)))
    ours = np.asarray(bj.principal_angles(u, v))
    np.testing.assert_allclose(ours, np.sort(subspace_angles(u, v)), atol=1e-10)
    assert np.all(np.diff(ours) >= 0)


@pytest.mark.parametrize("orthonormal", [False, True])
def test_complex_bases_use_the_hermitian_inner_product(orthonormal, key, x64):
    """Complex subspaces (a complex operator's row space): angles as SciPy's, and a basis
    against itself times a phase gives zero angles."""
    k = jr.split(key, 4)
    u = np.asarray(jr.normal(k[0], (10, 3)) + 1j * jr.normal(k[1], (10, 3)))
    v = np.asarray(jr.normal(k[2], (10, 2)) + 1j * jr.normal(k[3], (10, 2)))
    if orthonormal:
        u, v = np.linalg.qr(u)[0], np.linalg.qr(v)[0]
    ours = np.asarray(bj.principal_angles(u, v, orthonormal=orthonormal))
    np.testing.assert_allclose(ours, np.sort(subspace_angles(u, v)), atol=1e-10)
    same = np.asarray(bj.principal_angles(u, 1j * u, orthonormal=orthonormal))
    np.testing.assert_allclose(same, 0.0, atol=1e-6)


def test_small_angles_are_accurate(key, x64):
    u = np.asarray(jr.normal(key, (20, 4)))
    v = u + 1e-7 * np.asarray(jr.normal(jr.fold_in(key, 1), (20, 4)))
    ours = np.asarray(bj.principal_angles(u, v))
    np.testing.assert_allclose(ours, np.sort(subspace_angles(u, v)), rtol=1e-5, atol=1e-14)
    assert ours.max() < 1e-5


@pytest.mark.parametrize("p,q", [(4, 4), (6, 2), (2, 6), (1, 1)])
def test_orthonormal_bases_skip_their_qr_with_the_same_angles(p, q, key, x64):
    u, v = bj.random_subspace(12, p, key=key), bj.random_subspace(12, q, key=jr.fold_in(key, 1))
    ours = np.asarray(bj.principal_angles(u, v, orthonormal=True))
    reference = np.sort(subspace_angles(np.asarray(u), np.asarray(v)))
    np.testing.assert_allclose(ours, reference, atol=1e-12)
    assert np.all(np.diff(ours) >= 0)
    # nearly equal subspaces: the angles come from the sines, accurate far below sqrt(eps)
    w, _ = np.linalg.qr(np.asarray(u) + 1e-7 * np.asarray(jr.normal(jr.fold_in(key, 2), (12, p))))
    close = np.asarray(bj.principal_angles(u, w, orthonormal=True))
    reference = np.sort(subspace_angles(np.asarray(u), w))
    np.testing.assert_allclose(close, reference, rtol=1e-5, atol=1e-14)
    assert close.max() < 1e-5
    np.testing.assert_allclose(
        bj.grassmann_distance(u, v, orthonormal=True), bj.grassmann_distance(u, v), atol=1e-12
    )
    np.testing.assert_allclose(
        bj.subspace_alignment(u, v, orthonormal=True), bj.subspace_alignment(u, v), atol=1e-12
    )


def test_orthonormal_angles_in_float32_agree_with_float64(key):
    # float32 input (the default precision): within float32 rounding of SciPy's float64 angles
    u, v = bj.random_subspace(64, 32, key=key), bj.random_subspace(64, 32, key=jr.fold_in(key, 1))
    assert u.dtype == jnp.float32
    reference = np.sort(subspace_angles(np.asarray(u, np.float64), np.asarray(v, np.float64)))
    for orthonormal in (True, False):
        ours = np.asarray(bj.principal_angles(u, v, orthonormal=orthonormal))
        np.testing.assert_allclose(ours, reference, atol=2e-5)


def test_alignment_and_distance_definitions(key, x64):
    u = jr.normal(key, (10, 3))
    v = jr.normal(jr.fold_in(key, 1), (10, 3))
    theta = np.sort(subspace_angles(np.asarray(u), np.asarray(v)))
    np.testing.assert_allclose(bj.subspace_alignment(u, v), np.cos(theta).mean())
    np.testing.assert_allclose(bj.grassmann_distance(u, v), np.linalg.norm(theta))
    e = jnp.eye(6)
    np.testing.assert_allclose(bj.subspace_alignment(e[:, :3], e[:, :3]), 1.0)
    np.testing.assert_allclose(bj.subspace_alignment(e[:, :3], e[:, 3:]), 0.0, atol=1e-12)
    np.testing.assert_allclose(bj.grassmann_distance(e[:, :3], e[:, 3:]), np.pi / 2 * np.sqrt(3))


def test_random_baseline_matches_closed_form_for_lines(key, x64):
    # For two uniform random lines in R^n, E|cos theta| = Gamma(n/2) / (sqrt(pi) Gamma((n+1)/2)).
    n = 10
    base = bj.random_subspace_baseline(n, 1, key=key, num=4000)
    expected = np.exp(gammaln(n / 2) - gammaln((n + 1) / 2)) / np.sqrt(np.pi)
    a = np.asarray(base.alignment)
    assert abs(a.mean() - expected) < 5 * a.std() / np.sqrt(a.size)


def test_random_subspace_is_orthonormal(key, x64):
    q = bj.random_subspace(9, 4, key=key)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-12)


def test_row_and_null_space(key, x64):
    op = bj.GaussianSensing(10, 4, key=key)
    row, null = bj.row_space(op), bj.null_space(op)
    assert row.shape == (10, 4) and null.shape == (10, 6)
    np.testing.assert_allclose(op.matrix @ null, 0, atol=1e-12)
    basis = np.hstack([row, null])
    np.testing.assert_allclose(basis.T @ basis, np.eye(10), atol=1e-12)
    np.testing.assert_allclose(bj.subspace_alignment(row, op.matrix.T), 1.0)
    masked = bj.Mask(bj.random_mask(10, 0.3, key=key))
    assert bj.null_space(masked, rank=7).shape == (10, 3)
    # tall A: the row space is all of R^n
    tall = bj.MatrixOperator(jr.normal(jr.fold_in(key, 1), (7, 5)))
    full = np.asarray(bj.row_space(tall))
    assert full.shape == (5, 5) and bj.null_space(tall).shape == (5, 0)
    np.testing.assert_allclose(full.T @ full, np.eye(5), atol=1e-12)
    # against NumPy's thin SVD: the same subspace
    reference = np.linalg.svd(np.asarray(op.matrix), full_matrices=False)[2].T
    np.testing.assert_allclose(np.abs(row.T @ reference), np.eye(4), atol=1e-10)


def test_leading_subspace(key, x64):
    q = np.linalg.qr(np.asarray(jr.normal(key, (6, 6))))[0]
    m = q @ np.diag([6.0, 5, 4, 3, 2, 1]) @ q.T
    lead = bj.leading_subspace(m, 2)
    np.testing.assert_allclose(bj.subspace_alignment(lead, q[:, :2]), 1.0, atol=1e-12)
