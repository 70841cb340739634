"""Which timetable answers a request: one compiled timetable per service day, kept in an LRU.

A :class:`FeedSet` is one published version of the input feeds (fixed paths from the
command line, or whatever the ``current`` pointer written by ``owl-planner update``
names). Swapping the feed set is a single reference assignment: requests already running
keep the timetable object they hold, new requests see the new version.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from api.settings import DEFAULT_FEEDS, Settings
from api.shapes import ShapeStore
from feeds.gtfs import agency_timezone, load_feeds
from planner.multimodal.geometry import PointIndex
from planner.places.search import Geocoder, PlaceSearch, StopSearch, Town
from planner.realtime.live import RealtimeVersion
from planner.routing.modes import line_modes
from planner.routing.router import Router
from planner.timetable.compile import CompileOptions, OutOfRangeError, check_day, feed_date_ranges
from planner.timetable.disk_cache import cached, load_or_compile
from planner.timetable.model import StopLookup, Timetable, plain_arrays

log = logging.getLogger(__name__)
POINTER = "current"


@dataclass
class FeedSet:
    """One version of the input feeds."""

    paths: list[Path]
    version: str  # publication id, or "static" for fixed paths
    published_at: float  # unix seconds; feed file mtime for fixed paths
    sources: dict[str, dict[str, object]] = field(default_factory=dict)  # from the pointer
    ranges: dict[str, tuple[str, str]] | None = None  # feed -> service range, once known
    zone: str | None = None  # IANA zone of local times, once known (agency.txt, compile)

    @cached_property
    def shapes(self) -> ShapeStore:
        """Shapes of these feeds (they do not depend on the service day), read lazily."""
        return ShapeStore(self.paths)

    def describe_range(self) -> str:
        if not self.ranges:
            return "unknown"
        return ", ".join(f"{f}: {lo} to {hi}" for f, (lo, hi) in self.ranges.items())

    def overall_range(self) -> tuple[date, date] | None:
        if not self.ranges:
            return None
        los = [date.fromisoformat(lo) for lo, _ in self.ranges.values()]
        his = [date.fromisoformat(hi) for _, hi in self.ranges.values()]
        return min(los), max(his)


def read_pointer(data_dir: Path) -> FeedSet | None:
    """The feed set named by ``data_dir/current`` (JSON written by ``owl-planner update``)."""
    pointer = data_dir / POINTER
    try:
        meta = json.loads(pointer.read_text())
    except FileNotFoundError:
        return None
    base = pointer.parent
    paths = [(base / p).resolve() for p in meta["feeds"]]
    return FeedSet(paths=paths, version=str(meta["version"]),
                   published_at=float(meta.get("published_at", pointer.stat().st_mtime)),
                   sources=dict(meta.get("sources", {})))


def static_feedset(paths: list[Path]) -> FeedSet:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"feed not found: {', '.join(missing)}")
    mtime = max(p.stat().st_mtime for p in paths)
    return FeedSet(paths=paths, version="static", published_at=mtime)


class Prepared:
    """A timetable plus what the API derives from it once (indexes, lookups)."""

    def __init__(self, tt: Timetable, feedset: FeedSet) -> None:
        self.tt = tt = plain_arrays(tt)
        self.feedset = feedset
        self.version = tt.version
        self.stop_index = PointIndex(tt.stop_lat, tt.stop_lon)
        self.stops = StopLookup(tt.stop_ids)
        self._search: StopSearch | None = None
        self._geocoder: Geocoder | None = None
        self._lock = threading.Lock()
        parent = np.asarray(tt.stop_parent)
        self.children: dict[int, list[int]] = {}
        for child in np.nonzero(parent >= 0)[0]:
            self.children.setdefault(int(parent[child]), []).append(int(child))
        self.zone = ZoneInfo(tt.timezone)
        #: Response pieces that only depend on the timetable, built once per value.
        self.place_cache: dict[int, dict[str, object]] = {}
        self.iso_cache: dict[int, str] = {}
        #: UTC offset of each POSIX hour seen (``api.common.iso_local``).
        self.iso_hours: dict[int, tuple[int, str] | None] = {}
        #: ``place_cache`` as API versions without ``level`` send them (v6 on).
        self.level_free_places: dict[int, dict[str, object]] = {}
        #: A leg's trip, line and agency fields, and its trip's first and last stop, by
        #: (trip, ...) and API version.
        self.trip_fields_cache: dict[tuple[int, int], dict[str, Any]] = {}
        self.trip_end_cache: dict[tuple[int, bool, int], Any] = {}  # orjson.Fragment
        #: JSON of an intermediate stop visit up to its ``cancelled`` value, by (stop,
        #: pickup, dropoff, level unset): the visit's place and stop types, written once.
        self.visit_heads: dict[tuple[int, int, int, bool], str] = {}
        self.geometry_cache: dict[tuple, tuple] = {}  # legs, and shape matches per pattern
        #: The routing engines of this timetable (shared by the search threads).
        self.router = Router(tt)
        #: Mode of each line, for the route masks of ``transitModes``.
        self.line_modes = line_modes(tt)
        #: ``route_mask`` by ``transitModes`` (a plan asked for it per request).
        self.route_masks: dict[tuple[str, ...], np.ndarray | None] = {}
        #: The realtime version this timetable is (None: the static schedule), and the
        #: static Prepared it derives from.
        self.realtime: RealtimeVersion | None = None
        self.schedule: Prepared | None = None

    def prebuild(self) -> None:
        """Build what the router would build on the first plan (Trip-Based's reduced
        transfers: ~0.3 s on HART, memory-mapped from the disk cache after the first
        process), before the day is served, so that no request pays for it."""
        self.router.prebuild()

    @cached_property
    def nbytes(self) -> int:
        """Bytes of the timetable's arrays, memory-mapped or not (what the day may keep
        resident): the measure of the store's memory budget."""
        return sum(v.nbytes for v in vars(self.tt).values() if isinstance(v, np.ndarray))

    @property
    def search(self) -> StopSearch:
        if self._search is None:
            with self._lock:
                if self._search is None:
                    self._search = StopSearch(self.tt)
        return self._search

    def geocoder(self, places: PlaceSearch | None, towns: tuple[Town, ...]) -> Geocoder:
        """This timetable's stops with ``places`` (kept while the places stay the same, so
        each stop's town is looked up once)."""
        g = self._geocoder
        if g is None or g.places is not places or g.towns != towns:
            g = self._geocoder = Geocoder(self.search, places, towns)
        return g

    def group(self, stop: int) -> list[int]:
        """The stop, its platforms, and (for a platform) its parent's other platforms."""
        parent = int(self.tt.stop_parent[stop])
        root = parent if parent >= 0 else stop
        return [root, *self.children.get(root, [])]

    def resolve_stop(self, stop_id: str) -> int:
        """Index of a feed-scoped stop id; an unscoped id is accepted when unambiguous."""
        return self.stops.resolve(stop_id)


class DayCompiling(Exception):
    """A day's timetable is being compiled; ask again in ``retry_after`` seconds."""

    def __init__(self, day: date, retry_after: float) -> None:
        super().__init__(f"the timetable for {day.isoformat()} is being prepared")
        self.day = day
        self.retry_after = retry_after


class TimetableStore:
    """Compiled timetables per service day (LRU), over the current feed set."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.options = CompileOptions(footpath_radius=settings.footpath_radius,
                                      walk_speed_kmh=settings.walk_speed_kmh,
                                      default_change_time=settings.min_change_time,
                                      footpath_max_walk=settings.footpath_max_walk)
        self._days: OrderedDict[tuple[str, date], Prepared] = OrderedDict()
        self._day_locks: dict[tuple[str, date], threading.Lock] = {}
        #: Compiles run here, one at a time, so that they never hold a search thread.
        self._compiler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="owl-compile")
        self._compiles: dict[tuple[str, date], Future[Timetable]] = {}
        self._compile_seconds = 10.0  # the last compile's duration: the retry estimate
        self._lock = threading.Lock()
        self._last_check = 0.0
        self._pointer_mtime = 0.0
        self.swaps = 0
        self.on_swap: list = []
        self.feedset = self._initial_feedset()

    # --- feed sets ------------------------------------------------------------------
    def _initial_feedset(self) -> FeedSet:
        s = self.settings
        if s.feeds:
            return static_feedset(s.feed_paths())
        if s.data_dir:
            fs = read_pointer(Path(s.data_dir))
            if fs is not None:
                self._pointer_mtime = (Path(s.data_dir) / POINTER).stat().st_mtime
                return fs
            log.warning("no published data in %s yet; serving the demo feed", s.data_dir)
        return static_feedset([Path(p) for p in DEFAULT_FEEDS])

    def check_for_update(self, force: bool = False) -> bool:
        """Adopt a newly published feed set (at most every ``reload_interval`` seconds)."""
        s = self.settings
        if not s.data_dir:
            return False
        now = time.monotonic()
        if not force and now - self._last_check < s.reload_interval:
            return False
        self._last_check = now
        pointer = Path(s.data_dir) / POINTER
        try:
            mtime = pointer.stat().st_mtime
        except FileNotFoundError:
            return False
        if not force and mtime == self._pointer_mtime:
            return False
        try:
            fs = read_pointer(Path(s.data_dir))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("published pointer %s unreadable (%s); keeping %s", pointer, exc,
                        self.feedset.version)
            return False
        self._pointer_mtime = mtime
        if fs is None or fs.version == self.feedset.version:
            return False
        self.swap(fs)
        return True

    def swap(self, fs: FeedSet) -> None:
        """Switch to a new feed set: one assignment; old timetables stay with their users."""
        with self._lock:
            old = self.feedset.version
            self.feedset = fs
            self._days.clear()
            self.swaps += 1
        log.warning("timetable data switched from %s to %s", old, fs.version)
        for callback in self.on_swap:
            callback()

    # --- days ---------------------------------------------------------------------------
    def ranges(self) -> dict[str, tuple[str, str]]:
        """Service ranges of the current feeds (read from the feeds once if not known)."""
        fs = self.feedset
        if fs.ranges is None:
            fs.ranges = feed_date_ranges(load_feeds(fs.paths))
        return fs.ranges

    def check_day(self, day: date) -> None:
        check_day(day, self.ranges())

    def default_day(self) -> tuple[date, str]:
        """The day "now" refers to and a note when it is not today."""
        if self.settings.date is not None:
            return self.settings.date, f"fixed by configuration to {self.settings.date}"
        today = datetime.now(ZoneInfo(self.timezone())).date()
        rng = self.feedset.overall_range() or self._range_from_feeds()
        lo, hi = rng
        if lo <= today <= hi:
            return today, ""
        nearest = lo if today < lo else hi
        return nearest, (f"today ({today}) is outside the timetable's validity "
                         f"({lo} to {hi}); requests without a time use {nearest}")

    def _range_from_feeds(self) -> tuple[date, date]:
        self.ranges()
        rng = self.feedset.overall_range()
        assert rng is not None
        return rng

    def timezone(self) -> str:
        """The zone of the current feeds' local times: the first agency's, as the compiled
        timetable will have it. Known before any compile, so that the first request's
        local time is not read in the compiler's default zone."""
        fs = self.feedset
        if fs.zone is None:
            fs.zone = agency_timezone(fs.paths) or self.options.default_timezone
        return fs.zone

    def get(self, day: date, wait: float | None = None) -> Prepared:
        """The prepared timetable for ``day``; raises OutOfRangeError naming the range.

        From memory, else from the disk cache (a memory map, tens of ms), else compiled on
        the store's own compile thread, never a search thread: the caller waits at most
        ``wait`` seconds (``compile_wait`` by default), then gets :class:`DayCompiling`
        with a retry time while the compile goes on."""
        self.check_for_update()
        fs = self.feedset
        if fs.ranges is not None:
            check_day(day, fs.ranges)  # cheap: no feed read for days we know are invalid
        key = (fs.version, day)
        with self._lock:
            hit = self._days.get(key)
            if hit is not None:
                self._days.move_to_end(key)
                return hit
            day_lock = self._day_locks.setdefault(key, threading.Lock())
        with day_lock:  # one load per day, however many requests ask for it
            with self._lock:
                hit = self._days.get(key)
            if hit is not None:
                return hit
            tt = cached(fs.paths, day, self.options, cache_dir=Path(self.settings.cache_dir))
            if tt is None:
                tt = self._compiled(fs, day, self.settings.compile_wait if wait is None
                                    else wait)
            prepared = Prepared(tt, fs)
            prepared.prebuild()
            return self._keep(fs, key, prepared)

    def warm(self) -> None:
        """Prepare the default day however long it takes (at start-up, so that the first
        request does not wait for a compile); a day that cannot be prepared is logged and
        left to the requests, which say why."""
        try:
            day, _ = self.default_day()
            self.get(day, wait=math.inf)
        except Exception as exc:  # the server still starts and answers with the reason
            log.warning("default day not prepared at start: %s", exc)

    def _compiled(self, fs: FeedSet, day: date, wait: float) -> Timetable:
        key = (fs.version, day)
        with self._lock:
            job = self._compiles.get(key)
            if job is None:
                job = self._compiler.submit(self._compile, fs, day)
                self._compiles[key] = job
                job.add_done_callback(lambda _: self._compiles.pop(key, None))
        try:
            return job.result(timeout=None if math.isinf(wait) else wait)
        except FutureTimeout:
            raise DayCompiling(day, self._compile_seconds) from None
        except OutOfRangeError:
            if fs.ranges is None:
                self.ranges()
            raise

    def _compile(self, fs: FeedSet, day: date) -> Timetable:
        started = time.monotonic()
        tt = load_or_compile(fs.paths, day, self.options, cache_dir=Path(self.settings.cache_dir))
        self._compile_seconds = time.monotonic() - started
        return tt

    def _keep(self, fs: FeedSet, key: tuple[str, date], prepared: Prepared) -> Prepared:
        """Remember a prepared day; the least recently used go while the days held exceed
        ``timetable_memory_mb`` (their arrays, mapped or not) or ``timetable_days``."""
        if fs.ranges is None:
            fs.ranges = dict(prepared.tt.feed_ranges)
        fs.zone = prepared.tt.timezone
        budget = self.settings.timetable_memory_mb * 1024 * 1024
        with self._lock:
            if self.feedset is fs:
                self._days[key] = prepared
                while len(self._days) > 1 and (
                        len(self._days) > max(1, self.settings.timetable_days)
                        or sum(p.nbytes for p in self._days.values()) > budget):
                    self._days.popitem(last=False)
            self._day_locks.pop(key, None)
        return prepared

    def loaded_days(self) -> list[str]:
        return [d.isoformat() for (_, d) in list(self._days)]

    def loaded(self) -> dict[str, Prepared]:
        """The prepared timetables in memory, by ISO day."""
        return {d.isoformat(): p for (_, d), p in list(self._days.items())}


def feed_ages(fs: FeedSet, now: float | None = None) -> dict[str, float]:
    """Seconds since each input file was written (published, for updated feeds)."""
    now = time.time() if now is None else now
    out: dict[str, float] = {}
    for p in fs.paths:
        try:
            out[p.name] = round(now - p.stat().st_mtime, 1)
        except OSError:
            continue
    return out


def day_of(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


