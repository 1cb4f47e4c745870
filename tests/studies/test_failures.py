"""Failures of the machine or the folder: one line naming the path and the cause, non-zero
exit, nothing outside the run's own files touched, and a rerun that resumes."""

import os
import subprocess
import sys
import threading
import time

import pytest

from bridge_jax import store
from bridge_jax._cli import main as cli_main
from bridge_jax.studies._report import _earlier_report, report_lock, write_section
from bridge_jax.studies._runner import check_writable


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_output_folder_that_is_a_file_is_one_line(tmp_path, capsys):
    target = tmp_path / "results"
    target.write_text("mine")
    assert cli_main(["physics", "--size", "16", "--out", str(target)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"output folder {str(target)!r} is a file, not a folder" in line
    assert target.read_text() == "mine"


def test_physics_refuses_a_negative_seed_and_a_size_beyond_the_image(tmp_path, capsys):
    assert cli_main(["physics", "--seed", "-1", "--out", str(tmp_path)]) == 2
    assert "--seed must be >= 0, got -1" in _one_line(capsys.readouterr().err)
    assert cli_main(["physics", "--size", "600", "--out", str(tmp_path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "--size must be at most 512 (the shorter side of image 'camera'), got 600" in line
    assert os.listdir(tmp_path) == []


def test_a_symlinked_subfolder_is_refused_before_any_work(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.json").write_text("{}")
    out = tmp_path / "out"
    out.mkdir()
    (out / "phase").symlink_to(elsewhere)
    assert cli_main(["phase", "--quick", "--data", "sparse", "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"{out / 'phase'} is a symbolic link to a folder ({elsewhere})" in line
    assert os.listdir(elsewhere) == ["keep.json"] and sorted(os.listdir(out)) == ["phase"]


def test_temporaries_of_a_killed_run_are_removed_at_start_and_nothing_else(tmp_path):
    (tmp_path / "phase").mkdir()
    stale = tmp_path / "phase" / ".sparse_real_2.json.0a1b2c3d.tmp"
    fresh = tmp_path / ".report.md.0a1b2c3e.tmp"  # a write in progress elsewhere
    foreign = [tmp_path / "notes.tmp", tmp_path / ".mine.tmp", tmp_path / "phase" / "x.json"]
    for path in (stale, fresh, *foreign):
        path.write_text("x")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    os.utime(foreign[0], (time.time() - 3600, time.time() - 3600))
    check_writable(str(tmp_path))
    assert not stale.exists() and fresh.exists() and all(p.exists() for p in foreign)


def test_unreadable_reports_are_numbered_not_overwritten(tmp_path, capsys):
    path = tmp_path / "report.md"
    for i in range(3):
        path.write_bytes(b"# report %d \xff\n" % i)
        assert _earlier_report(str(path)) is None
    names = ["report.md.unreadable", "report.md.unreadable.1", "report.md.unreadable.2"]
    assert sorted(os.listdir(tmp_path)) == names
    for i, name in enumerate(names):
        assert (tmp_path / name).read_bytes() == b"# report %d \xff\n" % i
    assert capsys.readouterr().err.count("was not UTF-8 text") == 3


def test_report_sections_wait_for_the_lock(tmp_path):
    out = str(tmp_path)
    begin, end = "<!-- a:begin -->", "<!-- a:end -->"
    with report_lock(out):
        writer = threading.Thread(
            target=write_section, args=(out, f"{begin}\nA\n{end}", begin, end)
        )
        writer.start()
        writer.join(0.5)
        assert writer.is_alive() and not (tmp_path / "report.md").exists()  # waiting
    writer.join()
    write_section(out, "<!-- b:begin -->\nB\n<!-- b:end -->", "<!-- b:begin -->", "<!-- b:end -->")
    text = (tmp_path / "report.md").read_text()
    assert "\nA\n" in text and "\nB\n" in text


_FSIZE = """
import errno, os, resource, sys
from bridge_jax import store
path = sys.argv[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    store.atomic_write(path, b"y" * 100_000)
except OSError as e:
    print(e.errno == errno.EFBIG, e.filename)
"""


def test_a_file_size_limit_names_the_file_and_leaves_the_old_one(tmp_path):
    path = tmp_path / "unit.json"
    path.write_text("old")
    proc = subprocess.run([sys.executable, "-c", _FSIZE, str(path)], capture_output=True, text=True)
    assert proc.stdout.split() == ["True", str(path)], proc.stderr
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["unit.json"]


def test_a_full_disk_is_one_line_naming_the_path(tmp_path, capsys, monkeypatch):
    import errno

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.os, "fsync", full)
    assert cli_main(["physics", "--size", "16", "--iters", "2", "--out", str(tmp_path)]) == 1
    line = _one_line(capsys.readouterr().err)
    first = tmp_path / "figures" / "imaging_inpainting_pixels.png"
    assert line.startswith(f"bridge-jax: error: {first}: No space left on device.")
    assert "a rerun resumes" in line
    leftovers = [n for _, _, files in os.walk(tmp_path) for n in files]
    assert leftovers == []  # no temporary file, no half-written figure


def test_version_prints_the_package_version(capsys):
    import importlib.metadata

    import pytest

    with pytest.raises(SystemExit) as info:
        cli_main(["--version"])
    assert info.value.code == 0
    version = importlib.metadata.version("bridge_jax")
    assert capsys.readouterr().out == f"bridge-jax {version}\n"


def test_every_command_states_the_folder_policy_in_its_help(capsys):
    import pytest

    from bridge_jax.studies import COMMANDS

    for name in COMMANDS:
        with pytest.raises(SystemExit):
            cli_main([name, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "A rerun loads the units that match and recomputes, overwrites and names" in text


@pytest.mark.parametrize(
    "argv, words",
    [
        (["theorems", "--quick", "--n", "1000000"], ["n = 1000000 needs about", "use n <="]),
        (["theorems", "--quick", "--k", "2,2"], ["k must not repeat an entry, got (2, 2)"]),
        (["spectra", "--quick", "--trials", "100000000"], ["--trials 100000000 needs about"]),
        (["phase", "--quick", "--data", "sparse,sparse"], ["data must not repeat an entry"]),
    ],
)
def test_sizes_and_lists_are_refused_before_any_work(tmp_path, capsys, argv, words):
    out = tmp_path / "out"
    assert cli_main([*argv, "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert all(w in line for w in words), line
    assert not out.exists()


def test_a_file_where_a_folder_goes_is_one_line(tmp_path, capsys):
    (tmp_path / "figures").write_text("mine")
    assert cli_main(["physics", "--size", "16", "--iters", "2", "--out", str(tmp_path)]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"bridge-jax: error: {tmp_path / 'figures'}: ")
    assert "Traceback" not in line and (tmp_path / "figures").read_text() == "mine"


def test_a_variant_folder_that_is_a_link_is_refused(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "digits").symlink_to(elsewhere)
    argv = ["reproduce", "--quick", "--data", "digits", "--out", str(out)]
    assert cli_main(argv) == 2
    assert f"{out / 'digits'} is a symbolic link to a folder" in _one_line(capsys.readouterr().err)
    assert os.listdir(elsewhere) == []
