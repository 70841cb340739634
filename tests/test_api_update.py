"""``owl-planner update`` against a local HTTP server, and the server adopting new versions."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.settings import load_settings
from api.update import clip_feed
from feeds.demo import DEMO_FEED
from feeds.gtfs import load_feeds
from tests.servers import QuietFileHandler, serve_directory
from tests.shared_data import shared

BROKEN = "fi-hsl-broken/test_broken_gtfs.zip"
#: What validation says about it (stop_times naming stops that stops.txt lacks).
BROKEN_REFERENCES = "stop_times.txt: 1432 rows reference a stop_id missing from stops.txt"
OWL_BBOX = (7.95, 51.40, 9.47, 52.54)


class Handler(QuietFileHandler):
    log: list[tuple[str, int, str]] = []

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        Handler.log.append((self.path, int(code), self.headers.get("If-Modified-Since", "")))


@pytest.fixture()
def server(tmp_path: Path):
    root = tmp_path / "www"
    root.mkdir()
    Handler.log = []
    with serve_directory(root, Handler) as srv:
        yield root, srv.base


def write_config(path: Path, url: str, bbox: tuple[float, ...] = OWL_BBOX) -> Path:
    path.write_text(f"""
[region]
name = "test"
bbox = {list(bbox)}
[download]
timeout = 5.0
retries = 1
backoff = 0.01
[[gtfs]]
name = "owl"
url = "{url}"
license = "CC BY 4.0"
attribution = "DELFI e.V. / gtfs.de"
""")
    return path


def read_csv(zip_path: Path, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(zip_path) as zf:
        return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8-sig"))))


def test_clip_keeps_the_trips_it_keeps_with_all_their_stops(tmp_path: Path) -> None:
    out = tmp_path / "owl.zip"
    counts = clip_feed(DEMO_FEED, out, OWL_BBOX)
    stops = {s["stop_id"]: s for s in read_csv(out, "stops.txt")}
    names = {s["stop_name"] for s in stops.values()}
    assert {"Bielefeld Hbf", "Herford", "Paderborn Hbf", "Hamm(Westf)Hbf"} <= names

    def inside(stop_id: str) -> bool:
        s = stops[stop_id]
        return (OWL_BBOX[1] <= float(s["stop_lat"]) <= OWL_BBOX[3]
                and OWL_BBOX[0] <= float(s["stop_lon"]) <= OWL_BBOX[2])

    kept: dict[str, list[str]] = {}
    for r in read_csv(out, "stop_times.txt"):
        kept.setdefault(r["trip_id"], []).append(r["stop_id"])
    original: dict[str, list[str]] = {}
    for r in read_csv(DEMO_FEED, "stop_times.txt"):
        original.setdefault(r["trip_id"], []).append(r["stop_id"])
    serving = {t for t, trip in original.items() if any(s in stops and inside(s) for s in trip)}
    assert serving and serving <= set(kept)  # every trip stopping in OWL, and more
    assert {t: len(v) for t, v in kept.items()} == {t: len(original[t]) for t in kept}
    assert any(not inside(s) for trip in kept.values() for s in trip)  # rides through
    assert set(kept) == {t["trip_id"] for t in read_csv(out, "trips.txt")}
    assert counts["trips"] == len(kept) < len(original)


def test_clipped_feed_plans_bielefeld_to_paderborn_as_the_whole_feed(tmp_path: Path) -> None:
    """Issue 16: clipping cut the trains at the region's edge, so Bielefeld Hbf ->
    Paderborn Hbf (via Hamm, outside OWL) had 0 itineraries on the clipped feed."""
    clipped = tmp_path / "owl.gtfs.zip"
    clip_feed(DEMO_FEED, clipped, OWL_BBOX)

    def plans(feed: Path) -> list[list[tuple[str, str, str]]]:
        out = []
        settings = load_settings(env={}, feeds=(str(feed),), cache_dir=str(tmp_path / "c"))
        with TestClient(create_app(settings)) as c:
            prefix = c.get("/api/v1/geocode", params={"text": "Bielefeld Hbf"}).json()[0]
            feed_id = str(prefix["id"]).split(":")[0]
            for hour in (6, 8, 12, 17):
                r = c.get("/api/v1/plan", params={
                    "fromPlace": f"{feed_id}:347953", "toPlace": f"{feed_id}:469041",
                    "time": f"2026-04-20T{hour:02d}:00:00+02:00", "numItineraries": 3})
                assert r.status_code == 200, r.text
                out.append([(it["startTime"], it["endTime"],
                             " ".join(leg.get("routeShortName") or leg["mode"]
                                      for leg in it["legs"]))
                            for it in r.json()["itineraries"]])
        return out

    whole = plans(DEMO_FEED)
    assert all(whole)
    assert plans(clipped) == whole


def test_clip_reads_rows_shorter_than_the_header(tmp_path: Path) -> None:
    """BART's feed has short rows and blank lines; the clipper crashed with IndexError."""
    out = tmp_path / "bart.zip"
    counts = clip_feed(shared("us-bart-rt/bart-rt.zip"), out, (-122.5, 37.6, -122.0, 38.0))
    assert counts["trips"] > 0 and counts["routes"] > 0
    load_feeds([out])


def test_update_publishes_survives_a_broken_feed_and_the_server_follows(
        tmp_path: Path, server, capsys) -> None:
    broken = shared(BROKEN)  # HSL's deliberately broken feed (a real one, not junk bytes)
    root, base = server
    shutil.copyfile(DEMO_FEED, root / "feed.zip")
    data = tmp_path / "published"
    cfg = write_config(tmp_path / "feeds.toml", f"{base}/feed.zip")
    assert main(["update", "--config", str(cfg), "--data-dir", str(data)]) == 0
    pointer = json.loads((data / "current").read_text())
    first_version = pointer["version"]
    assert pointer["sources"]["owl"]["license"] == "CC BY 4.0"
    assert (data / pointer["feeds"][0]).exists()

    # unchanged upstream: a conditional request, answered 304, publishes nothing new
    assert main(["update", "--config", str(cfg), "--data-dir", str(data)]) == 0
    assert Handler.log[-1][1] == 304 and Handler.log[-1][2]
    assert json.loads((data / "current").read_text())["version"] == first_version

    settings = load_settings(env={}, data_dir=str(data), admin_token="secret",
                             reload_interval=0.0)
    with TestClient(create_app(settings)) as c:
        health = c.get("/api/v1/health").json()
        assert health["timetable"]["feedVersion"] == first_version
        r = c.get("/api/v1/plan", params={"fromPlace": "owl:347953", "toPlace": "owl:87584",
                                          "time": "2026-04-20T08:00:00+02:00"})
        assert r.status_code == 200 and r.json()["itineraries"]
        # a real feed with broken references: rejected for them, last good version stays
        shutil.copyfile(broken, root / "feed.zip")
        capsys.readouterr()
        assert main(["update", "--config", str(cfg), "--data-dir", str(data),
                     "--force"]) == 1
        err = capsys.readouterr().err
        assert "validation failed" in err
        assert BROKEN_REFERENCES in err
        assert json.loads((data / "current").read_text())["version"] == first_version
        health = c.get("/api/v1/health").json()
        assert health["status"] == "degraded"
        assert "validation failed" in health["update"]["lastError"]
        assert BROKEN_REFERENCES in health["update"]["lastError"]
        assert health["timetable"]["feedVersion"] == first_version
        # a download failure (404) also keeps the last good version
        missing = write_config(tmp_path / "missing.toml", f"{base}/nothing.zip")
        assert main(["update", "--config", str(missing), "--data-dir", str(data)]) == 1
        assert "HTTP 404" in capsys.readouterr().err

        # a new good version (a smaller region): published, and adopted on reload
        shutil.copyfile(DEMO_FEED, root / "feed.zip")
        smaller = write_config(tmp_path / "small.toml", f"{base}/feed.zip",
                               (8.3, 51.85, 8.7, 52.1))
        assert main(["update", "--config", str(smaller), "--data-dir", str(data),
                     "--force"]) == 0
        second_version = json.loads((data / "current").read_text())["version"]
        assert second_version != first_version
        assert c.post("/api/v1/admin/reload").status_code == 403
        # nothing asked for a timetable since the update, so this reload adopts it
        reloaded = c.post("/api/v1/admin/reload", headers={"Authorization": "Bearer secret"})
        assert reloaded.json() == {"reloaded": True, "feedVersion": second_version}
        again = c.post("/api/v1/admin/reload", headers={"Authorization": "Bearer secret"})
        assert again.json() == {"reloaded": False, "feedVersion": second_version}
        health = c.get("/api/v1/health").json()
        assert health["timetable"]["feedVersion"] == second_version
        assert health["status"] == "ok" and health["update"]["lastError"] == ""
        # Aalen is neither served by a train stopping in the smaller region nor linking
        # two stations such trains reach (it was in the first version's)
        gone = c.get("/api/v1/stoptimes", params={"stopId": "owl:643847", "n": 5,
                                                  "time": "2026-04-20T08:00:00+02:00"})
        assert gone.status_code == 404
        r = c.get("/api/v1/plan", params={"fromPlace": "owl:347953", "toPlace": "owl:87584",
                                          "time": "2026-04-20T08:00:00+02:00"})
        assert r.status_code == 200 and r.json()["itineraries"]


def test_health_shows_a_new_publication_before_any_plan_request(tmp_path: Path) -> None:
    """Issue 17: health named the old version after a publish until a plan request looked
    at the pointer; an operator checking health after ``update`` was told nothing changed."""
    data = tmp_path / "published"

    def publish(version: str, mtime: float) -> None:
        folder = data / version
        folder.mkdir(parents=True)
        shutil.copyfile(DEMO_FEED, folder / "feed.zip")
        tmp = data / "current.tmp"
        tmp.write_text(json.dumps({"version": version, "feeds": [f"{version}/feed.zip"],
                                   "published_at": mtime}))
        tmp.replace(data / "current")
        os.utime(data / "current", (mtime, mtime))

    publish("v1", 1_700_000_000.0)
    settings = load_settings(env={}, data_dir=str(data), reload_interval=0.0)
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/v1/health").json()["timetable"]["feedVersion"] == "v1"
        publish("v2", 1_700_000_100.0)
        health = c.get("/api/v1/health").json()
        assert health["timetable"]["feedVersion"] == "v2"
        assert health["timetable"]["swaps"] == 1
