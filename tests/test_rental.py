"""Rental access/egress/direct options and multimodal plans on real GBFS and GTFS data.

The GBFS files are served from a loopback HTTP server. The feeds are refreshed and queried
with one explicit GBFS clock ``T0`` (unix seconds), so data from 2021-2025 counts as
current; the timetable's own date (2026-04-20) is a separate axis.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from email.message import Message
from pathlib import Path

import numpy as np
import pytest

from feeds.gbfs import GbfsFeed
from planner.multimodal.geometry import PointIndex, haversine_m
from planner.multimodal.rentals import Mode, RentalLeg, RentalOptions, RentalPlanner
from planner.multimodal.search import (
    Location,
    Network,
    Sharing,
    TripPlan,
    TripRequest,
    plan_trip,
    walking_access,
)
from planner.multimodal.streets import Streets
from planner.routing.query import Query
from planner.routing.router import Router
from planner.timetable.compile import compile_timetable
from planner.timetable.model import Timetable
from tests.servers import JsonServer, etag_of

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data not present")

T0 = 1_700_000_000.0
DAY = date(2026, 4, 20)
WOLFSBURG_HBF = (52.4295, 10.7878)
BIELEFELD_HBF = (52.0293, 8.5327)


def east_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    lat, lon = point
    return lat, lon + metres / (111_195.0 * math.cos(math.radians(lat)))


# --- loopback GBFS server ---------------------------------------------------------------------

Route = Callable[[], bytes]


class GbfsServer(JsonServer):
    """Routes by path, every answer with an ETag (no conditional requests)."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Route] = {}
        self.live_at = lambda: T0  # archived feeds replayed as updated at the tests' clock

    def answer(self, path: str, headers: Message) -> tuple[int, bytes, dict[str, str]]:
        route = self.routes.get(path)
        status, body = (200, route()) if route else (404, b"not found")
        return status, body, {"ETag": etag_of(body)}

    def serve_dir(self, prefix: str, directory: Path) -> str:
        for f in directory.glob("*.json"):
            self.routes[f"/{prefix}/{f.name}"] = f.read_bytes
        return f"{self.base}/{prefix}/gbfs.json"


@pytest.fixture(scope="module")
def server() -> Iterator[GbfsServer]:
    with GbfsServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def tt() -> Timetable:
    path = DATA / "de-db-fv-2026" / "gtfs.zip"
    if not path.exists():
        pytest.skip(f"{path} missing")
    return compile_timetable([path], DAY)


@pytest.fixture(scope="module")
def router(tt: Timetable) -> Router:
    return Router(tt)


def tier(server: GbfsServer, max_age: float = 900.0) -> GbfsFeed:
    feed = GbfsFeed(server.serve_dir("tier", DATA / "gbfs-de-tier-wolfsburg"),
                    resolve="manifest", max_age=max_age)
    feed.refresh(T0)
    return feed


def stop_named(tt: Timetable, name: str) -> int:
    return next(i for i, n in enumerate(tt.stop_names) if n == name)


# --- Wolfsburg: TIER scooters after a DB train ----------------------------------------------------


def trip(tt: Timetable, router: Router, rentals: RentalPlanner, origin: tuple[float, float],
         dest: tuple[float, float], dep: int, feeds: list[GbfsFeed], now: float,
         post: tuple[str, ...] = ("WALK",), direct: tuple[str, ...] = ()) -> TripPlan:
    """The multimodal search for one departure: the first walking itinerary from ``dep``
    on and the rental one beside it (two asked for: a plan holds no more than that)."""
    network = Network(router, PointIndex(tt.stop_lat, tt.stop_lon), lambda s: [s])
    req = TripRequest(Location(*origin), Location(*dest), dep, window=0, max_window=0,
                      num_itineraries=2, max_pre_transit=2700, max_post_transit=2700,
                      post_modes=post, direct_modes=direct)
    return plan_trip(network, req, Sharing(rentals, [f.snapshot() for f in feeds], now))


def test_scooter_after_train_beats_walking_2km_from_wolfsburg_hbf(
    server: GbfsServer, tt: Timetable, router: Router
) -> None:
    feed = tier(server)
    rentals = RentalPlanner(tt)
    dest = east_of(WOLFSBURG_HBF, 2000)
    dep = tt.time_of(DAY, 8 * 3600)
    plan = trip(tt, router, rentals, BIELEFELD_HBF, dest, dep, [feed], T0,
                post=("WALK", "SCOOTER_RENTAL"))
    assert plan.warnings == []
    walking = [it for it in plan.itineraries if not it.uses_rental]
    rental = [it for it in plan.itineraries if it.uses_rental]
    assert walking and rental
    assert max(it.arrival for it in rental) < min(it.arrival for it in walking)
    scooter = rental[0]
    # McRAPTOR's rental arrival is RAPTOR's earliest arrival over walking and scooter rows
    egress = rentals.egress(*dest, ["SCOOTER_RENTAL"], [feed.snapshot()], now=T0,
                            options=RentalOptions(max_access_seconds=2700,
                                                  max_walk_seconds=900)).options
    network = Network(router, PointIndex(tt.stop_lat, tt.stop_lon), lambda s: [s])
    src = [(a.stop, a.seconds) for a in walking_access(network, Location(*BIELEFELD_HBF),
                                                       2700, 1.25, ("WALK",))]
    best = router.arrival(Query(src, [(o.stop, o.duration) for o in egress],
                                scooter.journey.departure))
    assert best == scooter.arrival
    assert tt.stop_names[scooter.journey.target].startswith("Wolfsburg")
    (ride,) = scooter.rental_legs
    assert ride.system_id == "TIER_Wolsburg" and ride.form_factor == "scooter_standing"
    assert ride.propulsion_type == "electric" and ride.vehicle_id is not None
    assert ride.duration == ride.ride_seconds + 120  # 60 s pick-up + 60 s drop-off
    # the scooter leg comes after the train and ends at the destination
    kinds = [leg.kind for leg in scooter.legs]
    assert kinds.index("rental") > kinds.index("transit")
    assert scooter.legs[-1] == ride and ride.to_place.kind == "destination"
    assert ride.end == scooter.arrival
    vehicle = next(v for v in feed.vehicles if v.id == ride.vehicle_id)
    assert haversine_m(vehicle.lat, vehicle.lon, *WOLFSBURG_HBF) < 900  # parked near the stop


def test_without_scooters_the_last_2km_are_walked(
    server: GbfsServer, tt: Timetable, router: Router
) -> None:
    feed = tier(server)
    dest = east_of(WOLFSBURG_HBF, 2000)
    plan = trip(tt, router, RentalPlanner(tt), BIELEFELD_HBF, dest,
                tt.time_of(DAY, 8 * 3600), [feed], T0, post=("WALK",))
    assert plan.itineraries and not any(it.uses_rental for it in plan.itineraries)
    assert plan.itineraries[0].journey.egress > 1500  # 2 km crow-flies on foot


def test_stale_feed_is_reported_and_its_scooters_ignored(
    server: GbfsServer, tt: Timetable, router: Router
) -> None:
    feed = tier(server, max_age=120)
    dest = east_of(WOLFSBURG_HBF, 2000)
    plan = trip(tt, router, RentalPlanner(tt), BIELEFELD_HBF, dest,
                tt.time_of(DAY, 8 * 3600), [feed], T0 + 121,
                post=("WALK", "SCOOTER_RENTAL"), direct=("SCOOTER_RENTAL",))
    assert plan.itineraries and not any(it.uses_rental for it in plan.itineraries)
    assert plan.direct == []
    assert len(plan.warnings) == 1 and "TIER_Wolsburg" in plan.warnings[0]
    assert "121 s old" in plan.warnings[0]


def test_rental_providers_restrict_the_systems_used(server: GbfsServer, tt: Timetable) -> None:
    feed = tier(server)
    rentals = RentalPlanner(tt)
    dest = east_of(WOLFSBURG_HBF, 2000)
    kept = rentals.egress(*dest, ["SCOOTER_RENTAL"], [feed.snapshot()], now=T0,
                          providers=["TIER_Wolsburg"])
    assert kept.options and kept.warnings == []
    other = rentals.egress(*dest, ["SCOOTER_RENTAL"], [feed.snapshot()], now=T0,
                           providers=["voi_wob"])
    assert other.options == []
    assert other.warnings == ["rental provider 'voi_wob' is not known; ignored"]


def test_scooter_with_too_little_range_is_not_offered(server: GbfsServer, tt: Timetable) -> None:
    feed = tier(server)
    usable = feed.usable_vehicles(T0)
    weak = min(usable, key=lambda v: v.current_range_meters or math.inf)
    assert weak.current_range_meters is not None and weak.current_range_meters <= 1500
    rentals = RentalPlanner(tt)
    start = (weak.lat, weak.lon)
    near = rentals.direct(start, east_of(start, 0.3 * weak.current_range_meters),
                          ["SCOOTER_RENTAL"], [feed.snapshot()], now=T0)
    far = rentals.direct(start, east_of(start, weak.current_range_meters),
                         ["SCOOTER_RENTAL"], [feed.snapshot()], now=T0)
    assert near.options[0].legs[0].vehicle_id == weak.id  # type: ignore[union-attr]
    used = {leg.vehicle_id for o in far.options for leg in o.legs if isinstance(leg, RentalLeg)}
    assert far.options and weak.id not in used  # a farther scooter with more range instead


def test_rental_options_dominated_by_walking_are_dropped(server: GbfsServer,
                                                        tt: Timetable) -> None:
    """At Wolfsburg Hbf the platforms are seconds away on foot: every scooter option is
    dominated and dropped. 800 m east walking takes ~14 min and a scooter ~7: the scooter
    options are kept, each faster than the walk to the same stop."""
    feed = tier(server)
    planner = RentalPlanner(tt)
    here = planner.access(*WOLFSBURG_HBF, ["WALK", "SCOOTER_RENTAL"], [feed.snapshot()],
                          now=T0)
    walk = {o.stop: o.duration for o in here.options if o.kind is Mode.WALK}
    assert walk and max(walk.values()) < 60  # the Hbf stops are right there
    assert not [o for o in here.options if o.is_rental]
    assert all(o.extra == 0 for o in here.options)

    farther = planner.access(*east_of(WOLFSBURG_HBF, 800), ["WALK", "SCOOTER_RENTAL"],
                             [feed.snapshot()], now=T0)
    walk = {o.stop: o.duration for o in farther.options if o.kind is Mode.WALK}
    kept = [o for o in farther.options if o.is_rental]
    assert walk and kept and {o.stop for o in kept} <= set(walk)
    for o in farther.options:
        if o.is_rental:
            assert o.extra > 0 and o.duration < walk[o.stop]
        else:
            assert o.extra == 0


# --- Oslo bysykkel: stations that empty or fill up ----------------------------------------------

OSLO = DATA / "gbfs-no-oslo-bysykkel"


@dataclass
class Stops:
    stop_lat: np.ndarray
    stop_lon: np.ndarray
    stop_names: np.ndarray


def test_empty_station_not_used_for_pickup_full_one_not_for_return(server: GbfsServer) -> None:
    snapshots = sorted((OSLO / "station_status_series").glob("*.json"))
    info = {s["station_id"]: s for s in
            json.loads((OSLO / "station_information.json").read_text())["data"]["stations"]}
    # The source has no gbfs.json or system_information (required by GBFS): write both.
    manifest = {"last_updated": 1666548064, "ttl": 10, "version": "2.2", "data": {"nb": {
        "feeds": [{"name": n, "url": f"{server.base}/oslo/{n}.json"} for n in
                  ("system_information", "station_information", "station_status")]}}}
    system = {"last_updated": 1666548064, "ttl": 3600, "version": "2.2", "data": {
        "system_id": "oslobysykkel", "language": "nb", "name": "Oslo Bysykkel",
        "timezone": "Europe/Oslo"}}
    server.routes["/oslo/gbfs.json"] = lambda: json.dumps(manifest).encode()
    server.routes["/oslo/system_information.json"] = lambda: json.dumps(system).encode()
    server.routes["/oslo/station_information.json"] = (OSLO / "station_information.json"
                                                       ).read_bytes
    feed = GbfsFeed(f"{server.base}/oslo/gbfs.json")
    origin = (info["551"]["lat"], info["551"]["lon"])  # Olaf Ryes plass
    stop = (info["549"]["lat"], info["549"]["lon"])  # a stop at Linaaes gate
    rentals = RentalPlanner(Stops(np.array([stop[0]]), np.array([stop[1]]),
                                  np.array(["Linaaes gate stop"])))
    seen = []
    frozen = []
    for i, snap in enumerate(snapshots):
        server.routes["/oslo/station_status.json"] = snap.read_bytes
        now = T0 + 60 * i
        feed.refresh(now)
        frozen.append((feed.snapshot(), now))
        (option,) = rentals.access(*origin, ["BIKE_RENTAL"], [feed.snapshot()], now=now).options
        (ride,) = [leg for leg in option.legs if isinstance(leg, RentalLeg)]
        assert ride.vehicles_available and ride.vehicles_available > 0
        assert ride.docks_available is None or ride.docks_available > 0
        seen.append((ride.pickup_station_id == "551", ride.dropoff_station_id == "549"))
    # 551 had 27, 12, 1, 0, 0 bikes; 549 had 12, 7, 0, 0, 0 free docks
    assert seen == [(True, True), (True, True), (True, False), (False, False), (False, False)]
    # A plan works on the state it started with: the first snapshot still offers 551 -> 549
    # after the live feed has seen the station empty, and it cannot be changed.
    first, at = frozen[0]
    (option,) = rentals.access(*origin, ["BIKE_RENTAL"], [first], now=at).options
    (ride,) = [leg for leg in option.legs if isinstance(leg, RentalLeg)]
    assert (ride.pickup_station_id, ride.dropoff_station_id) == ("551", "549")
    assert ride.vehicles_available == 27
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.stations = ()  # type: ignore[misc]


# --- Call a Bike Darmstadt on the OSM street graph ------------------------------------------------


@pytest.fixture(scope="module")
def darmstadt_streets() -> Streets:
    return Streets.from_osm(
        DATA / "gbfs-de-callabike-darmstadt/osm/frankfurt-darmstadt-test_case.osm.pbf",
        modes=("walk", "bike"))


DARMSTADT_WEST = (49.8710, 8.6200)  # inside the extract's Darmstadt part, west of the Hbf


def test_call_a_bike_egress_uses_osm_street_times(
    server: GbfsServer, tt: Timetable, darmstadt_streets: Streets
) -> None:
    feed = GbfsFeed(server.serve_dir("cab", DATA / "gbfs-de-callabike-darmstadt/gbfs"),
                    resolve="manifest")
    feed.refresh(T0)
    rentals = RentalPlanner(tt, darmstadt_streets)
    hbf = stop_named(tt, "Darmstadt Hbf")
    res = rentals.egress(*DARMSTADT_WEST, ["WALK", "BIKE_RENTAL"], [feed.snapshot()], now=T0)
    walk = next(o for o in res.options if o.stop == hbf and o.kind is Mode.WALK)
    bike = next(o for o in res.options if o.stop == hbf and o.kind is Mode.BIKE_RENTAL)
    stop_pt = [(float(tt.stop_lat[hbf]), float(tt.stop_lon[hbf]))]
    graph_walk = darmstadt_streets.many_to_many("walk", stop_pt, [DARMSTADT_WEST])[0, 0]
    crow_walk = darmstadt_streets.straight_line("walk", np.array(stop_pt),
                                                np.array([DARMSTADT_WEST]))[0, 0]
    assert walk.duration == round(graph_walk) and abs(graph_walk - crow_walk) > 5
    assert bike.duration < walk.duration
    (ride,) = [leg for leg in bike.legs if isinstance(leg, RentalLeg)]
    assert ride.system_id == "callabike" and ride.form_factor == "bicycle"
    assert ride.pickup_station_name == "Darmstadt Hbf" and ride.vehicles_available == 48
    # return_constraint "hybrid": the bike is left at the destination, not at a station
    assert ride.dropoff_station_id is None and ride.to_place.kind == "destination"
    pick = (ride.from_place.lat, ride.from_place.lon)
    assert ride.ride_seconds == round(
        darmstadt_streets.many_to_many("bike", [pick], [DARMSTADT_WEST])[0, 0])
    walk_to_bike = round(darmstadt_streets.many_to_many("walk", stop_pt, [pick])[0, 0])
    assert bike.duration == walk_to_bike + 60 + ride.ride_seconds + 60


def test_call_a_bike_after_train_to_darmstadt(
    server: GbfsServer, tt: Timetable, router: Router, darmstadt_streets: Streets
) -> None:
    feed = GbfsFeed(server.serve_dir("cab", DATA / "gbfs-de-callabike-darmstadt/gbfs"),
                    resolve="manifest")
    feed.refresh(T0)
    frankfurt = stop_named(tt, "Frankfurt(Main)Hbf")
    origin = (float(tt.stop_lat[frankfurt]), float(tt.stop_lon[frankfurt]))
    plan = trip(tt, router, RentalPlanner(tt, darmstadt_streets), origin, DARMSTADT_WEST,
                tt.time_of(DAY, 9 * 3600), [feed], T0, post=("WALK", "BIKE_RENTAL"))
    walking = [it for it in plan.itineraries if not it.uses_rental]
    rental = [it for it in plan.itineraries if it.uses_rental]
    assert walking and rental
    assert max(it.arrival for it in rental) < min(it.arrival for it in walking)
    biking = rental[0]
    assert biking.rental_legs[0].system_name == "Call a Bike"
    assert tt.stop_names[biking.journey.target].startswith("Darmstadt")


def test_rentals_read_the_parsed_model_not_the_raw_payloads(server: GbfsServer,
                                                            tt: Timetable) -> None:
    """``return_constraint`` comes from ``feeds.gbfs.VehicleType``: with the client's raw
    payloads gone, a hybrid Call a Bike taken at a station still ends at the destination
    (its only station is where it starts: without the constraint no station ride at all)."""
    feed = GbfsFeed(server.serve_dir("cab", DATA / "gbfs-de-callabike-darmstadt/gbfs"),
                    resolve="manifest")
    feed.refresh(T0)
    for status in feed.files.values():
        status.payload = None
    res = RentalPlanner(tt).egress(*DARMSTADT_WEST, ["BIKE_RENTAL"], [feed.snapshot()], now=T0)
    rides = [leg for o in res.options for leg in o.legs if isinstance(leg, RentalLeg)]
    from_station = [r for r in rides if r.pickup_station_id is not None]
    assert from_station and all(r.dropoff_station_id is None for r in from_station)


# --- Check Almere (GBFS 3.0): geofencing -----------------------------------------------------


def test_geofencing_forbids_ending_a_moped_ride_in_hub_bergnet(server: GbfsServer) -> None:
    feed = GbfsFeed(server.serve_dir("check", DATA / "gbfs-nl-check-almere"))
    feed.refresh(T0)
    moped = next(v for v in feed.usable_vehicles(T0) if v.id.startswith("ce1c5047"))
    start = (moped.lat, moped.lon)
    hub = (52.3725, 5.2757)  # Hub Bergnet: ride_end_allowed false
    town = (52.3700, 5.2550)  # Almere Stad: ending allowed
    for point, allowed in ((hub, False), (town, True)):
        rule = feed.rule_at(*point, moped.vehicle_type_id)
        assert rule is not None and rule.ride_end_allowed is allowed
    rentals = RentalPlanner(Stops(np.zeros(0), np.zeros(0), np.array([], dtype=str)))
    opts = RentalOptions(max_access_seconds=3600)
    to_town = rentals.direct(start, town, ["SCOOTER_RENTAL"], [feed.snapshot()], now=T0,
                             options=opts)
    (option,) = to_town.options
    (ride,) = [leg for leg in option.legs if isinstance(leg, RentalLeg)]
    assert ride.vehicle_id == moped.id and ride.form_factor == "moped"
    assert rentals.direct(start, hub, ["SCOOTER_RENTAL"], [feed.snapshot()], now=T0,
                          options=opts).options == []
    # nor may it end outside every zone (global rule), e.g. in the Markermeer
    assert rentals.direct(start, (52.40, 5.15), ["SCOOTER_RENTAL"], [feed.snapshot()], now=T0,
                          options=opts).options == []
