"""``/api/v{1,5,6}/stoptimes`` and ``/api/v6/stop``: boards and lines at a stop or near a point.

One implementation for every version (MOTIS's ``stop_times`` and ``stop`` endpoints);
the version changes only the names of modes, ``displayName`` and ``level``
(:mod:`api.versions`). Without realtime data nothing is cancelled, times are the
scheduled ones and ``realTime`` is false, as MOTIS answers then. The GTFS feeds carry no
translations, so ``language`` selects nothing; ``withAlerts`` and ``realtimeMode`` have
no data to act on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Query

from api import board
from api.common import (
    ApiError,
    coord_place,
    decode_cursor,
    encode_cursor,
    iso,
    parse_coordinate,
    parse_time,
    route_fields,
    stop_place,
    trip_fields,
    trip_id,
    versioned_level,
)
from api.runtime import Runtime
from api.store import Prepared
from api.versions import ApiVersion
from planner.routing.modes import TRANSIT_FILTERS

#: Street and on-demand modes MOTIS accepts in ``mode`` and maps to no transit class.
STREET_MODES = frozenset({"WALK", "BIKE", "RENTAL", "CAR", "HGV", "CAR_PARKING",
                          "CAR_DROPOFF", "ODM", "RIDE_SHARING", "FLEX", "DEBUG_BUS_ROUTE",
                          "DEBUG_RAILWAY_ROUTE", "DEBUG_FERRY_ROUTE"})
MODE_VALUES = TRANSIT_FILTERS | STREET_MODES


def parse_mode_list(values: list[str] | None, parameter: str) -> tuple[str, ...]:
    """``mode=A,B`` or ``mode=A&mode=B`` (MOTIS's ``explode: false`` arrays); default
    ``TRANSIT``; a value that is no MOTIS mode is a 400 naming it."""
    if not values:
        return ("TRANSIT",)
    modes = tuple(dict.fromkeys(m.strip().upper() for v in values for m in v.split(",")
                                if m.strip()))
    bad = [m for m in modes if m not in MODE_VALUES]
    if bad:
        raise ApiError(400, f"{parameter}: unknown mode(s) {', '.join(bad)}; expected "
                            f"MOTIS modes such as TRANSIT, RAIL, BUS, HIGHSPEED_RAIL",
                       parameter)
    return modes or ("TRANSIT",)


def collect_stops(prepared: Prepared, stop: int | None, center: tuple[float, float] | None,
                  radius: int | None, exact: bool) -> list[int]:
    """The stops a board or stop query covers, as MOTIS's ``add_location``: the queried
    stop's station, the stop with its platforms, and with ``radius`` every stop (with
    its platforms) within that many metres of the stop or the centre; ``exact``: each
    stop alone."""
    out: list[int] = []

    def add(s: int) -> None:
        out.append(s)
        if not exact:
            out.extend(prepared.children.get(s, ()))

    if stop is not None:
        parent = int(prepared.tt.stop_parent[stop])
        out.append(parent if parent >= 0 else stop)
        if radius is None:
            add(stop)
        else:
            lat, lon = float(prepared.tt.stop_lat[stop]), float(prepared.tt.stop_lon[stop])
            for s, _ in prepared.stop_index.within(lat, lon, float(max(radius, 0))):
                add(int(s))
    else:
        assert center is not None and radius is not None
        for s, _ in prepared.stop_index.within(center[0], center[1], float(max(radius, 0))):
            add(int(s))
    return list(dict.fromkeys(out))


def _resolve(prepared: Prepared, stop_id: str | None) -> int | None:
    if stop_id is None:
        return None
    try:
        return prepared.resolve_stop(stop_id)
    except KeyError:
        raise ApiError(404, f"stopId: unknown stop id {stop_id!r}", "stopId") from None


def _center(center: str | None) -> tuple[float, float] | None:
    if center is None:
        return None
    coordinate = parse_coordinate(center, "center")
    if coordinate is None:
        raise ApiError(400, f"center: expected 'lat,lon', got {center!r}", "center")
    return coordinate


def _where(stop_id: str | None, center: str | None, radius: int | None
           ) -> tuple[str | None, tuple[float, float] | None]:
    """MOTIS's rule: a stop id, or a centre with a radius."""
    coordinate = _center(center)
    if stop_id is None and (coordinate is None or radius is None):
        raise ApiError(400, "stopId or center with radius is required (neither given)",
                       "stopId")
    return stop_id, coordinate


class Board:
    """One stoptimes request after parsing: what to look at and how far to walk."""

    def __init__(self, version: ApiVersion, prepared: Prepared, stop: int | None,
                 center: tuple[float, float] | None, kind: str, fetch_stops: bool) -> None:
        self.v = version
        self.p = prepared
        self.stop = stop
        self.center = center
        self.kind = kind
        self.fetch_stops = fetch_stops

    def place(self, stop: int, **times: object) -> dict[str, object]:
        return versioned_level(stop_place(self.p, stop, **times), self.v.number)

    def event_place(self, trip: int, pos: int, stop: int) -> dict[str, object]:
        """The stop of a trip as MOTIS's ``to_place(run_stop)``: its times (arrival
        except at the first stop, departure except at the last), what the schedule allows
        there, never cancelled without realtime."""
        tt = self.p.tt
        r = int(tt.trip_route[trip])
        base = int(tt.route_stop_offset[r])
        last = int(tt.route_stop_offset[r + 1]) - base - 1
        st = int(tt.trip_st_offset[trip]) + pos
        times: dict[str, object] = {}
        if pos > 0:
            times["arrival"] = times["scheduledArrival"] = iso(self.p, int(tt.st_arr[st]))
        if pos < last:
            times["departure"] = times["scheduledDeparture"] = iso(self.p, int(tt.st_dep[st]))
        return self.place(
            stop, **times,
            pickupType="NORMAL" if tt.route_pickup[base + pos] else "NOT_ALLOWED",
            dropoffType="NORMAL" if tt.route_dropoff[base + pos] else "NOT_ALLOWED",
            cancelled=False)

    def end_place(self, trip: int, pos: int) -> dict[str, object]:
        """``tripFrom``/``tripTo``: a trip's first or last stop, without times."""
        tt = self.p.tt
        r = int(tt.trip_route[trip])
        base = int(tt.route_stop_offset[r])
        place = self.event_place(trip, pos, int(tt.route_stops[base + pos]))
        for key in ("arrival", "scheduledArrival", "departure", "scheduledDeparture"):
            place.pop(key, None)
        return place

    def other_stops(self, trip: int, pos: int, arrival: bool) -> list[dict[str, object]]:
        """``nextStops`` of a departure / ``previousStops`` of an arrival, up to where
        a looping trip comes back to the stop (MOTIS's ``other_stops_impl``)."""
        tt = self.p.tt
        r = int(tt.trip_route[trip])
        base = int(tt.route_stop_offset[r])
        n_pos = int(tt.route_stop_offset[r + 1]) - base
        here = int(tt.route_stops[base + pos])
        span = range(pos - 1, -1, -1) if arrival else range(pos + 1, n_pos)
        out = []
        for q in span:
            s = int(tt.route_stops[base + q])
            if s == here:
                break
            out.append(self.event_place(trip, q, s))
        return out[::-1] if arrival else out

    def stop_time(self, ev: board.Events, i: int) -> dict[str, Any]:
        tt = self.p.tt
        trip, pos, stop = int(ev.trips[i]), int(ev.pos[i]), int(ev.stops[i])
        g = int(tt.trip_gtfs[trip])
        line = int(tt.gtfs_trip_line[g])
        r = int(tt.trip_route[trip])
        last = int(tt.route_stop_offset[r + 1]) - int(tt.route_stop_offset[r]) - 1
        arrival = bool(ev.arrival[i])
        last_stop = int(tt.route_stops[int(tt.route_stop_offset[r]) + last])
        out: dict[str, Any] = {
            "place": self.event_place(trip, pos, stop),
            "mode": self.v.mode(self.p.line_modes[line]),
            "realTime": False,
            "tripFrom": self.end_place(trip, 0),
            "tripTo": self.end_place(trip, last),
            **trip_fields(tt, g, self.v.number, last_stop),
            "tripId": trip_id(tt, trip),  # the run's day with it, as plan legs send it
            "pickupDropoffType": "NORMAL" if bool(ev.allowed[i]) else "NOT_ALLOWED",
            "cancelled": False,
            "tripCancelled": False,
            "serviceDate": tt.dates[int(tt.trip_day[trip])].isoformat(),
        }
        if self.fetch_stops and self.kind != board.BOTH:
            out["previousStops" if arrival else "nextStops"] = self.other_stops(
                trip, pos, arrival)
        return out

    def response_place(self) -> dict[str, object]:
        if self.stop is not None:
            return self.place(self.stop)
        assert self.center is not None
        return versioned_level(coord_place(self.center[0], self.center[1], "center"),
                               self.v.number)


def _cursor(text: str) -> tuple[bool, int, int | None]:
    """(forward, unix seconds, trip or None) of our cursors or MOTIS's ``DIR|seconds``."""
    if "|" in text:
        direction, _, seconds = text.partition("|")
        if direction in ("EARLIER", "LATER") and seconds.lstrip("-").isdigit():
            return direction == "LATER", int(seconds), None
        raise ApiError(400, "pageCursor: not a cursor returned by this server", "pageCursor")
    data = decode_cursor(text)
    try:
        return str(data["dir"]) == "LATER", int(data["t"]), int(data["trip"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, "pageCursor: not a cursor returned by this server",
                       "pageCursor") from None


def register_stoptimes(app: FastAPI, rt: Runtime) -> None:
    """The board on every version's path, and v6's stop information."""
    limit = rt.settings.max_stoptimes
    for version in (ApiVersion(1), ApiVersion(5), ApiVersion(6)):
        _register_board(app, rt, version, limit)
    _register_stop(app, rt)


def _register_board(app: FastAPI, rt: Runtime, version: ApiVersion, limit: int) -> None:
    @app.get(f"{version.prefix}/stoptimes", tags=["timetable"],
             summary="Departures (or arrivals) at a stop, its platforms, or near a point",
             name=f"stoptimes_v{version.number}")
    async def stoptimes(  # camelCase parameters: MOTIS's names
        stopId: Annotated[str | None, Query(max_length=200,
                                            examples=["de-db-fv-2026:347953"])] = None,
        center: Annotated[str | None, Query(description="lat,lon")] = None,
        time: Annotated[str | None, Query(description="ISO 8601; default now")] = None,
        arriveBy: bool = False,
        both: bool = False,
        direction: Annotated[str | None, Query(pattern="^(EARLIER|LATER)$")] = None,
        window: Annotated[int | None, Query(ge=0, description="seconds")] = None,
        mode: Annotated[list[str] | None, Query()] = None,
        n: int | None = None,
        radius: Annotated[int | None, Query(description="metres")] = None,
        exactRadius: bool = False,
        fetchStops: bool = False,
        pageCursor: str | None = None,
        withScheduledSkippedStops: bool = False,
        realtimeMode: Annotated[str | None, Query(
            pattern="^(OFF|REALTIME|REALTIME_ANNOTATION_ONLY)$")] = None,
        language: Annotated[list[str] | None, Query()] = None,
        withAlerts: bool = True,
    ) -> dict[str, Any]:
        if n is None and window is None:
            raise ApiError(400, "neither 'n' nor 'window' is provided", "n")
        if n is not None and not 0 <= n <= limit:
            # MOTIS reads n unsigned: a negative one is "too many" as well.
            raise ApiError(429, f"n: {n} outside 0..{limit}", "n")
        stop_id, coordinate = _where(stopId, center, radius)
        modes = parse_mode_list(mode, "mode")
        zone = rt.store.timezone()
        if pageCursor:
            forward, seconds, anchor = _cursor(pageCursor)
            moment: datetime | None = datetime.fromtimestamp(seconds, ZoneInfo(zone))
        else:
            moment = parse_time(time, "time", zone)
            forward = (direction or ("EARLIER" if arriveBy else "LATER")) == "LATER"
            anchor = None
        kind = board.BOTH if both else board.ARRIVALS if arriveBy else board.DEPARTURES

        def work() -> dict[str, Any]:
            prepared, when = rt.prepared_for(moment)
            stop = _resolve(prepared, stop_id)
            stops = collect_stops(prepared, stop, coordinate, radius, exactRadius)
            ev = board.board_events(prepared, stops, kind, board.line_filter(prepared, modes),
                                    withScheduledSkippedStops)
            t0 = prepared.tt.t0
            start = int(when.timestamp()) - t0
            pos = board.select(ev, start, forward, n or 0, window, anchor)
            b = Board(version, prepared, stop, coordinate, kind, fetchStops)
            out: dict[str, Any] = {"stopTimes": [b.stop_time(ev, int(i)) for i in pos]}
            if version.number >= 5:
                out["place"] = b.response_place()
            out["previousPageCursor"] = out["nextPageCursor"] = ""
            if len(pos):
                first, last = int(pos[0]), int(pos[-1])
                out["previousPageCursor"] = encode_cursor(
                    {"dir": "EARLIER", "t": int(ev.times[first]) + t0,
                     "trip": int(ev.trips[first])})
                out["nextPageCursor"] = encode_cursor(
                    {"dir": "LATER", "t": int(ev.times[last]) + t0,
                     "trip": int(ev.trips[last])})
            return out

        return await rt.run(work)


def _register_stop(app: FastAPI, rt: Runtime) -> None:
    @app.get("/api/v6/stop", tags=["timetable"],
             summary="A stop and the routes serving it (or every stop near a point)")
    async def stop_info(
        stopId: Annotated[str | None, Query(max_length=200)] = None,
        center: Annotated[str | None, Query(description="lat,lon")] = None,
        radius: Annotated[int | None, Query(description="metres")] = None,
        exactRadius: bool = False,
        language: Annotated[list[str] | None, Query()] = None,
    ) -> dict[str, Any]:
        stop_id, coordinate = _where(stopId, center, radius)

        def work() -> dict[str, Any]:
            prepared, _ = rt.prepared_for(None)
            stop = _resolve(prepared, stop_id)
            stops = collect_stops(prepared, stop, coordinate, radius, exactRadius)
            b = Board(ApiVersion(6), prepared, stop, coordinate, board.DEPARTURES, False)
            return {"place": b.response_place(), "routes": serving_routes(prepared, stops)}

        return await rt.run(work)


def serving_routes(prepared: Prepared, stops: list[int]) -> list[dict[str, object]]:
    """MOTIS's ``Route`` of every GTFS route calling at ``stops``, by short name and id;
    the mode as of v5 (MOTIS fixes it there for this endpoint)."""
    tt = prepared.tt
    lines: set[int] = set()
    for s in stops:
        lo, hi = int(tt.stop_route_offset[s]), int(tt.stop_route_offset[s + 1])
        lines.update(int(tt.route_line[int(r)]) for r in tt.stop_route_route[lo:hi])
    out = []
    for line in lines:
        fields = route_fields(tt, line)
        out.append({
            "routeId": fields["routeId"],
            "routeShortName": fields["routeShortName"],
            "routeLongName": fields["routeLongName"],
            "mode": ApiVersion(5).mode(prepared.line_modes[line]),
            "agencyId": str(tt.line_agency_id[line]),
            "agencyName": str(tt.line_agency_name[line]),
            "agencyUrl": str(tt.line_agency_url[line]),
            "routeColor": fields["routeColor"],
            "routeTextColor": fields["routeTextColor"],
            "routeType": fields["routeType"],
        })
    out.sort(key=lambda r: (str(r["routeShortName"]), str(r["routeId"])))
    return out
