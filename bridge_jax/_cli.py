"""The `bridge-jax` command line. User mistakes get one line on stderr and exit code 2.

Each command is a study registered in `bridge_jax.studies.COMMANDS`."""

from __future__ import annotations

import re
import sys

_OUT_OF_MEMORY = re.compile(r"RESOURCE_EXHAUSTED|out of memory|failed to allocate", re.I)


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("bridge_jax")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout, not installed
        return "unknown (not installed)"


def main(argv=None) -> int:
    from bridge_jax.studies import COMMANDS, add_arguments, parser_options, run_from_args
    from bridge_jax.studies._runner import OneLineParser

    parser = OneLineParser(prog="bridge-jax", description="bridge_jax experiments.")
    parser.add_argument("--version", action="version", version=f"bridge-jax {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name, (help_line, _) in COMMANDS.items():
        command = sub.add_parser(name, help=help_line, **parser_options(name))
        add_arguments(name, command)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    import jax

    from bridge_jax import TooLargeError

    try:
        return run_from_args(args.command, args)
    except TooLargeError as e:
        print(f"bridge-jax: error: {e} Finished units are saved.", file=sys.stderr)
        return 2
    except (jax.errors.JaxRuntimeError, MemoryError) as e:
        text = str(e) or type(e).__name__
        # XLA says RESOURCE_EXHAUSTED on a device, "INTERNAL: ... Out of memory" on the host.
        if not (isinstance(e, MemoryError) or _OUT_OF_MEMORY.search(text)):
            raise
        # What an estimate did not foresee: still one line, and nothing finished is lost.
        print(
            f"bridge-jax: error: out of memory ({text.splitlines()[0][:160]}); use smaller "
            "sizes (--trials, --signals, --steps, n). Finished units are saved: a rerun "
            "resumes.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(
            "bridge-jax: interrupted; finished experiments are saved and a rerun resumes.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
