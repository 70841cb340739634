"""The timetable version queries run on: the static schedule plus the current realtime
updates, replaced as a whole.

A :class:`RealtimeVersion` is immutable and :class:`LiveTimetable` swaps its reference
in one assignment, so a query that took a version keeps seeing that version to its end,
and a new one is visible to the next query. The static timetable is always kept beside
it (``realtime=false`` answers, and the base of the next version).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from feeds.realtime.messages import Alert, TripUpdate, VehiclePosition
from feeds.realtime.skips import Skips
from feeds.realtime.state import FeedContent, RealtimeFeed
from planner.realtime.apply import Applied, apply_patches, route_patterns
from planner.realtime.index import StaticIndex
from planner.realtime.match import Matcher
from planner.timetable.integrity import check_structure
from planner.timetable.model import Timetable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RealtimeVersion:
    """One consistent state: the timetable to route on and what it was made from."""

    number: int  # 0: the schedule alone
    tt: Timetable
    static: Timetable
    applied: Applied | None = None
    skips: Skips = field(default_factory=Skips)
    alerts: tuple[tuple[str, Alert], ...] = ()  # (static feed scope, alert)
    vehicles: tuple[tuple[str, VehiclePosition], ...] = ()
    created: float = 0.0
    apply_seconds: float = 0.0

    @property
    def version(self) -> str:
        """Cache key part: changes with every realtime version."""
        return self.tt.version

    @property
    def realtime(self) -> bool:
        return self.applied is not None

    def trip_origin(self) -> np.ndarray:
        """Per trip of :attr:`tt`, the static trip it is (-1: added)."""
        if self.applied is None:
            return np.arange(self.tt.n_trips)
        return self.applied.trip_origin


class LiveTimetable:
    """The current :class:`RealtimeVersion` over one static timetable."""

    def __init__(self, static: Timetable,
                 stop_sequences: dict[str, np.ndarray] | None = None) -> None:
        self.static = static
        self.index = StaticIndex(static, stop_sequences)
        self.matcher = Matcher(self.index)
        self.patterns = route_patterns(static)
        self._number = 0
        self._lock = threading.Lock()  # one builder at a time; readers never wait
        self.current = RealtimeVersion(0, static, static, created=time.time())

    def apply(self, contents: Sequence[tuple[str, FeedContent]], now: float | None = None,
              key: str | None = None) -> RealtimeVersion:
        """Build a version from every feed's content ((static scope, content) pairs) and
        make it current. A build that fails its structural check leaves the current one.
        ``key`` names the content (processes that share feeds give equal content equal
        version strings, so a shared plan cache stays right); else a running number."""
        started = time.perf_counter()
        now = time.time() if now is None else now
        updates: list[tuple[str, TripUpdate]] = [(scope, tu) for scope, c in contents
                                                 for tu in c.trip_updates]
        with self._lock:
            self._number += 1
            number = self._number
            patches = self.matcher.match(updates, now)
            version = f"{self.static.version}+rt{key or number}"
            applied = apply_patches(self.static, patches, version, self.patterns)
            check_structure(applied.tt)
            built = RealtimeVersion(
                number, applied.tt, self.static, applied, patches.skips,
                tuple((s, a) for s, c in contents for a in c.alerts),
                tuple((s, v) for s, c in contents for v in c.vehicles), time.time(),
                time.perf_counter() - started)
            self.current = built  # the swap: one reference assignment
        log.info("realtime version %d: %d trips updated, %d cancelled, %d added, %d "
                 "entities skipped (%.0f ms)", number, len(applied.updated),
                 len(applied.cancelled), applied.added, patches.skips.total,
                 built.apply_seconds * 1000)
        return built

    def refresh(self, feeds: Sequence[RealtimeFeed], now: float | None = None,
                key: str | None = None) -> RealtimeVersion:
        """Apply what the feeds offer now (a stale feed offers nothing: its trips are
        back on the schedule)."""
        return self.apply([(f.static_feed, f.content(now)) for f in feeds], now, key)
