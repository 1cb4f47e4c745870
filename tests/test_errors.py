"""Bad input gets a ValueError/TypeError naming the argument, raised before tracing."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


@pytest.fixture
def op(key):
    return bj.GaussianSensing(16, 8, key=key)


def test_mismatched_shapes(op):
    with pytest.raises(ValueError, match=r"y must have the operator's output shape \(8,\)"):
        bj.landweber(op, jnp.zeros(9), num_steps=3)
    with pytest.raises(ValueError, match=r"x0 must have the operator.s input shape \(16,\)"):
        bj.landweber(op, jnp.zeros(8), x0=jnp.zeros(8), num_steps=3)
    with pytest.raises(ValueError, match="step_size must be a scalar or have shape"):
        bj.landweber(op, jnp.zeros(8), step_size=jnp.ones(4), num_steps=3)
    with pytest.raises(ValueError, match="Incompatible linear operator structures"):
        bj.GaussianSensing(5, 3, key=jr.key(0)) @ op
    with pytest.raises(ValueError, match="y must have the operator.s output shape"):
        bj.pinv_solve(op, jnp.zeros(3))
    with pytest.raises(ValueError, match="same space"):
        bj.principal_angles(jnp.ones((5, 2)), jnp.ones((6, 2)))
    with pytest.raises(ValueError, match="b must have shape"):
        bj.spectral_correlation(jnp.ones(4), jnp.ones(5))


@pytest.mark.parametrize("ratio", [-0.1, 1.0, 1.5, float("nan")])
def test_ratio_out_of_range(ratio, key):
    with pytest.raises(ValueError, match=r"ratio must be in \[0.0, 1.0\)"):
        bj.random_mask(10, ratio, key=key)
    with pytest.raises(ValueError, match="ratio must be in"):
        bj.random_masking(jnp.ones(10), ratio, key=key)


def test_sizes_out_of_range(key):
    with pytest.raises(ValueError, match=r"s must be in \[0, 8\], got 9"):
        bj.sparse_signal(8, 9, key=key)
    with pytest.raises(ValueError, match="m must be >= 1, got 0"):
        bj.GaussianSensing(8, 0, key=key)
    with pytest.raises(
        TypeError, match="shape must be an int or a non-empty tuple of ints, got 8.5"
    ):
        bj.GaussianSensing(8.5, 3, key=key)
    with pytest.raises(ValueError, match=r"k must be in \[2, 4\]"):
        bj.spectral_correlation(jnp.ones(4), jnp.ones(4), k=7)


@pytest.mark.parametrize("num_steps", [0, -3])
def test_non_positive_steps(num_steps, op):
    with pytest.raises(ValueError, match="num_steps must be >= 1"):
        bj.landweber(op, jnp.zeros(8), num_steps=num_steps)
    with pytest.raises(ValueError, match="num_steps must be >= 1"):
        bj.ista(op, jnp.zeros(8), lam=0.1, num_steps=num_steps)


def test_bad_step_size_values(op):
    with pytest.raises(ValueError, match="step_size must be finite and > 0"):
        bj.landweber(op, jnp.zeros(8), step_size=-0.1, num_steps=3)


def test_diverging_step_raises_or_returns_nonfinite(op, key):
    y = op.mv(bj.sparse_signal(16, 3, key=key))
    with pytest.raises(Exception, match="Landweber diverged.*Lower step_size"):
        bj.landweber(op, y, step_size=10.0, num_steps=30).block_until_ready()
    _, losses = bj.landweber(op, y, step_size=10.0, num_steps=300, throw=False)
    assert not np.isfinite(losses[-1]) or losses[-1] > losses[0]


def test_unknown_names_and_missing_key(key):
    with pytest.raises(ValueError, match="amplitude must be one of"):
        bj.sparse_signal(8, 2, key=key, amplitude="laplace")
    with pytest.raises(ValueError, match="method must be one of"):
        bj.effective_rank(jnp.ones(3), method="nuclear")
    with pytest.raises(TypeError, match="key must be a jax.random key"):
        bj.sparse_signal(8, 2, key=42)
    with pytest.raises(TypeError, match="mask must be boolean"):
        bj.Mask(jnp.ones(4))
    with pytest.raises(ValueError, match="indices must be distinct"):
        bj.Subsample(jnp.array([1, 1]), 4)
    with pytest.raises(TypeError, match="op must be a linear operator"):
        bj.landweber(np.eye(3), jnp.zeros(3), num_steps=2)


def test_landweber_without_throw_compiles_no_host_callback(key):
    """`throw=False` drops every run-time check, traced step size included: the program has
    no host callback, so JAX's persistent compilation cache can store it (the studies rely on
    this for a warm rerun); with the default, the checks are there."""
    op = bj.GaussianSensing(8, 4, key=key)

    def program(throw):
        def solve(y, tau):
            return bj.landweber(op, y, step_size=tau, num_steps=3, throw=throw)[0]

        return jax.jit(solve).lower(jnp.ones(4), jnp.asarray(0.1)).as_text()

    assert "callback" in program(True)
    assert "callback" not in program(False)


def test_amplitude_flow_checks_a_traced_step_size_only(key):
    """A concrete step size is checked before tracing, so the program has no host callback
    (the phase study's programs enter the persistent cache); a traced one is checked at run
    time, and a non-positive one raises."""
    op = bj.PhaseRetrieval.gaussian(8, 16, key=key)

    def solve(y, x0, step):
        return bj.amplitude_flow(op, y, x0=x0, step_size=step, num_steps=3)[0]

    args = (jnp.ones(16), jnp.ones(8))
    assert "callback" not in jax.jit(lambda y, z: solve(y, z, 0.1)).lower(*args).as_text()
    traced = jax.jit(solve)
    assert "callback" in traced.lower(*args, jnp.asarray(0.1)).as_text()
    with pytest.raises(Exception, match="step_size must be > 0"):
        traced(*args, jnp.asarray(-0.1)).block_until_ready()
