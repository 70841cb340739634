"""The widget with realtime: Caltrain's TripUpdates and ServiceAlerts of 2023-11-07.

``owl-planner serve`` replays the archived feeds at their own time; the widget must show
each leg's delay as the API gives it (``+N Min.`` beside the struck-through schedule),
``pünktlich`` for realtime legs without delay, and alerts. The archived ServiceAlerts
message of that evening is empty, so the test adds one alert of its own (a second
GTFS-RT file informing the delayed trip's route) to have a header to look for.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from google.transit import gtfs_realtime_pb2 as pb

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
from playwright.sync_api import Browser, Page, Route, expect  # noqa: E402

from tests import test_widget  # noqa: E402
from tests.rtfeeds import header  # noqa: E402
from tests.servers import CHROMIUM, owl_planner_serve  # noqa: E402
from tests.shared_data import shared  # noqa: E402
from tests.test_widget import OUTPUT, _axe, _embed, _page, _pick, log_of  # noqa: E402

FEED_TIME = 1699405534  # header of ct-trip-updates.pb (17:05:34 PST)
DAY = "2023-11-07"
PACIFIC = ZoneInfo("America/Los_Angeles")
ALERT_HEADER = "Single tracking between San Mateo and Hillsdale"
ALERT_TEXT = "Local trains may be held up to 10 minutes."

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Debian's chromium (apt-get install chromium)")
expect.set_options(timeout=30_000)


def alert_feed(route: str) -> bytes:
    msg = pb.FeedMessage()
    header(msg, FEED_TIME)
    e = msg.entity.add()
    e.id = "test-alert"
    a = e.alert
    a.active_period.add(start=FEED_TIME - 3600, end=FEED_TIME + 6 * 3600)
    a.informed_entity.add(route_id=route)
    a.cause = pb.Alert.CONSTRUCTION
    a.effect = pb.Alert.SIGNIFICANT_DELAYS
    a.header_text.translation.add(text=ALERT_HEADER, language="en")
    a.description_text.translation.add(text=ALERT_TEXT, language="en")
    a.url.translation.add(text="https://www.caltrain.com/alerts", language="en")
    return msg.SerializeToString()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("rtwidget")
    (tmp / "alert.pb").write_bytes(alert_feed("L1"))
    data = shared("us-caltrain-rt")
    with owl_planner_serve(
            [str(data / "ct.zip"), "--date", DAY,
             "--gtfs-rt", str(data / "ct-trip-updates.pb"),
             "--gtfs-rt", str(data / "ct-service-alerts.pb"),
             "--gtfs-rt", str(tmp / "alert.pb"),
             "--gtfs-rt-epoch", str(FEED_TIME + 30), "--gtfs-rt-max-age", "3600",
             "--cache-dir", str(tmp / "cache")],
            OUTPUT / "widget-realtime-server.log", env={"OWL_GBFS_CONFIG": "none"}) as base:
        yield base


browser = test_widget.browser  # test_widget's, one chromium per module


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    p = _page(browser, zone="Europe/Berlin")
    yield p
    assert log_of(p).errors == []
    p.context.close()


def _minute(iso: str) -> int:
    return math.floor(datetime.fromisoformat(iso).timestamp() / 60)


def _hhmm(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(PACIFIC).strftime("%H:%M")


def _search(page: Page, server: str, lang: str) -> dict:
    _embed(page, server, server, lang=lang, when=f'data-date="{DAY}" data-time="17:00"')
    de = lang == "de"
    _pick(page, "Von" if de else "From", "San Bru", "San Bruno Caltrain Station")
    _pick(page, "Nach" if de else "To", "Tami", "Tamien Caltrain Station")
    search = "Suchen" if de else "Search"
    page.locator("owl-trip-planner").get_by_role("button", name=search).click()
    expect(page.locator("owl-trip-planner li.itinerary").first).to_be_visible()
    return httpx.get(log_of(page).plan_urls[-1], timeout=60).json()


def _first(body: dict, delayed: bool) -> tuple[int, dict]:
    """The first itinerary whose (single or first) transit leg is a realtime leg with or
    without a delay, and that leg."""
    for i, it in enumerate(body["itineraries"]):
        legs = [leg for leg in it["legs"] if leg.get("tripId")]
        if legs and legs[0]["realTime"] and not legs[0]["cancelled"]:
            late = _minute(legs[0]["startTime"]) - _minute(legs[0]["scheduledStartTime"])
            if (late != 0) == delayed:
                return i, legs[0]
    pytest.fail(f"no {'delayed' if delayed else 'on-time'} realtime leg in the plan")


def test_widget_shows_the_feeds_delay_on_time_and_an_alert_in_german(
        page: Page, server: str) -> None:
    body = _search(page, server, "de")
    widget = page.locator("owl-trip-planner")
    items = widget.locator("li.itinerary")

    i, leg = _first(body, delayed=True)
    late = _minute(leg["startTime"]) - _minute(leg["scheduledStartTime"])
    assert late > 0  # the feed delays this trip
    item = items.nth(i)
    expect(item.locator(".strip .rt").first).to_contain_text(f"+{late} Min.")
    item.locator(".summary").click()
    first_leg = item.locator("li.leg").nth(
        [k for k, g in enumerate(body["itineraries"][i]["legs"]) if g.get("tripId")][0])
    expect(first_leg.locator(".lt").first.locator("time")).to_have_text(_hhmm(leg["startTime"]))
    scheduled = first_leg.locator(".lt").first.locator("del.sched")
    expect(scheduled).to_have_text(f"planmäßig {_hhmm(leg['scheduledStartTime'])}")
    expect(first_leg.locator(".lt").first.locator(".rt")).to_contain_text(f"+{late} Min.")

    assert any(a["headerText"] == ALERT_HEADER for a in leg["alerts"])
    alert = first_leg.locator(".alerts")
    expect(alert).to_contain_text(ALERT_HEADER)
    expect(alert).to_contain_text(ALERT_TEXT)
    expect(alert).to_contain_text("Erhebliche Verspätungen")  # the effect, not SIGNIFICANT_DELAYS
    expect(alert.get_by_role("link", name="Weitere Informationen")).to_have_attribute(
        "href", "https://www.caltrain.com/alerts")
    expect(widget.locator(".detail:visible")).not_to_contain_text("SIGNIFICANT")

    j, on_time = _first(body, delayed=False)
    expect(items.nth(j).locator(".strip .rt").first).to_have_text("pünktlich")
    assert not on_time["cancelled"]
    page.screenshot(path=str(OUTPUT / "widget-realtime-de.png"), full_page=True)
    _axe(page, "realtime details")


def test_widget_shows_delays_in_english(page: Page, server: str) -> None:
    body = _search(page, server, "en")
    i, leg = _first(body, delayed=True)
    late = _minute(leg["startTime"]) - _minute(leg["scheduledStartTime"])
    item = page.locator("owl-trip-planner li.itinerary").nth(i)
    expect(item.locator(".strip .rt").first).to_contain_text(f"+{late} min")
    item.locator(".summary").click()
    expect(item.locator("del.sched").first).to_contain_text(
        f"scheduled {_hhmm(leg['scheduledStartTime'])}")
    expect(item.locator(".alerts").first).to_contain_text("Significant delays")
    _axe(page, "realtime details, English")


def skipping(data: bytes, trip_id: str, stop_id: str) -> bytes:
    """The feed with ``stop_id`` of ``trip_id`` marked SKIPPED."""
    msg = pb.FeedMessage()
    msg.ParseFromString(data)
    for e in msg.entity:
        if e.trip_update.trip.trip_id == trip_id:
            for u in e.trip_update.stop_time_update:
                if u.stop_id == stop_id:
                    u.schedule_relationship = pb.TripUpdate.StopTimeUpdate.SKIPPED
                    u.ClearField("arrival")
                    u.ClearField("departure")
    return msg.SerializeToString()


@pytest.fixture(scope="module")
def skipping_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Caltrain's TripUpdates with Millbrae (70062) skipped by train 126."""
    tmp = tmp_path_factory.mktemp("rtskip")
    data = shared("us-caltrain-rt")
    (tmp / "tu.pb").write_bytes(skipping((data / "ct-trip-updates.pb").read_bytes(),
                                         "126", "70062"))
    with owl_planner_serve(
            [str(data / "ct.zip"), "--date", DAY, "--gtfs-rt", str(tmp / "tu.pb"),
             "--gtfs-rt-epoch", str(FEED_TIME + 30), "--gtfs-rt-max-age", "3600",
             "--cache-dir", str(tmp / "cache")],
            OUTPUT / "widget-realtime-skip-server.log",
            env={"OWL_GBFS_CONFIG": "none"}) as base:
        yield base


def test_a_skipped_stop_is_struck_through_with_a_message(
        page: Page, skipping_server: str) -> None:
    body = _search(page, skipping_server, "de")
    i, k, stop = next((i, k, s) for i, it in enumerate(body["itineraries"])
                      for k, leg in enumerate(it["legs"])
                      for s in leg.get("intermediateStops", []) if s["cancelled"])
    assert stop["name"] == "Millbrae Caltrain Station"
    item = page.locator("owl-trip-planner li.itinerary").nth(i)
    item.locator(".summary").click()
    leg = item.locator("li.leg").nth(k)
    expect(leg.locator("details.stops summary")).to_contain_text("1 Halt entfällt")
    leg.locator("details.stops summary").click()
    skipped = leg.locator("li.skipped")
    expect(skipped).to_have_count(1)
    expect(skipped.locator("del")).to_contain_text("Millbrae Caltrain Station")
    expect(skipped).to_contain_text("Halt entfällt")
    assert skipped.locator("del").evaluate(
        "e => getComputedStyle(e).textDecorationLine") == "line-through"
    _axe(page, "skipped stop")


def test_a_cancelled_leg_is_struck_through_and_marked(page: Page, server: str) -> None:
    """Plans leave cancelled trips out, so the API's own answer is replayed with its first
    transit leg cancelled (MOTIS's ``cancelled``/``tripCancelled``), as a plan for a
    trip cancelled after it was shown would carry it."""
    def cancel(route: Route) -> None:
        body = httpx.get(route.request.url, timeout=60).json()
        leg = next(g for g in body["itineraries"][0]["legs"] if g.get("tripId"))
        leg["cancelled"] = leg["tripCancelled"] = True
        route.fulfill(json=body)

    page.route("**/api/v5/plan*", cancel)
    _search(page, server, "de")
    item = page.locator("owl-trip-planner li.itinerary").first
    expect(item.locator(".strip .rt.cancel")).to_have_text("fällt aus")
    assert item.locator("time.start").evaluate(
        "e => getComputedStyle(e).textDecorationLine") == "line-through"
    item.locator(".summary").click()
    leg = item.locator("li.leg.cancelled")
    expect(leg).to_contain_text("Diese Fahrt fällt aus.")
    expect(leg.locator(".rt.cancel").first).to_have_text("fällt aus")
    _axe(page, "cancelled leg")
