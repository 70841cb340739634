"""Cache keys: every input that changes an answer changes the key it is cached under.

Two caches serve stored answers instead of computing them: the plan cache of
``/api/v1/plan`` (``PlanRequest.key()`` with the timetable version and, for rental modes,
the GBFS state) and the compiled timetables on disk (``content_hash`` of the feeds,
``CompileOptions`` and the day). A parameter missing from either key returns the answer of
another request without any error, so the walks below take their lists from the
dataclasses and the endpoint's signature: a new parameter is covered, or the test names
it, without anyone remembering this file.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import time
import typing
from collections.abc import Callable, Iterator
from datetime import date
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import create_app
from api.cache import cache_key
from api.plan import PlanRequest
from api.runtime import runtime_of
from api.settings import load_settings
from feeds.demo import DEMO_FEED
from planner.timetable.compile import CompileOptions, compile_timetable, content_hash
from planner.timetable.disk_cache import load_or_compile
from tests.feedmaker import LINE_STOPS, write_feed
from tests.servers import JsonServer, etag_of
from tests.shared_data import shared

BIELEFELD = "de-db-fv-2026:347953"
GUETERSLOH = "de-db-fv-2026:87584"
PADERBORN = "de-db-fv-2026:469041"
DAY = "2026-04-20"
T8 = f"{DAY}T08:00:00+02:00"


def other_value(value: Any) -> Any:
    """A different value of the same type (the walks only need "not equal")."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.25
    if isinstance(value, str):
        return value + "-other"
    if isinstance(value, tuple):
        return (*value, "OTHER")
    if value is None:  # an optional bound or filter, unset: any set value differs
        return 1
    raise AssertionError(f"no other value for {value!r}: teach other_value() this type")


def sample_value(field: dataclasses.Field[Any], annotation: object) -> Any:
    """The field's default, else a plain value of its type."""
    if field.default is not dataclasses.MISSING:
        return field.default
    plain: dict[object, object] = {str: "x", int: 0, float: 1.0, bool: False}
    if annotation in plain:
        return plain[annotation]
    if typing.get_origin(annotation) is tuple:
        return ()
    raise AssertionError(f"no sample value for {field.name}: {annotation}")


# --- the plan cache: PlanRequest -------------------------------------------------------------


def base_request() -> PlanRequest:
    hints = typing.get_type_hints(PlanRequest)
    return PlanRequest(**{f.name: sample_value(f, hints[f.name])
                          for f in dataclasses.fields(PlanRequest)})


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(PlanRequest)])
def test_every_plan_request_field_changes_the_cache_key(name: str) -> None:
    """A field left out of ``key()`` would serve one request the answer of another."""
    base = base_request()
    changed = dataclasses.replace(base, **{name: other_value(getattr(base, name))})
    assert changed.key() != base.key(), f"PlanRequest.key() ignores {name}"
    assert base_request().key() == base.key()  # and equal requests share one key


def test_swapping_origin_and_destination_changes_the_cache_key() -> None:
    """Values alone are not enough: which parameter holds them counts too."""
    there = dataclasses.replace(base_request(), from_place="a", to_place="b")
    back = dataclasses.replace(there, from_place="b", to_place="a")
    assert there.key() != back.key()


def test_plan_cache_key_names_the_kind_and_the_timetable_version() -> None:
    keys = {cache_key("plan", "v1", "{}"), cache_key("plan", "v2", "{}"),
            cache_key("board", "v1", "{}"), cache_key("plan", "v1", "{ }")}
    assert len(keys) == 4


#: Endpoint parameters that are no field of their own but set several fields.
DERIVED = {"pageCursor": {"time", "arrive_by", "earlier"}}
#: PlanRequest fields only MOTIS's /api/v5 and /api/v6 parameters set (v1 keeps defaults);
#: walked by test_motis_parameters_are_cache_misses.
MOTIS_ONLY = {"radius": ("radius", 300), "detailed_legs": ("detailedLegs", "false"),
              "detailed_transfers": ("detailedTransfers", "false"),
              "require_bike": ("requireBikeTransport", "true"),
              "max_travel_time": ("maxTravelTime", 30),
              "max_itineraries": ("maxItineraries", 1),
              "fastest_direct_factor": ("fastestDirectFactor", 0.5),
              "widen": ("numItineraries", 0), "cycling_speed": ("cyclingSpeed", 2.0),
              "max_matching_distance": ("maxMatchingDistance", 5),
              "rental_filters": ("preTransitRentalPropulsionTypes", "HUMAN"),
              "version": None}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def plan_parameters(app: Any) -> list[str]:
    """The query parameters of ``/api/v1/plan``, read from the endpoint's signature."""
    (route,) = [r for r in app.routes if isinstance(r, APIRoute) and r.path == "/api/v1/plan"]
    return list(inspect.signature(route.endpoint).parameters)


@pytest.fixture(scope="module")
def demo() -> Iterator[TestClient]:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),))
    with TestClient(create_app(settings)) as c:
        yield c


def test_every_plan_parameter_lands_in_a_plan_request_field(demo: TestClient) -> None:
    """The walk over PlanRequest's fields covers the endpoint only if every parameter
    reaches a field (by its snake_case name, or via ``DERIVED``) and no field is unused."""
    params = plan_parameters(demo.app)
    fields = {f.name for f in dataclasses.fields(PlanRequest)}
    assert len(params) >= 18
    unmapped = [p for p in params if snake(p) not in fields and p not in DERIVED]
    assert not unmapped, f"parameters without a PlanRequest field (cache key!): {unmapped}"
    reached = {snake(p) for p in params} | set().union(*DERIVED.values()) | set(MOTIS_ONLY)
    assert fields <= reached, f"fields no parameter sets: {fields - reached}"


def test_motis_parameters_are_cache_misses(demo: TestClient) -> None:
    """The fields only /api/v5 parameters set: each change is a miss there, and v5 and v6
    answers (rendered differently) never share an entry."""
    base = {"fromPlace": "52.0275,8.5327", "toPlace": PADERBORN, "time": T8}

    def fetch(path: str, params: dict[str, object]) -> str:
        hits, _ = cache_counts(demo)
        r = demo.get(path, params=params)
        assert r.status_code == 200, r.text
        return "hit" if cache_counts(demo)[0] > hits else "miss"

    fetch("/api/v5/plan", base)
    for field, change in MOTIS_ONLY.items():
        assert fetch("/api/v5/plan", base) == "hit"
        if change is None:  # the version: the same request on v6
            assert fetch("/api/v6/plan", base) == "miss"
            continue
        name, value = change
        if name.startswith("preTransitRental"):
            continue  # rental filters need a GBFS server: test_api_rental covers them
        assert fetch("/api/v5/plan", {**base, name: value}) == "miss", field


def cache_counts(client: TestClient) -> tuple[int, int]:
    """(hits, misses) of the plan cache, as ``/metrics`` reports them."""
    text = client.get("/metrics").text
    out = []
    for result in ("hit", "miss"):
        found = re.search(rf'^owl_cache_requests_total{{result="{result}"}} (\S+)$', text,
                          re.MULTILINE)
        out.append(int(float(found.group(1))) if found else 0)
    return out[0], out[1]


def get_plan(client: TestClient, params: dict[str, object]) -> tuple[dict[str, Any], str]:
    """(JSON, "hit" or "miss") of one plan request."""
    hits, misses = cache_counts(client)
    r = client.get("/api/v1/plan", params=params)
    assert r.status_code == 200, (params, r.text)
    after = cache_counts(client)
    assert sum(after) == hits + misses + 1, "every plan request looks in the cache once"
    return r.json(), "hit" if after[0] > hits else "miss"


def assert_each_change_misses(client: TestClient, base: dict[str, object],
                              changes: dict[str, Callable[[dict[str, Any]], object]]) -> None:
    """For each parameter: the baseline again is a hit (the key is stable), the baseline
    with that one parameter changed is a miss (the key saw the change)."""
    first, _ = get_plan(client, base)
    for name, value_of in changes.items():
        again, result = get_plan(client, base)
        assert result == "hit" and again == first
        _, result = get_plan(client, {**base, name: value_of(first)})
        assert result == "miss", f"{name} changed, yet the cached answer was served"


#: Changes of every non-rental parameter, relative to CORE_BASE (values computed from the
#: baseline's answer where they must come from the server).
CORE_BASE: dict[str, object] = {"fromPlace": BIELEFELD, "toPlace": GUETERSLOH, "time": T8}
CORE_CHANGES: dict[str, Callable[[dict[str, Any]], object]] = {
    "fromPlace": lambda _: PADERBORN,
    "toPlace": lambda _: PADERBORN,
    "time": lambda _: f"{DAY}T09:00:00+02:00",
    "arriveBy": lambda _: "true",
    "searchWindow": lambda _: 3600,
    "numItineraries": lambda _: 2,
    "maxTransfers": lambda _: 0,
    "minTransferTime": lambda _: 45,
    "pedestrianSpeed": lambda _: 0.9,
    "maxPreTransitTime": lambda _: 300,
    "maxPostTransitTime": lambda _: 300,
    "maxDirectTime": lambda _: 300,
    "transitModes": lambda _: "HIGHSPEED_RAIL",
    "pageCursor": lambda first: first["nextPageCursor"],
}
#: Changes of the rental parameters (need a GBFS feed), relative to RENTAL_BASE.
RENTAL_CHANGES: dict[str, Callable[[dict[str, Any]], object]] = {
    "preTransitModes": lambda _: "WALK,SCOOTER_RENTAL",
    "postTransitModes": lambda _: "WALK",
    "directModes": lambda _: "WALK,SCOOTER_RENTAL",
    "rentalProviders": lambda _: "TIER_Wolsburg",
}


def test_the_cache_walks_cover_every_plan_parameter(demo: TestClient) -> None:
    """A parameter added to the endpoint fails here until it is walked end to end."""
    params = plan_parameters(demo.app)
    walked = set(CORE_CHANGES) | set(RENTAL_CHANGES)
    assert not set(params) - walked, f"add to CORE_/RENTAL_CHANGES: {set(params) - walked}"
    assert not walked - set(params), f"no such parameter any more: {walked - set(params)}"


def test_changing_any_plan_parameter_is_a_cache_miss(demo: TestClient) -> None:
    """End to end on the demo feed: also catches a parameter that never reaches the
    PlanRequest (then the key, and the answer, ignore it)."""
    assert_each_change_misses(demo, CORE_BASE, CORE_CHANGES)


def test_min_transfer_time_45_is_not_served_the_cached_answer_for_0(demo: TestClient) -> None:
    """Issue 18's injected bug: without minTransferTime in the key, 45 min got the cached
    answer for 0. Bielefeld -> Paderborn needs a change, so the slack changes the plan."""
    q = {"fromPlace": BIELEFELD, "toPlace": PADERBORN, "time": f"{DAY}T08:07:00+02:00",
         "numItineraries": 3}
    tight, _ = get_plan(demo, {**q, "minTransferTime": 0})
    again, result = get_plan(demo, {**q, "minTransferTime": 0})
    assert result == "hit" and again == tight
    slack, result = get_plan(demo, {**q, "minTransferTime": 45})
    assert result == "miss"
    assert tight["itineraries"] and slack["itineraries"]
    assert slack["itineraries"] != tight["itineraries"]


class GbfsFiles(JsonServer):
    """A GBFS snapshot directory over loopback HTTP."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.files = {f"/gbfs/{f.name}": f.read_bytes() for f in directory.glob("*.json")}
        self.url = f"{self.base}/gbfs/gbfs.json"

    def answer(self, path: str, headers: Message) -> tuple[int, bytes, dict[str, str]]:
        body = self.files.get(path)
        if body is None:
            return 404, b"not found", {}
        return 200, body, {"ETag": etag_of(body)}


def test_changing_any_rental_parameter_is_a_cache_miss() -> None:
    """Rental modes and providers, on the demo feed with the TIER Wolfsburg snapshot (GBFS
    clock pinned, no refresh during the test, so the GBFS part of the key holds still)."""
    tier = shared("gbfs-de-tier-wolfsburg")
    t0 = 1_700_000_000.0
    gbfs = GbfsFiles(tier)
    with gbfs:
        settings = load_settings(
            env={}, feeds=(str(DEMO_FEED),), gbfs=(gbfs.url,), gbfs_config="",
            gbfs_resolve="manifest", gbfs_epoch=t0, gbfs_max_age=600.0,
            gbfs_min_interval=3600.0, search_deadline=30.0)
        with TestClient(create_app(settings)) as client:
            rt = runtime_of(client.app)
            (feed,) = rt.sharing.feeds
            waited = time.monotonic() + 30
            while feed.system is None or feed.last_success is None:  # first refresh
                assert time.monotonic() < waited, f"no GBFS refresh: {feed.last_error}"
                time.sleep(0.05)
            rt.sharing.clock = lambda: t0 + 60
            wolfsburg_east = "52.4295,10.8170"  # 2 km east of Wolfsburg Hbf
            base: dict[str, object] = {
                "fromPlace": BIELEFELD, "toPlace": wolfsburg_east, "time": T8,
                "numItineraries": 1, "maxPostTransitTime": 2700,
                "postTransitModes": "WALK,SCOOTER_RENTAL"}
            assert_each_change_misses(client, base, RENTAL_CHANGES)


# --- the compiled-timetable cache: CompileOptions --------------------------------------------

COMPILE_DAY = date(2026, 4, 20)
#: Option values that must also compile (other_value's are only "different").
VALID_OTHER = {"default_timezone": "America/New_York"}


def other_option(options: CompileOptions, name: str) -> CompileOptions:
    change: dict[str, Any] = {name: VALID_OTHER.get(name, other_value(getattr(options, name)))}
    return dataclasses.replace(options, **change)


OPTION_NAMES = [f.name for f in dataclasses.fields(CompileOptions)]


@pytest.mark.parametrize("name", OPTION_NAMES)
def test_every_compile_option_changes_the_timetable_cache_key(name: str,
                                                              tmp_path: Path) -> None:
    """The disk cache is keyed by ``content_hash``: an option missing from it hands a
    timetable compiled with other options to whoever asks next."""
    feed = write_feed(tmp_path / "f", stops=LINE_STOPS,
                      trips="route_id,service_id,trip_id\nR1,WK,t\n",
                      stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      "t,08:00:00,08:00:00,S1,1\nt,08:10:00,08:10:00,S2,2\n")
    base = CompileOptions()
    changed = other_option(base, name)
    assert content_hash([feed], changed, COMPILE_DAY) != content_hash([feed], base, COMPILE_DAY)
    assert content_hash([feed], CompileOptions(), COMPILE_DAY) == \
        content_hash([feed], base, COMPILE_DAY)
    # and as load_or_compile uses it: the changed options miss a cache holding the base
    cache = tmp_path / "cache"
    first = load_or_compile([feed], COMPILE_DAY, base, cache_dir=cache)
    assert load_or_compile([feed], COMPILE_DAY, base, cache_dir=cache).extra["cache"] == "hit"
    other = load_or_compile([feed], COMPILE_DAY, changed, cache_dir=cache)
    assert other.extra["cache"] == "miss" and other.version != first.version


def test_radius_200_after_radius_0_gets_its_own_footpaths_from_the_cache(
        tmp_path: Path) -> None:
    """Issue 18's injected bug: with the radius missing from the key, radius 200 got the
    cached radius-0 timetable. The demo feed has no transfers.txt, so every footpath is a
    generated one within the radius."""
    cache = tmp_path / "cache"
    none = load_or_compile([DEMO_FEED], COMPILE_DAY, CompileOptions(footpath_radius=0.0),
                           cache_dir=cache)
    near = load_or_compile([DEMO_FEED], COMPILE_DAY, CompileOptions(footpath_radius=200.0),
                           cache_dir=cache)
    fresh = compile_timetable([DEMO_FEED], COMPILE_DAY, CompileOptions(footpath_radius=200.0))
    assert none.n_footpaths == 0 and fresh.n_footpaths > 1000
    assert near.extra["cache"] == "miss"
    assert near.n_footpaths == fresh.n_footpaths
    assert near.fp_to.tolist() == fresh.fp_to.tolist()
    assert near.fp_dur.tolist() == fresh.fp_dur.tolist()
    again = load_or_compile([DEMO_FEED], COMPILE_DAY, CompileOptions(footpath_radius=200.0),
                            cache_dir=cache)
    assert again.extra["cache"] == "hit" and again.n_footpaths == fresh.n_footpaths
