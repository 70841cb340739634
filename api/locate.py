"""``/api/v1/geocode`` and ``/api/v1/reverse-geocode`` as MOTIS answers them, over the stops.

The server has no address or POI data, so every ``Match`` is a ``STOP``; a request that
allows only ``ADDRESS`` or ``PLACE`` results gets none (as MOTIS without them), and
``areas`` is empty because no administrative areas are loaded. ``tokens`` are the spans
of the query text that matched words of the stop's name. ``numResults`` is clamped to
the server's limit and must be at least 1, as in MOTIS.

Place bias: with ``place``, a match's score gains ``placeBias * exp(-d / 50 km)``: of two
equally good name matches the nearer wins, while a better kind of match (exact over
prefix over fuzzy, one point apart) still wins unless the bias is raised above 1.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from fastapi import FastAPI, Query

from api.common import ApiError, parse_coordinate
from api.geocode import KIND_NAMES, spellings
from api.runtime import Runtime
from api.stoptimes import parse_mode_list
from api.store import Prepared
from api.versions import V5
from planner.multimodal.geometry import haversine_m
from planner.routing.modes import CLASSES, mode_allowed

MAX_RESULTS = 50
MAX_TEXT = 200  # characters of ``text`` searched (fuzzy matching is quadratic in it)
LOCATION_TYPES = frozenset({"ADDRESS", "PLACE", "STOP"})
BIAS_KM = 50.0
_WORD = re.compile(r"\w+")


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


def tokens(text: str, name: str) -> list[list[float]]:
    """``[start, length]`` of each word of ``text`` that begins a word of ``name``
    (compared in every spelling, umlauts and case ignored)."""
    words = {w for form in spellings(name) for w in form.split(" ")}
    out: list[list[float]] = []
    for m in _WORD.finditer(text):
        forms = spellings(m.group(0))
        if forms and any(w.startswith(f) for f in forms for w in words):
            out.append([float(m.start()), float(m.end() - m.start())])
    return out


def match_json(prepared: Prepared, stop: int, score: float, text: str | None
               ) -> dict[str, Any]:
    tt = prepared.tt
    name = str(tt.stop_names[stop])
    return {
        "type": "STOP",
        "tokens": tokens(text, name) if text else [],
        "name": name,
        "id": str(tt.stop_ids[stop]),
        "lat": float(tt.stop_lat[stop]),
        "lon": float(tt.stop_lon[stop]),
        "tz": str(tt.stop_tz[stop]),
        "areas": [],
        "score": round(score, 4),
        "modes": stop_classes(prepared, stop),
    }


Box = tuple[float, float, float, float]  # min lat, min lon, max lat, max lon


def _inside(prepared: Prepared, stop: int, box: Box | None,
            modes: tuple[str, ...] | None) -> bool:
    tt = prepared.tt
    lat, lon = float(tt.stop_lat[stop]), float(tt.stop_lon[stop])
    if box is not None and not (box[0] <= lat <= box[2] and box[1] <= lon <= box[3]):
        return False
    return modes is None or any(mode_allowed(c, modes) for c in stop_classes(prepared, stop))


def search(prepared: Prepared, query: str, count: int, bias_at: tuple[float, float] | None,
           bias: float, box: Box | None, modes: tuple[str, ...] | None
           ) -> list[dict[str, Any]]:
    """The ``count`` best stops for ``query`` inside ``box`` served by ``modes``, with the
    place bias applied (module doc)."""
    tt = prepared.tt
    narrowing = bias_at is not None or box is not None or modes is not None
    scored = []
    for m in prepared.search.search(query, MAX_RESULTS * 4 if narrowing else count):
        if not _inside(prepared, m.stop, box, modes):
            continue
        score = m.score
        if bias_at is not None:
            d = haversine_m(bias_at[0], bias_at[1], float(tt.stop_lat[m.stop]),
                            float(tt.stop_lon[m.stop]))
            score += bias * math.exp(-d / 1000.0 / BIAS_KM)
        scored.append((score, m))
    scored.sort(key=lambda x: -x[0])
    out = []
    for score, m in scored[:count]:
        j = match_json(prepared, m.stop, score, query)
        j["match"] = KIND_NAMES[m.kind]
        j["hasService"] = bool(prepared.search.served[m.stop])
        out.append(j)
    return out


def register_locate(app: FastAPI, rt: Runtime) -> None:
    @app.get("/api/v1/geocode", tags=["geocode"], summary="Stop search by name")
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
            if "STOP" not in types:
                return []
            prepared, _ = rt.prepared_for(None)
            return search(prepared, query, count, bias_at, bias, box, modes)

        return await rt.run(work)

    @app.get("/api/v1/reverse-geocode", tags=["geocode"], summary="Nearest stops")
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
            if "STOP" not in types:
                return []
            prepared, _ = rt.prepared_for(None)
            out = []
            found = prepared.stop_index.nearest(at[0], at[1], count)
            for stop, dist in found:
                if radius is not None and dist > radius:
                    break
                # Higher scores are better in geocode; here the nearest is best.
                j = match_json(prepared, int(stop), -float(dist), None)
                j["distance"] = round(float(dist), 1)
                out.append(j)
            return out

        return await rt.run(work)

