"""Request parsing and response pieces shared by the endpoints (MOTIS naming)."""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from api.store import Prepared
from planner.multimodal.search import Location
from planner.timetable.model import Timetable

#: The machine-readable ``code`` of an error body when the raise names none (issue 14:
#: clients such as the widget show their own words for a code, never our English text).
DEFAULT_CODES = {400: "invalid_parameter", 403: "forbidden", 404: "not_found",
                 422: "invalid_parameter", 429: "too_many_requests", 503: "unavailable"}


def error_code(status: int) -> str:
    return DEFAULT_CODES.get(status, "internal" if status >= 500 else "bad_request")


class ApiError(Exception):
    """An error the client caused (or a limit it hit); becomes
    ``{"error": message, "code": code, "parameter"?}``."""

    def __init__(self, status: int, message: str, parameter: str | None = None,
                 headers: dict[str, str] | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter
        self.headers = headers or {}  # e.g. Retry-After on 429 and 503
        self.code = code or error_code(status)


_NUM = r"\s*([-+]?\d+(?:\.\d+)?)\s*"
_COORD = re.compile(rf"^{_NUM},{_NUM}(?:,{_NUM})?$")


def parse_coordinate(text: str, parameter: str) -> tuple[float, float] | None:
    """``(lat, lon)`` of ``lat,lon[,level]``; None when ``text`` is not shaped like that,
    400 naming ``parameter`` when it is but lies off the globe."""
    m = _COORD.match(text)
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ApiError(400, f"{parameter}: coordinate out of range: {text!r}", parameter)
    return lat, lon


def parse_place(text: str, parameter: str, prepared: Prepared) -> Location:
    """``lat,lon[,level]`` or a stop id (404 naming it when unknown)."""
    coordinate = parse_coordinate(text, parameter)
    if coordinate is not None:
        return Location(lat=coordinate[0], lon=coordinate[1])
    if not text.strip():
        raise ApiError(400, f"{parameter}: empty; expected 'lat,lon' or a stop id", parameter)
    try:
        i = prepared.resolve_stop(text.strip())
    except KeyError:
        raise ApiError(404, f"{parameter}: unknown stop id {text!r}", parameter,
                       code="unknown_stop") from None
    tt = prepared.tt
    return Location(lat=float(tt.stop_lat[i]), lon=float(tt.stop_lon[i]), stop=i,
                    name=str(tt.stop_names[i]))


def parse_time(text: str | None, parameter: str, zone: str) -> datetime | None:
    """ISO 8601; a time without offset is local time in the timetable's zone."""
    if text is None or text == "":
        return None
    raw = text.strip().replace("z", "Z")
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{parameter}: not an ISO 8601 date-time: {text!r} "
                            "(e.g. 2026-04-20T08:00:00+02:00)", parameter) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment


def iso(prepared: Prepared, t: int) -> str:
    """ISO 8601 local time of timetable time ``t`` (memoised per timetable: a response has
    hundreds of times and a zone conversion each is a large share of building it)."""
    cache = prepared.iso_cache
    text = cache.get(t)
    if text is None:
        text = iso_local(prepared.tt.t0 + int(t), prepared.zone, prepared.iso_hours)
        if len(cache) < 400_000:
            cache[t] = text
    return text


#: ``date.toordinal()`` of 1970-01-01: POSIX days to dates.
_EPOCH_ORDINAL = 719_163


def iso_local(posix: int, zone: ZoneInfo, hours: dict[int, tuple[int, str] | None]) -> str:
    """``datetime.fromtimestamp(posix, zone).isoformat()`` from the UTC offset of the
    POSIX hour (zone conversions were most of a cold plan's time formatting): an hour with
    one offset throughout is kept in ``hours`` as (offset seconds, offset text); an hour
    with a change of offset takes the conversion."""
    hour = posix // 3600
    if hour in hours:
        known = hours[hour]
    else:
        start = datetime.fromtimestamp(hour * 3600, zone)
        offset = start.utcoffset()
        same = offset is not None and \
            datetime.fromtimestamp(hour * 3600 + 3599, zone).utcoffset() == offset
        known = (int(offset.total_seconds()), start.isoformat()[19:]) \
            if same and offset is not None and start.year >= 1000 else None
        if len(hours) >= 100_000:
            hours.clear()
        hours[hour] = known
    if known is None:
        return datetime.fromtimestamp(posix, zone).isoformat()
    days, second = divmod(posix + known[0], 86_400)
    hh, rest = divmod(second, 3600)
    mm, ss = divmod(rest, 60)
    day = date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    return f"{day}T{hh:02d}:{mm:02d}:{ss:02d}{known[1]}"


def parse_modes(text: str | None, parameter: str, allowed: frozenset[str],
                default: tuple[str, ...]) -> tuple[str, ...]:
    if text is None:
        return default
    modes = tuple(sorted({m.strip().upper() for m in text.split(",") if m.strip()}))
    bad = [m for m in modes if m not in allowed]
    if bad:
        raise ApiError(400, f"{parameter}: unknown mode(s) {', '.join(bad)}; "
                            f"expected any of {', '.join(sorted(allowed))}", parameter)
    return modes


def route_fields(tt: Timetable, line: int) -> dict[str, object]:
    """The route* fields of a leg or board entry; one place so plans and boards agree."""
    return {
        "routeId": str(tt.line_ids[line]),
        "routeShortName": str(tt.line_short_name[line]),
        "routeLongName": str(tt.line_long_name[line]),
        "routeColor": str(tt.line_color[line]),
        "routeTextColor": str(tt.line_text_color[line]),
        "routeType": int(tt.line_type[line]),
    }


def display_name(tt: Timetable, gtfs_trip: int) -> str:
    """The line label riders see: the route's short name ("ICE 10", "RE 6"), else the
    trip's short name, else the route's long name (nigiri's order for GTFS)."""
    line = int(tt.gtfs_trip_line[gtfs_trip])
    for text in (tt.line_short_name[line], tt.gtfs_trip_short_name[gtfs_trip],
                 tt.line_long_name[line]):
        if str(text):
            return str(text)
    return ""


def trip_fields(tt: Timetable, gtfs_trip: int, version: int,
                last_stop: int | None = None) -> dict[str, object]:
    """What a MOTIS leg and a stop time both say about their trip, line and agency.

    ``headsign``: the GTFS trip_headsign, else the name of the trip's ``last_stop``
    (nigiri's fallback; the DB feeds have no headsigns at all).

    Without realtime data a trip is never cancelled and has no realtime times; GTFS has
    no reservation field, so MOTIS's default for it, ``NONE``, applies. Before v4 MOTIS
    sends the display name as ``routeShortName``."""
    line = int(tt.gtfs_trip_line[gtfs_trip])
    label = display_name(tt, gtfs_trip)
    headsign = str(tt.gtfs_trip_headsign[gtfs_trip])
    if not headsign and last_stop is not None:
        headsign = str(tt.stop_names[last_stop])
    out: dict[str, object] = {
        "headsign": headsign,
        "agencyId": str(tt.line_agency_id[line]),
        "agencyName": str(tt.line_agency_name[line]),
        "agencyUrl": str(tt.line_agency_url[line]),
        **route_fields(tt, line),
        "routeUrl": str(tt.line_url[line]),
        "directionId": "1" if int(tt.gtfs_trip_direction[gtfs_trip]) == 1 else "0",
        "tripId": str(tt.gtfs_trip_ids[gtfs_trip]),
        "tripShortName": str(tt.gtfs_trip_short_name[gtfs_trip]),
        "bikesAllowed": int(tt.gtfs_trip_bikes[gtfs_trip]) == 1,
        "wheelchairAccessible": ("ACCESSIBLE" if int(tt.gtfs_trip_wheelchair[gtfs_trip]) == 1
                                 else "NOT_ACCESSIBLE"),
        "reservation": "NONE",
        "source": trip_source(tt, gtfs_trip),
    }
    if version >= 4:
        out["displayName"] = label
    else:
        out["routeShortName"] = label
    return out


def trip_source(tt: Timetable, gtfs_trip: int) -> str:
    """``feed/trips.txt:line`` of a trip (MOTIS: "filename and line number")."""
    feed = str(tt.gtfs_trip_ids[gtfs_trip]).split(":", 1)[0]
    return f"{feed}/trips.txt:{int(tt.gtfs_trip_source_line[gtfs_trip])}"


# --- places and cursors -------------------------------------------------------------------

def stop_place(prepared: Prepared, stop: int, **times: object) -> dict[str, object]:
    """A stop as MOTIS's ``Place`` up to v5; ``times`` (arrival, scheduledDeparture,
    pickupType...) are added where not None. v6 and later: :func:`versioned_level`."""
    base = prepared.place_cache.get(stop)
    if base is None:
        base = prepared.place_cache[stop] = _stop_place(prepared, stop)
    out = dict(base)
    if times:
        out.update({k: v for k, v in times.items() if v is not None})
    return out


def _stop_place(prepared: Prepared, stop: int) -> dict[str, object]:
    """As MOTIS's ``to_place`` of a timetable location: ``track`` and ``scheduledTrack``
    from ``platform_code`` (equal until realtime exists), ``stopCode`` and ``description``
    only when the feed has them, ``tz`` the stop's zone."""
    tt = prepared.tt
    out: dict[str, object] = {
        "name": str(tt.stop_names[stop]),
        "stopId": str(tt.stop_ids[stop]),
        "lat": _finite(tt.stop_lat[stop]),
        "lon": _finite(tt.stop_lon[stop]),
        "level": 0,
        "tz": str(tt.stop_tz[stop]),
        "vertexType": "TRANSIT",
    }
    parent = int(tt.stop_parent[stop])
    if parent >= 0:
        out["parentId"] = str(tt.stop_ids[parent])
    track = str(tt.stop_platform_code[stop])
    if track:
        out["scheduledTrack"] = out["track"] = track
    for key, column in (("stopCode", tt.stop_code), ("description", tt.stop_desc)):
        if str(column[stop]):
            out[key] = str(column[stop])
    return out


def coord_place(lat: float, lon: float, name: str, **times: object) -> dict[str, object]:
    """A coordinate as MOTIS's ``Place`` up to v5 (``vertexType`` NORMAL); ``tz`` is
    one of the optional ``times`` fields here."""
    out: dict[str, object] = {"name": name, "lat": lat, "lon": lon, "level": 0,
                              "vertexType": "NORMAL"}
    out.update({k: v for k, v in times.items() if v is not None})
    return out


#: From this API version on, MOTIS leaves ``level`` out when it is unknown (it is only
#: known from OSM platform matching, which this server does not do); before, it sends 0.
LEVEL_UNSET_FROM = 6


def versioned_level(place: dict[str, object], version: int) -> dict[str, object]:
    """``place`` (changed in place) as API ``version`` sends it."""
    if version >= LEVEL_UNSET_FROM:
        place.pop("level", None)
    return place


def _finite(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def encode_cursor(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, parameter: str = "pageCursor") -> dict[str, Any]:
    try:
        pad = "=" * (-len(text) % 4)
        data = json.loads(base64.urlsafe_b64decode(text + pad))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, f"{parameter}: not a cursor returned by this server", parameter) \
            from None


def trip_id(tt: Timetable, trip: int) -> str:
    """A leg's ``tripId``: its service day and GTFS trip (``20260420_feed:trip``), as MOTIS's
    trip ids carry the day, so that ``/trip`` finds the very run of the leg."""
    day = tt.dates[int(tt.trip_day[trip])]
    return f"{day:%Y%m%d}_{tt.gtfs_trip_ids[int(tt.trip_gtfs[trip])]}"


def split_trip_id(text: str) -> tuple[date | None, str]:
    """(service day, GTFS trip id) of a ``tripId``; a plain GTFS trip id has no day."""
    head, sep, rest = text.partition("_")
    if sep and len(head) == 8 and head.isdigit():
        try:
            return datetime.strptime(head, "%Y%m%d").date(), rest
        except ValueError:
            pass
    return None, text
