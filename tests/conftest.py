import jax
import jax.monitoring
import jax.random as jr
import pytest

_COMPILES = {"n": 0}


def _count(name, *args, **kwargs):
    if name == "/jax/core/compile/backend_compile_duration":
        _COMPILES["n"] += 1


jax.monitoring.register_event_duration_secs_listener(_count)


@pytest.fixture
def key():
    return jr.key(1234)


@pytest.fixture
def x64():
    """Run the test in float64, for comparisons with NumPy/SciPy at tight tolerances."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def compile_count():
    """`compile_count()` returns how many XLA compilations happened since the fixture started."""
    start = _COMPILES["n"]
    return lambda: _COMPILES["n"] - start
