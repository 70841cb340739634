"""Street legs of a study: points to stops (access), stops to points (egress), point to
point (the direct trip), all timed by :class:`~planner.multimodal.streets.Streets`.

The street model is the API's: the OSM graph where one is loaded, else the straight line
(haversine x detour at the mode's speed), the same ``Streets.many_to_many`` the multimodal
search times bikes and cars with. A requested speed scales the model's times as
:func:`planner.multimodal.search.vehicle_scale` does. Seconds are rounded up, and a leg
longer than the mode's bound is no leg. Work is chunked so that the dense scratch of one
call stays small however many points a study has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.multimodal.streets import Streets
from planner.timetable.model import INFINITY

#: Rows of one ``many_to_many`` call (bounds its ``rows x columns`` scratch).
CHUNK = 256


@dataclass(frozen=True)
class Legs:
    """Street legs per point, CSR: point ``i``'s legs are ``offset[i]..offset[i + 1]``
    of ``stop`` and ``seconds`` (int32)."""

    offset: np.ndarray
    stop: np.ndarray
    seconds: np.ndarray

    def rows(self, i: int) -> np.ndarray:
        """Point ``i``'s legs as the engines' ``(stop, seconds)`` rows."""
        lo, hi = int(self.offset[i]), int(self.offset[i + 1])
        return np.ascontiguousarray(np.stack([self.stop[lo:hi], self.seconds[lo:hi]], axis=1),
                                    dtype=np.int32).reshape(-1, 2)

    def take(self, points: np.ndarray) -> Legs:
        """The legs of ``points`` only, renumbered 0..n-1."""
        parts = [self.rows(int(i)) for i in points]
        sizes = np.array([len(p) for p in parts], dtype=np.int64)
        offset = np.concatenate(([0], np.cumsum(sizes))).astype(np.int32)
        rows = np.concatenate(parts) if parts else np.zeros((0, 2), np.int32)
        return Legs(offset, np.ascontiguousarray(rows[:, 0]), np.ascontiguousarray(rows[:, 1]))


def scale_for(streets: Streets, mode: str, speed_kmh: float | None) -> float:
    """Factor on the model's times for a requested speed (None: the model's own)."""
    if speed_kmh is None:
        return 1.0
    return streets.model.speeds_kmh[mode] / speed_kmh


def street_times(streets: Streets, mode: str, origins: np.ndarray, destinations: np.ndarray,
                 max_seconds: float, scale: float = 1.0, *, parking: bool = True
                 ) -> np.ndarray:
    """``float64[len(origins), len(destinations)]`` seconds of the street trip (``inf``
    beyond ``max_seconds``): every street leg of a study, and MOTIS's one-to-many
    (:mod:`planner.analysis.reach`). ``parking=False`` leaves the car parking allowance
    out (a plain drive)."""
    out = np.full((len(origins), len(destinations)), np.inf)
    if not max_seconds > 0 or len(destinations) == 0:
        return out
    extra = streets.model.car_parking_s if mode == "car" and not parking else 0.0
    for lo in range(0, len(origins), CHUNK):
        secs = (streets.many_to_many(mode, origins[lo:lo + CHUNK], destinations,
                                     max_seconds / scale + extra) - extra) * scale
        secs[secs > max_seconds] = np.inf
        out[lo:lo + CHUNK] = secs
    return out


def street_seconds(streets: Streets, mode: str, origins: np.ndarray, destinations: np.ndarray,
                   max_seconds: int, scale: float = 1.0) -> np.ndarray:
    """:func:`street_times` as ``int32`` seconds rounded up (``INFINITY`` beyond
    ``max_seconds``); points are ``(lat, lon)`` rows."""
    out = np.full((len(origins), len(destinations)), INFINITY, dtype=np.int32)
    for lo in range(0, len(origins), CHUNK):  # float64 scratch of one chunk only
        secs = np.ceil(street_times(streets, mode, origins[lo:lo + CHUNK], destinations,
                                    max_seconds, scale))
        ok = np.isfinite(secs) & (secs <= max_seconds)
        out[lo:lo + CHUNK][ok] = secs[ok].astype(np.int32)
    return out


def _csr(times: np.ndarray) -> Legs:
    """Finite entries of ``times`` (rows: points, columns: stops) as :class:`Legs`."""
    rows, cols = np.nonzero(times < INFINITY)
    offset = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=len(times)))))
    return Legs(offset.astype(np.int32), cols.astype(np.int32),
                times[rows, cols].astype(np.int32))


def stop_points(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.stack([np.asarray(lat, float), np.asarray(lon, float)],
                                         axis=1))


def access_legs(streets: Streets, mode: str, points: np.ndarray, stops: np.ndarray,
                max_seconds: int, scale: float = 1.0) -> Legs:
    """Points to the stops within ``max_seconds`` (the origins' side)."""
    parts = [_csr(street_seconds(streets, mode, points[lo:lo + CHUNK], stops, max_seconds,
                                 scale)) for lo in range(0, len(points), CHUNK)]
    return _join(parts)


def egress_legs(streets: Streets, mode: str, stops: np.ndarray, points: np.ndarray,
                max_seconds: int, scale: float = 1.0) -> Legs:
    """Stops to the points within ``max_seconds`` (the destinations' side), timed from the
    stops (a one-way street counts in the direction it is ridden)."""
    parts = []
    for lo in range(0, len(points), CHUNK * 16):
        block = street_seconds(streets, mode, stops, points[lo:lo + CHUNK * 16], max_seconds,
                               scale)
        parts.append(_csr(np.ascontiguousarray(block.T)))
    return _join(parts)


def _join(parts: list[Legs]) -> Legs:
    if not parts:
        return Legs(np.zeros(1, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int32))
    offsets, base = [np.zeros(1, np.int64)], 0
    for p in parts:
        offsets.append(p.offset[1:].astype(np.int64) + base)
        base += int(p.offset[-1])
    return Legs(np.concatenate(offsets).astype(np.int32),
                np.concatenate([p.stop for p in parts]).astype(np.int32),
                np.concatenate([p.seconds for p in parts]).astype(np.int32))
