"""The notebook API, r5py's way: each study is a frame computed when it is constructed.

``TravelTimeMatrix`` and ``Accessibility`` are pandas ``DataFrame`` subclasses,
``Isochrones`` a GeoPandas ``GeoDataFrame`` (EPSG:4326); all take a
:class:`~planner.analysis.network.TransportNetwork`, origins and destinations as pandas
frames (``id, lat, lon``), GeoPandas frames of points or :class:`Points`, and r5r's
parameters (:class:`~planner.analysis.request.StudyRequest`). Operations on them give
plain frames.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from planner.analysis.jobs import Job, run
from planner.analysis.network import TransportNetwork
from planner.analysis.points import Points
from planner.analysis.request import StudyRequest, parse_modes
from planner.analysis.study import Study


def _request(departure: datetime, params: dict[str, Any]) -> StudyRequest:
    for key in ("percentiles", "share_cutoffs"):
        if key in params:
            params[key] = tuple(int(v) for v in params[key])
    if "mode" in params:
        params["mode"] = parse_modes(params["mode"])
    return StudyRequest(departure=departure, **params)


def _compute(kind: str, network: TransportNetwork, origins: Any, destinations: Any,
             departure: datetime, params: dict[str, Any], cutoffs: tuple[int, ...] = (),
             weight: str | None = None) -> pd.DataFrame:
    progress = bool(params.pop("progress", False))
    chunk_size = int(params.pop("chunk_size", 64))
    request = _request(departure, params)
    origin_points = Points.of(origins)
    dest = Points.of(destinations) if destinations is not None else origin_points
    job = Job(kind, network.spec, request, dest, tuple(int(c) for c in cutoffs), weight)
    study = Study(network.tt, request, dest, network.streets, network.router)
    return run(job, origin_points, chunk_size, progress, study)


class TravelTimeMatrix(pd.DataFrame):
    """``from_id, to_id, travel_time_pNN...``: r5r's ``travel_time_matrix``."""

    def __init__(self, network: TransportNetwork, origins: Any, destinations: Any = None,
                 *, departure: datetime, **params: Any) -> None:
        super().__init__(_compute("matrix", network, origins, destinations,  # type: ignore[call-arg]
                                  departure, params))

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame


class Accessibility(pd.DataFrame):
    """``id, opportunity, percentile, cutoff, accessibility``: cumulative opportunities
    (the destinations' ``weight`` column, or 1 each) within each cutoff (minutes)."""

    def __init__(self, network: TransportNetwork, origins: Any, opportunities: Any, *,
                 departure: datetime, cutoffs: tuple[int, ...] | list[int],
                 weight: str | None = None, **params: Any) -> None:
        super().__init__(_compute(  # type: ignore[call-arg]
            "accessibility", network, origins, opportunities, departure, params,
            tuple(cutoffs), weight))

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame


def to_geo(frame: pd.DataFrame) -> Any:
    """A frame with a WKB ``geometry`` column as a GeoDataFrame (EPSG:4326)."""
    import geopandas as gpd

    return gpd.GeoDataFrame(frame.drop(columns="geometry"),
                            geometry=gpd.GeoSeries.from_wkb(frame["geometry"]), crs=4326)


def _isochrone_base() -> type:
    import geopandas as gpd

    base: type = gpd.GeoDataFrame
    return base


class Isochrones(_isochrone_base()):  # type: ignore[misc]
    """``id, percentile, cutoff, geometry``: one polygon per origin, percentile and
    cutoff (minutes), from the stops' walking buffers and the reachable ``destinations``
    (sample points; default: the timetable's stops)."""

    def __init__(self, network: TransportNetwork, origins: Any, *, departure: datetime,
                 cutoffs: tuple[int, ...] | list[int], destinations: Any = None,
                 **params: Any) -> None:
        if destinations is None:
            destinations = stop_points(network)
        frame = _compute("isochrones", network, origins, destinations, departure, params,
                         tuple(cutoffs))
        super().__init__(to_geo(frame))

    @property
    def _constructor(self) -> Any:
        return _isochrone_base()


def stop_points(network: TransportNetwork) -> Points:
    """The timetable's stops as sample points (ids as the feeds give them)."""
    tt = network.tt
    return Points(pd.DataFrame({"id": [str(s) for s in tt.stop_ids],
                                "lat": tt.stop_lat, "lon": tt.stop_lon}))
