"""The experiments' statistics against what theory says (tolerances from the spread)."""

import functools
import json

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj
from bridge_jax.studies import fig2_masking, fig4_transfer
from bridge_jax.studies._config import Config


def _within(stat, expected, k=4.0):
    """|mean - expected| within k standard errors of the mean over trials."""
    half = k * stat["std"] / np.sqrt(stat["n_trials"])
    assert abs(stat["mean"] - expected) <= half, (stat["mean"], expected, half)


def test_effective_ranks_are_n_and_m(quick_run):
    # fig1 at Config.quick() (n = 16, m = 8), read from the session's `reproduce --quick`.
    results = json.loads((quick_run / "results.json").read_text())
    assert results["config"] == Config.quick().as_dict()
    metrics = results["metrics"]
    assert metrics["effective_rank_augmentation"]["mean"] == 16
    assert metrics["effective_rank_augmentation"]["std"] == 0
    assert metrics["effective_rank_operator"]["mean"] == 8


@pytest.mark.parametrize("ratio", [0.25, 0.5, 0.75])
def test_masking_mse_closed_forms(ratio, key):
    # s-sparse x with N(0,1) amplitudes, h hidden and v = n - h visible entries:
    #   zero fill (= pinv of the subsampling), all entries: (h/n) (s/n)
    #   visible-mean fill, hidden entries: (s/n) (1 + 1/v)   [E f^2 = s / (n v), E x_j f = 0]
    n, s, num = 16, 3, 20000
    h = round(ratio * n)
    v = n - h
    xs = bj.sparse_signals(num, n, s, key=key)
    keys = jr.split(jr.fold_in(key, 1), num)
    gauss = bj.MatrixOperator(jr.normal(jr.fold_in(key, 2), (n, n)) / np.sqrt(n))
    # The Gram path, as fig2 uses at the paper's ratios.
    reconstructions = functools.partial(fig2_masking.masked_reconstructions, method="cholesky")
    out = jax.vmap(reconstructions, (0, 0, None, None, None))(keys, xs, ratio, jnp.zeros(n), gauss)

    def check(samples, expected):
        samples = np.asarray(samples)
        assert abs(samples.mean() - expected) < 4 * samples.std() / np.sqrt(num)

    check(out["physics_subsample_all"], h / n * s / n)
    check(out["meanfill_visible_hidden"], s / n * (1 + 1 / v))
    check(out["meanfill_dataset_hidden"], s / n)  # zero data mean: plain zero fill
    check(out["physics_gaussian_all"], h / n * s / n)  # pinv keeps a random (n-h)-dim projection


def test_landweber_from_zero_reaches_the_nullspace_error():
    # Converged min-norm reconstruction loses the null-space energy: MSE -> (1 - m/n) s/n,
    # plus a noise term that is negligible at sigma = 0.01.
    c = Config.quick(num_steps=2000, trials=8, noise_levels=(0.01,))
    res = fig4_transfer.run(c)
    _within(res["metrics"]["transfer_mse_imaging_sigma_0.01"], (1 - c.m / c.n) * c.s / c.n)
    # The exact linear MMSE is the best linear reconstructor: no worse than min-norm Landweber.
    exact = res["metrics"]["transfer_mse_lmmse_exact_sigma_0.01"]
    imaging = res["metrics"]["transfer_mse_imaging_sigma_0.01"]
    assert exact["mean"] <= imaging["mean"] + 4 * imaging["std"] / np.sqrt(imaging["n_trials"])


def test_exact_lmmse_matches_a_fit_on_many_pairs(key):
    # The closed form mu + C A^T (A C A^T + s^2 I)^-1 (y - A mu) is what lmmse_fit converges
    # to; the signals have a non-zero mean (as digits do) and covariance (s/n) I.
    n, m, s, sigma, num = 12, 6, 3, 0.3, 200_000
    op = bj.GaussianSensing(n, m, key=key)
    mean = jnp.linspace(-0.5, 0.5, n)
    xs = bj.sparse_signals(num, n, s, key=jr.fold_in(key, 1)) + mean
    ys = xs @ op.matrix.T + sigma * jr.normal(jr.fold_in(key, 2), (num, m))
    fitted = bj.lmmse_fit(xs, ys, ridge=0.0)
    y_test = ys[:50]
    exact = fig4_transfer.exact_lmmse_apply(op.matrix, mean, (s / n) * jnp.eye(n), sigma, y_test)
    ours = jax.vmap(lambda y: bj.lmmse_apply(fitted, y))(y_test)
    np.testing.assert_allclose(ours, exact, atol=0.03)


def test_random_subspace_null_is_what_the_paper_reports_scale():
    # Pairs of random 32-dim subspaces of R^64: the paper's 0.651 / 5.023 sit inside this null.
    base = bj.random_subspace_baseline(64, 32, key=jr.key(0), num=200)
    a, g = np.asarray(base.alignment), np.asarray(base.grassmann)
    assert abs(a.mean() - 0.651) < 3 * a.std() and abs(g.mean() - 5.023) < 3 * g.std()
