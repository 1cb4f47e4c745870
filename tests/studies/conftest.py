"""Fixtures shared by the study tests."""

import pytest

from bridge_jax._cli import main as cli_main


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """One `bridge-jax reproduce --quick` for the whole session (read-only: copy it to change
    it), read by the reproduction's contract tests and the theory checks."""
    out = tmp_path_factory.mktemp("quick")
    assert cli_main(["reproduce", "--quick", "--out", str(out)]) == 0
    return out
