"""A damaged compiled-timetable cache entry is rebuilt, never served (issue 16).

Issue 16 saw random bytes in ``route_stops.npy`` crash the server with a segfault on the
first plan after every restart, a truncated ``stop_ids.npy`` give a permanent 500, and an
edited ``t0`` an ``OverflowError``. Each damage below is applied to a real cache entry;
the next load must rebuild it and answer exactly as the undamaged timetable does.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import load_settings
from feeds.demo import DEMO_FEED
from planner.routing.query import Query
from planner.routing.router import Router
from planner.timetable.compile import CompileOptions, content_hash
from planner.timetable.disk_cache import load_or_compile
from planner.timetable.integrity import (
    CHECKSUMS,
    DamagedTimetable,
    check_structure,
    load_checked,
    write_checksums,
)
from planner.timetable.model import Timetable
from tests.shared_data import shared

DAY = date(2023, 11, 7)
DEMO_DAY = date(2026, 4, 20)


def random_bytes_same_size(entry: Path) -> None:
    path = entry / "route_stops.npy"
    header = 128  # keep the .npy header: only the data is garbage, as on a bad disk
    size = path.stat().st_size
    rng = random.Random(16)
    path.write_bytes(path.read_bytes()[:header] + rng.randbytes(size - header))


def truncated_stop_ids(entry: Path) -> None:
    (entry / "stop_ids.npy").write_bytes(b"")


def edited_t0(entry: Path) -> None:
    meta = json.loads((entry / "meta.json").read_text())
    meta["t0"] = 10**30
    (entry / "meta.json").write_text(json.dumps(meta))


def lost_checksums(entry: Path) -> None:
    (entry / CHECKSUMS).unlink()


def missing_array(entry: Path) -> None:
    (entry / "conn_trip.npy").unlink()


def stray_file(entry: Path) -> None:
    (entry / "conn_trip.npy.bak").write_bytes(b"x")


DAMAGES: dict[str, Callable[[Path], None]] = {
    "random-bytes-in-route-stops": random_bytes_same_size,
    "stop-ids-truncated-to-0-bytes": truncated_stop_ids,
    "t0-edited-in-meta": edited_t0,
    "checksums-lost": lost_checksums,
    "array-missing": missing_array,
    "stray-file": stray_file,
}


def arrivals(tt: Timetable, n: int = 60) -> list[int | None]:
    """Earliest arrivals of fixed random queries: what a served answer depends on."""
    router = Router(tt)
    rng = random.Random(7)
    out = []
    for _ in range(n):
        s, t = rng.randrange(tt.n_stops), rng.randrange(tt.n_stops)
        at = tt.time_of(DAY, rng.randrange(5, 20) * 3600)
        j = router.earliest(Query([(s, 0)], [(t, 0)], at))
        out.append(None if j is None else j.arrival)
    return out


@pytest.fixture(scope="module")
def caltrain() -> Path:
    return shared("us-caltrain-rt/ct.zip")


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_damaged_cache_entry_is_rebuilt_and_answers_as_before(
        tmp_path: Path, caltrain: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    first = load_or_compile([caltrain], DAY, cache_dir=cache)
    expected = arrivals(first)
    assert any(a is not None for a in expected)
    entry = cache / content_hash([caltrain], CompileOptions(), DAY)
    DAMAGES[damage](entry)
    with pytest.raises(DamagedTimetable):
        load_checked(entry)
    again = load_or_compile([caltrain], DAY, cache_dir=cache)
    assert again.extra["cache"] == "miss"  # rebuilt, not served
    assert arrivals(again) == expected
    third = load_or_compile([caltrain], DAY, cache_dir=cache)
    assert third.extra["cache"] == "hit"  # the rebuilt entry is whole again


@pytest.mark.parametrize(("array", "value"), [
    ("route_stops", "n_stops"), ("conn_trip", "n_trips"), ("fp_to", "n_stops"),
    ("stop_route_pos", "huge"), ("trip_st_offset", "huge"), ("trip_day", "huge"),
])
def test_structure_check_rejects_an_index_out_of_bounds_even_with_valid_checksums(
        tmp_path: Path, caltrain: Path, array: str, value: str) -> None:
    """Damage that passes the digests (rewritten after it) must still not reach the
    engines, which index without bounds checks."""
    cache = tmp_path / "cache"
    tt = load_or_compile([caltrain], DAY, cache_dir=cache)
    entry = cache / tt.version
    arr = np.load(entry / f"{array}.npy")
    assert len(arr)
    arr[len(arr) // 2] = getattr(tt, value) if value != "huge" else np.iinfo(arr.dtype).max
    np.save(entry / f"{array}.npy", arr, allow_pickle=False)
    write_checksums(entry)
    with pytest.raises(DamagedTimetable, match=array):
        load_checked(entry)
    assert load_or_compile([caltrain], DAY, cache_dir=cache).extra["cache"] == "miss"


def test_structure_check_accepts_the_compiled_demo_timetable(tmp_path: Path) -> None:
    tt = load_or_compile([DEMO_FEED], DEMO_DAY, cache_dir=tmp_path)
    check_structure(tt)
    assert load_checked(tmp_path / tt.version).n_stops == tt.n_stops


def test_server_with_a_damaged_cache_entry_answers_plans(tmp_path: Path) -> None:
    """The issue's crash: random bytes in ``route_stops.npy`` of the entry the server
    loads at start; it must rebuild and answer, on every start."""
    cache = tmp_path / "cache"
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date=DEMO_DAY.isoformat(),
                             cache_dir=str(cache))
    params = {"fromPlace": "de-db-fv-2026:347953", "toPlace": "de-db-fv-2026:469041",
              "time": "2026-04-20T08:00:00+02:00"}
    with TestClient(create_app(settings)) as client:
        good = client.get("/api/v1/plan", params=params)
    assert good.status_code == 200, good.text
    entries = [p for p in cache.iterdir() if (p / CHECKSUMS).exists()]
    assert entries
    for entry in entries:
        random_bytes_same_size(entry)
    for _ in range(2):  # and again after the rebuild
        with TestClient(create_app(settings)) as client:
            response = client.get("/api/v1/plan", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["itineraries"] == good.json()["itineraries"]
