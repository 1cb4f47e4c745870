import atexit
import os
import shutil
import tempfile

from compiler_settings import COMPILE_FLAGS, default_compiler

# The suite's compile flags (why: compiler_settings.py). Subprocesses started by the tests
# inherit them. A user's XLA_FLAGS are kept. Not in the separate run of the tests marked
# `default_compiler` (tests/test_default_compiler.py).
DEFAULT_COMPILER = default_compiler()
if not DEFAULT_COMPILER:
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {COMPILE_FLAGS}".strip()

import jax  # noqa: E402  (after XLA_FLAGS: the CPU backend reads them when it starts)
import jax.monitoring  # noqa: E402
import jax.random as jr  # noqa: E402
import pytest  # noqa: E402

_COMPILES = {"n": 0, "backend": 0, "hits": 0}


def _count(name, *args, **kwargs):
    if name == "/jax/core/compile/backend_compile_duration":
        _COMPILES["n"] += 1
        _COMPILES["backend"] += 1


def _count_cache_hit(name, **kwargs):
    # A program loaded from the persistent cache below stands for a compilation.
    if name == "/jax/compilation_cache/cache_hits":
        _COMPILES["n"] += 1
        _COMPILES["hits"] += 1


import bridge_jax  # noqa: E402

# JAX's unrolled Threefry on the CPU, as the `bridge-jax` command uses (the same bits, 3-4x
# faster draws; tests/test_random.py).
if not DEFAULT_COMPILER:
    bridge_jax.use_unrolled_threefry()

jax.monitoring.register_event_duration_secs_listener(_count)
jax.monitoring.register_event_listener(_count_cache_hit)

# One persistent compilation cache per test run, shared by pytest-xdist's worker processes:
# the studies build their programs afresh on each run (a rerun to check determinism or
# resuming recompiles the same programs), and test files on different workers compile many
# of the same programs; an identical program is loaded instead of compiled. The controlling
# process makes the folder (its environment passes to the workers it starts) and removes it
# at the end. No size limit: with one, JAX lists and reads every entry of the folder on each
# write (and locks it), which made the suite 2x slower. Without the lock a worker may read an
# entry another is still writing; JAX then warns and compiles the program itself. Nothing
# outlives the run.
_CACHE = os.environ.get("BRIDGE_JAX_TEST_CACHE")
if not _CACHE:
    _CACHE = tempfile.mkdtemp(prefix="bridge_jax-tests-xla-")
    os.environ["BRIDGE_JAX_TEST_CACHE"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # XLA:CPU logs a harmless line per load
if not DEFAULT_COMPILER:
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


@pytest.fixture
def backend_compile_count():
    """`backend_compile_count()`: how many programs XLA compiled since the fixture started,
    not counting programs loaded from the session's compilation cache (JAX reports a load as a
    backend compilation too, and as a cache hit)."""

    def count():
        return _COMPILES["backend"] - _COMPILES["hits"]

    start = count()
    return lambda: count() - start
