"""Origins and destinations of a study: ids and coordinates, read from what planners have.

A table with ``id, lat, lon`` columns (CSV, or a pandas frame), a GeoJSON or GeoPackage
of points (or a GeoPandas frame; polygons count by their representative point), or a
regular grid over a bounding box or inside a polygon (``grid``: cells of ``spacing_m``
metres, points at the cell centres, ids ``"row_col"``). Other columns are kept
(``weight`` columns of opportunities for accessibility).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Metres per degree of latitude (the geometry module's Earth radius).
_M_PER_DEG = 6_371_008.8 * math.pi / 180


@dataclass(frozen=True, eq=False)
class Points:
    """Points with string ids (unique) and ``(lat, lon)``; ``data`` has every column."""

    data: pd.DataFrame  # id, lat, lon, ...

    def __post_init__(self) -> None:
        for col in ("id", "lat", "lon"):
            if col not in self.data.columns:
                raise ValueError(f"points need an {col!r} column (have {list(self.data.columns)})")
        ids = self.data["id"].astype(str)
        if ids.duplicated().any():
            raise ValueError(f"point ids must be unique; {ids[ids.duplicated()].iloc[0]!r} repeats")
        lat = pd.to_numeric(self.data["lat"], errors="coerce")
        lon = pd.to_numeric(self.data["lon"], errors="coerce")
        bad = ~(lat.between(-90, 90) & lon.between(-180, 180))
        if bad.any():
            raise ValueError(f"point {ids[bad].iloc[0]!r} has no valid lat/lon")
        frame = self.data.copy()
        frame["id"], frame["lat"], frame["lon"] = ids, lat.astype(float), lon.astype(float)
        object.__setattr__(self, "data", frame.reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.data)

    @property
    def ids(self) -> np.ndarray:
        return self.data["id"].to_numpy(dtype=object)

    @property
    def coords(self) -> np.ndarray:
        """``float64[n, 2]`` ``(lat, lon)`` rows."""
        return np.ascontiguousarray(self.data[["lat", "lon"]].to_numpy(dtype=float))

    def take(self, index: np.ndarray | slice) -> Points:
        return Points(self.data.iloc[index])

    # -- constructors ----------------------------------------------------------------
    @classmethod
    def of(cls, frame: Any, id_column: str = "id") -> Points:
        """From a pandas frame (``id, lat, lon``) or a GeoPandas frame of points."""
        if isinstance(frame, Points):
            return frame
        if hasattr(frame, "geometry") and hasattr(frame, "to_crs"):
            return cls._of_geo(frame, id_column)
        df = pd.DataFrame(frame)
        if id_column != "id":
            df = df.rename(columns={id_column: "id"})
        return cls(df)

    @classmethod
    def _of_geo(cls, gdf: Any, id_column: str) -> Points:
        if gdf.crs is not None:
            gdf = gdf.to_crs(4326)
        geom = gdf.geometry
        pts = geom.where(geom.geom_type == "Point", geom.representative_point())
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        if id_column in df.columns:
            df = df.rename(columns={id_column: "id"})
        else:
            df["id"] = [str(i) for i in range(len(df))]
        df["lat"], df["lon"] = pts.y.to_numpy(), pts.x.to_numpy()
        return cls(df)

    @classmethod
    def read(cls, path: str | Path, id_column: str = "id") -> Points:
        """CSV (``id, lat, lon``), GeoJSON or GeoPackage (any other vector file GDAL
        reads works too)."""
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"no such points file: {p}")
        if p.suffix.lower() in (".csv", ".txt"):
            return cls.of(pd.read_csv(p, dtype={id_column: str}), id_column)
        import geopandas as gpd

        return cls.of(gpd.read_file(p), id_column)

    @classmethod
    def grid(cls, spacing_m: float, bbox: tuple[float, float, float, float] | None = None,
             polygon: Any = None) -> Points:
        """Cell centres of a regular grid (``bbox``: min lon, min lat, max lon, max lat;
        or the bounds of ``polygon``, a shapely geometry in lon/lat, keeping the centres
        inside it). Metres are local: degrees of longitude shrink with the box's middle
        latitude."""
        if spacing_m <= 0:
            raise ValueError(f"grid spacing must be > 0 m, got {spacing_m}")
        if bbox is None:
            if polygon is None:
                raise ValueError("a grid needs a bbox or a polygon")
            west, south, east, north = (float(v) for v in polygon.bounds)
            bbox = (west, south, east, north)
        assert bbox is not None
        west, south, east, north = bbox
        if not (west < east and south < north):
            raise ValueError(f"bbox must be min_lon,min_lat,max_lon,max_lat; got {bbox}")
        dlat = spacing_m / _M_PER_DEG
        dlon = dlat / math.cos(math.radians((south + north) / 2))
        n_rows = max(1, math.ceil((north - south) / dlat))
        n_cols = max(1, math.ceil((east - west) / dlon))
        if n_rows * n_cols > 2_000_000:
            raise ValueError(f"grid of {n_rows} x {n_cols} cells is too large (over 2,000,000)")
        r, c = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
        lat = south + (r.ravel() + 0.5) * dlat
        lon = west + (c.ravel() + 0.5) * dlon
        ids = [f"{i}_{j}" for i, j in zip(r.ravel(), c.ravel(), strict=True)]
        df = pd.DataFrame({"id": ids, "lat": lat, "lon": lon})
        if polygon is not None:
            import shapely

            inside = shapely.contains_xy(polygon, df["lon"].to_numpy(), df["lat"].to_numpy())
            df = df[inside]
        return cls(df)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``min_lon,min_lat,max_lon,max_lat``."""
    parts = [p for p in text.split(",") if p.strip()]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"bbox must be four numbers min_lon,min_lat,max_lon,max_lat; "
                         f"got {text!r}") from None
    if len(values) != 4:
        raise ValueError(f"bbox must be four numbers min_lon,min_lat,max_lon,max_lat; "
                         f"got {text!r}")
    return values[0], values[1], values[2], values[3]


def parse_distance(text: str) -> float:
    """``500m``, ``1km`` or a plain number of metres."""
    t = text.strip().lower()
    try:
        if t.endswith("km"):
            return float(t[:-2]) * 1000
        if t.endswith("m"):
            return float(t[:-1])
        return float(t)
    except ValueError:
        raise ValueError(f"not a distance (e.g. 500m, 1km): {text!r}") from None
