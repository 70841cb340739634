"""Random arrive-by questions on a real timetable, shared by the reverse-engine tests."""

from __future__ import annotations

import dataclasses
import random

import numpy as np

from planner.timetable.model import NO_TRANSFER, Timetable


def queries(tt: Timetable, n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, int, int]]:
    """(sources, targets, deadline, slack): half single stops, half several rows with
    offsets, deadlines on the timetable's second day between 06:00 and 26:00."""
    rng = random.Random(seed)
    stops = np.flatnonzero(np.diff(tt.stop_route_offset) > 0).tolist()
    day = tt.dates[1]
    out = []
    for i in range(n):
        if i % 2:
            src = [(rng.choice(stops), rng.choice([0, 60, 300, 600]))
                   for _ in range(rng.randint(2, 3))]
            tgt = [(rng.choice(stops), rng.choice([0, 120, 400]))
                   for _ in range(rng.randint(1, 2))]
        else:
            src = [(rng.choice(stops), 0)]
            tgt = [(rng.choice(stops), 0)]
        deadline = tt.time_of(day, rng.randint(6 * 3600, 26 * 3600))
        out.append((np.array(src, dtype=np.int32), np.array(tgt, dtype=np.int32), deadline,
                    rng.choice([0, 0, 120])))
    return out


def with_change_times(tt: Timetable, seed: int) -> Timetable:
    """Random per-stop change times, a sixth of the stops forbidding changes."""
    rng = np.random.default_rng(seed)
    change = rng.choice([0, 60, 120, 300, NO_TRANSFER], size=tt.n_stops,
                        p=[0.3, 0.2, 0.2, 0.15, 0.15]).astype(np.int32)
    return dataclasses.replace(tt, stop_change_time=change, extra={})
