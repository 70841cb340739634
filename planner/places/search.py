"""Geocoding: stops, addresses and places for what a resident types, mixed and ranked.

Every name (a stop, a street, a place) is scored against the query the same way:

* each **name word** of the query (no digit in it) matches words of the name exactly,
  as a prefix, or (only when neither) by typo tolerance (rapidfuzz), or the name of the
  record's municipality or district ("Jahnplatz Bielefeld", "Bielefeld, Jahnplatz");
* each **number word** is a house number of the street ("5", "5a" — "5" also finds "5a"
  after "5") or the record's postcode ("33602 Jahnplatz");
* ``quality`` (0..1) is the mean word weight times how much of the name the words cover,
  so "Hauptwache" ranks the square "Hauptwache" above "Hauptwache Parkhaus".

Each match also gets the **kind** riders understand: exact (the words are the name),
prefix (the name begins with them), word-prefix (every word begins a word of the name),
fuzzy (anything with a typo); words naming the town are context, but a town with one or
two letters of a name is no more than word-prefix. The score is the kind plus half the
quality: exact and prefix matches all count quality 1 (the name is what was typed), word
prefixes in tenths (near-equal ones tie), fuzzy ones exactly; plus the place bias
``placeBias * exp(-d / 50 km)``;
ties are broken by **importance** (a stop's departures in the timetable, its platforms'
summed for a station; MOTIS's ``importance``, normalised to 0..1), then by the shorter
name. A better kind of match therefore still wins over a nearer one unless the bias is
raised above 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from planner.multimodal.geometry import PointIndex, haversine_m, haversine_m_array
from planner.places.names import PREFIX, WordIndex
from planner.places.osm_index import OSM_TYPES, PLACE, STREET, PlaceIndex
from planner.places.text import QueryWord, query_words, spellings, word_count, words
from planner.timetable.model import Timetable

EXACT_MATCH, PREFIX_MATCH, WORD_PREFIX_MATCH, FUZZY_MATCH = 4, 3, 2, 1
KIND_NAMES = {EXACT_MATCH: "exact", PREFIX_MATCH: "prefix", WORD_PREFIX_MATCH: "word-prefix",
              FUZZY_MATCH: "fuzzy"}
BIAS_KM = 50.0
AREA_WEIGHT = 0.9  # a word naming the municipality counts almost as a name word
MAX_CANDIDATES = 300  # records scored in detail per query
STOP_AREA_M = 1_500.0  # a stop's municipality: the nearest indexed address or place's
Box = tuple[float, float, float, float]  # min lat, min lon, max lat, max lon


@dataclass(frozen=True)
class Area:
    name: str
    level: int  # OSM admin_level (8 municipality, 9-11 district)
    matched: bool = False


@dataclass
class Found:
    """One geocoding result, whatever its type."""

    type: str  # STOP, ADDRESS or PLACE
    name: str
    lat: float
    lon: float
    id: str
    kind: int
    quality: float
    importance: float = 0.0
    score: float = 0.0
    tokens: list[tuple[int, int]] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    street: str = ""
    house_number: str = ""
    zip: str = ""
    category: str = ""
    stop: int = -1  # timetable index of a STOP
    distance: float = math.nan  # metres, reverse geocoding only

    station: bool = False  # a STOP that is a station (its platforms fold into it)

    def rank_key(self) -> tuple[float, float, bool, int, str]:
        """Score, then importance, then a station before its platform (of equal
        departures: a platform with its own name holds all of them), then shorter."""
        return (-self.score, -self.importance, not self.station, len(self.name), self.name)


@dataclass(frozen=True)
class Scored:
    """Records that matched the name words: ids, quality and per-word details."""

    records: np.ndarray  # int32
    quality: np.ndarray  # float, 0..1
    all_prefix: np.ndarray  # bool: every name word equals or begins a name word
    name_hit: np.ndarray  # bool[words, records]: the word matched the name itself
    area_hit: np.ndarray  # bool[words, records]: the word matched an area instead


def score_names(index: WordIndex, n_records: int, nwords: np.ndarray,
                name_words: Sequence[QueryWord],
                area_scores: Callable[[int, np.ndarray], np.ndarray] | None = None,
                extra_words: int = 0) -> Scored:
    """Quality of every record one of ``name_words`` names (module doc).

    ``area_scores(i, records)`` gives word ``i``'s weight as the records' area name;
    ``extra_words`` are number words still to be matched (they count in the mean)."""
    k = len(name_words)
    hits = [index.lookup(w.forms, prefix=True, fuzzy=True) for w in name_words]
    cand = np.unique(np.concatenate([h.records for h in hits])) if hits else \
        np.zeros(0, np.int32)
    empty = np.zeros((k, 0), bool)
    if len(cand) == 0:
        return Scored(cand, np.zeros(0), np.zeros(0, bool), empty, empty)
    weight = np.zeros((k, len(cand)), np.float32)
    kind = np.zeros((k, len(cand)), np.int8)
    for i, h in enumerate(hits):
        pos = np.searchsorted(cand, h.records)
        weight[i, pos] = h.weights
        kind[i, pos] = h.kinds
    name_hit = weight > 0
    area = np.zeros_like(weight)
    if area_scores is not None:
        for i in range(k):
            area[i] = area_scores(i, cand) * AREA_WEIGHT
    area_hit = ~name_hit & (area > 0)
    best = np.maximum(weight, area)
    matched_names = name_hit.sum(axis=0)
    coverage = np.minimum(1.0, matched_names / np.maximum(np.asarray(nwords)[cand], 1))
    quality = best.sum(axis=0) / (k + extra_words) * (0.7 + 0.3 * coverage)
    all_prefix = np.all((kind >= PREFIX) | area_hit, axis=0)
    return Scored(cand.astype(np.int32), quality.astype(float), all_prefix, name_hit,
                  area_hit)


def match_kind(query_forms: Sequence[str], name: str, all_prefix: bool) -> int:
    """exact / prefix / word-prefix / fuzzy of a name against the query's name words."""
    forms = spellings(name)
    if any(q == f for q in query_forms for f in forms):
        return EXACT_MATCH
    if any(f.startswith(q) for q in query_forms for f in forms):
        return PREFIX_MATCH
    return WORD_PREFIX_MATCH if all_prefix else FUZZY_MATCH


def _joined_forms(name_words: Sequence[QueryWord]) -> list[str]:
    """The name words as whole names, in every spelling (first forms, then second)."""
    n = max((len(w.forms) for w in name_words), default=0)
    return list(dict.fromkeys(" ".join(w.forms[min(j, len(w.forms) - 1)] for w in name_words)
                              for j in range(n)))


def _tokens(words_: Sequence[QueryWord], used: Sequence[bool]) -> list[tuple[int, int]]:
    return sorted({(w.start, w.length) for w, u in zip(words_, used, strict=True) if u})


# --- stops ------------------------------------------------------------------------------------


class StopSearch:
    """A name index over a timetable's stops (built once per timetable).

    Platforms that share their parent's name collapse into the parent; importance is the
    number of departures (pickups) in the compiled timetable, a station's summed over its
    platforms, normalised by the busiest."""

    def __init__(self, tt: Timetable) -> None:
        n = tt.n_stops
        parent = np.asarray(tt.stop_parent)
        served = np.diff(np.asarray(tt.stop_route_offset)) > 0
        kids = np.nonzero(parent >= 0)[0]
        has_child = np.zeros(n, dtype=bool)
        child_served = np.zeros(n, dtype=bool)
        has_child[parent[kids]] = True
        np.logical_or.at(child_served, parent[kids], served[kids])
        self.served = served | child_served
        self.is_station = has_child
        pickup = np.asarray(tt.conn_pickup) == 1
        departures = np.bincount(np.asarray(tt.conn_dep_stop)[pickup], minlength=n
                                 ).astype(np.int64)
        np.add.at(departures, parent[kids], departures[kids])
        self.departures = departures
        self.importance = departures / max(1, int(departures.max(initial=0)))
        self.names = [str(x) for x in tt.stop_names]
        entries: list[int] = []
        for i, name in enumerate(self.names):
            p = int(parent[i])
            if p >= 0 and spellings(self.names[p]) == spellings(name):
                continue
            if spellings(name):
                entries.append(i)
        self.entries = np.array(entries, np.int32)
        self.words = WordIndex.build(words(self.names[i]) for i in entries)
        self.nwords = np.array([word_count(self.names[i]) for i in entries], np.int32)
        self.lat = np.asarray(tt.stop_lat, float)
        self.lon = np.asarray(tt.stop_lon, float)
        self.ids = tt.stop_ids

    def search(self, text: str, limit: int = 10,
               qw: Sequence[QueryWord] | None = None) -> list[Found]:
        """The best ``limit`` stops by kind, quality, then importance (``qw``: the text's
        words, when the caller parsed them already)."""
        qw = query_words(text) if qw is None else qw
        name_words = [w for w in qw if w.forms]
        if not name_words:
            return []
        scored = score_names(self.words, len(self.entries), self.nwords, name_words)
        return self._found(scored, name_words, qw, limit)

    def _found(self, scored: Scored, name_words: Sequence[QueryWord],
               qw: Sequence[QueryWord], limit: int) -> list[Found]:
        """Results for the candidates that can rank: every one whose words all equal or
        begin words of its name (their kind needs the name), and of the rest (fuzzy by
        construction) the ``limit`` of best quality."""
        forms = _joined_forms(name_words)
        pos = {id(w): i for i, w in enumerate(name_words)}
        prefixed = np.flatnonzero(scored.all_prefix)
        rest = np.flatnonzero(~scored.all_prefix)
        picks = [prefixed[_top(scored.quality[prefixed], MAX_CANDIDATES)],
                 rest[_top(scored.quality[rest], max(limit, 1))]]
        out = []
        for j in np.concatenate(picks).tolist():
            stop = int(self.entries[scored.records[j]])
            name = self.names[stop]
            kind = match_kind(forms, name, True) if scored.all_prefix[j] else FUZZY_MATCH
            used = [id(w) in pos and bool(scored.name_hit[pos[id(w)], j]) for w in qw]
            f = Found("STOP", name, float(self.lat[stop]), float(self.lon[stop]),
                      str(self.ids[stop]), kind, float(scored.quality[j]),
                      float(self.importance[stop]), tokens=_tokens(qw, used), stop=stop,
                      station=bool(self.is_station[stop]))
            f.score = match_score(kind, f.quality)
            out.append(f)
        out.sort(key=Found.rank_key)
        return out[:limit] if limit else out


def match_score(kind: int, quality: float) -> float:
    """``kind + quality / 2``. The name equal to or beginning with the words typed
    (exact, prefix) is as good as it gets: no quality, so importance decides among them
    ("Frankfurt(M": the Hbf before the airport); word-prefix matches count quality in
    tenths, fuzzy ones exactly (similarity is all that tells a slip from another name)."""
    if kind >= PREFIX_MATCH:
        return kind + 0.5
    return kind + 0.5 * (quality if kind == FUZZY_MATCH else round(quality, 1))


def _top(quality: np.ndarray, n: int) -> np.ndarray:
    if len(quality) <= n:
        return np.argsort(-quality, kind="stable")
    part = np.argpartition(-quality, n)[:n]
    return part[np.argsort(-quality[part], kind="stable")]


# --- addresses and places -----------------------------------------------------------------


def _number_match(query: str, key: str) -> float:
    """How well a typed house number names one: exactly, or "5" for "5a"/"5-7"."""
    if key == query:
        return 1.0
    if key.startswith(query) and not key[len(query)].isdigit():
        return 0.8
    return 0.0


class PlaceSearch:
    """Addresses, streets and places of a :class:`PlaceIndex`."""

    def __init__(self, index: PlaceIndex) -> None:
        self.index = index
        self._zero = np.zeros(1, np.float32)

    def areas(self, rec_or_town: int, district: int = -2, matched: frozenset[int] = frozenset()
              ) -> list[Area]:
        """The municipality, then the district, of a record (or of the ids given)."""
        ix = self.index
        if district == -2:
            town, district = int(ix.rec_town[rec_or_town]), int(ix.rec_district[rec_or_town])
        else:
            town = rec_or_town
        out = []
        for a in (town, district):
            if a >= 0:
                out.append(Area(ix.area_name(a), int(ix.area_level[a]), a in matched))
        return out

    def address_areas(self, addr: int, matched: frozenset[int] = frozenset()) -> list[Area]:
        """An address's municipality (its street's) and its own district."""
        ix = self.index
        return self.areas(int(ix.rec_town[int(ix.addr_record[addr])]),
                          int(ix.addr_district[addr]), matched)

    def search(self, text: str, limit: int = 10, types: frozenset[str] = frozenset(
            {"ADDRESS", "PLACE"}), qw: Sequence[QueryWord] | None = None) -> list[Found]:
        """The best ``limit`` addresses, streets and places (``qw`` as for stops)."""
        ix = self.index
        qw = query_words(text) if qw is None else qw
        name_words = [w for w in qw if w.forms]
        numbers = [w for w in qw if w.number]
        if not name_words or ix.n_records == 0:
            return []
        area_hits = [ix.area_words.lookup(w.forms, prefix=True, fuzzy=True)
                     for w in name_words]
        area_w = []
        for h in area_hits:
            dense = np.zeros(ix.n_areas + 1, np.float32)  # the last one: "no area"
            dense[h.records] = h.weights
            area_w.append(dense)

        def area_scores(i: int, recs: np.ndarray) -> np.ndarray:
            d = area_w[i]
            return np.maximum(d[ix.rec_town[recs]], d[ix.rec_district[recs]])

        scored = score_names(ix.words, ix.n_records, ix.rec_nwords, name_words, area_scores,
                             extra_words=len(numbers))
        kinds = ix.rec_kind[scored.records]
        keep = np.ones(len(kinds), bool)
        if "PLACE" not in types:
            keep &= kinds != PLACE
        if "ADDRESS" not in types:
            keep &= kinds != STREET
        k = len(name_words) + len(numbers)
        out: list[Found] = []
        for j in _top(np.where(keep, scored.quality, -1.0), MAX_CANDIDATES):
            if not keep[j]:
                break
            rec = int(scored.records[j])
            matched_areas = frozenset(
                int(a) for i, w in enumerate(name_words) if scored.area_hit[i, j]
                for a in (ix.rec_town[rec], ix.rec_district[rec]) if area_w[i][a] > 0)
            used = {id(w): bool(scored.name_hit[i, j] or scored.area_hit[i, j])
                    for i, w in enumerate(name_words)}
            name_only = [w for i, w in enumerate(name_words) if scored.name_hit[i, j]]
            if all(used.values()) and scored.all_prefix[j]:  # town words are context
                joined = _joined_forms(name_only)
                kind = match_kind(joined, ix.string(int(ix.a["rec_name"][rec])), True)
                if matched_areas and min(map(len, joined)) < 3:
                    kind = min(kind, WORD_PREFIX_MATCH)  # "Frankfurt M": no name yet
            else:  # a typo, or a word that matched nothing: at best a near miss
                kind = FUZZY_MATCH
            out += self._results(rec, qw, numbers, used, kind, float(scored.quality[j]), k,
                                 matched_areas)
            if len(out) >= 4 * max(limit, 10):
                break
        out.sort(key=Found.rank_key)
        return out[:limit]

    def _results(self, rec: int, qw: Sequence[QueryWord], numbers: Sequence[QueryWord],
                 used: dict[int, bool], kind: int, quality: float, k: int,
                 matched_areas: frozenset[int]) -> list[Found]:
        """The record as a result, or for a street with a typed number its address."""
        ix = self.index
        a = ix.a
        name = ix.string(int(a["rec_name"][rec]))
        postcode = ix.string(int(a["rec_postcode"][rec]))
        number_used = {id(w): False for w in numbers}
        gain = 0.0
        for w in numbers:
            if postcode and w.number == postcode.casefold():
                number_used[id(w)] = True
                gain += 1.0
        base = Found("ADDRESS" if ix.rec_kind[rec] == STREET else "PLACE", name,
                     float(ix.rec_lat[rec]), float(ix.rec_lon[rec]), "", kind, quality,
                     areas=self.areas(rec, matched=matched_areas), zip=postcode)
        if ix.rec_kind[rec] == PLACE:
            osm = OSM_TYPES[int(a["rec_osm_type"][rec])]
            base.id = f"osm:{osm}:{int(a['rec_osm'][rec])}"
            base.category = ix.string(int(a["rec_category"][rec]))
            base.street = ix.string(int(a["rec_street"][rec]))
            base.house_number = ix.string(int(a["rec_number"][rec]))
        else:
            base.id = f"osm:street:{rec}"
            base.street = name
        results = []
        lo, hi = int(ix.rec_addr_offset[rec]), int(ix.rec_addr_offset[rec + 1])
        house = [w for w in numbers if not number_used[id(w)]]
        if house and hi > lo and ix.rec_kind[rec] == STREET:
            want = house[0]
            seen: set[str] = set()
            for addr in range(lo, hi):
                m = _number_match(want.number, ix.number_key(addr))
                if m <= 0 or ix.number_key(addr) in seen:
                    continue  # a second point of one number (an entrance, a shop)
                seen.add(ix.number_key(addr))
                number = ix.string(int(a["addr_number"][addr]))
                zip_ = ix.string(int(a["addr_postcode"][addr])) or postcode
                u = {**used, **number_used, id(want): True}
                q = min(1.0, quality + (m + gain) / k)
                f = Found("ADDRESS", f"{name} {number}", float(ix.addr_lat[addr]),
                          float(ix.addr_lon[addr]),
                          f"osm:{OSM_TYPES[int(a['addr_osm_type'][addr])]}:"
                          f"{int(a['addr_osm'][addr])}", kind, q,
                          tokens=_tokens(qw, [u.get(id(w), False) for w in qw]),
                          areas=self.address_areas(addr, matched_areas), street=name,
                          house_number=number, zip=zip_)
                f.score = match_score(kind, q)
                results.append(f)
                if len(results) >= 5:
                    break
        if not results:
            base.quality = min(1.0, quality + gain / k)
            u = {**used, **number_used}
            base.tokens = _tokens(qw, [u.get(id(w), False) for w in qw])
            # A typed house number the street does not have: still the street, one kind down.
            kind = kind - 1 if house and kind > FUZZY_MATCH else kind
            base.kind = kind
            base.score = match_score(kind, base.quality)
            results.append(base)
        return results

    def _address(self, i: int, dist: float) -> Found:
        ix = self.index
        rec = int(ix.addr_record[i])
        street = ix.string(int(ix.a["rec_name"][rec]))
        number = ix.string(int(ix.a["addr_number"][i]))
        return Found("ADDRESS", f"{street} {number}", float(ix.addr_lat[i]),
                     float(ix.addr_lon[i]),
                     f"osm:{OSM_TYPES[int(ix.a['addr_osm_type'][i])]}:{int(ix.a['addr_osm'][i])}",
                     EXACT_MATCH, 1.0, areas=self.address_areas(i), street=street,
                     house_number=number, zip=ix.string(int(ix.a["addr_postcode"][i])),
                     distance=dist)

    def nearest(self, lat: float, lon: float, count: int, radius: float | None = None,
                types: frozenset[str] = frozenset({"ADDRESS", "PLACE"})) -> list[Found]:
        """Reverse geocoding: the nearest addresses and places, nearest first, and the
        nearest address always among them (a house among shops in it). Streets stand for
        their addresses, so a point on a street without numbers gets the street."""
        ix = self.index
        n_addr = ix.n_addresses
        out: list[Found] = []
        for i, dist in ix.points.nearest(lat, lon, count * 4 + 8, radius_m=radius):
            if i < n_addr:
                if "ADDRESS" not in types:
                    continue
                f = self._address(i, dist)
                if any(g.type == "ADDRESS" and g.name == f.name for g in out):
                    continue
            else:
                rec = i - n_addr
                kind = int(ix.rec_kind[rec])
                if (kind == PLACE and "PLACE" not in types) or (
                        kind == STREET and "ADDRESS" not in types):
                    continue
                f = self._results(rec, [], [], {}, EXACT_MATCH, 1.0, 1, frozenset())[0]
                f.distance = dist
            out.append(f)
            if len(out) >= count:
                break
        if "ADDRESS" in types and n_addr and not any(f.house_number and f.type == "ADDRESS"
                                                     for f in out):
            for i, dist in ix.points.nearest(lat, lon, 1, below=n_addr, radius_m=radius):
                out = [*out[:max(0, count - 1)], self._address(i, dist)]
        return out

    def areas_near(self, lat: float, lon: float) -> list[Area]:
        """The municipality and district of the nearest indexed point within
        ``STOP_AREA_M`` (what a stop is shown with)."""
        ix = self.index
        hit = ix.points.nearest(lat, lon, 1, radius_m=STOP_AREA_M)
        if not hit:
            return []
        i = hit[0][0]
        return self.address_areas(i) if i < ix.n_addresses else self.areas(i - ix.n_addresses)


# --- together ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Town:
    """A configured municipality (``[[town]]``): the fallback context of stops."""

    name: str
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


def town_of(towns: Sequence[Town], lat: float, lon: float) -> Town | None:
    """The configured town whose box holds the point; of several, the nearest centre."""
    inside = [t for t in towns if t.bbox[0] <= lon <= t.bbox[2] and t.bbox[1] <= lat <= t.bbox[3]]
    if not inside:
        return None
    return min(inside, key=lambda t: haversine_m(lat, lon, (t.bbox[1] + t.bbox[3]) / 2,
                                                 (t.bbox[0] + t.bbox[2]) / 2))


class Geocoder:
    """Stops of one timetable with the addresses and places of the loaded extracts."""

    def __init__(self, stops: StopSearch, places: PlaceSearch | None = None,
                 towns: Sequence[Town] = ()) -> None:
        self.stops = stops
        self.places = places
        self.towns = tuple(towns)
        self._stop_areas: dict[int, list[Area]] = {}

    def stop_areas(self, stop: int) -> list[Area]:
        hit = self._stop_areas.get(stop)
        if hit is None:
            lat, lon = float(self.stops.lat[stop]), float(self.stops.lon[stop])
            hit = self.places.areas_near(lat, lon) if self.places is not None else []
            if not hit:
                town = town_of(self.towns, lat, lon)
                hit = [Area(town.name, 8)] if town is not None else []
            self._stop_areas[stop] = hit
        return hit

    def _with_areas(self, f: Found, qw: Sequence[QueryWord]) -> Found:
        """A stop's areas, marked matched where a query word names them."""
        areas = self.stop_areas(f.stop)
        words_ = {w for a in areas for w in words(a.name)}
        f.areas = [Area(a.name, a.level, any(set(w.forms) & set(words(a.name)) for w in qw))
                   for a in areas] if words_ else []
        return f

    def search(self, text: str, limit: int, types: frozenset[str],
               bias_at: tuple[float, float] | None = None, bias: float = 1.0,
               box: Box | None = None, keep_stop: Callable[[int], bool] | None = None
               ) -> list[Found]:
        """The ``limit`` best matches of ``types`` inside ``box`` (module doc)."""
        narrowing = bias_at is not None or box is not None or keep_stop is not None
        wanted = max(limit * 4, 200) if narrowing else limit
        found: list[Found] = []
        qw = query_words(text)
        if "STOP" in types:
            found += [f for f in self.stops.search(text, wanted, qw)
                      if keep_stop is None or keep_stop(f.stop)]
        if self.places is not None and types & {"ADDRESS", "PLACE"}:
            found += self.places.search(text, wanted, types, qw)
        if box is not None:
            found = [f for f in found
                     if box[0] <= f.lat <= box[2] and box[1] <= f.lon <= box[3]]
        if bias_at is not None and found:
            d = haversine_m_array(bias_at[0], bias_at[1], np.array([f.lat for f in found]),
                                  np.array([f.lon for f in found]))
            for f, m in zip(found, d.tolist(), strict=True):
                f.score += bias * math.exp(-m / 1000.0 / BIAS_KM)
        found.sort(key=Found.rank_key)
        found = found[:limit]
        return [self._with_areas(f, qw) if f.type == "STOP" else f for f in found]

    def reverse(self, lat: float, lon: float, count: int, types: frozenset[str],
                stop_points: PointIndex | None = None, radius: float | None = None
                ) -> list[Found]:
        """Nearest stops, addresses and places, nearest first."""
        found: list[Found] = []
        if "STOP" in types and stop_points is not None:
            for stop, dist in stop_points.nearest(lat, lon, count):
                if radius is not None and dist > radius:
                    break
                f = Found("STOP", self.stops.names[stop], float(self.stops.lat[stop]),
                          float(self.stops.lon[stop]), str(self.stops.ids[stop]),
                          EXACT_MATCH, 1.0, float(self.stops.importance[stop]),
                          stop=int(stop), distance=dist)
                found.append(self._with_areas(f, []))
        if self.places is not None and types & {"ADDRESS", "PLACE"}:
            found += self.places.nearest(lat, lon, count, radius, types)
        def order(f: Found) -> tuple[float, bool]:
            return (round(f.distance, 1), f.type != "ADDRESS")  # a house before its shops

        found.sort(key=order)
        out = found[:count]
        # The nearest stop and the nearest address always make the list (where asked
        # for): a point among many shops still tells where to board and where it is.
        for kind in ("STOP", "ADDRESS"):
            if kind in types and not any(f.type == kind for f in out):
                nearest = next((f for f in found if f.type == kind), None)
                if nearest is not None:
                    keep = [f for f in out if f.type != kind]
                    out = sorted([*keep[:max(0, count - 1)], nearest], key=order)
        for f in out:
            f.score = -f.distance  # higher is better; here the nearest is best
        return out
