"""The studies' runner: long runs give back what the OS limits (memory mappings)."""

import os
import subprocess
import sys

import jax
import pytest

from bridge_jax.studies import _runner
from bridge_jax.studies._runner import release_programs_if_needed

# In a fresh process: clearing the caches of the test worker, which has compiled thousands of
# programs by then, takes ~15 s (and makes the files after it recompile what they share).
_RELEASE_CHECK = """
import jax, jax.numpy as jnp
from bridge_jax.studies._runner import release_programs_if_needed

def mappings():
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)

for i in range(40):  # 40 distinct programs, ~3 mappings each while cached
    jax.jit(lambda x, i=i: jnp.sin(x * i).sum())(jnp.ones(i + 1)).block_until_ready()
before = mappings()
assert not release_programs_if_needed(limit=10 * before), "cleared far below half the limit"
assert release_programs_if_needed(limit=before), "did not clear past half the limit"
after = mappings()
assert after < before - 60, (before, after)
# Still past half the limit, but no growth since the clear: no second clear.
assert not release_programs_if_needed(limit=int(1.5 * after)), "cleared again without growth"
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux's /proc")
@pytest.mark.skipif(jax.default_backend() != "cpu", reason="host mappings of XLA:CPU programs")
def test_release_programs_frees_the_mappings_of_compiled_programs():
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)  # compiled here, not loaded
    proc = subprocess.run(
        [sys.executable, "-c", _RELEASE_CHECK], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("released compiled programs") == 1, proc.stderr


def test_release_programs_does_nothing_without_proc(monkeypatch):
    monkeypatch.setattr(_runner, "_count_lines", lambda path: None)
    monkeypatch.setattr(_runner, "_read_int", lambda path: None)
    assert not release_programs_if_needed(limit=1)
    assert not release_programs_if_needed()
    with pytest.raises(ValueError, match="fraction"):
        release_programs_if_needed(fraction=0.0)


def test_prune_compilation_cache_deletes_the_oldest_programs_beyond_the_limit(tmp_path):
    for i in range(5):  # five 100-byte programs, written one after another
        (tmp_path / f"k{i}-cache").write_bytes(b"x" * 100)
        (tmp_path / f"k{i}-atime").write_bytes(b"t")
        os.utime(tmp_path / f"k{i}-cache", (1000 + i, 1000 + i))
    (tmp_path / "notes.txt").write_text("not a program")
    assert _runner.prune_compilation_cache(str(tmp_path), limit=500) == 0
    assert _runner.prune_compilation_cache(str(tmp_path), limit=250) == 3
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["k3-atime", "k3-cache", "k4-atime", "k4-cache", "notes.txt"]


def test_the_cache_has_no_jax_size_limit(tmp_path):
    # JAX's limit lists and reads every entry at each write (quadratic); ours prunes once.
    before = jax.config.jax_compilation_cache_max_size
    try:
        assert _runner.enable_compilation_cache(str(tmp_path)) == str(tmp_path)
        assert jax.config.jax_compilation_cache_max_size == -1
    finally:
        jax.config.update("jax_compilation_cache_dir", os.environ["BRIDGE_JAX_TEST_CACHE"])
        jax.config.update("jax_compilation_cache_max_size", before)
