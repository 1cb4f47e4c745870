"""The documentation: every public name documented, no development-log references in what a
user reads, every Markdown table well-formed, and the site builds with `mkdocs --strict`."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

import bridge_jax as bj

ROOT = pathlib.Path(__file__).parents[1]
DOCS = ROOT / "docs"
MARKDOWN = [
    ROOT / "README.md",
    ROOT / "CHANGELOG.md",
    ROOT / "benchmarks" / "RESULTS.md",
    *sorted(DOCS.rglob("*.md")),
]
# What a user reads: docs, docstrings, --help, report templates and error messages.
USER_TEXT = [*MARKDOWN, *sorted((ROOT / "bridge_jax").rglob("*.py")), *sorted(DOCS.rglob("*.py"))]

# "session 4", "issue 13", and commit hashes: 7-40 hex characters (letters and digits both) in
# backticks or after "commit".
_HEX = r"(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}"
LOG_REFERENCES = re.compile(
    rf"\bsessions? [0-9]|\bissues? [0-9]+|`{_HEX}`|\bcommits? {_HEX}\b", re.IGNORECASE
)


def _api_pages_names() -> set[str]:
    names = set()
    for page in (DOCS / "api").glob("*.md"):
        names |= set(re.findall(r"^::: bridge_jax\.(\w+)", page.read_text(), re.M))
    return names


def test_all_lists_exactly_the_reexported_names():
    source = (ROOT / "bridge_jax" / "__init__.py").read_text()
    # One name per import; a long one is wrapped in parentheses by the formatter.
    source = re.sub(r"import \(\s*(\w+ as \w+),?\s*\)", r"import \1", source)
    reexported = set(re.findall(r"^from \.\S+ import (\w+) as \1$", source, re.M))
    assert set(bj.__all__) == reexported
    assert len(bj.__all__) == len(set(bj.__all__))
    assert all(hasattr(bj, name) for name in bj.__all__)
    assert not hasattr(bj, "importlib")


def test_every_public_name_is_on_an_api_page():
    missing = sorted(set(bj.__all__) - _api_pages_names())
    assert not missing, f"names in bridge_jax.__all__ on no page of docs/api/: {missing}"


def test_api_pages_name_only_public_names():
    unknown = sorted(_api_pages_names() - set(bj.__all__) - {"store"})
    assert not unknown, f"docs/api/ documents names that are not public: {unknown}"


def test_no_session_issue_or_commit_references_in_user_text():
    found = []
    for path in USER_TEXT:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if match := LOG_REFERENCES.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r}")
    assert not found, "development-log references:\n" + "\n".join(found)


def test_the_pattern_finds_what_it_should():
    for text in ("in session 9", "Issue 14", "commit 2a30e49", "(`609f0f2`)", "sessions 7 and 9"):
        assert LOG_REFERENCES.search(text), text
    for text in ("the session's last", "an issue", "`landweber`", "`1234567`", "abcdefab"):
        assert not LOG_REFERENCES.search(text), text


def _cells(row: str) -> int:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return len(re.split(r"(?<!\\)\|", row))


def _tables(text: str):
    """(first line number, rows) of every Markdown table outside fenced code."""
    tables, current, fenced = [], [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        is_row = not fenced and line.lstrip().startswith("|")
        if is_row:
            current.append((number, line))
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def test_markdown_tables_have_as_many_cells_in_every_row_as_in_the_header():
    bad = []
    for path in MARKDOWN:
        for table in _tables(path.read_text(encoding="utf-8")):
            (first, header), *rows = table
            if not rows or not re.fullmatch(r"\s*\|?[\s:|-]+\|?\s*", rows[0][1]):
                bad.append(f"{path.relative_to(ROOT)}:{first}: no separator row under the header")
                continue
            want = _cells(header)
            bad += [
                f"{path.relative_to(ROOT)}:{n}: {_cells(row)} cells, the header has {want}"
                for n, row in rows
                if _cells(row) != want
            ]
    assert not bad, "\n".join(bad)


def test_the_table_check_catches_a_wrong_row():
    (table,) = _tables("| a | b |\n|---|---|---|\n| 1 | 2 |\n")
    assert [_cells(row) for _, row in table] == [2, 3, 2]
    assert _cells(r"| `a \| b` | c |") == 2


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
    reason="mkdocs and mkdocstrings are not installed (pip install -e '.[docs]')",
)
def test_mkdocs_builds_strict(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "api" / "operators" / "index.html").exists()
    page = (tmp_path / "api" / "solvers" / "index.html").read_text()
    assert 'id="bridge_jax.landweber"' in page  # mkdocstrings rendered the API entries


def test_every_command_help_shows_its_defaults_and_no_tracker_numbers():
    import argparse

    from bridge_jax.studies import COMMANDS, add_arguments, parser_options

    for name in COMMANDS:
        parser = argparse.ArgumentParser(prog=f"bridge-jax {name}", **parser_options(name))
        add_arguments(name, parser)
        formatter = parser._get_formatter()
        for action in parser._actions:
            if action.nargs == 0 or not action.option_strings:
                continue  # flags, and positional arguments
            text = formatter._get_help_string(action) or ""
            assert "default" in text.lower(), (name, action.option_strings, text)
        text = parser.format_help()
        assert not LOG_REFERENCES.search(text), (name, LOG_REFERENCES.search(text))
        assert "in seconds" not in text, name


def test_version_citation_and_changelog_agree():
    """pyproject's version is the CITATION.cff version and the newest CHANGELOG release, and the
    citation names the paper by its title."""
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf"^version: {re.escape(version.group(1))}$", citation, re.M)
    assert 'title: "Bridging Self-Supervised Representation Learning and Imaging' in citation
    assert "preferred-citation:" in citation and "KDD '26" in citation
    releases = re.findall(r"^## \[(\d[^\]]*)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases[0] == version.group(1)
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text()
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert (ROOT / "bridge_jax" / "py.typed").exists()


def _docstring_examples():
    """(name, code) of every ```python block inside an `Example:` section of a public
    docstring."""
    import inspect

    for name in bj.__all__:
        doc = inspect.getdoc(getattr(bj, name)) or ""
        if "Example:" not in doc:
            continue
        section = doc.split("Example:", 1)[1]
        for block in re.findall(r"```python\n(.*?)```", section, re.S):
            yield name, __import__("textwrap").dedent(block)


def test_docstring_examples_parse_and_name_only_public_api():
    """Every Example block is valid Python and every `bj.NAME` it uses exists (running them
    all compiles a few hundred small programs, too slow for the suite)."""
    import ast

    examples = list(_docstring_examples())
    assert len(examples) >= 45
    for name, code in examples:
        tree = ast.parse(code, filename=f"{name} example")
        used = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "bj"
        }
        assert used <= set(bj.__all__), (name, used - set(bj.__all__))


def test_operators_losses_models_and_solvers_have_an_example():
    kinds = {
        "operators": "MatrixOperator GaussianSensing Mask StructuredSensing Blur Downsample MRI "
        "Radon Reshaped Subsample",
        "losses": "supervised_loss measurement_consistency_loss noise2self_loss "
        "measurement_split_loss ei_loss noisier2noise_loss moi_loss sure_loss r2r_loss "
        "nt_xent_loss byol_loss dino_loss mae_loss",
        "models": "DnCNN UNet UnrolledProximalGradient UnrolledNet UnrolledShrinkage "
        "MLPReconstructor UnrolledLandweber Encoder",
        "solvers": "landweber landweber_gram landweber_spectral ista fista pinv_solve "
        "masked_pinv_solve lmmse_fit amplitude_flow spectral_init",
    }
    documented = {name for name, _ in _docstring_examples()}
    missing = [n for names in kinds.values() for n in names.split() if n not in documented]
    assert not missing, missing


def test_a_sample_of_docstring_examples_runs():
    """One example per kind runs as written (with the usual imports)."""
    prelude = (
        "import jax\nimport jax.numpy as jnp\nimport jax.random as jr\nimport bridge_jax as bj\n"
    )
    examples = dict(_docstring_examples())
    for name in ("GaussianSensing", "landweber", "measurement_consistency_loss", "Encoder"):
        namespace: dict = {}
        exec(compile(prelude + examples[name], f"{name} example", "exec"), namespace)
