"""The library stands alone: it never imports the scripts above it, and those scripts are thin."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parents[1]
SCRIPTS = (
    "fig1_spectrum",
    "fig2_masking",
    "fig3_convergence",
    "fig4_transfer",
    "fig5_taxonomy",
    "reproduce",
    "learn",
    "methods",
    "phase",
    "sweep",
    "physics",
    "spectra",
    "theorems",
)


def test_library_does_not_import_experiments_or_benchmarks(tmp_path):
    code = (
        "import sys, bridge_jax, bridge_jax._cli, bridge_jax.studies.reproduce\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('experiments', 'benchmarks'))\n"
        "assert not bad, bad\n"
    )
    # From an empty folder, so that nothing in the checkout is importable by accident.
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


def test_experiment_scripts_are_thin():
    found = sorted(p.stem for p in (ROOT / "experiments").glob("*.py"))
    assert found == sorted(SCRIPTS)
    for name in SCRIPTS:
        lines = (ROOT / "experiments" / f"{name}.py").read_text().splitlines()
        assert len(lines) < 200, name
        assert "bridge_jax.studies" in "\n".join(lines), name


def test_experiment_script_runs_as_a_file(tmp_path):
    for name in ("fig2_masking", "sweep"):
        script = ROOT / "experiments" / f"{name}.py"
        proc = subprocess.run(
            [sys.executable, str(script), "--help"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert f"python experiments/{name}.py" in proc.stdout


def test_studies_use_only_the_public_api():
    """The studies sit on top: they import `bridge_jax`'s public names (and each other), never
    a private module of the library (`bridge_jax._x`) or a private name (`bj._x`)."""
    import ast

    bad = []
    for path in sorted((ROOT / "bridge_jax" / "studies").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("bridge_jax._"):
                    bad.append(f"{path.name}: from {node.module}")
                if node.module == "bridge_jax":
                    bad += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")]
            if isinstance(node, ast.Import):
                bad += [f"{path.name}: {a.name}" for a in node.names if "._" in a.name]
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "bj"
                and node.attr.startswith("_")
            ):
                bad.append(f"{path.name}: bj.{node.attr}")
    assert not bad, bad


def test_modules_are_abstract_or_final():
    """equinox's pattern: no concrete method of a bridge_jax module is overridden by a subclass
    (a method is abstract, or final where it is defined)."""
    import importlib
    import inspect
    import pkgutil

    import equinox as eqx

    import bridge_jax

    overridden = []
    for info in pkgutil.walk_packages(bridge_jax.__path__, "bridge_jax."):
        if ".studies" in info.name or info.name.endswith("__main__"):
            continue
        for cls in vars(importlib.import_module(info.name)).values():
            if not (inspect.isclass(cls) and issubclass(cls, eqx.Module)):
                continue
            for base in cls.__mro__[1:]:
                if not base.__module__.startswith("bridge_jax"):
                    continue
                for attr, value in vars(base).items():
                    concrete = callable(value) and not getattr(value, "__isabstractmethod__", False)
                    if (
                        concrete
                        and not attr.startswith("__")
                        and vars(cls).get(attr, value) is not value
                    ):
                        overridden.append(f"{cls.__name__}.{attr} overrides {base.__name__}.{attr}")
    assert not overridden, sorted(set(overridden))


# The library's concept folders, bottom to top: a module imports only from its own folder and
# the folders below it (docs/getting-started.md, "Where things live").
LAYERS = (
    ("_validate", "_compat", "store", "_random"),
    ("_run",),
    ("_operators",),
    ("_linalg", "_data"),
    ("_augment", "_losses", "_solvers"),
    ("_analysis",),
    ("_models",),
    ("_methods",),
)
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def _imported_groups(path):
    """The top-level library names (`_operators`, `store`, ...) that a module imports."""
    import ast

    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[: len(package) - node.level + 1])
            target = base + (node.module.split(".") if node.module else [])
            if len(target) > 1:
                found.add(target[1])
            else:  # from . import _validate
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bridge_jax."):
            found.add(node.module.split(".")[1])
    return found


def test_library_folders_import_only_the_layers_below():
    upward = []
    for path in sorted((ROOT / "bridge_jax").rglob("*.py")):
        parts = path.relative_to(ROOT / "bridge_jax").parts
        group = parts[0].removesuffix(".py")
        if group not in RANK:  # __init__, __main__, _cli, studies: the top
            continue
        for other in _imported_groups(path):
            if other in RANK and RANK[other] > RANK[group]:
                upward.append(f"{path.relative_to(ROOT)} imports {other}")
    assert not upward, upward
    folders = {p.name for p in (ROOT / "bridge_jax").iterdir() if p.is_dir()}
    assert folders - {"studies", "__pycache__"} <= set(RANK), "a new folder needs a layer"
