"""``owl-planner matrix``, ``isochrones`` and ``accessibility``: travel-time studies over a
departure window from the command line (:mod:`planner.analysis`), with progress bars.

Origins: ``--origins`` (CSV ``id,lat,lon``, GeoJSON or GeoPackage) or a regular grid
(``--grid 500m`` over ``--bbox min_lon,min_lat,max_lon,max_lat`` or inside ``--area``, a
polygon file). Outputs by suffix: Parquet or CSV (matrix, accessibility), GeoJSON,
GeoPackage or GeoParquet (isochrones). With ``--dask tcp://HOST:8786`` or ``--workers N``
the origins run in chunks on Dask and ``--out`` becomes a directory of Parquet partitions
(``part-NNNNN.parquet``) written as they finish; a ``.csv`` or ``.geojson`` ``--out`` is
assembled from them at the end.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from planner.commands.args import add_timetable_args, options_from
from planner.timetable.disk_cache import DEFAULT_CACHE_DIR

# The studies (pandas, GeoPandas, Dask) are imported where a study runs, not when the
# parser is built: ``owl-planner route`` and ``serve`` build this parser too.
if TYPE_CHECKING:
    import pandas as pd

    from planner.analysis.jobs import Job
    from planner.analysis.points import Points


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, "
                                         f"got {text!r}") from None


def _clock(text: str) -> tuple[int, int]:
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        raise argparse.ArgumentTypeError(f"departure must be HH:MM, got {text!r}") from None
    if not (0 <= h < 48 and 0 <= m < 60):
        raise argparse.ArgumentTypeError(f"departure must be HH:MM, got {text!r}")
    return h, m


def _distance(text: str) -> float:
    from planner.analysis.points import parse_distance

    return parse_distance(text)


def _add_study_args(p: argparse.ArgumentParser) -> None:
    add_timetable_args(p)
    p.add_argument("--osm", type=Path, default=None, metavar="PBF",
                   help="OSM extract for the street model (default: straight lines)")
    where = p.add_argument_group("origins")
    where.add_argument("--origins", type=Path, metavar="FILE",
                       help="CSV id,lat,lon, GeoJSON or GeoPackage")
    where.add_argument("--grid", type=_distance, metavar="SPACING",
                       help="regular grid of origins, e.g. 500m")
    where.add_argument("--bbox", type=str, metavar="W,S,E,N", help="the grid's box (lon/lat)")
    where.add_argument("--area", type=Path, metavar="FILE", help="the grid's polygon file")
    where.add_argument("--id-column", default="id", help="id column of the point files")
    p.add_argument("--departure", type=_clock, default=(7, 0), metavar="HH:MM")
    p.add_argument("--window", type=int, default=60, metavar="MIN",
                   help="departure minutes (r5r's time_window)")
    p.add_argument("--percentiles", type=_ints, default=(50,), metavar="P,P")
    p.add_argument("--max-duration", type=int, default=120, metavar="MIN",
                   help="r5r's max_trip_duration")
    p.add_argument("--max-rides", type=int, default=4)
    p.add_argument("--mode", default="WALK,TRANSIT",
                   help="access mode and transit modes, r5r's names (WALK,BUS,...)")
    p.add_argument("--mode-egress", default="WALK")
    p.add_argument("--bike-speed", type=float, default=15.0, metavar="KMH")
    p.add_argument("--max-walk-time", type=int, default=15, metavar="MIN")
    p.add_argument("--max-bike-time", type=int, default=30, metavar="MIN")
    p.add_argument("--max-car-time", type=int, default=30, metavar="MIN")
    p.add_argument("--chunk-size", type=int, default=64, metavar="N", help="origins per task")
    run_on = p.add_mutually_exclusive_group()
    run_on.add_argument("--dask", metavar="ADDRESS", help="Dask scheduler, tcp://HOST:8786")
    run_on.add_argument("--workers", type=int, metavar="N", help="local Dask cluster")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out", type=Path, required=True)


def add_analysis_parsers(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("matrix", help="travel-time matrix over a departure window")
    _add_study_args(m)
    m.add_argument("--destinations", type=Path, metavar="FILE", help="default: the origins")
    m.add_argument("--min-mean", action="store_true", help="also travel_time_min and _mean")
    m.add_argument("--share-under", type=_ints, default=(), metavar="MIN,MIN",
                   help="share of the window's minutes under each cutoff")
    m.set_defaults(func=cmd_study, kind="matrix")
    i = sub.add_parser("isochrones", help="isochrone polygons per origin and cutoff")
    _add_study_args(i)
    i.add_argument("--destinations", type=Path, metavar="FILE",
                   help="sample points (default: the timetable's stops)")
    i.add_argument("--cutoffs", type=_ints, required=True, metavar="MIN,MIN")
    i.set_defaults(func=cmd_study, kind="isochrones")
    a = sub.add_parser("accessibility", help="cumulative opportunities per origin")
    _add_study_args(a)
    a.add_argument("--opportunities", type=Path, required=True, metavar="FILE")
    a.add_argument("--weight", default=None, help="opportunities column (default: 1 each)")
    a.add_argument("--cutoffs", type=_ints, required=True, metavar="MIN,MIN")
    a.set_defaults(func=cmd_study, kind="accessibility")


def origins_from(args: argparse.Namespace) -> Points:
    from planner.analysis.points import Points, parse_bbox

    if args.origins is not None:
        if args.grid is not None:
            raise ValueError("give --origins or --grid, not both")
        return Points.read(args.origins, args.id_column)
    if args.grid is None:
        raise ValueError("give --origins FILE or --grid SPACING with --bbox or --area")
    if args.area is not None:
        import geopandas as gpd

        shape = gpd.read_file(args.area).to_crs(4326).geometry.union_all()
        return Points.grid(args.grid, polygon=shape)
    if args.bbox is None:
        raise ValueError("--grid needs --bbox W,S,E,N or --area FILE")
    return Points.grid(args.grid, parse_bbox(args.bbox))


def job_from(args: argparse.Namespace, origins: Points) -> Job:
    from planner.analysis.frames import stop_points
    from planner.analysis.jobs import Job
    from planner.analysis.network import NetworkSpec, open_network
    from planner.analysis.points import Points
    from planner.analysis.request import StudyRequest, parse_modes

    day = args.date or date.today()
    h, mnt = args.departure
    request = StudyRequest(
        departure=datetime.combine(day, datetime.min.time()).replace(hour=h % 24, minute=mnt),
        time_window=args.window, percentiles=args.percentiles,
        max_trip_duration=args.max_duration, max_rides=args.max_rides,
        mode=parse_modes(args.mode), mode_egress=args.mode_egress.upper(),
        walk_speed=args.walk_speed, bike_speed=args.bike_speed,
        max_walk_time=args.max_walk_time, max_bike_time=args.max_bike_time,
        max_car_time=args.max_car_time, min_mean=getattr(args, "min_mean", False),
        share_cutoffs=getattr(args, "share_under", ()))
    if h >= 24:
        raise ValueError("departure: give a time of --date before 24:00")
    spec = NetworkSpec(tuple(p.resolve() for p in args.feeds), day, options_from(args),
                       args.osm.resolve() if args.osm else None,
                       (args.cache_dir or DEFAULT_CACHE_DIR).resolve())
    if args.kind == "accessibility":
        dest: Points = Points.read(args.opportunities, args.id_column)
    elif args.destinations is not None:
        dest = Points.read(args.destinations, args.id_column)
    elif args.kind == "isochrones":
        dest = stop_points(open_network(spec, progress=not args.no_progress))
    else:
        dest = origins
    return Job(args.kind, spec, request, dest, getattr(args, "cutoffs", ()),
               getattr(args, "weight", None))


def write(frame: pd.DataFrame, out: Path, kind: str) -> None:
    from planner.analysis.frames import to_geo

    suffix = out.suffix.lower()
    if kind == "isochrones":
        geo = to_geo(frame)
        if suffix == ".parquet":
            geo.to_parquet(out, index=False)
        else:
            geo.to_file(out, driver="GPKG" if suffix == ".gpkg" else "GeoJSON")
        return
    if suffix == ".csv":
        frame.to_csv(out, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        raise ValueError(f"--out must end in .parquet or .csv, got {out}")


def _check_out(out: Path, kind: str, distributed: bool) -> None:
    ok = (".geojson", ".gpkg", ".parquet") if kind == "isochrones" else (".parquet", ".csv")
    if out.suffix.lower() not in ok and not (distributed and out.suffix == ""):
        raise ValueError(f"--out of {kind} must end in one of {', '.join(ok)}, got {out}")


def cmd_study(args: argparse.Namespace) -> int:
    from planner.analysis.distributed import client_for, read_partitions, run_distributed
    from planner.analysis.jobs import run
    from planner.analysis.network import open_network

    try:
        distributed = bool(args.dask or args.workers)
        _check_out(args.out, args.kind, distributed)
        origins = origins_from(args)
        job = job_from(args, origins)
        progress = not args.no_progress
        if distributed:
            open_network(job.network, progress=progress)  # compile into the cache once
            assembled = args.out.suffix.lower() in (".csv", ".geojson", ".gpkg")
            parts_dir = args.out.with_suffix(".parts") if assembled else args.out
            with client_for(args.dask, args.workers) as client:
                parts = run_distributed(client, job, origins, parts_dir, args.chunk_size,
                                        progress)
            if assembled:
                write(read_partitions(parts_dir), args.out, args.kind)
            print(f"{len(origins)} origins, {len(parts)} partitions -> {parts_dir}")
            return 0
        open_network(job.network, progress=progress)
        frame = run(job, origins, args.chunk_size, progress)
    except ValueError as exc:
        print(f"owl-planner: error: {exc}", file=sys.stderr)
        return 2
    write(frame, args.out, args.kind)
    print(f"{len(origins)} origins, {len(frame)} rows -> {args.out}")
    return 0
