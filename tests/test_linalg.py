"""Solvers and matrix-free tools on every operator of the registry (any lineax operator,
real or complex, on arrays of any shape), against NumPy references on the dense matrix."""

import functools

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
import numpy as np
import pytest
from registry import COMPLEX, OPERATORS, random_input

import bridge_jax as bj

# One of each kind (vector, image, complex, composed, a user's function, real in and complex
# out): the transformation tests in test_operators.py cover the whole registry.
NAMES = [
    "gaussian_image",
    "matrix_complex",
    "subsample_image",
    "blur_mask",
    "composed",
    "user_function",
    "masked_fourier",
]
REAL = [n for n in NAMES if n not in COMPLEX]


def _op(name, key):
    return OPERATORS[name](jr.fold_in(key, 7))


def _real_in(op):
    return not jnp.issubdtype(op.in_structure().dtype, jnp.complexfloating)


def _reference_pinv(op, y):
    """NumPy's minimum-norm least squares; over real x when the input is real."""
    a, y = np.asarray(op.as_matrix()), np.asarray(y).reshape(-1)
    if np.iscomplexobj(a) and _real_in(op):
        a, y = np.concatenate([a.real, a.imag]), np.concatenate([y.real, y.imag])
    return (np.linalg.pinv(a) @ y).reshape(op.in_structure().shape)


def _adjoint_matrix(op):
    a = np.asarray(op.as_matrix())
    return a.conj().T


@pytest.mark.parametrize("name", NAMES)
def test_operator_norm(name, key, x64):
    op = _op(name, key)
    ref = np.linalg.norm(np.asarray(op.as_matrix()), 2)
    np.testing.assert_allclose(bj.operator_norm(op, num_iters=400), ref, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_pinv_solve_dense_and_matrix_free(name, key, x64):
    op = _op(name, key)
    y = random_input(op, jr.fold_in(key, 1), output=True)
    ref = _reference_pinv(op, y)
    np.testing.assert_allclose(bj.pinv_solve(op, y), ref, rtol=1e-8, atol=1e-8)
    # The matrix-free path (lineax LSMR; for real unknowns and complex data over the stacked
    # real and imaginary parts), forced by passing a solver.
    solver = lx.LSMR(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bj.pinv_solve(op, y, solver=solver), ref, rtol=1e-6, atol=1e-6)


def test_pinv_solve_of_a_projection_like_gram_does_not_break_down(key):
    """MRI at 64 x 64 in float32: A^* A is a projection (a solver on the normal equations
    converges in one step and then divided 0 by 0); the matrix-free pseudoinverse equals the
    closed form."""
    op = bj.MRI(bj.cartesian_mask((64, 64), 4, center_fraction=0.08, key=key))
    y = op.mv(jr.uniform(jr.fold_in(key, 1), (64, 64)))
    x = bj.pinv_solve(op, y, solver=lx.LSMR(rtol=1e-6, atol=1e-6))
    np.testing.assert_allclose(x, op.pseudoinverse(y), atol=1e-5)


def test_pinv_solve_of_a_diagonal_is_entrywise(key, x64):
    """The diagonal path (no matrix formed) gives NumPy's pseudoinverse, cutoff included."""
    mask = jr.bernoulli(key, 0.5, (4, 5))
    y = jr.normal(jr.fold_in(key, 1), (4, 5))
    np.testing.assert_array_equal(bj.pinv_solve(bj.Mask(mask), y), np.where(mask, y, 0.0))
    d = jnp.asarray([2.0, -0.5, 0.0, 1e-20, 3.0])
    ref = np.linalg.pinv(np.diag(np.asarray(d))) @ np.arange(1.0, 6.0)
    op = lx.DiagonalLinearOperator(d)
    np.testing.assert_allclose(bj.pinv_solve(op, jnp.arange(1.0, 6.0)), ref, rtol=1e-15)
    # An explicit rtol cuts the same singular values as the dense path's.
    dense = bj.pinv_solve(lx.MatrixLinearOperator(jnp.diag(d)), jnp.ones(5), rtol=0.2)
    np.testing.assert_allclose(bj.pinv_solve(op, jnp.ones(5), rtol=0.2), dense, atol=1e-12)


@pytest.mark.parametrize("method", ["qr", "cholesky"])
@pytest.mark.parametrize("m,n", [(9, 9), (6, 11)])
def test_masked_pinv_solve_matches_numpy(m, n, method, key, x64):
    """(D A)^+ y from one QR, or from the kept rows' Gram with refinement, equals NumPy's pinv
    of the row-masked matrix, under vmap over masks too; on y = A x it is the orthogonal
    projection onto the kept rows' span."""
    a = jr.normal(key, (m, n)) / np.sqrt(m)
    op = bj.MatrixOperator(a)
    masks = jnp.stack(
        [bj.random_mask(m, r, key=jr.fold_in(key, i)) for i, r in enumerate((0.0, 0.3, 0.6))]
        + [jnp.zeros(m, bool)]
    )
    y = jr.normal(jr.fold_in(key, 9), (m,))
    solve = functools.partial(bj.masked_pinv_solve, method=method)
    got = jax.vmap(solve, (None, 0, None))(op, masks, y)
    for mask, x in zip(masks, got, strict=True):
        d = np.diag(np.asarray(mask, float))
        np.testing.assert_allclose(x, np.linalg.pinv(d @ a) @ (d @ y), rtol=1e-10, atol=1e-12)
    x = jr.normal(jr.fold_in(key, 10), (n,))
    p = solve(op, masks[1], a @ x)
    np.testing.assert_allclose(solve(op, masks[1], a @ p), p, atol=1e-12)
    np.testing.assert_allclose(np.asarray(a)[np.asarray(masks[1])] @ (x - p), 0, atol=1e-12)


@pytest.mark.parametrize("cond", [1e1, 1e2, 1e3, 1e4, 1e5])
def test_masked_pinv_solve_cholesky_is_accurate_or_refuses(cond):
    """In float32 the Cholesky path is as accurate as QR while cond(A_K)^2 eps < 1; beyond it
    its refinement does not converge and it raises (throw=True) or returns NaN (throw=False),
    not a wrong number (unchecked, at cond 1e4 its result is off by a factor of ~10)."""
    rng = np.random.default_rng(int(np.log10(cond)))
    n = 32
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = (u * np.logspace(0, -np.log10(cond), n)) @ v.T
    x = rng.standard_normal(n)
    truth = np.linalg.pinv(a) @ (a @ x)  # every row kept: the worst-conditioned A_K
    op = bj.MatrixOperator(jnp.asarray(a, jnp.float32))
    y, mask = jnp.asarray(a @ x), jnp.ones(n, bool)
    qr = bj.masked_pinv_solve(op, mask, y)
    chol = bj.masked_pinv_solve(op, mask, y, method="cholesky", throw=False)
    assert np.all(np.isfinite(qr))
    if cond <= 1e3:
        err = lambda v: np.linalg.norm(np.asarray(v, float) - truth) / np.linalg.norm(truth)  # noqa: E731
        assert err(chol) <= max(2 * err(qr), 1e-6)
        bj.masked_pinv_solve(op, mask, y, method="cholesky")  # and no error
    else:
        assert np.all(np.isnan(chol))
        with pytest.raises(Exception, match="too ill-conditioned for their Gram matrix"):
            bj.masked_pinv_solve(op, mask, y, method="cholesky")


def test_masked_pinv_solve_rejects_what_it_cannot_do(key):
    with pytest.raises(ValueError, match="at most as many rows as columns"):
        bj.masked_pinv_solve(bj.MatrixOperator(jnp.ones((4, 3))), jnp.ones(4, bool), jnp.ones(4))
    op = bj.MatrixOperator(jnp.ones((3, 4)))
    with pytest.raises(TypeError, match="mask must be boolean"):
        bj.masked_pinv_solve(op, jnp.ones(3), jnp.ones(3))
    with pytest.raises(ValueError, match="mask must have shape"):
        bj.masked_pinv_solve(op, jnp.ones(4, bool), jnp.ones(3))
    with pytest.raises(ValueError, match="method must be 'qr' or 'cholesky', got 'svd'"):
        bj.masked_pinv_solve(op, jnp.ones(3, bool), jnp.ones(3), method="svd")


@pytest.mark.parametrize("name", NAMES)
def test_landweber_matches_numpy(name, key, x64):
    op = _op(name, key)
    y = random_input(op, jr.fold_in(key, 2), output=True)
    tau = 0.5 / np.linalg.norm(np.asarray(op.as_matrix()), 2) ** 2
    x, losses = bj.landweber(op, y, step_size=tau, num_steps=15)
    a, ah, yv = np.asarray(op.as_matrix()), _adjoint_matrix(op), np.asarray(y).reshape(-1)
    xk = np.zeros(a.shape[1], dtype=np.asarray(x).dtype)
    for _ in range(15):
        step = ah @ (yv - a @ xk)
        xk = xk + tau * (step.real if _real_in(op) else step)
    np.testing.assert_allclose(np.asarray(x).reshape(-1), xk, rtol=1e-9, atol=1e-10)
    assert x.shape == op.in_structure().shape and losses[-1] <= losses[0]


@pytest.mark.parametrize("name", REAL)
def test_dense_paths_match_iterative(name, key, x64):
    # The closed-form and normal-equation Landweber paths are exact on any real operator.
    op = _op(name, key)
    y = random_input(op, jr.fold_in(key, 3), output=True)
    x0 = random_input(op, jr.fold_in(key, 4))
    kw = dict(x0=x0, step_size=0.3 / bj.operator_norm(op) ** 2, num_steps=10)
    x_it, l_it = bj.landweber(op, y, **kw)
    for fn in (bj.landweber_spectral, bj.landweber_gram):
        x, losses = fn(op, y, **kw)
        assert x.shape == x_it.shape
        np.testing.assert_allclose(x, x_it, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(losses, l_it, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("name", REAL)
def test_ista_on_any_operator(name, key, x64):
    op = _op(name, key)
    y = random_input(op, jr.fold_in(key, 5), output=True)
    x, objectives = bj.ista(op, y, lam=0.05, num_steps=30)
    assert x.shape == op.in_structure().shape
    assert np.all(np.diff(np.asarray(objectives)) <= 1e-10)  # ISTA is monotone


def _user_operator(shape, key):
    """A user's own operator, written as a plain function on (H, W) images: a 3x3 box blur with
    zero padding, then a random half of the pixels (no bridge_jax class involved)."""
    keep = jr.bernoulli(key, 0.5, shape)

    def fn(x):
        padded = jnp.pad(x, 1)
        h, w = shape
        blurred = sum(padded[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9
        return jnp.where(keep, blurred, 0.0)

    return lx.FunctionLinearOperator(fn, jax.ShapeDtypeStruct(shape, jnp.result_type(float)))


def test_user_function_operator_goes_through_every_tool(key, x64):
    shape = (12, 10)
    op = _user_operator(shape, key)
    x = jr.uniform(jr.fold_in(key, 1), shape)
    y = op.mv(x)
    a = np.asarray(op.as_matrix())
    # operator_norm, pinv_solve (dense and matrix-free), landweber, the leading subspace.
    np.testing.assert_allclose(
        bj.operator_norm(op, num_iters=2000), np.linalg.norm(a, 2), rtol=1e-6
    )
    ref = np.linalg.pinv(a) @ np.asarray(y).ravel()
    np.testing.assert_allclose(bj.pinv_solve(op, y).ravel(), ref, atol=1e-8)
    lsmr = bj.pinv_solve(op, y, solver=lx.LSMR(rtol=1e-12, atol=1e-12))
    np.testing.assert_allclose(lsmr.ravel(), ref, atol=1e-6)
    x_hat, losses = bj.landweber(op, y, num_steps=500)
    assert x_hat.shape == shape and losses[-1] < 1e-3 * losses[0]
    vals, vecs = bj.leading_eigenpairs(bj.gram(op), 5, method="lobpcg", num_iters=500)
    ref_vals = np.linalg.eigvalsh(a.T @ a)[::-1][:5]
    np.testing.assert_allclose(vals, ref_vals, rtol=1e-6)
    assert vecs.shape == (5, *shape)
    basis = bj.leading_subspace(bj.gram(op), 5, method="lobpcg", num_iters=500)
    ref_basis = np.linalg.eigh(a.T @ a)[1][:, ::-1][:, :5]
    np.testing.assert_allclose(bj.subspace_alignment(basis, ref_basis), 1.0, rtol=1e-6)
    np.testing.assert_allclose(bj.operator_spectrum(op, 5, method="lobpcg"), ref_vals, rtol=1e-4)


def test_leading_eigenpairs_matrix_free_against_dense_eigh(key):
    # Blur then mask on 32 x 32 images: the 32 leading eigenvalues of A^T A by LOBPCG (never
    # forming the 1024 x 1024 matrix) against a dense eigh.
    shape = (32, 32)
    op = bj.Mask(bj.random_mask(shape, 0.5, key=key)) @ bj.Blur.gaussian(1.5, shape=shape)
    vals, vecs = bj.leading_eigenpairs(bj.gram(op), 32, method="lobpcg", num_iters=300)
    a = np.asarray(op.as_matrix(), dtype=np.float64)
    ref = np.linalg.eigvalsh(a.T @ a)[::-1][:32]
    np.testing.assert_allclose(vals, ref, rtol=2e-3)
    flat = np.asarray(vecs).reshape(32, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(32), atol=1e-4)  # orthonormal
    # Each returned vector is an eigenvector: ||G v - lambda v|| small relative to lambda.
    g = a.T @ a
    resid = np.linalg.norm(flat @ g - vals[:, None] * flat, axis=1)
    assert np.all(resid < 1e-2 * np.asarray(vals))


def test_covariance_operator_matches_dense(key, x64):
    views = jr.normal(key, (20, 5, 6, 4))  # N = 20 signals, K = 5 views, (6, 4) images
    op = bj.augmentation_covariance_operator(views)
    dense = bj.augmentation_covariance(views.reshape(20, 5, 24))
    np.testing.assert_allclose(op.as_matrix(), dense, rtol=1e-12, atol=1e-14)
    v = jr.normal(jr.fold_in(key, 1), (6, 4))
    np.testing.assert_allclose(op.mv(v).ravel(), dense @ v.ravel(), rtol=1e-12)
    vals, _ = bj.leading_eigenpairs(op, 3)
    np.testing.assert_allclose(vals, np.linalg.eigvalsh(dense)[::-1][:3], rtol=1e-10)


def test_leading_eigenpairs_arguments(key):
    op = bj.gram(bj.GaussianSensing(10, 4, key=key))
    with pytest.raises(ValueError, match="5k < n"):
        bj.leading_eigenpairs(op, 3, method="lobpcg")
    with pytest.raises(ValueError, match="method must be one of"):
        bj.leading_eigenpairs(op, 3, method="arnoldi")
    with pytest.raises(ValueError, match="must be square"):
        bj.leading_eigenpairs(bj.GaussianSensing(10, 4, key=key), 2)
