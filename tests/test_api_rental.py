"""Shared scooters in ``/api/v1/plan`` and ``/api/v1/health`` on real data.

DB long-distance trains (de-db-fv-2026, 2026-04-20) and the TIER Wolfsburg GBFS snapshot,
served from a loopback HTTP server. The snapshot is from 2023: the app's GBFS clock is
started at ``T0`` (``gbfs_epoch``) and tests then pin it with ``rt.sharing.clock``, so
the data counts as current and staleness is under the tests' control. The timetable's
day is a separate axis.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.geo import decode_polyline
from api.runtime import Runtime, runtime_of
from api.settings import load_settings
from api.sharing import SharingManager
from feeds.demo import DEMO_FEED
from feeds.gbfs import RedisStateStore
from planner.multimodal.geometry import haversine_m
from tests.servers import JsonServer, etag_of

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DB = DATA / "de-db-fv-2026" / "gtfs.zip"
TIER = DATA / "gbfs-de-tier-wolfsburg"
pytestmark = pytest.mark.skipif(not (DB.exists() and TIER.is_dir()),
                                reason="../shared/data (de-db-fv-2026, TIER Wolfsburg) missing")

T0 = 1_700_000_000.0
MAX_AGE = 600.0
DAY = "2026-04-20"
BIELEFELD = "de-db-fv-2026:347953"
WOLFSBURG_HBF = (52.4295, 10.7878)


def east_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    lat, lon = point
    return lat, lon + metres / (111_195.0 * math.cos(math.radians(lat)))


DEST = east_of(WOLFSBURG_HBF, 2000)


class GbfsServer(JsonServer):
    """Files of a directory over HTTP; paths in ``broken`` answer 500."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.routes: dict[str, Callable[[], bytes]] = {
            f"/tier/{f.name}": f.read_bytes for f in directory.glob("*.json")}
        self.broken: set[str] = set()
        self.hits: dict[str, int] = {}
        self.url = f"{self.base}/tier/gbfs.json"
        self.live_at = lambda: _clock[0]  # the 2023 snapshot replayed as live

    def answer(self, path: str, headers: Message) -> tuple[int, bytes, dict[str, str]]:
        self.hits[path] = self.hits.get(path, 0) + 1
        route = self.routes.get(path)
        if path in self.broken:
            status, body = 500, b"internal error"
        else:
            status, body = (200, route()) if route else (404, b"not found")
        return status, body, {"ETag": etag_of(body)}


@pytest.fixture(scope="module")
def server() -> Iterator[GbfsServer]:
    with GbfsServer(TIER) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: GbfsServer) -> Iterator[TestClient]:
    settings = load_settings(
        env={}, feeds=(str(DB),), date=DAY, gbfs=(server.url,), gbfs_config="",
        gbfs_resolve="manifest", gbfs_epoch=T0, gbfs_max_age=MAX_AGE,
        gbfs_min_interval=3600.0, search_deadline=30.0)
    with TestClient(create_app(settings)) as c:
        rt = runtime(c)
        (feed,) = rt.sharing.feeds
        waited = time.monotonic() + 30
        while feed.system is None or feed.last_success is None:  # the refresher's first run
            assert time.monotonic() < waited, f"GBFS refresher did not run: {feed.last_error}"
            time.sleep(0.05)
        yield c


def runtime(client: TestClient) -> Runtime:
    return runtime_of(client.app)


_clock = [T0]


def fresh_feed(client: TestClient, server: GbfsServer) -> Runtime:
    """Move the GBFS clock well past everything before and fetch a good copy at it."""
    rt = runtime(client)
    server.broken.clear()
    _clock[0] += 10 * MAX_AGE
    now = _clock[0]
    rt.sharing.clock = lambda: now
    rt.sharing.refresh_all()
    assert rt.sharing.feeds[0].last_error is None
    return rt


def set_clock(rt: Runtime, t: float) -> None:
    rt.sharing.clock = lambda: t


def plan(client: TestClient, **params: Any) -> dict[str, Any]:
    params.setdefault("time", f"{DAY}T08:00:00+02:00")
    params.setdefault("fromPlace", BIELEFELD)
    params.setdefault("toPlace", f"{DEST[0]:.6f},{DEST[1]:.6f}")
    params.setdefault("maxPostTransitTime", 2700)
    params.setdefault("numItineraries", 3)
    r = client.get("/api/v1/plan", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def rental_legs(it: dict[str, Any]) -> list[dict[str, Any]]:
    return [leg for leg in it["legs"] if leg["mode"] == "RENTAL"]


def tier_vehicles() -> dict[str, dict[str, Any]]:
    bikes = json.loads((TIER / "free_bike_status.json").read_text())["data"]["bikes"]
    return {b["bike_id"]: b for b in bikes}


# --- plans -------------------------------------------------------------------------------------


def test_scooter_leg_follows_the_train_to_a_point_2km_from_wolfsburg_hbf(
    client: TestClient, server: GbfsServer
) -> None:
    rt = fresh_feed(client, server)
    body = plan(client, postTransitModes="WALK,SCOOTER_RENTAL")
    assert body["warnings"] == []
    its = body["itineraries"]
    scooter = [it for it in its if rental_legs(it)]
    walking = [it for it in its if not rental_legs(it)]
    assert scooter, [[leg["mode"] for leg in it["legs"]] for it in its]
    it = scooter[0]
    modes = [leg["mode"] for leg in it["legs"]]
    (ride,) = rental_legs(it)
    last_train = max(i for i, m in enumerate(modes) if m not in ("WALK", "RENTAL"))
    assert modes.index("RENTAL") > last_train
    assert it["legs"][last_train]["to"]["name"].startswith("Wolfsburg")
    r = ride["rental"]
    assert r["systemId"] == "TIER_Wolsburg" and r["systemName"] == "TIER Escooter Wolfsburg"
    assert r["formFactor"] == "SCOOTER_STANDING" and r["propulsionType"] == "ELECTRIC"
    vehicle = tier_vehicles()[r["vehicleId"]]  # a scooter of the feed, where it was parked
    assert haversine_m(vehicle["lat"], vehicle["lon"], ride["from"]["lat"],
                       ride["from"]["lon"]) < 1
    assert r["availabilityTime"].startswith(
        time.strftime("%Y-%m-%d", time.gmtime(rt.sharing.now())))
    assert ride["duration"] == r["pickupSeconds"] + r["rideSeconds"] + r["dropoffSeconds"]
    pts = decode_polyline(ride["legGeometry"]["points"])
    assert haversine_m(*pts[0], ride["from"]["lat"], ride["from"]["lon"]) < 1
    assert haversine_m(*pts[-1], *DEST) < 1  # parked at the destination
    assert it["legs"][-1] is not None and it["legs"][-1]["mode"] == "RENTAL"
    assert it["legs"][-1]["endTime"] == it["endTime"]
    assert len(it["legs"]) >= 2  # the train, then the scooter
    for a, b in zip(it["legs"], it["legs"][1:], strict=False):
        assert a["endTime"] <= b["startTime"]
    # the scooter pays for itself: no walking itinerary (of this answer, or of the same
    # request on foot only) leaves later and arrives earlier
    walking += plan(client, postTransitModes="WALK")["itineraries"]
    assert walking
    for w in walking:
        assert not rental_legs(w)
        assert not (w["startTime"] >= it["startTime"] and w["endTime"] <= it["endTime"])


def test_scooter_access_leads_to_the_train_from_2km_outside_wolfsburg_hbf(
    client: TestClient, server: GbfsServer
) -> None:
    fresh_feed(client, server)
    body = plan(client, fromPlace=f"{DEST[0]:.6f},{DEST[1]:.6f}", toPlace=BIELEFELD,
                preTransitModes="WALK,SCOOTER_RENTAL", maxPreTransitTime=2700,
                time=f"{DAY}T10:00:00+02:00")
    scooter = next(it for it in body["itineraries"] if rental_legs(it))
    modes = [leg["mode"] for leg in scooter["legs"]]
    first_train = min(i for i, m in enumerate(modes) if m not in ("WALK", "RENTAL"))
    assert modes.index("RENTAL") < first_train
    (ride,) = rental_legs(scooter)
    assert ride["from"]["vertexType"] == "BIKESHARE" and ride["rental"]["vehicleId"]
    assert ride["endTime"] <= scooter["legs"][first_train]["startTime"]
    assert scooter["legs"][0]["startTime"] == scooter["startTime"]


def test_with_walking_egress_only_the_last_2km_are_walked(
    client: TestClient, server: GbfsServer
) -> None:
    fresh_feed(client, server)
    body = plan(client, postTransitModes="WALK")
    assert body["itineraries"]
    for it in body["itineraries"]:
        assert not rental_legs(it)
        last = it["legs"][-1]
        assert last["mode"] == "WALK" and last["duration"] > 1500
        assert haversine_m(last["to"]["lat"], last["to"]["lon"], *DEST) < 1


def test_scooter_itinerary_arrives_earlier_than_walking_from_the_same_train(
    client: TestClient, server: GbfsServer
) -> None:
    fresh_feed(client, server)
    walk = plan(client, postTransitModes="WALK", numItineraries=1)["itineraries"][0]
    both = plan(client, postTransitModes="WALK,SCOOTER_RENTAL", numItineraries=1)
    first_scooter = next(it for it in both["itineraries"] if rental_legs(it))
    assert first_scooter["endTime"] < walk["endTime"]


def test_arrive_by_scooter_leaves_later_than_walking(
    client: TestClient, server: GbfsServer
) -> None:
    fresh_feed(client, server)
    deadline = f"{DAY}T12:30:00+02:00"  # 10:34 train: 12:19 by scooter, 12:42 on foot
    walk = plan(client, postTransitModes="WALK", arriveBy="true", time=deadline,
                numItineraries=1)["itineraries"][0]
    both = plan(client, postTransitModes="WALK,SCOOTER_RENTAL", arriveBy="true",
                time=deadline, numItineraries=1)["itineraries"]
    scooter = [it for it in both if rental_legs(it)]
    assert scooter and all(it["endTime"] <= deadline for it in both)
    assert scooter[0]["startTime"] > walk["startTime"]


def test_direct_scooter_between_two_points_in_wolfsburg(
    client: TestClient, server: GbfsServer
) -> None:
    fresh_feed(client, server)
    body = plan(client, fromPlace=f"{WOLFSBURG_HBF[0]},{WOLFSBURG_HBF[1]}",
                directModes="WALK,SCOOTER_RENTAL", maxDirectTime=2700)
    kinds = [[leg["mode"] for leg in d["legs"]] for d in body["direct"]]
    assert ["WALK"] in kinds  # the plain walk stays
    scooter = next(d for d in body["direct"] if any(leg["mode"] == "RENTAL"
                                                    for leg in d["legs"]))
    walk = next(d for d in body["direct"] if len(d["legs"]) == 1)
    assert scooter["duration"] < walk["duration"]
    assert scooter["legs"][0]["mode"] == "WALK"  # to the scooter
    assert scooter["legs"][-1]["mode"] == "RENTAL"
    assert haversine_m(scooter["legs"][-1]["to"]["lat"], scooter["legs"][-1]["to"]["lon"],
                       *DEST) < 1


def test_rental_providers_accepts_known_and_rejects_unknown_ids(
    client: TestClient, server: GbfsServer
) -> None:
    fresh_feed(client, server)
    body = plan(client, postTransitModes="WALK,SCOOTER_RENTAL",
                rentalProviders="TIER_Wolsburg")
    assert any(rental_legs(it) for it in body["itineraries"])
    r = client.get("/api/v1/plan", params={
        "fromPlace": BIELEFELD, "toPlace": f"{DEST[0]},{DEST[1]}",
        "time": f"{DAY}T08:00:00+02:00", "postTransitModes": "WALK,SCOOTER_RENTAL",
        "rentalProviders": "TIER_Wolsburg,voi_wob"})
    assert r.status_code == 400
    err = r.json()
    assert err["parameter"] == "rentalProviders"
    assert "voi_wob" in err["error"] and "unknown" in err["error"]


def test_invalid_mode_name_is_rejected_naming_parameter_and_value(client: TestClient) -> None:
    r = client.get("/api/v1/plan", params={
        "fromPlace": BIELEFELD, "toPlace": f"{DEST[0]},{DEST[1]}",
        "postTransitModes": "WALK,HOVERBOARD_RENTAL"})
    assert r.status_code == 400
    assert r.json()["parameter"] == "postTransitModes"
    assert "HOVERBOARD_RENTAL" in r.json()["error"]


# --- stale and broken feeds ---------------------------------------------------------------------


def test_stale_feed_is_named_in_warnings_and_its_scooters_ignored(
    client: TestClient, server: GbfsServer
) -> None:
    rt = fresh_feed(client, server)
    good = rt.sharing.feeds[0].last_success
    assert good is not None
    server.broken.add("/tier/free_bike_status.json")
    set_clock(rt, good + MAX_AGE + 60)
    rt.sharing.refresh_all()  # fails: the last good copy is now too old
    body = plan(client, postTransitModes="WALK,SCOOTER_RENTAL",
                directModes="WALK,SCOOTER_RENTAL")
    assert body["itineraries"] and not any(rental_legs(it) for it in body["itineraries"])
    assert all(len(d["legs"]) == 1 for d in body["direct"])
    (warning,) = body["warnings"]
    assert "TIER_Wolsburg" in warning and f"{MAX_AGE + 60:.0f} s old" in warning
    health = client.get("/api/v1/health").json()
    assert health["status"] == "degraded"
    (system,) = health["sharing"]["systems"]
    assert system["systemId"] == "TIER_Wolsburg" and system["stale"] is True
    assert "HTTP 500" in system["lastError"] and system["vehicles"] == 0


def test_feed_answering_500_after_a_good_fetch_keeps_its_last_good_state(
    client: TestClient, server: GbfsServer
) -> None:
    rt = fresh_feed(client, server)
    feed = rt.sharing.feeds[0]
    good = feed.last_success
    assert good is not None
    server.broken.update({"/tier/free_bike_status.json", "/tier/gbfs.json"})
    set_clock(rt, good + MAX_AGE / 2)  # due again (ttl 0), not yet stale
    before = dict(server.hits)
    rt.sharing.refresh_all()
    assert server.hits.get("/tier/free_bike_status.json", 0) > \
        before.get("/tier/free_bike_status.json", 0)
    assert feed.last_error is not None and "HTTP 500" in feed.last_error
    body = plan(client, postTransitModes="WALK,SCOOTER_RENTAL")
    assert body["warnings"] == []
    assert any(rental_legs(it) for it in body["itineraries"])
    (system,) = client.get("/api/v1/health").json()["sharing"]["systems"]
    assert system["stale"] is False and "HTTP 500" in system["lastError"]
    assert system["lastSuccess"] is not None and system["vehicles"] > 100


def test_health_lists_the_gbfs_system_with_its_last_success(
    client: TestClient, server: GbfsServer
) -> None:
    rt = fresh_feed(client, server)
    (system,) = client.get("/api/v1/health").json()["sharing"]["systems"]
    assert system["systemName"] == "TIER Escooter Wolfsburg"
    assert system["lastError"] is None and system["stale"] is False
    assert system["ageSeconds"] == 0
    # records skipped per file and reason, as the feed counted them
    assert isinstance(system["skippedRecords"], dict)
    assert system["skippedRecords"] == rt.sharing.feeds[0].skipped
    assert system["lastSuccess"] == time.strftime("%Y-%m-%dT%H:%M:%S+00:00",
                                                  time.gmtime(rt.sharing.now()))


# --- without GBFS ------------------------------------------------------------------------------


def test_server_without_gbfs_refuses_rental_modes_and_runs_no_refresher() -> None:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date=DAY, gbfs_config="")
    with TestClient(create_app(settings)) as c:
        rt = runtime(c)
        assert not rt.sharing.enabled and rt.sharing._thread is None
        r = c.get("/api/v1/plan", params={"fromPlace": BIELEFELD, "toPlace": "51.9069,8.3894",
                                          "preTransitModes": "WALK,BIKE_RENTAL"})
        assert r.status_code == 400 and r.json()["parameter"] == "preTransitModes"
        assert "BIKE_RENTAL" in r.json()["error"]
        assert "sharing" not in c.get("/api/v1/health").json()
        ok = c.get("/api/v1/plan", params={"fromPlace": BIELEFELD, "toPlace": "51.9069,8.3894",
                                           "time": f"{DAY}T08:00:00+02:00"})
        assert ok.status_code == 200 and ok.json()["warnings"] == []


# --- workers sharing live state through Redis ---------------------------------------------------


def test_workers_share_gbfs_state_through_redis(server: GbfsServer, redis_url: str) -> None:
    settings = load_settings(env={}, feeds=(str(DB),), date=DAY, gbfs=(server.url,),
                             gbfs_config="", gbfs_resolve="manifest", gbfs_max_age=MAX_AGE,
                             redis_url=redis_url)
    first = SharingManager(settings, clock=lambda: T0)
    second = SharingManager(settings, clock=lambda: T0 + 1)
    assert isinstance(first.store, RedisStateStore)
    server.broken.clear()
    first.refresh_all()
    assert first.feeds[0].last_error is None
    server.broken.update(f"/tier/{f.name}" for f in TIER.glob("*.json"))
    try:
        second.refresh_all()  # every fetch fails, but the other worker's copy is in Redis
    finally:
        server.broken.clear()
    feed = second.feeds[0]
    assert feed.system is not None and feed.system.system_id == "TIER_Wolsburg"
    assert len(feed.usable_vehicles(T0 + 1)) == len(first.feeds[0].usable_vehicles(T0))
    assert not feed.is_stale(MAX_AGE, T0 + 1)
    first.close()
    second.close()


def _trips(it: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(leg.get("tripId")) for leg in it["legs"] if leg.get("tripId"))


def _modes(it: dict[str, Any]) -> tuple[str, ...]:
    return tuple(leg["mode"] for leg in it["legs"] if leg["mode"] != "WALK")


def _near(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same trips and modes, leaving and arriving within two minutes of each other."""
    def apart(key: str) -> float:
        return abs((datetime.fromisoformat(a[key])
                    - datetime.fromisoformat(b[key])).total_seconds())
    return (_trips(a), _modes(a)) == (_trips(b), _modes(b)) and \
        apart("startTime") <= 120 and apart("endTime") <= 120


@pytest.mark.parametrize("arrive_by", [False, True])
def test_rental_modes_return_at_most_num_itineraries_and_no_near_duplicates(
    client: TestClient, server: GbfsServer, arrive_by: bool
) -> None:
    """Issue 17: with rental modes ``numItineraries=2`` returned 3 and ``=1`` returned 2,
    two of them differing only by a 4 s walk between the two "Wolfsburg Hbf" stops."""
    fresh_feed(client, server)
    extra = {"arriveBy": "true", "time": f"{DAY}T12:30:00+02:00"} if arrive_by else {}
    for n in (1, 2, 3, 5):
        its = plan(client, postTransitModes="WALK,SCOOTER_RENTAL", numItineraries=n,
                   **extra)["itineraries"]
        assert 1 <= len(its) <= n, (n, len(its))
        assert not any(_near(a, b) for k, a in enumerate(its) for b in its[k + 1:]), n
