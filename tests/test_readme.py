"""The README's quickstart runs as written, on the base install, and computes what it says."""

import pathlib
import re

import numpy as np


def test_quickstart_runs():
    text = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    code = re.search(r"## Quickstart\n.*?```python\n(.*?)```", text, re.S).group(1)
    # The base install has no scikit-learn, scikit-image or mlxtend: the quickstart needs none.
    assert not re.search(r"load_(digits|mnist|image)|sklearn|skimage", code)
    namespace: dict = {}
    exec(compile(code, "README.md quickstart", "exec"), namespace)
    assert namespace["x_hat"].shape == (200, 64) and namespace["x_ei"].shape == (200, 64)
    assert np.all(np.isfinite(namespace["x_ei"]))
    # Landweber from zero cannot recover the null-space part of x: its MSE stays below the
    # signals' energy but well above zero (about half of it for m = n/2).
    xs = np.asarray(namespace["xs"])
    mse = float(np.mean((np.asarray(namespace["x_hat"]) - xs) ** 2))
    assert 0.2 * np.mean(xs**2) < mse < 0.8 * np.mean(xs**2)
    # The alignment and its random-subspace null are both cosines, near each other here.
    assert 0 < float(namespace["align"]) < 1 and 0 < float(namespace["null"]) < 1
    assert namespace["curve"][-1] < namespace["curve"][0]  # EI training lowered its loss
