"""Every endpoint through FastAPI's TestClient, on the demo feed and on HART (Tampa)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api.runtime
import api.store
from api.app import create_app
from api.geo import decode_polyline
from api.settings import load_settings
from feeds.demo import DEMO_FEED
from planner.multimodal.geometry import haversine_m
from planner.routing.query import Query

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
HART = DATA / "us-hart-tampa" / "hart.zip"
DAY = "2026-04-20"
BIELEFELD = "de-db-fv-2026:347953"  # parent station
GUETERSLOH = "de-db-fv-2026:87584"  # parent "Gütersloh, Hbf/ZOB"
PADERBORN = "de-db-fv-2026:469041"


@pytest.fixture(scope="module")
def client() -> TestClient:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), cors_origins=("https://owl.example",))
    with TestClient(create_app(settings)) as c:
        yield c


def plan(client: TestClient, **params: object):
    params.setdefault("time", f"{DAY}T08:00:00+02:00")
    return client.get("/api/v1/plan", params=params)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_plan_between_stations_returns_consistent_itineraries(client: TestClient) -> None:
    r = plan(client, fromPlace=BIELEFELD, toPlace=GUETERSLOH, numItineraries=3)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"from", "to", "itineraries", "direct", "previousPageCursor",
                         "nextPageCursor"}
    its = body["itineraries"]
    assert 1 <= len(its) <= 3
    for it in its:
        assert ts(it["startTime"]) >= ts(f"{DAY}T08:00:00+02:00")
        assert it["duration"] == (ts(it["endTime"]) - ts(it["startTime"])).total_seconds()
        legs = it["legs"]
        assert legs[0]["from"]["stopId"].startswith("de-db-fv-2026:")
        assert ts(legs[0]["startTime"]) == ts(it["startTime"])
        assert ts(legs[-1]["endTime"]) == ts(it["endTime"])
        for a, b in zip(legs, legs[1:], strict=False):
            assert ts(a["endTime"]) <= ts(b["startTime"])
        transit = [leg for leg in legs if leg["mode"] != "WALK"]
        assert it["transfers"] == len(transit) - 1
        for leg in transit:
            assert leg["routeShortName"] and leg["tripId"] and leg["agencyName"]
            pts = decode_polyline(leg["legGeometry"]["points"])
            assert leg["legGeometry"]["precision"] == 7
            assert haversine_m(*pts[0], leg["from"]["lat"], leg["from"]["lon"]) < 1
            assert haversine_m(*pts[-1], leg["to"]["lat"], leg["to"]["lon"]) < 1
            assert len(pts) == len(leg["intermediateStops"]) + 2  # no shapes.txt: stop to stop
    starts = [ts(it["startTime"]) for it in its]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_plan_from_coordinates_walks_to_and_from_nearby_stops(client: TestClient) -> None:
    # 200 m south of Bielefeld Hbf to 300 m east of Gütersloh Hbf
    r = plan(client, fromPlace="52.0275,8.5327", toPlace="51.9069,8.3894", numItineraries=1)
    body = r.json()
    assert r.status_code == 200 and body["itineraries"], r.text
    legs = body["itineraries"][0]["legs"]
    assert legs[0]["mode"] == "WALK" and legs[0]["from"]["vertexType"] == "NORMAL"
    assert legs[0]["to"]["name"] == "Bielefeld Hbf"
    assert legs[-1]["mode"] == "WALK" and legs[-1]["to"]["lat"] == pytest.approx(51.9069)
    assert 0 < legs[0]["duration"] <= 900
    assert body["direct"] == []  # 16 km is beyond maxDirectTime


def test_short_trip_gets_a_direct_walk(client: TestClient) -> None:
    r = plan(client, fromPlace="52.0275,8.5327", toPlace="52.0300,8.5300")
    direct = r.json()["direct"]
    assert len(direct) == 1 and direct[0]["legs"][0]["mode"] == "WALK"
    assert 0 < direct[0]["duration"] < 600


def test_arrive_by_ends_before_the_requested_time(client: TestClient) -> None:
    limit = ts(f"{DAY}T12:00:00+02:00")
    r = plan(client, fromPlace=BIELEFELD, toPlace=GUETERSLOH, arriveBy="true",
             time=limit.isoformat(), numItineraries=2)
    its = r.json()["itineraries"]
    assert its and all(ts(it["endTime"]) <= limit for it in its)
    # the latest possible: departing a minute later cannot arrive in time
    latest = max(ts(it["startTime"]) for it in its)
    minute_later = datetime.fromtimestamp(latest.timestamp() + 60, latest.tzinfo)
    later = plan(client, fromPlace=BIELEFELD, toPlace=GUETERSLOH, numItineraries=1,
                 time=minute_later.isoformat()).json()["itineraries"]
    assert not later or ts(later[0]["endTime"]) > limit


def test_next_page_cursor_returns_later_departures(client: TestClient) -> None:
    first = plan(client, fromPlace=BIELEFELD, toPlace=GUETERSLOH, numItineraries=2).json()
    nxt = client.get("/api/v1/plan", params={"fromPlace": BIELEFELD, "toPlace": GUETERSLOH,
                                             "numItineraries": 2,
                                             "pageCursor": first["nextPageCursor"]}).json()
    last_first_page = max(ts(it["startTime"]) for it in first["itineraries"])
    assert nxt["itineraries"]
    assert min(ts(it["startTime"]) for it in nxt["itineraries"]) > last_first_page


def test_transit_modes_without_matching_service_give_empty_itineraries_and_reason(
        client: TestClient) -> None:
    r = plan(client, fromPlace=BIELEFELD, toPlace=GUETERSLOH, transitModes="BUS")
    assert r.status_code == 200
    assert r.json()["itineraries"] == [] and r.json()["reason"]
    rail = plan(client, fromPlace=BIELEFELD, toPlace=GUETERSLOH, transitModes="RAIL")
    assert rail.json()["itineraries"]


def transfer_waits(it: dict) -> list[float]:
    """Seconds between alighting and the next boarding, walks included."""
    transit = [leg for leg in it["legs"] if leg["mode"] != "WALK"]
    return [(ts(b["startTime"]) - ts(a["endTime"])).total_seconds()
            for a, b in zip(transit, transit[1:], strict=False)]


def test_min_transfer_time_moves_the_plan_off_a_short_change(client: TestClient) -> None:
    """Bielefeld -> Paderborn at 08:00 changes at Hamm with 18 min: 30 min of slack must
    drop that journey for one whose every change leaves 30 min, arriving no earlier (an
    ignored parameter gives the same plan and fails here)."""
    base = plan(client, fromPlace=BIELEFELD, toPlace=PADERBORN, numItineraries=1).json()
    slow = plan(client, fromPlace=BIELEFELD, toPlace=PADERBORN, numItineraries=1,
                minTransferTime=30).json()
    assert base["itineraries"] and slow["itineraries"]
    tight, relaxed = base["itineraries"][0], slow["itineraries"][0]
    assert transfer_waits(tight) and min(transfer_waits(tight)) < 30 * 60
    assert transfer_waits(relaxed) and min(transfer_waits(relaxed)) >= 30 * 60
    assert relaxed["startTime"] != tight["startTime"]
    assert ts(relaxed["endTime"]) >= ts(tight["endTime"])


@pytest.mark.parametrize(("params", "status", "needle"), [
    ({"fromPlace": "nowhere:1"}, 404, "fromPlace"),
    ({"toPlace": "nowhere:2"}, 404, "toPlace"),
    ({"fromPlace": "91.0,8.5"}, 400, "fromPlace"),
    ({"time": "yesterday"}, 400, "time"),
    ({"time": "2030-01-01T08:00:00+01:00"}, 422, "2026-04-11"),
    ({"numItineraries": 1000}, 422, "numItineraries"),
    ({"searchWindow": -1}, 422, "searchWindow"),
    ({"searchWindow": 10**9}, 422, "searchWindow"),
    ({"transitModes": "ROCKET"}, 400, "transitModes"),
    ({"pedestrianSpeed": "fast"}, 422, "pedestrianSpeed"),
    ({"pageCursor": "!!"}, 400, "pageCursor"),
])
def test_bad_plan_parameters_are_rejected_naming_them(client: TestClient, params: dict,
                                                      status: int, needle: str) -> None:
    query = {"fromPlace": BIELEFELD, "toPlace": GUETERSLOH, **params}
    r = plan(client, **query)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]


def test_plan_responses_are_cached(client: TestClient) -> None:
    q = {"fromPlace": BIELEFELD, "toPlace": PADERBORN, "numItineraries": 1,
         "time": f"{DAY}T15:03:00+02:00"}
    first = client.get("/api/v1/plan", params=q)
    second = client.get("/api/v1/plan", params=q)
    assert first.content == second.content
    metrics = client.get("/metrics").text
    assert 'owl_cache_requests_total{result="hit"}' in metrics


def test_geocode_is_umlaut_and_case_insensitive(client: TestClient) -> None:
    for text in ("guetersloh", "GÜTERSLOH", "gutersloh"):
        hits = client.get("/api/v1/geocode", params={"text": text}).json()
        assert hits and hits[0]["name"].startswith("Gütersloh"), text
    exact = client.get("/api/v1/geocode", params={"text": "gütersloh hbf"}).json()
    assert exact[0]["name"] == "Gütersloh Hbf" and exact[0]["match"] == "exact"
    fuzzy = client.get("/api/v1/geocode", params={"text": "Paderbron"}).json()
    assert fuzzy[0]["name"] == "Paderborn Hbf" and fuzzy[0]["match"] == "fuzzy"
    assert client.get("/api/v1/geocode", params={"text": "xqzjv"}).json() == []
    assert client.get("/api/v1/geocode", params={"text": ""}).json() == []  # MOTIS: no 422


def test_reverse_geocode_lists_nearest_stops_first(client: TestClient) -> None:
    hits = client.get("/api/v1/reverse-geocode", params={"place": "52.0290,8.5327"}).json()
    assert hits[0]["name"] == "Bielefeld Hbf"
    dists = [h["distance"] for h in hits]
    assert dists == sorted(dists) and dists[0] < 50
    bad = client.get("/api/v1/reverse-geocode", params={"place": "north"})
    assert bad.status_code == 400 and "place" in bad.json()["error"]
    off = client.get("/api/v1/reverse-geocode", params={"place": "95.0,8.5"})
    assert off.status_code == 400
    assert off.json() == {"error": "place: coordinate out of range: '95.0,8.5'",
                          "parameter": "place"}


def test_stoptimes_board_covers_platforms_and_pages_forward(client: TestClient) -> None:
    params = {"stopId": BIELEFELD, "time": f"{DAY}T08:00:00+02:00", "n": 5}
    body = client.get("/api/v1/stoptimes", params=params).json()
    times = [ts(s["place"]["departure"]) for s in body["stopTimes"]]
    assert len(times) == 5 and times == sorted(times)
    assert times[0] >= ts(f"{DAY}T08:00:00+02:00")
    # departures happen at the platform (a child of the requested station)
    assert all(s["place"].get("parentId") == BIELEFELD or s["place"]["stopId"] == BIELEFELD
               for s in body["stopTimes"])
    assert all(s["routeShortName"] and s["mode"] for s in body["stopTimes"])
    more = client.get("/api/v1/stoptimes", params={"stopId": BIELEFELD, "n": 5,
                                                   "pageCursor": body["nextPageCursor"]})
    later = [ts(s["place"]["departure"]) for s in more.json()["stopTimes"]]
    assert later and later[0] >= times[-1]
    keys = {(s["tripId"], s["place"]["departure"]) for s in body["stopTimes"]}
    assert not keys & {(s["tripId"], s["place"]["departure"]) for s in more.json()["stopTimes"]}


def test_stoptimes_arrivals_end_at_the_requested_time(client: TestClient) -> None:
    body = client.get("/api/v1/stoptimes", params={
        "stopId": BIELEFELD, "time": f"{DAY}T08:00:00+02:00", "n": 3, "arriveBy": True}).json()
    arrivals = [ts(s["place"]["arrival"]) for s in body["stopTimes"]]
    assert len(arrivals) == 3 and max(arrivals) <= ts(f"{DAY}T08:00:00+02:00")


def test_stoptimes_unknown_stop_is_404_naming_it(client: TestClient) -> None:
    r = client.get("/api/v1/stoptimes", params={"stopId": "no-such-stop", "time": DAY,
                                                "n": 5})
    assert r.status_code == 404 and "no-such-stop" in r.json()["error"]


def freeze_now(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """The server's "now" (store: today; runtime: the time of day) fixed at ``moment``."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Frozen:  # type: ignore[override]
            fixed = moment if tz is None else moment.astimezone(tz)
            return cls.fromtimestamp(fixed.timestamp(), fixed.tzinfo)

    monkeypatch.setattr(api.store, "datetime", Frozen)
    monkeypatch.setattr(api.runtime, "datetime", Frozen)


@pytest.mark.parametrize(("now", "day", "note"), [
    ("2026-04-20T10:00:00+02:00", "2026-04-20", None),  # inside the validity: today
    ("2026-03-01T10:00:00+01:00", "2026-04-11", "today (2026-03-01) is outside"),
    ("2026-06-01T10:00:00+02:00", "2026-05-11", "today (2026-06-01) is outside"),
])
def test_health_reports_validity_and_the_default_day_for_today(
        client: TestClient, monkeypatch: pytest.MonkeyPatch, now: str, day: str,
        note: str | None) -> None:
    """Fixed clocks, not the machine's: the branch taken must not depend on the date."""
    freeze_now(monkeypatch, ts(now))
    h = client.get("/api/v1/health").json()
    assert h["timetable"]["validity"]["de-db-fv-2026"] == {"from": "2026-04-11",
                                                           "to": "2026-05-11"}
    assert h["timetable"]["defaultDay"] == day
    if note is None:
        assert "note" not in h["timetable"]
    else:
        assert h["timetable"]["note"].startswith(note)
        assert f"requests without a time use {day}" in h["timetable"]["note"]
    assert h["feedAges"] and h["cache"]["backend"] == "memory"


def test_requests_without_time_are_served_on_the_default_day(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the validity, "now" is the last valid day at the present time of day."""
    freeze_now(monkeypatch, ts("2026-06-01T08:00:00+02:00"))
    r = client.get("/api/v1/plan", params={"fromPlace": BIELEFELD, "toPlace": GUETERSLOH})
    assert r.status_code == 200
    its = r.json()["itineraries"]
    assert its
    assert ts(its[0]["startTime"]) >= ts("2026-05-11T08:00:00+02:00")
    assert its[0]["startTime"][:10] == "2026-05-11"


def test_metrics_count_requests_by_route(client: TestClient) -> None:
    client.get("/api/v1/geocode", params={"text": "Herford"})
    text = client.get("/metrics").text
    assert 'owl_http_requests_total{method="GET",route="/api/v1/geocode",status="200"}' in text
    assert "owl_http_request_duration_seconds_bucket" in text


def test_cors_allows_configured_origin_only(client: TestClient) -> None:
    ok = client.get("/api/v1/health", headers={"Origin": "https://owl.example"})
    assert ok.headers.get("access-control-allow-origin") == "https://owl.example"
    other = client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_search_past_the_deadline_answers_503() -> None:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), search_deadline=0.000001)
    with TestClient(create_app(settings)) as c:
        r = c.get("/api/v1/plan", params={"fromPlace": BIELEFELD, "toPlace": PADERBORN,
                                          "time": f"{DAY}T08:00:00+02:00"})
    assert r.status_code == 503 and "deadline" in r.json()["error"]


def test_search_cut_short_by_the_deadline_is_not_cached() -> None:
    """The search thread goes on after the 503; what it finds past the deadline is partial
    and must not be served from the cache as the answer."""
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), search_deadline=0.000001)
    app = create_app(settings)
    with TestClient(app) as c:
        params = {"fromPlace": BIELEFELD, "toPlace": PADERBORN,
                  "time": f"{DAY}T08:00:00+02:00"}
        assert c.get("/api/v1/plan", params=params).status_code == 503
        rt = app.state.runtime
        rt.pool.shutdown(wait=True)  # the search thread has finished
        assert len(rt.cache) == 0


@pytest.fixture(scope="module")
def hart() -> TestClient:
    if not HART.exists():
        pytest.skip(f"{HART} missing (../shared/data not available)")
    with TestClient(create_app(load_settings(env={}, feeds=(str(HART),),
                                             date="2021-01-12"))) as c:
        yield c


def test_hart_plan_draws_legs_along_shapes(hart: TestClient) -> None:
    # downtown Tampa to the University area
    r = hart.get("/api/v1/plan", params={"fromPlace": "27.9506,-82.4572",
                                         "toPlace": "28.0587,-82.4139",
                                         "time": "2021-01-12T08:00:00-05:00",
                                         "maxPreTransitTime": 1200,
                                         "maxPostTransitTime": 1200})
    assert r.status_code == 200, r.text
    its = r.json()["itineraries"]
    assert its
    bus = [leg for it in its for leg in it["legs"] if leg["mode"] == "BUS"]
    assert bus
    # shapes.txt gives more points than the stops alone
    assert any(leg["legGeometry"]["length"] > len(leg["intermediateStops"]) + 2
               for leg in bus)
    assert all(leg["startTime"].endswith("-05:00") for leg in bus)


def test_hart_board_and_geocode(hart: TestClient) -> None:
    hits = hart.get("/api/v1/geocode", params={"text": "marion transit"}).json()
    assert hits, "Marion Transit Center should be found by words"
    board = hart.get("/api/v1/stoptimes", params={"stopId": hits[0]["id"], "n": 4,
                                                  "time": "2021-01-12T08:00:00"}).json()
    assert len(board["stopTimes"]) == 4
    assert board["stopTimes"][0]["place"]["departure"].startswith("2021-01-12T08")


# --- plan search: range query (depart-at), reverse CSA (arrive-by), pages, alternatives ------

HART_PAIRS = [("hart:4543", "hart:2660"), ("hart:1740", "hart:1149"),
              ("hart:4480", "hart:3664"), ("hart:910", "hart:6695"),
              ("hart:1161", "hart:1731")]
HART_T = "2021-01-12T08:00:00-05:00"


def hart_router(hart: TestClient):
    rt = hart.app.state.runtime
    prepared, _ = rt.prepared_for(ts(HART_T))
    return prepared, prepared.router


def stop_rows(prepared, stop_id: str) -> list[tuple[int, int]]:
    return [(s, 0) for s in prepared.group(prepared.resolve_stop(stop_id))]


def tt_time(prepared, text: str) -> int:
    return int(ts(text).timestamp()) - prepared.tt.t0


def repeated_earliest_arrival(router, src, tgt, t: int, window: int, n: int) -> list[tuple]:
    """(departure, arrival) from repeated earliest-arrival queries, each one's departure
    pushed to the latest that keeps its arrival, the next query one second later."""
    out: list[tuple[int, int]] = []
    dep = t
    while len(out) < n:
        j = router.earliest(Query(src, tgt, dep, max_transfers=7))
        if j is None or not j.transit_legs:
            break
        lo, hi = dep, j.arrival  # arrival(lo) == j.arrival < arrival(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            a = router.arrival(Query(src, tgt, mid, max_transfers=7))
            if a is not None and a <= j.arrival:
                lo = mid
            else:
                hi = mid
        if lo > t + window and out:
            break
        out.append((lo, j.arrival))
        dep = lo + 1
    return out


@pytest.mark.parametrize(("origin", "dest"), HART_PAIRS)
def test_two_hour_window_lists_the_departures_of_repeated_earliest_arrival_queries(
        hart: TestClient, origin: str, dest: str) -> None:
    prepared, router = hart_router(hart)
    n = 4
    r = hart.get("/api/v1/plan", params={"fromPlace": origin, "toPlace": dest, "time": HART_T,
                                         "searchWindow": 7200, "numItineraries": n})
    assert r.status_code == 200, r.status_code
    got = [(tt_time(prepared, it["startTime"]), tt_time(prepared, it["endTime"]))
           for it in r.json()["itineraries"]]
    t = tt_time(prepared, HART_T)
    want = repeated_earliest_arrival(router, stop_rows(prepared, origin),
                                     stop_rows(prepared, dest), t, 7200, n)
    assert want, "the reference found no journey: pick another pair"
    if len(want) == n:
        assert got == want
    else:  # fewer in the window: all of them, then alternatives at the first departure
        assert set(want) <= set(got) and len(got) <= n
        assert min(got) == want[0]


@pytest.mark.parametrize(("origin", "dest"), HART_PAIRS[:3])
def test_arrive_by_itineraries_arrive_in_time_and_leave_as_late_as_possible(
        hart: TestClient, origin: str, dest: str) -> None:
    prepared, router = hart_router(hart)
    limit_text = "2021-01-12T12:00:00-05:00"
    r = hart.get("/api/v1/plan", params={"fromPlace": origin, "toPlace": dest,
                                         "time": limit_text, "arriveBy": "true",
                                         "numItineraries": 3, "searchWindow": 4 * 3600})
    its = r.json()["itineraries"]
    assert len(its) == 3, r.status_code
    src, tgt = stop_rows(prepared, origin), stop_rows(prepared, dest)
    limit = tt_time(prepared, limit_text)
    # latest first: each one is the latest departure arriving before the one after it
    for it in sorted(its, key=lambda x: x["startTime"], reverse=True):
        leave, arrival = tt_time(prepared, it["startTime"]), tt_time(prepared, it["endTime"])
        assert arrival <= limit
        assert router.arrival(Query(src, tgt, leave, max_transfers=7)) <= arrival
        later = router.arrival(Query(src, tgt, leave + 1, max_transfers=7))
        assert later is None or later > limit, (it["startTime"], it["endTime"])
        limit = arrival - 1


def test_previous_page_ends_with_the_departure_just_before_the_first(
        hart: TestClient) -> None:
    origin, dest = HART_PAIRS[1]
    params = {"fromPlace": origin, "toPlace": dest, "numItineraries": 3}
    first = hart.get("/api/v1/plan", params={**params, "time": "2021-01-12T12:00:00"}).json()
    prev = hart.get("/api/v1/plan", params={**params,
                                            "pageCursor": first["previousPageCursor"]}).json()
    starts = [it["startTime"] for it in prev["itineraries"]]
    assert len(starts) == 3 and starts == sorted(starts)
    assert ts(starts[-1]) < ts(first["itineraries"][0]["startTime"])
    # no departure in between: a search from the previous page's last finds the first next
    again = hart.get("/api/v1/plan", params={**params, "time": starts[-1],
                                             "numItineraries": 2}).json()["itineraries"]
    assert [it["startTime"] for it in again] == [starts[-1],
                                                  first["itineraries"][0]["startTime"]]


def test_short_window_is_widened_until_num_itineraries_are_found(hart: TestClient) -> None:
    """A one-minute window holds one departure; the planner widens it (as MOTIS does) and
    lists the next departures, exactly those of repeated earliest-arrival queries."""
    prepared, router = hart_router(hart)
    origin, dest = HART_PAIRS[4]
    r = hart.get("/api/v1/plan", params={"fromPlace": origin, "toPlace": dest, "time": HART_T,
                                         "searchWindow": 60, "numItineraries": 4})
    its = r.json()["itineraries"]
    got = [(tt_time(prepared, it["startTime"]), tt_time(prepared, it["endTime"]))
           for it in its]
    t = tt_time(prepared, HART_T)
    want = repeated_earliest_arrival(router, stop_rows(prepared, origin),
                                     stop_rows(prepared, dest), t, 6 * 3600, 4)
    assert len(want) == 4 and got == want
    assert len({(it["startTime"], tuple(leg.get("tripId") for leg in it["legs"]))
                for it in its}) == len(its)
