"""Google encoded polylines for responses (HTTP rendering only).

Distances, the Earth radius and the nearest-stop index live in
:mod:`planner.multimodal.geometry`.
"""

from __future__ import annotations

import math

import numpy as np

from planner.multimodal.geometry import EARTH_RADIUS_M

#: Polylines are encoded with precision 7 (1e-7 degrees), as MOTIS does.
POLYLINE_PRECISION = 7


_SHIFTS = np.arange(8, dtype=np.int64) * 5  # 8 x 5 bits cover any zig-zagged delta


def encode_polyline(points: list[tuple[float, float]] | np.ndarray,
                    precision: int = POLYLINE_PRECISION) -> str:
    """Google's encoded polyline algorithm over (lat, lon) pairs (vectorised; short lines,
    such as two-point walks, in plain Python where numpy's call overhead would dominate)."""
    if len(points) <= 8:
        return _encode_short(points, precision)
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(arr) == 0:
        return ""
    codes, present = _codes(np.round(arr * 10**precision).astype(np.int64))
    return codes[present].astype(np.uint8).tobytes().decode("ascii")


def _codes(ints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per value of the zig-zagged deltas of ``ints`` ([n, 2]): its 8 possible characters
    and which of them are sent."""
    deltas = np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
    values = np.where(deltas < 0, ~(deltas << 1), deltas << 1)
    rest = values[:, None] >> _SHIFTS  # what is left before emitting chunk k
    present = rest > 0
    present[:, 0] = True
    more = np.zeros_like(present)
    more[:, :-1] = rest[:, 1:] > 0
    return (rest & 0x1F) + 0x20 * more + 63, present


def _encode_delta(out: list[str], delta: int) -> None:
    v = ~(delta << 1) if delta < 0 else delta << 1
    while v >= 0x20:
        out.append(chr((0x20 | (v & 0x1F)) + 63))
        v >>= 5
    out.append(chr(v + 63))


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine metres as :func:`planner.multimodal.geometry.path_length_m` sums them."""
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    h = (math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2)
         * math.sin((math.radians(b[1]) - math.radians(a[1])) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class PolylinePieces:
    """A long line (a GTFS shape) encoded once, so that a piece of it between two exact
    end points (a leg: board stop, shape points ``i..j``, alight stop) costs two encoded
    deltas and a slice, not an encoding of every point, and its length two haversines
    and a difference of running sums."""

    def __init__(self, points: np.ndarray, precision: int = POLYLINE_PRECISION) -> None:
        arr = np.asarray(points, dtype=float).reshape(-1, 2)
        self.factor = 10**precision
        ints = np.round(arr * self.factor).astype(np.int64)
        codes, present = _codes(ints)
        self.text = codes[present].astype(np.uint8).tobytes().decode("ascii")
        per_point = present.sum(axis=1).reshape(-1, 2).sum(axis=1)
        self.offsets: list[int] = np.concatenate([[0], np.cumsum(per_point)]).tolist()
        self.ints: list[list[int]] = ints.tolist()
        self.points: list[list[float]] = arr.tolist()
        lat, lon = np.radians(arr[:, 0]), np.radians(arr[:, 1])
        h = (np.sin(np.diff(lat) / 2) ** 2
             + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2)
        seg = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
        self.running: list[float] = np.concatenate([[0.0], np.cumsum(seg)]).tolist()

    def piece(self, first: tuple[float, float], i: int, j: int,
              last: tuple[float, float]) -> tuple[str, int, float]:
        """(encoded polyline, points, metres) of ``first``, points ``i..j``, ``last``."""
        f = self.factor
        a = (round(first[0] * f), round(first[1] * f))
        b = (round(last[0] * f), round(last[1] * f))
        pi, pj = self.ints[i], self.ints[j]
        head: list[str] = []
        for delta in (a[0], a[1], pi[0] - a[0], pi[1] - a[1]):
            _encode_delta(head, delta)
        tail: list[str] = []
        for delta in (b[0] - pj[0], b[1] - pj[1]):
            _encode_delta(tail, delta)
        text = "".join(head) + self.text[self.offsets[i + 1]:self.offsets[j + 1]] + \
            "".join(tail)
        metres = (_metres(first, (self.points[i][0], self.points[i][1]))
                  + self.running[j] - self.running[i]
                  + _metres((self.points[j][0], self.points[j][1]), last))
        return text, j - i + 3, metres


def _encode_short(points: list[tuple[float, float]] | np.ndarray, precision: int) -> str:
    factor = 10**precision
    out: list[str] = []
    prev_lat = prev_lon = 0
    for lat, lon in points:
        ilat, ilon = round(float(lat) * factor), round(float(lon) * factor)
        _encode_delta(out, ilat - prev_lat)
        _encode_delta(out, ilon - prev_lon)
        prev_lat, prev_lon = ilat, ilon
    return "".join(out)


def decode_polyline(text: str, precision: int = POLYLINE_PRECISION) -> list[tuple[float, float]]:
    """Inverse of :func:`encode_polyline` (used by tests and the widget's server side)."""
    factor = 10**precision
    coords: list[tuple[float, float]] = []
    i = lat = lon = 0
    while i < len(text):
        vals = []
        for _ in range(2):
            shift = result = 0
            while True:
                b = ord(text[i]) - 63
                i += 1
                result |= (b & 0x1F) << shift
                shift += 5
                if b < 0x20:
                    break
            vals.append(~(result >> 1) if result & 1 else result >> 1)
        lat += vals[0]
        lon += vals[1]
        coords.append((lat / factor, lon / factor))
    return coords
