"""Arguments every command that compiles a timetable shares, and the timetable they name."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from planner.timetable.disk_cache import DEFAULT_CACHE_DIR, load_or_compile
from planner.timetable.model import Timetable
from planner.timetable.options import (
    DEFAULT_CHANGE_TIME,
    DEFAULT_FOOTPATH_MAX_WALK,
    CompileOptions,
)


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
    p.add_argument("--footpath-max-walk", type=int, default=DEFAULT_FOOTPATH_MAX_WALK,
                   metavar="SECONDS",
                   help="longest walk between two trips the links are chained into "
                        f"(default {DEFAULT_FOOTPATH_MAX_WALK}; 0: no bound)")
    p.add_argument("--min-change-time", type=int, default=DEFAULT_CHANGE_TIME,
                   metavar="SECONDS",
                   help="change time at stops without a transfers.txt rule "
                        f"(default {DEFAULT_CHANGE_TIME}; 0: change in no time)")
    p.add_argument("--walk-speed", type=float, default=4.5, metavar="KMH")
    p.add_argument("--no-cache", action="store_true", help="always compile from scratch")
    p.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                   help=f"compiled timetables (default {DEFAULT_CACHE_DIR}; owl-planner: "
                        "$OWL_CACHE_DIR)")


def options_from(args: argparse.Namespace) -> CompileOptions:
    return CompileOptions(footpath_radius=args.footpath_radius, walk_speed_kmh=args.walk_speed,
                          default_change_time=args.min_change_time,
                          footpath_max_walk=args.footpath_max_walk)


def timetable_from(args: argparse.Namespace, progress: bool = True) -> Timetable:
    """Compile (or load) the timetable that the arguments describe."""
    day = args.date or date.today()
    opts = options_from(args)
    if args.no_cache:
        from planner.timetable.compile import compile_timetable  # pandas: only to compile

        return compile_timetable(args.feeds, day, opts, progress=progress)
    return load_or_compile(args.feeds, day, opts, progress=progress, cache_dir=args.cache_dir)
