"""Real signals: the 8x8 digits load offline; without scikit-learn the error says what to do."""

import sys

import numpy as np
import pytest

import bridge_jax as bj


def test_digits_are_64_dimensional_signals_in_unit_range():
    pytest.importorskip("sklearn")
    x, labels = bj.load_digits()
    assert x.shape == (1797, 64) and labels.shape == (1797,)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert set(np.unique(np.asarray(labels))) == set(range(10))


def test_missing_scikit_learn_gives_one_line_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'bridge_jax\[data\]'"):
        bj.load_digits()


def test_digits_refuse_an_integer_dtype():
    """An integer dtype would truncate the pixels in [0, 1] to 0 or 1 (issue 12)."""
    pytest.importorskip("sklearn")
    import jax.numpy as jnp

    x, labels = bj.load_digits()
    assert x.dtype == jnp.float32 and jnp.issubdtype(labels.dtype, jnp.integer)
    assert bool(((x > 0) & (x < 1)).any())  # fractional pixels
    with pytest.raises(ValueError, match="dtype must be a floating dtype"):
        bj.load_digits(dtype=jnp.int32)
    with pytest.raises(ValueError, match="dtype must be a floating dtype"):
        bj.load_image("camera", dtype=jnp.uint8)
