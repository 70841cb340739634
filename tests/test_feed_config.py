"""feeds.config: the one reader of config/feeds.toml, and what update and the server take."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import get_args

import pytest

from api.cli import main
from api.places import PlacesLoader
from api.settings import load_settings, osm_extracts
from api.sharing import SharingManager, gbfs_sources
from api.update import load_config
from feeds.config import (
    DEFAULT_CONFIG,
    RESOLVE_MODES,
    FeedConfigError,
    GbfsSource,
    OsmSource,
    load_feed_config,
)
from feeds.gbfs import Resolve

GOOD = """
[region]
name = "test"
bbox = [7.95, 51.40, 9.47, 52.54]
[download]
timeout = 5
retries = 1
[[gtfs]]
name = "owl"
url = "file:feed.zip"
clip = false
[[gbfs]]
url = "https://example.org/a/gbfs.json"
[[gbfs]]
name = "b"
url = "https://example.org/b/gbfs.json"
resolve = "manifest"
attribution = "B GmbH"
[[gbfs]]
name = "off"
url = "https://example.org/c/gbfs.json"
enabled = false
[[osm]]
name = "town"
path = "osm/town.osm.pbf"
[[osm]]
path = "file:/srv/osm/other.osm.pbf"
enabled = false
[server]
cache_size = 10
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(text)
    return path


def test_the_repository_configuration_loads() -> None:
    cfg = load_config(DEFAULT_CONFIG)
    assert cfg.region == "Ostwestfalen-Lippe" and cfg.bbox == (7.95, 51.40, 9.47, 52.54)
    assert [s.name for s in cfg.gtfs] == ["de-delfi"]
    assert {s.name for s in cfg.gbfs} == {"nextbike-owl", "callabike"}
    assert cfg.enabled_gbfs == ()  # operators' endpoints are switched on by hand


def test_entries_are_typed_with_their_defaults(tmp_path: Path) -> None:
    cfg = load_feed_config(write(tmp_path, GOOD))
    assert (cfg.timeout, cfg.retries, cfg.backoff) == (5.0, 1, 2.0)
    assert cfg.gtfs[0].clip is False and cfg.gtfs[0].license == ""
    a, b, off = cfg.gbfs
    assert a == GbfsSource(name="https://example.org/a/gbfs.json",
                           url="https://example.org/a/gbfs.json")  # named by its URL
    assert (b.resolve, b.attribution, b.enabled) == ("manifest", "B GmbH", True)
    assert cfg.enabled_gbfs == (a, b) and off.enabled is False


def test_resolve_modes_are_the_clients() -> None:
    assert RESOLVE_MODES == get_args(Resolve)


@pytest.mark.parametrize(("change", "message"), [
    (("clip = false", 'clip = "no"'), r"gtfs\[1\]\.clip: expected true or false, got 'no'"),
    (('name = "off"\n', 'name = "off"\nenabeld = false\n'),
     r"gbfs\[3\]: unknown key 'enabeld'"),
    (('url = "https://example.org/b/gbfs.json"\n', ""), r"gbfs\[2\]\.url: missing"),
    (('resolve = "manifest"', 'resolve = "sibling"'),
     r"gbfs\[2\]\.resolve: must be one of auto, manifest, listed"),
    (("bbox = [7.95, 51.40, 9.47, 52.54]", "bbox = [9.47, 51.40, 7.95, 52.54]"),
     r"region\.bbox: must be \[min_lon, min_lat, max_lon, max_lat\]"),
    (("retries = 1", "retries = 1.5"), r"download\.retries: expected a non-negative whole"),
    (("timeout = 5", "timeout = 0"), r"download\.timeout: expected a positive number"),
    (('name = "test"', 'name = "test'), r"not valid TOML: .*line 3"),
    (('path = "osm/town.osm.pbf"', 'path = ""'), r"osm\[1\]\.path: empty"),
    (('path = "osm/town.osm.pbf"', 'url = "osm/town.osm.pbf"'),
     r"osm\[1\]: unknown key 'url'"),
    (('path = "osm/town.osm.pbf"', 'path = "https://example.org/town.osm.pbf"'),
     r"osm\[1\]\.path: the server reads extracts from local files; download"),
    (('path = "osm/town.osm.pbf"', "path = 3"), r"osm\[1\]\.path: expected a string"),
    (('name = "town"', 'name = "town"\nenabled = "yes"'),
     r"osm\[1\]\.enabled: expected true or false"),
])
def test_problems_name_the_file_and_the_key(tmp_path: Path, change: tuple[str, str],
                                            message: str) -> None:
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(FeedConfigError, match=message) as info:
        load_feed_config(path)
    assert str(info.value).startswith(f"{path}: ")


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_feed_config(tmp_path / "nothing.toml")


def test_update_needs_a_region_and_gtfs_sources(tmp_path: Path, capsys) -> None:
    no_bbox = write(tmp_path, GOOD.replace("bbox = [7.95, 51.40, 9.47, 52.54]\n", ""))
    with pytest.raises(FeedConfigError, match=r"region\.bbox: missing"):
        load_config(no_bbox)
    assert main(["update", "--config", str(no_bbox), "--data-dir", str(tmp_path / "d")]) == 2
    assert "region.bbox: missing" in capsys.readouterr().err
    only_gbfs = write(tmp_path, GOOD.split("[[gtfs]]")[0])
    with pytest.raises(FeedConfigError, match=r"no \[\[gtfs\]\] sources"):
        load_config(only_gbfs)


def test_the_server_refreshes_enabled_entries_then_extra_urls(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    settings = load_settings(env={}, gbfs_config=str(path), gbfs_resolve="listed",
                             gbfs=("https://example.org/b/gbfs.json",
                                   "https://example.org/d/gbfs.json"))
    sources = gbfs_sources(settings)
    assert [(s.name, s.resolve) for s in sources] == [
        ("https://example.org/a/gbfs.json", "listed"),  # the server's default
        ("b", "manifest"),
        ("https://example.org/d/gbfs.json", "listed"),  # b's URL again: deduplicated
    ]


def test_the_server_runs_without_a_config_file(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(env={}, gbfs_config=str(tmp_path / "nothing.toml"),
                             gbfs=("https://example.org/d/gbfs.json",))
    with caplog.at_level(logging.WARNING):
        assert [s.url for s in gbfs_sources(settings)] == ["https://example.org/d/gbfs.json"]
    assert "not found" in caplog.text
    assert gbfs_sources(load_settings(env={}, gbfs_config="none")) == []


def test_server_settings_may_share_the_file(tmp_path: Path) -> None:
    """api.settings reads its [server] table through the same reader (same errors)."""
    path = write(tmp_path, GOOD)
    assert load_settings(env={}, config=path).cache_size == 10
    broken = write(tmp_path, GOOD.replace('name = "test"', 'name = "test', 1))
    with pytest.raises(FeedConfigError, match="not valid TOML"):
        load_settings(env={}, config=broken)


def test_osm_extracts_are_typed_and_found_from_the_files_folder(tmp_path: Path) -> None:
    cfg = load_feed_config(write(tmp_path, GOOD))
    town, other = cfg.osm
    assert town == OsmSource(name="town", path=str(tmp_path / "osm" / "town.osm.pbf"))
    assert (town.license, town.attribution) == ("ODbL 1.0", "© OpenStreetMap contributors")
    assert (other.name, other.path, other.enabled) == \
        ("file:/srv/osm/other.osm.pbf", "/srv/osm/other.osm.pbf", False)
    assert cfg.enabled_osm == (str(tmp_path / "osm" / "town.osm.pbf"),)
    assert load_feed_config(DEFAULT_CONFIG).enabled_osm == ()  # switched on by hand


def test_the_server_loads_the_configured_extract_unless_osm_names_one(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    configured = load_settings(env={}, gbfs_config=str(path))
    town = str(tmp_path / "osm" / "town.osm.pbf")
    assert osm_extracts(configured) == (town,)
    sharing = SharingManager(configured)
    assert sharing.osm_paths == (town,) and sharing.streets_status == "loading"
    sharing.close()
    assert PlacesLoader(configured).paths == (town,)  # the place index reads the same
    given = load_settings(env={"OWL_OSM": "/data/given.osm.pbf"}, gbfs_config=str(path))
    assert osm_extracts(given) == ("/data/given.osm.pbf",)  # --osm / OWL_OSM win
    assert osm_extracts(load_settings(env={}, gbfs_config="none")) == ()
    assert osm_extracts(load_settings(env={}, gbfs_config=str(tmp_path / "no.toml"))) == ()
    broken = write(tmp_path, GOOD.replace('path = "osm/town.osm.pbf"', 'path = ""'))
    with pytest.raises(FeedConfigError, match=rf"^{broken}: osm\[1\]\.path: empty"):
        osm_extracts(load_settings(env={}, gbfs_config=str(broken)))
