"""Days loaded on demand stay cheap (issue 16): compiles never hold a search thread, the
disk cache serves other days by memory map, and memory, not a count of 3, bounds the days
kept. Demo feed, 2026-04-20 to 2026-04-24, a fresh cache directory per test."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import load_settings
from api.store import TimetableStore
from feeds.demo import DEMO_FEED

DAY = date(2026, 4, 20)
BIELEFELD, PADERBORN = "de-db-fv-2026:347953", "de-db-fv-2026:469041"


def plan(c: TestClient, day: date):
    return c.get("/api/v1/plan", params={"fromPlace": BIELEFELD, "toPlace": PADERBORN,
                                         "time": f"{day}T08:00:00+02:00"})


def test_default_day_is_prepared_before_the_first_request(tmp_path: Path) -> None:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date=DAY.isoformat(),
                             cache_dir=str(tmp_path), compile_wait=0.0)
    app = create_app(settings)
    with TestClient(app) as c:
        assert app.state.runtime.store.loaded_days() == [DAY.isoformat()]
        assert plan(c, DAY).status_code == 200  # no wait allowed, none needed


def test_a_day_that_must_compile_answers_503_and_leaves_the_threads_free(
        tmp_path: Path) -> None:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date=DAY.isoformat(),
                             cache_dir=str(tmp_path), compile_wait=0.0, search_threads=1)
    other = DAY + timedelta(days=2)
    with TestClient(create_app(settings)) as c:
        busy = plan(c, other)
        assert busy.status_code == 503, busy.text
        assert int(busy.headers["Retry-After"]) >= 1
        assert f"the timetable for {other}" in busy.json()["error"]
        # the only search thread is not waiting for that compile: the default day answers
        assert plan(c, DAY).status_code == 200
        deadline = time.monotonic() + 120
        while (r := plan(c, other)).status_code == 503:
            assert time.monotonic() < deadline, "the background compile never finished"
            time.sleep(0.2)
        assert r.status_code == 200 and r.json()["itineraries"]


def test_a_day_is_served_with_its_trip_based_transfers_already_built(tmp_path: Path) -> None:
    """The first plan on a day must not pay Trip-Based's preprocessing: the store builds
    (or maps) the transfers before it hands the day out."""
    store = TimetableStore(load_settings(env={}, feeds=(str(DEMO_FEED),),
                                         cache_dir=str(tmp_path)))
    prepared = store.get(DAY)
    assert "tripbased" in prepared.router.__dict__  # the router's cached engine
    assert list(tmp_path.rglob("tripbased"))  # stored in the disk-cache entry


def test_a_day_in_the_disk_cache_loads_without_compiling(tmp_path: Path) -> None:
    other = DAY + timedelta(days=1)
    first = TimetableStore(load_settings(env={}, feeds=(str(DEMO_FEED),),
                                         cache_dir=str(tmp_path)))
    assert first.get(other).tt.extra["cache"] == "miss"
    fresh = TimetableStore(load_settings(env={}, feeds=(str(DEMO_FEED),),
                                         cache_dir=str(tmp_path), compile_wait=0.0))
    started = time.monotonic()
    again = fresh.get(other)  # would raise DayCompiling if it had to compile
    assert again.tt.extra["cache"] == "hit"
    assert time.monotonic() - started < 2.0


def test_days_are_kept_by_their_bytes_not_three_at_most(tmp_path: Path) -> None:
    days = [DAY + timedelta(days=i) for i in range(5)]
    roomy = TimetableStore(load_settings(env={}, feeds=(str(DEMO_FEED),),
                                         cache_dir=str(tmp_path)))
    sizes = [roomy.get(d).nbytes for d in days]
    assert roomy.loaded_days() == [d.isoformat() for d in days]  # all five stay
    budget_mb = (sizes[-1] + sizes[-2]) / 2**20 + 0.01  # room for two days
    tight = TimetableStore(load_settings(env={}, feeds=(str(DEMO_FEED),),
                                         cache_dir=str(tmp_path),
                                         timetable_memory_mb=budget_mb))
    for d in days:
        tight.get(d)
    assert tight.loaded_days() == [d.isoformat() for d in days[-2:]]
