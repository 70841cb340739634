"""The ``[[town]]`` entries the widget's ``data-town`` reads (api/towns.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.map_tiles import image_origins, tile_source
from api.response_headers import page_csp
from api.towns import load_towns
from feeds.config import DEFAULT_CONFIG, FeedConfigError


def test_the_shipped_config_names_the_owl_towns_with_readable_colours() -> None:
    towns = load_towns(str(DEFAULT_CONFIG))
    assert {"bielefeld", "paderborn", "guetersloh", "detmold"} <= set(towns)
    for town in towns.values():
        n = int(town.color[1:], 16)
        ch = [((n >> s) & 255) / 255 for s in (16, 8, 0)]
        lum = sum(w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
                  for w, c in zip((0.2126, 0.7152, 0.0722), ch, strict=True))
        assert 1.05 / (lum + 0.05) >= 4.5, f"{town.id}: white text on {town.color}"
        assert town.bbox is not None and town.lang in ("de", "en")


@pytest.mark.parametrize(("entry", "named"), [
    ('id = "Bad Town"\nname = "x"', "id must be"),
    ('id = "a"\nname = "A"\ncolor = "red"', "color must be #rrggbb"),
    ('id = "a"\nname = "A"\nbbox = [9, 52, 8, 51]', "bbox must be"),
    ('id = "a"\nname = "A"\nmodes = ["plane"]', "modes must be"),
    ('id = "a"\nname = "A"\nlanguage = "de"', "unknown key 'language'"),
])
def test_a_bad_town_entry_fails_naming_the_file_entry_and_key(
        tmp_path: Path, entry: str, named: str) -> None:
    path = tmp_path / "towns.toml"
    path.write_text(f"[[town]]\n{entry}\n", encoding="utf-8")
    with pytest.raises(FeedConfigError, match=named) as info:
        load_towns(str(path))
    assert str(path) in str(info.value) and "town[1]" in str(info.value)


def test_no_file_or_none_means_no_towns(tmp_path: Path) -> None:
    assert load_towns("none") == {} and load_towns(str(tmp_path / "missing.toml")) == {}


def test_every_shipped_town_has_a_logo_file_this_server_serves() -> None:
    static = Path(__file__).resolve().parents[1] / "api" / "static"
    for town in load_towns(str(DEFAULT_CONFIG)).values():
        assert town.logo == f"/static/logos/{town.id}.svg", town.id
        svg = (static / "logos" / f"{town.id}.svg").read_text(encoding="utf-8")
        assert svg.startswith("<svg") and f"<title>{town.name}</title>" in svg
        assert town.color in svg  # drawn in the town's own colour
        assert "<script" not in svg and "style=" not in svg  # the API's CSP blocks neither


@pytest.mark.parametrize(("tiles", "attribution", "named"), [
    ("ftp://tile.example/{z}/{x}/{y}.png", "x", "http(s) URL template"),
    ("https://{s}.tile.example/{z}/{x}/{y}.png", "x", "host must be fixed"),
    ("https://tile.example/{z}/{x}.png", "x", "{y} is missing"),
    ("https://tile.example/{z}/{x}/{y}{r}.png", "x", "unknown placeholder {r}"),
    ("https://tile.example/{z}/{x}/{y}.png", " ", "need a tile attribution"),
])
def test_a_bad_tile_template_fails_naming_the_town_and_the_problem(
        tmp_path: Path, tiles: str, attribution: str, named: str) -> None:
    path = tmp_path / "towns.toml"
    path.write_text(f'[[town]]\nid = "a"\nname = "A"\ntiles = "{tiles}"\n'
                    f'tile_attribution = "{attribution}"\n', encoding="utf-8")
    with pytest.raises(FeedConfigError, match=re.escape(named)) as info:
        load_towns(str(path))
    assert "town[1]: tiles" in str(info.value)
    with pytest.raises(ValueError, match=re.escape(named)):
        tile_source(tiles, attribution, "OWL_MAP_TILES")


def test_tile_hosts_of_the_deployment_and_the_towns_are_the_pages_image_sources() -> None:
    a = tile_source("https://tiles.example:8443/osm/{z}/{x}/{y}.png", "© OSM", "x")
    b = tile_source("http://127.0.0.1:9/{z}/{x}/{y}.png", "test", "x")
    assert image_origins([a, None, b, a]) == ("https://tiles.example:8443", "http://127.0.0.1:9")
    csp = page_csp(image_origins([a, b])).decode()
    assert "img-src 'self' data: https://tiles.example:8443 http://127.0.0.1:9;" in csp
    assert "img-src 'self' data:;" in page_csp().decode()
    with pytest.raises(ValueError, match="not an origin"):
        page_csp(("https://a.example; script-src *",))
    assert tile_source("", "", "x") is None
