"""Addresses and places of the six OSM extracts in ../shared/data (issue 15 point 6).

Each extract's real addresses, streets and named places are found by the exact text,
in lower case, with a typo and with the words reordered (town or postcode first); a
building's address is read from the extract with pyosmium here, independently of the
index, and reverse geocoding at its centroid must return it. The cache entry of an
extract is a memory map of the same arrays; a damaged one is rebuilt.
"""

from __future__ import annotations

import mmap
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import osmium
import pytest

from planner.multimodal.geometry import haversine_m
from planner.places.osm_index import PlacesError, build_index, load_or_build
from planner.places.search import EXACT_MATCH, FUZZY_MATCH, Found, PlaceSearch
from tests.shared_data import shared

FRANKFURT = "gbfs-de-callabike-darmstadt/osm/frankfurt-darmstadt-test_case.osm.pbf"
PORTLAND = "us-portland-streetcar/portland-central-filtered.osm.pbf"
PORTO_ALEGRE = "br-porto-alegre/poa_osm.pbf"
OSLO = "gbfs-no-oslo-bysykkel/osm/oslo-east-filtered.osm.pbf"
HELSINKI = "gbfs-fi-helsinki-citybikes/osm/Helsinki.osm.pbf"
HERRENBERG = "de-vvs-herrenberg/osm/herrenberg-minimal.osm.pbf"
EXTRACTS = (FRANKFURT, PORTLAND, PORTO_ALEGRE, OSLO, HELSINKI, HERRENBERG)

_SEARCHES: dict[str, PlaceSearch] = {}


def places(extract: str) -> PlaceSearch:
    """The extract's index, built once per test session."""
    if extract not in _SEARCHES:
        _SEARCHES[extract] = PlaceSearch(build_index([shared(extract)]))
    return _SEARCHES[extract]


def typo(text: str) -> str:
    """Two neighbouring letters of the longest word swapped (a typing slip)."""
    words = text.split(" ")
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    j = len(w) // 2
    words[i] = w[:j - 1] + w[j] + w[j - 1] + w[j + 1:]
    return " ".join(words)


def first(found: list[Found], pred: Callable[[Found], bool]) -> int:
    """Rank of the first result that ``pred`` accepts (-1: none)."""
    return next((i for i, f in enumerate(found) if pred(f)), -1)


# (extract, what is typed, the result's type, name, zip, municipality)
ADDRESSES = [
    (FRANKFURT, "Münchener Straße 46", "Münchener Straße 46", "60329", "Frankfurt am Main"),
    (FRANKFURT, "Külpstraße 2", "Külpstraße 2", "64293", "Darmstadt"),
    (PORTO_ALEGRE, "Rua Barão de Cotegipe 415", "Rua Barão de Cotegipe 415", "90540-020",
     "Porto Alegre"),
    (OSLO, "Sannergata 2", "Sannergata 2", "0557", "Oslo"),
    (HELSINKI, "Kaivokatu 1", "Kaivokatu 1", "00100", "Helsinki"),
    (HERRENBERG, "Ehbühl 46", "Ehbühl 46", "71083", "Herrenberg"),
]


@pytest.mark.parametrize(("extract", "text", "name", "zip_", "town"), ADDRESSES)
def test_addresses_are_found_exact_lowercase_with_a_typo_and_reordered(
        extract: str, text: str, name: str, zip_: str, town: str) -> None:
    search = places(extract)
    street, number = text.rsplit(" ", 1)
    queries = {
        "exact": text, "lower": text.lower(), "typo": typo(text),
        "town first": f"{town}, {text}", "town last": f"{text} {town}",
        "postcode first": f"{zip_} {street}", "number first": f"{number} {street}",
    }
    for how, q in queries.items():
        found = search.search(q, 5)
        if how == "postcode first":  # no number typed: the street, with its postcode
            assert found[0].type == "ADDRESS" and found[0].street == street, (how, q)
            assert found[0].zip == zip_ and not found[0].house_number, (how, q)
            continue
        top = found[0]
        assert (top.type, top.name, top.house_number, top.zip) == \
            ("ADDRESS", name, number, zip_), (how, q, found[:3])
        assert top.areas and top.areas[0].name == town, (how, top.areas)
        assert (top.kind == FUZZY_MATCH) == (how == "typo"), (how, top.kind)
        assert top.id.startswith("osm:")
    town_hit = search.search(f"{town}, {text}", 1)[0]
    assert town_hit.areas[0].matched  # the typed town is marked in the areas
    assert [t for t in town_hit.tokens] == sorted(town_hit.tokens)


# (extract, a named place of the extract, its category)
PLACES = [
    (FRANKFURT, "Hauptwache", "square"),
    (FRANKFURT, "E-Kinos", "cinema"),
    (PORTLAND, "City Center Parking", "parking_entrance"),
    (PORTO_ALEGRE, "Mercadão da Praia de Belas", "marketplace"),
    (OSLO, "Oslo S p-hus", "parking"),
    (HELSINKI, "Hilton Helsinki Strand", "hotel"),
    (HELSINKI, "Pääposti", "post_office"),
    (HERRENBERG, "Nufringer Tor", "parking"),
]


@pytest.mark.parametrize(("extract", "name", "category"), PLACES)
def test_named_places_are_found_exact_lowercase_with_a_typo_and_reordered(
        extract: str, name: str, category: str) -> None:
    search = places(extract)
    words = name.split(" ")
    queries = {"exact": name, "lower": name.lower(), "typo": typo(name),
               "reordered": " ".join(reversed(words))}
    for how, q in queries.items():
        found = search.search(q, 5)
        rank = first(found, lambda f: f.name == name and f.type == "PLACE")
        # First, or behind a street of the very same name (Herrenberg's "Nufringer Tor").
        assert rank >= 0 and (rank == 0 or how == "reordered" or found[0].name == name), \
            (how, q, found[:3])
        hit = found[rank]
        assert hit.category == category
        if how == "exact":
            assert hit.kind == EXACT_MATCH


# (extract, a named street of the extract without house numbers in it)
STREETS = [
    (PORTLAND, "North Essex Avenue"),
    (PORTLAND, "Southwest Kelly Way"),
    (PORTO_ALEGRE, "Avenida Bento Gonçalves"),
    (OSLO, "Schous plass"),
    (HERRENBERG, "Tübinger Straße"),
    (FRANKFURT, "Platz der Deutschen Einheit"),
]


@pytest.mark.parametrize(("extract", "street"), STREETS)
def test_streets_are_addresses_without_a_number(extract: str, street: str) -> None:
    search = places(extract)
    for q in (street, street.lower(), typo(street)):
        top = search.search(q, 3)[0]
        assert (top.type, top.street, top.name) == ("ADDRESS", street, street), (q, top)
        assert not top.house_number


def test_strasse_finds_strasse_with_sharp_s_and_str_abbreviated() -> None:
    search = places(HERRENBERG)
    for q in ("tuebinger strasse", "Tübinger Str.", "tubinger str", "TÜBINGER STRASSE"):
        assert search.search(q, 1)[0].name == "Tübinger Straße", q


def test_house_number_letters_are_their_own_addresses() -> None:
    """Helsinki's "Mannerheimintie 20 B": "20 b" and "20b" find it, "20" lists it too."""
    search = places(HELSINKI)
    for q in ("Mannerheimintie 20 B", "mannerheimintie 20b"):
        top = search.search(q, 1)[0]
        assert (top.street, top.house_number) == ("Mannerheimintie", "20 B"), q
    numbers = {f.house_number for f in search.search("Mannerheimintie 20", 10)}
    assert "20 B" in numbers


def test_type_filters_keep_addresses_or_places() -> None:
    search = places(FRANKFURT)
    only_places = search.search("Hauptwache", 10, frozenset({"PLACE"}))
    only_addresses = search.search("Hauptwache", 10, frozenset({"ADDRESS"}))
    assert only_places and {f.type for f in only_places} == {"PLACE"}
    assert only_addresses and {f.type for f in only_addresses} == {"ADDRESS"}


@pytest.mark.parametrize(("extract", "towns"), [
    (FRANKFURT, {"Frankfurt am Main", "Darmstadt"}),  # from addr:city (no boundaries)
    (HELSINKI, {"Helsinki"}),  # from place nodes (its boundaries are cut by the extract)
])
def test_records_get_the_town_of_their_addresses_or_place_nodes(extract: str,
                                                                towns: set[str]) -> None:
    search = places(extract)
    ix = search.index
    names = [ix.area_name(int(t)) for t in ix.rec_town]
    assert np.mean([n in towns for n in names]) > 0.9, Counter(names).most_common(5)
    assert "7" not in names  # Helsinki's addr:city=7 is no town


def test_helsinki_places_have_their_district_from_suburb_nodes() -> None:
    top = places(HELSINKI).search("Hilton Helsinki Strand", 1)[0]
    assert [(a.name, a.level) for a in top.areas] == [("Helsinki", 8), ("Siltasaari", 10)]


def _extract_with_boundaries(path: Path) -> Path:
    """A municipality (admin_level 8) with a district (10) in its south-west quarter, two
    houses of one street (one in the district) and a library: no extract in
    ../shared/data has complete boundary relations (they are clipped), the OWL one has."""
    from osmium.osm.mutable import Node, Relation, Way

    def ring(first: int, lon0: float, lat0: float, lon1: float, lat1: float) -> list[Node]:
        return [Node(id=first + k, location=c) for k, c in
                enumerate([(lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1)])]

    with osmium.SimpleWriter(str(path)) as w:
        for node in ring(1, 8.50, 52.00, 8.60, 52.06) + ring(11, 8.50, 52.00, 8.55, 52.03):
            w.add_node(node)
        w.add_node(Node(id=100, location=(8.52, 52.01),
                        tags={"addr:street": "Jahnplatz", "addr:housenumber": "5"}))
        w.add_node(Node(id=101, location=(8.58, 52.05),
                        tags={"addr:street": "Jahnplatz", "addr:housenumber": "7"}))
        w.add_node(Node(id=102, location=(8.57, 52.04),
                        tags={"name": "Stadtbibliothek", "amenity": "library"}))
        w.add_way(Way(id=1, nodes=[1, 2, 3, 4, 1]))
        w.add_way(Way(id=2, nodes=[11, 12, 13, 14, 11]))
        for rid, way, level, name in ((1, 1, "8", "Musterstadt"), (2, 2, "10", "Altstadt")):
            w.add_relation(Relation(id=rid, members=[("w", way, "outer")], tags={
                "type": "boundary", "boundary": "administrative", "admin_level": level,
                "name": name}))
    return path


def test_administrative_boundaries_give_municipality_and_district(tmp_path: Path) -> None:
    search = PlaceSearch(build_index([_extract_with_boundaries(tmp_path / "b.osm.pbf")]))
    assert search.index.stats["boundaries"] == 2

    def areas(f: Found) -> list[tuple[str, int, bool]]:
        return [(a.name, a.level, a.matched) for a in f.areas]

    inside = search.search("Jahnplatz 5", 1)[0]
    assert areas(inside) == [("Musterstadt", 8, False), ("Altstadt", 10, False)]
    outside = search.search("Musterstadt, Jahnplatz 7", 1)[0]
    assert outside.house_number == "7"
    assert areas(outside) == [("Musterstadt", 8, True)]  # typed, and not in the district
    library = search.search("stadtbibliotek", 1)[0]
    assert library.category == "library" and areas(library) == [("Musterstadt", 8, False)]
    assert [f.name for f in search.nearest(52.0101, 8.5201, 1)] == ["Jahnplatz 5"]


def _buildings_with_address(path: Path) -> list[tuple[str, str, float, float]]:
    """(street, number, centroid lat, lon) of the closed building ways with an address."""
    out = []
    reader = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for way in reader:
        t = way.tags
        if isinstance(way, osmium.osm.Way) and "building" in t and "addr:street" in t \
                and "addr:housenumber" in t and "name" not in t and way.is_closed():
            pts = [(n.location.lat, n.location.lon) for n in list(way.nodes)[:-1]
                   if n.location.valid()]
            if not pts:
                continue
            out.append((t["addr:street"], t["addr:housenumber"],
                        sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)))
    return out


@pytest.mark.parametrize("extract", [FRANKFURT, HELSINKI])
def test_reverse_geocoding_returns_the_address_of_a_building(extract: str) -> None:
    buildings = _buildings_with_address(shared(extract))
    assert len(buildings) >= 5
    search = places(extract)
    for street, number, lat, lon in buildings[:: max(1, len(buildings) // 10)]:
        found = search.nearest(lat, lon, 5)
        addresses = [f for f in found if f.type == "ADDRESS" and f.house_number]
        assert addresses, (street, number)
        near = addresses[0]
        # The building's own address, or one that shares its centroid (a terrace).
        assert (near.street, near.house_number) == (street, number) or \
            haversine_m(lat, lon, near.lat, near.lon) < 1.0, (street, number, near)
        assert [f.distance for f in found] == sorted(f.distance for f in found)


def _mapping(arr: np.ndarray) -> object:
    """What an array's memory belongs to, through its views."""
    base: object = arr
    while isinstance(base, np.ndarray):
        base = base.base
    return base.obj if isinstance(base, memoryview) else base


def test_cache_entry_is_one_memory_map_of_the_same_arrays(tmp_path: Path) -> None:
    path = [shared(HERRENBERG)]
    built = load_or_build(path, tmp_path)
    again = load_or_build(path, tmp_path)
    assert built.stats["cache"] == "miss" and again.stats["cache"] == "hit"
    maps = {id(_mapping(arr)) for arr in again.a.values()}
    assert len(maps) == 1 and isinstance(_mapping(again.a["rec_lat"]), mmap.mmap)
    assert set(built.a) == set(again.a)
    for name, arr in built.a.items():
        assert np.array_equal(np.asarray(arr), np.asarray(again.a[name])), name
    (entry,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    (entry / "arrays.bin").write_bytes(b"damaged")
    rebuilt = load_or_build(path, tmp_path)
    assert rebuilt.stats["cache"] == "miss"
    assert PlaceSearch(rebuilt).search("Ehbühl 46", 1)[0].house_number == "46"


def test_a_file_that_is_no_extract_is_refused_by_name(tmp_path: Path) -> None:
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all" * 20)
    with pytest.raises(PlacesError, match="broken.osm.pbf"):
        build_index([broken])
    with pytest.raises(PlacesError, match="missing.osm.pbf"):
        load_or_build([tmp_path / "missing.osm.pbf"], tmp_path)
