"""The README's quickstart runs as written."""

import pathlib
import re

import numpy as np


def test_quickstart_runs():
    text = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    code = re.search(r"## Quickstart\s+```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md quickstart", "exec"), namespace)
    assert namespace["x_hat"].shape == (500, 64) and namespace["x_ei"].shape == (500, 64)
    assert np.isfinite(namespace["rho"]) and np.all(np.isfinite(namespace["x_ei"]))
    assert namespace["curve"][-1] < namespace["curve"][0]  # EI training lowered its loss
    assert namespace["bank"].rotations.shape == (16, 64, 64)
    assert float(namespace["err"]) < 1e-2  # m = 6n noiseless: recovered up to sign
    assert namespace["x_img"].shape == (8, 8) and namespace["x_ls"].shape == (8, 8)
    top = np.asarray(namespace["top"])
    assert top.shape == (8,) and np.all(np.diff(top) <= 1e-6) and top[0] <= 1 + 1e-5
