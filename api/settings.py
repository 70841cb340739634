"""Server settings: defaults, then an optional TOML file, then ``OWL_*`` environment variables.

Environment variables win so that ``uvicorn --factory --workers N`` processes, which get
no command line of their own, see exactly what ``owl-planner serve`` decided.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from feeds.config import DEFAULT_CONFIG, load_feed_config, read_toml
from feeds.demo import DEMO_FEED
from planner.timetable.disk_cache import DEFAULT_CACHE_DIR
from planner.timetable.options import DEFAULT_CHANGE_TIME, DEFAULT_FOOTPATH_MAX_WALK


@dataclass(frozen=True)
class Settings:
    #: GTFS zips/folders served; empty means "the published data in data_dir", else the demo.
    feeds: tuple[str, ...] = ()
    #: Directory ``owl-planner update`` publishes to (holds the ``current`` pointer).
    data_dir: str = ""
    #: Service day used when a request names no time ("now"); None: today, or nearest valid.
    date: date | None = None
    #: Compiled timetables on disk (relative to the working directory).
    cache_dir: str = str(DEFAULT_CACHE_DIR)
    footpath_radius: float = 200.0
    #: Longest walk (s) the footpath closure chains links into; 0: no bound.
    footpath_max_walk: int = DEFAULT_FOOTPATH_MAX_WALK
    #: Change time (s) at stops without a transfers.txt rule; 0: change in no time.
    min_change_time: int = DEFAULT_CHANGE_TIME
    walk_speed_kmh: float = 4.5
    redis_url: str = ""
    cache_size: int = 2048  # in-process LRU entries
    cache_mb: float = 256.0  # ... and their bytes (a HART plan with geometry is ~130 KB)
    cache_ttl: int = 3600  # seconds; Redis entries expire too
    #: Service days kept prepared in memory: at most this many, and while their arrays
    #: (memory-mapped from the disk cache) stay within timetable_memory_mb. Loading a day
    #: from the disk cache takes tens of ms; with 3 days, queries over random days ran 6x
    #: slower (issue 16).
    timetable_days: int = 62
    timetable_memory_mb: float = 2048.0
    #: Seconds a request waits for a day that must be compiled; then 503 + Retry-After
    #: while the compile goes on in the background (the default day is prepared at start).
    compile_wait: float = 5.0
    #: Prepare the default day at start-up (off: the first request does, as a cold start).
    warm_start: bool = True
    cors_origins: tuple[str, ...] = ("*",)
    search_deadline: float = 5.0  # seconds per request before 503
    search_threads: int = 4
    #: Searches admitted at once, running or waiting for a thread (0: 4 per thread);
    #: beyond, 503 with Retry-After at once (api.limits.SearchGate).
    search_queue: int = 0
    #: Searches one client may have admitted at once (0: half the threads, at least 1).
    client_searches: int = 0
    #: Requests per minute per client on /api/ (0: no limit), with bursts of client_burst.
    #: Off by default: the reverse proxy limits rates (docs/deploy/nginx.conf); this is
    #: for a deployment without one. Concurrent searches per client are always bounded.
    client_rate_per_minute: float = 0.0
    client_burst: float = 60.0
    #: Peers whose X-Forwarded-For names the client (the reverse proxy in front).
    trusted_proxies: tuple[str, ...] = ()
    #: Search-size budget of one plan (api.limits.request_cost; 0: none): 5 by default
    #: parameters, 240 for a 6 h window x 10 itineraries x 1 h walks.
    max_request_cost: float = 120.0
    #: Plans above this cost run in their own lane of heavy_threads threads, one per
    #: client at a time (the default plan costs 5).
    heavy_cost: float = 20.0
    heavy_threads: int = 1
    #: uvicorn: bytes of one request's headers, open connections, idle keep-alive seconds.
    max_header_bytes: int = 32 * 1024
    max_connections: int = 1000
    keep_alive_timeout: float = 5.0
    max_search_window: int = 6 * 3600
    max_itineraries: int = 10
    max_stoptimes: int = 100
    #: MOTIS's limits: ``many`` places of one-to-many, ``maxTravelTime`` of one-to-all.
    max_one_to_many: int = 128
    max_one_to_all_minutes: int = 90
    max_walk_seconds: int = 3600
    stale_after: float = 7 * 86400.0  # data older than this is marked stale in health
    reload_interval: float = 10.0  # seconds between checks of the published pointer
    admin_token: str = ""  # enables POST /api/v1/admin/reload when set
    #: Extra GBFS manifest URLs (gbfs.json), besides the enabled ``[[gbfs]]`` entries of
    #: ``gbfs_config``. No feed at all: no refresher runs and rental modes answer 400.
    gbfs: tuple[str, ...] = ()
    #: TOML with ``[[gbfs]]`` entries (name, url, enabled, resolve); "" reads none.
    gbfs_config: str = str(DEFAULT_CONFIG)
    #: TOML with ``[[town]]`` entries for the widget's data-town (api/towns.py); "none": none.
    towns_config: str = str(DEFAULT_CONFIG)
    #: Raster tiles under every widget's map (a ``{z}/{x}/{y}`` URL template, Web Mercator;
    #: a town's own ``tiles`` win); "" draws the map without tiles. The attribution is
    #: required with tiles and shown on the map; the pages' CSP allows this host.
    map_tiles: str = ""
    map_tile_attribution: str = ""
    gbfs_max_age: float = 900.0  # seconds: older live state is not offered (and warned)
    gbfs_min_interval: float = 15.0  # seconds between refreshes of a feed, whatever its ttl
    gbfs_timeout: float = 10.0  # seconds per GBFS request
    #: How listed file URLs are resolved (feeds.gbfs.Resolve): auto, manifest or listed.
    gbfs_resolve: str = "auto"
    #: Unix seconds the GBFS clock reads at start-up; it then advances with real time.
    #: 0 = wall clock. Replays archived feeds (e.g. the 2023 TIER snapshot) as current.
    gbfs_epoch: float = 0.0
    #: OpenStreetMap extracts (.osm.pbf) for street times and paths: walks to and from
    #: stops, rental options, own bikes and cars, and the place index. Loaded once in the
    #: background; until then, and without any, the straight-line model is used. Empty:
    #: the enabled ``[[osm]]`` entries of ``gbfs_config`` (:func:`osm_extracts`).
    osm: tuple[str, ...] = ()
    #: GTFS-Realtime feeds as ``[FEED=]URL_OR_FILE`` (FEED: the static feed whose ids they
    #: use; may be left out when one feed is served), besides the enabled ``[[gtfs_rt]]``
    #: entries of ``gbfs_config`` (the same feeds.toml).
    gtfs_rt: tuple[str, ...] = ()
    gtfs_rt_max_age: float = 300.0  # seconds: older realtime data is dropped (schedule)
    gtfs_rt_interval: float = 30.0  # seconds between polls of a --gtfs-rt feed
    #: Unix seconds the realtime clock reads at start-up (replays archived feeds); 0: wall.
    gtfs_rt_epoch: float = 0.0
    #: With ``redis_url``: seconds the fetcher's Redis lease lasts unrenewed (another
    #: process takes over fetching this long after the fetcher dies).
    gtfs_rt_lease: float = 10.0

    def feed_paths(self) -> list[Path]:
        return [Path(f) for f in self.feeds]


_ENV: dict[str, str] = {
    "feeds": "OWL_FEEDS",
    "data_dir": "OWL_DATA_DIR",
    "date": "OWL_DATE",
    "cache_dir": "OWL_CACHE_DIR",
    "footpath_radius": "OWL_FOOTPATH_RADIUS",
    "footpath_max_walk": "OWL_FOOTPATH_MAX_WALK",
    "min_change_time": "OWL_MIN_CHANGE_TIME",
    "walk_speed_kmh": "OWL_WALK_SPEED",
    "redis_url": "REDIS_URL",
    "cache_size": "OWL_CACHE_SIZE",
    "cache_ttl": "OWL_CACHE_TTL",
    "cache_mb": "OWL_CACHE_MB",
    "timetable_days": "OWL_TIMETABLE_DAYS",
    "timetable_memory_mb": "OWL_TIMETABLE_MEMORY_MB",
    "compile_wait": "OWL_COMPILE_WAIT",
    "warm_start": "OWL_WARM_START",
    "cors_origins": "OWL_CORS_ORIGINS",
    "search_deadline": "OWL_SEARCH_DEADLINE",
    "search_threads": "OWL_SEARCH_THREADS",
    "search_queue": "OWL_SEARCH_QUEUE",
    "client_searches": "OWL_CLIENT_SEARCHES",
    "client_rate_per_minute": "OWL_CLIENT_RATE_PER_MINUTE",
    "client_burst": "OWL_CLIENT_BURST",
    "trusted_proxies": "OWL_TRUSTED_PROXIES",
    "max_request_cost": "OWL_MAX_REQUEST_COST",
    "heavy_cost": "OWL_HEAVY_COST",
    "heavy_threads": "OWL_HEAVY_THREADS",
    "max_header_bytes": "OWL_MAX_HEADER_BYTES",
    "max_connections": "OWL_MAX_CONNECTIONS",
    "keep_alive_timeout": "OWL_KEEP_ALIVE_TIMEOUT",
    "max_search_window": "OWL_MAX_SEARCH_WINDOW",
    "max_itineraries": "OWL_MAX_ITINERARIES",
    "max_stoptimes": "OWL_MAX_STOPTIMES",
    "max_one_to_many": "OWL_MAX_ONE_TO_MANY",
    "max_one_to_all_minutes": "OWL_MAX_ONE_TO_ALL_MINUTES",
    "max_walk_seconds": "OWL_MAX_WALK_SECONDS",
    "stale_after": "OWL_STALE_AFTER",
    "reload_interval": "OWL_RELOAD_INTERVAL",
    "admin_token": "OWL_ADMIN_TOKEN",
    "gbfs": "OWL_GBFS",
    "gbfs_config": "OWL_GBFS_CONFIG",
    "towns_config": "OWL_TOWNS_CONFIG",
    "map_tiles": "OWL_MAP_TILES",
    "map_tile_attribution": "OWL_MAP_TILE_ATTRIBUTION",
    "gbfs_max_age": "OWL_GBFS_MAX_AGE",
    "gbfs_min_interval": "OWL_GBFS_MIN_INTERVAL",
    "gbfs_timeout": "OWL_GBFS_TIMEOUT",
    "gbfs_resolve": "OWL_GBFS_RESOLVE",
    "gbfs_epoch": "OWL_GBFS_EPOCH",
    "osm": "OWL_OSM",
    "gtfs_rt": "OWL_GTFS_RT",
    "gtfs_rt_max_age": "OWL_GTFS_RT_MAX_AGE",
    "gtfs_rt_interval": "OWL_GTFS_RT_INTERVAL",
    "gtfs_rt_epoch": "OWL_GTFS_RT_EPOCH",
    "gtfs_rt_lease": "OWL_GTFS_RT_LEASE",
}
CONFIG_ENV = "OWL_CONFIG"


def _coerce(name: str, raw: object) -> object:
    """Turn a TOML value or an environment string into the field's type."""
    default = getattr(Settings(), name)
    if name == "date":
        if raw in (None, ""):
            return None
        return raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    if isinstance(default, tuple):
        if isinstance(raw, list | tuple):
            return tuple(str(x) for x in raw)
        sep = os.pathsep if name == "feeds" else ","
        return tuple(x.strip() for x in str(raw).split(sep) if x.strip())
    if isinstance(default, bool):
        return str(raw).lower() in ("1", "true", "yes", "on")
    if isinstance(default, int | float):
        if not isinstance(raw, str | int | float):
            raise ValueError(f"{name}: expected a number, got {raw!r}")
        return int(raw) if isinstance(default, int) else float(raw)
    return str(raw)


def load_settings(
    env: dict[str, str] | None = None, config: Path | None = None, **overrides: object
) -> Settings:
    """Defaults < config file ([server] table of TOML) < environment < explicit overrides."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}  # field name -> value coerced to that field's type
    path = config or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if path is not None:
        data = read_toml(path)
        table = data.get("server", data)
        names = {f.name for f in fields(Settings)}
        for key, value in table.items():
            if key in names:
                values[key] = _coerce(key, value)
    for name, var in _ENV.items():
        if var in env and env[var] != "":
            try:
                values[name] = _coerce(name, env[var])
            except ValueError as exc:
                raise ValueError(f"environment variable {var}: {exc}") from None
    values.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None})
    return replace(Settings(), **values)


def to_env(settings: Settings) -> dict[str, str]:
    """The environment that makes :func:`load_settings` return ``settings`` (for workers)."""
    out: dict[str, str] = {}
    for name, var in _ENV.items():
        value = getattr(settings, name)
        if value is None:
            continue
        if name == "gbfs_config" and not value:
            out[var] = "none"  # "" in the environment would mean "default"
        elif isinstance(value, tuple):
            sep = os.pathsep if name == "feeds" else ","
            out[var] = sep.join(value)
        elif isinstance(value, date):
            out[var] = value.isoformat()
        else:
            out[var] = str(value)
    return out


DEFAULT_FEEDS: tuple[str, ...] = (str(DEMO_FEED),)


def osm_extracts(settings: Settings) -> tuple[str, ...]:
    """The OSM extracts to load: ``osm`` (``--osm``/``OWL_OSM``) when given, else the
    enabled ``[[osm]]`` entries of ``gbfs_config`` (a missing file: none; a broken one
    raises :class:`~feeds.config.FeedConfigError` naming the file and key)."""
    if settings.osm:
        return tuple(settings.osm)
    path = settings.gbfs_config
    if not path or path.lower() == "none":
        return ()
    try:
        return load_feed_config(path).enabled_osm
    except FileNotFoundError:
        return ()
