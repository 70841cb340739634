"""The core of every study: per origin, the travel time to every destination point for
every departure minute of the window.

Per origin: its access legs (street model) become the source rows of one range search
over the window's minutes (:meth:`RangeRaptor.minute_arrivals`: R5's range RAPTOR, labels
of a later minute reused for the earlier one), giving the arrival at every stop per
minute; :func:`planner.analysis.propagate.propagate` then adds the egress legs and the
direct street trip and takes the best per destination and minute. Everything that does
not depend on the origin (egress legs, the route mask) is built once per study.

The same journeys :meth:`Router.earliest` finds one departure at a time
(``tests/test_analysis.py`` checks that cell by cell on real feeds).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from planner.analysis.access import (
    Legs,
    access_legs,
    egress_legs,
    scale_for,
    stop_points,
    street_seconds,
)
from planner.analysis.points import Points
from planner.analysis.propagate import propagate
from planner.analysis.request import StudyRequest
from planner.multimodal.streets import Streets
from planner.routing.query import Query
from planner.routing.router import Router
from planner.timetable.model import INFINITY, Timetable

_NO_TARGETS = np.zeros((0, 2), dtype=np.int32)


def window_arrivals(router: Router, q: Query, step: int, out: np.ndarray,
                    trips: np.ndarray | None = None) -> np.ndarray:
    """The search of every study and of MOTIS's one-to-all: ``out`` (``minutes x stops``)
    filled with the earliest arrival at every stop per departure ``q.time + i * step``
    (:meth:`RangeRaptor.minute_arrivals` on this thread's range workspace); ``trips``,
    when given, with the fewest trips of the first minute's arrivals."""
    engine = router.range_raptor
    ws = router.workspace("range", engine.workspace)
    engine.minute_arrivals(ws, q, step, out, trips)
    return out


@dataclass(eq=False)
class Study:
    """One timetable, street model, request and destination set; origins come per call."""

    tt: Timetable
    request: StudyRequest
    destinations: Points
    streets: Streets = field(default_factory=Streets)
    router: Router | None = None
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def __post_init__(self) -> None:
        if self.router is None:
            self.router = Router(self.tt)

    # -- built once ------------------------------------------------------------------
    @cached_property
    def start(self) -> int:
        return self.request.start(self.tt)

    @cached_property
    def route_mask(self) -> np.ndarray | None:
        return self.request.route_mask(self.tt)

    @cached_property
    def stops(self) -> np.ndarray:
        return stop_points(self.tt.stop_lat, self.tt.stop_lon)

    @cached_property
    def egress(self) -> Legs:
        """Stops to every destination point."""
        mode = self.request.egress_mode
        return egress_legs(self.streets, mode, self.stops, self.destinations.coords,
                           self.request.max_street_seconds(mode), self._scale(mode))

    def _scale(self, mode: str) -> float:
        return scale_for(self.streets, mode, self.request.speed_kmh(mode))

    # -- per origin ------------------------------------------------------------------
    def access(self, origins: Points) -> Legs:
        mode = self.request.access_mode
        return access_legs(self.streets, mode, origins.coords, self.stops,
                           self.request.max_street_seconds(mode), self._scale(mode))

    def direct(self, origins: Points) -> np.ndarray:
        """``int32[origins, destinations]`` seconds of the street trip (``INFINITY``: none
        within the access mode's bound)."""
        mode = self.request.access_mode
        return street_seconds(self.streets, mode, origins.coords, self.destinations.coords,
                              self.request.max_street_seconds(mode), self._scale(mode))

    def query(self, rows: np.ndarray) -> Query:
        """The range query of one origin's access rows (its targets are ignored)."""
        r = self.request
        return Query(sources=rows, targets=_NO_TARGETS, time=self.start,
                     window=(r.time_window - 1) * r.step, max_transfers=r.max_transfers,
                     transfer_slack=r.transfer_slack, route_mask=self.route_mask)

    def stop_arrivals(self, rows: np.ndarray) -> np.ndarray:
        """``int32[minutes, stops]``: arrival at every stop per departure minute; this
        thread's buffers (valid until its next call)."""
        assert self.router is not None
        r = self.request
        out = getattr(self._local, "arrivals", None)
        if out is None:
            out = self._local.arrivals = np.empty((r.time_window, self.tt.n_stops), np.int32)
        return window_arrivals(self.router, self.query(rows), r.step, out)

    def travel_times(self, rows: np.ndarray, direct: np.ndarray) -> np.ndarray:
        """``int32[destinations, minutes]`` seconds per destination and departure minute
        (``INFINITY``: unreached within ``max_trip_duration``)."""
        r = self.request
        out = np.empty((len(self.destinations), r.time_window), dtype=np.int32)
        if not r.transit_modes:  # streets only (r5r's mode="WALK"): the direct trip
            out[:] = np.where(direct <= r.max_trip_duration * 60, direct, INFINITY)[:, None]
            return out
        arrivals = self.stop_arrivals(rows)
        eg = self.egress
        propagate(arrivals, self.start, r.step, eg.offset, eg.stop, eg.seconds,
                  np.ascontiguousarray(direct, dtype=np.int32), r.max_trip_duration * 60,
                  out)
        return out

    def stop_times(self, rows: np.ndarray) -> np.ndarray:
        """``int32[stops, minutes]`` seconds to every stop itself (isochrones' buffers)."""
        r = self.request
        arrivals = self.stop_arrivals(rows).astype(np.int64)
        deps = self.start + r.step * np.arange(r.time_window, dtype=np.int64)
        secs = np.where(arrivals < INFINITY, arrivals - deps[:, None], INFINITY)
        secs[secs > r.max_trip_duration * 60] = INFINITY
        return np.ascontiguousarray(secs.T, dtype=np.int32)
