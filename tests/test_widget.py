"""Browser tests of the embeddable widget (`api/static/widget.js`) against the running API.

Headless Debian Chromium driven by Playwright for Python; the API runs as ``owl-planner
serve`` on the demo feed in a subprocess on a free loopback port. Everything stays on
127.0.0.1: no tiles, no CDN. Screenshots go to ``test-output/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

import httpx
import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

from api.geo import encode_polyline  # noqa: E402
from tests.servers import (  # noqa: E402
    CHROMIUM,
    REPO,
    free_port,
    headless_chromium,
    owl_planner_serve,
)

OUTPUT = REPO / "test-output"
DEMO_DAY = "2026-04-20"
BERLIN = ZoneInfo("Europe/Berlin")
PLAN_MODES = ("preTransitModes", "postTransitModes", "directModes")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Debian's chromium (apt-get install chromium)")
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``owl-planner serve`` on the demo feed, fixed to a day inside its validity, without
    shared mobility (whatever ``config/feeds.toml`` enables): rental modes answer 400."""
    with owl_planner_serve(["--date", DEMO_DAY], OUTPUT / "widget-server.log",
                           env={"OWL_GBFS_CONFIG": "none"}) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with headless_chromium() as b:
        yield b


@dataclass
class PageLog:
    """What a page did that the tests check: script errors and its /api/v5/plan requests."""

    errors: list[str] = field(default_factory=list)
    plan_urls: list[str] = field(default_factory=list)


#: Kept beside each page rather than patched onto playwright's object.
_LOGS: WeakKeyDictionary[Page, PageLog] = WeakKeyDictionary()


def log_of(page: Page) -> PageLog:
    return _LOGS[page]


def _page(browser: Browser, width: int = 1280, zone: str = "America/New_York") -> Page:
    # The device sits in another zone than the timetable: shown and queried times must
    # still be Berlin wall-clock times.
    ctx = browser.new_context(viewport={"width": width, "height": 900}, timezone_id=zone,
                              locale="de-DE", reduced_motion="reduce")
    page = ctx.new_page()
    log = _LOGS[page] = PageLog()
    page.on("pageerror", lambda e: log.errors.append(str(e)))
    page.on("request", lambda r: log.plan_urls.append(r.url) if "/api/v5/plan" in r.url
            else None)
    return page


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    p = _page(browser)
    yield p
    assert log_of(p).errors == []
    p.context.close()


def _embed(page: Page, server: str, api: str, lang: str = "de", attrs: str = "") -> None:
    """Serve a minimal city page from the API's origin that embeds the widget."""
    html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width"></head><body>'
            f'<script src="{server}/widget.js" data-api="{api}" data-lang="{lang}" '
            f'data-date="{DEMO_DAY}" data-time="08:00"></script>'
            f"<owl-trip-planner {attrs}></owl-trip-planner></body></html>")
    page.route(f"{server}/embed-test.html",
               lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(f"{server}/embed-test.html")


def _hhmm(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(BERLIN).strftime("%H:%M")


def _stop(server: str, name: str) -> dict:
    matches = httpx.get(f"{server}/api/v1/geocode", params={"text": name}).json()
    return next(m for m in matches if m["name"] == name)


def _pick(page: Page, label: str, typed: str, name: str) -> None:
    widget = page.locator("owl-trip-planner")
    widget.get_by_role("combobox", name=label).fill(typed)
    widget.get_by_role("option", name=name).click()
    expect(widget.get_by_role("combobox", name=label)).to_have_value(name)


def _expect_times_of(page: Page, url: str) -> dict:
    """The widget shows exactly the start/end times the API returns for ``url``."""
    body = httpx.get(url, timeout=30).json()
    trips = body["itineraries"] + body["direct"]
    assert trips, f"demo data should have trips for {url}"
    items = page.locator("owl-trip-planner li.itinerary")
    expect(items.locator("time.start")).to_have_text([_hhmm(t["startTime"]) for t in trips])
    expect(items.locator("time.end")).to_have_text([_hhmm(t["endTime"]) for t in trips])
    return body


def _search_bielefeld_paderborn(page: Page, server: str) -> dict:
    page.goto(f"{server}/")
    _pick(page, "Von", "Bielef", "Bielefeld Hbf")
    _pick(page, "Nach", "Paderb", "Paderborn Hbf")
    page.locator("owl-trip-planner").get_by_role("button", name="Suchen").click()
    expect(page.locator("owl-trip-planner li.itinerary").first).to_be_visible()
    return _expect_times_of(page, log_of(page).plan_urls[-1])


def test_search_shows_the_itineraries_the_api_returns(page: Page, server: str) -> None:
    body = _search_bielefeld_paderborn(page, server)
    query = parse_qs(urlsplit(log_of(page).plan_urls[-1]).query)
    assert query["fromPlace"] == [_stop(server, "Bielefeld Hbf")["id"]]
    assert query["toPlace"] == [_stop(server, "Paderborn Hbf")["id"]]
    assert query["time"] == [f"{DEMO_DAY}T08:00:00+02:00"]  # Berlin, not the device's zone
    assert query["arriveBy"] == ["false"]
    assert all(query[m] == ["WALK"] for m in PLAN_MODES)

    widget = page.locator("owl-trip-planner")
    n = len(body["itineraries"]) + len(body["direct"])
    expect(widget.get_by_role("status")).to_have_text(f"{n} Verbindungen gefunden." if n > 1
                                                      else "1 Verbindung gefunden.")
    first = body["itineraries"][0]
    lines = [leg["routeShortName"] for leg in first["legs"] if leg.get("tripId")]
    expect(widget.locator("li.itinerary").first.locator(".strip .line")).to_have_text(lines)

    summary = widget.locator("li.itinerary .summary").first
    expect(summary).to_have_attribute("aria-expanded", "false")
    summary.click()
    expect(summary).to_have_attribute("aria-expanded", "true")
    detail = widget.locator("li.itinerary .detail").first
    for leg in first["legs"]:
        expect(detail).to_contain_text(leg["from"]["name"])
        expect(detail).to_contain_text(leg["to"]["name"])
        if leg.get("intermediateStops"):
            expect(detail).to_contain_text(f"{len(leg['intermediateStops'])} Zwischenhalt")

    the_map = widget.get_by_role("img", name="Karte der Verbindung von Bielefeld Hbf "
                                             "nach Paderborn Hbf")
    expect(the_map).to_be_visible()
    expect(the_map.locator("path.leg-line")).to_have_count(len(first["legs"]))


def test_later_and_earlier_follow_the_api_page_cursors(page: Page, server: str) -> None:
    body = _search_bielefeld_paderborn(page, server)
    widget = page.locator("owl-trip-planner")
    with page.expect_request(lambda r: "/api/v5/plan" in r.url) as sent:
        widget.get_by_role("button", name="Später").click()
    url = sent.value.url
    assert parse_qs(urlsplit(url).query)["pageCursor"] == [body["nextPageCursor"]]
    later = _expect_times_of(page, url)
    assert later["itineraries"][0]["startTime"] > body["itineraries"][0]["startTime"]
    with page.expect_request(lambda r: "/api/v5/plan" in r.url) as sent:
        widget.get_by_role("button", name="Früher").click()
    url = sent.value.url
    assert parse_qs(urlsplit(url).query)["pageCursor"] == [later["previousPageCursor"]]
    earlier = _expect_times_of(page, url)
    assert earlier["itineraries"][0]["startTime"] < later["itineraries"][0]["startTime"]


def _focused(page: Page) -> dict:
    return page.evaluate("""() => {
        const host = document.activeElement;
        const inner = host && host.shadowRoot ? host.shadowRoot.activeElement : null;
        return inner ? {id: inner.id, cls: inner.className, text: inner.textContent,
                        value: inner.value ?? null,
                        active: inner.getAttribute('aria-activedescendant'),
                        expanded: inner.getAttribute('aria-expanded')}
                     : {id: null, cls: null};
    }""")


def _tab_to(page: Page, test, limit: int = 40) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = _focused(page)
        if test(now):
            return now
    raise AssertionError(f"Tab never reached the element; last focus {now}")


def _choose_by_keyboard(page: Page, which: str, typed: str, name: str) -> None:
    page.keyboard.type(typed, delay=20)
    options = page.locator(f"owl-trip-planner [id$='-{which}-list'] [role=option]")
    expect(options.first).to_be_visible()
    page.keyboard.press("ArrowDown")
    state = _focused(page)
    assert state["expanded"] == "true"
    selected = page.locator(f"owl-trip-planner [id$='-{which}-list'] [aria-selected=true]")
    expect(selected).to_have_count(1)
    assert state["active"] == selected.get_attribute("id")
    assert selected.inner_text() == name
    page.keyboard.press("Enter")
    state = _focused(page)
    assert state["value"] == name and state["expanded"] == "false" and state["active"] is None


def test_keyboard_alone_plans_a_trip_and_opens_its_details(page: Page, server: str) -> None:
    page.goto(f"{server}/")
    # The site's own button comes first in the tab order, then the widget's From field.
    _tab_to(page, lambda f: (f["id"] or "").endswith("-from"))
    _choose_by_keyboard(page, "from", "Bielef", "Bielefeld Hbf")
    page.keyboard.press("Tab")
    assert (_focused(page)["id"] or "").endswith("-to")
    _choose_by_keyboard(page, "to", "Paderb", "Paderborn Hbf")
    page.keyboard.press("Enter")  # listbox closed: Enter submits the form
    expect(page.locator("owl-trip-planner li.itinerary").first).to_be_visible()
    body = _expect_times_of(page, log_of(page).plan_urls[-1])

    now = _tab_to(page, lambda f: "summary" in (f["cls"] or ""))
    assert _hhmm(body["itineraries"][0]["startTime"]) in now["text"]
    page.keyboard.press("Enter")
    summary = page.locator("owl-trip-planner li.itinerary .summary").first
    expect(summary).to_have_attribute("aria-expanded", "true")
    expect(page.locator("owl-trip-planner li.itinerary .detail").first).to_be_visible()


def test_no_connection_is_reported_with_the_api_reason(page: Page, server: str) -> None:
    # A place in the Senne, far from any long-distance station: 200 with no itineraries.
    dest = _stop(server, "Paderborn Hbf")
    _embed(page, server, server,
           attrs=f'data-from="51.88,8.7|Senne" data-to="{dest["id"]}|Paderborn Hbf"')
    widget = page.locator("owl-trip-planner")
    widget.get_by_role("button", name="Suchen").click()
    alert = widget.get_by_role("alert")
    expect(alert).to_contain_text("Keine Verbindung gefunden.")
    body = httpx.get(log_of(page).plan_urls[-1]).json()
    assert body["itineraries"] == [] and body["reason"]
    expect(alert).to_contain_text(body["reason"])
    expect(widget.locator("li.itinerary")).to_have_count(0)


def test_a_day_without_service_shows_the_api_message(page: Page, server: str) -> None:
    page.goto(f"{server}/")
    _pick(page, "Von", "Bielef", "Bielefeld Hbf")
    _pick(page, "Nach", "Paderb", "Paderborn Hbf")
    widget = page.locator("owl-trip-planner")
    widget.get_by_label("Datum").fill("2026-06-01")
    widget.get_by_role("button", name="Suchen").click()
    alert = widget.get_by_role("alert")
    expect(alert).to_contain_text("Die Suche ist fehlgeschlagen")
    response = httpx.get(log_of(page).plan_urls[-1])
    assert response.status_code >= 400
    expect(alert).to_contain_text(response.json()["error"])


def test_unreachable_api_says_so_in_english(page: Page, server: str) -> None:
    closed = free_port()  # bound and released: nothing listens there
    _embed(page, server, f"http://127.0.0.1:{closed}", lang="en")
    widget = page.locator("owl-trip-planner")
    widget.get_by_role("combobox", name="From").fill("Bielefeld")
    alert = widget.get_by_role("alert")
    expect(alert).to_have_text("The trip planner service cannot be reached. "
                               "Please try again later.")
    widget.get_by_role("combobox", name="To").fill("Paderborn")
    widget.get_by_role("button", name="Search").click()
    expect(alert).to_have_text("The trip planner service cannot be reached. "
                               "Please try again later.")
    expect(widget.get_by_role("status")).to_have_text(
        "The trip planner service cannot be reached. Please try again later.")


def test_rental_toggles_ask_for_rental_modes_and_fall_back_when_unsupported(
        page: Page, server: str) -> None:
    page.goto(f"{server}/")
    widget = page.locator("owl-trip-planner")
    _pick(page, "Von", "Bielef", "Bielefeld Hbf")
    _pick(page, "Nach", "Paderb", "Paderborn Hbf")
    widget.get_by_role("checkbox", name="Leihrad").check()
    widget.get_by_role("checkbox", name="Carsharing").check()
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.locator("li.itinerary").first).to_be_visible()
    first = parse_qs(urlsplit(log_of(page).plan_urls[0]).query)
    for m in PLAN_MODES:
        assert first[m] == ["WALK,BIKE_RENTAL,CAR_RENTAL"]
    # This server has no sharing data: the API refuses the rental modes, so the widget
    # plans again on foot and says so.
    assert "sharing" not in httpx.get(f"{server}/api/v1/health").json()
    answer = httpx.get(log_of(page).plan_urls[0])
    assert answer.status_code == 400 and answer.json().get("parameter") in PLAN_MODES
    assert len(log_of(page).plan_urls) == 2
    retry = parse_qs(urlsplit(log_of(page).plan_urls[1]).query)
    assert all(retry[m] == ["WALK"] for m in PLAN_MODES)
    expect(widget.locator(".message.info")).to_contain_text("Leihfahrzeuge")
    _expect_times_of(page, log_of(page).plan_urls[-1])


def test_site_css_does_not_reach_into_the_widget_nor_the_widget_out(
        page: Page, server: str) -> None:
    page.goto(f"{server}/")
    site_button = page.locator(".site-button")
    expect(site_button).to_have_css("background-color", "rgb(255, 105, 180)")  # hotpink
    style = page.locator("owl-trip-planner").get_by_role("button", name="Suchen").evaluate(
        """b => { const s = getComputedStyle(b); const i = getComputedStyle(b.querySelector('svg'));
                  return {bg: s.backgroundColor, transform: s.textTransform, spacing:
                  s.letterSpacing, font: s.fontFamily, rotate: s.transform, icon: i.display}; }""")
    assert style["bg"] == "rgb(11, 92, 173)"
    assert style["transform"] == "none" and style["spacing"] == "normal"
    assert "Comic" not in style["font"] and style["rotate"] == "none"
    assert style["icon"] != "none"
    listbox = page.locator("owl-trip-planner [id$='-from-list']")
    expect(listbox).to_be_hidden()  # despite the site's [hidden] { display: block !important }
    # The widget adds nothing to the page outside its shadow root.
    assert page.evaluate("document.querySelectorAll('style, link[rel=stylesheet]').length") == 1
    assert page.evaluate("document.adoptedStyleSheets.length") == 0


@pytest.mark.parametrize("width", [1280, 360])
def test_layout_fits_desktop_and_phone_and_is_screenshotted(
        browser: Browser, server: str, width: int) -> None:
    page = _page(browser, width=width)
    try:
        _search_bielefeld_paderborn(page, server)
        widget = page.locator("owl-trip-planner")
        widget.locator("li.itinerary .summary").first.click()
        expect(widget.get_by_role("img", name="Karte der Verbindung von Bielefeld Hbf "
                                                "nach Paderborn Hbf")).to_be_visible()
        box = widget.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        inner = widget.evaluate("w => { const o = w.shadowRoot.querySelector('.owl');"
                                " return [o.scrollWidth, o.clientWidth]; }")
        assert inner[0] <= inner[1], "content overflows the widget horizontally"
        for name in ("Suchen", "Später"):
            button = widget.get_by_role("button", name=name).bounding_box()
            assert button is not None and button["height"] >= 44  # touch target
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / f"widget-{width}.png"), full_page=True)
        assert log_of(page).errors == []
    finally:
        page.context.close()


def test_polyline_decoder_inverts_the_api_encoder_at_precision_7(
        page: Page, server: str) -> None:
    points = [(52.029263, 8.532722), (51.7129801, 8.7405093), (-33.8688197, 151.2092955),
              (0.0, -0.0000001), (85.05, -179.9999999)]
    page.goto(f"{server}/")
    decoded = page.evaluate("([s]) => customElements.get('owl-trip-planner').decodePolyline(s, 7)",
                            [encode_polyline(points)])
    assert len(decoded) == len(points)
    for (lat, lon), (dlat, dlon) in zip(points, decoded, strict=True):
        assert abs(lat - dlat) < 1e-9 and abs(lon - dlon) < 1e-9


def test_swap_and_arrive_by_are_sent_to_the_api(page: Page, server: str) -> None:
    page.goto(f"{server}/")
    widget = page.locator("owl-trip-planner")
    _pick(page, "Von", "Bielef", "Bielefeld Hbf")
    _pick(page, "Nach", "Paderb", "Paderborn Hbf")
    widget.get_by_role("button", name="Start und Ziel tauschen").click()
    expect(widget.get_by_role("combobox", name="Von")).to_have_value("Paderborn Hbf")
    expect(widget.get_by_role("combobox", name="Nach")).to_have_value("Bielefeld Hbf")
    widget.get_by_role("radio", name="Ankunft").check()
    widget.get_by_label("Uhrzeit", exact=True).fill("12:00")
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.locator("li.itinerary").first).to_be_visible()
    url = log_of(page).plan_urls[-1]
    query = parse_qs(urlsplit(url).query)
    assert query["fromPlace"] == [_stop(server, "Paderborn Hbf")["id"]]
    assert query["toPlace"] == [_stop(server, "Bielefeld Hbf")["id"]]
    assert query["arriveBy"] == ["true"]
    assert query["time"] == [f"{DEMO_DAY}T12:00:00+02:00"]
    body = _expect_times_of(page, url)
    deadline = datetime.fromisoformat(f"{DEMO_DAY}T12:00:00+02:00")
    assert all(datetime.fromisoformat(it["endTime"]) <= deadline for it in body["itineraries"])
