"""Browser tests of the embeddable widget (`api/static/widget.js`) against the running API.

Headless Debian Chromium driven by Playwright for Python; the API runs as ``owl-planner
serve`` on the demo feed in a subprocess on a free loopback port. Everything stays on
127.0.0.1: no tiles, no CDN. Screenshots go to ``test-output/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

import httpx
import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
from playwright.sync_api import Browser, Page, Route, expect  # noqa: E402

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


def _embed(page: Page, server: str, api: str, lang: str = "de", attrs: str = "",
           when: str = f'data-date="{DEMO_DAY}" data-time="08:00"', head: str = "") -> None:
    """Serve a minimal city page from the API's origin that embeds the widget."""
    html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width">{head}</head><body>'
            f'<script src="{server}/widget.js" data-api="{api}" data-lang="{lang}" '
            f'{when}></script>'
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


def _search_bielefeld_paderborn(page: Page, server: str, attrs: str = "") -> dict:
    _embed(page, server, server, attrs=attrs)
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


def test_cards_say_they_open_details_and_the_live_region_names_the_trip_mapped(
        page: Page, server: str) -> None:
    body = _search_bielefeld_paderborn(page, server)
    widget = page.locator("owl-trip-planner")
    trips = body["itineraries"] + body["direct"]
    cards = widget.get_by_role("button", name=re.compile(r", öffnet Details$"))
    expect(cards).to_have_count(len(trips))
    second = trips[1]
    cards.nth(1).click()
    expect(widget.get_by_role("status")).to_have_text(
        f"Auf der Karte: {_hhmm(second['startTime'])} bis {_hhmm(second['endTime'])}")
    expect(widget.locator("li.itinerary.chosen")).to_have_attribute("data-index", "1")


def _union_shown(page: Page, urls: list[str]) -> None:
    """The widget lists every trip of the pages ``urls`` returned, once, in time order."""
    trips = {it["startTime"]: it for u in urls for it in httpx.get(u, timeout=30).json()
             ["itineraries"]}
    ordered = [trips[k] for k in sorted(trips, key=datetime.fromisoformat)]
    items = page.locator("owl-trip-planner li.itinerary")
    expect(items.locator("time.start")).to_have_text([_hhmm(t["startTime"]) for t in ordered])
    expect(items.locator("time.end")).to_have_text([_hhmm(t["endTime"]) for t in ordered])


def test_later_and_earlier_follow_the_api_page_cursors(page: Page, server: str) -> None:
    body = _search_bielefeld_paderborn(page, server)
    first_url = log_of(page).plan_urls[-1]
    widget = page.locator("owl-trip-planner")
    with page.expect_request(lambda r: "/api/v5/plan" in r.url) as sent:
        widget.get_by_role("button", name="Später").click()
    later_url = sent.value.url
    assert parse_qs(urlsplit(later_url).query)["pageCursor"] == [body["nextPageCursor"]]
    later = httpx.get(later_url).json()
    assert later["itineraries"][0]["startTime"] > body["itineraries"][0]["startTime"]
    _union_shown(page, [first_url, later_url])
    # "Earlier" goes on from the first page shown, not from the later one.
    with page.expect_request(lambda r: "/api/v5/plan" in r.url) as sent:
        widget.get_by_role("button", name="Früher").click()
    assert parse_qs(urlsplit(sent.value.url).query)["pageCursor"] == [
        body["previousPageCursor"]]
    expect(widget.locator("[role=status]")).to_contain_text("weitere", timeout=30_000)
    _union_shown(page, [u for u in log_of(page).plan_urls])


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
    page.goto(f"{server}/test/hostile.html")
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


def test_no_connection_is_reported_in_the_widgets_words(page: Page, server: str) -> None:
    # A place in the Senne, far from any long-distance station: 200 with no itineraries.
    dest = _stop(server, "Paderborn Hbf")
    _embed(page, server, server,
           attrs=f'data-from="51.88,8.7|Senne" data-to="{dest["id"]}|Paderborn Hbf"')
    widget = page.locator("owl-trip-planner")
    widget.get_by_role("button", name="Suchen").click()
    alert = widget.get_by_role("alert")
    expect(alert).to_have_text("Keine Verbindung gefunden. Bitte eine andere Uhrzeit oder "
                               "nahe Haltestellen versuchen.")
    body = httpx.get(log_of(page).plan_urls[-1]).json()
    assert body["itineraries"] == [] and body["reason"]
    expect(alert).not_to_contain_text(body["reason"])  # the API's English stays out
    expect(widget.locator("li.itinerary")).to_have_count(0)


def test_a_day_outside_the_timetable_is_refused_with_the_servers_range(
        page: Page, server: str) -> None:
    page.goto(f"{server}/test/hostile.html")
    _pick(page, "Von", "Bielef", "Bielefeld Hbf")
    _pick(page, "Nach", "Paderb", "Paderborn Hbf")
    widget = page.locator("owl-trip-planner")
    widget.get_by_label("Datum").fill("01.06.2026")
    widget.get_by_role("button", name="Suchen").click()
    validity = httpx.get(f"{server}/api/v1/health").json()["timetable"]["validity"]
    (first, last), = [(r["from"], r["to"]) for r in validity.values()]
    shown = [datetime.fromisoformat(d).strftime("%d.%m.%Y") for d in (first, last)]
    words = (f"Für dieses Datum gibt es keinen Fahrplan. Bitte einen Tag vom {shown[0]} bis "
             f"{shown[1]} wählen.")
    expect(widget.get_by_role("alert")).to_have_text(words)
    expect(widget.get_by_label("Datum")).to_have_attribute("aria-invalid", "true")
    expect(widget.get_by_label("Datum")).to_be_focused()
    assert log_of(page).plan_urls == []  # refused before asking the server
    # The API itself says the same with a code the widget words.
    answer = httpx.get(f"{server}/api/v5/plan", params={
        "fromPlace": _stop(server, "Bielefeld Hbf")["id"],
        "toPlace": _stop(server, "Paderborn Hbf")["id"], "time": "2026-06-01T08:00:00+02:00"})
    assert answer.status_code == 422
    assert answer.json()["code"] == "outside_timetable"
    assert answer.json()["parameter"] == "time" and answer.json()["error"]


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
    # data-sharing="on": the toggles shown although the server has no sharing vehicles
    # (a server that loses its feed): the widget still copes.
    _embed(page, server, server, attrs='data-sharing="on"')
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
    assert answer.json()["code"] == "sharing_unavailable"
    assert len(log_of(page).plan_urls) == 2
    retry = parse_qs(urlsplit(log_of(page).plan_urls[1]).query)
    assert all(retry[m] == ["WALK"] for m in PLAN_MODES)
    expect(widget.locator(".message.info")).to_contain_text("Leihfahrzeuge")
    _expect_times_of(page, log_of(page).plan_urls[-1])


def test_site_css_does_not_reach_into_the_widget_nor_the_widget_out(
        page: Page, server: str) -> None:
    page.goto(f"{server}/test/hostile.html")
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
    page.goto(f"{server}/test/hostile.html")
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
    # Highlighted and mapped: the trip arriving closest to 12:00, not the earliest one.
    ends = [datetime.fromisoformat(it["endTime"]) for it in body["itineraries"]]
    best = max(range(len(ends)), key=lambda i: (ends[i], body["itineraries"][i]["startTime"]))
    expect(widget.locator("li.itinerary.chosen")).to_have_attribute("data-index", str(best))
    if best != 0:
        assert ends[best] > ends[0]
    expect(widget.locator(".query")).to_contain_text("Paderborn Hbf → Bielefeld Hbf · "
                                                     "Ankunft bis Mo., 20. April 2026, 12:00")


# --- issue 14: what a resident meets first ---------------------------------------------------


def _starts(page: Page) -> list[str]:
    return page.locator("owl-trip-planner li.itinerary time.start").all_inner_texts()


def test_paging_adds_to_the_list_and_never_empties_it(page: Page, server: str) -> None:
    _embed(page, server, server, when=f'data-date="{DEMO_DAY}" data-time="10:22"')
    _pick(page, "Von", "Bielef", "Bielefeld Hbf")
    _pick(page, "Nach", "Paderb", "Paderborn Hbf")
    widget = page.locator("owl-trip-planner")
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.locator("li.itinerary").first).to_be_visible()
    first = _starts(page)
    first_page = httpx.get(log_of(page).plan_urls[-1]).json()
    assert first_page["previousPageCursor"]
    widget.get_by_role("button", name="Früher").click()
    expect(widget.get_by_role("status")).to_contain_text("weitere Verbindung")
    earlier = _starts(page)
    # The earlier trips come before the ones shown, which all stay.
    assert earlier[len(earlier) - len(first):] == first and len(earlier) > len(first)
    # Every trip the API gave on the pages asked for is listed, in time order, once.
    pages = [httpx.get(u).json() for u in log_of(page).plan_urls]
    starts = sorted({it["startTime"] for p in pages for it in p["itineraries"]})
    assert earlier == [_hhmm(t) for t in starts]
    focused = _focused(page)
    assert "summary" in (focused["cls"] or "")  # focus on the first trip added
    widget.get_by_role("button", name="Später").click()
    expect(widget.locator("li.itinerary")).not_to_have_count(len(earlier))
    later = _starts(page)
    assert later[:len(earlier)] == earlier and len(later) > len(earlier)
    expect(widget.get_by_role("alert")).to_have_count(0)


def test_a_failing_page_keeps_the_trips_shown(page: Page, server: str) -> None:
    _search_bielefeld_paderborn(page, server)
    widget = page.locator("owl-trip-planner")
    shown = _starts(page)
    page.route("**/api/v5/plan?*pageCursor*", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"error": "the server is busy (8 searches running or waiting)", "code": "busy"}'))
    widget.get_by_role("button", name="Später").click()
    expect(widget.get_by_role("alert")).to_have_text(
        "Die Fahrplanauskunft ist gerade ausgelastet. Bitte gleich noch einmal versuchen.")
    assert _starts(page) == shown


#: Every code the API sends (api/app.py ERROR_SCHEMA) with a body as the API words it.
API_ERRORS = [
    (400, "invalid_parameter", "time",
     "Die Anfrage ist ungültig (time). Bitte die Eingaben prüfen."),
    (404, "unknown_stop", "fromPlace", "Diese Haltestelle ist (nicht mehr) bekannt. Bitte erneut "
                                       "aus den Vorschlägen wählen."),
    (404, "not_found", None,
     "Diese Haltestelle oder Fahrt ist nicht bekannt. Bitte erneut suchen."),
    (422, "outside_timetable", "time", "Für dieses Datum gibt es keinen Fahrplan. Bitte einen Tag "
                                       "vom 11.04.2026 bis 11.05.2026 wählen."),
    (429, "too_many_requests", None, "Zu viele Anfragen in kurzer Zeit. Bitte kurz warten und "
                                     "erneut versuchen."),
    (503, "busy", None, "Die Fahrplanauskunft ist gerade ausgelastet. Bitte gleich noch einmal "
                        "versuchen."),
    (503, "deadline", None, "Die Suche hat zu lange gedauert. Bitte erneut versuchen oder eine "
                            "spätere Uhrzeit wählen."),
    (503, "compiling", None, "Der Fahrplan für diesen Tag wird gerade vorbereitet. Bitte in "
                             "einigen Sekunden erneut versuchen."),
    (503, "unavailable", None, "Die Fahrplanauskunft ist gerade nicht verfügbar. Bitte später "
                               "erneut versuchen."),
    (503, "timetable_unusable", None, "Die Fahrplandaten sind gerade nicht nutzbar. Bitte später "
                                      "erneut versuchen."),
    (500, None, None, "Die Suche ist fehlgeschlagen (Fehler 500). Bitte später erneut versuchen."),
]


def _answer(status: int, body: object) -> Callable[[Route], None]:
    return lambda route: route.fulfill(status=status, content_type="application/json",
                                       body=json.dumps(body))


def test_every_api_error_code_is_worded_in_german_without_the_api_text(
        page: Page, server: str) -> None:
    dest = _stop(server, "Paderborn Hbf")
    _embed(page, server, server,
           attrs=f'data-from="{_stop(server, "Bielefeld Hbf")["id"]}|Bielefeld Hbf" '
                 f'data-to="{dest["id"]}|Paderborn Hbf"')
    widget = page.locator("owl-trip-planner")
    english = "the API's own English text that must not show"
    for status, code, parameter, words in API_ERRORS:
        body = {"error": english, **({"code": code} if code else {}),
                **({"parameter": parameter} if parameter else {})}
        page.unroute("**/api/v5/plan*")
        page.route("**/api/v5/plan*", _answer(status, body))
        widget.get_by_role("button", name="Suchen").click()
        expect(widget.get_by_role("alert")).to_have_text(words)
        expect(widget.locator("li.itinerary")).to_have_count(0)


def test_an_unknown_stop_is_reported_by_the_api_code(page: Page, server: str) -> None:
    _embed(page, server, server, lang="en",
           attrs='data-from="no-such-stop|Nowhere" data-to="also-missing|Elsewhere"')
    widget = page.locator("owl-trip-planner")
    widget.get_by_role("button", name="Search").click()
    expect(widget.get_by_role("alert")).to_have_text(
        "This stop is not known (any more). Please choose it again from the suggestions.")
    answer = httpx.get(log_of(page).plan_urls[-1])
    assert answer.status_code == 404 and answer.json()["code"] == "unknown_stop"


@pytest.mark.parametrize(("lang", "date", "query"), [
    ("de", "20.04.2026", "Bielefeld Hbf → Paderborn Hbf · Abfahrt ab Mo., 20. April 2026, 08:00"),
    ("en", "20/04/2026", "Bielefeld Hbf → Paderborn Hbf · depart from Mon, 20 April 2026, 08:00"),
])
def test_dates_and_times_follow_the_widgets_language_not_the_browsers(
        browser: Browser, server: str, lang: str, date: str, query: str) -> None:
    ctx = browser.new_context(locale="en-US", timezone_id="America/Los_Angeles")
    page = ctx.new_page()
    try:
        _embed(page, server, server, lang=lang)
        widget = page.locator("owl-trip-planner")
        expect(widget.locator("input[name=date]")).to_have_value(date)
        expect(widget.locator("input[name=time]")).to_have_value("08:00")
        _pick(page, "Von" if lang == "de" else "From", "Bielef", "Bielefeld Hbf")
        _pick(page, "Nach" if lang == "de" else "To", "Paderb", "Paderborn Hbf")
        widget.locator("button.submit").click()
        expect(widget.locator(".query")).to_have_text(query)
        for text in widget.locator("li.itinerary time").all_inner_texts():
            assert len(text) == 5 and text[2] == ":" and "M" not in text  # 24 h, no AM/PM
    finally:
        ctx.close()


def test_trips_past_midnight_are_marked_with_their_day(browser: Browser, server: str) -> None:
    # Evening trains Bielefeld -> Berlin: one arrives after midnight, a later one leaves
    # on the next day. The device's locale and zone are American; the widget's German.
    page = _page(browser, zone="America/Los_Angeles")
    try:
        _embed(page, server, server, when=f'data-date="{DEMO_DAY}" data-time="21:30"')
        _pick(page, "Von", "Bielef", "Bielefeld Hbf")
        _pick(page, "Nach", "Berlin H", "Berlin Hbf")
        widget = page.locator("owl-trip-planner")
        widget.get_by_role("button", name="Suchen").click()
        expect(widget.locator("li.itinerary").first).to_be_visible()
        body = _expect_times_of(page, log_of(page).plan_urls[-1])
        weekdays = ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."]
        marked = {"next day": 0, "other day": 0}
        for i, it in enumerate(body["itineraries"] + body["direct"]):
            start = datetime.fromisoformat(it["startTime"]).astimezone(BERLIN)
            end = datetime.fromisoformat(it["endTime"]).astimezone(BERLIN)
            times = widget.locator("li.itinerary .times").nth(i)
            if end.date() != start.date():
                expect(times).to_contain_text("+1 Tag")
                marked["next day"] += 1
            else:
                expect(times).not_to_contain_text("+1 Tag")
            if start.date().isoformat() != DEMO_DAY:
                expect(times.locator(".daytag")).to_have_text(
                    f"{weekdays[start.weekday()]}, {start:%d.%m.}")
                marked["other day"] += 1
            else:
                expect(times.locator(".daytag")).to_have_count(0)
        assert all(marked.values()), f"the demo data should have both cases: {marked}"
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "widget-past-midnight.png"), full_page=True)
    finally:
        page.context.close()


def test_without_a_preset_day_the_servers_default_day_and_range_are_used(
        page: Page, server: str) -> None:
    _embed(page, server, server, when="")
    widget = page.locator("owl-trip-planner")
    health = httpx.get(f"{server}/api/v1/health").json()["timetable"]
    day = datetime.fromisoformat(health["defaultDay"]).strftime("%d.%m.%Y")
    expect(widget.get_by_label("Datum")).to_have_value(day)
    (r,) = health["validity"].values()
    fmt = [datetime.fromisoformat(r[k]).strftime("%d.%m.%Y") for k in ("from", "to")]
    expect(widget.locator("[id$='-date-hint']")).to_have_text(
        f"Fahrplan verfügbar vom {fmt[0]} bis {fmt[1]}.")
    widget.get_by_label("Uhrzeit", exact=True).fill("25:00")
    _pick(page, "Von", "Bielef", "Bielefeld Hbf")
    _pick(page, "Nach", "Paderb", "Paderborn Hbf")
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.get_by_role("alert")).to_have_text(
        "Bitte die Uhrzeit als HH:MM eingeben (24 Stunden).")
    widget.get_by_label("Uhrzeit", exact=True).fill("8.15")
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.locator("li.itinerary").first).to_be_visible()
    assert parse_qs(urlsplit(log_of(page).plan_urls[-1]).query)["time"] == [
        f"{health['defaultDay']}T08:15:00+02:00"]


def test_on_a_phone_the_results_scroll_into_view_and_take_focus_and_stale_ones_go(
        browser: Browser, server: str) -> None:
    page = _page(browser, width=360)
    try:
        page.set_viewport_size({"width": 360, "height": 640})
        _search_bielefeld_paderborn(page, server)
        widget = page.locator("owl-trip-planner")
        heading = widget.get_by_role("heading", name="Verbindungen")
        expect(heading).to_be_focused()
        expect(heading).to_be_in_viewport()
        # A validation error: the old results go, not stay under it.
        widget.get_by_label("Uhrzeit", exact=True).fill("abc")
        widget.get_by_role("button", name="Suchen").click()
        expect(widget.get_by_role("alert")).to_be_visible()
        expect(widget.locator("li.itinerary")).to_have_count(0)
        expect(widget.locator("section.results")).to_be_hidden()
        assert log_of(page).errors == []
    finally:
        page.context.close()


def _suggestions(page: Page, typed: str) -> list[str]:
    widget = page.locator("owl-trip-planner")
    box = widget.get_by_role("combobox", name="Von")
    box.fill("")  # closes the list of the previous text
    expect(widget.locator("[id$='-from-list']")).to_be_hidden()
    box.fill(typed)
    expect(widget.locator("[id$='-from-list'] [role=option]").first).to_be_visible()
    return widget.locator("[id$='-from-list'] [role=option] > span:not(.opt-context)"
                          ).all_inner_texts()


def test_stop_search_folds_stations_drops_noise_and_says_no_match(
        page: Page, server: str) -> None:
    _embed(page, server, server)
    assert _suggestions(page, "Bilefeld") == ["Bielefeld Hbf"]  # no "Bitterfeld"
    munster = _suggestions(page, "munster")
    assert "Neumünster" not in munster and munster  # fuzzy noise out when prefixes match
    raw = httpx.get(f"{server}/api/v1/geocode", params={"text": "Gütersloh"}).json()
    assert len([m for m in raw if m["name"].startswith("Gütersloh")]) == 2
    assert len(_suggestions(page, "Gütersloh")) == 1  # one entry per station
    widget = page.locator("owl-trip-planner")
    widget.get_by_role("combobox", name="Von").fill("Detmold")
    nomatch = widget.locator("[id$='-from-nomatch']")
    expect(nomatch).to_be_visible()
    expect(nomatch).to_have_text("Keine Haltestelle für „Detmold“ gefunden.Bitte die "
                                 "Schreibweise prüfen oder den Namen des Ortes oder Bahnhofs "
                                 "eingeben.")


def test_suggestions_leave_out_unserved_stops_and_draw_the_mode_serving_them(
        page: Page, server: str) -> None:
    served = {"name": "Busbahnhof Nord", "id": "b1", "lat": 51.7, "lon": 8.7, "modes": ["BUS"],
              "match": "prefix", "score": 3, "hasService": True}
    dead = {**served, "name": "Busbahnhof Alt", "id": "b2", "lat": 52.0, "hasService": False}
    page.route("**/api/v1/geocode*", lambda route: route.fulfill(
        content_type="application/json", body=json.dumps([dead, served])))
    _embed(page, server, server)
    assert _suggestions(page, "Busbahnhof") == ["Busbahnhof Nord"]
    icon = page.locator("owl-trip-planner [role=option] svg path").get_attribute("d")
    assert icon is not None and icon.startswith("M6 3.5h12")  # the bus drawing, not the train


# --- issue 14: towns as tenants, embedding options, /plan, serving, accessibility -------------


def test_data_town_takes_name_colour_home_and_language_from_the_server(
        page: Page, server: str) -> None:
    town = httpx.get(f"{server}/api/v1/towns/paderborn").json()
    _embed(page, server, server, attrs='data-town="paderborn"')
    widget = page.locator("owl-trip-planner")
    expect(widget.get_by_role("heading", level=2)).to_have_text(
        f"Verbindung suchen – {town['name']}")
    expect(widget.get_by_role("combobox", name="Von")).to_have_value(town["home"])
    r, g, b = (int(town["color"][i:i + 2], 16) for i in (1, 3, 5))
    expect(widget.get_by_role("button", name="Suchen")).to_have_css(
        "background-color", f"rgb({r}, {g}, {b})")
    assert httpx.get(f"{server}/api/v1/towns/atlantis").json()["code"] == "unknown_town"


def test_a_towns_logo_is_shown_in_the_header_with_alt_text(page: Page, server: str) -> None:
    town = httpx.get(f"{server}/api/v1/towns/bielefeld").json()
    served = httpx.get(f"{server}{town['logo']}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/svg+xml"
    _embed(page, server, server, attrs='data-town="bielefeld"')
    widget = page.locator("owl-trip-planner")
    logo = widget.get_by_role("img", name="Logo Bielefeld")
    expect(logo).to_be_visible()
    assert logo.get_attribute("src") == f"{server}{town['logo']}"  # from the planner server
    logo.evaluate("i => i.decode()")  # rejects when the file cannot be loaded or drawn
    assert logo.evaluate("i => i.naturalWidth") > 0
    heading = widget.get_by_role("heading", level=2).bounding_box()
    box = logo.bounding_box()
    assert box and heading and box["x"] + box["width"] <= heading["x"]  # beside the heading
    assert box["y"] < heading["y"] + heading["height"] and heading["y"] < box["y"] + box["height"]
    assert box["height"] >= 32
    OUTPUT.mkdir(exist_ok=True)
    widget.locator(".head").screenshot(path=str(OUTPUT / "widget-logo-bielefeld.png"))
    _axe(page, "town with logo")


def test_the_logo_stays_without_heading_and_can_be_switched_off(page: Page, server: str) -> None:
    html_attrs = ('data-town="guetersloh" data-heading="none" data-lang="en"')
    _embed(page, server, server, lang="en", attrs=html_attrs)
    widget = page.locator("owl-trip-planner")
    expect(widget.get_by_role("img", name="Gütersloh logo")).to_be_visible()
    _embed(page, server, server, attrs='data-town="guetersloh" data-logo="none"')
    expect(widget.get_by_role("heading", level=2)).to_be_visible()
    expect(widget.locator("img.logo")).to_have_count(0)


def test_attributes_override_the_town_and_page_css_reaches_in_through_properties_and_parts(
        page: Page, server: str) -> None:
    css = ("<style>owl-trip-planner { --owl-accent: #123456; --owl-font: Georgia, serif; }"
           " owl-trip-planner::part(heading) { color: rgb(200, 0, 0); }"
           " owl-trip-planner::part(submit) { border-radius: 0px; }</style>")
    _embed(page, server, server, head=css,
           attrs='data-town="paderborn" data-heading="Fahrplan der Stadt" data-lang="en"')
    widget = page.locator("owl-trip-planner")
    heading = widget.get_by_role("heading", level=2)
    expect(heading).to_have_text("Fahrplan der Stadt")
    expect(heading).to_have_css("color", "rgb(200, 0, 0)")
    submit = widget.get_by_role("button", name="Search")  # data-lang beats the town's "de"
    expect(submit).to_have_css("background-color", "rgb(18, 52, 86)")  # page beats town
    expect(submit).to_have_css("border-radius", "0px")
    assert "Georgia" in submit.evaluate("b => getComputedStyle(b).fontFamily")


def test_heading_map_and_link_can_be_hidden_and_compact_fits_a_300px_sidebar(
        page: Page, server: str) -> None:
    html = ('<!doctype html><html lang="de"><head><meta charset="utf-8"></head><body>'
            '<div style="display:flex"><main style="flex:1">Inhalt</main>'
            '<aside style="width:300px">'
            f'<script src="{server}/widget.js" data-api="{server}" data-date="{DEMO_DAY}" '
            'data-time="08:00"></script><owl-trip-planner data-heading="none" data-map="off" '
            'data-layout="compact" data-link="off"></owl-trip-planner></aside></div></body></html>')
    page.route(f"{server}/sidebar.html", lambda route: route.fulfill(body=html,
                                                                      content_type="text/html"))
    page.goto(f"{server}/sidebar.html")
    widget = page.locator("owl-trip-planner")
    expect(widget.get_by_role("heading", level=2)).to_have_class("visually-hidden")
    _pick(page, "Von", "Bielef", "Bielefeld Hbf")
    _pick(page, "Nach", "Paderb", "Paderborn Hbf")
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.locator("li.itinerary").first).to_be_visible()
    widget.locator("li.itinerary .summary").first.click()
    expect(widget.locator(".map")).to_be_hidden()
    expect(widget.locator("a.open-large")).to_be_hidden()
    expect(widget.get_by_role("checkbox", name="Leihrad")).to_be_hidden()  # no sharing here
    box = widget.bounding_box()
    assert box is not None and box["width"] <= 300
    inner = widget.evaluate("w => { const o = w.shadowRoot.querySelector('.owl');"
                            " return [o.scrollWidth, o.clientWidth]; }")
    assert inner[0] <= inner[1], "content overflows the 300 px sidebar"
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "widget-sidebar-300.png"), full_page=True)


def test_plan_page_opens_a_shared_url_and_the_widget_links_to_it(
        page: Page, server: str) -> None:
    _search_bielefeld_paderborn(page, server)
    link = page.locator("owl-trip-planner").get_by_role("link", name="In großer Ansicht öffnen")
    href = link.get_attribute("href")
    assert href is not None and href.startswith(f"{server}/plan?")
    shared = parse_qs(urlsplit(href).query)
    assert shared["from"] == [_stop(server, "Bielefeld Hbf")["id"]]
    assert shared["time"] == [f"{DEMO_DAY}T08:00"]
    first = _starts(page)
    page.goto(href)
    widget = page.locator("owl-trip-planner")
    expect(widget.locator("li.itinerary").first).to_be_visible()
    expect(widget.get_by_role("combobox", name="Von")).to_have_value("Bielefeld Hbf")
    assert _starts(page) == first
    # A search on /plan writes its query into the address bar.
    widget.get_by_label("Uhrzeit", exact=True).fill("12:00")
    widget.get_by_role("button", name="Suchen").click()
    expect(page).to_have_url(re.compile(f"/plan\\?.*time={DEMO_DAY}T12%3A00"))


def test_widget_js_is_compressed_revalidated_and_versioned(server: str) -> None:
    plain = httpx.get(f"{server}/widget.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    zipped = httpx.get(f"{server}/widget.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    assert zipped.content == plain.content  # httpx decodes: the same script
    assert "max-age=" in zipped.headers["cache-control"]
    again = httpx.get(f"{server}/widget.js", headers={
        "Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    versioned = zipped.headers["link"].split(">")[0].lstrip("<")
    release = httpx.get(f"{server}{versioned}")
    assert release.status_code == 200 and "immutable" in release.headers["cache-control"]
    assert release.content == plain.content
    page = httpx.get(f"{server}/").text
    assert f'src="{versioned}"' in page  # our own pages load the long-cached release
    assert "Musterhausen" not in page and "Comic" not in page
    assert httpx.get(f"{server}/test/hostile.html").status_code == 200
    assert httpx.get(f"{server}/favicon.ico").status_code == 200


def _axe(page: Page, state: str) -> None:
    """axe-core run inside the widget's shadow root: no violations in ``state``."""
    import axe_playwright_python
    script = Path(axe_playwright_python.__file__).with_name("axe.min.js").read_text()
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(script)
    result = page.evaluate("""async () => {
        const r = await axe.run({ include: [['owl-trip-planner']] },
                                { resultTypes: ['violations'] });
        return r.violations.map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
    }""")
    assert result == [], f"axe in state {state}: {result}"


def test_axe_finds_no_violation_in_any_state(page: Page, server: str) -> None:
    _embed(page, server, server, attrs='data-town="paderborn"')
    widget = page.locator("owl-trip-planner")
    _axe(page, "empty")
    widget.get_by_role("combobox", name="Von").fill("Bielef")
    expect(widget.get_by_role("option").first).to_be_visible()
    _axe(page, "suggestions")
    widget.get_by_role("option", name="Bielefeld Hbf").click()
    widget.get_by_role("combobox", name="Nach").fill("Detmold")
    expect(widget.locator("[id$='-to-nomatch']")).to_be_visible()
    _axe(page, "no match")
    widget.get_by_role("combobox", name="Nach").fill("Paderb")
    widget.get_by_role("option", name="Paderborn Hbf").click()
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.locator("li.itinerary").first).to_be_visible()
    _axe(page, "results")
    widget.locator("li.itinerary .summary").first.click()
    _axe(page, "details")
    widget.get_by_role("button", name="Später").click()
    expect(widget.get_by_role("status")).to_contain_text("weitere")
    _axe(page, "paging")
    widget.get_by_label("Datum").fill("31.12.2030")
    widget.get_by_role("button", name="Suchen").click()
    expect(widget.get_by_role("alert")).to_be_visible()
    _axe(page, "error")


def _srgb(css: str) -> tuple[float, ...]:
    nums = [float(x) for x in css[css.index("(") + 1:css.index(")")].replace(",", " ").split()[:3]]
    return tuple(nums)


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    def lum(c: tuple[float, ...]) -> float:
        ch = [v / 255 for v in c]
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_focus_indicator_has_at_least_3_to_1_contrast(page: Page, server: str) -> None:
    _embed(page, server, server)
    widget = page.locator("owl-trip-planner")
    swap = widget.get_by_role("button", name="Start und Ziel tauschen")
    swap.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # keyboard focus: :focus-visible
    style = swap.evaluate("b => { const s = getComputedStyle(b); const o ="
                          " b.getRootNode().querySelector('.owl'); return [s.outlineStyle,"
                          " s.outlineWidth, s.outlineColor,"
                          " getComputedStyle(o).backgroundColor]; }")
    assert style[0] == "solid" and float(style[1].rstrip("px")) >= 2
    assert _contrast(_srgb(style[2]), _srgb(style[3])) >= 3.0


@pytest.fixture(params=[1280, 360], ids=["desktop", "phone"])
def searched(request: pytest.FixtureRequest, browser: Browser, server: str) -> Iterator[Page]:
    """Bielefeld → Paderborn searched on a desktop and on a phone screen."""
    page = _page(browser, width=request.param)
    _search_bielefeld_paderborn(page, server)
    yield page
    assert log_of(page).errors == []
    page.context.close()


def test_map_labels_stay_inside_the_map_and_never_overlap(searched: Page) -> None:
    widget = searched.locator("owl-trip-planner")
    for i in range(widget.locator("li.itinerary").count()):
        widget.locator("li.itinerary .summary").nth(i).click()
        boxes = widget.evaluate("""w => {
            const svg = w.shadowRoot.querySelector('.map svg');
            const [, , W, H] = svg.getAttribute('viewBox').split(' ').map(Number);
            const labels = [...svg.querySelectorAll('text.map-label')].map(t => {
                const b = t.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; });
            return { W, H, labels, stops: svg.querySelectorAll('circle.stop-mark').length };
        }""")
        labels = boxes["labels"]
        assert labels, "the start and the destination are named"
        for x0, y0, x1, y1 in labels:
            assert x0 >= 0 and y0 >= 0 and x1 <= boxes["W"] and y1 <= boxes["H"], boxes
        for a in range(len(labels)):
            for b in range(a + 1, len(labels)):
                p, q = labels[a], labels[b]
                overlap = min(p[2], q[2]) - max(p[0], q[0]), min(p[3], q[3]) - max(p[1], q[1])
                assert overlap[0] <= 1 or overlap[1] <= 1, (i, p, q)
