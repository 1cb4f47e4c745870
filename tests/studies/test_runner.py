"""The studies' runner: long runs give back what the OS limits (memory mappings)."""

import json
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


def _program(folder, i, size=100):
    """A JAX cache entry as JAX names it: `<module>-<64 hex>-cache` and its `-atime`."""
    key = f"jit_f{i}-{i:064x}"
    (folder / f"{key}-cache").write_bytes(b"x" * size)
    (folder / f"{key}-atime").write_bytes(b"t")
    os.utime(folder / f"{key}-cache", (1000 + i, 1000 + i))
    return key


def _foreign(folder):
    """Things beside the programs that are not ours: files, folders, links, `*-cache` names."""
    (folder / "notes.txt").write_text("not a program")
    (folder / "old-disk-cache").mkdir()
    (folder / "old-disk-cache" / "data").write_bytes(b"y" * 1000)
    (folder / "user-cache").write_bytes(b"z" * 1000)
    (folder / f"jit_g-{0:064x}-cache").mkdir()  # JAX's name, but a folder
    target = folder.parent / f"{folder.name}-outside"
    target.write_bytes(b"w" * 1000)
    (folder / f"jit_h-{1:064x}-cache").symlink_to(target)  # JAX's name, but a link
    (folder / "link-cache").symlink_to(folder / "old-disk-cache")
    return target


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_prune_compilation_cache_deletes_only_the_oldest_programs_of_jax(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    keys = [_program(cache, i) for i in range(5)]
    _runner._mark_cache_folder(str(cache))  # only programs there: ours
    assert (cache / _runner.CACHE_MARKER).is_file()
    target = _foreign(cache)
    foreign = set(_listing(cache)) - {f"{k}-{s}" for k in keys for s in ("cache", "atime")}
    assert _runner.prune_compilation_cache(str(cache), limit=500) == 0
    assert _runner.prune_compilation_cache(str(cache), limit=250) == 3
    kept = {f"{k}-{s}" for k in keys[3:] for s in ("cache", "atime")}
    assert set(_listing(cache)) == kept | foreign
    # Even a limit of 0 deletes programs only: every foreign thing is untouched.
    assert _runner.prune_compilation_cache(str(cache), limit=0) == 2
    assert set(_listing(cache)) == foreign
    assert (cache / "old-disk-cache" / "data").read_bytes() == b"y" * 1000
    assert (cache / "user-cache").read_bytes() == b"z" * 1000
    assert target.read_bytes() == b"w" * 1000


def test_prune_compilation_cache_leaves_a_folder_without_our_mark_alone(tmp_path):
    cache = tmp_path / "theirs"
    cache.mkdir()
    _foreign(cache)  # someone else's folder: it holds things that are not JAX programs
    keys = [_program(cache, i) for i in range(3)]
    _runner._mark_cache_folder(str(cache))
    assert not (cache / _runner.CACHE_MARKER).exists()
    before = _listing(cache)
    assert _runner.prune_compilation_cache(str(cache), limit=0) == 0
    assert _listing(cache) == before and all((cache / f"{k}-cache").exists() for k in keys)


def test_the_cache_has_no_jax_size_limit(tmp_path):
    # JAX's limit lists and reads every entry at each write (quadratic); ours prunes once.
    before = jax.config.jax_compilation_cache_max_size
    try:
        assert _runner.enable_compilation_cache(str(tmp_path)) == str(tmp_path)
        assert jax.config.jax_compilation_cache_max_size == -1
    finally:
        jax.config.update("jax_compilation_cache_dir", os.environ["BRIDGE_JAX_TEST_CACHE"])
        jax.config.update("jax_compilation_cache_max_size", before)


def _load_or_compute(path, digest, value, *, fresh=False):
    said, calls = [], []

    def compute():
        calls.append(1)
        return value

    got = _runner.load_or_compute(
        str(path),
        digest,
        compute,
        fmt="test-unit/1",
        writer="this test",
        required=("a", "b"),
        say=said.append,
        fresh=fresh,
    )
    return got, said, len(calls)


def test_load_or_compute_is_the_one_resume_rule(tmp_path):
    path = tmp_path / "u" / "one.json"
    d1 = _runner.unit_digest({"n": 4}, "study", field="real", m=2)
    d2 = _runner.unit_digest({"n": 4}, "study", field="real", m=6)
    assert d1 != d2  # the unit's own parameters are in its digest
    got, said, calls = _load_or_compute(path, d1, {"a": 1, "b": [2.0]})
    assert got == {"a": 1, "b": [2.0]} and calls == 1
    assert said[0] == "running" and said[1].startswith("done in ") and len(said) == 2
    assert _load_or_compute(path, d1, None) == (
        {"a": 1, "b": [2.0]},
        ["loaded from an earlier run"],
        0,
    )
    # Another unit's file at this path (copied, renamed): recomputed, never read, and said.
    got, said, calls = _load_or_compute(path, d2, {"a": 6, "b": [6.0]})
    assert got == {"a": 6, "b": [6.0]} and calls == 1
    assert said[0] == "running (saved for another unit, configuration or code: recomputing)"
    # A valid header with an empty or partial result: recomputed, and said which keys lack.
    for result in ({}, {"a": 1}, [1, 2], None):
        saved = json.loads(path.read_text())
        path.write_text(json.dumps({**saved, "result": result}))
        got, said, calls = _load_or_compute(path, d2, {"a": 7, "b": []})
        assert got == {"a": 7, "b": []} and calls == 1
        missing = "b" if result == {"a": 1} else "a, b"
        assert said[0] == f"running (saved file has no {missing}: recomputing)"
    assert _load_or_compute(path, d2, {"a": 8, "b": []}, fresh=True)[0] == {"a": 8, "b": []}
    # Something not ours is never overwritten: one line naming the file.
    path.write_text('{"format": "other", "result": {"a": 1, "b": 2}}')
    with pytest.raises(_runner.UserError, match="one.json was not written by this test"):
        _load_or_compute(path, d2, {"a": 9, "b": []})
    assert json.loads(path.read_text())["format"] == "other"
