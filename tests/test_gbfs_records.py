"""GBFS records that lie are skipped one by one and counted; the rest of a file is used.

Issue 16: one NaN in one station rejected the whole ``station_status`` (so the whole
system went stale), negative counts were accepted silently, and ``javascript:`` rental
links were passed through to riders. Real Oslo Bysykkel files, with a few records damaged.
"""

from __future__ import annotations

import json
from pathlib import Path

from feeds.gbfs import GbfsFeed
from tests.shared_data import shared
from tests.test_gbfs import OSLO_SERIES, T0, GbfsServer, oslo_manifest, server  # noqa: F401


def damaged_status(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """The first real snapshot with three stations damaged; returns it and their ids."""
    snapshot = json.loads(OSLO_SERIES[0].read_text())
    stations = snapshot["data"]["stations"]
    assert len(stations) > 100
    stations[0]["num_bikes_available"] = float("nan")
    stations[1]["num_bikes_available"] = -3
    stations[2]["num_docks_available"] = -1
    path = tmp_path / "station_status.json"
    path.write_text(json.dumps(snapshot))  # json writes NaN, as a broken feed does
    assert "NaN" in path.read_text()
    return path, {s["station_id"]: i for i, s in enumerate(stations[:3])}


def test_a_nan_or_negative_count_skips_that_station_only(server: GbfsServer,  # noqa: F811
                                                         tmp_path: Path) -> None:
    shared("gbfs-no-oslo-bysykkel")
    path, damaged = damaged_status(tmp_path)
    feed = GbfsFeed(server.base + oslo_manifest(server, [path]))
    feed.refresh(T0)
    assert feed.last_error is None
    usable = {s.id for s in feed.usable_stations(T0)}
    all_status = len(json.loads(path.read_text())["data"]["stations"])
    assert len(usable) == all_status - 3
    assert not usable & set(damaged)
    skipped = feed.skipped["station_status"]
    assert sum(skipped.values()) == 3
    assert skipped["station status: num_vehicles_available missing or not a count"] == 2
    assert skipped["station status: a vehicle or dock count is not a count"] == 1


def test_rental_links_that_are_not_http_or_the_apps_own_are_dropped(
        server: GbfsServer, tmp_path: Path) -> None:  # noqa: F811
    base = shared("gbfs-no-oslo-bysykkel")
    info = json.loads((base / "station_information.json").read_text())
    first, second = info["data"]["stations"][:2]
    first["rental_uris"] = {"web": "javascript:alert(document.cookie)",
                            "android": "data:text/html,<script>alert(1)</script>",
                            "ios": "oslobysykkel://stations/x"}
    second["rental_uris"] = {"web": "https://oslobysykkel.no/stasjon/1",
                             "ios": "JavaScript:alert(1)"}
    path = tmp_path / "station_information.json"
    path.write_text(json.dumps(info))
    url = server.base + oslo_manifest(server, OSLO_SERIES[:1])
    server.routes["/oslo/station_information.json"] = lambda: (200, path.read_bytes())
    feed = GbfsFeed(url)
    feed.refresh(T0)
    stations = {s.id: s for s in feed.stations}
    assert stations[first["station_id"]].rental_uris == {"ios": "oslobysykkel://stations/x"}
    assert stations[second["station_id"]].rental_uris == {
        "web": "https://oslobysykkel.no/stasjon/1"}
    skipped = feed.skipped["station_information"]
    assert sum(skipped.values()) == 3
    assert skipped["rental_uris.web: not an http(s) or app link"] == 1


def test_a_frozen_snapshot_is_not_offered_however_recently_fetched(
        server: GbfsServer) -> None:  # noqa: F811
    """Issue 16: the 2022 Oslo files served today (fetched a second ago, but with their
    own 2022 ``last_updated``) were offered as live. Freshness is the data's age."""
    shared("gbfs-no-oslo-bysykkel")
    server.live_at = None  # as archived: last_updated 2022-10-24
    feed = GbfsFeed(server.base + oslo_manifest(server, OSLO_SERIES[:1]), max_age=900)
    feed.refresh(T0)
    assert feed.last_error is None and len(feed.stations) > 100
    assert feed.usable_stations(T0) == []
    assert feed.is_stale(now=T0)
    updated = json.loads(OSLO_SERIES[0].read_text())["last_updated"]
    # the same copy at a clock just after its own last_updated (+ ttl 10 s + 900 s) is live
    assert len(feed.usable_stations(updated + 10 + 900)) > 100
    assert feed.usable_stations(updated + 10 + 901) == []
