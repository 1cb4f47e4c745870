"""Learned reconstructors and encoders: shapes, starting point, pytree behaviour."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


def test_untrained_unrolled_net_is_landweber(key):
    k_op, k_x, k_m = jr.split(key, 3)
    op = bj.GaussianSensing(12, 6, key=k_op)
    y = op.mv(bj.sparse_signal(12, 3, key=k_x))
    net = bj.UnrolledNet(12, num_iters=4, step=0.2, width=16, key=k_m)
    expected, _ = bj.landweber(op, y, step_size=0.2, num_steps=4)
    np.testing.assert_allclose(net(op, y), expected, rtol=1e-5, atol=1e-7)


def test_reconstructors_work_with_any_operator_and_vmap(key):
    k_op, k_x, k_m = jr.split(key, 3)
    ops = [bj.GaussianSensing(10, 5, key=k_op), bj.Subsample(jnp.array([0, 3, 4]), 10)]
    for model in (
        bj.MLPReconstructor(10, width=8, key=k_m),
        bj.UnrolledNet(10, num_iters=2, width=8, key=k_m),
    ):
        for op in ops:
            ys = jnp.ones((4, op.out_size()))
            out = jax.vmap(lambda y, op=op, model=model: model(op, y))(ys)
            assert out.shape == (4, 10) and np.all(np.isfinite(out))
        with pytest.raises(ValueError, match="in_size"):
            model(bj.GaussianSensing(9, 5, key=k_op), jnp.ones(5))


def test_models_serialise(tmp_path, key):
    net = bj.UnrolledNet(6, num_iters=2, width=8, key=key)
    net = eqx.tree_at(lambda m: m.log_steps, net, jnp.array([0.1, -0.3]))
    path = tmp_path / "net.eqx"
    eqx.tree_serialise_leaves(path, net)
    loaded = eqx.tree_deserialise_leaves(path, bj.UnrolledNet(6, num_iters=2, width=8, key=key))
    op = bj.Mask(jnp.array([True, False] * 3))
    np.testing.assert_array_equal(loaded(op, jnp.ones(6)), net(op, jnp.ones(6)))


def test_encoder_and_bad_sizes(key):
    enc = bj.Encoder(5, 3, width=7, key=key)
    assert enc(jnp.ones(5)).shape == (3,) and (enc.in_size, enc.out_size) == (5, 3)
    with pytest.raises(ValueError, match="width"):
        bj.UnrolledNet(5, width=0, key=key)
    with pytest.raises(ValueError, match="step"):
        bj.UnrolledNet(5, step=-1.0, key=key)
    with pytest.raises(TypeError, match="key"):
        bj.MLPReconstructor(5, key=None)


@pytest.mark.default_compiler
def test_untrained_shrinkage_net_is_ista_and_steps_stay_convergent(key, x64):
    k_op, k_x = jr.split(key)
    op = bj.GaussianSensing(12, 6, key=k_op)
    y = op.mv(bj.sparse_signal(12, 2, key=k_x))
    tau = float(bj.default_step_size(op))
    net = bj.UnrolledShrinkage(12, num_iters=7, step=tau, threshold=0.1)
    expected, _ = bj.ista(op, y, lam=0.1, step_size=tau, num_steps=7)
    np.testing.assert_allclose(net(op, y), expected, rtol=1e-10, atol=1e-12)
    # However far training pushes the logits, the steps stay inside (0, 2 * step).
    pushed = eqx.tree_at(lambda m: m.step_logits, net, jnp.full(7, 50.0))
    assert np.all(np.asarray(pushed.steps) <= 2 * tau) and np.all(np.asarray(pushed.steps) > 0)
    grads = eqx.filter_grad(lambda m: jnp.sum(m(op, y) ** 2))(net)
    assert float(grads.step) == 0.0  # the bound is not a parameter


def test_unrolled_models_unroll_short_loops_only(key):
    # Up to FULL_UNROLL_MAX iterations the loop is straight-line code (faster to train on
    # XLA:CPU); longer ones keep a rolled loop (compile time grows with the length).
    from bridge_jax._models._base import FULL_UNROLL_MAX

    op = bj.GaussianSensing(8, 4, key=key)
    y = jnp.ones(4)

    def unroll_of(model):
        eqns = jax.make_jaxpr(lambda: model(op, y))().jaxpr.eqns
        (scan,) = [e for e in _all_eqns(eqns) if e.primitive.name == "scan"]
        return scan.params["unroll"]

    for t, want in ((10, 10), (FULL_UNROLL_MAX, FULL_UNROLL_MAX), (FULL_UNROLL_MAX + 1, 1)):
        assert unroll_of(bj.UnrolledShrinkage(8, num_iters=t)) == want
        assert unroll_of(bj.UnrolledNet(8, num_iters=t, width=4, key=key)) == want
        assert unroll_of(bj.UnrolledLandweber.constant(t, 0.1)) == want


def _all_eqns(eqns):
    for e in eqns:
        yield e
        for sub in jax.core.jaxprs_in_params(e.params):
            yield from _all_eqns(sub.eqns)
