"""One-to-all and all-to-one reachability: the fastest way between one place and every
stop, within a travel-time bound: what MOTIS's ``one-to-all`` answers (nigiri's
``routing::one_to_all``). :func:`planner.analysis.reach.reach` runs it; this module holds
its result and the arrive-by half, which reads only the timetable through a
:class:`~planner.routing.router.Router` and ``(stop, seconds)`` rows for the place:

* **forward** (depart at ``time``, in :mod:`planner.analysis.reach`): the travel-time
  studies' range search over one minute; a stop's time is its earliest arrival, ``trips``
  the fewest trips of a journey arriving then (0: walked there from the place). A stop
  reached only by a walk is reachable with 0 trips, the place's own stops with 0 seconds,
  as in MOTIS.
* **arrive-by** (arrive by ``time``): reverse RAPTOR from the target rows; a stop's time is
  the latest departure from it as an *origin*: boarding there, one footpath to a boarding
  stop (no transfer slack and no change time at the origin, as in
  :mod:`planner.timetable.model`), or walking all the way. Of equal departures the one with
  fewer trips counts.

Both are the same journeys :meth:`Router.earliest` and :meth:`Router.latest_departure`
find for one stop (``tests/test_reachability.py`` checks that on real feeds). Stops whose
``seconds`` exceed ``max_travel`` are left out; a journey of exactly ``max_travel`` stays
(nigiri keeps labels equal to its cutoff).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.routing.query import Query
from planner.routing.router import Router
from planner.timetable.model import INFINITY


@dataclass(frozen=True)
class Reach:
    """The stops reached from (``arrive_by``: reaching) one place; parallel arrays, by stop."""

    time: int  # the query time on the timetable axis
    arrive_by: bool
    stops: np.ndarray  # int32, ascending
    seconds: np.ndarray  # int32 travel time from the place (arrive_by: to it)
    trips: np.ndarray  # int32 trips ridden (0: walking only)

    @property
    def event_times(self) -> np.ndarray:
        """Arrival at each stop (arrive-by: departure from it), timetable seconds."""
        sign = -1 if self.arrive_by else 1
        return (self.time + sign * self.seconds.astype(np.int64)).astype(np.int64)

    def __len__(self) -> int:
        return len(self.stops)


def latest_departures(router: Router, q: Query) -> tuple[np.ndarray, np.ndarray]:
    """Per stop the latest departure from it, as an origin, that reaches ``q``'s targets by
    ``q.time`` (``-INFINITY``: none), and the trips of that journey (module docstring)."""
    tt = router.tt
    boarding, board_trips = router.boardings_to(q)
    stops: list[np.ndarray] = []
    times: list[np.ndarray] = []
    trips: list[np.ndarray] = []
    # board at the stop itself
    on = np.flatnonzero(boarding > -INFINITY)
    stops.append(on)
    times.append(boarding[on].astype(np.int64))
    trips.append(board_trips[on])
    # one footpath to a boarding stop (footpaths by from-stop)
    offset = np.asarray(tt.fp_offset)
    fp_to = np.asarray(tt.fp_to)
    fp_from = np.repeat(np.arange(tt.n_stops, dtype=np.int64), np.diff(offset))
    useful = np.flatnonzero(boarding[fp_to] > -INFINITY)
    stops.append(fp_from[useful])
    times.append(boarding[fp_to[useful]].astype(np.int64)
                 - np.asarray(tt.fp_dur)[useful])
    trips.append(board_trips[fp_to[useful]])
    # walking only: at a target stop, or one footpath before it
    targets = q.targets
    in_offset = np.asarray(tt.fp_in_offset)
    for stop, egress in targets.tolist():
        lo, hi = int(in_offset[stop]), int(in_offset[stop + 1])
        walkers = np.concatenate(([stop], np.asarray(tt.fp_in_from[lo:hi])))
        walk = np.concatenate(([0], np.asarray(tt.fp_in_dur[lo:hi]))) + egress
        stops.append(walkers.astype(np.int64))
        times.append(q.time - walk.astype(np.int64))
        trips.append(np.zeros(len(walkers), dtype=np.int32))
    s = np.concatenate(stops).astype(np.int64)
    t = np.concatenate(times)
    k = np.concatenate(trips).astype(np.int32)
    out_t = np.full(tt.n_stops, -INFINITY, dtype=np.int32)
    out_k = np.zeros(tt.n_stops, dtype=np.int32)
    if len(s):
        order = np.lexsort((k, -t, s))  # per stop: latest departure, then fewest trips
        s, t, k = s[order], t[order], k[order]
        first = np.ones(len(s), dtype=bool)
        first[1:] = s[1:] != s[:-1]
        out_t[s[first]] = t[first]
        out_k[s[first]] = k[first]
    return out_t, out_k
