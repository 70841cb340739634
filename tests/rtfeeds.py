"""Synthetic GTFS-Realtime TripUpdates for real static feeds (seeded), as protobuf bytes.

Used by the realtime tests and ``benchmarks/realtime.py``: delays (given as absolute
times or as delays, on one to a few stops per trip, so the propagation rules do the
rest), cancellations, skipped stops and NO_DATA stops, over every trip of one service day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from google.transit import gtfs_realtime_pb2 as pb

from planner.timetable.model import Timetable


@dataclass(frozen=True)
class Mix:
    """What share of trips gets what; delays are drawn in ``[min_delay, max_delay]``."""

    cancel: float = 0.05
    skip: float = 0.05
    no_data: float = 0.03
    min_delay: int = -120
    max_delay: int = 1800
    max_updates: int = 3


def raw_id(scoped: str) -> str:
    return str(scoped).split(":", 1)[1]


def header(msg: pb.FeedMessage, timestamp: int, differential: bool = False) -> None:
    msg.header.gtfs_realtime_version = "2.0"
    msg.header.incrementality = (pb.FeedHeader.DIFFERENTIAL if differential
                                 else pb.FeedHeader.FULL_DATASET)
    msg.header.timestamp = timestamp


def synthetic_trip_updates(tt: Timetable, sequences: dict[str, np.ndarray], day: int,
                           seed: int, mix: Mix = Mix()) -> tuple[bytes, dict[str, int]]:
    """A FULL_DATASET feed updating every trip running on ``tt.dates[day]`` (frequency
    trips with several starts that day are left alone); returns (bytes, counts)."""
    rng = np.random.default_rng(seed)
    msg = pb.FeedMessage()
    header(msg, tt.t0 + int(tt.time_of(tt.dates[day], 12 * 3600)))
    counts = {"trips": 0, "cancelled": 0, "skipped": 0, "no_data": 0, "updates": 0}
    start_date = tt.dates[day].strftime("%Y%m%d")
    on_day = np.flatnonzero(tt.trip_day == day)
    gtfs, n_inst = np.unique(tt.trip_gtfs[on_day], return_counts=True)
    single = set(gtfs[n_inst == 1].tolist())
    rso, tso = tt.route_stop_offset, tt.trip_st_offset
    for t in on_day.tolist():
        g = int(tt.trip_gtfs[t])
        if g not in single:
            continue
        trip_id = str(tt.gtfs_trip_ids[g])
        seq = sequences[trip_id]
        r = int(tt.trip_route[t])
        stops = tt.route_stops[rso[r]:rso[r + 1]]
        n = len(stops)
        e = msg.entity.add()
        e.id = f"tu-{t}"
        tu = e.trip_update
        tu.trip.trip_id = raw_id(trip_id)
        tu.trip.start_date = start_date
        counts["trips"] += 1
        if rng.random() < mix.cancel:
            tu.trip.schedule_relationship = pb.TripDescriptor.CANCELED
            counts["cancelled"] += 1
            continue
        k = int(rng.integers(1, min(mix.max_updates, n) + 1))
        positions = np.sort(rng.choice(n, size=k, replace=False))
        sched_dep = tt.st_dep[tso[t]:tso[t + 1]].astype(np.int64)
        times = np.maximum.accumulate(sched_dep[positions] + rng.integers(
            mix.min_delay, mix.max_delay + 1, size=k))
        previous = None
        for pos, when in zip(positions.tolist(), times.tolist(), strict=True):
            u = tu.stop_time_update.add()
            u.stop_sequence = int(seq[pos])
            u.stop_id = raw_id(tt.stop_ids[stops[pos]])
            if rng.random() < 0.5:
                u.departure.time = tt.t0 + int(when)
            else:
                u.departure.delay = int(when - sched_dep[pos])
            if rng.random() < 0.3:  # an arrival too, between the last departure and this one
                earliest = when - 60 if previous is None else max(previous, when - 60)
                u.arrival.time = tt.t0 + int(rng.integers(earliest, when + 1))
            previous = when
            counts["updates"] += 1
        extra = [p for p in range(n) if p not in set(positions.tolist())]
        if extra and rng.random() < mix.skip:
            _other(tu, seq, stops, tt, extra, rng, pb.TripUpdate.StopTimeUpdate.SKIPPED)
            counts["skipped"] += 1
        elif extra and rng.random() < mix.no_data:
            _other(tu, seq, stops, tt, extra, rng, pb.TripUpdate.StopTimeUpdate.NO_DATA)
            counts["no_data"] += 1
    return msg.SerializeToString(), counts


def _other(tu: pb.TripUpdate, seq: np.ndarray, stops: np.ndarray, tt: Timetable,
           free: list[int], rng: np.random.Generator, rel: int) -> None:
    """One more stop time update (SKIPPED / NO_DATA), kept in stop_sequence order."""
    pos = int(rng.choice(free))
    updates = [(u.stop_sequence, u.SerializeToString()) for u in tu.stop_time_update]
    extra = pb.TripUpdate.StopTimeUpdate()
    extra.stop_sequence = int(seq[pos])
    extra.stop_id = raw_id(tt.stop_ids[stops[pos]])
    extra.schedule_relationship = rel
    updates.append((extra.stop_sequence, extra.SerializeToString()))
    del tu.stop_time_update[:]
    for _, raw in sorted(updates):
        tu.stop_time_update.add().ParseFromString(raw)
