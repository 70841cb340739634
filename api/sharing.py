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
* The GBFS clock is :attr:`SharingManager.clock` (unix seconds). ``gbfs_epoch`` starts it
  at a fixed moment and lets it run with real time, so archived snapshots (the 2023 TIER
  Wolfsburg files) count as current; tests may also replace ``clock`` on the runtime.
"""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feeds.gbfs import GbfsFeed, MemoryStateStore, RedisStateStore, StateStore
from planner.rental import RentalPlanner
from planner.streets import StraightLine, Streets

log = logging.getLogger(__name__)

RESOLVE_MODES = ("auto", "manifest", "listed")


@dataclass(frozen=True)
class GbfsSource:
    name: str  # config name, or the URL for feeds given on the command line
    url: str
    resolve: str = "auto"
    attribution: str = ""


def gbfs_sources(settings: Any) -> list[GbfsSource]:
    """Enabled ``[[gbfs]]`` entries of the config file, then the extra URLs (deduplicated)."""
    out: list[GbfsSource] = []
    path = settings.gbfs_config
    if path and path.lower() != "none":
        try:
            entries = tomllib.loads(Path(path).read_text()).get("gbfs", [])
        except FileNotFoundError:
            entries = []
            log.warning("GBFS config %s not found; only OWL_GBFS feeds are used", path)
        for e in entries:
            if not e.get("enabled", True) or not e.get("url"):
                continue
            out.append(GbfsSource(str(e.get("name") or e["url"]), str(e["url"]),
                                  str(e.get("resolve") or settings.gbfs_resolve),
                                  str(e.get("attribution") or "")))
    out += [GbfsSource(url, url, settings.gbfs_resolve) for url in settings.gbfs]
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

    def __init__(self, settings: Any, clock: Callable[[], float] | None = None) -> None:
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
        """Start the refresher thread (nothing to do without feeds)."""
        if not self.feeds or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="owl-gbfs", daemon=True)
        self._thread.start()

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

    def state_token(self) -> str:
        """Changes whenever a feed's data or its staleness changes: part of the cache key
        of plans with rental modes, so they are cached only as long as the data holds."""
        now = self.now()
        parts = []
        for feed in self.feeds:
            files = sorted((n, st.last_success) for n, st in list(feed.files.items()))
            parts.append(f"{feed.system_key}:{files}:{feed.is_stale(None, now)}")
        return "|".join(parts)

    def planner_for(self, prepared: Any) -> RentalPlanner:
        """One rental planner per timetable (stop KD-tree, snapshot cache), walking at the
        server's speed like the API's own walks."""
        planner = getattr(prepared, "rental_planner", None)
        if planner is None:
            with self._lock:
                planner = getattr(prepared, "rental_planner", None)
                if planner is None:
                    model = StraightLine(speeds_kmh={
                        **StraightLine().speeds_kmh, "walk": self.settings.walk_speed_kmh})
                    planner = RentalPlanner(prepared.tt, Streets(model=model))
                    prepared.rental_planner = planner
        return planner

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
