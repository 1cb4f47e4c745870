"""Issue 12's hostile inputs: each answered by a named error saying what was wrong.

One row per input: what is called, the exception expected and words its message must contain.
The CLI and damaged-folder cases live beside their studies (tests/studies/).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj

KEY = jr.key(0)
OP = bj.GaussianSensing(16, 8, key=KEY)
PR = bj.PhaseRetrieval(jr.normal(KEY, (20, 8)))


def _diverging(key, v):
    x = eqx.error_if(v["step"], v["step"] > 2.0, "diverged: lower step_size.")
    return {"x": x}


def _rank_one_basis():
    return jnp.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0]])


CASES = {
    "landweber_spectral with the SVD of another operator": (
        lambda: bj.landweber_spectral(
            OP, jnp.zeros(8), svd=bj.operator_svd(bj.GaussianSensing(12, 8, key=KEY)), num_steps=3
        ),
        ValueError,
        ["svd must be operator_svd(op)", "8 x 12"],
    ),
    "landweber_spectral with something that is not an SVD": (
        lambda: bj.landweber_spectral(OP, jnp.zeros(8), svd=jnp.eye(3), num_steps=3),
        TypeError,
        ["svd must be an OperatorSVD"],
    ),
    "a vector network called with an operator of another size": (
        lambda: bj.UnrolledShrinkage(12)(OP, jnp.zeros(8)),
        ValueError,
        ["UnrolledShrinkage was built for signals of 12 entries", "op.in_size() must be 12"],
    ),
    "a vector network called with a measurement of the wrong shape": (
        lambda: bj.UnrolledNet(16, key=KEY)(OP, jnp.zeros(7)),
        ValueError,
        ["y must have the operator's output shape (8,)", "(7,)"],
    ),
    "ViewBank called on a signal of the wrong length": (
        lambda: bj.ViewBank(8, key=KEY)(jnp.ones(5), key=KEY),
        ValueError,
        ["x must have shape (8,)", "(5,)"],
    ),
    "amplitude_flow with y of the wrong shape": (
        lambda: bj.amplitude_flow(PR, jnp.ones(19), x0=jnp.ones(8), num_steps=3),
        ValueError,
        ["y must have shape (20,)", "(19,)"],
    ),
    "amplitude_flow with x0 of the wrong shape": (
        lambda: bj.amplitude_flow(PR, jnp.ones(20), x0=jnp.ones(7), num_steps=3),
        ValueError,
        ["x0 must have shape (8,)"],
    ),
    "amplitude_flow with a negative array step size": (
        lambda: bj.amplitude_flow(
            PR, jnp.ones(20), x0=jnp.ones(8), step_size=jnp.asarray(-1.0), num_steps=3
        ),
        ValueError,
        ["step_size must be finite and > 0"],
    ),
    "spectral_init with y of the wrong shape": (
        lambda: bj.spectral_init(PR, jnp.ones(19)),
        ValueError,
        ["y must have shape (20,)"],
    ),
    "PhaseRetrieval called on x of the wrong shape": (
        lambda: PR(jnp.ones(7)),
        ValueError,
        ["x must have shape (8,)"],
    ),
    "relative_error of different shapes": (
        lambda: bj.relative_error(jnp.ones(8), jnp.ones(7)),
        ValueError,
        ["same shape", "(8,) and (7,)"],
    ),
    "run_sweep with a string seed": (
        lambda: bj.run_sweep(lambda k, v: {"a": jnp.zeros(())}, {"x": [1.0]}, trials=2, seed="abc"),
        TypeError,
        ["seed must be a Python int", "'abc'"],
    ),
    "run_sweep with a seed beyond 64 bits": (
        lambda: bj.run_sweep(lambda k, v: {"a": jnp.zeros(())}, {"x": [1.0]}, trials=2, seed=2**64),
        ValueError,
        ["seed must be in [0, 2**64)"],
    ),
    "op.mv with the wrong shape": (
        lambda: OP.mv(jnp.ones(5)),
        ValueError,
        ["input shape (16,)", "got shape (5,)"],
    ),
    "landweber with NaN in y": (
        lambda: bj.landweber(OP, jnp.full(8, jnp.nan), num_steps=3),
        ValueError,
        ["y is not finite", "8 of its 8 entries"],
    ),
    "landweber with inf in x0": (
        lambda: bj.landweber(OP, jnp.zeros(8), x0=jnp.zeros(16).at[3].set(jnp.inf), num_steps=3),
        ValueError,
        ["x0 is not finite", "1 of its 16 entries"],
    ),
    "psnr of complex images": (
        lambda: bj.psnr(jnp.ones((8, 8), jnp.complex64), jnp.ones((8, 8)), data_range=1.0),
        TypeError,
        ["psnr needs real images", "complex64", "jnp.abs(x)"],
    ),
    "ssim of complex images": (
        lambda: bj.ssim(jnp.ones((8, 8)), jnp.ones((8, 8), jnp.complex64), data_range=1.0),
        TypeError,
        ["ssim needs real images", "jnp.abs(reference)"],
    ),
    "ssim with a 1-pixel window": (
        lambda: bj.ssim(jnp.ones((8, 8)), jnp.ones((8, 8)), data_range=1.0, win_size=1),
        ValueError,
        ["win_size must be odd, >= 3", "got 1"],
    ),
    "Blur with NaN in its kernel": (
        lambda: bj.Blur(jnp.ones((8, 8)).at[2, 3].set(jnp.nan)),
        ValueError,
        ["kernel is not finite", "1 of its 64 entries"],
    ),
    "fit of a model without trainable leaves": (
        lambda: bj.fit(lambda m, k: jnp.float32(m["a"]), {"a": 1}, key=KEY, num_steps=3),
        ValueError,
        ["no trainable leaves", "would train nothing"],
    ),
    "map_trials with an int for keys": (
        lambda: bj.map_trials(lambda k: jnp.zeros(()), keys=4),
        TypeError,
        ["keys must be an array of jax.random keys", "got 4"],
    ),
    "run_sweep over no devices": (
        lambda: bj.run_sweep(lambda k, v: {"a": jnp.zeros(())}, {"x": [1.0]}, trials=2, devices=[]),
        bj.SweepError,
        ["devices must be a non-empty list of JAX devices", "got []"],
    ),
    "run_sweep with a metric that is not a scalar": (
        lambda: bj.run_sweep(lambda k, v: {"err": jnp.zeros(3)}, {"x": [1.0]}, trials=2),
        bj.SweepError,
        ["metric 'err' has shape (3,)", "must be a scalar (shape ())"],
    ),
    "run_sweep whose trial fails at one grid point": (
        lambda: bj.run_sweep(_diverging, {"step": [1.0, 3.0]}, trials=2),
        bj.SweepError,
        ["failed at grid point {'step': 3.0}, trial 0", "diverged: lower step_size"],
    ),
    "load_image_patches with more patches than memory": (
        lambda: bj.load_image_patches(64, patches_per_image=10**9),
        ValueError,
        ["patches_per_image=1000000000", "GiB", "use fewer patches_per_image"],
    ),
    "principal_angles of a rank-deficient basis": (
        lambda: bj.principal_angles(_rank_one_basis(), jnp.eye(3)[:, :1]),
        ValueError,
        ["linearly independent columns"],
    ),
    "principal_angles with orthonormal that is not a bool": (
        lambda: bj.principal_angles(jnp.eye(3)[:, :1], jnp.eye(3)[:, 1:], orthonormal="yes"),
        TypeError,
        ["orthonormal must be True or False", "'yes'"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gets_a_named_error(case):
    call, exc, words = CASES[case]
    with pytest.raises(exc) as info:
        jax.block_until_ready(call())
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    for word in words:
        assert word in message, (word, message)


def test_traced_bad_values_are_caught_at_run_time():
    """Under the caller's jit the values are unknown before tracing: error_if catches them."""
    flow = jax.jit(
        lambda s: bj.amplitude_flow(PR, jnp.ones(20), x0=jnp.ones(8), step_size=s, num_steps=3)[0]
    )
    with pytest.raises(Exception, match="step_size must be > 0"):
        jax.block_until_ready(flow(jnp.asarray(-1.0)))
    solve = jax.jit(lambda y: bj.landweber(OP, y, num_steps=3)[0])
    with pytest.raises(Exception, match="input is not finite"):
        jax.block_until_ready(solve(jnp.full(8, jnp.nan)))
    steps = jax.jit(lambda s: bj.landweber(OP, jnp.ones(8), step_size=s, num_steps=3)[0])
    with pytest.raises(Exception, match="step_size must be > 0"):
        jax.block_until_ready(steps(jnp.asarray(-0.5)))
    angles = jax.jit(bj.principal_angles)(_rank_one_basis(), jnp.eye(3)[:, :1])
    assert bool(jnp.all(jnp.isnan(angles)))


def test_landweber_runs_complex_operators():
    """Issue 12 asked for complex landweber support or a clear error: it is supported."""
    mask = bj.cartesian_mask((8, 8), 2, key=KEY)
    op = bj.MRI(mask)
    x = jr.normal(KEY, (8, 8))
    y = op.mv(x)
    x_hat, losses = bj.landweber(op, y, num_steps=50)
    assert x_hat.dtype == jnp.float32 and x_hat.shape == (8, 8)
    assert float(losses[-1]) < 1e-3 * float(losses[0])


def _trial(key):
    # A (32, 32) output: the memory of a batch grows with it whatever XLA fuses (the draws
    # themselves fuse into their consumers and need no buffer of their own).
    g = jr.normal(key, (32, 32))
    return {"x": jr.normal(key, (64,)), "s": jnp.sum(g**2), "g": g}


def test_map_trials_fits_its_batches_to_the_memory(monkeypatch):
    """XLA's estimate of the program decides the batch (before anything runs): too little
    memory for all trials at once gives smaller batches and the same numbers; too little for
    one trial (or for a batch the caller fixed) is a TooLargeError naming both sizes."""
    from bridge_jax._run import _trials

    keys = jr.split(KEY, 16)
    whole = bj.map_trials(_trial, keys)
    one = _trials.memory_needed(
        jax.jit(lambda k: jax.lax.map(_trial, k, batch_size=1)).lower(keys).compile()
    )
    monkeypatch.setattr(_trials, "device_memory", lambda device=None: one)
    small = bj.map_trials(_trial, keys)
    for name in whole:
        np.testing.assert_allclose(small[name], whole[name], rtol=1e-5)
    with pytest.raises(bj.TooLargeError, match=r"16 trials in batches of 16 need about"):
        bj.map_trials(_trial, keys, batch_size=16)
    monkeypatch.setattr(_trials, "device_memory", lambda device=None: one // 4)
    with pytest.raises(bj.TooLargeError, match=r"batches of 1 need about .* \(XLA's estimate\)"):
        bj.map_trials(_trial, keys)


def test_run_sweep_refuses_a_chunk_larger_than_the_device(monkeypatch):
    from bridge_jax._run import _sweep

    monkeypatch.setattr(_sweep, "device_memory", lambda device=None: 1024)

    def trial(key, values, n):
        return {"err": jnp.sum(jr.normal(key, (n, n))) * values["sigma"]}

    with pytest.raises(bj.SweepError, match=r"needs about .* per device .* more than the 1.0 KiB"):
        bj.run_sweep(trial, {"n": [64], "sigma": [0.1]}, shape_params=("n",), trials=4)


def test_run_sweep_refuses_results_larger_than_the_host():
    with pytest.raises(
        bj.SweepError, match=r"1000000000000 trials x 1 grid points x 1 metric\(s\) keep"
    ):
        bj.run_sweep(lambda k, v: {"a": jnp.zeros(())}, {"x": [1.0]}, trials=10**12)


def test_run_sweep_checks_all_metrics_once_the_first_chunk_is_in(monkeypatch):
    """One metric's results would fit, four do not: refused after the first chunk."""
    from bridge_jax._run import _sweep

    monkeypatch.setattr(_sweep, "device_memory", lambda device=None: 2**40)
    monkeypatch.setattr(
        _sweep.os, "sysconf", lambda name: 1024 if name == "SC_PAGE_SIZE" else 100
    )  # a 100 KiB host: 2,000 trials keep 16 KB per metric

    def trial(key, values):
        return {name: jr.normal(key) * values["x"] for name in "abcd"}

    with pytest.raises(bj.SweepError, match=r"2000 trials x 1 grid points x 4 metric\(s\)"):
        bj.run_sweep(trial, {"x": [1.0]}, trials=2000)
