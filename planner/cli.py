"""The planner's commands (``compile``, ``route``); ``api.cli`` adds ``serve``, ``update``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from feeds.gtfs import GtfsError
from planner.batch import add_route_parser
from planner.cache import load_or_compile
from planner.compile import CompileOptions, OutOfRangeError
from planner.timetable import Timetable

DEMO_FEED = Path(__file__).resolve().parents[1] / "data" / "demo" / "de-db-fv-2026.gtfs.zip"


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_timetable_args(p: argparse.ArgumentParser, feeds_required: bool = True) -> None:
    """Arguments shared by every command that compiles a timetable."""
    p.add_argument("feeds", nargs="+" if feeds_required else "*", type=Path,
                   metavar="FEED", help="GTFS zip files or folders")
    p.add_argument("--date", type=parse_date, default=None,
                   help="service day (YYYY-MM-DD); default: today")
    p.add_argument("--footpath-radius", type=float, default=200.0, metavar="M",
                   help="generate walking links up to M metres (0: transfers.txt only)")
    p.add_argument("--walk-speed", type=float, default=4.5, metavar="KMH")
    p.add_argument("--no-cache", action="store_true", help="always compile from scratch")


def options_from(args: argparse.Namespace) -> CompileOptions:
    return CompileOptions(footpath_radius=args.footpath_radius, walk_speed_kmh=args.walk_speed)


def timetable_from(args: argparse.Namespace, progress: bool = True) -> Timetable:
    """Compile (or load) the timetable that the arguments describe."""
    day = args.date or date.today()
    opts = options_from(args)
    if args.no_cache:
        from planner.compile import compile_timetable

        return compile_timetable(args.feeds, day, opts, progress=progress)
    return load_or_compile(args.feeds, day, opts, progress=progress)


def summary(tt: Timetable) -> dict[str, object]:
    return {
        "version": tt.version,
        "timezone": tt.timezone,
        "dates": [tt.dates[0].isoformat(), tt.dates[-1].isoformat()],
        "feeds": {k: list(v) for k, v in tt.feed_ranges.items()},
        "stops": tt.n_stops,
        "routes": tt.n_routes,
        "trips": tt.n_trips,
        "stop_times": int(len(tt.st_arr)),
        "connections": tt.n_connections,
        "footpaths": tt.n_footpaths,
        "cache": tt.extra.get("cache", "off"),
        "timings_s": tt.extra.get("timings", {}),
    }


def cmd_compile(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    tt = timetable_from(args, progress=not args.json)
    info = summary(tt)
    info["total_s"] = round(time.perf_counter() - started, 3)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key:>12}: {value}")
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog="owl-planner", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compile", help="compile feeds into a timetable and print counts")
    add_timetable_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_compile)
    add_route_parser(sub)
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
