"""Isochrone polygons: where an origin reaches within a cutoff, per percentile.

One polygon per origin, percentile and cutoff, the union of

* **walking buffers around the stops**: a stop reached in ``t`` (that percentile of its
  times over the window) gets a circle of what the egress mode covers in the rest
  ``cutoff - t`` (at most the egress bound), at the straight-line model's speed and
  detour; and a circle around the origin for the direct trip. Under the straight-line
  model every point inside is reached within the cutoff at that percentile: at each
  minute the point's time is at most the stop's time plus the walk, so its percentile is
  too. Circles are drawn as polygons inside the true circle, in each centre's own local
  metres, and shrunk by ``SAFETY`` against rounding;
* **the reachable sample points** (the destinations) that no buffer covers (reached by
  combining different stops at different minutes, or through the street graph), each a
  small disc no wider than half the way to the nearest sample point not reached.

On an OSM graph a walk is longer than the straight line, so a circle could take in a
point the streets do not reach in time: every circle is therefore cut back short of the
nearest sample point not reached (under the straight-line model this never binds). So
the polygon contains every sampled point reached within the cutoff and none that is not
(``tests/test_analysis.py`` checks both); between the samples it is the buffers' drawing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from planner.analysis.points import Points
from planner.analysis.statistics import percentile_seconds
from planner.multimodal.geometry import chord_to_m, unit_vectors

if TYPE_CHECKING:  # shapely is imported where polygons are made: a matrix worker needs none
    import shapely

    from planner.analysis.study import Study

#: Circles are drawn a little inside their radius (rounding of seconds and projection).
SAFETY = 0.99
#: Vertices per circle quarter.
QUAD_SEGS = 8
#: Metres per degree of latitude.
_M_PER_DEG = 6_371_008.8 * np.pi / 180
#: Largest disc around a sample point that only the points themselves put in the polygon.
POINT_DISC_M = 50.0


def circles(lat: np.ndarray, lon: np.ndarray, radius_m: np.ndarray) -> np.ndarray:
    """Polygons (lon/lat) inscribed in the circles, each in its centre's local metres."""
    import shapely

    n = 4 * QUAD_SEGS
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    dy = radius_m[:, None] * np.sin(angle)[None] / _M_PER_DEG
    dx = radius_m[:, None] * np.cos(angle)[None] / (_M_PER_DEG * np.cos(np.radians(lat)))[:, None]
    ring = np.stack([lon[:, None] + dx, lat[:, None] + dy], axis=2)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    return np.asarray(shapely.polygons(ring))


def _speed(study: Study, mode: str) -> tuple[float, float]:
    """(metres per second, seconds lost at the end) of ``mode`` on the straight line."""
    r = study.request
    model = study.streets.model
    kmh = r.speed_kmh(mode) or model.speeds_kmh[mode]
    lost = model.car_parking_s if mode == "car" else 0.0
    return kmh / 3.6 / model.detour, lost


def polygon(study: Study, origin: tuple[float, float], stop_t: np.ndarray, direct_max: int,
            points: Points, point_t: np.ndarray, cutoff_s: int) -> shapely.Geometry:
    """One isochrone (module docstring); ``stop_t``/``point_t``: seconds at one percentile."""
    import shapely

    speed, lost = _speed(study, study.request.egress_mode)
    direct_speed, direct_lost = _speed(study, study.request.access_mode)
    bound = study.request.max_street_seconds(study.request.egress_mode)
    rest = np.minimum(cutoff_s - stop_t.astype(np.int64), bound) - lost
    on = np.flatnonzero((stop_t < cutoff_s) & (rest > 0))
    lat = np.append(np.asarray(study.tt.stop_lat)[on], origin[0])
    lon = np.append(np.asarray(study.tt.stop_lon)[on], origin[1])
    radius = np.append(rest[on] * speed,
                       max(min(cutoff_s, direct_max) - direct_lost, 0) * direct_speed)
    reached = point_t < cutoff_s
    coords = points.coords
    far = np.flatnonzero(~reached)
    tree = cKDTree(unit_vectors(coords[far, 0], coords[far, 1])) if len(far) else None

    def clear_of_far(lat: np.ndarray, lon: np.ndarray, limit: np.ndarray) -> np.ndarray:
        """``limit``, cut to ``SAFETY`` of the way to the nearest point not reached."""
        if tree is None or len(lat) == 0:
            return limit * SAFETY
        d, _ = tree.query(unit_vectors(lat, lon))
        return np.minimum(limit, chord_to_m(np.atleast_1d(d))) * SAFETY

    radius = clear_of_far(lat, lon, radius)
    keep = radius > 0
    shapes = list(circles(lat[keep], lon[keep], radius[keep]))
    area = shapely.union_all(shapes) if shapes else shapely.Polygon()
    missing = np.flatnonzero(reached & ~shapely.contains_xy(area, coords[:, 1], coords[:, 0]))
    if len(missing):
        disc = clear_of_far(coords[missing, 0], coords[missing, 1],
                            np.full(len(missing), 2 * POINT_DISC_M)) / 2
        discs = circles(coords[missing, 0], coords[missing, 1], disc)
        area = shapely.union_all([area, *discs])
    return area


def isochrone_rows(study: Study, origins: Points, cutoffs: tuple[int, ...]) -> pd.DataFrame:
    """``id, percentile, cutoff, geometry`` (WKB) for a chunk of origins."""
    import shapely

    r = study.request
    access, direct = study.access(origins), study.direct(origins)
    mode = r.access_mode
    direct_max = r.max_street_seconds(mode)
    rows: list[tuple[str, int, int, bytes]] = []
    coords = origins.coords
    for i, origin in enumerate(origins.ids):
        rows_i = access.rows(i)
        stop_pct = percentile_seconds(study.stop_times(rows_i), r.percentiles)
        point_pct = percentile_seconds(study.travel_times(rows_i, direct[i]), r.percentiles)
        for j, p in enumerate(r.percentiles):
            for c in cutoffs:
                shape = polygon(study, (float(coords[i, 0]), float(coords[i, 1])),
                                stop_pct[:, j], direct_max, study.destinations,
                                point_pct[:, j], c * 60)
                rows.append((origin, p, c, shapely.to_wkb(shape)))
    return pd.DataFrame(rows, columns=["id", "percentile", "cutoff", "geometry"])
