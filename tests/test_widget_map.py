"""The widget's map with raster tiles, pan and zoom (issue 14 point 5), all on loopback.

Two tile servers on 127.0.0.1 stand in for a tile provider: A is the deployment's
(``OWL_MAP_TILES``), B one town's own (``tiles`` of a ``[[town]]``). They answer every
``/{z}/{x}/{y}.png`` with a small PNG drawn here and log what was asked. The pages this
API serves carry a CSP; ``/plan`` is used where the CSP must let the tiles through.
"""

from __future__ import annotations

import math
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

from tests import test_widget  # noqa: E402
from tests.servers import CHROMIUM, JsonServer, owl_planner_serve  # noqa: E402
from tests.test_widget import DEMO_DAY, OUTPUT, _axe, _embed, _page, _stop, log_of  # noqa: E402

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Debian's chromium (apt-get install chromium)")
expect.set_options(timeout=30_000)

ATTRIBUTION_A = "Kacheln: Testserver A"
ATTRIBUTION_B = "Kacheln: Testserver B"
TILE = re.compile(r"^/tiles/(\d+)/(\d+)/(\d+)\.png$")


def png(size: int, rgb: tuple[int, ...]) -> bytes:
    """A solid ``size`` x ``size`` RGB PNG with a darker 2 px border (tile edges show)."""
    dark = bytes(max(0, c - 60) for c in rgb)
    rows = []
    for y in range(size):
        edge = y < 2 or y >= size - 2
        row = (dark * size) if edge else dark * 2 + bytes(rgb) * (size - 4) + dark * 2
        rows.append(b"\x00" + row)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


class TileServer(JsonServer):
    """Answers ``/tiles/{z}/{x}/{y}.png`` with a checkerboard tile and logs (z, x, y)."""

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        super().__init__()
        self.requested: list[tuple[int, int, int]] = []
        self._lock = threading.Lock()
        self._tiles = png(256, rgb), png(256, tuple(max(0, c - 25) for c in rgb))

    def answer(self, path: str, headers: Message) -> tuple[int, bytes, dict[str, str]]:
        m = TILE.match(path)
        if not m:
            return 404, b"", {"Content-Type": "text/plain"}
        z, x, y = (int(v) for v in m.groups())
        with self._lock:
            self.requested.append((z, x, y))
        return 200, self._tiles[(x + y) % 2], {"Content-Type": "image/png"}

    @property
    def template(self) -> str:
        return f"{self.base}/tiles/{{z}}/{{x}}/{{y}}.png"


@pytest.fixture(scope="module")
def tiles_a() -> Iterator[TileServer]:
    with TileServer((222, 232, 214)) as s:
        yield s


@pytest.fixture(scope="module")
def tiles_b() -> Iterator[TileServer]:
    with TileServer((214, 224, 240)) as s:
        yield s


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiles_a: TileServer,
           tiles_b: TileServer) -> Iterator[str]:
    towns = tmp_path_factory.mktemp("maptowns") / "towns.toml"
    towns.write_text(f'''[[town]]
id = "paderborn"
name = "Paderborn"
home = "Paderborn Hbf"
color = "#8a1538"
tiles = "{tiles_b.template}"
tile_attribution = "{ATTRIBUTION_B}"
''', encoding="utf-8")
    with owl_planner_serve(["--date", DEMO_DAY], OUTPUT / "widget-map-server.log",
                           env={"OWL_GBFS_CONFIG": "none", "OWL_TOWNS_CONFIG": str(towns),
                                "OWL_MAP_TILES": tiles_a.template,
                                "OWL_MAP_TILE_ATTRIBUTION": ATTRIBUTION_A}) as base:
        yield base


# test_widget's browser and page fixtures (a page checks it had no script error)
browser = test_widget.browser
page = test_widget.page


def _tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    """The slippy-map tile holding (lat, lon) at zoom z (OSM wiki formula)."""
    n = 2 ** z
    r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * n)


def _plan_url(server: str, time: str = "08:00") -> str:
    a, b = _stop(server, "Bielefeld Hbf"), _stop(server, "Paderborn Hbf")
    return f"{server}/plan?" + urlencode({"from": a["id"], "fromName": a["name"], "to": b["id"],
                                          "toName": b["name"], "time": f"{DEMO_DAY}T{time}"})


def _view(page: Page) -> dict:
    """What the map shows now: zoom, centre, size, its tiles and the start marker."""
    return page.locator("owl-trip-planner").evaluate("""w => {
        const svg = w.shadowRoot.querySelector('.map svg');
        const [, , W, H] = svg.getAttribute('viewBox').split(' ').map(Number);
        const start = svg.querySelector('circle.stop-mark.start');
        const tiles = [...svg.querySelectorAll('g.tiles image')].map(i => ({
            z: +i.dataset.z, x: +i.dataset.x, y: +i.dataset.y,
            loaded: i.classList.contains('loaded'),
            box: ['x', 'y', 'width', 'height'].map(k => +i.getAttribute(k))}));
        const [lat, lon] = svg.dataset.center.split(',').map(Number);
        return { zoom: +svg.dataset.zoom, lat, lon, W, H, tiles,
                 start: [+start.getAttribute('cx'), +start.getAttribute('cy')],
                 labels: [...svg.querySelectorAll('text.map-label')].map(t => {
                     const b = t.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; }) };
    }""")


def _world(lat: float, lon: float, zoom: float) -> tuple[float, float]:
    s = 256 * 2 ** zoom
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2
    return (lon + 180) / 360 * s, y * s


def _labels_apart_and_inside(v: dict) -> None:
    for x0, y0, x1, y1 in v["labels"]:
        assert x0 >= 0 and y0 >= 0 and x1 <= v["W"] and y1 <= v["H"], v["labels"]
    for i, p in enumerate(v["labels"]):
        for q in v["labels"][i + 1:]:
            assert min(p[2], q[2]) - max(p[0], q[0]) <= 1 or min(p[3], q[3]) - max(p[1], q[1]) <= 1


def _expect_view_tiles(v: dict, tiles: TileServer) -> None:
    """The tiles drawn are exactly those covering the view at the nearest whole zoom, each
    where Web Mercator puts it, and the tile server was asked for each of them."""
    tz = round(v["zoom"])
    cx, cy = _world(v["lat"], v["lon"], v["zoom"])
    scale = 2 ** (v["zoom"] - tz)
    left, top = cx - v["W"] / 2, cy - v["H"] / 2
    first_x, last_x = math.floor(left / (256 * scale)), math.floor((left + v["W"]) / (256 * scale))
    first_y, last_y = math.floor(top / (256 * scale)), math.floor((top + v["H"]) / (256 * scale))
    want = {(tz, x % 2 ** tz, y) for x in range(first_x, last_x + 1)
            for y in range(first_y, last_y + 1)}
    drawn = {(t["z"], t["x"], t["y"]) for t in v["tiles"]}
    assert drawn == want
    assert want <= set(tiles.requested)
    for t in v["tiles"]:
        x, y, w, _ = t["box"]
        assert abs(x - (t["x"] * 256 * scale - left)) < 1
        assert abs(y - (t["y"] * 256 * scale - top)) < 1
        assert abs(w - 256 * scale) < 1


def _searched_plan(page: Page, server: str) -> dict:
    page.goto(_plan_url(server))
    widget = page.locator("owl-trip-planner")
    expect(widget.locator("li.itinerary").first).to_be_visible()
    expect(widget.locator(".map svg.map-view g.tiles image.loaded").first).to_be_attached()
    _wait_for_all_tiles(page)
    return _view(page)


def _wait_for_all_tiles(page: Page, tiles: TileServer | None = None) -> None:
    """A tile is logged by the server before its answer, so once every drawn tile has
    loaded, every one of them has been requested; the first loaded tile says nothing
    about the others (the race that made the tile checks flaky). With ``tiles``, every
    drawn tile must also come from that server."""
    page.wait_for_function("""base => {
        const imgs = [...document.querySelector('owl-trip-planner').shadowRoot
            .querySelectorAll('.map svg g.tiles image')];
        return imgs.length > 0 && imgs.every(i => i.classList.contains('loaded')
            && (i.getAttribute('href') || '').startsWith(base)); }""",
                           arg=tiles.base if tiles else "")


# --- server side ------------------------------------------------------------------------------


def test_pages_allow_images_from_the_configured_tile_hosts_only(
        server: str, tiles_a: TileServer, tiles_b: TileServer) -> None:
    for path in ("/", "/plan"):
        csp = httpx.get(f"{server}{path}").headers["content-security-policy"]
        img = next(d.split()[1:] for d in csp.split(";") if d.split()[0] == "img-src")
        assert img == ["'self'", "data:", tiles_a.base, tiles_b.base]
        assert "default-src 'self'" in csp
    # The API's JSON stays locked down; the widget learns the deployment's tiles from health.
    health = httpx.get(f"{server}/api/v1/health")
    assert health.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert health.json()["map"] == {"tiles": tiles_a.template, "attribution": ATTRIBUTION_A}
    town = httpx.get(f"{server}/api/v1/towns/paderborn").json()
    assert (town["tiles"], town["tile_attribution"]) == (tiles_b.template, ATTRIBUTION_B)


# --- in the browser ---------------------------------------------------------------------------


def test_tiles_for_the_trip_are_requested_drawn_and_credited(
        page: Page, server: str, tiles_a: TileServer, tiles_b: TileServer) -> None:
    v = _searched_plan(page, server)  # /plan carries the CSP: the tiles must get through it
    _expect_view_tiles(v, tiles_a)
    assert not tiles_b.requested or all(t not in tiles_b.requested for t in v["tiles"])
    # The route lies on the tiles where Web Mercator puts it: the start marker is drawn
    # where Bielefeld Hbf falls in the view, inside the tile that holds Bielefeld Hbf.
    a = _stop(server, "Bielefeld Hbf")
    cx, cy = _world(v["lat"], v["lon"], v["zoom"])
    sx, sy = _world(a["lat"], a["lon"], v["zoom"])
    assert abs(v["start"][0] - (sx - cx + v["W"] / 2)) < 1
    assert abs(v["start"][1] - (sy - cy + v["H"] / 2)) < 1
    tx, ty = _tile_of(a["lat"], a["lon"], round(v["zoom"]))
    holder = next(t for t in v["tiles"] if (t["x"], t["y"]) == (tx, ty))
    x, y, w, h = holder["box"]
    assert holder["loaded"] and x <= v["start"][0] <= x + w and y <= v["start"][1] <= y + h
    widget = page.locator("owl-trip-planner")
    credit = widget.locator(".map .attribution")
    expect(credit).to_have_text(ATTRIBUTION_A)
    expect(credit).to_be_visible()
    box, frame = credit.bounding_box(), widget.locator(".map").bounding_box()
    assert box and frame and box["x"] >= frame["x"]
    assert box["x"] + box["width"] <= frame["x"] + frame["width"]
    assert box["y"] + box["height"] <= frame["y"] + frame["height"] + 0.5
    _labels_apart_and_inside(v)
    _axe(page, "map with tiles")
    OUTPUT.mkdir(exist_ok=True)
    widget.locator(".map").screenshot(path=str(OUTPUT / "widget-map-tiles-1280.png"))


def test_drag_wheel_buttons_and_keys_pan_and_zoom(
        page: Page, server: str, tiles_a: TileServer) -> None:
    v0 = _searched_plan(page, server)
    widget = page.locator("owl-trip-planner")
    svg = widget.locator(".map svg.map-view")
    box = svg.bounding_box()
    assert box is not None
    # Drag with the mouse: everything moves with the pointer.
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.7
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y - 20, steps=4)
    page.mouse.move(x + 120, y - 40, steps=4)
    page.mouse.up()
    expect(svg).not_to_have_attribute("data-center", f"{v0['lat']:.5f},{v0['lon']:.5f}")
    _wait_for_all_tiles(page)
    v1 = _view(page)
    k = v1["W"] / box["width"]
    assert abs(v1["start"][0] - v0["start"][0] - 120 * k) < 2
    assert abs(v1["start"][1] - v0["start"][1] + 40 * k) < 2
    assert v1["zoom"] == v0["zoom"]
    _expect_view_tiles(v1, tiles_a)

    # The wheel zooms the map in use (it was just dragged) around the pointer.
    before = len(tiles_a.requested)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -500)
    expect(svg).not_to_have_attribute("data-zoom", f"{v1['zoom']:.3f}")
    expect(widget.locator(".map svg.map-view g.tiles image.loaded").first).to_be_attached()
    _wait_for_all_tiles(page)
    v2 = _view(page)
    assert v2["zoom"] == pytest.approx(v1["zoom"] + 1, abs=1e-3)
    assert {t[0] for t in tiles_a.requested[before:]} == {round(v2["zoom"])}
    _expect_view_tiles(v2, tiles_a)
    _labels_apart_and_inside(v2)

    # Keyboard: the zoom buttons are reachable by Tab and named in the widget's language.
    zoom_in = widget.get_by_role("button", name="Karte vergrößern")
    zoom_out = widget.get_by_role("button", name="Karte verkleinern")
    svg.focus()
    page.keyboard.press("Tab")
    expect(zoom_in).to_be_focused()
    page.keyboard.press("Enter")
    expect(svg).to_have_attribute("data-zoom", f"{v2['zoom'] + 1:.3f}")
    page.keyboard.press("Tab")
    expect(zoom_out).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Space")
    expect(svg).to_have_attribute("data-zoom", f"{v2['zoom'] - 1:.3f}")
    _labels_apart_and_inside(_view(page))
    # On the focused map: arrows pan, "+" and "-" zoom, "0" fits the whole trip again.
    svg.focus()
    v3 = _view(page)
    page.keyboard.press("ArrowRight")
    expect(svg).not_to_have_attribute("data-center", f"{v3['lat']:.5f},{v3['lon']:.5f}")
    assert _view(page)["start"][0] == pytest.approx(v3["start"][0] - 80, abs=1)
    page.keyboard.press("+")
    expect(svg).to_have_attribute("data-zoom", f"{v3['zoom'] + 1:.3f}")
    page.keyboard.press("0")
    expect(svg).to_have_attribute("data-zoom", f"{v0['zoom']:.3f}")
    assert _view(page)["start"] == pytest.approx(v0["start"], abs=0.5)
    widget.get_by_role("button", name="Ganze Verbindung zeigen").click()
    expect(svg).to_have_attribute("data-zoom", f"{v0['zoom']:.3f}")
    _axe(page, "map zoomed and panned")


def test_the_wheel_scrolls_the_page_until_the_map_is_used(page: Page, server: str) -> None:
    v0 = _searched_plan(page, server)
    widget = page.locator("owl-trip-planner")
    svg = widget.locator(".map svg.map-view")
    svg.hover()
    page.mouse.wheel(0, -300)
    expect(widget.locator(".map-hint")).to_be_visible()
    assert _view(page)["zoom"] == v0["zoom"]
    # Ctrl + wheel zooms at once (the page scrolled under the pointer: point at the map again).
    svg.hover()
    page.keyboard.down("Control")
    page.mouse.wheel(0, -250)
    page.keyboard.up("Control")
    expect(svg).to_have_attribute("data-zoom", f"{v0['zoom'] + 0.5:.3f}")


def test_a_towns_own_tiles_win_over_the_deployments(
        page: Page, server: str, tiles_a: TileServer, tiles_b: TileServer) -> None:
    # The demo page at / embeds data-town="paderborn", whose entry here names server B.
    # (Served by the API, on loopback: a page Playwright fulfils itself counts as public
    # and Chromium would refuse its requests to a loopback tile server.)
    page.goto(f"{server}/")
    widget = page.locator("owl-trip-planner")
    expect(widget.get_by_role("combobox", name="Von")).to_have_value("Paderborn Hbf")
    widget.get_by_role("combobox", name="Nach").fill("Bielef")
    widget.get_by_role("option", name="Bielefeld Hbf").click()
    before = len(tiles_a.requested)
    widget.get_by_role("button", name="Suchen").click()
    _wait_for_all_tiles(page, tiles_b)
    _expect_view_tiles(_view(page), tiles_b)
    expect(widget.locator(".map .attribution")).to_have_text(ATTRIBUTION_B)
    assert len(tiles_a.requested) == before


def test_data_tiles_none_draws_the_map_without_tiles_and_english_controls(
        page: Page, server: str, tiles_a: TileServer) -> None:
    _embed(page, server, server, lang="en",
           attrs='data-tiles="none" data-from="Bielefeld Hbf" data-to="Paderborn Hbf"')
    before = len(tiles_a.requested)
    widget = page.locator("owl-trip-planner")
    widget.get_by_role("button", name="Search").click()
    expect(widget.locator(".map svg.map-view circle.stop-mark.end")).to_be_attached()
    expect(widget.locator(".map svg.map-view image")).to_have_count(0)
    expect(widget.locator(".map .attribution")).to_have_count(0)
    expect(widget.locator(".map svg.map-view g.grid line").first).to_be_attached()
    assert len(tiles_a.requested) == before
    for name in ("Zoom in", "Zoom out", "Show the whole trip"):
        expect(widget.get_by_role("button", name=name)).to_be_visible()
    zoom = float(widget.locator(".map svg.map-view").get_attribute("data-zoom") or "nan")
    for step in (1, 2, 3):  # the trip's line stays in view however far one zooms in
        widget.get_by_role("button", name="Zoom in").click()
        expect(widget.locator(".map svg.map-view")).to_have_attribute(
            "data-zoom", f"{zoom + step:.3f}")
        assert widget.evaluate("""w => {
            const svg = w.shadowRoot.querySelector('.map svg.map-view');
            const [, , W, H] = svg.getAttribute('viewBox').split(' ').map(Number);
            return [...svg.querySelectorAll('path.leg-line')].some(p => {
                const n = p.getTotalLength();
                for (let d = 0; d <= n; d += 2) {
                    const q = p.getPointAtLength(d);
                    if (q.x >= 0 && q.x <= W && q.y >= 0 && q.y <= H) return true;
                }
                return false; });
        }"""), f"no line in view at zoom +{step}"


@pytest.mark.parametrize("width", [1280, 360])
def test_the_tiled_map_fits_desktop_and_phone(
        browser: Browser, server: str, width: int) -> None:
    page = _page(browser, width=width)
    try:
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 740})
        v = _searched_plan(page, server)
        assert v["W"] <= width and 180 <= v["H"] <= 380
        widget = page.locator("owl-trip-planner")
        for name in ("Karte vergrößern", "Karte verkleinern", "Ganze Verbindung zeigen"):
            b = widget.get_by_role("button", name=name).bounding_box()
            assert b is not None and b["width"] >= 24 and b["height"] >= 24  # WCAG 2.5.8
        widget.locator(".map").scroll_into_view_if_needed()
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / f"widget-map-{width}.png"), full_page=True)
        assert log_of(page).errors == []
    finally:
        page.context.close()
