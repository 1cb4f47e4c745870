"""Summaries over independent trials: mean, standard deviation and a 95% t-interval."""

from __future__ import annotations

import math

import numpy as np

# scipy.stats is imported where it is used: importing it costs ~2.5 s, and `import bridge_jax`
# should not pay that for the two functions below.


def t_quantile(p: float, df: int) -> float:
    """The p-quantile (0.5 < p < 1) of Student's t with `df` degrees of freedom (SciPy)."""
    if not 0.5 < p < 1.0:
        raise ValueError(f"p must be in (0.5, 1), got {p}.")
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df}.")
    import scipy.stats

    return float(scipy.stats.t.ppf(p, df))


def summarize(samples) -> dict:
    r"""`{mean, std, ci95, n_trials}` of per-trial values (NaNs are an error, not dropped).

    `std` uses ddof=1; `ci95` is the two-sided 95% Student-t interval for the mean,
    $\bar v \pm t_{0.975, n-1}\, s/\sqrt{n}$. A single trial has no spread to estimate:
    its `std` and both ends of `ci95` are NaN (saved results store them as JSON null).
    """
    v = np.asarray(samples, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("summarize needs at least one sample.")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"summarize got non-finite samples: {v[~np.isfinite(v)][:5]}.")
    mean = float(v.mean())
    if v.size == 1:
        return {"mean": mean, "std": math.nan, "ci95": [math.nan, math.nan], "n_trials": 1}
    std = float(v.std(ddof=1))
    half = t_quantile(0.975, v.size - 1) * std / math.sqrt(v.size)
    return {"mean": mean, "std": std, "ci95": [mean - half, mean + half], "n_trials": int(v.size)}


def proportion_interval(successes: int, trials: int, *, confidence: float = 0.95) -> list:
    r"""The Wilson score interval (default 95%) of a success rate `successes / trials`.

    $\frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}$ (SciPy's
    `binomtest(...).proportion_ci(method="wilson")`): unlike the normal (Wald) interval it stays
    inside [0, 1] and is not empty at 0 or n successes, where its bound is exactly 0 or 1.
    """
    if isinstance(trials, bool) or int(trials) != trials or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}.")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in [0, trials={trials}], got {successes!r}.")
    import scipy.stats

    ci = scipy.stats.binomtest(int(successes), int(trials)).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    lo = 0.0 if successes == 0 else max(0.0, float(ci.low))
    hi = 1.0 if successes == trials else min(1.0, float(ci.high))
    return [lo, hi]


def summarize_success(flags) -> dict:
    """`{mean, ci95, n_trials}` of per-trial booleans: the success rate and its Wilson interval."""
    v = np.asarray(flags).ravel()
    if v.size == 0:
        raise ValueError("summarize_success needs at least one trial.")
    k = int(np.count_nonzero(v))
    return {"mean": k / v.size, "ci95": proportion_interval(k, v.size), "n_trials": int(v.size)}
