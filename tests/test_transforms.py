"""Same results under jit, vmap (against a Python loop) and no recompilation on new values."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj


def test_landweber_vmap_over_signals_and_operators_matches_loop(key):
    k_op, k_x = jr.split(key)
    ops = jax.vmap(lambda k: bj.GaussianSensing(16, 8, key=k))(jr.split(k_op, 3))
    xs = bj.sparse_signals(3, 16, 3, key=k_x)
    ys = jax.vmap(lambda op, x: op.mv(x))(ops, xs)
    run = lambda op, y: bj.landweber(op, y, step_size=0.2, num_steps=20)  # noqa: E731
    xb, lb = jax.vmap(run)(ops, ys)
    for i in range(3):
        op_i = jax.tree_util.tree_map(lambda a, i=i: a[i], ops)
        x_i, l_i = run(op_i, ys[i])
        np.testing.assert_allclose(xb[i], x_i, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(lb[i], l_i, rtol=1e-5, atol=1e-6)


def test_landweber_jit_matches_eager(key):
    op = bj.GaussianSensing(16, 8, key=key)
    y = op.mv(bj.sparse_signal(16, 3, key=jr.fold_in(key, 1)))
    eager = bj.landweber(op, y, num_steps=15)
    jitted = eqx.filter_jit(lambda op, y: bj.landweber(op, y, num_steps=15))(op, y)
    np.testing.assert_allclose(eager[0], jitted[0], rtol=1e-5)


def test_augmentations_vmap_matches_loop(key):
    xs = bj.sparse_signals(4, 12, 3, key=key)
    keys = jr.split(jr.fold_in(key, 1), 4)
    batched = jax.vmap(lambda k, x: bj.augmentations(x, 3, key=k))(keys, xs)
    for i in range(4):
        np.testing.assert_allclose(batched[i], bj.augmentations(xs[i], 3, key=keys[i]), atol=1e-6)


def test_spectral_tools_under_jit_and_vmap(key):
    u = jr.normal(key, (5, 10, 3))
    v = jr.normal(jr.fold_in(key, 1), (5, 10, 3))
    batched = jax.jit(jax.vmap(bj.principal_angles))(u, v)
    for i in range(5):
        np.testing.assert_allclose(batched[i], bj.principal_angles(u[i], v[i]), atol=1e-5)
    spec = jax.jit(bj.eigenspectrum)(jnp.eye(4) * 2)
    np.testing.assert_allclose(spec, 2.0)


def test_no_recompilation_for_new_values(key, compile_count):
    k = jr.split(key, 4)
    op1, op2 = bj.GaussianSensing(16, 8, key=k[0]), bj.GaussianSensing(16, 8, key=k[1])
    y1, y2 = jr.normal(k[2], (8,)), jr.normal(k[3], (8,))
    tau1, tau2 = jnp.asarray(0.1), jnp.asarray(0.2)
    bj.landweber(op1, y1, step_size=tau1, num_steps=10)[0].block_until_ready()
    before = compile_count()
    bj.landweber(op2, y2, step_size=tau2, num_steps=10)[0].block_until_ready()
    bj.landweber(op2, y1, step_size=0.05, num_steps=10)[0].block_until_ready()  # Python float
    assert compile_count() == before
