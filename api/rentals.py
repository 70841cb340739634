"""``/api/v1/rentals`` and ``/api/v1/map/rentals``: the GBFS state as MOTIS renders it.

Every configured GBFS feed is one MOTIS provider, and its own provider group (GBFS has
no grouping; MOTIS groups by system name). Providers, stations, free-floating vehicles
and geofencing zones come from each feed's current snapshot (``api/sharing.py`` keeps
them fresh); a stale feed still lists its provider but no stations or vehicles, as the
planner offers none of them then. Filters: a box (``min``/``max``) or ``point`` with
``radius``, ``providers``, ``providerGroups``, and the ``with*`` switches. KDE Itinerary
calls the same operation as ``/api/v1/map/rentals``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import FastAPI, Query

from api.common import ApiError, parse_coordinate
from api.geo import encode_polyline
from api.runtime import Runtime
from feeds.gbfs import GbfsSnapshot, GeofencingRule, VehicleType
from planner.multimodal.geometry import haversine_m

FORM_FACTORS = {"bicycle": "BICYCLE", "cargo_bicycle": "CARGO_BICYCLE", "car": "CAR",
                "moped": "MOPED", "scooter": "SCOOTER_STANDING",
                "scooter_standing": "SCOOTER_STANDING", "scooter_seated": "SCOOTER_SEATED"}
PROPULSION = {"human": "HUMAN", "electric_assist": "ELECTRIC_ASSIST", "electric": "ELECTRIC",
              "combustion": "COMBUSTION", "combustion_diesel": "COMBUSTION_DIESEL",
              "hybrid": "HYBRID", "plug_in_hybrid": "PLUG_IN_HYBRID",
              "hydrogen_fuel_cell": "HYDROGEN_FUEL_CELL"}
#: GBFS return constraints; free floating means "return anywhere" (MOTIS: NONE).
RETURNS = {"free_floating": "NONE", "any_station": "ANY_STATION",
           "roundtrip_station": "ROUNDTRIP_STATION", "hybrid": "NONE"}
ZONE_PRECISION = 6


def form_factor(gbfs: str) -> str:
    return FORM_FACTORS.get(gbfs, "OTHER")


def vehicle_type_json(t: VehicleType, docked: bool) -> dict[str, Any]:
    """A GBFS vehicle type; without ``return_constraint`` MOTIS guesses from where the
    vehicles are (docked: any station, else free floating) and says it guessed."""
    guessed = not t.return_constraint
    constraint = (RETURNS.get(t.return_constraint, "NONE") if not guessed
                  else "ANY_STATION" if docked else "NONE")
    return {"id": t.id, "name": t.name, "formFactor": form_factor(t.form_factor),
            "propulsionType": PROPULSION.get(t.propulsion_type, "HUMAN"),
            "returnConstraint": constraint, "returnConstraintGuessed": guessed}


def restrictions(rule: GeofencingRule, type_index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "vehicleTypeIdxs": [type_index[t] for t in rule.vehicle_type_ids if t in type_index],
        "rideStartAllowed": rule.ride_start_allowed,
        "rideEndAllowed": rule.ride_end_allowed,
        "rideThroughAllowed": rule.ride_through_allowed}
    if rule.station_parking is not None:
        out["stationParking"] = rule.station_parking
    return out


def _bbox(points: list[tuple[float, float]]) -> list[float]:
    """[west, south, east, north] of (lat, lon) points ([0, 0, 0, 0] for none)."""
    if not points:
        return [0.0, 0.0, 0.0, 0.0]
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    return [min(lons), min(lats), max(lons), max(lats)]


class Area:
    """Where the request looks: a box, a circle, or everywhere."""

    def __init__(self, box: tuple[float, float, float, float] | None,
                 circle: tuple[float, float, float] | None) -> None:
        self.box = box
        self.circle = circle

    def contains(self, lat: float, lon: float) -> bool:
        if self.box is not None:
            b = self.box
            if not (b[0] <= lat <= b[2] and b[1] <= lon <= b[3]):
                return False
        if self.circle is not None:
            c = self.circle
            return haversine_m(c[0], c[1], lat, lon) <= c[2]
        return True

    def meets(self, bbox: list[float]) -> bool:
        """Whether a [west, south, east, north] box overlaps the area's box."""
        if self.box is None:
            return True
        b = self.box
        return not (bbox[0] > b[3] or bbox[2] < b[1] or bbox[1] > b[2] or bbox[3] < b[0])


def provider_id(snap: GbfsSnapshot) -> str:
    return snap.system.system_id if snap.system is not None else snap.system_key


def render(snap: GbfsSnapshot, now: float, area: Area, what: set[str]) -> dict[str, list[Any]]:
    """One feed's provider, group, stations, vehicles and zones inside ``area``."""
    pid = provider_id(snap)
    system = snap.system
    types = list(snap.vehicle_types.values())
    type_index = {t.id: i for i, t in enumerate(types)}
    stations = snap.usable_stations(now)
    vehicles = snap.usable_vehicles(now)
    docked = bool(stations) and not vehicles
    factors = sorted({form_factor(t.form_factor) for t in types}
                     or {form_factor(v.form_factor) for v in vehicles} or {"BICYCLE"})
    positions = [(s.lat, s.lon) for s in stations] + [(v.lat, v.lon) for v in vehicles]
    name = system.name if system is not None else snap.system_key
    out: dict[str, list[Any]] = {"providerGroups": [], "providers": [], "stations": [],
                                 "vehicles": [], "zones": []}
    if "providers" in what:
        provider: dict[str, Any] = {
            "id": pid, "name": name, "groupId": pid, "bbox": _bbox(positions),
            "vehicleTypes": [vehicle_type_json(t, docked) for t in types],
            "formFactors": factors,
            "defaultRestrictions": {"vehicleTypeIdxs": [], "rideStartAllowed": True,
                                    "rideEndAllowed": True, "rideThroughAllowed": True},
            "globalGeofencingRules": [restrictions(r, type_index) for r in snap.global_rules]}
        if system is not None and system.operator:
            provider["operator"] = system.operator
        if system is not None and system.url:
            provider["url"] = system.url
        out["providers"].append(provider)
        out["providerGroups"].append({"id": pid, "name": name, "providers": [pid],
                                      "formFactors": factors})
    if "stations" in what:
        for s in stations:
            if not area.contains(s.lat, s.lon):
                continue
            by_type = {k: int(v) for k, v in s.available.items()}
            out["stations"].append({
                "id": s.id, "providerId": pid, "providerGroupId": pid, "name": s.name,
                "lat": s.lat, "lon": s.lon, "isRenting": s.is_renting,
                "isReturning": s.is_returning,
                "numVehiclesAvailable": s.num_vehicles_available,
                "formFactors": sorted({form_factor(f) for f, n in s.available.items() if n}),
                "vehicleTypesAvailable": by_type,
                "vehicleDocksAvailable": ({} if s.num_docks_available is None
                                          else {"": int(s.num_docks_available)}),
                "bbox": [s.lon, s.lat, s.lon, s.lat],
                **_uris(s.rental_uris)})
    if "vehicles" in what:
        for v in vehicles:
            if not area.contains(v.lat, v.lon):
                continue
            vt = snap.vehicle_types.get(v.vehicle_type_id)
            out["vehicles"].append({
                "id": v.id, "providerId": pid, "providerGroupId": pid,
                "typeId": v.vehicle_type_id, "lat": v.lat, "lon": v.lon,
                "formFactor": form_factor(v.form_factor),
                "propulsionType": PROPULSION.get(v.propulsion_type, "HUMAN"),
                "returnConstraint": (vehicle_type_json(vt, docked)["returnConstraint"]
                                     if vt is not None else "NONE"),
                "isReserved": v.is_reserved, "isDisabled": v.is_disabled,
                **_uris(v.rental_uris)})
    if "zones" in what:
        for z, zone in enumerate(snap.geofencing_zones):
            ring_points = [(lat, lon) for poly in zone.polygons for ring in poly[:1]
                           for lon, lat in ring]
            bbox = _bbox(ring_points)
            if not area.meets(bbox):
                continue
            out["zones"].append({
                "providerId": pid, "providerGroupId": pid, "name": zone.name,
                "z": len(snap.geofencing_zones) - z,  # the first zone wins: on top
                "bbox": bbox,
                "area": [[_ring(ring) for ring in poly] for poly in zone.polygons],
                "rules": [restrictions(r, type_index) for r in zone.rules]})
    return out


def _ring(ring: tuple[tuple[float, float], ...]) -> dict[str, Any]:
    latlon = [(lat, lon) for lon, lat in ring]
    return {"points": encode_polyline(latlon, ZONE_PRECISION), "precision": ZONE_PRECISION,
            "length": len(latlon)}


def _uris(uris: dict[str, str]) -> dict[str, str]:
    names = {"android": "rentalUriAndroid", "ios": "rentalUriIOS", "web": "rentalUriWeb"}
    return {names[k]: v for k, v in uris.items() if k in names and v}


def _list(values: list[str] | None) -> set[str] | None:
    if not values:
        return None
    return {x.strip() for v in values for x in v.split(",") if x.strip()}


def _area(low: str | None, high: str | None, point: str | None, radius: int | None) -> Area:
    box = None
    if low is not None and high is not None:
        a, b = parse_coordinate(low, "min"), parse_coordinate(high, "max")
        if a is None or b is None:
            bad = "min" if a is None else "max"
            raise ApiError(400, f"{bad}: not a coordinate", bad)
        box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
    circle = None
    if point is not None:
        c = parse_coordinate(point, "point")
        if c is None:
            raise ApiError(400, f"point: not a coordinate: {point!r}", "point")
        circle = (c[0], c[1], float(radius) if radius is not None else math.inf)
    return Area(box, circle)


def register_rentals(app: FastAPI, rt: Runtime) -> None:
    for path in ("/api/v1/rentals", "/api/v1/map/rentals"):
        _register(app, rt, path)


def _register(app: FastAPI, rt: Runtime, path: str) -> None:
    @app.get(path, tags=["sharing"], name=path.replace("/", "_"),
             summary="Rental providers, stations, vehicles and zones (GBFS)")
    async def rentals(
        box_min: Annotated[str | None, Query(alias="min", description="lat,lon")] = None,
        box_max: Annotated[str | None, Query(alias="max", description="lat,lon")] = None,
        point: Annotated[str | None, Query(description="lat,lon")] = None,
        radius: Annotated[int | None, Query(description="metres around point")] = None,
        providerGroups: Annotated[list[str] | None, Query()] = None,
        providers: Annotated[list[str] | None, Query()] = None,
        withProviders: bool = True,
        withStations: bool = True,
        withVehicles: bool = True,
        withZones: bool = True,
    ) -> dict[str, list[Any]]:
        area = _area(box_min, box_max, point, radius)
        wanted = _list(providers)
        groups = _list(providerGroups)
        what = {k for k, on in (("providers", withProviders), ("stations", withStations),
                                ("vehicles", withVehicles), ("zones", withZones)) if on}

        def work() -> dict[str, list[Any]]:
            now = rt.sharing.now()
            out: dict[str, list[Any]] = {"providerGroups": [], "providers": [],
                                         "stations": [], "vehicles": [], "zones": []}
            for snap in rt.sharing.snapshots():
                pid = provider_id(snap)
                names = {pid, snap.system_key}
                if wanted is not None and not names & wanted:
                    continue
                if groups is not None and not names & groups:
                    continue
                for key, items in render(snap, now, area, what).items():
                    out[key].extend(items)
            return out

        return await rt.run(work)
