"""The studies' runner: long runs give back what the OS limits (memory mappings)."""

import os

import jax
import jax.numpy as jnp
import pytest

from bridge_jax.studies import _runner
from bridge_jax.studies._runner import release_programs_if_needed


def _mappings() -> int:
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux's /proc")
@pytest.mark.skipif(jax.default_backend() != "cpu", reason="host mappings of XLA:CPU programs")
def test_release_programs_frees_the_mappings_of_compiled_programs(capsys, monkeypatch):
    monkeypatch.setattr(_runner, "_AFTER_CLEAR", [0])
    for i in range(40):  # 40 distinct programs, ~3 mappings each while cached
        jax.jit(lambda x, i=i: jnp.sin(x * i).sum())(jnp.ones(i + 1)).block_until_ready()
    before = _mappings()
    assert not release_programs_if_needed(limit=10 * before)  # far below half the limit
    assert "released" not in capsys.readouterr().err
    assert release_programs_if_needed(limit=before)  # past half of it
    after = _mappings()
    assert after < before - 60
    assert "released compiled programs" in capsys.readouterr().err
    # Still past half the limit, but no growth since the clear: no second clear.
    assert not release_programs_if_needed(limit=int(1.5 * after))


def test_release_programs_does_nothing_without_proc(monkeypatch):
    monkeypatch.setattr(_runner, "_count_lines", lambda path: None)
    monkeypatch.setattr(_runner, "_read_int", lambda path: None)
    assert not release_programs_if_needed(limit=1)
    assert not release_programs_if_needed()
    with pytest.raises(ValueError, match="fraction"):
        release_programs_if_needed(fraction=0.0)
