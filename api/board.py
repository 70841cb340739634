"""Departure and arrival boards straight from the timetable arrays (no search needed)."""

from __future__ import annotations

import numpy as np

from api.common import iso, route_fields, stop_place
from api.store import Prepared


def board_events(prepared: Prepared, stops: list[int], arrivals: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time, trip, stop) of every departure (or arrival) at ``stops``, sorted by (time, trip).

    A departure needs boarding allowed and a next stop; an arrival needs alighting allowed
    and a previous stop.
    """
    tt = prepared.tt
    times: list[np.ndarray] = []
    trips: list[np.ndarray] = []
    where: list[np.ndarray] = []
    for s in stops:
        lo, hi = int(tt.stop_route_offset[s]), int(tt.stop_route_offset[s + 1])
        for k in range(lo, hi):
            r = int(tt.stop_route_route[k])
            p = int(tt.stop_route_pos[k])
            base = int(tt.route_stop_offset[r])
            n_pos = int(tt.route_stop_offset[r + 1]) - base
            if arrivals:
                if p == 0 or not tt.route_dropoff[base + p]:
                    continue
            elif p == n_pos - 1 or not tt.route_pickup[base + p]:
                continue
            t_lo, t_hi = int(tt.route_trip_offset[r]), int(tt.route_trip_offset[r + 1])
            trip_ids = np.arange(t_lo, t_hi, dtype=np.int64)
            idx = np.asarray(tt.trip_st_offset[t_lo:t_hi], dtype=np.int64) + p
            col = tt.st_arr if arrivals else tt.st_dep
            times.append(np.asarray(col)[idx].astype(np.int64))
            trips.append(trip_ids)
            where.append(np.full(len(trip_ids), s, dtype=np.int64))
    if not times:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    t = np.concatenate(times)
    tr = np.concatenate(trips)
    st = np.concatenate(where)
    order = np.lexsort((tr, t))
    return t[order], tr[order], st[order]


def select(times: np.ndarray, trips: np.ndarray, after: tuple[int, int] | None,
           before: tuple[int, int] | None, n: int) -> np.ndarray:
    """Positions of the first ``n`` events strictly after ``after`` (time, trip), or the last
    ``n`` strictly before ``before``; events are sorted by (time, trip)."""
    key = times * (1 << 24) + trips  # trip indices stay far below 2**24
    if after is not None:
        start = int(np.searchsorted(key, after[0] * (1 << 24) + after[1], side="right"))
        return np.arange(start, min(start + n, len(times)))
    assert before is not None
    end = int(np.searchsorted(key, before[0] * (1 << 24) + before[1], side="left"))
    return np.arange(max(0, end - n), end)


def stop_time_json(prepared: Prepared, t: int, trip: int, stop: int, arrivals: bool
                   ) -> dict[str, object]:
    tt = prepared.tt
    g = int(tt.trip_gtfs[trip])
    line = int(tt.gtfs_trip_line[g])
    when = iso(prepared, t)
    times = ({"arrival": when, "scheduledArrival": when} if arrivals
             else {"departure": when, "scheduledDeparture": when})
    day = tt.dates[int(tt.trip_day[trip])]
    return {
        "place": stop_place(prepared, stop, **times),
        "mode": prepared.line_modes[line],
        "realTime": False,
        "headsign": str(tt.gtfs_trip_headsign[g]),
        "agencyName": str(tt.line_agency_name[line]),
        **route_fields(tt, line),
        "tripId": str(tt.gtfs_trip_ids[g]),
        "serviceDate": day.isoformat(),
    }
