"""Realtime in the API: the Caltrain TripUpdates of 2023-11-07 served with the schedule.

Plans carry MOTIS's realtime fields (``realTime``, times with and without delay),
cache entries are keyed by the realtime version, health names the feeds, and a stale
feed puts its trips back on the schedule with a warning.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from datetime import date, datetime
from email.message import Message
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from google.transit import gtfs_realtime_pb2 as pb

from api.app import create_app
from api.realtime import leg_alerts
from api.runtime import runtime_of
from api.settings import load_settings
from feeds.gtfs import stop_sequences
from feeds.realtime.messages import parse_feed
from feeds.realtime.state import FeedContent
from planner.realtime.live import LiveTimetable
from planner.routing.query import Query
from planner.timetable.compile import compile_timetable
from tests.rtfeeds import header
from tests.servers import JsonServer, etag_of, owl_planner_serve
from tests.shared_data import shared

FEED_TIME = 1699405534  # header of ct-trip-updates.pb (17:05:34 PST)
TIME = "2023-11-07T17:00:00-08:00"


def client_at(epoch: float, tmp: Path) -> TestClient:
    settings = load_settings(
        env={}, feeds=(str(shared("us-caltrain-rt/ct.zip")),),
        gtfs_rt=(str(shared("us-caltrain-rt/ct-trip-updates.pb")),),
        gtfs_rt_epoch=epoch, gtfs_rt_max_age=600, gbfs_config="", cache_dir=str(tmp))
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    with client_at(FEED_TIME + 30, tmp_path_factory.mktemp("cache")) as c:
        yield c


def feed_departures() -> dict[tuple[str, str], int]:
    """(trip id, stop id) -> departure POSIX time, as the feed gives them."""
    msg = parse_feed(shared("us-caltrain-rt/ct-trip-updates.pb").read_bytes())
    return {(tu.trip_id, u.stop_id): u.departure.time for tu in msg.trip_updates
            for u in tu.updates if u.departure is not None and u.departure.time}


def transit_legs(body: dict) -> list[dict]:
    return [leg for it in body["itineraries"] for leg in it["legs"] if "tripId" in leg]


def test_plans_show_the_feeds_times_beside_the_schedule(live: TestClient) -> None:
    departures = feed_departures()
    seen = 0
    for origin, dest in (("ct:70052", "ct:70272"), ("ct:70231", "ct:70011"),
                         ("ct:70171", "ct:70011")):
        r = live.get("/api/v5/plan", params={"fromPlace": origin, "toPlace": dest,
                                             "time": TIME, "numItineraries": 3})
        assert r.status_code == 200, r.text
        for leg in transit_legs(r.json()):
            stop = leg["from"]["stopId"].split(":", 1)[1]
            trip = str(leg["tripId"]).split("_")[-1].split(":")[-1]
            given = departures.get((trip, stop))
            if given is None:
                continue
            seen += 1
            assert leg["realTime"] is True
            assert datetime.fromisoformat(leg["startTime"]).timestamp() == given
            assert leg["from"]["departure"] == leg["startTime"]
            assert leg["from"]["scheduledDeparture"] == leg["scheduledStartTime"]
            assert leg["alerts"] == []
    assert seen >= 2


def scheduled_times() -> dict[tuple[str, str], tuple[str, str]]:
    """(trip id, stop id) -> (arrival, departure) "HH:MM:SS" of the static schedule."""
    with zipfile.ZipFile(shared("us-caltrain-rt/ct.zip")) as z, \
            z.open("stop_times.txt") as f:
        rows = csv.DictReader(io.TextIOWrapper(f, "utf-8-sig"))
        return {(r["trip_id"], r["stop_id"]): (r["arrival_time"].zfill(8),
                                               r["departure_time"].zfill(8)) for r in rows}


def check_stop_visits(body: dict) -> int:
    """Every transit leg's intermediate stops: times as the feed gives them, scheduled
    times as the static schedule has them, in order; returns the visits that differ."""
    schedule, departures = scheduled_times(), feed_departures()
    differ = 0
    for leg in transit_legs(body):
        trip = str(leg["tripId"]).split("_")[-1].split(":")[-1]
        visits = leg["intermediateStops"]
        previous = leg["startTime"]
        for v in visits:
            stop = v["stopId"].split(":", 1)[1]
            assert (v["scheduledArrival"][11:19], v["scheduledDeparture"][11:19]) == \
                schedule[(trip, stop)]
            given = departures.get((trip, stop))
            if given is not None:
                assert datetime.fromisoformat(v["departure"]).timestamp() == given
            assert previous <= v["arrival"] <= v["departure"]
            assert v["cancelled"] is False and v["pickupType"] == "NORMAL"
            previous = v["departure"]
            differ += v["departure"] != v["scheduledDeparture"]
        assert previous <= leg["endTime"]
    return differ


def test_intermediate_stops_show_the_feeds_times_beside_the_schedule(
        live: TestClient) -> None:
    r = live.get("/api/v5/plan", params={"fromPlace": "ct:70052", "toPlace": "ct:70272",
                                         "time": TIME})
    assert check_stop_visits(r.json()) > 0


def test_a_delayed_leg_differs_from_its_schedule(live: TestClient) -> None:
    r = live.get("/api/v5/plan", params={"fromPlace": "ct:70052", "toPlace": "ct:70272",
                                         "time": TIME})
    legs = [leg for leg in transit_legs(r.json()) if leg["realTime"]]
    assert legs
    assert any(leg["startTime"] != leg["scheduledStartTime"] for leg in legs)


def test_health_names_the_realtime_feed_and_version(live: TestClient) -> None:
    live.get("/api/v5/plan", params={"fromPlace": "ct:70052", "toPlace": "ct:70272",
                                     "time": TIME})
    h = live.get("/api/v1/health").json()
    assert h["rt"] is True
    feed = h["realtime"]["feeds"][0]
    assert feed["stale"] is False and feed["entities"]["tripUpdates"] == 19
    day = h["realtime"]["days"]["2023-11-07"]
    assert day["updated"] == 19 and day["skipped"] == {}
    assert "+rt" in day["version"]


def test_cache_entries_are_keyed_by_the_realtime_version(live: TestClient) -> None:
    rt = runtime_of(live.app)
    static, _ = rt.prepared_for(datetime.fromisoformat(TIME), realtime=False)
    patched, _ = rt.prepared_for(datetime.fromisoformat(TIME))
    assert patched.version != static.version and patched.realtime is not None
    assert static.realtime is None  # the schedule stays available


def test_the_realtime_version_routes_with_trip_based_of_its_own(live: TestClient) -> None:
    """The served version has no disk-cache entry: its transfers are built for its own
    times in the background, then the router picks Trip-Based, with RAPTOR's answers,
    and plans keep the feed's times."""
    rt = runtime_of(live.app)
    patched, _ = rt.prepared_for(datetime.fromisoformat(TIME))
    static, _ = rt.prepared_for(datetime.fromisoformat(TIME), realtime=False)
    router = patched.router
    assert router.tripbased_ready()  # waits for the build the version started
    assert router.tripbased.transfer_trip is not static.router.tripbased.transfer_trip
    tt = patched.tt
    stops = [patched.resolve_stop(s) for s in ("ct:70052", "ct:70272", "ct:70231",
                                                 "ct:70011", "ct:70171")]
    start = tt.time_of(date(2023, 11, 7), 16 * 3600)
    trips = 0
    for a in stops:
        for b in stops:
            if a == b:
                continue
            for minutes in range(0, 180, 20):
                q = Query([(a, 0)], [(b, 0)], start + 60 * minutes)
                assert router.engine_for(q) == "tripbased"
                j, ref = router.earliest(q), router.earliest(q, "raptor")
                assert (j is None) == (ref is None)
                if j is not None and ref is not None:
                    assert (j.arrival, j.transfers) == (ref.arrival, ref.transfers)
                    trips += len(j.transit_legs)
    assert trips > 20
    test_plans_show_the_feeds_times_beside_the_schedule(live)


def test_a_stale_feed_gives_the_schedule_and_a_warning(tmp_path: Path) -> None:
    with client_at(FEED_TIME + 3600, tmp_path) as c:
        r = c.get("/api/v5/plan", params={"fromPlace": "ct:70052", "toPlace": "ct:70272",
                                          "time": TIME})
        body = r.json()
        assert not any(leg["realTime"] for leg in transit_legs(body))
        assert any("showing the schedule" in w for w in body["warnings"])
        health = c.get("/api/v1/health").json()
        assert health["realtime"]["feeds"][0]["stale"] is True
        assert health["status"] == "degraded"


def test_departures_show_the_feeds_times_beside_the_schedule(live: TestClient) -> None:
    departures = feed_departures()
    r = live.get("/api/v5/stoptimes", params={"stopId": "ct:70052", "time": TIME, "n": 6})
    assert r.status_code == 200, r.text
    checked = 0
    for st in r.json()["stopTimes"]:
        trip = str(st["tripId"]).split(":")[-1]
        given = departures.get((trip, "70052"))
        if given is None:
            assert st["place"]["departure"] == st["place"]["scheduledDeparture"] or \
                st["realTime"]
            continue
        checked += 1
        assert st["realTime"] is True
        assert datetime.fromisoformat(st["place"]["departure"]).timestamp() == given
    assert checked >= 1


def test_a_bart_agency_alert_is_on_every_bart_leg() -> None:

    path = shared("us-bart-rt/bart-rt.zip")
    tt = compile_timetable([path], date(2019, 8, 7))
    alerts = parse_feed(shared("us-bart-rt/bart-alerts.pb").read_bytes()).alerts
    version = LiveTimetable(tt, stop_sequences([path])).apply(
        [("bart-rt", FeedContent(alerts=alerts))], now=1565199942)
    trip = str(tt.gtfs_trip_ids[0])
    found = leg_alerts(version, trip, str(tt.line_ids[0]), [], 1565199942)
    assert len(found) == 1
    alert = found[0]
    assert alert["cause"] == "MEDICAL_EMERGENCY" and alert["effect"] == "SIGNIFICANT_DELAYS"
    assert "Montgomery" in alert["headerText"]
    assert alert["url"] == "http://www.bart.gov/schedules/advisories"
    assert leg_alerts(version, "ct:124", "ct:L1", [], 1565199942) == []


class TripUpdatesServer(JsonServer):
    """The current TripUpdates message, with an ETag (swapped by the test)."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def answer(self, path: str, headers: Message) -> tuple[int, bytes, dict[str, str]]:
        tag = etag_of(self.body)
        if headers.get("If-None-Match") == tag:
            return 304, b"", {"ETag": tag}
        return 200, self.body, {"ETag": tag}


def cancelled(data: bytes, trip_id: str) -> bytes:
    msg = pb.FeedMessage()
    msg.ParseFromString(data)
    for e in msg.entity:
        if e.trip_update.trip.trip_id == trip_id:
            e.trip_update.trip.schedule_relationship = pb.TripDescriptor.CANCELED
            del e.trip_update.stop_time_update[:]
    return msg.SerializeToString()


def test_serve_polls_a_gtfs_rt_url_and_plans_follow_it(tmp_path: Path) -> None:
    """``owl-planner serve --gtfs-rt FEED=URL`` end to end: the feed's delay in a plan,
    then a new message on the loopback server cancels that trip and plans drop it."""
    data = shared("us-caltrain-rt/ct-trip-updates.pb").read_bytes()
    params = {"fromPlace": "ct:70052", "toPlace": "ct:70272", "time": TIME}
    with TripUpdatesServer(data) as server, owl_planner_serve(
            [str(shared("us-caltrain-rt/ct.zip")), "--date", "2023-11-07",
             "--gtfs-rt", f"ct={server.base}/tu.pb", "--gtfs-rt-epoch", str(FEED_TIME + 30),
             "--cache-dir", str(tmp_path / "cache")], tmp_path / "serve.log",
            env={"OWL_GTFS_RT_INTERVAL": "0.2", "OWL_GBFS_CONFIG": "none"}) as base:
        legs = transit_legs(httpx.get(f"{base}/api/v5/plan", params=params, timeout=60).json())
        assert legs[0]["tripId"].endswith("ct:126") and legs[0]["realTime"] is True
        assert legs[0]["startTime"] == "2023-11-07T17:07:40-08:00"
        server.body = cancelled(data, "126")
        started = time.monotonic()
        while time.monotonic() - started < 20:
            body = httpx.get(f"{base}/api/v5/plan", params=params, timeout=60).json()
            if not any(leg["tripId"].endswith("ct:126") for leg in transit_legs(body)):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the cancellation never reached the plans")
        health = httpx.get(f"{base}/api/v1/health", timeout=10).json()
        assert health["realtime"]["feeds"][0]["messages"] >= 2


def test_refresh_itinerary_re_times_a_plan_on_the_current_version(tmp_path: Path) -> None:
    """An itinerary id from a plan is rebuilt with the same times; after a new message
    cancels its trip, the refreshed leg says so, with the trip's scheduled times."""
    data = shared("us-caltrain-rt/ct-trip-updates.pb").read_bytes()
    rt_file = tmp_path / "tu.pb"
    rt_file.write_bytes(data)
    settings = load_settings(
        env={}, feeds=(str(shared("us-caltrain-rt/ct.zip")),), gtfs_rt=(str(rt_file),),
        gtfs_rt_epoch=FEED_TIME + 30, gtfs_rt_max_age=600, gbfs_config="",
        cache_dir=str(tmp_path / "cache"))
    with TestClient(create_app(settings)) as c:
        body = c.get("/api/v6/plan", params={"fromPlace": "ct:70052", "toPlace": "ct:70272",
                                             "time": TIME}).json()
        first = body["itineraries"][0]
        assert first["legs"][0]["tripId"].endswith("ct:126")
        same = c.get("/api/v6/refresh-itinerary", params={"itineraryId": first["id"]})
        assert same.status_code == 200, same.text
        again = same.json()
        assert [(x["startTime"], x["endTime"], x["realTime"]) for x in again["legs"]] == \
            [(x["startTime"], x["endTime"], x["realTime"]) for x in first["legs"]]
        assert again["id"] == first["id"]

        rt_file.write_bytes(cancelled(data, "126"))
        assert runtime_of(c.app).realtime.poll_once()
        refreshed = c.get("/api/v6/refresh-itinerary",
                          params={"itineraryId": first["id"]}).json()
        leg = refreshed["legs"][0]
        assert leg["cancelled"] is True and leg["realTime"] is False
        assert leg["startTime"] == leg["scheduledStartTime"] == "2023-11-07T16:58:00-08:00"
        trip = c.get("/api/v6/trip", params={"tripId": leg["tripId"]}).json()["legs"][0]
        assert trip["cancelled"] is True and trip["tripId"] == leg["tripId"]
        assert trip["startTime"] == "2023-11-07T16:37:00-08:00"  # its start_time, first stop
        bad = c.get("/api/v6/refresh-itinerary", params={"itineraryId": "not-an-id"})
        assert bad.status_code == 400 and "itineraryId" in bad.text


def test_realtime_mode_off_plans_on_the_schedule(live: TestClient) -> None:
    params = {"fromPlace": "ct:70052", "toPlace": "ct:70272", "time": TIME}
    realtime = transit_legs(live.get("/api/v5/plan", params=params).json())
    schedule = transit_legs(live.get("/api/v5/plan",
                                     params={**params, "realtimeMode": "OFF"}).json())
    assert realtime[0]["tripId"].endswith("ct:126")  # 9 min late: still caught at 17:00
    assert not schedule[0]["tripId"].endswith("ct:126")  # scheduled 16:58: gone
    assert not any(leg["realTime"] for leg in schedule)
    assert all(leg["startTime"] == leg["scheduledStartTime"] for leg in schedule)


def test_alerts_reach_the_legs_and_places_they_inform(tmp_path: Path) -> None:
    msg = pb.FeedMessage()
    header(msg, FEED_TIME)
    e = msg.entity.add()
    e.id = "platform-works"
    e.alert.informed_entity.add(stop_id="70052")
    e.alert.header_text.translation.add(text="Platform 2 closed", language="en")
    e.alert.description_text.translation.add(text="Use platform 1.", language="en")
    e.alert.cause = pb.Alert.MAINTENANCE
    e.alert.effect = pb.Alert.OTHER_EFFECT
    period = e.alert.active_period.add()
    period.start, period.end = FEED_TIME - 3600, FEED_TIME + 7200
    alerts_file = tmp_path / "alerts.pb"
    alerts_file.write_bytes(msg.SerializeToString())
    settings = load_settings(
        env={}, feeds=(str(shared("us-caltrain-rt/ct.zip")),),
        gtfs_rt=(str(shared("us-caltrain-rt/ct-trip-updates.pb")), f"ct={alerts_file}"),
        gtfs_rt_epoch=FEED_TIME + 30, gtfs_rt_max_age=600, gbfs_config="",
        cache_dir=str(tmp_path / "cache"))
    with TestClient(create_app(settings)) as c:
        body = c.get("/api/v5/plan", params={"fromPlace": "ct:70052", "toPlace": "ct:70272",
                                             "time": TIME}).json()
        leg = transit_legs(body)[0]
        assert leg["realTime"] is True  # the trip updates still apply beside the alerts
        (alert,) = leg["alerts"]
        assert alert["headerText"] == "Platform 2 closed"
        assert alert["descriptionText"] == "Use platform 1."
        assert (alert["cause"], alert["effect"]) == ("MAINTENANCE", "OTHER_EFFECT")
        assert alert["impactPeriod"] == [{"start": "2023-11-08T00:05:34Z",
                                          "end": "2023-11-08T03:05:34Z"}]
        assert leg["from"]["alerts"] == [alert]
        assert "alerts" not in leg["to"]
        assert check_stop_visits(body) > 0  # with alerts the visits are dicts: the same


def test_departures_list_a_cancelled_trip_as_cancelled(tmp_path: Path) -> None:
    data = shared("us-caltrain-rt/ct-trip-updates.pb").read_bytes()
    rt_file = tmp_path / "tu.pb"
    rt_file.write_bytes(cancelled(data, "126"))
    settings = load_settings(
        env={}, feeds=(str(shared("us-caltrain-rt/ct.zip")),), gtfs_rt=(str(rt_file),),
        gtfs_rt_epoch=FEED_TIME + 30, gtfs_rt_max_age=600, gbfs_config="",
        cache_dir=str(tmp_path / "cache"))
    with TestClient(create_app(settings)) as c:
        params = {"stopId": "ct:70052", "time": "2023-11-07T16:50:00-08:00", "n": 4}
        times = c.get("/api/v5/stoptimes", params=params).json()["stopTimes"]
        gone = [st for st in times if str(st["tripId"]).endswith("ct:126")]
        assert len(gone) == 1
        (st,) = gone
        assert st["cancelled"] is st["tripCancelled"] is st["place"]["cancelled"] is True
        assert st["place"]["departure"] == "2023-11-07T16:58:00-08:00"  # the schedule's
        running = [st for st in times if st is not gone[0]]
        assert running and not any(s["tripCancelled"] for s in running)
        stamps = [s["place"]["departure"] for s in times]
        assert stamps == sorted(stamps)
        off = c.get("/api/v5/stoptimes", params={**params, "realtimeMode": "OFF"}).json()
        assert not any(s["cancelled"] for s in off["stopTimes"])


def test_map_trips_show_the_feeds_times_beside_the_schedule(live: TestClient) -> None:
    """The MOTIS UI moves each vehicle between a hop's two times: on a realtime version
    those are the delayed ones, ``realTime`` set and the schedule beside them."""
    departures = feed_departures()
    r = live.get("/api/v6/map/trips", params={
        "zoom": 12, "min": "37.2,-122.6", "max": "37.9,-121.8",
        "startTime": TIME, "endTime": "2023-11-07T18:00:00-08:00"})
    assert r.status_code == 200, r.text
    checked = 0
    for s in r.json():
        trip = s["trips"][0]["tripId"].split(":")[-1]
        given = departures.get((trip, s["from"]["stopId"].split(":")[-1]))
        if given is None:
            continue
        checked += 1
        assert s["realTime"] is True
        assert datetime.fromisoformat(s["departure"]).timestamp() == given
    assert checked >= 3
    assert any(s["scheduledDeparture"] != s["departure"] for s in r.json())
