"""``owl-planner serve`` and ``owl-planner update`` (added to the planner's CLI by api.cli)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from api.settings import load_settings, to_env
from feeds.config import DEFAULT_CONFIG, FeedConfigError
from planner.commands.args import add_timetable_args


def cmd_serve(args: argparse.Namespace) -> int:
    # Imported here, not for a cycle: the server stack (uvicorn, FastAPI, the app's
    # modules, the GTFS reader the store checks feeds with) costs ~0.4 s and ~150 MB
    # that compile/route/update would pay for nothing.
    import uvicorn

    from api.sharing import gbfs_sources
    from api.store import TimetableStore

    overrides: dict[str, object] = {
        "feeds": tuple(str(p) for p in args.feeds) or None,
        "date": args.date,
        "footpath_radius": args.footpath_radius,
        "footpath_max_walk": args.footpath_max_walk,
        "min_change_time": args.min_change_time,
        "walk_speed_kmh": args.walk_speed,
        "data_dir": str(args.data_dir) if args.data_dir else None,
        "cache_dir": str(args.cache_dir) if args.cache_dir else None,
        "redis_url": args.redis_url,
        "gbfs_max_age": args.gbfs_max_age,
        "gbfs_epoch": args.gbfs_epoch,
        "gtfs_rt_max_age": args.gtfs_rt_max_age,
        "gtfs_rt_epoch": args.gtfs_rt_epoch,
    }
    settings = load_settings(env=None, config=args.config, **overrides)
    if args.gbfs:  # in addition to OWL_GBFS and the enabled [[gbfs]] entries
        settings = replace(settings, gbfs=tuple(dict.fromkeys(settings.gbfs + tuple(args.gbfs))))
    if args.gtfs_rt:  # in addition to OWL_GTFS_RT and the enabled [[gtfs_rt]] entries
        settings = replace(settings, gtfs_rt=tuple(dict.fromkeys(settings.gtfs_rt
                                                                 + tuple(args.gtfs_rt))))
    if args.osm:  # in addition to OWL_OSM
        osm = tuple(str(p.resolve()) for p in args.osm)
        settings = replace(settings, osm=tuple(dict.fromkeys(settings.osm + osm)))
    missing = [p for p in settings.osm if not Path(p).is_file()]
    if missing:
        print(f"owl-planner: OSM extract not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    # Workers are separate processes that build the app from the environment.
    os.environ.update(to_env(settings))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Fail early, in this process, on feeds that do not exist.
    store = TimetableStore(settings)
    day, note = store.default_day()
    sharing = gbfs_sources(settings)
    if sharing:
        print("owl-planner: shared mobility (GBFS): "
              + ", ".join(f"{s.name}" if s.name == s.url else f"{s.name} ({s.url})"
                          for s in sharing), file=sys.stderr)
    if settings.osm:
        print("owl-planner: street graph for shared mobility from "
              + ", ".join(settings.osm)
              + ("" if sharing else " (not loaded: no GBFS feed configured)"), file=sys.stderr)
    print(f"owl-planner: serving {', '.join(str(p) for p in store.feedset.paths)} "
          f"on http://{args.host}:{args.port} (docs at /docs); default day {day}"
          + (f" ({note})" if note else ""), file=sys.stderr)
    # What uvicorn itself bounds (docs/PRODUCTION.md: what the reverse proxy must add):
    # request heads beyond max_header_bytes are refused (httptools with the bound of
    # uvicorn's h11 parser, api.http_protocol: h11 cost ~0.2 ms per request more),
    # connections beyond max_connections get 503. The access log is off unless asked
    # for (--access-log): one log record per request is CPU the proxy's log already spends.
    from api.http_protocol import PROTOCOL

    server = {"host": args.host, "port": args.port, "log_level": args.log_level,
              "access_log": args.access_log,
              "http": PROTOCOL, "h11_max_incomplete_event_size": settings.max_header_bytes,
              "limit_concurrency": settings.max_connections,
              "timeout_keep_alive": settings.keep_alive_timeout,
              "forwarded_allow_ips": ",".join(settings.trusted_proxies) or None}
    if args.workers > 1:
        uvicorn.run("api.app:create_app", factory=True, workers=args.workers, **server)
    else:
        from api.app import create_app  # see above: only serve needs the app

        uvicorn.run(create_app(settings), **server)
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from api.update import UpdateError, load_config, run_update  # see cmd_serve

    try:
        config = load_config(args.config or DEFAULT_CONFIG)
    except FeedConfigError as exc:
        print(f"owl-planner: error: {exc}", file=sys.stderr)
        return 2
    try:
        result = run_update(config, Path(args.data_dir), only=args.only, force=args.force,
                            day=args.date, compile_check=not args.no_compile,
                            cache_dir=args.cache_dir)
    except UpdateError as exc:
        print(f"owl-planner: update failed, keeping the last good version: {exc}",
              file=sys.stderr)
        return 1
    print(f"owl-planner: published {result.version} "
          f"({', '.join(f'{k}: {v}' for k, v in result.summary.items())})")
    return 0


def add_api_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the HTTP API (uvicorn)")
    add_timetable_args(p, feeds_required=False)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1,
                   help="uvicorn worker processes (settings travel via OWL_* variables)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="serve what `owl-planner update` published there (and follow updates)")
    p.add_argument("--redis-url", default=None, help="share the plan cache (default: $REDIS_URL)")
    p.add_argument("--config", type=Path, default=None, help="TOML settings ([server] table)")
    p.add_argument("--gbfs", action="append", default=[], metavar="URL",
                   help="GBFS manifest (gbfs.json) of a sharing system, repeatable; besides "
                        "$OWL_GBFS and the enabled [[gbfs]] entries of config/feeds.toml")
    p.add_argument("--gbfs-max-age", type=float, default=None, metavar="S",
                   help="live GBFS state older than this is not offered (default 900)")
    p.add_argument("--gbfs-epoch", type=float, default=None, metavar="UNIX",
                   help="start the GBFS clock at this time (replay archived feeds)")
    p.add_argument("--osm", action="append", type=Path, default=[], metavar="PATH",
                   help="OpenStreetMap extract (.osm.pbf), repeatable: street times and paths "
                        "for shared bikes/scooters/cars and the walks to them (loaded in the "
                        "background; straight-line until then); besides $OWL_OSM")
    p.add_argument("--gtfs-rt", action="append", default=[], metavar="[FEED=]URL_OR_FILE",
                   help="GTFS-Realtime feed (TripUpdates, alerts, vehicle positions; protobuf "
                        "or JSON), repeatable; FEED names the static feed whose ids it uses "
                        "(optional with one feed); besides $OWL_GTFS_RT and [[gtfs_rt]]")
    p.add_argument("--gtfs-rt-max-age", type=float, default=None, metavar="S",
                   help="realtime data older than this is dropped (default 300)")
    p.add_argument("--gtfs-rt-epoch", type=float, default=None, metavar="UNIX",
                   help="start the realtime clock at this time (replay archived feeds)")
    p.add_argument("--log-level", default="info")
    p.add_argument("--access-log", action="store_true",
                   help="log every request (uvicorn's access log; off by default, the "
                        "reverse proxy logs them: docs/PRODUCTION.md)")
    p.set_defaults(func=cmd_serve)

    u = sub.add_parser("update", help="download, validate, clip, compile and publish the feeds")
    u.add_argument("--config", type=Path, default=None,
                   help=f"feed configuration (default {DEFAULT_CONFIG.relative_to(Path.cwd())})"
                        if DEFAULT_CONFIG.is_relative_to(Path.cwd())
                        else f"feed configuration (default {DEFAULT_CONFIG})")
    u.add_argument("--data-dir", type=Path, default=Path("data/published"))
    u.add_argument("--only", action="append", default=None, metavar="NAME",
                   help="update only this source (repeatable)")
    u.add_argument("--force", action="store_true", help="ignore ETag/Last-Modified")
    u.add_argument("--date", default=None, help="service day for the compile check")
    u.add_argument("--no-compile", action="store_true", help="skip the compile check")
    u.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                   help="compiled timetables of the check (default: $OWL_CACHE_DIR)")
    u.set_defaults(func=cmd_update)
