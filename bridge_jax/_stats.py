"""Summaries over independent trials: mean, standard deviation and a 95% t-interval."""

from __future__ import annotations

import math

import jax
import numpy as np
from jax.scipy.special import betainc


def _t_cdf(t: float, df: int) -> float:
    # Student t CDF for t >= 0 through the regularised incomplete beta function.
    x = df / (df + t * t)
    with jax.enable_x64(True):
        return 1.0 - 0.5 * float(betainc(df / 2.0, 0.5, x))


def t_quantile(p: float, df: int) -> float:
    """The p-quantile (0.5 < p < 1) of Student's t with `df` degrees of freedom, by bisection."""
    if not 0.5 < p < 1.0:
        raise ValueError(f"p must be in (0.5, 1), got {p}.")
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df}.")
    lo, hi = 0.0, 1e3
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _t_cdf(mid, df) < p else (lo, mid)
    return 0.5 * (lo + hi)


def summarize(samples) -> dict:
    r"""`{mean, std, ci95, n_trials}` of per-trial values (NaNs are an error, not dropped).

    `std` uses ddof=1; `ci95` is the two-sided 95% Student-t interval for the mean,
    $\bar v \pm t_{0.975, n-1}\, s/\sqrt{n}$ (a single trial gives a zero-width interval).
    """
    v = np.asarray(samples, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("summarize needs at least one sample.")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"summarize got non-finite samples: {v[~np.isfinite(v)][:5]}.")
    mean = float(v.mean())
    if v.size == 1:
        return {"mean": mean, "std": 0.0, "ci95": [mean, mean], "n_trials": 1}
    std = float(v.std(ddof=1))
    half = t_quantile(0.975, v.size - 1) * std / math.sqrt(v.size)
    return {"mean": mean, "std": std, "ci95": [mean - half, mean + half], "n_trials": int(v.size)}
