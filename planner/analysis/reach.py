"""One place to every stop (MOTIS's one-to-all) and to many points (one-to-many) on the
study core: what the HTTP endpoints ask is a study of one origin over one minute.

* :func:`reach` forward runs :func:`~planner.analysis.study.window_arrivals` (rRAPTOR's
  minute arrivals, the search of every matrix) over a window of one minute, with the
  fewest trips of each arrival; arrive-by is the reverse search of
  :func:`planner.routing.reachability.latest_departures` (the range search runs forward
  only, as R5's does). Stops beyond ``max_travel`` seconds are left out; exactly
  ``max_travel`` stays (nigiri keeps labels equal to its cutoff).
* :func:`one_to_many` times the street trip from one point to many (``backward``: from
  each to the one) by :func:`~planner.analysis.access.street_times`, the function every
  street leg of a study is timed by, with MOTIS's matching bound and without the car
  parking allowance (MOTIS's CAR profile is a plain drive).
"""

from __future__ import annotations

import math

import numpy as np

from planner.analysis.access import street_times
from planner.analysis.study import window_arrivals
from planner.multimodal.geometry import haversine_m_array
from planner.multimodal.streets import Point, Streets
from planner.routing.query import DEFAULT_MAX_TRANSFERS, Query, as_rows
from planner.routing.reachability import Reach, latest_departures
from planner.routing.router import Router
from planner.timetable.model import INFINITY

_NONE = np.zeros((0, 2), dtype=np.int32)


def reach(router: Router, rows: np.ndarray | list[tuple[int, int]], time: int,
          max_travel: int, *, arrive_by: bool = False,
          max_transfers: int = DEFAULT_MAX_TRANSFERS, transfer_slack: int = 0,
          route_mask: np.ndarray | None = None) -> Reach:
    """Every stop reachable within ``max_travel`` seconds. ``rows``: ``(stop, seconds)``
    walks from the place to its stops (arrive-by: from its stops to the place);
    ``route_mask`` as :class:`Query` (all zeros: walking only)."""
    rows = as_rows(rows)
    if arrive_by:
        q = Query(sources=_NONE, targets=rows, time=time, arrive_by=True,
                  max_transfers=max_transfers, transfer_slack=transfer_slack,
                  route_mask=route_mask)
        departures, trips = latest_departures(router, q)
        seconds = time - departures.astype(np.int64)
        reached = departures > -INFINITY
    else:
        q = Query(sources=rows, targets=_NONE, time=time, max_transfers=max_transfers,
                  transfer_slack=transfer_slack, route_mask=route_mask)
        n = router.tt.n_stops
        arrivals, trips = np.empty((1, n), np.int32), np.empty(n, np.int32)
        window_arrivals(router, q, 60, arrivals, trips)
        seconds = arrivals[0].astype(np.int64) - time
        reached = arrivals[0] < INFINITY
    keep = np.flatnonzero(reached & (seconds <= max_travel)).astype(np.int32)
    return Reach(int(time), arrive_by, keep, seconds[keep].astype(np.int32),
                 trips[keep].astype(np.int32))


def one_to_many(streets: Streets, mode: str, one: Point, many: list[Point] | np.ndarray,
                max_seconds: float, *, backward: bool = False,
                max_match_m: float = math.inf, with_distance: bool = False
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """Seconds from ``one`` to each of ``many`` (``backward``: from each to ``one``),
    ``inf`` beyond ``max_seconds`` or unmatched; with ``with_distance`` the metres of each
    way found (``nan`` where none).

    On a graph, a point farther than ``max_match_m`` from it matches nothing, so its pair
    has no time (the straight-line model matches everything)."""
    o = np.array([one], dtype=float).reshape(1, 2)
    m = np.asarray(many, dtype=float).reshape(-1, 2)
    times = (street_times(streets, mode, m, o, max_seconds, parking=False)[:, 0] if backward
             else street_times(streets, mode, o, m, max_seconds, parking=False)[0])
    graph = streets.graphs.get(mode)
    if graph is not None and len(m):
        _, gap_one = graph.snap(o, math.inf)
        _, gaps = graph.snap(m, math.inf)
        times[(gaps > max_match_m) | (gap_one[0] > max_match_m)] = np.inf
    if not with_distance:
        return times, None
    meters = np.full(len(m), np.nan)
    for i in np.flatnonzero(np.isfinite(times)):
        a, b = (tuple(m[i]), tuple(o[0])) if backward else (tuple(o[0]), tuple(m[i]))
        path = streets.route(mode, (a[0], a[1]), (b[0], b[1]))
        meters[i] = path.meters if path is not None else \
            haversine_m_array(a[0], a[1], b[0], b[1]) * streets.model.detour
    return times, meters
