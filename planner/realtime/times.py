"""Stop time updates resolved into arrival and departure times, vectorised over trips.

The GTFS-Realtime propagation rules, on a trip's interleaved events (arrival, departure,
arrival, ... by route position):

* an event given by the feed (a time, or a delay on the schedule) is used as given;
* a departure without its own value takes its stop's arrival delay, an arrival without
  one its stop's departure delay (the arrival/departure fallback);
* later events without an update carry the last delay forward, through ``SKIPPED`` stops;
  a ``NO_DATA`` stop resets to the schedule from there on;
* events before the first update keep the schedule.

The engines need times that never decrease along a trip, so carried times are clamped:
never later than the next given event, never earlier than the previous one. Given
events are never moved: a trip whose given events go backwards is skipped whole, as is
one whose times end up more than :data:`MAX_DELAY` off the schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.realtime.match import NO_DATA, SCHEDULED, SKIPPED, Patches
from planner.timetable.model import Timetable

MAX_DELAY = 12 * 3600
_SHIFT = 1 << 26  # makes every time positive for the segmented scans
_SPAN = 1 << 28  # larger than any shifted time
_BIG = 1 << 29  # segment stride of the segmented scans


@dataclass
class Resolved:
    """Valid patches only: timetable trip, new times and skipped positions (flat, in
    the trips' order; ``offset`` is CSR over them)."""

    trips: np.ndarray  # int64 timetable trip per patch
    entity: list[str]
    offset: np.ndarray  # int64[P+1]
    arr: np.ndarray  # int32
    dep: np.ndarray  # int32
    skipped: np.ndarray  # bool, per position


def _segmented(values: np.ndarray, seg: np.ndarray, reverse_min: bool) -> np.ndarray:
    """Per segment (non-decreasing ``seg``): suffix minimum or prefix maximum."""
    off = seg.astype(np.int64) * _BIG
    w = values + _SHIFT + off
    if reverse_min:
        w = np.minimum.accumulate(w[::-1])[::-1]
    else:
        w = np.maximum.accumulate(w)
    return w - off - _SHIFT


def resolve(tt: Timetable, p: Patches) -> Resolved:
    """New times for every patch of ``p``; invalid patches go to ``p.skips``."""
    trips = np.asarray(p.trips, dtype=np.int64)
    start = tt.trip_st_offset[trips].astype(np.int64)
    lens = tt.trip_st_offset[trips + 1].astype(np.int64) - start
    n = len(trips)
    loc = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=loc[1:])
    rows = np.repeat(start - loc[:-1], lens) + np.arange(loc[-1])
    sched = np.empty(2 * len(rows), dtype=np.int64)
    sched[0::2] = tt.st_arr[rows]
    sched[1::2] = tt.st_dep[rows]
    seg = np.repeat(np.arange(n), 2 * lens)

    up = np.asarray(p.u_patch, dtype=np.int64)
    urow = loc[up] + np.asarray(p.u_pos, dtype=np.int64) if n else up
    rel = np.asarray(p.u_rel, dtype=np.int64)
    a_slot, d_slot = 2 * urow, 2 * urow + 1
    explicit = np.zeros(len(sched), dtype=bool)
    value = np.zeros(len(sched), dtype=np.int64)
    has_src = np.zeros(len(sched), dtype=bool)
    delay = np.zeros(len(sched), dtype=np.int64)
    for slot, val, kind in ((a_slot, p.u_arr, p.u_arr_kind), (d_slot, p.u_dep, p.u_dep_kind)):
        v = np.asarray(val, dtype=np.int64)
        k = np.asarray(kind, dtype=np.int64)
        given = (k > 0) & (rel == SCHEDULED)
        absolute = np.where(k == 1, v, sched[slot] + v)
        explicit[slot[given]] = True
        value[slot[given]] = absolute[given]
    has_src[explicit] = True
    delay[explicit] = value[explicit] - sched[explicit]
    # departure-only: the arrival takes the departure's delay
    dep_only = (np.asarray(p.u_arr_kind) == 0) & (np.asarray(p.u_dep_kind) > 0) \
        & (rel == SCHEDULED) if len(rel) else np.zeros(0, dtype=bool)
    has_src[a_slot[dep_only]] = True
    delay[a_slot[dep_only]] = delay[d_slot[dep_only]]
    no_data = rel == NO_DATA
    for slot in (a_slot[no_data], d_slot[no_data]):
        has_src[slot] = True
        delay[slot] = 0
    first = 2 * loc[:-1]
    has_src[first[~has_src[first]]] = True  # before the first update: the schedule
    src = np.maximum.accumulate(np.where(has_src, np.arange(len(sched)), 0)) \
        if len(sched) else np.zeros(0, dtype=np.int64)
    times = sched + delay[src]
    times[explicit] = value[explicit]
    cap = _segmented(np.where(explicit, value, _SPAN - _SHIFT - 1), seg, reverse_min=True)
    times = np.minimum(times, cap)
    times = _segmented(times, seg, reverse_min=False)

    bad = np.zeros(n, dtype=bool)
    ex = np.flatnonzero(explicit)
    back = (np.diff(value[ex]) < 0) & (seg[ex][1:] == seg[ex][:-1])
    bad[seg[ex][1:][back]] = True
    for i in np.flatnonzero(bad):
        p.skips.add("times go backwards along the trip", p.entity[i])
    far = np.zeros(n, dtype=bool)
    np.logical_or.at(far, seg, np.abs(times - sched) > MAX_DELAY)
    for i in np.flatnonzero(far & ~bad):
        p.skips.add(f"delay of more than {MAX_DELAY // 3600} h", p.entity[i])
    skipped = np.zeros(len(rows), dtype=bool)
    skipped[urow[rel == SKIPPED]] = True

    keep = ~(bad | far)
    keep_rows = np.repeat(keep, lens)
    kept_lens = lens[keep]
    offset = np.zeros(len(kept_lens) + 1, dtype=np.int64)
    np.cumsum(kept_lens, out=offset[1:])
    return Resolved(trips=trips[keep], entity=[e for e, k in zip(p.entity, keep, strict=True)
                                               if k],
                    offset=offset, arr=times[0::2][keep_rows].astype(np.int32),
                    dep=times[1::2][keep_rows].astype(np.int32),
                    skipped=skipped[keep_rows])
