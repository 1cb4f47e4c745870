"""The paper's studies, built on the public `bridge_jax` API.

One module per figure or study (`fig1_spectrum` ... `fig5_taxonomy`, `reproduce`, `learn`,
`methods`, `phase`, `sweep`); each docstring states the question it answers and the definitions
it uses. Each runs from the `bridge-jax` command line (`bridge-jax reproduce`, `bridge-jax learn`,
...) and from the scripts in the repository's `experiments/` folder.

A study with a command has `add_arguments(parser)` and `run_from_args(args) -> exit code`, and
one line in `COMMANDS` below registers it with `bridge-jax`; `main(name, argv, prog)` runs one
as a program of its own (`python -m bridge_jax.studies.phase`, `experiments/phase.py`).

Nothing else is imported here, so that `bridge-jax --help` stays fast: import the study you
need, e.g. `from bridge_jax.studies import fig2_masking`.
"""

from __future__ import annotations

import importlib

# command -> (help line, whether its description keeps its own line breaks)
COMMANDS = {
    "reproduce": ("reproduce the paper's five experiments", False),
    "learn": ("learned step sizes and augmentations (beyond the paper)", False),
    "methods": ("train the eight methods and measure the taxonomy (beyond the paper)", False),
    "phase": (
        "phase retrieval: success rate vs m/n, noise and initialisation (beyond the paper)",
        True,
    ),
    "sweep": ("sweep the paper's pipeline over a grid (TOML or --set)", True),
    "physics": ("imaging operators on a real image: measurement and pseudoinverse", True),
    "spectra": ("the paper's spectral and subspace statistics at image scale (matrix-free)", True),
    "theorems": ("sensing theorems: learning a model from measurements alone vs the bounds", True),
    "imaging": ("self-supervised imaging benchmark: learned reconstructors on real images", True),
}


FOLDER_POLICY = (
    "Output folder: every saved unit (experiment, unit, chunk) carries a digest of the "
    "configuration, its own parameters and the code. A rerun loads the units that match and "
    "recomputes, overwrites and names on its progress line those that do not (another "
    "configuration, another unit's file, changed code, a file without a result); --fresh, "
    "where a command has it, recomputes all. A file the command did not write or cannot "
    "read, and a folder inside the output that is a symbolic link, stop it with one line "
    "before any work."
)


def study(name: str):
    """The module (or package) of the study behind command `name`."""
    return importlib.import_module(f"bridge_jax.studies.{name}")


def parser_options(name: str) -> dict:
    """The description and help formatter of command `name`'s parser (its module docstring)."""
    from bridge_jax.studies._runner import DefaultsHelpFormatter, RawDefaultsHelpFormatter

    raw = COMMANDS[name][1]
    return {
        "description": study(name).__doc__,
        "formatter_class": RawDefaultsHelpFormatter if raw else DefaultsHelpFormatter,
    }


def main(name: str, argv=None, prog: str | None = None) -> int:
    """Run study `name` as a program of its own: parse `argv`, run, return the exit code."""
    from bridge_jax.studies._runner import OneLineParser

    parser = OneLineParser(
        prog=prog or f"python -m bridge_jax.studies.{name}", **parser_options(name)
    )
    add_arguments(name, parser)
    return run_from_args(name, parser.parse_args(argv))


def add_arguments(name: str, parser) -> None:
    """Command `name`'s options, and those every command has (`--cache`, `--no-cache`)."""
    from bridge_jax.studies._runner import add_cache_arguments

    study(name).add_arguments(parser)
    add_cache_arguments(parser)
    import textwrap

    parser.epilog = textwrap.fill(FOLDER_POLICY, 79)


def run_from_args(name: str, args) -> int:
    """Run command `name` with its parsed `args` (the compilation cache first); exit code.

    A mistake in the input is one line on stderr and exit code 2, for every command: a
    `UserError`, a `ValueError` from a configuration's checks, or a missing optional package
    (`ModuleNotFoundError`, which names it). A failure of the machine (`OSError`: a full
    disk, a file-size limit, an unwritable folder) is one line naming the path, exit code 1.
    A study's `run_from_args` raises them and prints only what it wrote."""
    import sys

    from bridge_jax.studies._runner import UserError, os_error_line, prepare_jax

    try:
        prepare_jax(args)
        return study(name).run_from_args(args)
    except (UserError, ValueError, ModuleNotFoundError) as e:
        print(f"bridge-jax: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        # Not the user's input but the machine (a full disk, a file-size limit, permissions):
        # one line and exit code 1. Every file is written atomically, so what is in the
        # folder stays consistent and a rerun resumes from the finished units.
        print(
            f"bridge-jax: error: {os_error_line(e)}. Finished units are saved: a rerun resumes.",
            file=sys.stderr,
        )
        return 1
