"""The current state of one GTFS-Realtime feed, across FULL_DATASET and DIFFERENTIAL
messages, with its age.

A ``FULL_DATASET`` message replaces everything; a ``DIFFERENTIAL`` one adds or replaces
entities by id and removes those it marks deleted. A message that does not parse (or
cannot be fetched) changes nothing: the last good state stays, and the error is kept for
health. A feed whose last good message is older than ``max_age`` is *stale*: it offers
nothing (its trips fall back to the schedule) and says so in :meth:`RealtimeFeed.status`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from feeds.realtime.fetch import FeedSource, FetchError, FetchOptions
from feeds.realtime.messages import (
    DIFFERENTIAL,
    Alert,
    FeedError,
    FeedMessage,
    TripUpdate,
    VehiclePosition,
    parse_feed,
)
from feeds.realtime.skips import Skips

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedContent:
    """What a feed offers right now (empty when stale); immutable, shared freely."""

    trip_updates: tuple[TripUpdate, ...] = ()
    alerts: tuple[Alert, ...] = ()
    vehicles: tuple[VehiclePosition, ...] = ()


@dataclass
class RealtimeFeed:
    """One feed tied to one static feed (whose ids its entities use, unscoped)."""

    name: str
    static_feed: str  # the static feed name: ids get the ``static_feed:`` prefix
    source: FeedSource
    max_age: float = 300.0  # seconds; older state is dropped
    interval: float = 30.0  # seconds between polls (for whoever schedules them)
    #: POSIX time of the message the state is from (header timestamp, else received)
    timestamp: float | None = None
    received: float | None = None
    messages: int = 0
    #: the last message merged was a FULL_DATASET (it alone makes the state)
    full: bool = True
    error: str | None = None
    skips: Skips = field(default_factory=Skips)
    _trips: dict[str, TripUpdate] = field(default_factory=dict)
    _alerts: dict[str, Alert] = field(default_factory=dict)
    _vehicles: dict[str, VehiclePosition] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def at(cls, name: str, static_feed: str, location: str, *, max_age: float = 300.0,
           interval: float = 30.0, options: FetchOptions | None = None) -> RealtimeFeed:
        return cls(name, static_feed, FeedSource(location, options), max_age, interval)

    def poll(self, now: float | None = None, force: bool = False) -> bool:
        """Fetch and merge once; True when the state changed. Never raises for a bad
        feed: the error is recorded and the last good state kept."""
        return self.poll_bytes(now, force) is not None

    def poll_bytes(self, now: float | None = None, force: bool = False) -> bytes | None:
        """Fetch and merge once; the bytes merged (for other processes to merge too), or
        None when nothing changed."""
        now = time.time() if now is None else now
        try:
            data = self.source.fetch(force)
        except FetchError as exc:
            self._fail(str(exc))
            return None
        if data is None:
            self.error = None
            return None
        return data if self.accept(data, now) else None

    def accept(self, data: bytes, now: float | None = None) -> bool:
        """Merge one message's bytes; False (state unchanged) when it does not parse."""
        now = time.time() if now is None else now
        try:
            msg = parse_feed(data, now=now, source=self.name)
        except FeedError as exc:
            self._fail(str(exc))
            return False
        self.merge(msg, now)
        return True

    def _fail(self, problem: str) -> None:
        self.error = problem
        log.warning("GTFS-RT %s: %s; keeping the last good state", self.name, problem)

    def merge(self, msg: FeedMessage, received: float) -> None:
        with self._lock:
            if msg.incrementality != DIFFERENTIAL:
                self._trips.clear()
                self._alerts.clear()
                self._vehicles.clear()
            for eid in msg.deleted:
                self._trips.pop(eid, None)
                self._alerts.pop(eid, None)
                self._vehicles.pop(eid, None)
            self._trips.update((t.entity_id, t) for t in msg.trip_updates)
            self._alerts.update((a.entity_id, a) for a in msg.alerts)
            self._vehicles.update((v.entity_id, v) for v in msg.vehicles)
            self.timestamp = float(msg.timestamp) if msg.timestamp else received
            self.received = received
            self.messages += 1
            self.full = msg.incrementality != DIFFERENTIAL
            self.error = None
            self.skips = msg.skips

    def age(self, now: float | None = None) -> float | None:
        if self.timestamp is None:
            return None
        return (time.time() if now is None else now) - self.timestamp

    def is_stale(self, now: float | None = None) -> bool:
        age = self.age(now)
        return age is None or age > self.max_age

    def content(self, now: float | None = None) -> FeedContent:
        """The entities to apply: none when the feed is stale or never arrived."""
        if self.is_stale(now):
            return FeedContent()
        with self._lock:
            return FeedContent(tuple(self._trips.values()), tuple(self._alerts.values()),
                               tuple(self._vehicles.values()))

    def warning(self, now: float | None = None) -> str | None:
        """A sentence for ``warnings`` when the feed's data is not used, else None."""
        age = self.age(now)
        if age is None:
            why = self.error or "no message received yet"
            return f"realtime feed {self.name}: not in use ({why}); showing the schedule"
        if age > self.max_age:
            return (f"realtime feed {self.name}: data is {age:.0f} s old (limit "
                    f"{self.max_age:.0f} s); showing the schedule for its trips")
        return None

    def status(self, now: float | None = None) -> dict[str, object]:
        """For health: age, staleness, counts, last error, skipped entities."""
        age = self.age(now)
        with self._lock:
            counts = {"tripUpdates": len(self._trips), "alerts": len(self._alerts),
                      "vehicles": len(self._vehicles)}
        return {"name": self.name, "feed": self.static_feed, "url": self.source.location,
                "timestamp": self.timestamp, "age": None if age is None else round(age, 1),
                "stale": self.is_stale(now), "maxAge": self.max_age,
                "messages": self.messages, "entities": counts, "error": self.error,
                "skipped": self.skips.as_dict(), "warning": self.warning(now)}
