"""Geometry helpers: distances, a KD-tree over stops, Google polylines."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


class StopIndex:
    """Nearest stops by great-circle distance.

    Points live on the unit sphere so the tree's Euclidean (chord) distance is monotone
    in the true distance anywhere on Earth, with no projection to choose per feed.
    """

    def __init__(self, lat: np.ndarray, lon: np.ndarray) -> None:
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        ok = np.isfinite(lat) & np.isfinite(lon)
        self.index = np.nonzero(ok)[0]
        self.tree = cKDTree(_unit_vectors(lat[ok], lon[ok])) if len(self.index) else None

    @staticmethod
    def _chord(metres: float) -> float:
        return 2 * math.sin(min(math.pi, metres / EARTH_RADIUS_M) / 2)

    @staticmethod
    def _metres(chord: np.ndarray) -> np.ndarray:
        return 2 * EARTH_RADIUS_M * np.arcsin(np.clip(chord / 2, 0, 1))

    def within(self, lat: float, lon: float, radius_m: float) -> list[tuple[int, float]]:
        """(stop index, metres) within ``radius_m``, nearest first."""
        if self.tree is None or radius_m <= 0:
            return []
        p = _unit_vectors(np.array([lat]), np.array([lon]))[0]
        hits = self.tree.query_ball_point(p, self._chord(radius_m))
        if not hits:
            return []
        hits_arr = np.asarray(hits)
        d = self._metres(np.linalg.norm(self.tree.data[hits_arr] - p, axis=1))
        order = np.argsort(d, kind="stable")
        return [(int(self.index[hits_arr[i]]), float(d[i])) for i in order]

    def nearest(self, lat: float, lon: float, k: int) -> list[tuple[int, float]]:
        if self.tree is None or k <= 0:
            return []
        k = min(k, len(self.index))
        p = _unit_vectors(np.array([lat]), np.array([lon]))[0]
        d, i = self.tree.query(p, k=k)
        d, i = np.atleast_1d(d), np.atleast_1d(i)
        metres = self._metres(d)
        return [(int(self.index[j]), float(m)) for j, m in zip(i, metres, strict=True)]


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
    ints = np.round(arr * 10**precision).astype(np.int64)
    deltas = np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
    values = np.where(deltas < 0, ~(deltas << 1), deltas << 1)
    rest = values[:, None] >> _SHIFTS  # what is left before emitting chunk k
    present = rest > 0
    present[:, 0] = True
    more = np.zeros_like(present)
    more[:, :-1] = rest[:, 1:] > 0
    codes = (rest & 0x1F) + 0x20 * more + 63
    return codes[present].astype(np.uint8).tobytes().decode("ascii")


def _encode_short(points: list[tuple[float, float]] | np.ndarray, precision: int) -> str:
    factor = 10**precision
    out: list[str] = []
    prev_lat = prev_lon = 0
    for lat, lon in points:
        ilat, ilon = round(float(lat) * factor), round(float(lon) * factor)
        for delta in (ilat - prev_lat, ilon - prev_lon):
            v = ~(delta << 1) if delta < 0 else delta << 1
            while v >= 0x20:
                out.append(chr((0x20 | (v & 0x1F)) + 63))
                v >>= 5
            out.append(chr(v + 63))
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


def path_length_m(points: list[tuple[float, float]] | np.ndarray) -> float:
    arr = np.radians(np.asarray(points, dtype=float).reshape(-1, 2))
    if len(arr) < 2:
        return 0.0
    lat, lon = arr[:, 0], arr[:, 1]
    a = (np.sin(np.diff(lat) / 2) ** 2
         + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2)
    return float(np.sum(2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))))
