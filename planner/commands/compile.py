"""``owl-planner compile``: compile feeds into a timetable and print its counts."""

from __future__ import annotations

import argparse
import json
import time

from planner.commands.args import timetable_from
from planner.timetable.model import Timetable


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
        "warnings": tt.extra.get("warnings", []),
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
