"""Browser tests of address and place suggestions in the widget (issue 15 point 5).

``owl-planner serve`` on the demo feed with the Frankfurt–Darmstadt OSM extract: the
suggestions draw a house for an address and a pin for a place (named for screen
readers), each with its town (an address with its postcode), a stop with its town from
the extract; a chosen address is planned from its coordinates; axe finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
from playwright.sync_api import Locator, Page, expect  # noqa: E402

from tests import test_widget  # noqa: E402
from tests.servers import CHROMIUM, REPO, owl_planner_serve  # noqa: E402
from tests.shared_data import shared  # noqa: E402
from tests.test_widget import DEMO_DAY, _axe, _embed, log_of  # noqa: E402

# test_widget's browser and page fixtures (a page checks it had no script error); pytest
# registers a fixture under the name it is found by.
browser = test_widget.browser
page = test_widget.page

FRANKFURT = "gbfs-de-callabike-darmstadt/osm/frankfurt-darmstadt-test_case.osm.pbf"
HOUSE = "M4 11.5"  # the start of the address drawing's path
PIN = "M12 21s"  # the place drawing's

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Debian's chromium (apt-get install chromium)")
expect.set_options(timeout=30_000)


def _places_ready(r: httpx.Response) -> bool:
    return r.status_code == 200 and r.json().get("places", {}).get("status") == "ready"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with owl_planner_serve(["--date", DEMO_DAY, "--osm", str(shared(FRANKFURT))],
                           REPO / "test-output" / "widget-places-server.log",
                           ready=_places_ready, env={"OWL_GBFS_CONFIG": "none"}) as base:
        yield base


def _options(page: Page, typed: str) -> Locator:
    widget = page.locator("owl-trip-planner")
    box = widget.get_by_role("combobox", name="Von")
    box.fill("")
    box.fill(typed)
    options = widget.locator("[id$='-from-list'] [role=option]")
    expect(options.first).to_be_visible()
    return options


def _drawing(option: Locator) -> str:
    return option.locator("svg path").first.get_attribute("d") or ""


def test_an_address_suggestion_has_a_house_its_postcode_and_town(page: Page,
                                                                  server: str) -> None:
    _embed(page, server, server)
    option = _options(page, "Münchener Straße 46").first
    expect(option.locator("span:not(.opt-context)")).to_have_text("Münchener Straße 46")
    expect(option.locator(".opt-context")).to_have_text("60329 Frankfurt am Main")
    assert _drawing(option).startswith(HOUSE)
    expect(option.get_by_role("img", name="Adresse")).to_have_count(1)


def test_a_place_suggestion_has_a_pin_and_its_town(page: Page, server: str) -> None:
    _embed(page, server, server)
    options = _options(page, "Hauptwache")
    square = options.filter(has_text="Hauptwache").first
    assert square.get_attribute("data-type") == "place"
    expect(square.locator(".opt-context")).to_have_text("Frankfurt am Main")
    assert _drawing(square).startswith(PIN)
    expect(square.get_by_role("img", name="Ort")).to_have_count(1)


def test_a_stop_suggestion_shows_its_town_from_the_extract(page: Page, server: str) -> None:
    raw = httpx.get(f"{server}/api/v1/geocode", params={"text": "Frankfurt Hbf"}).json()
    assert raw[0]["type"] == "STOP" and raw[0]["areas"][0]["name"] == "Frankfurt am Main"
    _embed(page, server, server)
    stop = _options(page, "Frankfurt Hbf").first
    assert stop.get_attribute("data-type") == "stop"
    assert not _drawing(stop).startswith((HOUSE, PIN))
    # "Frankfurt(Main)Hbf" already names its town: no context repeated.
    expect(stop.locator(".opt-context")).to_have_count(0)


def test_a_chosen_address_is_planned_from_its_coordinates(page: Page, server: str) -> None:
    house = httpx.get(f"{server}/api/v1/geocode",
                      params={"text": "Münchener Straße 46", "type": "ADDRESS"}).json()[0]
    _embed(page, server, server)
    widget = page.locator("owl-trip-planner")
    _options(page, "Münchener Straße 46").first.click()
    widget.get_by_role("combobox", name="Nach").fill("Darmstadt Hbf")
    widget.locator("[id$='-to-list'] [role=option]").first.click()
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.get_by_role("status")).not_to_be_empty()
    query = parse_qs(urlsplit(log_of(page).plan_urls[-1]).query)
    assert query["fromPlace"] == [f"{house['lat']},{house['lon']}"]


def test_axe_finds_no_violation_with_address_and_place_suggestions(page: Page,
                                                                   server: str) -> None:
    _embed(page, server, server)
    options = _options(page, "Hauptwache")
    types = {options.nth(i).get_attribute("data-type") for i in range(options.count())}
    assert {"address", "place"} <= types
    _axe(page, "address and place suggestions")
    page.keyboard.press("ArrowDown")
    _axe(page, "an address or place suggestion selected")
