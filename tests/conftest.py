import atexit
import os
import shutil
import tempfile

import jax
import jax.monitoring
import jax.random as jr
import pytest

_COMPILES = {"n": 0}


def _count(name, *args, **kwargs):
    if name == "/jax/core/compile/backend_compile_duration":
        _COMPILES["n"] += 1


def _count_cache_hit(name, **kwargs):
    # A program loaded from the persistent cache below stands for a compilation.
    if name == "/jax/compilation_cache/cache_hits":
        _COMPILES["n"] += 1


jax.monitoring.register_event_duration_secs_listener(_count)
jax.monitoring.register_event_listener(_count_cache_hit)

# One persistent compilation cache per test session: the studies build their programs afresh
# on each run (a rerun to check determinism or resuming recompiles the same programs), and an
# identical program is then loaded instead of compiled. Nothing outlives the session.
_CACHE = tempfile.mkdtemp(prefix="bridge_jax-tests-xla-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # XLA:CPU logs a harmless line per load
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


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
    """`compile_count()` returns how many XLA compilations happened since the fixture started
    (programs loaded from the session's compilation cache included)."""
    start = _COMPILES["n"]
    return lambda: _COMPILES["n"] - start
