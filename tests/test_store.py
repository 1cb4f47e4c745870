"""The store: atomic writes that never follow links, one digest of (config, code), resuming."""

import dataclasses
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bridge_jax import store  # noqa: E402


def _leftovers(folder) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "result.json"
    store.write_json(path, {"a": 1})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        store.write_json(path, {"a": object()})  # fails to serialise
    with pytest.raises(ValueError):
        store.write_json(path, {"a": float("inf")})

    class HalfWritten:  # fails after the temporary file was opened and partly written
        def savefig(self, f, **kwargs):
            f.write(b"partial")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        store.save_figure(HalfWritten(), path)
    assert path.read_bytes() == before == b'{\n "a": 1\n}\n'
    assert _leftovers(tmp_path) == []


def test_writers_replace_a_symlink_and_leave_its_target_alone(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    names = ("report.md", "figure.png", "result.json", "chunk.npz")
    for name in names:
        (outside / name).write_text("precious")
        os.symlink(outside / name, out / name)
    store.atomic_write(out / "report.md", "# report\n")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    store.save_figure(fig, out / "figure.png", dpi=20)
    plt.close(fig)
    store.write_json(out / "result.json", [1, 2])
    store.write_npz(out / "chunk.npz", {"x": np.arange(3)}, header={"format": "f"})
    for name in names:
        assert not os.path.islink(out / name) and os.path.isfile(out / name)
        assert (outside / name).read_text() == "precious"
    assert (out / "report.md").read_text() == "# report\n"
    assert (out / "figure.png").read_bytes().startswith(b"\x89PNG")
    assert _leftovers(out) == []


def test_code_digest_changes_with_any_source_file(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("x = 1\n")
    (pkg / "sub" / "table.json").write_text("{}")
    (pkg / "notes.txt").write_text("not code")
    first = store.code_digest(pkg)
    assert store.code_digest(pkg) == first
    (pkg / "notes.txt").write_text("still not code")
    assert store.code_digest(pkg) == first
    (pkg / "__init__.py").write_text("x = 1  # a comment\n")
    assert store.code_digest(pkg) != first
    (pkg / "__init__.py").write_text("x = 1\n")
    assert store.code_digest(pkg) == first
    (pkg / "sub" / "table.json").write_text('{"a": 1}')
    assert store.code_digest(pkg) != first
    (pkg / "sub" / "table.json").write_text("{}")
    (pkg / "sub" / "new.py").write_text("")
    assert store.code_digest(pkg) != first
    assert store.code_digest() == store.code_digest()  # the installed package, cached


@dataclasses.dataclass(frozen=True)
class _Config:
    n: int = 64
    ratios: tuple = (0.25, 0.5)


def test_digest_is_canonical_and_stable_across_processes():
    d = store.digest({"b": [1, 2.5], "a": {"y": 1, "x": None}}, "extra")
    assert d == store.digest({"a": {"x": None, "y": 1}, "b": (1, 2.5)}, "extra")
    assert len(d) == 16 and int(d, 16) >= 0
    assert d != store.digest({"b": [1, 2.5], "a": {"y": 1, "x": None}}, "other")
    assert d != store.digest({"b": [1, 2.5], "a": {"y": 2, "x": None}}, "extra")
    assert store.digest(_Config()) == store.digest({"ratios": [0.25, 0.5], "n": 64})
    assert store.digest(_Config()) != store.digest(_Config(n=65))
    assert store.digest(_Config()) != store.digest(_Config(), code=False)
    with pytest.raises(TypeError, match="cannot digest"):
        store.digest({"fn": print})
    code = (
        "from bridge_jax import store; "
        "print(store.digest({'a': {'x': None, 'y': 1}, 'b': [1, 2.5]}, 'extra'))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert other.stdout.strip() == d, other.stderr


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_resume_rule(tmp_path, suffix):
    path = tmp_path / f"unit{suffix}"
    payload = {"x": np.arange(3.0)} if suffix == ".npz" else {"x": [0.0, 1.0, 2.0]}
    assert store.load_if_current(path, "d1", fmt="f/1") is None  # missing
    store.save_result(path, payload, fmt="f/1", digest="d1")
    loaded = store.load_if_current(path, "d1", fmt="f/1")
    np.testing.assert_array_equal(loaded["x"], payload["x"])
    with pytest.raises(store.StoreError, match=f"{path}.*another configuration.*delete it"):
        store.load_if_current(path, "d2", fmt="f/1")
    assert store.load_if_current(path, "d2", fmt="f/1", stale="recompute") is None
    with pytest.raises(store.StoreError, match=f"{path} was not written by me; go away"):
        store.load_if_current(path, "d1", fmt="g/1", writer="me", recover="go away")
    path.write_bytes(b"\x00garbage")
    for stale in ("raise", "recompute"):
        with pytest.raises(store.StoreError, match=f"{path} is not a readable unit") as info:
            store.load_if_current(path, "d1", fmt="f/1", stale=stale, what="unit")
        assert "\n" not in str(info.value)
    assert issubclass(store.StoreError, ValueError)


def test_a_result_behind_a_symlink_is_refused(tmp_path):
    """A valid result planted outside the folder and linked in is not resumed from."""
    outside = tmp_path / "outside.json"
    store.save_result(outside, {"x": 1}, fmt="f/1", digest="d1")
    link = tmp_path / "out" / "unit.json"
    link.parent.mkdir()
    os.symlink(outside, link)
    with pytest.raises(store.StoreError, match="symbolic link"):
        store.load_if_current(link, "d1", fmt="f/1", stale="recompute")


def test_study_report_and_figures_replace_symlinks(tmp_path):
    from bridge_jax.studies._plotting import save
    from bridge_jax.studies._report import write_section

    secret = tmp_path / "secret.txt"
    secret.write_text("precious")
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    os.symlink(secret, out / "report.md")
    os.symlink(secret, out / "figures" / "fig.png")
    write_section(
        str(out), "<!-- s:begin -->\nnew\n<!-- s:end -->", "<!-- s:begin -->", "<!-- s:end -->"
    )
    save(plt.figure(figsize=(1, 1)), str(out / "figures"), "fig.png")
    assert secret.read_text() == "precious"
    report = (out / "report.md").read_text()
    assert not os.path.islink(out / "report.md") and "new" in report
    assert "precious" not in report  # a linked report is not read into the new one either
    assert not os.path.islink(out / "figures" / "fig.png")
