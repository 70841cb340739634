"""Lookups from GTFS ids to compiled-timetable indices, built once per static timetable.

The compiled timetable is indexed by position; TripUpdates name trips, service days,
stops and stop_sequence values. This index holds those maps (and Python lists of the
arrays the matcher reads per entity, which are faster to index one by one than NumPy).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from planner.timetable.model import Timetable


class StaticIndex:
    """Everything :mod:`planner.realtime.match` looks up, for one static timetable."""

    def __init__(self, tt: Timetable, stop_sequences: dict[str, np.ndarray] | None = None
                 ) -> None:
        self.tt = tt
        self.trip_of_id = {str(t): g for g, t in enumerate(tt.gtfs_trip_ids)}
        self.line_of_id = {str(r): i for i, r in enumerate(tt.line_ids)}
        self.stop_of_id = {str(s): i for i, s in enumerate(tt.stop_ids)}
        self.day_of = {d.strftime("%Y%m%d"): i for i, d in enumerate(tt.dates)}
        order = np.argsort(tt.trip_gtfs, kind="stable")
        offsets = np.zeros(len(tt.gtfs_trip_ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(tt.trip_gtfs, minlength=len(tt.gtfs_trip_ids)),
                  out=offsets[1:])
        self._instances = order.tolist()
        self._inst_offset = offsets.tolist()
        self.trip_route = tt.trip_route.tolist()
        self.trip_day = tt.trip_day.tolist()
        self.trip_st_offset = tt.trip_st_offset.tolist()
        self.route_stop_offset = tt.route_stop_offset.tolist()
        self.route_stops = tt.route_stops.tolist()
        self.stop_parent = tt.stop_parent.tolist()
        self._sequences = stop_sequences or {}
        self._seq_pos: dict[int, dict[int, int] | None] = {}

    def instances(self, gtfs_trip: int) -> list[int]:
        """Timetable trips (one per service day, or per frequency start) of a GTFS trip."""
        return self._instances[self._inst_offset[gtfs_trip]:self._inst_offset[gtfs_trip + 1]]

    def day_index(self, yyyymmdd: str) -> int | None:
        return self.day_of.get(yyyymmdd)

    def day(self, i: int) -> date:
        return self.tt.dates[i]

    def positions(self, trip: int) -> list[int]:
        """The stops of a timetable trip, by route position."""
        r = self.trip_route[trip]
        return self.route_stops[self.route_stop_offset[r]:self.route_stop_offset[r + 1]]

    def seq_positions(self, gtfs_trip: int, n_positions: int) -> dict[int, int] | None:
        """stop_sequence -> route position for a GTFS trip; None when unknown (no
        stop_times read, or they disagree with the compiled trip's length)."""
        if gtfs_trip not in self._seq_pos:
            seq = self._sequences.get(str(self.tt.gtfs_trip_ids[gtfs_trip]))
            self._seq_pos[gtfs_trip] = (
                {int(s): p for p, s in enumerate(seq.tolist())}
                if seq is not None and len(seq) == n_positions else None)
        return self._seq_pos[gtfs_trip]

    def same_place(self, a: int, b: int) -> bool:
        """Stops ``a`` and ``b`` are one stop, or platforms of one station."""
        if a == b:
            return True
        pa, pb = self.stop_parent[a], self.stop_parent[b]
        return (pa >= 0 and (pa == pb or pa == b)) or (pb >= 0 and pb == a)
