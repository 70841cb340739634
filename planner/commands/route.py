"""Batch earliest-arrival queries from a CSV file: ``owl-planner route``.

Input columns ``source,target,departure``: GTFS stop ids (without the feed prefix
when one feed is given, feed-scoped ``feed:stop`` otherwise) and seconds after local
midnight of ``--date``. The output repeats the input columns and adds ``arrival``
(seconds after the same midnight, -1 when unreachable), ``transfers`` (-1 when
unreachable) and ``query_us``: the wall time of the Python call answering the query,
so the figure includes the interface overhead a server would pay.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np

from planner.commands.args import add_timetable_args, options_from
from planner.routing.query import DEFAULT_MAX_TRANSFERS, Query
from planner.routing.router import Router
from planner.timetable.disk_cache import load_or_compile
from planner.timetable.model import StopLookup, Timetable
from planner.timetable.options import CompileOptions

#: "auto": the router's pick (Trip-Based where its transfers apply, else RAPTOR)
ALGORITHMS = ("csa", "raptor", "tripbased", "auto", "mcraptor")
QueryFn = Callable[[np.ndarray, np.ndarray, int], tuple[int | None, int]]


def resolve_stop(stops: StopLookup, stop_id: str, prefix: str | None) -> int:
    """Stop index of a CSV id; a bare id gets the single feed's prefix."""
    if prefix is not None:
        try:
            return stops.index(prefix + stop_id)
        except KeyError:
            pass
    return stops.index(stop_id)


def single_feed_prefix(tt: Timetable, n_paths: int) -> str | None:
    if n_paths != 1 or tt.n_stops == 0:
        return None
    return str(tt.stop_ids[0]).split(":", 1)[0] + ":"


def query_function(router: Router, algorithm: str, max_transfers: int,
                   transfer_slack: int) -> QueryFn:
    """``(sources, targets, departure) -> (arrival or None, transfers)`` for one algorithm."""
    if algorithm in ("csa", "raptor", "tripbased", "auto"):
        engine = None if algorithm == "auto" else algorithm

        def run(src: np.ndarray, tgt: np.ndarray, dep: int) -> tuple[int | None, int]:
            q = Query(src, tgt, dep, max_transfers=max_transfers,
                      transfer_slack=transfer_slack)
            return router.arrival_and_transfers(q, engine)
        return run
    if algorithm == "mcraptor":
        def run_mc(src: np.ndarray, tgt: np.ndarray, dep: int) -> tuple[int | None, int]:
            q = Query(src, tgt, dep, max_transfers=max_transfers,
                      transfer_slack=transfer_slack)
            pareto = router.pareto(q)
            if not pareto:
                return None, -1
            first = min(pareto, key=lambda j: (j.arrival, j.transfers))
            return first.arrival, first.transfers
        return run_mc
    raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")


def run_batch(paths: Sequence[str | Path], day: date, queries_csv: str | Path,
              algorithm: str, out_csv: str | Path, options: CompileOptions | None = None,
              *, max_transfers: int = DEFAULT_MAX_TRANSFERS, transfer_slack: int = 0,
              cache_dir: Path | None = None) -> dict[str, float]:
    """Answer every query of ``queries_csv`` and write ``out_csv``; returns a summary."""
    tt = load_or_compile(paths, day, options, cache_dir=cache_dir)
    router = Router(tt)
    query = query_function(router, algorithm, max_transfers, transfer_slack)
    prefix = single_feed_prefix(tt, len(paths))
    stops = StopLookup(tt.stop_ids)  # one dict for all rows
    midnight = tt.time_of(day, 0)
    with open(queries_csv, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    for col in ("source", "target", "departure"):
        if col not in fields:
            raise ValueError(f"{queries_csv}: missing column {col!r} (have {fields})")
    times: list[float] = []
    reachable = 0
    answers: list[tuple[int, int]] = []  # (arrival, transfers) per row; merged when written
    for line, row in enumerate(rows, start=2):
        try:
            dep = midnight + int(row["departure"])
        except ValueError:
            raise ValueError(f"{queries_csv}:{line}: departure must be whole seconds, "
                             f"got {row['departure']!r}") from None
        src = np.array([[resolve_stop(stops, row["source"].strip(), prefix), 0]], dtype=np.int32)
        tgt = np.array([[resolve_stop(stops, row["target"].strip(), prefix), 0]], dtype=np.int32)
        started = time.perf_counter()
        arrival, transfers = query(src, tgt, dep)
        elapsed = (time.perf_counter() - started) * 1e6
        times.append(elapsed)
        if arrival is None:
            answers.append((-1, -1))
        else:
            reachable += 1
            answers.append((arrival - midnight, transfers))
    with open(out_csv, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields + ["arrival", "transfers", "query_us"])
        writer.writeheader()
        writer.writerows({**row, "arrival": a, "transfers": k, "query_us": f"{us:.1f}"}
                         for row, (a, k), us in zip(rows, answers, times, strict=True))
    arr = np.array(times) if times else np.zeros(1)
    return {"queries": len(rows), "reachable": reachable, "mean_us": float(arr.mean()),
            "median_us": float(np.median(arr))}


def cmd_route(args: argparse.Namespace) -> int:
    day = args.date or date.today()
    try:
        summary = run_batch(args.feeds, day, args.queries, args.algorithm, args.out,
                            options_from(args), max_transfers=args.max_transfers,
                            transfer_slack=args.transfer_slack, cache_dir=args.cache_dir)
    except ValueError as exc:
        print(f"owl-planner: error: {exc}", file=sys.stderr)
        return 2
    print(f"{summary['queries']} queries, {summary['reachable']} reachable, "
          f"mean {summary['mean_us']:.1f} us, median {summary['median_us']:.1f} us "
          f"-> {args.out}")
    return 0


def add_route_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``owl-planner route FEED... --date D --queries Q.csv --algorithm A --out OUT.csv``."""
    p = subparsers.add_parser("route", help="answer earliest-arrival queries from a CSV file")
    add_timetable_args(p)
    p.add_argument("--queries", type=Path, required=True, metavar="Q.csv",
                   help="CSV with source,target,departure (seconds after midnight)")
    p.add_argument("--algorithm", choices=ALGORITHMS, default="raptor")
    p.add_argument("--out", type=Path, required=True, metavar="OUT.csv")
    p.add_argument("--max-transfers", type=int, default=DEFAULT_MAX_TRANSFERS,
                   help="transfers = trips - 1 (default %(default)s, as in MOTIS)")
    p.add_argument("--transfer-slack", type=int, default=0, metavar="S",
                   help="seconds added to every transfer")
    p.set_defaults(func=cmd_route)
    return p

