"""Which indexed points are nearest a point (reverse geocoding), as two cached arrays.

A KD-tree over the index's points would be rebuilt in every process and hold float64
copies of the coordinates, its own point order and its nodes (~50 bytes a point, more
than the rest of a small index together). Instead the points are sorted once, when the
index is built, by the 250 m grid cell they fall in (equirectangular metres around the
extract's mean latitude): ``near_order`` (point ids by cell) and ``near_cells`` (their
sorted cell numbers) are cached and memory-mapped with the other arrays, a few bytes a
point. A query reads the square of cells around the point, ``np.searchsorted`` per row of
cells, and widens it until the ``k``-th nearest found is surely inside it; the cells are
read and measured in C (:mod:`planner.places.grid_search`). Distances are great-circle
metres, as ``haversine_m_array`` measures them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from planner.multimodal.geometry import EARTH_RADIUS_M, project_m
from planner.places.grid_search import square
from planner.places.names import compact_int

CELL_M = 250.0
#: ``near_grid``: projection latitude, grid origin (metres), columns, rows, and the
#: largest factor by which the projection lengthens a distance among the points.
GRID_FIELDS = ("lat0", "x0", "y0", "cols", "rows", "stretch")


def _stretch(lat0: float, lat: float) -> float:
    """How much longer the projection around ``lat0`` makes an east-west distance at
    ``lat`` (above 1 poleward of ``lat0``)."""
    return math.cos(math.radians(lat0)) / max(1e-9, math.cos(math.radians(lat)))


def build_grid(lat: np.ndarray, lon: np.ndarray) -> dict[str, np.ndarray]:
    """``near_order``, ``near_cells`` and ``near_grid`` of the points (finite ones only)."""
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)
    ok = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
    if len(ok) == 0:
        return {"near_order": np.zeros(0, np.int32), "near_cells": np.zeros(0, np.int32),
                "near_grid": np.zeros(len(GRID_FIELDS))}
    lat0 = float(np.mean(lat[ok]))
    xy = project_m(lat[ok], lon[ok], lat0)
    x0, y0 = float(xy[:, 0].min()), float(xy[:, 1].min())
    col = ((xy[:, 0] - x0) // CELL_M).astype(np.int64)
    row = ((xy[:, 1] - y0) // CELL_M).astype(np.int64)
    cols, rows = int(col.max()) + 1, int(row.max()) + 1
    cell = row * cols + col
    order = np.lexsort((ok, cell))
    stretch = max(_stretch(lat0, float(lat[ok].min())), _stretch(lat0, float(lat[ok].max())),
                  1.0)
    return {"near_order": compact_int(ok[order]), "near_cells": compact_int(cell[order]),
            "near_grid": np.array([lat0, x0, y0, cols, rows, stretch], float)}


class NearGrid:
    """Nearest points of :func:`build_grid`'s arrays; the points' coordinates are read
    from ``parts`` (float32 lat, lon arrays of consecutive ids: addresses, then
    records), not copied into one array."""

    def __init__(self, order: np.ndarray, cells: np.ndarray, grid: np.ndarray,
                 parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        self.order = order
        self.cells = cells
        self.lat0, self.x0, self.y0, cols, rows, self.stretch = (float(v) for v in grid)
        self.cols, self.rows = int(cols), int(rows)
        self.parts = tuple(parts)

    def _square(self, lat: float, lon: float, qr: int, qc: int, r: int, below: int | None
                ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Ids and metres of the points in the cells at most ``r`` rows and columns from
        the query's, and whether those cells are the whole grid."""
        r0, r1 = max(0, qr - r), min(self.rows - 1, qr + r)
        c0, c1 = max(0, qc - r), min(self.cols - 1, qc + r)
        if r0 > r1 or c0 > c1:
            return np.zeros(0, np.int64), np.zeros(0), False
        (lat_a, lon_a), (lat_b, lon_b) = self.parts
        ids, d = square(self.cells, self.order, lat_a, lon_a, lat_b, lon_b, self.cols, r0,
                        r1, c0, c1, lat, lon, -1 if below is None else below,
                        EARTH_RADIUS_M)
        whole = r0 == 0 and c0 == 0 and r1 == self.rows - 1 and c1 == self.cols - 1
        return ids, d, whole

    def nearest(self, lat: float, lon: float, k: int, below: int | None = None,
                radius_m: float | None = None) -> list[tuple[int, float]]:
        """(point id, metres) of the ``k`` nearest points (ids under ``below`` only,
        within ``radius_m`` only), nearest first; of equal distances, the lower id."""
        if len(self.order) == 0 or k <= 0:
            return []
        qx, qy = project_m(lat, lon, self.lat0)[0]
        qc = math.floor((qx - self.x0) / CELL_M)
        qr = math.floor((qy - self.y0) / CELL_M)
        # The projection lengthens a distance at most this much (and 1 % for the plane):
        # a point d metres away lies within d * stretch / CELL_M cells of the query's.
        stretch = max(self.stretch, _stretch(self.lat0, lat)) * 1.01
        enough: float = math.inf if radius_m is None else math.ceil(radius_m * stretch / CELL_M)
        r = max(0, -qc, qc - (self.cols - 1), -qr, qr - (self.rows - 1))  # to the grid
        step = 1
        while True:
            ids, d, whole = self._square(lat, lon, qr, qc, r, below)
            covered = whole or r >= enough
            if len(ids) >= k or covered:
                if radius_m is not None:
                    near = d <= radius_m
                    ids, d = ids[near], d[near]
                first = np.lexsort((ids, d))[:k]
                if covered or (len(first) == k and d[first[-1]] * stretch <= r * CELL_M):
                    return [(int(ids[i]), float(d[i])) for i in first]
                if len(first) == k:  # all nearer than the k-th are within this many cells
                    r = max(r + 1, math.ceil(d[first[-1]] * stretch / CELL_M))
                    continue
            r = int(min(r + step, enough))
            step *= 2
