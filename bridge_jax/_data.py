"""Real signals that ship inside packages (no download): the 8x8 handwritten digits."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def load_digits(*, dtype=jnp.float32):
    r"""The 1,797 8x8 digits of scikit-learn as signals in $\mathbb{R}^{64}$, scaled to [0, 1].

    **Returns:** `(x, labels)`, shapes `(1797, 64)` and `(1797,)`; `x.reshape(-1, 8, 8)` gives
    the images. The data set is part of the scikit-learn package, so it loads offline.
    """
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError as e:
        raise ModuleNotFoundError(
            "bridge_jax.load_digits needs scikit-learn: pip install 'bridge_jax[data]' "
            "(or pip install scikit-learn)."
        ) from e
    data = _load()
    x = np.asarray(data.data, dtype=np.float64) / 16.0
    return jnp.asarray(x, dtype), jnp.asarray(data.target)
