"""``owl-planner update`` against slow and failing servers: bounded, and nothing left over.

Issue 16: a server sending one byte every 3 s hung ``update`` forever (httpx's timeout is
per read, and every read succeeded), and failed downloads left ``.part`` files behind.
"""

from __future__ import annotations

import json
import shutil
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from api.cli import main
from api.update import UpdateError, download
from feeds.config import load_feed_config
from feeds.demo import DEMO_FEED
from tests.servers import HttpServer, serve_directory
from tests.shared_data import shared
from tests.test_api_update import OWL_BBOX


class Drip(BaseHTTPRequestHandler):
    """A 10 MB body, one byte every 0.1 s: each read succeeds, the download never ends."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(10_000_000))
        self.end_headers()
        try:
            for _ in range(600):
                self.wfile.write(b"P")
                self.wfile.flush()
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


def config(path: Path, sources: dict[str, str], deadline: float = 1.0) -> Path:
    entries = "".join(f"""
[[gtfs]]
name = "{name}"
url = "{url}"
license = "CC BY 4.0"
""" for name, url in sources.items())
    path.write_text(f"""
[region]
name = "test"
bbox = {list(OWL_BBOX)}
[download]
timeout = 5.0
deadline = {deadline}
retries = 2
backoff = 0.01
{entries}""")
    return path


def leftovers(data: Path) -> list[str]:
    return sorted(p.name for p in data.rglob("*") if p.suffix == ".part"
                  or p.name.startswith(".staging-"))


def test_a_dripping_server_fails_the_download_at_its_deadline(tmp_path: Path) -> None:
    with HttpServer(Drip) as srv:
        cfg = load_feed_config(config(tmp_path / "feeds.toml", {"owl": f"{srv.base}/f.zip"}))
        started = time.monotonic()
        with pytest.raises(UpdateError, match="deadline"):
            download(cfg.gtfs[0], tmp_path / "downloads", cfg)
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 2.0  # the deadline plus at most one slow read, not 10 MB/10 B/s
    assert leftovers(tmp_path) == []


def test_update_against_a_dripping_server_keeps_the_last_good_version(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "www"
    root.mkdir()
    shutil.copyfile(DEMO_FEED, root / "feed.zip")
    data = tmp_path / "published"
    with serve_directory(root) as files:
        good = config(tmp_path / "good.toml", {"owl": f"{files.base}/feed.zip"}, 60.0)
        assert main(["update", "--config", str(good), "--data-dir", str(data)]) == 0
    version = json.loads((data / "current").read_text())["version"]
    with HttpServer(Drip) as srv:
        slow = config(tmp_path / "slow.toml", {"owl": f"{srv.base}/feed.zip"})
        assert main(["update", "--config", str(slow), "--data-dir", str(data),
                     "--force"]) == 1
    assert "deadline" in capsys.readouterr().err
    assert json.loads((data / "current").read_text())["version"] == version
    assert (data / "downloads" / "owl.zip").read_bytes() == DEMO_FEED.read_bytes()
    assert leftovers(data) == []


@pytest.mark.parametrize("second", ["missing", "broken"])
def test_a_failing_second_source_leaves_no_partial_download_of_the_first(
        tmp_path: Path, second: str) -> None:
    root = tmp_path / "www"
    root.mkdir()
    shutil.copyfile(DEMO_FEED, root / "feed.zip")
    if second == "broken":
        shutil.copyfile(shared("fi-hsl-broken/test_broken_gtfs.zip"), root / "broken.zip")
    data = tmp_path / "published"
    with serve_directory(root) as files:
        cfg = config(tmp_path / "feeds.toml", {"owl": f"{files.base}/feed.zip",
                                               "other": f"{files.base}/{second}.zip"}, 60.0)
        assert main(["update", "--config", str(cfg), "--data-dir", str(data)]) == 1
    assert (data / "downloads").is_dir()  # the first source was downloaded, then removed
    assert leftovers(data) == []
    assert not (data / "current").exists()
