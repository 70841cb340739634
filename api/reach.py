"""``/api/v6/one-to-all`` (and v1's), ``/api/v1/one-to-many`` as MOTIS answers them.

* **one-to-all** (MOTIS's ``one_to_all.cc``): every stop reachable by transit from ``one``
  within ``maxTravelTime`` minutes (``arriveBy``: every stop from which ``one`` is reached
  by ``time``), each with its ``duration`` in minutes and ``k``, the trips of the fastest
  journey (0: walked). The search is :func:`planner.multimodal.reachability.reach_place`,
  the travel-time studies' core over one minute (:mod:`planner.analysis.reach`); this
  module parses, calls and renders. As MOTIS: the time is cut to the minute, the
  walk at ``one`` is bounded by ``maxPreTransitTime`` (arrive-by: ``maxPostTransitTime``),
  by the travel time and by the server's pre/post-transit limit; a place's ``arrival``
  (arrive-by: ``departure``) is the query time plus (minus) its duration.
* **one-to-many** (MOTIS's ``one_to_many.cc``, street routing only): the travel time on
  foot, by bike or by car from ``one`` to each of ``many`` (``arriveBy``: from each to
  ``one``), on the OSM graph where loaded, else the straight-line model, timed by the
  function every street leg of a study is (:func:`planner.analysis.reach.one_to_many`,
  so an answer equals a streets-only ``TravelTimeMatrix`` cell); a pair beyond
  ``max`` seconds, or a point farther than ``maxMatchingDistance`` from the graph, gets an
  empty object. ``withDistance`` adds the metres of each way.

Limits answer as MOTIS's ``too_many_exception`` does (429 naming the parameter):
``maxTravelTime`` above the server's ``max_one_to_all_minutes``, more than
``MAX_RESULTS`` places reached, ``maxTransfers`` above nigiri's 14, more ``many`` than
``max_one_to_many``, ``max`` above the direct-street limit. What the server cannot do is
a 400 naming it (only ``WALK`` around transit, no wheelchair profile, no routed
transfers, no car carriage, ``transferTimeFactor`` 1 only); what has no data to act on
is answered as MOTIS answers without that data (``elevationCosts``, ``vehicle*`` without
HGV routing, ``noCompulsoryReservation``: GTFS has no reservation field). On one-to-all,
``maxMatchingDistance`` bounds nothing: a coordinate reaches its stops by the straight-line
walk of the plan search, not by matching to OSM, and ``cyclingSpeed`` only matters to
``BIKE``, which is refused. ``requireBikeTransport=true`` is refused there until the plan
search's bike route mask (helper motisplan) is on main.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import Body, FastAPI, Query
from pydantic import BaseModel

from api.common import (
    ApiError,
    coord_place,
    iso,
    parse_place,
    parse_time,
    stop_place,
    versioned_level,
)
from api.runtime import Runtime
from api.stoptimes import MODE_VALUES, parse_mode_list
from api.store import Prepared
from api.versions import V1, V6, ApiVersion
from planner.analysis.reach import one_to_many
from planner.multimodal.reachability import ReachRequest, reach_place
from planner.multimodal.search import Network
from planner.routing.modes import route_mask
from planner.routing.reachability import Reach

#: MOTIS's ``onetoall_max_results``.
MAX_RESULTS = 65535
#: nigiri's ``kMaxTransfers``: MOTIS refuses more.
MAX_TRANSFERS = 14
#: MOTIS's ``street_routing_max_prepost_transit_seconds`` and ``..._max_direct_seconds``.
MAX_PRE_POST_SECONDS = 3600
MAX_DIRECT_SECONDS = 6 * 3600
#: MOTIS's ``max_max_matching_distance``: larger values are capped to it.
MAX_MATCHING_M = 250.0
#: A transfer longer than a day never fits the compiled days.
MAX_TRANSFER_MINUTES = 24 * 60
#: Street modes of one-to-many and the street model's name of each (MOTIS also has HGV).
STREET_PROFILES = {"WALK": "walk", "BIKE": "bike", "CAR": "car"}


def _refuse_unless(ok: bool, parameter: str, why: str) -> None:
    if not ok:
        raise ApiError(400, f"{parameter}: {why}", parameter)


def _transit_mask(prepared: Prepared, values: list[str] | None) -> np.ndarray | None:
    """``transitModes`` as a route mask; given but empty: no transit (walking only)."""
    tt = prepared.tt
    if values is not None and not any(v.strip() for v in values):
        return np.zeros(tt.n_routes, dtype=np.uint8)
    modes = parse_mode_list(values, "transitModes")
    return route_mask(tt, modes, prepared.line_modes)


def _street_side(values: list[str] | None, parameter: str) -> None:
    """Around transit only walking is served; empty means no street leg at all."""
    if values is None:
        return
    modes = [m.strip().upper() for v in values for m in v.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODE_VALUES]
    _refuse_unless(not unknown, parameter, f"unknown mode(s) {', '.join(unknown)}")
    other = [m for m in modes if m != "WALK"]
    _refuse_unless(not other, parameter, f"{', '.join(other)} not supported on one-to-all; "
                                         "only WALK reaches the stops around one")


def _minutes(value: int, parameter: str) -> int:
    _refuse_unless(0 <= value <= MAX_TRANSFER_MINUTES, parameter,
                   f"must be in 0..{MAX_TRANSFER_MINUTES} minutes, got {value}")
    return value


def _place(prepared: Prepared, version: ApiVersion, stop: int | None, lat: float, lon: float,
           name: str, **times: object) -> dict[str, object]:
    place = stop_place(prepared, stop, **times) if stop is not None else \
        coord_place(lat, lon, name, **times)
    return versioned_level(place, version.number)


def register_reach(app: FastAPI, rt: Runtime) -> None:
    """One-to-all on v1 (MOTIS 2's first path, ``level`` always 0) and v6; one-to-many."""
    for version in (V1, V6):
        _register_one_to_all(app, rt, version)
    _register_one_to_many(app, rt)


def _register_one_to_all(app: FastAPI, rt: Runtime, version: ApiVersion) -> None:
    s = rt.settings

    @app.get(f"{version.prefix}/one-to-all", tags=["routing"],
             name=f"one_to_all_v{version.number}",
             summary="Every stop reachable by transit from (or reaching) one place in time")
    async def one_to_all(  # camelCase parameters: MOTIS's names
        one: Annotated[str, Query(max_length=200, description="lat,lon[,level] or stop id")],
        maxTravelTime: Annotated[int, Query(description="minutes")],
        time: Annotated[str | None, Query(description="ISO 8601; default now")] = None,
        arriveBy: bool = False,
        maxTransfers: int | None = None,
        minTransferTime: int = 0,
        additionalTransferTime: int = 0,
        transferTimeFactor: float = 1.0,
        maxMatchingDistance: float = 250.0,
        useRoutedTransfers: bool = False,
        pedestrianProfile: Annotated[str, Query(pattern="^(FOOT|WHEELCHAIR)$")] = "FOOT",
        pedestrianSpeed: float | None = None,
        cyclingSpeed: float | None = None,
        elevationCosts: Annotated[str, Query(pattern="^(NONE|LOW|HIGH)$")] = "NONE",
        transitModes: Annotated[list[str] | None, Query()] = None,
        preTransitModes: Annotated[list[str] | None, Query()] = None,
        postTransitModes: Annotated[list[str] | None, Query()] = None,
        requireBikeTransport: bool = False,
        requireCarTransport: bool = False,
        noCompulsoryReservation: bool = False,
        maxPreTransitTime: int = 900,
        maxPostTransitTime: int = 900,
    ) -> dict[str, Any]:
        if maxTravelTime > s.max_one_to_all_minutes:
            raise ApiError(429, f"maxTravelTime too large ({maxTravelTime} > "
                                f"{s.max_one_to_all_minutes} minutes)", "maxTravelTime")
        if maxTransfers is not None:
            _refuse_unless(maxTransfers >= 0, "maxTransfers", f"< 0: {maxTransfers}")
            if maxTransfers > MAX_TRANSFERS:
                raise ApiError(429, f"maxTransfers > {MAX_TRANSFERS}: {maxTransfers}",
                               "maxTransfers")
        slack = 60 * (_minutes(minTransferTime, "minTransferTime")
                      + _minutes(additionalTransferTime, "additionalTransferTime"))
        _refuse_unless(transferTimeFactor == 1.0, "transferTimeFactor",
                       "only 1.0 is supported (change times are the feed's)")
        _refuse_unless(not useRoutedTransfers, "useRoutedTransfers",
                       "transfers are not routed on OSM by this server")
        _refuse_unless(pedestrianProfile == "FOOT", "pedestrianProfile",
                       "WHEELCHAIR needs accessibility data this server does not read")
        _refuse_unless(not requireBikeTransport, "requireBikeTransport",
                       "not supported on one-to-all yet")
        _refuse_unless(not requireCarTransport, "requireCarTransport",
                       "GTFS has no car carriage data")
        walk_limit = maxPostTransitTime if arriveBy else maxPreTransitTime
        _refuse_unless(maxPreTransitTime >= 0, "maxPreTransitTime", "must be >= 0")
        _refuse_unless(maxPostTransitTime >= 0, "maxPostTransitTime", "must be >= 0")
        _street_side(preTransitModes, "preTransitModes")
        _street_side(postTransitModes, "postTransitModes")
        side = postTransitModes if arriveBy else preTransitModes
        walks = side is None or any(v.strip() for v in side)
        speed = s.walk_speed_kmh / 3.6 if pedestrianSpeed is None else pedestrianSpeed
        if not (math.isfinite(speed) and speed > 0):
            walks = False  # MOTIS: nothing reached on foot without a positive speed
        zone = rt.store.timezone()
        moment = parse_time(time, "time", zone)
        if moment is not None:
            moment = moment.replace(second=0, microsecond=0)  # MOTIS counts in minutes

        def work() -> dict[str, Any]:
            prepared, when = rt.prepared_for(moment)
            when = when.replace(second=0, microsecond=0)
            place = parse_place(one, "one", prepared)
            t = int(when.timestamp()) - prepared.tt.t0
            req = ReachRequest(
                time=t, max_travel=60 * maxTravelTime, arrive_by=arriveBy,
                max_transfers=min(maxTransfers, MAX_TRANSFERS) if maxTransfers is not None
                else MAX_TRANSFERS,
                transfer_slack=slack, route_mask=_transit_mask(prepared, transitModes),
                walk_speed=speed if walks else 1.0,
                max_walk=min(walk_limit, MAX_PRE_POST_SECONDS) if walks else 0)
            network = Network(prepared.router, prepared.stop_index, prepared.group)
            found = reach_place(network, place, req)
            if len(found) > MAX_RESULTS:
                raise ApiError(429, f"too many results: {len(found)} > {MAX_RESULTS}",
                               "maxTravelTime")
            return render_reach(prepared, version, place.stop, place.lat, place.lon, found)

        return await rt.run(work)


def render_reach(prepared: Prepared, version: ApiVersion, stop: int | None, lat: float,
                 lon: float, found: Reach) -> dict[str, Any]:
    """MOTIS's ``Reachable``: ``one`` with the query time, ``all`` by stop with minutes."""
    arrive_by = bool(found.arrive_by)
    at_one = "arrival" if arrive_by else "departure"
    at_all = "departure" if arrive_by else "arrival"
    sign = -60 if arrive_by else 60
    minutes = -(-found.seconds.astype(np.int64) // 60)  # whole minutes, rounded up
    out = []
    for s, m, k in zip(found.stops.tolist(), minutes.tolist(), found.trips.tolist(),
                       strict=True):
        out.append({"place": _place(prepared, version, int(s), 0.0, 0.0, "",
                                    **{at_all: iso(prepared, found.time + sign * m)}),
                    "duration": int(m), "k": int(k)})
    return {"one": _place(prepared, version, stop, lat, lon, "END" if arrive_by else "START",
                          **{at_one: iso(prepared, found.time)}),
            "all": out}


class OneToManyParams(BaseModel):
    """MOTIS's ``OneToManyParams`` (the POST body)."""

    one: str
    many: list[str]
    mode: str
    max: float
    maxMatchingDistance: float
    arriveBy: bool
    elevationCosts: str = "NONE"
    withDistance: bool = False


def _semicolon_point(text: str, parameter: str) -> tuple[float, float]:
    """MOTIS's ``latitude;longitude[;level]``."""
    parts = [p.strip() for p in text.split(";")]
    try:
        if len(parts) not in (2, 3):
            raise ValueError(text)
        lat, lon = float(parts[0]), float(parts[1])
        if len(parts) == 3:
            float(parts[2])
    except ValueError:
        raise ApiError(400, f"{parameter}: {text!r} is not a valid geo coordinate "
                            "(expected latitude;longitude)", parameter) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not (math.isfinite(lat)
                                                             and math.isfinite(lon)):
        raise ApiError(400, f"{parameter}: coordinate out of range: {text!r}", parameter)
    return lat, lon


def one_to_many_durations(rt: Runtime, params: OneToManyParams) -> list[dict[str, float]]:
    """Parse, limit, time and render one one-to-many request (GET and POST)."""
    mode = params.mode.strip().upper()
    _refuse_unless(mode in MODE_VALUES, "mode", f"unknown mode {params.mode!r}")
    _refuse_unless(mode in STREET_PROFILES, "mode",
                   f"mode {mode} not supported for one-to-many (WALK, BIKE, CAR)")
    many_texts = [m for v in params.many for m in v.split(",") if m.strip()]
    limit = rt.settings.max_one_to_many
    if len(many_texts) > limit:
        raise ApiError(429, f"number of many locations too high ({len(many_texts)} > "
                            f"{limit})", "many")
    if params.max > MAX_DIRECT_SECONDS:
        raise ApiError(429, f"maximum travel time too high ({params.max:g} > "
                            f"{MAX_DIRECT_SECONDS})", "max")
    one = _semicolon_point(params.one, "one")
    many = [_semicolon_point(m, "many") for m in many_texts]
    match_m = min(params.maxMatchingDistance, MAX_MATCHING_M)
    if not many:
        return []
    seconds, meters = one_to_many(
        rt.sharing.streets, STREET_PROFILES[mode], one, many,
        params.max if math.isfinite(params.max) else 0.0, backward=params.arriveBy,
        max_match_m=match_m if math.isfinite(match_m) else 0.0,
        with_distance=params.withDistance)
    out: list[dict[str, float]] = []
    for i, sec in enumerate(seconds.tolist()):
        entry: dict[str, float] = {}
        if math.isfinite(sec) and sec >= 0:
            entry["duration"] = round(float(sec), 1)
            if meters is not None and math.isfinite(float(meters[i])):
                entry["distance"] = round(float(meters[i]), 1)
        out.append(entry)
    return out


def _register_one_to_many(app: FastAPI, rt: Runtime) -> None:
    @app.get("/api/v1/one-to-many", tags=["routing"],
             summary="Street travel times from one place to many (or many to one)")
    async def one_to_many(
        one: Annotated[str, Query(max_length=200, description="latitude;longitude")],
        many: Annotated[list[str], Query(description="latitude;longitude,...")],
        mode: str,
        max: Annotated[float, Query(description="seconds")],
        maxMatchingDistance: float,
        arriveBy: bool,
        withDistance: bool = False,
        elevationCosts: Annotated[str, Query(pattern="^(NONE|LOW|HIGH)$")] = "NONE",
    ) -> list[dict[str, float]]:
        params = OneToManyParams(one=one, many=many, mode=mode, max=max,
                                 maxMatchingDistance=maxMatchingDistance, arriveBy=arriveBy,
                                 elevationCosts=elevationCosts, withDistance=withDistance)
        return await rt.run(lambda: one_to_many_durations(rt, params))

    @app.post("/api/v1/one-to-many", tags=["routing"],
              summary="Street travel times from one place to many (or many to one)")
    async def one_to_many_post(
        params: Annotated[OneToManyParams, Body()],
    ) -> list[dict[str, float]]:
        _refuse_unless(params.elevationCosts in ("NONE", "LOW", "HIGH"), "elevationCosts",
                       "expected NONE, LOW or HIGH")
        return await rt.run(lambda: one_to_many_durations(rt, params))
