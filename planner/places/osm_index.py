"""Addresses, streets and named places of OpenStreetMap extracts, as compact arrays.

What is indexed (one pyosmium pass with node locations, plus area assembly for
multipolygon relations):

* **addresses**: ``addr:housenumber`` with ``addr:street`` (or ``addr:place``) on nodes,
  building ways (their centroid) and multipolygons, with ``addr:postcode``;
* **streets**: named highways, one record per name and municipality (addresses whose
  street is outside the extract make one from their own points);
* **places**: named amenities, shops, tourism, leisure, offices, historic sites, public
  buildings (schools, hospitals, town halls ...), parks, squares and settlements
  (``place=city|town|village|suburb|...`` nodes). Stops (``public_transport``,
  ``highway=bus_stop``, railway stations) are left to the timetable.

Each record and address gets its **municipality** and **district**: the administrative
boundaries of the extract (``admin_level`` ≤ 8 and 9-11) where they are complete, else
the record's ``addr:city``, the nearest address's city, or the nearest settlement node.

Records are searched by name (:class:`~planner.places.names.WordIndex`); addresses hang
off their street record as one CSR range, sorted by house number, so "Jahnplatz 5" is a
street lookup and then a scan of that street's numbers. Strings (names, numbers,
postcodes) live in one UTF-8 blob with offsets and are decoded only for the results
shown, so a million addresses are a few arrays, not a million Python objects.

The index is built once per set of extracts and cached by their content hash (a
directory with one file of all arrays, their layout and checksums, memory-mapped back as
one mapping; written to a temporary directory and renamed, so a half-written entry is
never read).
"""

from __future__ import annotations

import json
import logging
import math
import mmap
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from planner.multimodal.geometry import PointIndex
from planner.places.footprint import footprint
from planner.places.names import WordIndex, compact_int, encode_strings
from planner.places.nearby import NearGrid, build_grid
from planner.places.text import house_number, spellings, word_count, words
from planner.timetable.disk_cache import write_entry
from planner.timetable.integrity import file_digest, verify_checksums

log = logging.getLogger(__name__)

INDEX_VERSION = "places-v4"  # bump when the arrays change
DEFAULT_CACHE_DIR = Path(".cache/places")
ARRAYS_FILE = "arrays.bin"  # every array of an entry, laid out in its meta.json
ARRAY_ALIGN = 16

STREET, PLACE = 0, 1  # record kinds
NODE, WAY, RELATION = 0, 1, 2  # OSM object types
OSM_TYPES = ("node", "way", "relation")

#: Keys whose named objects are places residents look for.
PLACE_KEYS = ("amenity", "shop", "tourism", "leisure", "office", "historic", "craft",
              "healthcare", "club")
PLACE_BUILDINGS = frozenset({
    "public", "school", "hospital", "townhall", "civic", "church", "cathedral", "chapel",
    "mosque", "synagogue", "temple", "university", "college", "kindergarten", "library",
    "museum", "government", "fire_station", "stadium", "sports_hall", "train_station",
    "hotel", "supermarket", "retail", "commercial", "office"})
SETTLEMENTS = {"city": 8, "town": 8, "village": 8, "municipality": 8, "hamlet": 9,
               "borough": 9, "suburb": 10, "quarter": 10, "neighbourhood": 11,
               "city_block": 11, "isolated_dwelling": 11}
TOWN_MAX_LEVEL = 8  # municipality: the deepest admin_level up to 8
TOWN_NEAR_M = 20_000.0  # nearest city/town/village node as a municipality
DISTRICT_NEAR_M = 2_500.0  # nearest suburb/quarter node as a district
CITY_NEAR_M = 1_500.0  # nearest address's addr:city
#: Ways and nodes that are stops: the timetable has them (with departures).
STOP_TAGS = {"public_transport": None, "highway": {"bus_stop", "platform"},
             "railway": {"station", "halt", "tram_stop", "stop", "platform",
                         "subway_entrance"}}
_HIGHWAY_SKIP = frozenset({"bus_stop", "platform", "proposed", "construction", "elevator"})


#: Per-record arrays (``rec_<key>``) and their types; strings are ids into ``strings``;
#: ``None``: ids, in the narrowest integer type that holds them (:func:`compact_int`).
REC_DTYPES = {"kind": np.uint8, "name": None, "lat": np.float32, "lon": np.float32,
              "town": None, "district": None, "postcode": None, "category": None,
              "osm": np.int64, "osm_type": np.uint8, "street": None, "number": None}


class PlacesError(ValueError):
    """An extract that cannot be read into an index (named in the message)."""


def _is_stop(tags: dict[str, str]) -> bool:
    for key, values in STOP_TAGS.items():
        v = tags.get(key)
        if v is not None and (values is None or v in values):
            return True
    return False


def place_category(tags: dict[str, str]) -> str | None:
    """The category of a named object worth finding by name, or None."""
    if "name" not in tags or _is_stop(tags):
        return None
    for key in PLACE_KEYS:
        if key in tags and tags[key] not in ("no", "yes"):
            return tags[key]
    if tags.get("building") in PLACE_BUILDINGS:
        return tags["building"]
    if tags.get("place") in SETTLEMENTS or tags.get("place") == "square":
        return tags["place"]
    if tags.get("landuse") in ("cemetery", "recreation_ground"):
        return tags["landuse"]
    return None


# --- reading ------------------------------------------------------------------------------


@dataclass
class _Raw:
    """What one pass over the extracts collected, before areas and grouping."""

    # addresses: street, number, postcode, city, lat, lon, osm id, osm type
    addresses: list[tuple[str, str, str, str, float, float, int, int]] = field(
        default_factory=list)
    # places: name, category, street, number, postcode, city, lat, lon, osm id, osm type
    places: list[tuple[str, str, str, str, str, str, float, float, int, int]] = field(
        default_factory=list)
    streets: list[tuple[str, float, float]] = field(default_factory=list)  # name, mid point
    settlements: list[tuple[str, int, float, float]] = field(default_factory=list)
    boundaries: list[tuple[str, int, object]] = field(default_factory=list)  # shapely
    objects: int = 0


def _centroid(coords: list[tuple[float, float]]) -> tuple[float, float] | None:
    if not coords:
        return None
    if len(coords) > 1 and coords[0] == coords[-1]:
        coords = coords[:-1]
    return (sum(c[0] for c in coords) / len(coords), sum(c[1] for c in coords) / len(coords))


def _collect(raw: _Raw, tags: dict[str, str], point: tuple[float, float], osm_id: int,
             osm_type: int) -> None:
    lat, lon = point
    number = tags.get("addr:housenumber")
    street = tags.get("addr:street") or tags.get("addr:place") or ""
    postcode = tags.get("addr:postcode", "")
    city = tags.get("addr:city", "")
    if not any(c.isalpha() for c in city):
        city = ""  # "7" is a typo in OSM, not a town
    category = place_category(tags)
    if category is not None:
        raw.places.append((tags["name"], category, street, number or "", postcode, city,
                           lat, lon, osm_id, osm_type))
    if number and street:  # a shop's address is often the only one of its house
        raw.addresses.append((street, number, postcode, city, lat, lon, osm_id, osm_type))
    place = tags.get("place")
    if osm_type == NODE and place in SETTLEMENTS and "name" in tags:
        raw.settlements.append((tags["name"], SETTLEMENTS[place], lat, lon))


def _boundary(area: Any) -> object | None:
    from shapely.geometry import MultiPolygon, Polygon

    polygons = []
    for outer in area.outer_rings():
        shell = [(n.lon, n.lat) for n in outer]
        holes = [[(n.lon, n.lat) for n in inner]
                 for inner in area.inner_rings(outer)]
        if len(shell) >= 4:
            polygons.append(Polygon(shell, holes))
    if not polygons:
        return None
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def _admin_level(tags: dict[str, str]) -> int | None:
    m = re.fullmatch(r"\s*(\d{1,2})\s*", tags.get("admin_level", ""))
    return int(m.group(1)) if m else None


def read_extract(path: Path, raw: _Raw) -> None:
    """Add one extract's addresses, streets, places and boundaries to ``raw``.

    Area assembly (boundaries, multipolygon buildings) needs an extract sorted by id; one
    that is not (OTP's hand-filtered Portland file) is read again without it, with a
    warning."""
    if not path.is_file():
        raise PlacesError(f"{path}: no such OSM extract")
    part = _Raw()
    try:
        _read(path, part, areas=True)
    except RuntimeError as exc:
        if "out of order" not in str(exc):
            raise PlacesError(f"{path}: not a readable OSM extract ({exc})") from exc
        log.warning("%s: %s; boundaries and multipolygons skipped", path, exc)
        part = _Raw()
        try:
            _read(path, part, areas=False)
        except RuntimeError as again:
            raise PlacesError(f"{path}: not a readable OSM extract ({again})") from again
    for name in ("addresses", "places", "streets", "settlements", "boundaries"):
        getattr(raw, name).extend(getattr(part, name))
    raw.objects += part.objects


def _read(path: Path, raw: _Raw, areas: bool) -> None:
    import osmium  # the OSM stack only where an extract is loaded

    reader = osmium.FileProcessor(str(path)).with_locations()
    if areas:
        reader = reader.with_areas(osmium.filter.KeyFilter("boundary", "addr:housenumber",
                                                           "name"))
    reader = reader.with_filter(osmium.filter.EmptyTagFilter())
    for obj in reader:
        raw.objects += 1
        if isinstance(obj, osmium.osm.Area):
            _area(raw, obj)
        elif isinstance(obj, osmium.osm.Node):
            if "addr:housenumber" in obj.tags or "name" in obj.tags:
                loc = obj.location
                if loc.valid():
                    _collect(raw, {t.k: t.v for t in obj.tags}, (loc.lat, loc.lon), obj.id,
                             NODE)
        elif isinstance(obj, osmium.osm.Way):
            if "addr:housenumber" in obj.tags or "name" in obj.tags:
                _way(raw, obj)


def _area(raw: _Raw, obj: Any) -> None:
    """An assembled area: an administrative boundary, or a multipolygon's address/place."""
    if obj.from_way() and obj.tags.get("boundary") != "administrative":
        return  # closed ways were read as ways
    tags = {t.k: t.v for t in obj.tags}
    if tags.get("boundary") == "administrative" and "name" in tags:
        level = _admin_level(tags)
        shape = _boundary(obj)
        if level is not None and shape is not None:
            raw.boundaries.append((tags["name"], level, shape))
    if obj.from_way():
        return
    ring = next(iter(obj.outer_rings()), None)
    point = _centroid([(n.lat, n.lon) for n in ring]) if ring is not None else None
    if point is not None:
        _collect(raw, tags, point, obj.orig_id(), RELATION)


def _way(raw: _Raw, obj: Any) -> None:
    """A named street (its middle node), or a building's address or place (its centroid)."""
    tags = {t.k: t.v for t in obj.tags}
    coords = [(n.location.lat, n.location.lon) for n in obj.nodes if n.location.valid()]
    if not coords:
        return
    if "highway" in tags and "name" in tags and tags["highway"] not in _HIGHWAY_SKIP:
        mid = coords[len(coords) // 2]
        raw.streets.append((tags["name"], mid[0], mid[1]))
        return
    point = _centroid(coords)
    if point is not None:
        _collect(raw, tags, point, obj.id, WAY)


# --- areas --------------------------------------------------------------------------------


class _Areas:
    """Municipality and district of points: boundaries first, then the fallbacks."""

    def __init__(self, raw: _Raw) -> None:
        self.names: list[tuple[str, int]] = []
        self._ids: dict[tuple[str, int], int] = {}
        self.raw = raw
        self.shapes = [b for b in raw.boundaries]
        towns = [s for s in raw.settlements if s[1] <= TOWN_MAX_LEVEL]
        districts = [s for s in raw.settlements if s[1] > TOWN_MAX_LEVEL]
        self.town_nodes = (towns, PointIndex([s[2] for s in towns], [s[3] for s in towns]))
        self.district_nodes = (districts, PointIndex([s[2] for s in districts],
                                                     [s[3] for s in districts]))

    def area_id(self, name: str, level: int) -> int:
        key = (name, level)
        if key not in self._ids:
            self._ids[key] = len(self.names)
            self.names.append(key)
        return self._ids[key]

    def assign(self, lat: np.ndarray, lon: np.ndarray, cities: Sequence[str]
               ) -> tuple[np.ndarray, np.ndarray]:
        """(municipality, district) area ids per point, -1 where none is known."""
        n = len(lat)
        town = np.full(n, -1, np.int32)
        town_level = np.full(n, -1, np.int32)
        district = np.full(n, -1, np.int32)
        district_level = np.full(n, 99, np.int32)
        if self.shapes and n:
            import shapely
            from shapely.strtree import STRtree

            tree = STRtree([s for _, _, s in self.shapes])
            pts = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
            which, shape = tree.query(pts, predicate="within")
            for p, s in zip(which.tolist(), shape.tolist(), strict=True):
                name, level, _ = self.shapes[s]
                if level <= TOWN_MAX_LEVEL and level > town_level[p]:
                    town[p], town_level[p] = self.area_id(name, level), level
                elif level > TOWN_MAX_LEVEL and level < district_level[p]:
                    district[p], district_level[p] = self.area_id(name, level), level
        missing = np.flatnonzero(town < 0)
        for p in missing.tolist():  # the object's own addr:city
            if cities[p]:
                town[p] = self.area_id(cities[p], TOWN_MAX_LEVEL)
        missing = np.flatnonzero(town < 0)
        with_city = [i for i, c in enumerate(cities) if c]
        if len(missing) and with_city:  # the nearest address's city
            tree = cKDTree(np.c_[np.asarray(lat)[with_city], np.asarray(lon)[with_city]])
            d, j = tree.query(np.c_[np.asarray(lat)[missing], np.asarray(lon)[missing]])
            near = d * 111_000.0 <= CITY_NEAR_M
            for p, k in zip(missing[near].tolist(), np.asarray(j)[near].tolist(), strict=True):
                town[p] = self.area_id(cities[with_city[k]], TOWN_MAX_LEVEL)
        self._nearest(town, lat, lon, self.town_nodes, TOWN_NEAR_M)
        self._nearest(district, lat, lon, self.district_nodes, DISTRICT_NEAR_M)
        return town, district

    def _nearest(self, out: np.ndarray, lat: np.ndarray, lon: np.ndarray,
                 nodes: tuple[list[tuple[str, int, float, float]], PointIndex],
                 max_m: float) -> None:
        found, index = nodes
        if not found:
            return
        for p in np.flatnonzero(out < 0).tolist():
            hit = index.nearest(float(lat[p]), float(lon[p]), 1)
            if hit and hit[0][1] <= max_m:
                name, level, _, _ = found[hit[0][0]]
                out[p] = self.area_id(name, level)


# --- the index ------------------------------------------------------------------------------


def _number_key(number: str) -> tuple[int, str]:
    m = re.match(r"\d+", number)
    return (int(m.group(0)) if m else 1 << 30, number)


@dataclass
class _Street:
    """The ways and addresses of one street name in one municipality."""

    names: Counter[str] = field(default_factory=Counter)
    points: list[tuple[float, float]] = field(default_factory=list)
    districts: Counter[int] = field(default_factory=Counter)
    addresses: list[int] = field(default_factory=list)
    postcodes: Counter[str] = field(default_factory=Counter)


class _Strings:
    def __init__(self) -> None:
        self.values: list[str] = []
        self._ids: dict[str, int] = {}

    def id(self, value: str) -> int:
        if not value:
            return -1
        i = self._ids.get(value)
        if i is None:
            i = self._ids[value] = len(self.values)
            self.values.append(value)
        return i


def build_arrays(raw: _Raw) -> dict[str, np.ndarray]:
    """The index arrays of what :func:`read_extract` collected."""
    areas = _Areas(raw)
    strings = _Strings()
    a_lat = np.array([a[4] for a in raw.addresses], float)
    a_lon = np.array([a[5] for a in raw.addresses], float)
    a_town, a_district = areas.assign(a_lat, a_lon, [a[3] for a in raw.addresses])
    s_lat = np.array([s[1] for s in raw.streets], float)
    s_lon = np.array([s[2] for s in raw.streets], float)
    # A street's own municipality: boundaries, else its nearest address's city.
    city_of = [a[3] for a in raw.addresses]
    s_cities = [""] * len(raw.streets)
    if raw.addresses and raw.streets:
        tree = cKDTree(np.c_[a_lat, a_lon])
        d, j = tree.query(np.c_[s_lat, s_lon])
        s_cities = [city_of[k] if dist * 111_000.0 <= CITY_NEAR_M else ""
                    for dist, k in zip(np.atleast_1d(d).tolist(), np.atleast_1d(j).tolist(),
                                       strict=True)]
    s_town, s_district = areas.assign(s_lat, s_lon, s_cities)
    p_lat = np.array([p[6] for p in raw.places], float)
    p_lon = np.array([p[7] for p in raw.places], float)
    p_town, p_district = areas.assign(p_lat, p_lon, [p[5] for p in raw.places])

    # Streets: one record per (name, municipality), from ways and from addresses.
    groups: dict[tuple[str, int], _Street] = {}

    def group(name: str, town: int) -> _Street:
        key = ((spellings(name) or (name,))[0], town)
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Street()
        g.names[name] += 1
        return g

    for k, (name, lat, lon) in enumerate(raw.streets):
        g = group(name, int(s_town[k]))
        g.points.append((lat, lon))
        g.districts[int(s_district[k])] += 1
    for k, a in enumerate(raw.addresses):
        g = group(a[0], int(a_town[k]))
        g.addresses.append(k)
        if a[2]:
            g.postcodes[a[2]] += 1

    rec: dict[str, list[Any]] = {k: [] for k in (
        "kind", "name", "lat", "lon", "town", "district", "postcode", "category", "osm",
        "osm_type", "street", "number", "nwords", "addr_count")}
    addr_order: list[int] = []
    for (_, town), g in groups.items():
        pts = g.points or [(raw.addresses[k][4], raw.addresses[k][5]) for k in g.addresses]
        c_lat = sum(p[0] for p in pts) / len(pts)
        c_lon = sum(p[1] for p in pts) / len(pts)
        # The street's point: its node (or address) nearest the centroid, on the street.
        lat, lon = min(pts, key=lambda p: (p[0] - c_lat) ** 2 + (p[1] - c_lon) ** 2)
        name = g.names.most_common(1)[0][0]
        nums = sorted(g.addresses, key=lambda k: _number_key(raw.addresses[k][1]))
        districts = g.districts or Counter(int(a_district[k]) for k in nums)
        postcodes = g.postcodes
        rec["kind"].append(STREET)
        rec["name"].append(strings.id(name))
        rec["lat"].append(lat)
        rec["lon"].append(lon)
        rec["town"].append(town)
        rec["district"].append(districts.most_common(1)[0][0] if districts else -1)
        rec["postcode"].append(strings.id(postcodes.most_common(1)[0][0])
                               if postcodes else -1)
        rec["category"].append(-1)
        rec["osm"].append(0)
        rec["osm_type"].append(WAY)
        rec["street"].append(-1)
        rec["number"].append(-1)
        rec["nwords"].append(word_count(name))
        rec["addr_count"].append(len(nums))
        addr_order += nums
    for k, p in enumerate(raw.places):
        rec["kind"].append(PLACE)
        rec["name"].append(strings.id(p[0]))
        rec["lat"].append(p[6])
        rec["lon"].append(p[7])
        rec["town"].append(int(p_town[k]))
        rec["district"].append(int(p_district[k]))
        rec["postcode"].append(strings.id(p[4]))
        rec["category"].append(strings.id(p[1]))
        rec["osm"].append(p[8])
        rec["osm_type"].append(p[9])
        rec["street"].append(strings.id(p[2]))
        rec["number"].append(strings.id(p[3]))
        rec["nwords"].append(word_count(p[0]))
        rec["addr_count"].append(0)
    names = [strings.values[i] for i in rec["name"]]
    record_words = WordIndex.build(words(n) for n in names)
    area_words = WordIndex.build(words(n) for n, _ in areas.names)
    order = np.array(addr_order, np.int64)
    addr_offsets = np.zeros(len(rec["kind"]) + 1, np.int64)
    np.cumsum(rec["addr_count"], out=addr_offsets[1:])
    addr_record = np.repeat(np.arange(len(rec["kind"]), dtype=np.int64), rec["addr_count"])
    adr = raw.addresses
    arrays: dict[str, np.ndarray] = {
        **{f"rec_{k}": np.array(rec[k], dtype) if dtype is not None else
           compact_int(np.array(rec[k], np.int64)) for k, dtype in REC_DTYPES.items()},
        "rec_nwords": np.minimum(np.array(rec["nwords"], np.int32), 255).astype(np.uint8),
        "rec_addr_offset": compact_int(addr_offsets),
        "addr_record": compact_int(addr_record),
        "addr_number": compact_int([strings.id(adr[k][1]) for k in order]),
        "addr_postcode": compact_int([strings.id(adr[k][2]) for k in order]),
        "addr_district": compact_int(a_district[order]) if len(order) else
        np.zeros(0, np.int32),
        "addr_lat": a_lat[order].astype(np.float32) if len(order) else np.zeros(0, np.float32),
        "addr_lon": a_lon[order].astype(np.float32) if len(order) else np.zeros(0, np.float32),
        "addr_osm": np.array([adr[k][6] for k in order], np.int64),
        "addr_osm_type": np.array([adr[k][7] for k in order], np.uint8),
        "area_name": compact_int(np.array([strings.id(n) for n, _ in areas.names], np.int64)),
        "area_level": np.array([lv for _, lv in areas.names], np.uint8),
        **record_words.arrays("words"),
        **area_words.arrays("area_words"),
    }
    arrays["strings"], arrays["string_offsets"] = encode_strings(strings.values)
    arrays.update(build_grid(np.concatenate([arrays["addr_lat"], arrays["rec_lat"]]),
                             np.concatenate([arrays["addr_lon"], arrays["rec_lon"]])))
    return arrays


class PlaceIndex:
    """The arrays of :func:`build_arrays`, with the lookups the search needs."""

    def __init__(self, arrays: dict[str, np.ndarray], sources: Sequence[str] = (),
                 stats: dict[str, object] | None = None) -> None:
        self.a = arrays
        self.sources = tuple(sources)
        self.stats = stats or {}
        self.words = WordIndex.from_arrays(arrays, "words")
        self.area_words = WordIndex.from_arrays(arrays, "area_words")
        self._blob = np.ascontiguousarray(arrays["strings"]).data
        self._offsets = np.asarray(arrays["string_offsets"])
        self.rec_kind: np.ndarray = np.asarray(arrays["rec_kind"])
        self.rec_lat: np.ndarray = np.asarray(arrays["rec_lat"])
        self.rec_lon: np.ndarray = np.asarray(arrays["rec_lon"])
        self.rec_town: np.ndarray = np.asarray(arrays["rec_town"])
        self.rec_district: np.ndarray = np.asarray(arrays["rec_district"])
        self.rec_nwords: np.ndarray = np.asarray(arrays["rec_nwords"])
        self.rec_addr_offset: np.ndarray = np.asarray(arrays["rec_addr_offset"])
        self.area_level: np.ndarray = np.asarray(arrays["area_level"])
        self.addr_lat: np.ndarray = np.asarray(arrays["addr_lat"])
        self.addr_lon: np.ndarray = np.asarray(arrays["addr_lon"])
        self.addr_record: np.ndarray = np.asarray(arrays["addr_record"])
        self.addr_district: np.ndarray = np.asarray(arrays["addr_district"])
        #: Addresses, then records: what reverse geocoding searches.
        self.points = NearGrid(np.asarray(arrays["near_order"]),
                               np.asarray(arrays["near_cells"]),
                               np.asarray(arrays["near_grid"]),
                               ((self.addr_lat, self.addr_lon), (self.rec_lat, self.rec_lon)))

    @property
    def n_records(self) -> int:
        return len(self.a["rec_kind"])

    @property
    def n_addresses(self) -> int:
        return len(self.a["addr_lat"])

    @property
    def n_areas(self) -> int:
        return len(self.a["area_level"])

    def string(self, i: int) -> str:
        if i < 0:
            return ""
        return bytes(self._blob[int(self._offsets[i]):int(self._offsets[i + 1])]).decode()

    def number_key(self, addr: int) -> str:
        """An address's house number as compared ("20 B" → "20b")."""
        return house_number(self.string(int(self.a["addr_number"][addr])))

    def area_name(self, area: int) -> str:
        return self.string(int(self.a["area_name"][area])) if area >= 0 else ""

    @property
    def nbytes(self) -> int:
        """Bytes the index keeps: its arrays once each (mapped or not), their views and
        every Python object it holds (:func:`~planner.places.footprint.footprint`)."""
        return footprint(self)


# --- cache ----------------------------------------------------------------------------------


def index_key(paths: Sequence[str | Path]) -> str:
    """Content hash of the extracts (and the index layout): the cache entry's name."""
    import hashlib

    h = hashlib.sha256(INDEX_VERSION.encode())
    for p in paths:
        h.update(file_digest(Path(p)).encode())
    return h.hexdigest()[:20]


def build_index(paths: Sequence[str | Path]) -> PlaceIndex:
    """Read the extracts and build the index in memory (no cache)."""
    started = time.monotonic()
    raw = _Raw()
    for p in paths:
        read_extract(Path(p), raw)
    arrays = build_arrays(raw)
    stats: dict[str, object] = {"objects": raw.objects, "boundaries": len(raw.boundaries),
             "build_seconds": round(time.monotonic() - started, 3)}
    return PlaceIndex(arrays, [str(p) for p in paths], stats)


def _save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> list[list[Any]]:
    """All arrays in one file, each at an aligned offset; their layout (name, dtype,
    shape, offset) for :func:`_map_arrays`."""
    layout: list[list[Any]] = []
    pos = 0
    with path.open("wb") as out:
        for name, arr in arrays.items():
            a = np.ascontiguousarray(arr)
            pad = -pos % ARRAY_ALIGN
            out.write(b"\0" * pad)
            pos += pad
            layout.append([name, a.dtype.str, list(a.shape), pos])
            out.write(a.tobytes())
            pos += a.nbytes
    return layout


def _map_arrays(path: Path, layout: list[list[Any]]) -> dict[str, np.ndarray]:
    """The arrays of :func:`_save_arrays` as read-only views of one memory map: one
    mapping for the whole index, not a mapped file (at least a page each) per array."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        buf: mmap.mmap | bytes = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) \
            if size else b""
    whole = np.frombuffer(buf, np.uint8)  # one view of the map; the arrays slice it
    out = {}
    for name, dtype, shape, offset in layout:
        dt = np.dtype(dtype)
        end = offset + math.prod(shape) * dt.itemsize
        if end > size:
            raise ValueError(f"{name} runs past the end of {path.name}")
        arr = whole[offset:end].view(dt)
        out[name] = arr if len(shape) == 1 else arr.reshape(shape)
    return out


def load_or_build(paths: Sequence[str | Path], cache_dir: Path | None = None) -> PlaceIndex:
    """The cached index of these extracts, built (and cached) on a miss; a damaged entry
    is rebuilt. Raises :class:`PlacesError` for an extract that cannot be read."""
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise PlacesError(f"{', '.join(missing)}: no such OSM extract")
    root = cache_dir or DEFAULT_CACHE_DIR
    key = index_key(paths)
    target = root / key
    if target.is_dir():
        try:
            verify_checksums(target)
            meta = json.loads((target / "meta.json").read_text())
            arrays = _map_arrays(target / ARRAYS_FILE, meta["arrays"])
            meta["stats"]["cache"] = "hit"
            return PlaceIndex(arrays, meta["sources"], meta["stats"])
        except (ValueError, OSError, KeyError) as exc:
            log.warning("places cache %s damaged (%s); rebuilding", target, exc)
            shutil.rmtree(target, ignore_errors=True)
    index = build_index(paths)

    def fill(tmp: Path) -> None:
        layout = _save_arrays(tmp / ARRAYS_FILE, index.a)
        (tmp / "meta.json").write_text(json.dumps(
            {"sources": list(index.sources), "stats": index.stats, "arrays": layout}))

    write_entry(root, key, fill)
    index.stats["cache"] = "miss"
    return index
