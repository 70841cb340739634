"""Distances on the Earth and a nearest-points index: the one home of the Earth radius.

Everything that measures between coordinates (footpath generation, street snapping,
rental radii, the API's walks and nearest stops) uses these, so a stop found "within
500 m" by one part is within 500 m for every other part.

* :data:`EARTH_RADIUS_M` is the IUGG mean radius.
* :func:`haversine_m` is the scalar form (plain ``math``: cheaper than NumPy for one
  pair); :func:`haversine_m_array` broadcasts over arrays. Both clip rounding noise.
* :func:`project_m` is an equirectangular projection to metres around one latitude, for
  Euclidean KD-trees over a region (footpaths, street nodes).
* :class:`PointIndex` keeps points on the unit sphere in a KD-tree: the Euclidean (chord)
  distance there is monotone in the great-circle distance anywhere on Earth, with no
  projection to choose per feed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8

ArrayLike = np.ndarray | float | Sequence[float]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def haversine_m_array(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike,
                      lon2: ArrayLike) -> np.ndarray:
    """Great-circle distance in metres, broadcasting over arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def path_length_m(points: Sequence[tuple[float, float]] | np.ndarray) -> float:
    """Length in metres of a polyline of (lat, lon) points."""
    arr = np.radians(np.asarray(points, dtype=float).reshape(-1, 2))
    if len(arr) < 2:
        return 0.0
    lat, lon = arr[:, 0], arr[:, 1]
    a = (np.sin(np.diff(lat) / 2) ** 2
         + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2)
    return float(np.sum(2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))))


def project_m(lat: ArrayLike, lon: ArrayLike, lat0: float) -> np.ndarray:
    """``[n, 2]`` equirectangular metres (x east, y north) around latitude ``lat0``
    (degrees): accurate to ~0.1 % over a city or region, not across continents."""
    k = math.pi / 180 * EARTH_RADIUS_M
    return np.column_stack([np.asarray(lon) * k * math.cos(math.radians(lat0)),
                            np.asarray(lat) * k])


def unit_vectors(lat: ArrayLike, lon: ArrayLike) -> np.ndarray:
    """``[n, 3]`` points on the unit sphere."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def chord(metres: float) -> float:
    """Unit-sphere chord of a great-circle distance (capped at half the circumference)."""
    return 2 * math.sin(min(math.pi, metres / EARTH_RADIUS_M) / 2)


def chord_to_m(chords: np.ndarray) -> np.ndarray:
    """Inverse of :func:`chord`, over arrays."""
    return 2 * EARTH_RADIUS_M * np.arcsin(np.clip(chords / 2, 0, 1))


class PointIndex:
    """Nearest points by great-circle distance (stops, stations, vehicles).

    Indices are positions in the arrays given; points without finite coordinates are
    never found.
    """

    def __init__(self, lat: ArrayLike, lon: ArrayLike) -> None:
        self.lat = np.asarray(lat, dtype=float)
        self.lon = np.asarray(lon, dtype=float)
        ok = np.isfinite(self.lat) & np.isfinite(self.lon)
        self.index = np.flatnonzero(ok)
        self.tree = cKDTree(unit_vectors(self.lat[ok], self.lon[ok])) if len(self.index) \
            else None

    def __len__(self) -> int:
        return len(self.lat)

    def within(self, lat: float, lon: float, radius_m: float) -> list[tuple[int, float]]:
        """(index, metres) of the points within ``radius_m``, nearest first."""
        if self.tree is None or radius_m <= 0:
            return []
        p = unit_vectors(np.array([lat]), np.array([lon]))[0]
        hits = self.tree.query_ball_point(p, chord(radius_m))
        if not hits:
            return []
        hits_arr = np.asarray(hits)
        d = chord_to_m(np.linalg.norm(self.tree.data[hits_arr] - p, axis=1))
        order = np.argsort(d, kind="stable")
        return [(int(self.index[hits_arr[i]]), float(d[i])) for i in order]

    def nearest(self, lat: float, lon: float, k: int) -> list[tuple[int, float]]:
        """(index, metres) of the ``k`` nearest points, nearest first."""
        if self.tree is None or k <= 0:
            return []
        k = min(k, len(self.index))
        p = unit_vectors(np.array([lat]), np.array([lon]))[0]
        d, i = self.tree.query(p, k=k)
        d, i = np.atleast_1d(d), np.atleast_1d(i)
        return [(int(self.index[j]), float(m)) for j, m in zip(i, chord_to_m(d), strict=True)]

    def within_any(self, lat: ArrayLike, lon: ArrayLike, radius_m: float) -> np.ndarray:
        """Indices (ascending, each once) of the points within ``radius_m`` of any of the
        given points: the candidate sets of the rental search, whose order must not depend
        on which query point found them."""
        lat_arr, lon_arr = np.atleast_1d(lat), np.atleast_1d(lon)
        if self.tree is None or len(lat_arr) == 0 or radius_m <= 0:
            return np.zeros(0, dtype=np.int64)
        hits = self.tree.query_ball_point(unit_vectors(lat_arr, lon_arr), chord(radius_m))
        found = np.unique(np.concatenate([np.asarray(h, dtype=np.int64) for h in hits]))
        return self.index[found]
