"""The planner's command parser (``compile``, ``route``, the studies ``matrix``,
``isochrones``, ``accessibility``); ``api.cli`` adds ``serve``, ``update``."""

from __future__ import annotations

import argparse
import sys

from feeds.gtfs_errors import GtfsError
from planner.commands.analysis import add_analysis_parsers
from planner.commands.args import add_timetable_args
from planner.commands.compile import cmd_compile
from planner.commands.route import add_route_parser
from planner.timetable.options import OutOfRangeError


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog="owl-planner", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compile", help="compile feeds into a timetable and print counts")
    add_timetable_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_compile)
    add_route_parser(sub)
    add_analysis_parsers(sub)
    return parser, sub


def run(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Parse and dispatch; user errors become one clear line and exit status 2."""
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (GtfsError, OutOfRangeError, KeyError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        print(f"owl-planner: error: {message}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser, _ = build_parser()
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
