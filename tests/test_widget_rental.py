"""Browser tests of the widget with shared bikes: rental legs, and trips without transit.

``owl-planner serve`` runs in a subprocess on the demo feed (DB long-distance trains) with
the Call a Bike Darmstadt GBFS fixture (one station at Darmstadt Hbf, 48 bikes, rides may
end anywhere) served from a loopback HTTP server, ``--gbfs-epoch`` at the fixture's 2024
timestamp so it counts as current, and the Frankfurt-Darmstadt OSM extract (``--osm``).
Headless Debian Chromium via Playwright; screenshots go to ``test-output/``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
from playwright.sync_api import Page, expect  # noqa: E402

from tests import test_widget  # noqa: E402
from tests.servers import (  # noqa: E402
    CHROMIUM,
    owl_planner_serve,
    serve_directory,
)
from tests.test_api_streets import DB, EPOCH, GBFS_DIR, OSM  # noqa: E402
from tests.test_widget import (  # noqa: E402
    DEMO_DAY,
    OUTPUT,
    PLAN_MODES,
    _hhmm,
    _pick,
    log_of,
)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM or not os.path.exists(CHROMIUM),
                       reason="needs Debian's chromium (apt-get install chromium)"),
    pytest.mark.skipif(not (DB.exists() and GBFS_DIR.is_dir() and OSM.exists()),
                       reason="../shared/data (gbfs-de-callabike-darmstadt with osm/) missing"),
]
expect.set_options(timeout=30_000)

#: Darmstadt, Luisenplatz: 1.6 km from the Hbf, too far to walk within the 15 min default.
LUISENPLATZ = (49.8728, 8.6512)
LUISENPLATZ_PRESET = f"{LUISENPLATZ[0]},{LUISENPLATZ[1]}|Darmstadt Luisenplatz"


def _gbfs_and_streets_loaded(health: httpx.Response) -> bool:
    sharing = health.json().get("sharing", {})
    systems = sharing.get("systems", [])
    if systems and systems[0]["lastSuccess"] and sharing["streets"]["model"] != "loading":
        assert sharing["streets"]["model"] == "osm", sharing["streets"]
        return True
    return False


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The API with the Call a Bike feed and the OSM extract, once both are loaded."""
    with serve_directory(GBFS_DIR) as gbfs, owl_planner_serve(
            ["--date", DEMO_DAY, "--gbfs", f"{gbfs.base}/gbfs.json", "--gbfs-epoch", str(EPOCH),
             "--osm", str(OSM)], OUTPUT / "widget-rental-server.log",
            ready=_gbfs_and_streets_loaded,
            env={"OWL_GBFS_CONFIG": "none", "OWL_GBFS_RESOLVE": "manifest"},  # loopback only
    ) as base:
        yield base


# test_widget's browser and page fixtures (a page checks it had no script error)
browser = test_widget.browser
page = test_widget.page


def _embed_to(page: Page, server: str, to: str) -> None:
    """A city page embedding the widget with the destination preset (a coordinate)."""
    html = ('<!doctype html><html lang="de"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width"></head><body>'
            f'<script src="{server}/widget.js" data-api="{server}" data-lang="de" '
            f'data-date="{DEMO_DAY}" data-time="08:00"></script>'
            f'<owl-trip-planner data-to="{to}"></owl-trip-planner></body></html>')
    page.route(f"{server}/rental-test.html",
               lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(f"{server}/rental-test.html")


def _rental(trip: dict) -> dict | None:
    return next((leg for leg in trip["legs"] if leg["mode"] == "RENTAL"), None)


def _shown_times_match(page: Page, url: str) -> dict:
    """The widget lists the API's itineraries, then its direct trips, with their times."""
    body = httpx.get(url, timeout=30).json()
    trips = body["itineraries"] + body["direct"]
    assert trips, url
    items = page.locator("owl-trip-planner li.itinerary")
    expect(items.locator("time.start")).to_have_text([_hhmm(t["startTime"]) for t in trips])
    expect(items.locator("time.end")).to_have_text([_hhmm(t["endTime"]) for t in trips])
    return body


def test_bike_sharing_toggle_shows_the_rental_leg_after_the_train_with_its_details(
        page: Page, server: str) -> None:
    _embed_to(page, server, LUISENPLATZ_PRESET)
    widget = page.locator("owl-trip-planner")
    # "Frankfurt(Main)Hbf" and "Frankfurt (Main) Hauptbahnhof" (both in the feed, 70 m
    # apart) are one suggestion: the first the server ranks.
    _pick(page, "Von", "Frankfurt(M", "Frankfurt (Main) Hauptbahnhof")
    widget.get_by_role("checkbox", name="Leihrad").check()
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.locator("li.itinerary").first).to_be_visible()
    url = log_of(page).plan_urls[-1]
    query = parse_qs(urlsplit(url).query)
    assert all(query[m] == ["WALK,BIKE_RENTAL"] for m in PLAN_MODES)
    assert "transitModes" not in query
    body = _shown_times_match(page, url)
    assert body["warnings"] == []

    index, trip = next((i, it) for i, it in enumerate(body["itineraries"]) if _rental(it))
    ride = _rental(trip)
    assert ride is not None
    assert any(leg.get("tripId") for leg in trip["legs"])  # the train, then the bike
    item = widget.locator("li.itinerary").nth(index)
    expect(item.locator(".strip .chip")).to_have_count(
        sum(1 for leg in trip["legs"] if not leg.get("tripId")))
    item.locator(".summary").click()
    detail = item.locator(".detail")
    expect(detail).to_be_visible()
    r = ride["rental"]
    minutes = math.floor(ride["duration"] / 60 + 0.5)  # Math.round, as the widget
    expect(detail).to_contain_text(f"Leihrad, {minutes} Min.")  # the form factor
    expect(detail).to_contain_text(r["systemName"])  # Call a Bike
    expect(detail).to_contain_text(
        f"Ausleihe an {r['fromStationName']} ({r['vehiclesAvailable']} verfügbar)")
    expect(detail).to_contain_text("Darmstadt Luisenplatz")
    assert r["systemName"] == "Call a Bike" and r["fromStationName"] == "Darmstadt Hbf"
    # the leg row shows the API's start and end of the ride
    rental_row = detail.locator("li.leg").filter(has_text="Leihrad,")
    expect(rental_row.locator(".lt")).to_have_text([_hhmm(ride["startTime"]),
                                                    _hhmm(ride["endTime"])])
    origin = trip["legs"][0]["from"]["name"]  # the stop the trip leaves from
    assert origin.startswith("Frankfurt")
    the_map = widget.get_by_role("img", name=f"Karte der Verbindung von {origin} "
                                              "nach Darmstadt Luisenplatz")
    expect(the_map.locator("path.leg-line")).to_have_count(len(trip["legs"]))
    expect(the_map.locator("path.leg-line[data-mode=RENTAL]")).to_have_count(1)
    page.screenshot(path=str(OUTPUT / "widget-rental-bike.png"), full_page=True)


def test_without_bus_and_train_only_direct_walk_and_bike_trips_are_asked_for_and_shown(
        page: Page, server: str) -> None:
    _embed_to(page, server, LUISENPLATZ_PRESET)
    widget = page.locator("owl-trip-planner")
    _pick(page, "Von", "Darmstadt H", "Darmstadt Hauptbahnhof")  # folds "Darmstadt Hbf" in
    widget.get_by_role("checkbox", name="Bus & Bahn").uncheck()
    widget.get_by_role("checkbox", name="Leihrad").check()
    widget.get_by_role("checkbox", name="E-Scooter").check()
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.locator("li.itinerary").first).to_be_visible()
    url = log_of(page).plan_urls[-1]
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert query["transitModes"] == [""]
    assert all(query[m] == ["WALK,BIKE_RENTAL,SCOOTER_RENTAL"] for m in PLAN_MODES)
    body = _shown_times_match(page, url)
    assert body["itineraries"] == []
    kinds = sorted(tuple(leg["mode"] for leg in d["legs"]) for d in body["direct"])
    assert kinds == [("WALK",), ("WALK", "RENTAL")]  # walking, and walk + Call a Bike
    expect(widget.get_by_role("heading", name="Ohne Bus & Bahn")).to_be_visible()
    expect(widget.get_by_role("status")).to_have_text(f"{len(body['direct'])} Verbindungen "
                                                      "gefunden.")
    expect(widget.get_by_role("button", name="Später")).to_be_hidden()
    bike = next(d for d in body["direct"] if _rental(d))
    item = widget.locator("li.itinerary").nth(body["direct"].index(bike))
    item.locator(".summary").click()
    detail = item.locator(".detail")
    expect(detail).to_contain_text("Call a Bike")
    expect(detail.locator(".lp").last).to_have_text("Darmstadt Luisenplatz")  # the API's END
    assert bike["legs"][-1]["to"]["name"] == "END"
    # the walk to the station is drawn along the streets of the OSM extract
    walk = bike["legs"][0]
    assert walk["mode"] == "WALK" and walk["legGeometry"]["length"] > 2
    page.screenshot(path=str(OUTPUT / "widget-rental-direct.png"), full_page=True)
