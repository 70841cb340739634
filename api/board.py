"""Departure and arrival boards straight from the timetable arrays (no search needed).

What MOTIS's ``stop_times`` endpoint does without realtime data: the events of every
(route, position) at the requested stops, walked from the request time in the requested
direction until ``n`` are found (all events sharing the last one's time included) and
the ``window`` is covered, ordered by (time, trip).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from api.store import Prepared
from planner.routing.modes import mode_allowed

DEPARTURES, ARRIVALS, BOTH = "departures", "arrivals", "both"


@dataclass(frozen=True)
class Events:
    """Board events sorted by (time, trip); parallel arrays."""

    times: np.ndarray  # int64 timetable seconds
    trips: np.ndarray  # int64 trip index
    stops: np.ndarray  # int64 stop index
    pos: np.ndarray  # int64 position of the stop in the trip's route
    arrival: np.ndarray  # bool: the event is the trip's arrival (else its departure)
    allowed: np.ndarray  # bool: boarding (departure) or alighting (arrival) allowed

    def __len__(self) -> int:
        return len(self.times)


def line_filter(prepared: Prepared, modes: tuple[str, ...]) -> np.ndarray:
    """``bool[n_lines]``: the lines whose MOTIS class passes ``modes``."""
    return np.fromiter((mode_allowed(m, modes) for m in prepared.line_modes), dtype=bool,
                       count=len(prepared.line_modes))


def board_events(prepared: Prepared, stops: list[int], kind: str, lines: np.ndarray,
                 with_skipped: bool = False) -> Events:
    """Every departure, arrival or (``BOTH``) stop event at ``stops`` on lines allowed by
    ``lines``. A departure needs a next stop, an arrival a previous one; with ``BOTH``
    an event is the departure except at the last stop. Unless ``with_skipped``, an event
    whose boarding (alighting) the schedule forbids is left out, as MOTIS does."""
    tt = prepared.tt
    parts: list[tuple[np.ndarray, ...]] = []
    seen: set[tuple[int, int]] = set()
    for s in dict.fromkeys(stops):
        lo, hi = int(tt.stop_route_offset[s]), int(tt.stop_route_offset[s + 1])
        for k in range(lo, hi):
            r = int(tt.stop_route_route[k])
            p = int(tt.stop_route_pos[k])
            if not lines[int(tt.route_line[r])] or (r, p) in seen:
                continue
            seen.add((r, p))
            base = int(tt.route_stop_offset[r])
            last = int(tt.route_stop_offset[r + 1]) - base - 1
            if kind == ARRIVALS or (kind == BOTH and p == last):
                if p == 0:
                    continue
                is_arrival, ok = True, bool(tt.route_dropoff[base + p])
            else:
                if p == last:
                    continue
                is_arrival, ok = False, bool(tt.route_pickup[base + p])
            if kind == BOTH and not with_skipped and not (
                    tt.route_dropoff[base + p] or tt.route_pickup[base + p]):
                continue
            if kind != BOTH and not ok and not with_skipped:
                continue
            t_lo, t_hi = int(tt.route_trip_offset[r]), int(tt.route_trip_offset[r + 1])
            idx = np.asarray(tt.trip_st_offset[t_lo:t_hi], dtype=np.int64) + p
            col = tt.st_arr if is_arrival else tt.st_dep
            n = t_hi - t_lo
            parts.append((np.asarray(col)[idx].astype(np.int64),
                          np.arange(t_lo, t_hi, dtype=np.int64),
                          np.full(n, s, dtype=np.int64), np.full(n, p, dtype=np.int64),
                          np.full(n, is_arrival), np.full(n, ok)))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        no = np.zeros(0, dtype=bool)
        return Events(empty, empty, empty, empty, no, no)
    cols = [np.concatenate([part[i] for part in parts]) for i in range(6)]
    order = np.lexsort((cols[1], cols[0]))
    return Events(*(c[order] for c in cols))


def select(ev: Events, start: int, forward: bool, n: int, window: int | None,
           anchor: int | None = None) -> np.ndarray:
    """Positions (ascending) of the events MOTIS returns from ``start`` on (``forward``)
    or back from it: at least ``n`` (with every further event at the last one's time),
    and every event within ``window`` seconds of ``start``. ``anchor``: the trip of a
    page cursor; events up to (start, anchor) itself belong to the page before."""
    key = ev.times * (1 << 24) + ev.trips  # trip indices stay far below 2**24
    if forward:
        first = (int(np.searchsorted(key, start * (1 << 24) + anchor, side="right"))
                 if anchor is not None else int(np.searchsorted(ev.times, start, "left")))
        times = ev.times[first:]
        take = min(n, len(times))
        if take:
            take = int(np.searchsorted(times, times[take - 1], side="right"))
        if window is not None:
            take = max(take, int(np.searchsorted(times, start + window, side="right")))
        return np.arange(first, first + take)
    end = (int(np.searchsorted(key, start * (1 << 24) + anchor, side="left"))
           if anchor is not None else int(np.searchsorted(ev.times, start, "right")))
    times = ev.times[:end]
    take = min(n, end)
    if take:
        take = end - int(np.searchsorted(times, times[end - take], side="left"))
    if window is not None:
        take = max(take, end - int(np.searchsorted(times, start - window, side="left")))
    return np.arange(end - take, end)
