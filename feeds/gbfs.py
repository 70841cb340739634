"""GBFS client: discover, fetch, validate and keep the live state of a sharing system.

Why it is built like this:

* One :class:`GbfsFeed` per system. ``refresh(now)`` refetches only the files whose own
  ``ttl`` has expired and sends ``If-None-Match`` / ``If-Modified-Since``, so an unchanged
  file costs a 304 and keeps its state.
* A file that fails (HTTP error, timeout, bad JSON, schema violation) keeps its last good
  state; the reason is logged and kept in :class:`FileStatus`. Live files
  (``station_status``, ``free_bike_status`` / ``vehicle_status``) whose last successful
  fetch is older than ``max_age`` are dropped from ``usable_stations()`` /
  ``usable_vehicles()``: offering no bike is better than offering a phantom one.
* GBFS 1.x (no ``version`` field), 2.x and 3.0 are normalised into the same dataclasses.
  Broken records (no id, no coordinates, a count that is NaN or negative, a rental link
  that is not http(s) or the app's own) are skipped one by one and counted by reason
  (``FileStatus.skipped``, in health); only a broken file structure rejects the file.
* URL resolution. Mirrored feeds list the operator's URLs and OTP test fixtures list
  ``file:src/test/resources/...`` URLs. With ``resolve="auto"`` a listed URL that is not
  http(s), or that cannot be fetched (connect error, timeout, 404), is replaced by the
  manifest's sibling ``<manifest dir>/<name><manifest suffix>`` (e.g. ``.../gbfs.json`` ->
  ``.../station_status.json``); ``resolve="manifest"`` always uses siblings (mirrors,
  tests); ``resolve="listed"`` never does.
* Raw payloads and their timestamps also go to a :class:`StateStore`: in-process by
  default, :class:`RedisStateStore` to let several workers share one copy (a worker adopts
  a newer copy from the store instead of fetching it again).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

log = logging.getLogger(__name__)

FORM_FACTORS = frozenset(
    {"bicycle", "cargo_bicycle", "car", "moped", "scooter", "scooter_standing",
     "scooter_seated", "other"}
)
#: Files we read; others listed in the manifest (pricing, alerts, ...) are ignored.
KNOWN_FILES = ("system_information", "vehicle_types", "station_information",
               "station_status", "free_bike_status", "vehicle_status", "geofencing_zones")
#: Files with live state: these go stale, the rest is reference data.
LIVE_FILES = ("station_status", "free_bike_status", "vehicle_status")
MANIFEST = "gbfs"

Resolve = Literal["auto", "manifest", "listed"]
Ring = tuple[tuple[float, float], ...]  # (lon, lat) pairs, GeoJSON order
Polygon = tuple[Ring, ...]  # outer ring, then holes


class GbfsError(ValueError):
    """A GBFS file violates the schema in a way we cannot skip over."""


# --- normalised model -------------------------------------------------------------------


@dataclass(frozen=True)
class GbfsSystem:
    system_id: str
    name: str
    language: str
    timezone: str
    version: str
    operator: str = ""
    url: str = ""
    rental_apps: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VehicleType:
    id: str
    form_factor: str
    propulsion_type: str
    name: str = ""
    max_range_meters: float | None = None
    #: GBFS 2.3+: where a ride may end (``free_floating``, ``roundtrip_station``,
    #: ``any_station``, ``hybrid``); "" when the feed does not say.
    return_constraint: str = ""


#: GBFS: without vehicle_types.json all vehicles are human-powered bicycles.
DEFAULT_VEHICLE_TYPE = VehicleType("", "bicycle", "human")


@dataclass(frozen=True)
class Station:
    id: str
    name: str
    lat: float
    lon: float
    capacity: int | None = None
    rental_uris: dict[str, str] = field(default_factory=dict)
    has_status: bool = False
    num_vehicles_available: int = 0
    available: dict[str, int] = field(default_factory=dict)  # form factor -> count
    num_docks_available: int | None = None  # None: not reported (virtual/hybrid station)
    is_installed: bool = False
    is_renting: bool = False
    is_returning: bool = False
    last_reported: float | None = None

    def can_pick_up(self, form_factor: str | None = None) -> bool:
        if not (self.has_status and self.is_installed and self.is_renting):
            return False
        if form_factor is None:
            return self.num_vehicles_available > 0
        return self.available.get(form_factor, 0) > 0

    def can_return(self) -> bool:
        if not (self.has_status and self.is_installed and self.is_returning):
            return False
        return self.num_docks_available is None or self.num_docks_available > 0


@dataclass(frozen=True)
class Vehicle:
    id: str
    lat: float
    lon: float
    vehicle_type_id: str = ""
    form_factor: str = "bicycle"
    propulsion_type: str = "human"
    current_range_meters: float | None = None
    is_reserved: bool = False
    is_disabled: bool = False
    station_id: str | None = None
    rental_uris: dict[str, str] = field(default_factory=dict)
    last_reported: float | None = None

    @property
    def is_available(self) -> bool:
        return not (self.is_reserved or self.is_disabled)


@dataclass(frozen=True)
class GeofencingRule:
    vehicle_type_ids: tuple[str, ...] = ()  # empty: all vehicle types
    ride_start_allowed: bool = True
    ride_end_allowed: bool = True
    ride_through_allowed: bool = True
    station_parking: bool | None = None
    maximum_speed_kph: float | None = None

    def applies_to(self, vehicle_type_id: str | None) -> bool:
        return not self.vehicle_type_ids or vehicle_type_id in self.vehicle_type_ids


@dataclass(frozen=True)
class GeofencingZone:
    name: str
    polygons: tuple[Polygon, ...]
    rules: tuple[GeofencingRule, ...]

    def contains(self, lat: float, lon: float) -> bool:
        return any(_in_polygon(poly, lon, lat) for poly in self.polygons)

    def rule_for(self, vehicle_type_id: str | None) -> GeofencingRule | None:
        return next((r for r in self.rules if r.applies_to(vehicle_type_id)), None)


def _in_polygon(polygon: Polygon, x: float, y: float) -> bool:
    """Even-odd ray casting over all rings, so holes are holes."""
    inside = False
    for ring in polygon:
        n = len(ring)
        for i in range(n):
            x1, y1 = ring[i]
            x2, y2 = ring[(i + 1) % n]
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


# --- parsing (one function per file; raise GbfsError on structural problems) ------------


#: Records skipped while parsing one file: reason -> count (shown in health).
Skips = Counter[str]


def _skip(skips: Skips | None, reason: str, example: object) -> None:
    """Count a skipped record; the first of each reason is logged as its example."""
    if skips is not None:
        skips[reason] += 1
    first = skips is None or skips[reason] == 1
    log.log(logging.WARNING if first else logging.DEBUG, "GBFS record skipped (%s): %s",
            reason, example)


def _count(value: Any) -> int | None:
    """A non-negative whole count, or None: NaN, infinities, negatives, text and booleans
    are not counts (json reads NaN and Infinity as floats)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0 or value != int(value):
        return None
    return int(value)


def _require(cond: bool, msg: str) -> None:
    if not cond:
        raise GbfsError(msg)


def _data(payload: Any) -> dict[str, Any]:
    _require(isinstance(payload, dict), "top level is not a JSON object")
    data = payload.get("data")
    _require(isinstance(data, dict), "missing 'data' object")
    return data


def _records(payload: Any, key: str) -> list[dict[str, Any]]:
    items = _data(payload).get(key)
    if not isinstance(items, list):
        raise GbfsError(f"'data.{key}' is not a list")
    bad = [i for i in items if not isinstance(i, dict)]
    _require(not bad, f"'data.{key}' has non-object entries")
    return items


def _text(value: Any, language: str | None = None) -> str:
    """Plain string (1.x/2.x) or localized ``[{language, text}]`` (3.0)."""
    if isinstance(value, list):
        texts = {v.get("language"): v.get("text") for v in value if isinstance(v, dict)}
        chosen = texts.get(language) or next(iter(texts.values()), "")
        return str(chosen or "")
    return "" if value is None else str(value)


def _timestamp(value: Any) -> float | None:
    """POSIX seconds (1.x/2.x) or RFC 3339 (3.0)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise GbfsError(f"bad timestamp {value!r}") from None


def _bool(value: Any, default: bool = False) -> bool:
    return default if value is None else bool(value)  # 1.x uses 0/1


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _coords(rec: dict[str, Any]) -> tuple[float, float] | None:
    lat, lon = _float(rec.get("lat")), _float(rec.get("lon"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


#: ``android``/``ios`` rental URIs may use the operator app's own scheme (the spec's
#: ``com.abcrental.android://...``, Oslo's real ``oslobysykkel://stations/2351``); these
#: schemes run code or read local data in a browser and never pass, nor does anything
#: but http(s) as a ``web`` link.
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*", re.IGNORECASE)
_UNSAFE_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "blob", "about",
                             "filesystem", "view-source", "jar", "ms-appx"})


def _safe_uri(key: str, uri: str) -> bool:
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return bool(parts.netloc)
    return (key in ("android", "ios") and bool(_SCHEME.fullmatch(scheme))
            and scheme not in _UNSAFE_SCHEMES)


def _uris(value: Any, skips: Skips | None = None) -> dict[str, str]:
    """``rental_uris`` with only the links the spec allows: ``web`` http(s); ``android``
    and ``ios`` http(s) or the app's own scheme."""
    if not isinstance(value, dict):
        return {}
    out = {}
    for k, v in value.items():
        if isinstance(v, str) and _safe_uri(str(k), v.strip()):
            out[str(k)] = v.strip()
        else:
            _skip(skips, f"rental_uris.{k}: not an http(s) or app link", v)
    return out


def parse_manifest(payload: Any, language: str | None = None) -> tuple[str, dict[str, str]]:
    """``(version, {file name: url})`` from gbfs.json of any version."""
    data = _data(payload)
    version = str(payload.get("version") or "1.0")
    feeds = data.get("feeds")
    if not isinstance(feeds, list):  # 1.x/2.x: data.<language>.feeds
        langs = {k: v["feeds"] for k, v in data.items()
                 if isinstance(v, dict) and isinstance(v.get("feeds"), list)}
        _require(bool(langs), "gbfs.json has neither data.feeds nor data.<lang>.feeds")
        pick = language if language in langs else ("en" if "en" in langs else next(iter(langs)))
        feeds = langs[pick]
    urls: dict[str, str] = {}
    for f in feeds:
        if isinstance(f, dict) and f.get("name") and f.get("url"):
            urls[str(f["name"])] = str(f["url"])
    return version, urls


def parse_system_information(payload: Any, version: str, language: str | None) -> GbfsSystem:
    data = _data(payload)
    _require(bool(data.get("system_id")), "system_information without system_id")
    langs = data.get("languages") or [data.get("language") or ""]
    lang = language if language is not None and language in langs else str(
        langs[0] if langs else "")
    return GbfsSystem(
        system_id=str(data["system_id"]),
        name=_text(data.get("name"), lang),
        language=lang,
        timezone=str(data.get("timezone") or ""),
        version=version,
        operator=_text(data.get("operator"), lang),
        url=str(data.get("url") or ""),
        rental_apps=dict(data.get("rental_apps") or {}),
    )


def parse_vehicle_types(payload: Any, language: str | None = None) -> dict[str, VehicleType]:
    types: dict[str, VehicleType] = {}
    for rec in _records(payload, "vehicle_types"):
        vid = rec.get("vehicle_type_id")
        if not vid:
            log.warning("GBFS vehicle type without vehicle_type_id skipped")
            continue
        form = str(rec.get("form_factor") or "other")
        if form not in FORM_FACTORS:
            log.warning("GBFS vehicle type %s: unknown form_factor %r, using 'other'", vid, form)
            form = "other"
        types[str(vid)] = VehicleType(
            id=str(vid),
            form_factor=form,
            propulsion_type=str(rec.get("propulsion_type") or "human"),
            name=_text(rec.get("name"), language),
            max_range_meters=_float(rec.get("max_range_meters")),
            return_constraint=str(rec.get("return_constraint") or ""),
        )
    return types


def parse_station_information(payload: Any, language: str | None = None,
                              skips: Skips | None = None) -> dict[str, Station]:
    stations: dict[str, Station] = {}
    for rec in _records(payload, "stations"):
        sid = rec.get("station_id")
        name = _text(rec.get("name"), language)
        if sid in (None, ""):
            _skip(skips, "station without station_id", name)
            continue
        xy = _coords(rec)
        if xy is None:
            _skip(skips, "station without valid coordinates", f"{sid} ({name!r})")
            continue
        stations[str(sid)] = Station(
            id=str(sid), name=name or str(sid), lat=xy[0], lon=xy[1],
            capacity=_count(rec.get("capacity")),
            rental_uris=_uris(rec.get("rental_uris"), skips),
        )
    return stations


@dataclass(frozen=True)
class _StationStatus:
    total: int
    by_type: dict[str, int]
    docks: int | None
    is_installed: bool
    is_renting: bool
    is_returning: bool
    last_reported: float | None


def parse_station_status(payload: Any, skips: Skips | None = None
                         ) -> dict[str, _StationStatus]:
    """Each station's status; a station with a count that is not a count (NaN, negative,
    text) is skipped alone and counted, the rest of the file stays usable."""
    out: dict[str, _StationStatus] = {}
    for rec in _records(payload, "stations"):
        sid = rec.get("station_id")
        if sid in (None, ""):
            _skip(skips, "station status without station_id", rec)
            continue
        total = _count(rec.get("num_vehicles_available", rec.get("num_bikes_available")))
        if total is None:
            _skip(skips, "station status: num_vehicles_available missing or not a count", sid)
            continue
        types = [t for t in rec.get("vehicle_types_available") or [] if isinstance(t, dict)]
        by_type = {str(t.get("vehicle_type_id")): _count(t.get("count") or 0) for t in types}
        docks_raw = rec.get("num_docks_available")
        docks = _count(docks_raw)
        if any(c is None for c in by_type.values()) or (docks_raw is not None and docks is None):
            _skip(skips, "station status: a vehicle or dock count is not a count", sid)
            continue
        out[str(sid)] = _StationStatus(
            total=total, by_type={k: int(v or 0) for k, v in by_type.items()}, docks=docks,
            is_installed=_bool(rec.get("is_installed"), True),
            is_renting=_bool(rec.get("is_renting"), True),
            is_returning=_bool(rec.get("is_returning"), True),
            last_reported=_timestamp(rec.get("last_reported")),
        )
    return out


def parse_vehicles(payload: Any, skips: Skips | None = None) -> list[Vehicle]:
    """free_bike_status (``bikes``/``bike_id``) or vehicle_status (``vehicles``)."""
    data = _data(payload)
    key = "vehicles" if "vehicles" in data else "bikes"
    out: list[Vehicle] = []
    skipped = 0
    for rec in _records(payload, key):
        vid = rec.get("vehicle_id", rec.get("bike_id"))
        xy = _coords(rec)
        if vid in (None, "") or xy is None:
            skipped += 1  # docked vehicles may omit coordinates; stations cover them
            if rec.get("station_id") in (None, ""):
                _skip(skips, "vehicle without id or valid coordinates", vid)
            continue
        reported = rec.get("last_reported")
        try:
            last_reported = _timestamp(reported)
        except GbfsError:
            _skip(skips, "vehicle with a bad last_reported", vid)
            continue
        out.append(Vehicle(
            id=str(vid), lat=xy[0], lon=xy[1],
            vehicle_type_id=str(rec.get("vehicle_type_id") or ""),
            current_range_meters=_float(rec.get("current_range_meters")),
            is_reserved=_bool(rec.get("is_reserved")),
            is_disabled=_bool(rec.get("is_disabled")),
            station_id=str(rec["station_id"]) if rec.get("station_id") else None,
            rental_uris=_uris(rec.get("rental_uris"), skips),
            last_reported=last_reported,
        ))
    if skipped:
        log.warning("GBFS %s: %d vehicles without id or coordinates skipped", key, skipped)
    return out


def _rule(rec: dict[str, Any]) -> GeofencingRule:
    ids = rec.get("vehicle_type_ids", rec.get("vehicle_type_id")) or ()
    ids = (ids,) if isinstance(ids, str) else tuple(str(i) for i in ids)
    allowed = rec.get("ride_allowed")  # 2.x: one flag for start and end
    park = rec.get("station_parking")
    return GeofencingRule(
        vehicle_type_ids=ids,
        ride_start_allowed=_bool(rec.get("ride_start_allowed", allowed), True),
        ride_end_allowed=_bool(rec.get("ride_end_allowed", allowed), True),
        ride_through_allowed=_bool(rec.get("ride_through_allowed"), True),
        station_parking=None if park is None else bool(park),
        maximum_speed_kph=_float(rec.get("maximum_speed_kph")),
    )


def parse_geofencing_zones(
    payload: Any, language: str | None = None
) -> tuple[list[GeofencingZone], list[GeofencingRule]]:
    data = _data(payload)
    fc = data.get("geofencing_zones")
    if not (isinstance(fc, dict) and isinstance(fc.get("features"), list)):
        raise GbfsError("'data.geofencing_zones' is not a FeatureCollection")
    zones: list[GeofencingZone] = []
    for feat in fc["features"]:
        geom = (feat or {}).get("geometry") or {}
        coords = geom.get("coordinates")
        if geom.get("type") == "Polygon":
            coords = [coords]
        if geom.get("type") not in ("Polygon", "MultiPolygon") or not isinstance(coords, list):
            log.warning("GBFS geofencing zone with geometry %r skipped", geom.get("type"))
            continue
        polygons = tuple(
            tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in poly)
            for poly in coords
        )
        props = feat.get("properties") or {}
        zones.append(GeofencingZone(
            name=_text(props.get("name"), language), polygons=polygons,
            rules=tuple(_rule(r) for r in props.get("rules") or [] if isinstance(r, dict)),
        ))
    global_rules = [_rule(r) for r in data.get("global_rules") or [] if isinstance(r, dict)]
    return zones, global_rules


# --- state stores ------------------------------------------------------------------------


class StateStore(Protocol):
    """Per system: file name -> JSON-able entry (payload plus fetch timestamps)."""

    def load(self, system: str) -> dict[str, dict[str, Any]]: ...

    def save(self, system: str, name: str, entry: dict[str, Any]) -> None: ...


class MemoryStateStore:
    """In-process store; share one instance between feeds of the same process."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def load(self, system: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: json.loads(v) for k, v in self._data.get(system, {}).items()}

    def save(self, system: str, name: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self._data.setdefault(system, {})[name] = json.dumps(entry)


class RedisStateStore:
    """Redis hash per system (``<prefix><system>``), one JSON value per file, so workers
    writing different files never overwrite each other."""

    def __init__(self, url: str, prefix: str = "owl:gbfs:",
                 expire_seconds: int = 7 * 86400) -> None:
        import redis  # imported here: only deployments with Redis need a server

        self._redis = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.prefix = prefix
        self.expire_seconds = expire_seconds

    def load(self, system: str) -> dict[str, dict[str, Any]]:
        raw = self._redis.hgetall(self.prefix + system)
        # redis-py types every command as sync-or-async; this client is the sync one.
        return {k.decode(): json.loads(v) for k, v in raw.items()}  # type: ignore[union-attr]

    def save(self, system: str, name: str, entry: dict[str, Any]) -> None:
        key = self.prefix + system
        pipe = self._redis.pipeline()
        pipe.hset(key, name, json.dumps(entry))
        pipe.expire(key, self.expire_seconds)
        pipe.execute()


def make_store(redis_url: str | None = None) -> StateStore:
    return RedisStateStore(redis_url) if redis_url else MemoryStateStore()


# --- the feed ----------------------------------------------------------------------------


@dataclass
class FileStatus:
    """Fetch bookkeeping of one GBFS file; times are unix seconds of the caller's clock."""

    name: str
    listed_url: str
    url: str  # the URL actually used (listed, or the manifest sibling)
    ttl: float = 0.0
    fetched_at: float | None = None  # last 200 or 304
    last_success: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_updated: float | None = None  # the feed's own timestamp
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> records skipped
    payload: Any = None

    def due(self, now: float, backoff: float) -> bool:
        if self.last_error_at is not None and now < self.last_error_at + backoff:
            return False
        return self.fetched_at is None or now >= self.fetched_at + self.ttl


@dataclass(frozen=True, eq=False)
class GbfsSnapshot:
    """The parsed state of one feed at one moment, immutable: what the planner reads.

    The live :class:`GbfsFeed` changes under its readers whenever a refresh lands; a plan
    works on one snapshot from start to end, and never sees the HTTP client, raw payloads
    or fetch bookkeeping.
    """

    manifest_url: str
    system_key: str
    max_age: float  # the feed's own staleness bound (seconds)
    system: GbfsSystem | None
    vehicle_types: dict[str, VehicleType]
    stations: tuple[Station, ...]  # joined with their status
    vehicles: tuple[Vehicle, ...]  # with form factor and propulsion of their type
    geofencing_zones: tuple[GeofencingZone, ...]
    global_rules: tuple[GeofencingRule, ...]
    #: Each file's last successful fetch; changes whenever the state may have changed.
    state_version: tuple[tuple[str, float | None], ...]
    last_error: str | None = None
    #: Each file's own ``last_updated`` and ``ttl``: the age of the data, not of our copy.
    data_times: tuple[tuple[str, float | None, float], ...] = ()

    def _success(self, name: str) -> float | None:
        return dict(self.state_version).get(name)

    def _live(self) -> list[str]:
        return [n for n, _ in self.state_version if n in LIVE_FILES]

    @property
    def last_success(self) -> float | None:
        """Oldest last successful fetch among the live files (the age of the live state)."""
        names = self._live() or [n for n, _ in self.state_version]
        times = [self._success(n) for n in names]
        known = [t for t in times if t is not None]
        return min(known) if len(known) == len(times) else None

    def _fresh(self, name: str, now: float | None, max_age: float | None) -> bool:
        last = self._success(name)
        if last is None:
            return False
        now = time.time() if now is None else now
        bound = self.max_age if max_age is None else max_age
        if now - last > bound:
            return False
        # A copy fetched a second ago can hold data frozen for a year (issue 16: a 2023
        # snapshot offered as live). The feed promises new data every ``ttl`` seconds
        # after ``last_updated``; data older than that plus the bound is not offered.
        for n, updated, ttl in self.data_times:
            if n == name and updated is not None:
                return now - updated <= ttl + bound
        return True

    def is_stale(self, max_age: float | None = None, now: float | None = None) -> bool:
        live = self._live()
        return not live or not all(self._fresh(n, now, max_age) for n in live)

    def rule_at(self, lat: float, lon: float, vehicle_type_id: str | None) -> GeofencingRule | None:
        """The rule in force at a point: first matching zone wins, then global rules;
        None means unrestricted."""
        for zone in self.geofencing_zones:
            rule = zone.rule_for(vehicle_type_id)
            if rule is not None and zone.contains(lat, lon):
                return rule
        return next((r for r in self.global_rules if r.applies_to(vehicle_type_id)), None)

    def usable_stations(self, now: float | None = None,
                        max_age: float | None = None) -> list[Station]:
        """Installed stations with fresh status (empty when the status is stale)."""
        if not self._fresh("station_status", now, max_age):
            return []
        return [s for s in self.stations if s.has_status and s.is_installed]

    def usable_vehicles(self, now: float | None = None, max_age: float | None = None,
                        form_factors: Iterable[str] | None = None) -> list[Vehicle]:
        """Free-floating vehicles that can be rented now: fresh, not reserved or disabled,
        not docked (station counts cover those) and not parked where geofencing forbids
        starting a ride."""
        names = [n for n, _ in self.state_version]
        name = "vehicle_status" if "vehicle_status" in names else "free_bike_status"
        if not self._fresh(name, now, max_age):
            return []
        wanted = set(form_factors) if form_factors is not None else None
        out = []
        for v in self.vehicles:
            if not v.is_available or v.station_id is not None:
                continue
            if wanted is not None and v.form_factor not in wanted:
                continue
            rule = self.rule_at(v.lat, v.lon, v.vehicle_type_id)
            if rule is not None and not rule.ride_start_allowed:
                continue
            out.append(v)
        return out


class GbfsFeed:
    """One GBFS system, refreshed by the caller (``refresh(now)``) on its own schedule."""

    def __init__(
        self,
        manifest_url: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        language: str | None = None,
        max_age: float = 900.0,
        error_backoff: float = 10.0,
        resolve: Resolve = "auto",
        store: StateStore | None = None,
        redis_url: str | None = None,
        system_key: str | None = None,
    ) -> None:
        self.manifest_url = manifest_url
        self.language = language
        self.max_age = max_age
        self.error_backoff = error_backoff
        self.resolve = resolve
        self.store: StateStore = store if store is not None else make_store(redis_url)
        self.system_key = system_key or manifest_url
        self.version = ""
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=True)
        self.files: dict[str, FileStatus] = {
            MANIFEST: FileStatus(MANIFEST, manifest_url, manifest_url)
        }
        self._parsed: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._snapshot: GbfsSnapshot | None = None

    # --- refreshing -------------------------------------------------------------------
    def refresh(self, now: float | None = None) -> list[str]:
        """Fetch the files whose ttl has expired; returns the names fetched or adopted."""
        now = time.time() if now is None else now
        done: list[str] = []
        with self._lock:
            done += self._adopt_from_store()
            if self.files[MANIFEST].due(now, self.error_backoff) and self._fetch(MANIFEST, now):
                done.append(MANIFEST)
            for name, st in list(self.files.items()):
                if name != MANIFEST and st.due(now, self.error_backoff) and self._fetch(name, now):
                    done.append(name)
        return done

    def _sibling(self, name: str) -> str:
        suffix = ".json" if urlsplit(self.manifest_url).path.endswith(".json") else ""
        return urljoin(self.manifest_url, name + suffix)

    def _candidates(self, st: FileStatus) -> list[str]:
        if st.name == MANIFEST:
            return [st.url]
        fetchable = urlsplit(st.listed_url).scheme in ("http", "https")
        sibling = self._sibling(st.name)
        if self.resolve == "manifest" or (self.resolve == "auto" and not fetchable):
            return [sibling]
        if self.resolve == "listed" or st.url != st.listed_url or sibling == st.listed_url:
            return [st.url]
        return [st.listed_url, sibling]

    def _get(self, st: FileStatus, url: str) -> httpx.Response:
        headers: dict[str, str] = {}
        if st.payload is not None and url == st.url:
            if st.etag:
                headers["If-None-Match"] = st.etag
            if st.last_modified:
                headers["If-Modified-Since"] = st.last_modified
        resp = self._client.get(url, headers=headers)
        if resp.status_code != 304:
            resp.raise_for_status()
        return resp

    def _fetch(self, name: str, now: float) -> bool:
        st = self.files[name]
        urls = self._candidates(st)
        try:
            for i, url in enumerate(urls):
                try:
                    resp = self._get(st, url)
                    break
                except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                    unreachable = not isinstance(exc, httpx.HTTPStatusError) or \
                        exc.response.status_code == 404
                    if i + 1 == len(urls) or not unreachable:
                        raise
                    log.info("GBFS %s: %s not fetchable (%s), using %s",
                             name, url, exc, urls[i + 1])
            if resp.status_code == 304:
                if st.payload is None:
                    raise GbfsError("304 Not Modified without a previous copy")
                st.url = url
            else:
                payload = json.loads(resp.content)
                self._accept(st, payload)
                st.url, st.payload = url, payload
                st.etag = resp.headers.get("ETag")
                st.last_modified = resp.headers.get("Last-Modified")
        except (httpx.HTTPError, ValueError, TypeError, KeyError) as exc:
            st.last_error = f"{name} from {urls[-1]}: {_describe(exc)}"
            st.last_error_at = now
            log.warning("GBFS %s: keeping last good state: %s", self.system_key, st.last_error)
            return False
        st.fetched_at = st.last_success = now
        st.last_error = st.last_error_at = None
        self._save_to_store(st)
        return True

    def _accept(self, st: FileStatus, payload: Any) -> None:
        """Validate and parse ``payload``; raises before any state changes."""
        skips: Skips = Counter()
        parsed = self._parse(st.name, payload, skips)
        st.skipped = dict(skips)
        if skips:
            log.warning("GBFS %s %s: records skipped: %s", self.system_key, st.name,
                        dict(skips))
        ttl = payload.get("ttl", 60)
        st.ttl = float(ttl) if isinstance(ttl, int | float) and ttl >= 0 else 60.0
        st.last_updated = _timestamp(payload.get("last_updated"))
        if st.name == MANIFEST:
            self._discover(*parsed)
        else:
            self._parsed[st.name] = parsed

    def _parse(self, name: str, payload: Any, skips: Skips) -> Any:
        lang = self.language
        if name == MANIFEST:
            return parse_manifest(payload, lang)
        if name == "system_information":
            return parse_system_information(payload, self.version, lang)
        if name == "vehicle_types":
            return parse_vehicle_types(payload, lang)
        if name == "station_information":
            return parse_station_information(payload, lang, skips)
        if name == "station_status":
            return parse_station_status(payload, skips)
        if name in ("free_bike_status", "vehicle_status"):
            return parse_vehicles(payload, skips)
        return parse_geofencing_zones(payload, lang)

    def _discover(self, version: str, urls: dict[str, str]) -> None:
        self.version = version
        for name in KNOWN_FILES:
            if name not in urls:
                self.files.pop(name, None)
                self._parsed.pop(name, None)
            elif name not in self.files or self.files[name].listed_url != urls[name]:
                self.files[name] = FileStatus(name, urls[name], urls[name])

    # --- shared state store -------------------------------------------------------------
    def _save_to_store(self, st: FileStatus) -> None:
        entry = {k: v for k, v in asdict(st).items() if k not in ("last_error", "last_error_at")}
        try:
            self.store.save(self.system_key, st.name, entry)
        except Exception as exc:  # a store outage must not stop the planner
            log.warning("GBFS %s: state store save failed: %s", self.system_key, exc)

    def _adopt_from_store(self) -> list[str]:
        try:
            entries = self.store.load(self.system_key)
        except Exception as exc:
            log.warning("GBFS %s: state store load failed: %s", self.system_key, exc)
            return []
        adopted = []
        for name in [MANIFEST] + [n for n in entries if n != MANIFEST]:
            entry = entries.get(name)
            mine = self.files.get(name)
            if entry is None or (name != MANIFEST and mine is None):
                continue
            if mine is not None and (mine.last_success or 0) >= (entry.get("last_success") or 0):
                continue
            try:
                other = FileStatus(**entry)
                self._accept(other, other.payload)
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("GBFS %s: bad %s in state store ignored: %s",
                            self.system_key, name, exc)
                continue
            self.files[name] = other
            adopted.append(name)
        return adopted

    # --- reading --------------------------------------------------------------------------
    @property
    def state_version(self) -> tuple[tuple[str, float | None], ...]:
        """Changes whenever the parsed state may have changed (each file's last successful
        fetch or adoption): a key for what readers derive from it, without their reading
        the fetch bookkeeping in :attr:`files`. Lock-free (a copy of the dict): a refresh
        holds the lock for its HTTP requests, and readers must not wait for those."""
        return tuple((n, st.last_success) for n, st in sorted(list(self.files.items())))

    @property
    def system(self) -> GbfsSystem | None:
        return self._parsed.get("system_information")

    @property
    def vehicle_types(self) -> dict[str, VehicleType]:
        return self._parsed.get("vehicle_types", {})

    def _type(self, vehicle_type_id: str) -> VehicleType:
        types = self.vehicle_types
        if not types:
            return DEFAULT_VEHICLE_TYPE
        return types.get(vehicle_type_id, VehicleType(vehicle_type_id, "other", "human"))

    @property
    def stations(self) -> list[Station]:
        """All stations with coordinates, joined with their status when there is one."""
        info: dict[str, Station] = self._parsed.get("station_information", {})
        status: dict[str, _StationStatus] = self._parsed.get("station_status", {})
        out = []
        for sid, st in info.items():
            s = status.get(sid)
            if s is None:
                out.append(st)
                continue
            available: dict[str, int] = {}
            if s.by_type:
                for tid, n in s.by_type.items():
                    ff = self._type(tid).form_factor
                    available[ff] = available.get(ff, 0) + n
            elif s.total:  # no per-type counts: only unambiguous if there is one form factor
                types = {t.form_factor for t in self.vehicle_types.values()}
                ff = types.pop() if len(types) == 1 else DEFAULT_VEHICLE_TYPE.form_factor
                available[ff] = s.total
            out.append(replace(
                st, has_status=True, num_vehicles_available=s.total, available=available,
                num_docks_available=s.docks, is_installed=s.is_installed,
                is_renting=s.is_renting, is_returning=s.is_returning,
                last_reported=s.last_reported,
            ))
        return out

    @property
    def vehicles(self) -> list[Vehicle]:
        raw: list[Vehicle] = self._parsed.get("free_bike_status") or \
            self._parsed.get("vehicle_status") or []
        out = []
        for v in raw:
            t = self._type(v.vehicle_type_id)
            out.append(replace(v, form_factor=t.form_factor, propulsion_type=t.propulsion_type))
        return out

    @property
    def geofencing_zones(self) -> list[GeofencingZone]:
        return self._parsed.get("geofencing_zones", ([], []))[0]

    @property
    def global_rules(self) -> list[GeofencingRule]:
        return self._parsed.get("geofencing_zones", ([], []))[1]

    def snapshot(self) -> GbfsSnapshot:
        """The current parsed state, frozen (built once per state version)."""
        version = self.state_version
        snap = self._snapshot
        if snap is not None and snap.state_version == version:
            if snap.last_error == self.last_error:
                return snap
        snap = GbfsSnapshot(
            manifest_url=self.manifest_url, system_key=self.system_key, max_age=self.max_age,
            system=self.system, vehicle_types=dict(self.vehicle_types),
            stations=tuple(self.stations), vehicles=tuple(self.vehicles),
            geofencing_zones=tuple(self.geofencing_zones),
            global_rules=tuple(self.global_rules), state_version=version,
            last_error=self.last_error,
            data_times=tuple((n, st.last_updated, st.ttl)
                             for n, st in sorted(list(self.files.items()))))
        self._snapshot = snap
        return snap

    def rule_at(self, lat: float, lon: float, vehicle_type_id: str | None) -> GeofencingRule | None:
        return self.snapshot().rule_at(lat, lon, vehicle_type_id)

    # --- health and freshness --------------------------------------------------------------
    @property
    def last_success(self) -> float | None:
        """Oldest last successful fetch among the live files (the age of the live state)."""
        return self.snapshot().last_success

    @property
    def last_error(self) -> str | None:
        """Most recent error of a file whose latest fetch failed; None when all are fine."""
        failed = [st for st in list(self.files.values()) if st.last_error]
        return max(failed, key=lambda st: st.last_error_at or 0).last_error if failed else None

    @property
    def skipped(self) -> dict[str, dict[str, int]]:
        """Records skipped in each file's current copy: file -> reason -> count."""
        return {name: dict(st.skipped) for name, st in sorted(list(self.files.items()))
                if st.skipped}

    def is_stale(self, max_age: float | None = None, now: float | None = None) -> bool:
        return self.snapshot().is_stale(max_age, now)

    def usable_stations(self, now: float | None = None,
                        max_age: float | None = None) -> list[Station]:
        """Installed stations with fresh status (empty when the status is stale)."""
        return self.snapshot().usable_stations(now, max_age)

    def pickup_stations(self, form_factor: str | None = None, now: float | None = None,
                        max_age: float | None = None) -> list[Station]:
        return [s for s in self.usable_stations(now, max_age) if s.can_pick_up(form_factor)]

    def return_stations(self, now: float | None = None,
                        max_age: float | None = None) -> list[Station]:
        return [s for s in self.usable_stations(now, max_age) if s.can_return()]

    def usable_vehicles(self, now: float | None = None, max_age: float | None = None,
                        form_factors: Iterable[str] | None = None) -> list[Vehicle]:
        """Free-floating vehicles that can be rented now (see GbfsSnapshot)."""
        return self.snapshot().usable_vehicles(now, max_age, form_factors)

    def close(self) -> None:
        self._client.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({type(exc).__name__})"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg} at line {exc.lineno})"
    if isinstance(exc, GbfsError):
        return f"schema violation: {exc}"
    return f"{type(exc).__name__}: {exc}"
