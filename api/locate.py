"""``/api/v1/geocode`` and ``/api/v1/reverse-geocode`` as MOTIS answers them: parse the
request, ask the :class:`~planner.places.search.Geocoder`, render MOTIS ``Match`` objects.

Results are stops of the timetable and, once the OSM extracts are loaded
(:mod:`api.places`), addresses and places; until then, or when they failed to load,
stops only (as MOTIS without its geocoder). The ranking, the place bias and the areas
are the planner's (:mod:`planner.places.search`); here ``type`` is parsed, ``mode``
becomes a filter on stops and ``numResults`` is clamped to the server's limit (at least 1,
as in MOTIS). Besides MOTIS's fields a match says how it matched (``match``: exact,
prefix, word-prefix, fuzzy) and a stop whether any line serves it (``hasService``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import FastAPI, Query

from api.common import ApiError, parse_coordinate
from api.runtime import Runtime
from api.stoptimes import parse_mode_list
from api.store import Prepared
from api.versions import V5
from planner.places.search import KIND_NAMES, Area, Box, Found
from planner.routing.modes import CLASSES, mode_allowed

MAX_RESULTS = 50
MAX_TEXT = 200  # characters of ``text`` searched (fuzzy matching is quadratic in it)
LOCATION_TYPES = frozenset({"ADDRESS", "PLACE", "STOP"})


def parse_types(values: list[str] | None) -> frozenset[str]:
    if not values:
        return LOCATION_TYPES
    types = frozenset(t.strip().upper() for v in values for t in v.split(",") if t.strip())
    bad = sorted(types - LOCATION_TYPES)
    if bad:
        raise ApiError(400, f"type: unknown location type(s) {', '.join(bad)}; expected "
                            "ADDRESS, PLACE or STOP", "type")
    return types or LOCATION_TYPES


def _count(numResults: int | None, default: int) -> int:
    if numResults is None:
        return default
    if numResults < 1:
        raise ApiError(400, f"numResults: must be >= 1, got {numResults}", "numResults")
    return min(numResults, MAX_RESULTS)


def _coordinate(text: str | None, parameter: str) -> tuple[float, float] | None:
    if text is None:
        return None
    c = parse_coordinate(text, parameter)
    if c is None:
        raise ApiError(400, f"{parameter}: expected 'lat,lon', got {text!r}", parameter)
    return c


def stop_classes(prepared: Prepared, stop: int) -> list[str]:
    """MOTIS classes (v5 names) of the lines calling at a stop or its platforms."""
    tt = prepared.tt
    found: set[str] = set()
    for s in (stop, *prepared.children.get(stop, ())):
        lo, hi = int(tt.stop_route_offset[s]), int(tt.stop_route_offset[s + 1])
        found.update(prepared.line_modes[int(tt.route_line[int(r)])]
                     for r in tt.stop_route_route[lo:hi])
    return [V5.mode(c) for c in CLASSES if c in found]


def areas_json(areas: list[Area]) -> list[dict[str, Any]]:
    """MOTIS ``Area`` objects; the one nearest admin level 7 (the municipality) is the
    ``default`` shown as context."""
    out = [{"name": a.name, "adminLevel": float(a.level), "matched": a.matched}
           for a in areas]
    if out:
        best = min(range(len(areas)), key=lambda i: abs(areas[i].level - 7))
        out[best]["default"] = True
    return out


def match_json(prepared: Prepared, f: Found) -> dict[str, Any]:
    """One MOTIS ``Match``."""
    out: dict[str, Any] = {
        "type": f.type,
        "tokens": [[float(a), float(n)] for a, n in f.tokens],
        "name": f.name,
        "id": f.id,
        "lat": f.lat,
        "lon": f.lon,
        "areas": areas_json(f.areas),
        "score": round(f.score, 4),
    }
    if f.type == "STOP":
        out["tz"] = str(prepared.tt.stop_tz[f.stop])
        out["modes"] = stop_classes(prepared, f.stop)
        out["importance"] = round(f.importance, 4)
        out["hasService"] = bool(prepared.search.served[f.stop])
    else:
        out["tz"] = prepared.tt.timezone
        for key, value in (("street", f.street), ("houseNumber", f.house_number),
                           ("zip", f.zip), ("category", f.category)):
            if value:
                out[key] = value
    if f.distance == f.distance:  # reverse geocoding
        out["distance"] = round(f.distance, 1)
    else:
        out["match"] = KIND_NAMES[f.kind]
    return out


def register_locate(app: FastAPI, rt: Runtime) -> None:
    @app.get("/api/v1/geocode", tags=["geocode"], summary="Stops, addresses and places by name")
    async def geocode(
        text: Annotated[str, Query(description="name or part of it, any case, umlauts "
                                               "optional (\"guetersloh\")")],
        language: Annotated[list[str] | None, Query()] = None,
        type: Annotated[list[str] | None, Query()] = None,
        mode: Annotated[list[str] | None, Query()] = None,
        place: Annotated[str | None, Query(description="lat,lon to bias towards")] = None,
        placeBias: float = 1.0,
        numResults: int | None = None,
        box_min: Annotated[str | None, Query(alias="min", description="lat,lon")] = None,
        box_max: Annotated[str | None, Query(alias="max", description="lat,lon")] = None,
        limit: Annotated[int | None, Query(description="older name of numResults")] = None,
    ) -> list[dict[str, Any]]:
        count = _count(numResults if numResults is not None else limit, 10)
        types = parse_types(type)
        modes = parse_mode_list(mode, "mode") if mode else None
        bias_at = _coordinate(place, "place")
        low, high = _coordinate(box_min, "min"), _coordinate(box_max, "max")
        box: Box | None = None
        if low is not None and high is not None:
            box = (min(low[0], high[0]), min(low[1], high[1]),
                   max(low[0], high[0]), max(low[1], high[1]))
        query = text[:MAX_TEXT]
        bias = placeBias if math.isfinite(placeBias) else 0.0

        def work() -> list[dict[str, Any]]:
            prepared, _ = rt.prepared_for(None)

            def keep(stop: int) -> bool:
                return modes is None or any(mode_allowed(c, modes)
                                            for c in stop_classes(prepared, stop))

            found = rt.geocoder(prepared).search(query, count, types, bias_at, bias, box,
                                                 keep if modes is not None else None)
            return [match_json(prepared, f) for f in found]

        return await rt.run(work)

    @app.get("/api/v1/reverse-geocode", tags=["geocode"],
             summary="Nearest stops, addresses and places")
    async def reverse_geocode(
        place: Annotated[str, Query(description="lat,lon")],
        type: Annotated[list[str] | None, Query()] = None,
        numResults: int | None = None,
        limit: Annotated[int | None, Query(description="older name of numResults")] = None,
        radius: Annotated[float | None, Query(gt=0, description="metres; default: "
                                                               "no bound, as MOTIS")] = None,
    ) -> list[dict[str, Any]]:
        at = _coordinate(place, "place")
        assert at is not None
        count = _count(numResults if numResults is not None else limit, 5)
        types = parse_types(type)

        def work() -> list[dict[str, Any]]:
            prepared, _ = rt.prepared_for(None)
            found = rt.geocoder(prepared).reverse(at[0], at[1], count, types,
                                                  prepared.stop_index, radius)
            return [match_json(prepared, f) for f in found]

        return await rt.run(work)

