import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


def _operators(key):
    k1, k2, k3, k4 = jr.split(key, 4)
    mask = bj.random_mask(12, 0.25, key=k2)
    gauss = bj.GaussianSensing(12, 7, key=k1)
    sub = bj.Subsample(jnp.array([0, 3, 4, 9, 11]), 12)
    return {
        "gaussian": gauss,
        "matrix": bj.MatrixOperator(jr.normal(k3, (5, 12))),
        "mask": bj.Mask(mask),
        "subsample": sub,
        "subsample_from_mask": bj.Subsample.from_mask(mask),
        "composed": bj.GaussianSensing(5, 4, key=k4) @ sub,
        "composed_mask": gauss @ bj.Mask(mask),
    }


NAMES = list(_operators(jr.key(0)))


@pytest.mark.parametrize("name", NAMES)
def test_adjoint_dot_test(name, key, x64):
    op = _operators(key)[name]
    kx, ky = jr.split(jr.fold_in(key, 1))
    x = jr.normal(kx, (op.in_size,))
    y = jr.normal(ky, (op.out_size,))
    np.testing.assert_allclose(jnp.dot(op.mv(x), y), jnp.dot(x, op.rmv(y)), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_matches_dense_matrix(name, key, x64):
    op = _operators(key)[name]
    a = np.asarray(op.as_matrix())
    assert a.shape == (op.out_size, op.in_size)
    kx, ky = jr.split(jr.fold_in(key, 2))
    x = jr.normal(kx, (op.in_size,))
    y = jr.normal(ky, (op.out_size,))
    np.testing.assert_allclose(op.mv(x), a @ np.asarray(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.rmv(y), a.T @ np.asarray(y), rtol=1e-12, atol=1e-12)


def test_gaussian_sensing_scaling(key):
    # E[A^T A] = I when A_ij ~ N(0, 1/m): check on a big matrix, entry variance 1/m.
    op = bj.GaussianSensing(200, 400, key=key)
    var = float(jnp.var(op.matrix))
    # The sample variance of 80,000 N(0, 1/400) entries has relative sd sqrt(2/80000).
    assert abs(var * 400 - 1) < 5 * np.sqrt(2 / 80_000)
    assert op.in_size == 200 and op.out_size == 400


def test_mask_is_self_adjoint_projection(key):
    op = bj.Mask(bj.random_mask(20, 0.4, key=key))
    a = op.as_matrix()
    np.testing.assert_array_equal(a, a.T)
    np.testing.assert_array_equal(a @ a, a)


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.5, 0.73, 0.95])
def test_random_mask_hides_the_requested_fraction(ratio, key):
    mask = bj.random_mask(64, ratio, key=key)
    assert mask.dtype == jnp.bool_
    assert int((~mask).sum()) == round(ratio * 64)


def test_random_mask_traced_ratio_and_uniform_support(key):
    ratios = jnp.array([0.1, 0.5, 0.9])
    masks = jax.vmap(lambda r: bj.random_mask(10, r, key=key))(ratios)
    np.testing.assert_array_equal((~masks).sum(1), [1, 5, 9])
    # Each entry is hidden with probability 0.5 at ratio 0.5: check the frequencies.
    many = jax.vmap(lambda k: bj.random_mask(10, 0.5, key=k))(jr.split(key, 4000))
    freq = np.asarray((~many).mean(0))
    assert np.all(np.abs(freq - 0.5) < 5 * np.sqrt(0.25 / 4000))


def test_subsample_is_rows_of_identity(x64):
    op = bj.Subsample(jnp.array([2, 0, 5]), 6)
    np.testing.assert_array_equal(op.as_matrix(), np.eye(6)[[2, 0, 5]])
    np.testing.assert_array_equal(op.rmv(jnp.array([1.0, 2.0, 3.0])), [2, 0, 1, 0, 0, 3])


def test_composition_matrix(key, x64):
    ops = _operators(key)
    comp = ops["composed"]
    np.testing.assert_allclose(
        comp.as_matrix(), ops["composed"].outer.as_matrix() @ ops["subsample"].as_matrix()
    )
    assert (comp.out_size, comp.in_size) == (4, 12)


def test_operator_norm_against_numpy(key):
    op = bj.GaussianSensing(64, 32, key=key)
    np.testing.assert_allclose(bj.operator_norm(op), np.linalg.norm(op.matrix, 2), rtol=1e-4)
    masked = bj.Mask(bj.random_mask(64, 0.5, key=key))
    np.testing.assert_allclose(bj.operator_norm(masked), 1.0, rtol=1e-6)


@pytest.mark.parametrize("shape", [(8, 20), (20, 8), (10, 10)])
def test_pinv_solve_against_numpy(shape, key, x64):
    ka, ky = jr.split(key)
    a = np.asarray(jr.normal(ka, shape))
    y = np.asarray(jr.normal(ky, (shape[0],)))
    x = bj.pinv_solve(bj.MatrixOperator(a), y)
    np.testing.assert_allclose(x, np.linalg.pinv(a) @ y, rtol=1e-10, atol=1e-12)


def test_operators_are_pytrees_batchable_over_keys(key):
    ops = jax.vmap(lambda k: bj.GaussianSensing(16, 8, key=k))(jr.split(key, 5))
    assert ops.matrix.shape == (5, 8, 16)
    ys = jax.vmap(lambda op: op.mv(jnp.ones(16)))(ops)
    np.testing.assert_allclose(ys, ops.matrix.sum(-1), rtol=1e-5)
