"""Shared bikes, scooters and cars for the API: the configured GBFS feeds, kept fresh.

* Feeds come from the enabled ``[[gbfs]]`` entries of ``gbfs_config`` plus the URLs in
  ``gbfs`` (``OWL_GBFS`` / ``owl-planner serve --gbfs URL``). None configured: no thread,
  nothing fetched, rental modes are refused with 400 (the widget then plans without them).
* One refresher thread calls each feed's ``refresh(now)`` when its earliest file is due
  (its own ``ttl``, or the error back-off), but not more often than ``gbfs_min_interval``:
  TIER publishes ``ttl: 0``. ``GbfsFeed`` is synchronous (httpx.Client), so a thread keeps
  the event loop free without wrapping every call.
* With ``REDIS_URL`` the raw payloads go through :class:`~feeds.gbfs.RedisStateStore`:
  every worker runs a refresher, but adopts a newer copy another worker stored instead of
  fetching it again.
* Street times: the straight-line model until the OSM extracts (``osm``: ``OWL_OSM`` /
  ``serve --osm PATH``, else the ``osm`` key of ``config/feeds.toml``) are loaded, once,
  by a background thread started at start-up, with or without GBFS feeds: plans walk to
  and from their stops on the walk graph, as MOTIS and OTP do wherever they have OSM.
  Then one :class:`~planner.multimodal.streets.Streets` with a graph per mode serves the
  plans and every timetable's :class:`~planner.multimodal.rentals.RentalPlanner`.
  Planners are rebuilt when the model changes, and the model's state is part of
  :meth:`SharingManager.state_token` (and of every plan's cache key while an extract is
  configured), so plans cached while it loaded are not served after. A failed load keeps
  the straight line and shows in health.
* The GBFS clock is :attr:`SharingManager.clock` (unix seconds). ``gbfs_epoch`` starts it
  at a fixed moment and lets it run with real time, so archived snapshots (the 2023 TIER
  Wolfsburg files) count as current; tests may also replace ``clock`` on the runtime.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from api.settings import Settings, osm_extracts
from api.store import Prepared
from feeds.config import RESOLVE_MODES, GbfsSource, load_feed_config
from feeds.gbfs import GbfsFeed, GbfsSnapshot, MemoryStateStore, RedisStateStore, StateStore
from planner.multimodal.rentals import RentalPlanner
from planner.multimodal.streets import StraightLine, Streets

log = logging.getLogger(__name__)


def gbfs_sources(settings: Settings) -> list[GbfsSource]:
    """Enabled ``[[gbfs]]`` entries of the config file, then the extra URLs (named by
    themselves), deduplicated; ``resolve`` is always set (default ``gbfs_resolve``)."""
    out: list[GbfsSource] = []
    path = settings.gbfs_config
    if path and path.lower() != "none":
        try:
            entries = load_feed_config(path).enabled_gbfs
        except FileNotFoundError:
            entries = ()
            log.warning("GBFS config %s not found; only OWL_GBFS feeds are used", path)
        out += [replace(e, resolve=e.resolve or settings.gbfs_resolve) for e in entries]
    out += [GbfsSource(url, url, resolve=settings.gbfs_resolve) for url in settings.gbfs]
    seen: set[str] = set()
    unique = []
    for src in out:
        if src.resolve not in RESOLVE_MODES:
            raise ValueError(f"GBFS feed {src.name}: resolve must be one of {RESOLVE_MODES}")
        if src.url not in seen:
            seen.add(src.url)
            unique.append(src)
    return unique


def make_clock(epoch: float) -> Callable[[], float]:
    """Wall clock, or one that reads ``epoch`` now and runs at real speed from there."""
    if not epoch:
        return time.time
    start = time.monotonic()
    return lambda: epoch + (time.monotonic() - start)


def iso_utc(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()


class SharingManager:
    """The GBFS feeds of one API process, their refresher and per-timetable planners."""

    def __init__(self, settings: Settings, clock: Callable[[], float] | None = None) -> None:
        self.settings = settings
        self.sources = gbfs_sources(settings)
        self.clock: Callable[[], float] = clock or make_clock(settings.gbfs_epoch)
        self.store: StateStore | None = None
        self.feeds: list[GbfsFeed] = []
        if self.sources:
            self.store = (RedisStateStore(settings.redis_url) if settings.redis_url
                          else MemoryStateStore())
            self.feeds = [GbfsFeed(src.url, timeout=settings.gbfs_timeout,
                                   max_age=settings.gbfs_max_age,
                                   resolve=src.resolve,  # type: ignore[arg-type]
                                   store=self.store, system_key=src.name)
                          for src in self.sources]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: Street model of the rental planners: straight line at the server's walking
        #: speed, replaced by the OSM graphs once loaded.
        self.model = StraightLine(speeds_kmh={**StraightLine().speeds_kmh,
                                              "walk": settings.walk_speed_kmh})
        self.streets = Streets(model=self.model)
        self.osm_paths: tuple[str, ...] = osm_extracts(settings)
        self.streets_status = "loading" if self.osm_paths else "straight-line"
        self.streets_error: str | None = None
        self.streets_seconds: float | None = None
        #: Set once the street model is final (loaded, failed, or nothing to load).
        self.streets_ready = threading.Event()
        if self.streets_status != "loading":
            self.streets_ready.set()
        self._osm_thread: threading.Thread | None = None
        self._planners: WeakKeyDictionary[Prepared, RentalPlanner] = WeakKeyDictionary()

    @property
    def enabled(self) -> bool:
        return bool(self.feeds)

    def now(self) -> float:
        return float(self.clock())

    # --- refreshing ---------------------------------------------------------------------
    def refresh(self, feed: GbfsFeed) -> list[str]:
        try:
            return feed.refresh(self.now())
        except Exception:  # a bug in one feed must not end the refresher
            log.exception("GBFS %s: refresh failed", feed.system_key)
            return []

    def refresh_all(self) -> None:
        for feed in self.feeds:
            self.refresh(feed)

    def due_in(self, feed: GbfsFeed) -> float:
        """Seconds (GBFS clock) until the feed's earliest file is due, at least
        ``gbfs_min_interval`` and at most five minutes."""
        now = self.now()
        due = []
        for st in list(feed.files.values()):
            if st.last_error_at is not None:
                due.append(st.last_error_at + feed.error_backoff)
            elif st.fetched_at is not None:
                due.append(st.fetched_at + st.ttl)
            else:
                due.append(now)
        wait = min(due, default=now) - now
        return min(300.0, max(self.settings.gbfs_min_interval, wait))

    def start(self) -> None:
        """Start the refresher thread (with GBFS feeds) and the OSM load (with an
        extract)."""
        if self.feeds and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="owl-gbfs", daemon=True)
            self._thread.start()
        if self.osm_paths and self._osm_thread is None and not self.streets_ready.is_set():
            self._osm_thread = threading.Thread(target=self.load_streets, name="owl-osm",
                                                daemon=True)
            self._osm_thread.start()

    def load_streets(self) -> None:
        """Build the street graphs of ``osm`` (seconds to a minute for a city) and switch
        the planners to them; on failure keep the straight line and report the error."""
        started = time.monotonic()
        try:
            streets = Streets.from_osm(self.osm_paths, model=self.model)
        except Exception as exc:  # a broken extract must not take the server down
            log.exception("OSM %s: street graph not loaded", ", ".join(self.osm_paths))
            self.streets_error = f"{type(exc).__name__}: {exc}"
            self.streets_status = "failed"
        else:
            with self._lock:
                self.streets = streets
            self.streets_status = "osm"
            log.info("OSM street graph ready in %.1f s: %s", time.monotonic() - started,
                     ", ".join(f"{m} {g.n_nodes} nodes" for m, g in streets.graphs.items()))
        self.streets_seconds = round(time.monotonic() - started, 2)
        self.streets_ready.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None

    def _run(self) -> None:
        next_at = [0.0] * len(self.feeds)
        while not self._stop.is_set():
            for i, feed in enumerate(self.feeds):
                if self._stop.is_set():
                    return
                if time.monotonic() >= next_at[i]:
                    self.refresh(feed)
                    next_at[i] = time.monotonic() + self.due_in(feed)
            self._stop.wait(max(0.05, min(next_at) - time.monotonic()))

    # --- requests -----------------------------------------------------------------------
    def known_providers(self) -> dict[str, str | None]:
        """Accepted ``rentalProviders`` values -> system id (None: not loaded yet)."""
        out: dict[str, str | None] = {}
        for src, feed in zip(self.sources, self.feeds, strict=True):
            system = feed.system
            sid = system.system_id if system is not None else None
            out[src.name] = sid
            if sid is not None:
                out[sid] = sid
        return out

    def snapshots(self) -> list[GbfsSnapshot]:
        """Every feed's state, frozen: what one request plans with."""
        return [feed.snapshot() for feed in self.feeds]

    def state_token(self, snapshots: list[GbfsSnapshot] | None = None) -> str:
        """Changes whenever a feed's data or its staleness changes: part of the cache key
        of plans with rental modes, so they are cached only as long as the data holds.
        Given the snapshots a plan is made from, the key names exactly that data."""
        now = self.now()
        parts = []
        for snap in self.snapshots() if snapshots is None else snapshots:
            parts.append(f"{snap.system_key}:{list(snap.state_version)}:"
                         f"{snap.is_stale(None, now)}")
        parts.append(f"streets:{self.streets_status}")
        return "|".join(parts)

    def planner_for(self, prepared: Prepared) -> RentalPlanner:
        """One rental planner per timetable (stop KD-tree, snapshot cache) on the current
        street model, walking at the server's speed like the API's own walks.

        Kept here, weakly keyed by the prepared timetable, not patched onto it: the store
        owns its timetables, and a planner goes when the store drops its timetable."""
        with self._lock:
            streets = self.streets
            planner = self._planners.get(prepared)
            if planner is None or planner.streets is not streets:
                planner = RentalPlanner(prepared.tt, streets)
                self._planners[prepared] = planner
        return planner

    def streets_health(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.streets_status}
        if self.osm_paths:
            out["osm"] = list(self.osm_paths)
        graphs = self.streets.graphs
        if graphs:
            out["graphs"] = {m: {"nodes": g.n_nodes, "edges": int(g.matrix.nnz)}
                             for m, g in graphs.items()}
        if self.streets_seconds is not None:
            out["loadSeconds"] = self.streets_seconds
        if self.streets_error:
            out["error"] = self.streets_error
        return out

    # --- health -------------------------------------------------------------------------
    def health(self) -> list[dict[str, Any]]:
        now = self.now()
        out = []
        for src, feed in zip(self.sources, self.feeds, strict=True):
            system = feed.system
            last = feed.last_success
            stale = feed.is_stale(None, now)
            out.append({
                "name": src.name,
                "url": src.url,
                "systemId": system.system_id if system is not None else None,
                "systemName": system.name if system is not None else None,
                "lastSuccess": iso_utc(last),
                "ageSeconds": None if last is None else round(now - last, 1),
                "lastError": feed.last_error,
                "skippedRecords": feed.skipped,
                "stale": stale,
                "maxAgeSeconds": feed.max_age,
                "vehicles": 0 if stale else len(feed.usable_vehicles(now)),
                "stations": 0 if stale else len(feed.usable_stations(now)),
                **({"attribution": src.attribution} if src.attribution else {}),
            })
        return out

    def close(self) -> None:
        self.stop()
        for feed in self.feeds:
            feed.close()
