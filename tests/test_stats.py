import numpy as np
import pytest
from scipy import stats

import bridge_jax as bj
from bridge_jax._analysis._stats import t_quantile
from bridge_jax._compat import deadlock_prone


@pytest.mark.parametrize("df", [1, 2, 5, 19, 100])
def test_t_quantile_against_scipy(df):
    np.testing.assert_allclose(t_quantile(0.975, df), stats.t.ppf(0.975, df), rtol=1e-6)


def test_summarize_against_scipy():
    v = np.array([0.3, 0.5, 0.45, 0.61, 0.2, 0.38])
    s = bj.summarize(v)
    lo, hi = stats.t.interval(0.95, df=5, loc=v.mean(), scale=stats.sem(v))
    np.testing.assert_allclose(s["ci95"], [lo, hi], rtol=1e-6)
    assert s["n_trials"] == 6 and np.isclose(s["std"], v.std(ddof=1))
    one = bj.summarize([2.0])  # one trial: no spread, so no interval (NaN, saved as null)
    assert one["mean"] == 2.0 and one["n_trials"] == 1
    assert np.isnan(one["std"]) and np.isnan(one["ci95"]).all()


def test_summarize_rejects_nan_and_empty():
    with pytest.raises(ValueError, match="non-finite"):
        bj.summarize([1.0, float("nan")])
    with pytest.raises(ValueError, match="at least one"):
        bj.summarize([])


@pytest.mark.parametrize(
    "version,bad",
    [
        ("0.9.0.1", False),
        ("0.9.1", True),
        ("0.9.2", True),
        ("0.10.0", True),
        ("0.10.2", True),
        ("0.11.1", True),
        ("0.11.2", False),
        ("0.12.0", False),
    ],
)
def test_deadlock_prone_jaxlib_versions(version, bad):
    assert deadlock_prone(version) is bad
