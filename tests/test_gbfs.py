"""GBFS client on real feeds from ../shared/data, served from a loopback HTTP server."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path

import httpx
import pytest

from feeds.gbfs import GbfsFeed, GbfsSnapshot, MemoryStateStore, RedisStateStore
from tests.servers import JsonServer, etag_of, free_port

DATA = Path("../shared/data")
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data not present")

T0 = 1_700_000_000.0  # the tests' clock; feeds are refreshed with explicit `now`

# A route answers with (status, body); bodies get an ETag, and a matching If-None-Match a 304.
Route = Callable[[], tuple[int, bytes]]


def file_route(path: Path) -> Route:
    return lambda: (200, path.read_bytes())


def series_route(paths: list[Path]) -> Route:
    """Serves the files in turn, the last one forever (a feed that changes per poll)."""
    calls = iter(paths)
    last: list[Path] = []

    def route() -> tuple[int, bytes]:
        last[:] = [next(calls, last[0] if last else paths[-1])]
        return 200, last[0].read_bytes()

    return route


class GbfsServer(JsonServer):
    """Routes by path; bodies get an ETag, and a matching If-None-Match a 304."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Route] = {}
        self.live_at = lambda: T0  # archived feeds replayed as updated at the tests' clock
        self.log: list[tuple[str, int, dict[str, str]]] = []  # path, status, request headers
        self.delay = 0.0

    def answer(self, path: str, headers: Message) -> tuple[int, bytes, dict[str, str]]:
        route = self.routes.get(path)
        status, body = route() if route else (404, b"not found")
        etag = etag_of(body)
        if status == 200 and headers.get("If-None-Match") == etag:
            status, body = 304, b""
        self.log.append((path, status, dict(headers)))
        time.sleep(self.delay)
        extra = ({"ETag": etag, "Last-Modified": "Mon, 24 Oct 2022 05:52:37 GMT"}
                 if status in (200, 304) else {})
        return status, body, extra

    def serve_dir(self, prefix: str, directory: Path) -> str:
        """Serve every *.json of ``directory`` under ``/prefix/``; returns the manifest URL."""
        for f in directory.glob("*.json"):
            self.routes[f"/{prefix}/{f.name}"] = file_route(f)
        return f"{self.base}/{prefix}/gbfs.json"

    def fetched(self, name: str) -> list[int]:
        return [status for path, status, _ in self.log if path.rsplit("/", 1)[-1] == name]


@pytest.fixture
def server() -> Iterator[GbfsServer]:
    with GbfsServer() as srv:
        yield srv


@pytest.fixture
def loopback_only() -> httpx.Client:
    """A client that can reach 127.0.0.1 only, so a test can never touch the internet."""

    class LoopbackTransport(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.host != "127.0.0.1":
                raise httpx.ConnectError(f"no internet in tests: {request.url}", request=request)
            return super().handle_request(request)

    return httpx.Client(transport=LoopbackTransport(), timeout=2.0)


def oslo_manifest(server: GbfsServer, snapshots: list[Path]) -> str:
    """Oslo bysykkel publishes no gbfs.json in the source; write a minimal 2.2 one."""
    base = DATA / "gbfs-no-oslo-bysykkel"
    manifest = {"last_updated": 1666548064, "ttl": 10, "version": "2.2", "data": {"nb": {"feeds": [
        {"name": "station_information", "url": f"{server.base}/oslo/station_information.json"},
        {"name": "station_status", "url": f"{server.base}/oslo/station_status.json"},
    ]}}}
    server.routes["/oslo/gbfs.json"] = lambda: (200, json.dumps(manifest).encode())
    server.routes["/oslo/station_information.json"] = file_route(base / "station_information.json")
    server.routes["/oslo/station_status.json"] = series_route(snapshots)
    return "/oslo/gbfs.json"


OSLO_SERIES = sorted((DATA / "gbfs-no-oslo-bysykkel/station_status_series").glob("*.json"))


# --- versions and real feeds ------------------------------------------------------------------


def test_tier_wolfsburg_lists_840_standing_escooters_with_range(server: GbfsServer) -> None:
    url = server.serve_dir("tier", DATA / "gbfs-de-tier-wolfsburg")
    feed = GbfsFeed(url, resolve="manifest")  # listed URLs are raw.githubusercontent.com
    feed.refresh(T0)
    assert feed.version == "2.3"
    assert feed.last_error is None
    assert feed.system is not None and feed.system.system_id == "TIER_Wolsburg"
    vehicles = feed.vehicles
    assert len(vehicles) == 840
    assert {v.form_factor for v in vehicles} == {"scooter_standing"}
    assert {v.propulsion_type for v in vehicles} == {"electric"}
    assert all(v.current_range_meters is not None for v in vehicles)
    assert all(52.3 < v.lat < 52.5 and 10.6 < v.lon < 10.9 for v in vehicles)
    assert vehicles[0].rental_uris["android"].startswith("https://www.example.com/app?")
    usable = feed.usable_vehicles(T0, form_factors=["scooter_standing"])
    assert len(usable) == sum(v.is_available for v in vehicles)
    assert feed.usable_vehicles(T0, form_factors=["bicycle"]) == []


def test_call_a_bike_darmstadt_station_and_free_bike(
    server: GbfsServer, loopback_only: httpx.Client
) -> None:
    url = server.serve_dir("cab", DATA / "gbfs-de-callabike-darmstadt/gbfs")
    feed = GbfsFeed(url, resolve="manifest", client=loopback_only)
    feed.refresh(T0)
    assert feed.system is not None and feed.system.name == "Call a Bike"
    (station,) = feed.usable_stations(T0)
    assert station.name == "Darmstadt Hbf"
    assert station.available == {"bicycle": 48}
    assert station.num_docks_available is None  # hybrid station: returns not limited by docks
    assert station.can_pick_up("bicycle") and station.can_return()
    assert not station.can_pick_up("scooter")
    (bike,) = feed.usable_vehicles(T0)
    assert bike.form_factor == "bicycle" and bike.propulsion_type == "human"
    assert bike.rental_uris["ios"] == "https://www.callabike.de/bike?number=12404"
    assert feed.geofencing_zones == []
    # kept for the planner: a hybrid system's bikes may also be left outside a station
    assert [t.return_constraint for t in feed.vehicle_types.values()] == ["hybrid"]


def test_listed_url_unreachable_falls_back_to_manifest_sibling(
    server: GbfsServer, loopback_only: httpx.Client
) -> None:
    url = server.serve_dir("cab", DATA / "gbfs-de-callabike-darmstadt/gbfs")
    feed = GbfsFeed(url, client=loopback_only)  # resolve="auto"
    feed.refresh(T0)
    assert feed.last_error is None
    assert feed.files["station_status"].url == f"{server.base}/cab/station_status.json"
    assert len(feed.usable_stations(T0)) == 1


def test_only_expired_files_are_refetched(server: GbfsServer) -> None:
    url = server.serve_dir("cab", DATA / "gbfs-de-callabike-darmstadt/gbfs")
    feed = GbfsFeed(url, resolve="manifest")
    first = feed.refresh(T0)
    assert set(first) == {"gbfs", "system_information", "vehicle_types", "station_information",
                          "station_status", "free_bike_status", "geofencing_zones"}
    version = feed.state_version
    assert feed.refresh(T0 + 100) == []  # shortest ttl is 240 s
    assert feed.state_version == version  # what readers derived is still good
    assert sorted(feed.refresh(T0 + 300)) == ["free_bike_status", "station_status"]
    assert feed.state_version != version
    assert server.fetched("station_information.json") == [200]


def test_check_almere_gbfs3_mopeds_and_geofencing(server: GbfsServer) -> None:
    url = server.serve_dir("check", DATA / "gbfs-nl-check-almere")
    feed = GbfsFeed(url)  # listed URLs are file:src/test/resources/... -> siblings
    feed.refresh(T0)
    assert feed.last_error is None
    assert feed.version == "3.0"
    assert feed.system is not None and feed.system.name == "Check Technologies"
    assert feed.system.timezone == "Europe/Amsterdam"
    # served as live: last_updated rewritten in 3.0's RFC 3339 form, read back as T0
    assert feed.files["vehicle_status"].last_updated == pytest.approx(T0)
    assert len(feed.vehicles) == 6
    assert {v.form_factor for v in feed.vehicles} == {"moped"}
    usable = feed.usable_vehicles(T0)
    assert len(usable) == 4  # one reserved, one disabled
    assert all(v.is_available for v in usable)
    assert len(feed.geofencing_zones) == 14  # two of the 16 features have no geometry
    hub = feed.geofencing_zones[0]
    assert hub.name == "Hub Bergnet"
    assert hub.contains(52.3725, 5.2757)
    rule = feed.rule_at(52.3725, 5.2757, "check_moped_almere_60")
    assert rule is not None and rule.ride_start_allowed and not rule.ride_end_allowed
    outside = feed.rule_at(52.0, 4.0, "check_moped_almere_60")  # global rule applies
    assert outside is not None and not outside.ride_start_allowed
    assert not outside.ride_end_allowed and outside.ride_through_allowed


def test_tier_oslo_gbfs2_ride_allowed_means_start_and_end(server: GbfsServer) -> None:
    url = server.serve_dir("tieroslo", DATA / "gbfs-no-tier-oslo")
    feed = GbfsFeed(url, resolve="manifest")
    feed.refresh(T0)
    zones = feed.geofencing_zones
    assert len(zones) == 2
    rule = zones[0].rules[0]
    assert rule.ride_start_allowed and rule.ride_end_allowed and rule.ride_through_allowed
    assert "YTI:VehicleType:escooter_oslo" in rule.vehicle_type_ids
    assert feed.is_stale(now=T0)  # no live files at all: nothing to offer


def test_helsinki_without_version_skips_station_without_coordinates(
    server: GbfsServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.serve_dir("hsl", DATA / "gbfs-fi-helsinki-citybikes")
    feed = GbfsFeed(url)
    with caplog.at_level(logging.WARNING, logger="feeds.gbfs"):
        feed.refresh(T0)
    assert feed.version == "1.0"
    assert feed.last_error is None
    ids = {s.id for s in feed.stations}
    assert "010" not in ids  # Kasarmitori: lat/lon null
    assert len(ids) == 7  # 10 minus no coordinates minus two without station_id
    assert any("Kasarmitori" in r.getMessage() and "coordinates" in r.getMessage()
               for r in caplog.records)
    by_id = {s.id: s for s in feed.usable_stations(T0)}
    assert by_id["008"].name == "008"  # name null: the id stands in
    assert by_id["001"].can_pick_up("bicycle") and by_id["001"].capacity == 30
    assert not by_id["004"].can_pick_up() and not by_id["004"].can_return()  # is_renting 0


# --- live updates --------------------------------------------------------------------------------


def test_station_that_empties_is_not_offered_for_pickup(server: GbfsServer) -> None:
    feed = GbfsFeed(server.base + oslo_manifest(server, OSLO_SERIES))
    offered = []
    for i in range(len(OSLO_SERIES)):
        feed.refresh(T0 + 60 * i)
        pickup = {s.id for s in feed.pickup_stations("bicycle", now=T0 + 60 * i)}
        offered.append("551" in pickup)
    assert server.fetched("station_status.json") == [200] * 5
    assert len(feed.usable_stations(T0 + 240)) == 260
    sogn = next(s for s in feed.stations if s.id == "2351")
    assert sogn.name == "Sogn Studentby" and sogn.capacity == 18
    assert sogn.rental_uris["ios"] == "oslobysykkel://stations/2351"
    # Station 551 had 27, 12, 1, 0, 0 bikes in the five snapshots.
    assert offered == [True, True, True, False, False]


def test_station_that_fills_up_is_not_offered_for_return(server: GbfsServer) -> None:
    feed = GbfsFeed(server.base + oslo_manifest(server, OSLO_SERIES))
    offered = []
    for i in range(len(OSLO_SERIES)):
        feed.refresh(T0 + 60 * i)
        offered.append("549" in {s.id for s in feed.return_stations(now=T0 + 60 * i)})
    # Station 549 had 12, 7, 0, 0, 0 free docks.
    assert offered == [True, True, False, False, False]


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [(500, b"oops", "HTTP 500"),
     (200, b"{\"data\": {\"stations\": [", "invalid JSON"),
     (200, b"{\"data\": {\"stations\": {}}}", "schema violation"),
     (404, b"gone", "HTTP 404")],
)
def test_failing_station_status_keeps_last_good_state_and_reports_why(
    server: GbfsServer, status: int, body: bytes, reason: str
) -> None:
    feed = GbfsFeed(server.base + oslo_manifest(server, OSLO_SERIES[:1]), error_backoff=0)
    feed.refresh(T0)
    good = feed.usable_stations(T0)
    assert len(good) == 260 and feed.last_error is None
    server.routes["/oslo/station_status.json"] = lambda: (status, body)
    assert "station_status" not in feed.refresh(T0 + 60)
    assert feed.usable_stations(T0 + 60) == good
    assert feed.last_error is not None and reason in feed.last_error
    assert "station_status" in feed.last_error
    assert feed.files["station_status"].last_success == T0
    assert feed.last_success == T0


def test_timeout_keeps_last_good_state(server: GbfsServer) -> None:
    feed = GbfsFeed(server.base + oslo_manifest(server, OSLO_SERIES[:1]), timeout=0.3)
    feed.refresh(T0)
    server.delay = 1.0
    feed.refresh(T0 + 60)
    assert feed.last_error is not None and "timeout" in feed.last_error
    assert len(feed.usable_stations(T0 + 60)) == 260


def test_stale_station_status_is_dropped_after_max_age(server: GbfsServer) -> None:
    feed = GbfsFeed(server.base + oslo_manifest(server, OSLO_SERIES[:1]), max_age=300,
                    error_backoff=0)
    feed.refresh(T0)
    server.routes["/oslo/station_status.json"] = lambda: (503, b"down")
    feed.refresh(T0 + 200)
    assert not feed.is_stale(now=T0 + 200)
    assert len(feed.usable_stations(T0 + 200)) == 260
    feed.refresh(T0 + 400)
    assert feed.is_stale(now=T0 + 400)
    assert feed.usable_stations(T0 + 400) == []
    assert feed.pickup_stations(now=T0 + 400) == []
    assert len(feed.stations) == 260  # still known, just not offered
    assert feed.usable_stations(T0 + 400, max_age=3600) != []  # the age is configurable


def test_stale_vehicles_are_dropped_after_max_age(server: GbfsServer) -> None:
    url = server.serve_dir("tier", DATA / "gbfs-de-tier-wolfsburg")
    feed = GbfsFeed(url, resolve="manifest", max_age=120)
    feed.refresh(T0)
    assert len(feed.usable_vehicles(T0 + 100)) > 800
    assert feed.usable_vehicles(T0 + 121) == []


def test_unchanged_file_gets_304_and_keeps_state(server: GbfsServer) -> None:
    feed = GbfsFeed(server.base + oslo_manifest(server, OSLO_SERIES[:1]))
    feed.refresh(T0)
    etag = feed.files["station_status"].etag
    assert etag
    feed.refresh(T0 + 60)
    assert server.fetched("station_status.json") == [200, 304]
    conditional = [h for p, s, h in server.log if p.endswith("station_status.json") and s == 304]
    assert conditional[0]["If-None-Match"] == etag
    assert conditional[0]["If-Modified-Since"] == "Mon, 24 Oct 2022 05:52:37 GMT"
    assert feed.files["station_status"].last_success == T0 + 60
    assert len(feed.usable_stations(T0 + 60)) == 260


# --- shared state --------------------------------------------------------------------------------


def test_redis_store_lets_a_second_worker_use_state_fetched_by_the_first(
    server: GbfsServer, redis_url: str
) -> None:
    manifest = server.base + oslo_manifest(server, OSLO_SERIES)
    worker_a = GbfsFeed(manifest, store=RedisStateStore(redis_url), system_key="oslo")
    assert "station_status" in worker_a.refresh(T0)
    requests_after_a = len(server.log)

    worker_b = GbfsFeed(manifest, redis_url=redis_url, system_key="oslo")
    assert isinstance(worker_b.store, RedisStateStore)
    worker_b.refresh(T0 + 5)  # within every ttl: adopts A's copy, fetches nothing
    assert len(server.log) == requests_after_a
    assert {s.id for s in worker_b.pickup_stations(now=T0 + 5)} == \
        {s.id for s in worker_a.pickup_stations(now=T0 + 5)}
    assert worker_b.files["station_status"].last_success == T0

    import redis

    stored = redis.Redis.from_url(redis_url).hgetall("owl:gbfs:oslo")
    entry = json.loads(stored[b"station_status"])
    assert entry["last_success"] == T0 and len(entry["payload"]["data"]["stations"]) == 260

    worker_a.refresh(T0 + 60)  # A fetches the next snapshot; B picks it up from Redis
    worker_b.refresh(T0 + 61)
    assert worker_b.files["station_status"].last_success == T0 + 60
    assert server.fetched("station_status.json") == [200, 200]


def test_unreachable_redis_does_not_stop_the_feed(server: GbfsServer) -> None:
    port = free_port()  # nothing listens there any more
    feed = GbfsFeed(server.base + oslo_manifest(server, OSLO_SERIES[:1]),
                    store=RedisStateStore(f"redis://127.0.0.1:{port}/0"))
    feed.refresh(T0)
    assert len(feed.usable_stations(T0)) == 260


def test_memory_store_shared_in_process(server: GbfsServer) -> None:
    store = MemoryStateStore()
    manifest = server.base + oslo_manifest(server, OSLO_SERIES)
    GbfsFeed(manifest, store=store).refresh(T0)
    other = GbfsFeed(manifest, store=store)
    other.refresh(T0 + 1)
    assert len(other.usable_stations(T0 + 1)) == 260
    assert server.fetched("station_status.json") == [200]


def test_live_state_exactly_max_age_old_is_still_fresh() -> None:
    """Staleness is "older than max_age": at exactly max_age the state is offered."""
    snap = GbfsSnapshot(manifest_url="http://x/gbfs.json", system_key="x", max_age=60.0,
                        system=None, vehicle_types={}, stations=(), vehicles=(),
                        geofencing_zones=(), global_rules=(),
                        state_version=(("gbfs", 990.0), ("station_status", 1000.0)))
    assert not snap.is_stale(now=1060.0)
    assert snap.is_stale(now=1060.5)
    assert not snap.is_stale(max_age=61.0, now=1061.0)
