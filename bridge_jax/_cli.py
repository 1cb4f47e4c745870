"""The `bridge-jax` command line. User mistakes get one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    from bridge_jax.studies import learn, methods, phase, reproduce, sweep
    from bridge_jax.studies._runner import OneLineParser

    parser = OneLineParser(prog="bridge-jax", description="bridge_jax experiments.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    rep = sub.add_parser(
        "reproduce", help="reproduce the paper's five experiments", description=reproduce.__doc__
    )
    reproduce.add_arguments(rep)
    lrn = sub.add_parser(
        "learn",
        help="learned step sizes and augmentations (beyond the paper)",
        description=learn.__doc__,
    )
    learn.add_arguments(lrn)
    mth = sub.add_parser(
        "methods",
        help="train the eight methods and measure the taxonomy (beyond the paper)",
        description=methods.__doc__,
    )
    methods.add_arguments(mth)
    phs = sub.add_parser(
        "phase",
        help="phase retrieval: success rate vs m/n, noise and initialisation (beyond the paper)",
        description=phase.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    phase.add_arguments(phs)
    swp = sub.add_parser(
        "sweep",
        help="sweep the paper's pipeline over a grid (TOML or --set)",
        description=sweep.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_arguments(swp)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        commands = {
            "reproduce": reproduce,
            "learn": learn,
            "methods": methods,
            "phase": phase,
            "sweep": sweep,
        }
        return commands[args.command].run_from_args(args)
    except KeyboardInterrupt:
        print(
            "bridge-jax: interrupted; finished experiments are saved and a rerun resumes.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
