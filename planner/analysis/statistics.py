"""Statistics of one origin's travel times over the departure minutes, as r5r reports them.

* ``travel_time_pNN``: R5's percentile without interpolation: of the ``n`` times sorted
  ascending (unreached last), the one at index ``ceil(NN / 100 * n) - 1``; in whole
  minutes, truncated (R5's ``convertToMinutes``: 59:59 is 59, so "under 60" stays
  true); missing (``<NA>``) where that time is unreached.
* ``travel_time_min``: the best minute's time; ``travel_time_mean``: the mean in minutes
  (not truncated), missing unless every minute is reached.
* ``share_under_C``: the share of the window's minutes with a travel time under ``C``
  minutes (strictly, as R5's step cutoffs count).

A travel time above ``max_trip_duration`` is unreached, as in R5.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.timetable.model import INFINITY


def percentile_index(n: int, percentile: float) -> int:
    """R5's index of ``percentile`` in ``n`` sorted values."""
    return max(int(math.ceil(percentile / 100 * n)) - 1, 0)


def percentile_seconds(times: np.ndarray, percentiles: tuple[int, ...]) -> np.ndarray:
    """``int32[rows, len(percentiles)]`` seconds (``INFINITY``: unreached) of
    ``times`` (``rows x minutes``)."""
    n = times.shape[1]
    ordered = np.sort(times, axis=1)
    idx = [percentile_index(n, p) for p in percentiles]
    return ordered[:, idx]


def minutes(seconds: np.ndarray) -> pd.arrays.IntegerArray:
    """Truncated whole minutes, ``<NA>`` where unreached (pandas nullable Int32)."""
    seconds = np.asarray(seconds)
    return pd.arrays.IntegerArray((seconds // 60).astype(np.int32), seconds >= INFINITY)


def summarise(times: np.ndarray, percentiles: tuple[int, ...], share_cutoffs: tuple[int, ...],
              min_mean: bool) -> dict[str, object]:
    """The output columns (module docstring) of ``times`` (``destinations x minutes``)."""
    out: dict[str, object] = {}
    pct = percentile_seconds(times, percentiles)
    for j, p in enumerate(percentiles):
        out[f"travel_time_p{p}"] = minutes(pct[:, j])
    if min_mean:
        out["travel_time_min"] = minutes(times.min(axis=1) if times.shape[1] else
                                         np.full(len(times), INFINITY))
        reached_all = (times < INFINITY).all(axis=1)
        mean = np.where(reached_all, times.astype(np.float64).mean(axis=1) / 60, np.nan)
        out["travel_time_mean"] = mean
    for c in share_cutoffs:
        out[f"share_under_{c}"] = (times < c * 60).mean(axis=1)
    return out


def reached_any(times: np.ndarray) -> np.ndarray:
    """Destinations reached at some minute (the rows a matrix reports)."""
    return np.asarray((times < INFINITY).any(axis=1))
