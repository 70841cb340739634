"""The server's GTFS-Realtime: feeds polled in the background, one realtime version per
loaded service day, handed to requests through :meth:`RealtimeService.prepared`.

Feeds come from ``--gtfs-rt [FEED=]URL_OR_FILE`` / ``OWL_GTFS_RT`` and the enabled
``[[gtfs_rt]]`` entries of the feed configuration. Each change of what the feeds offer
(a new message, or a feed turning stale) bumps a generation; a day's realtime
:class:`~api.store.Prepared` is rebuilt once per generation (by the poller for loaded
days, else by the first request) and swapped in one assignment. Its ``version`` is the
patched timetable's, so plan cache entries are keyed by the realtime version and a cached
plan never hides a cancellation. Without feeds every call returns the static timetable.

With ``REDIS_URL`` the serving processes (uvicorn workers, other hosts) share the feeds
(:mod:`feeds.realtime.bus`): the process holding the Redis lease fetches and publishes
each accepted message, and every process merges the same messages into its own feeds and
builds its own versions from them. While Redis is unreachable a process keeps the last
version it applied (turning stale after ``max_age`` like any feed) and does not fetch.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from api.settings import Settings
from api.store import Prepared, TimetableStore
from feeds.config import load_feed_config
from feeds.gtfs import scoped_names, stop_sequences
from feeds.realtime.bus import BusEntry, FeedBus
from feeds.realtime.fetch import FetchOptions, is_url
from feeds.realtime.messages import Alert
from feeds.realtime.state import RealtimeFeed
from planner.realtime.live import LiveTimetable, RealtimeVersion
from planner.routing.journeys import TransitLeg

log = logging.getLogger(__name__)


def parse_spec(spec: str, scopes: list[str]) -> tuple[str, str]:
    """``[FEED=]URL_OR_FILE`` to (static scope, location); FEED may be left out when one
    static feed is served. ValueError names the problem."""
    head, sep, tail = spec.partition("=")
    if sep and not is_url(spec) and "/" not in head and ":" not in head:
        scope, location = head, tail
    elif sep and is_url(spec) and head in scopes:
        scope, location = head, tail
    else:
        if len(scopes) != 1:
            raise ValueError(f"GTFS-RT feed {spec!r}: name its static feed as FEED=... "
                             f"(one of {', '.join(scopes)})")
        scope, location = scopes[0], spec
    if scope not in scopes:
        raise ValueError(f"GTFS-RT feed {spec!r}: static feed {scope!r} is not served "
                         f"(served: {', '.join(scopes)})")
    return scope, location


def configured_feeds(settings: Settings, scopes: list[str]) -> list[RealtimeFeed]:
    """The realtime feeds of the settings and the feed configuration."""
    options = FetchOptions(timeout=10.0, deadline=30.0, retries=2)
    feeds = [RealtimeFeed.at(location, scope, location, max_age=settings.gtfs_rt_max_age,
                             interval=settings.gtfs_rt_interval, options=options)
             for scope, location in (parse_spec(s, scopes) for s in settings.gtfs_rt)]
    config = Path(settings.gbfs_config) if settings.gbfs_config else None
    if config is not None and config.is_file():
        for entry in load_feed_config(config).enabled_gtfs_rt:
            if entry.feed not in scopes:
                log.warning("GTFS-RT feed %s: static feed %r is not served; ignored",
                            entry.name, entry.feed)
                continue
            feeds.append(RealtimeFeed.at(entry.name, entry.feed, entry.url,
                                         max_age=entry.max_age, interval=entry.interval,
                                         options=options))
    return feeds


class RealtimeService:
    """Polls the feeds and keeps the realtime version of every loaded day."""

    def __init__(self, settings: Settings, store: TimetableStore) -> None:
        self.settings = settings
        self.store = store
        self.feeds = configured_feeds(settings, scoped_names(store.feedset.paths))
        self._epoch = settings.gtfs_rt_epoch
        self._started = time.time()
        self.generation = 0
        self._stale: tuple[bool, ...] = ()
        self._lock = threading.Lock()
        self._live: dict[str, LiveTimetable] = {}  # static version -> its live timetable
        self._built: dict[str, tuple[int, Prepared]] = {}  # static version -> (gen, rt)
        self._sequences: tuple[str, dict[str, Any]] | None = None
        self._stop = threading.Event()
        self._due: dict[int, float] = {}  # feed number -> monotonic time of its next poll
        self._thread: threading.Thread | None = None
        #: shared through Redis: the lease, the stream, where we are in it
        self.bus = (FeedBus(settings.redis_url, lease_seconds=settings.gtfs_rt_lease)
                    if settings.redis_url and self.feeds else None)
        self.fetcher = self.bus is None  # this process fetches (holds the lease)
        self._bus_last: str | None = None  # last stream id merged (None: catch up first)
        self._own: set[str] = set()  # stream ids this process published (merged already)
        self._bus_error: str | None = None
        #: feed name -> the stream id of the last message it merged (the content key)
        self._feed_entry: dict[str, str] = {}
        self._local = 0  # messages merged here but not published (Redis down)

    @property
    def enabled(self) -> bool:
        return bool(self.feeds)

    def now(self) -> float:
        """The realtime clock (``gtfs_rt_epoch`` replays archived feeds as current)."""
        if self._epoch:
            return self._epoch + (time.time() - self._started)
        return time.time()

    # --- polling ------------------------------------------------------------------------
    def poll_once(self, force: bool = False, due_only: bool = False) -> bool:
        """Poll every feed once (``due_only``: those whose interval has passed); True when
        what they offer changed (a new generation)."""
        return self._bump(self._poll_feeds(force, due_only))

    def _poll_feeds(self, force: bool, due_only: bool) -> bool:
        """Poll (and publish what they accept); True when a feed merged a message."""
        now = self.now()
        changed = False
        for i, feed in enumerate(self.feeds):
            mono = time.monotonic()
            if due_only and mono < self._due.get(i, 0.0):
                continue
            self._due[i] = mono + feed.interval
            data = feed.poll_bytes(now, force=force)
            if data is not None:
                changed = True
                self._publish(feed, data, now)
        return changed

    def _bump(self, changed: bool) -> bool:
        """A new generation when what the feeds offer changed or one turned stale."""
        stale = tuple(f.is_stale(self.now()) for f in self.feeds)
        if changed or stale != self._stale:
            self._stale = stale
            with self._lock:
                self.generation += 1
            return True
        return False

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        if self.bus is None:
            self.poll_once()
        else:  # serve what the others applied from the first answer on
            self._shared_step(block_ms=0)
        self._thread = threading.Thread(target=self._run, name="owl-gtfs-rt", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.bus is not None and self.fetcher:
            try:
                self.bus.release_lease()  # the next process takes over at once
            except Exception as exc:
                log.warning("GTFS-RT: could not hand back the fetcher lease: %s", exc)

    def _tick(self) -> float:
        tick = max(0.1, min(f.interval for f in self.feeds) / 4)
        if self.bus is not None:  # renew the lease well before it expires
            tick = min(tick, self.bus.lease_ms / 3000)
        return tick

    def _run(self) -> None:
        tick = self._tick()
        while not self._stop.is_set():
            try:
                if self.bus is None:
                    if self._stop.wait(tick):
                        break
                    changed = self.poll_once(due_only=True)
                else:  # waits on the stream up to a tick
                    changed = self._shared_step(block_ms=int(tick * 1000))
                if changed:
                    for prepared in self.store.loaded().values():
                        self.prepared(prepared)
            except Exception:  # a bug must not end the poller; the last version stays
                log.exception("GTFS-RT poll failed")
                self._stop.wait(tick)

    # --- shared through Redis --------------------------------------------------------------
    def _shared_step(self, block_ms: int) -> bool:
        """One round with Redis: hold or try the lease, fetch and publish if ours, merge
        what the stream brings; True for a new generation. Redis down: the feeds keep
        their state (turning stale in time) and nobody here fetches."""
        assert self.bus is not None
        changed = False
        try:
            if self._bus_last is None:
                entries, last = self.bus.catch_up()
                changed |= self._merge_entries(entries)
                self._bus_last = last
            self.fetcher = self.bus.hold_lease()
            if self.fetcher:
                changed |= self._poll_feeds(force=False, due_only=True)
            entries = self.bus.read(self._bus_last, 0 if changed else block_ms)
            changed |= self._merge_entries(entries)
            if self._bus_error is not None:
                log.warning("GTFS-RT: Redis at %s is back", self.bus.url)
                self._bus_error = None
        except Exception as exc:  # any redis/socket failure: keep the last version
            self._bus_failed(exc)
            self._stop.wait(block_ms / 1000)
        return self._bump(changed)

    def _content_key(self, now: float) -> str | None:
        """With Redis, the same name in every process for the same feed states: the
        stream ids merged and which feeds are stale (plan cache keys are shared)."""
        if self.bus is None:
            return None
        parts = [f"{f.name}={self._feed_entry.get(f.name, '')}:{int(f.is_stale(now))}"
                 for f in self.feeds]
        return "s" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]

    def _merge_entries(self, entries: list[BusEntry]) -> bool:
        by_name = {f.name: f for f in self.feeds}
        changed = False
        for e in entries:
            self._bus_last = e.id
            if e.id in self._own:
                self._own.discard(e.id)  # merged when fetched
                continue
            feed = by_name.get(e.feed)
            if feed is None:
                log.warning("GTFS-RT: stream entry %s of unknown feed %r ignored",
                            e.id, e.feed)
                continue
            if feed.accept(e.data, e.received):
                self._feed_entry[feed.name] = e.id
                changed = True
        return changed

    def _publish(self, feed: RealtimeFeed, data: bytes, received: float) -> None:
        if self.bus is None:
            return
        try:
            entry = self.bus.publish(feed.name, data, received, feed.full)
        except Exception as exc:  # merged here; the others get the next message
            self._local += 1
            self._feed_entry[feed.name] = f"local:{self.bus.token}:{self._local}"
            self._bus_failed(exc)
            return
        self._own.add(entry)
        self._feed_entry[feed.name] = entry

    def _bus_failed(self, exc: Exception) -> None:
        first = self._bus_error is None
        self._bus_error = f"{type(exc).__name__}: {exc}"
        self.fetcher = False  # without Redis we cannot know we still hold the lease
        if first:
            assert self.bus is not None
            log.warning("GTFS-RT: Redis at %s unavailable, keeping the last realtime "
                        "version: %s", self.bus.url, self._bus_error)

    # --- versions ------------------------------------------------------------------------
    def prepared(self, static: Prepared) -> Prepared:
        """The realtime timetable of ``static``'s day (``static`` itself without feeds)."""
        if not self.enabled:
            return static
        key = static.version
        built = self._built.get(key)
        if built is not None and built[0] == self.generation:
            return built[1]
        with self._lock:
            built = self._built.get(key)
            generation = self.generation
            if built is not None and built[0] == generation:
                return built[1]
            live = self._live.get(key)
            if live is None:
                live = self._live[key] = LiveTimetable(static.tt, self._stop_sequences())
                self._live = {k: v for k, v in self._live.items()
                              if k in self._loaded_versions() | {key}}
            now = self.now()
            version = live.refresh(self.feeds, now, self._content_key(now))
            prepared = Prepared(version.tt, static.feedset)
            prepared.realtime, prepared.schedule = version, static
            # Trip-Based for this version too: the schedule's transfers if it changed
            # nothing they depend on, else built in the background (RAPTOR meanwhile)
            prepared.router.prepare_tripbased(static.router)
            self._built = {k: v for k, v in self._built.items() if k in self._live}
            self._built[key] = (generation, prepared)
            return prepared

    def _loaded_versions(self) -> set[str]:
        return {p.version for p in self.store.loaded().values()}

    def _stop_sequences(self) -> dict[str, Any]:
        fs = self.store.feedset
        if self._sequences is None or self._sequences[0] != fs.version:
            self._sequences = (fs.version, stop_sequences(fs.paths))
        return self._sequences[1]

    # --- reporting -----------------------------------------------------------------------
    def warnings(self) -> list[str]:
        now = self.now()
        return [w for f in self.feeds if (w := f.warning(now)) is not None]

    def health(self) -> dict[str, Any]:
        now = self.now()
        days = {}
        for day, prepared in self.store.loaded().items():
            built = self._built.get(prepared.version)
            if built is None or built[1].realtime is None:
                continue
            v = built[1].realtime
            info = v.tt.extra.get("realtime", {})
            days[day] = {"version": v.version, "number": v.number,
                         "applySeconds": round(v.apply_seconds, 4),
                         "skipped": v.skips.as_dict(),
                         **(info if isinstance(info, dict) else {})}
        out = {"feeds": [f.status(now) for f in self.feeds], "generation": self.generation,
               "days": days, "clock": now}
        if self.bus is not None:
            out["shared"] = self.shared_status()
        return out

    def shared_status(self) -> dict[str, Any]:
        """For health: whether this process fetches, who does, where in the stream."""
        assert self.bus is not None
        try:
            holder = self.bus.holder()
        except Exception as exc:
            self._bus_failed(exc)
            holder = None
        return {"redis": True, "available": self._bus_error is None,
                "lastError": self._bus_error, "fetcher": self.fetcher, "self": self.bus.token,
                "holder": holder, "lastEntry": self._bus_last}


# --- rendering helpers (MOTIS's realtime fields) ---------------------------------------------


def _text(translations: dict[str, str]) -> str:
    """The English text if there is one, else the first."""
    for lang in ("en", "en-US", "en-GB", ""):
        if lang in translations:
            return translations[lang]
    return next(iter(translations.values()), "")


def render_alert(alert: Alert) -> dict[str, Any]:
    """A GTFS-RT alert as MOTIS's ``Alert``."""
    out: dict[str, Any] = {"headerText": _text(alert.header),
                           "descriptionText": _text(alert.description),
                           "cause": alert.cause, "effect": alert.effect,
                           "severityLevel": alert.severity}
    if alert.url:
        out["url"] = _text(alert.url)
    if alert.active_periods:  # MOTIS's TimeRange: a missing bound is unbounded
        out["impactPeriod"] = [
            {k: datetime.fromtimestamp(v, UTC).isoformat().replace("+00:00", "Z")
             for k, v in (("start", a), ("end", b)) if v is not None}
            for a, b in alert.active_periods]
    return out


def _active(alert: Alert, moment: float) -> bool:
    return not alert.active_periods or any(
        (a is None or a <= moment) and (b is None or moment <= b)
        for a, b in alert.active_periods)


def leg_alerts(version: RealtimeVersion | None, trip_id: str, route_id: str,
               stop_ids: list[str], moment: float) -> list[dict[str, Any]]:
    """Alerts active at ``moment`` (POSIX) informing the leg's trip, route, one of its
    stops, or the whole agency of its feed (ids feed-scoped as in the timetable)."""
    if version is None or not version.alerts:
        return []
    stops = set(stop_ids)
    out = []
    for scope, alert in version.alerts:
        if not _active(alert, moment):
            continue
        for e in alert.informed:
            if ((e.trip_id and f"{scope}:{e.trip_id}" == trip_id)
                    or (e.route_id and f"{scope}:{e.route_id}" == route_id)
                    or (e.stop_id and f"{scope}:{e.stop_id}" in stops)
                    or (e.agency_id and not (e.trip_id or e.route_id or e.stop_id)
                        and trip_id.startswith(f"{scope}:"))):
                out.append(render_alert(alert))
                break
    return out


def stop_alerts(version: RealtimeVersion | None, stop_id: str, moment: float
                ) -> list[dict[str, Any]]:
    """Alerts active at ``moment`` that inform the stop itself (a ``Place``'s alerts)."""
    if version is None or not version.alerts:
        return []
    return [render_alert(alert) for scope, alert in version.alerts
            if _active(alert, moment)
            and any(e.stop_id and f"{scope}:{e.stop_id}" == stop_id
                    and not (e.trip_id or e.route_id) for e in alert.informed)]


class LegTimes:
    """A transit leg's scheduled times per stop and realtime state, for rendering: on a
    realtime version the leg's trip is looked up in the static timetable it came from."""

    def __init__(self, version: RealtimeVersion | None, leg: TransitLeg) -> None:
        n = len(leg.stops)
        self.realtime = False
        self.scheduled_trip = True  # false for a trip the realtime feed added
        self._skipped: list[bool] = [False] * n
        #: The times are the schedule's (no realtime version applied): ``scheduled`` is
        #: the leg's own times (then not copied: the renderer reads the leg's).
        self.from_schedule = True
        if version is None or version.applied is None:
            return
        self.scheduled: list[tuple[int, int]] = [(v.arrival, v.departure) for v in leg.stops]
        self.from_schedule = False
        origin = int(version.applied.trip_origin[leg.trip])
        if origin < 0:
            self.realtime, self.scheduled_trip = True, False
            return
        static, tt = version.static, version.tt
        self.realtime = origin in version.applied.updated
        base = int(static.trip_st_offset[origin]) + leg.board_pos
        self.scheduled = [(int(static.st_arr[base + k]), int(static.st_dep[base + k]))
                          for k in range(n)]
        s_pos = int(static.route_stop_offset[static.trip_route[origin]]) + leg.board_pos
        r_pos = int(tt.route_stop_offset[leg.route]) + leg.board_pos
        self._skipped = [bool((static.route_pickup[s_pos + k] or static.route_dropoff[s_pos + k])
                              and not (tt.route_pickup[r_pos + k] or tt.route_dropoff[r_pos + k]))
                         for k in range(n)]

    @property
    def skipped_stops(self) -> list[bool]:
        """Per stop of the leg: served by the schedule but skipped today."""
        return self._skipped

    def skipped(self, k: int) -> bool:
        """Stop ``k`` of the leg is served by the schedule but skipped today."""
        return self._skipped[k]


def scheduled_at(version: RealtimeVersion | None, trip: int, pos: int
                 ) -> tuple[int, int, bool] | None:
    """(scheduled arrival, scheduled departure, skipped today) of route position ``pos``
    of trip ``trip`` of a realtime version; None on the static timetable or for a trip
    the feed added (no schedule)."""
    if version is None or version.applied is None:
        return None
    origin = int(version.applied.trip_origin[trip])
    if origin < 0:
        return None
    static, tt = version.static, version.tt
    row = int(static.trip_st_offset[origin]) + pos
    s_pos = int(static.route_stop_offset[static.trip_route[origin]]) + pos
    r_pos = int(tt.route_stop_offset[tt.trip_route[trip]]) + pos
    skipped = bool((static.route_pickup[s_pos] or static.route_dropoff[s_pos])
                   and not (tt.route_pickup[r_pos] or tt.route_dropoff[r_pos]))
    return int(static.st_arr[row]), int(static.st_dep[row]), skipped


def trip_is_realtime(version: RealtimeVersion | None, trip: int) -> bool:
    """The trip has realtime data (updated or added by a feed)."""
    if version is None or version.applied is None:
        return False
    origin = int(version.applied.trip_origin[trip])
    return origin < 0 or origin in version.applied.updated


def cancelled_run(prepared: Prepared, gtfs_id: str, day: date | None
                  ) -> tuple[Prepared, int] | None:
    """(the static timetable, its trip) when a realtime feed cancelled the run of GTFS
    trip ``gtfs_id`` (feed-scoped) on ``day``; None when it runs or there is no feed."""
    v = prepared.realtime
    if v is None or v.applied is None or day is None or day not in v.static.dates:
        return None
    static = v.static
    hits = np.flatnonzero(np.asarray(static.gtfs_trip_ids) == gtfs_id)
    if len(hits) == 0:
        return None
    runs = np.flatnonzero((np.asarray(static.trip_gtfs) == int(hits[0]))
                          & (np.asarray(static.trip_day) == static.dates.index(day)))
    for trip in runs.tolist():
        if trip in v.applied.cancelled:
            return prepared.schedule or Prepared(static, prepared.feedset), int(trip)
    return None
