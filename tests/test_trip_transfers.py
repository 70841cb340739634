"""Trip-Based's transfers live in the timetable's disk-cache entry; the router picks it.

* built once on the first query the router gives it, stored beside the timetable
  (digests written last), memory-mapped by the next process;
* damaged (a flipped byte, an index out of range with fresh digests, another
  timetable's) they are rebuilt, never read;
* the router's own choice is Trip-Based for plain earliest-arrival queries on a cached
  timetable, RAPTOR for what the transfers were not reduced for (slack, route mask,
  scoped transfers.txt rules), with the same answers;
* a realtime version (no entry) gets transfers built for its own times in the
  background (the real Caltrain and BART feeds), or shares the schedule's when the
  reduction would read the same arrays.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from feeds.gtfs import stop_sequences
from feeds.realtime.messages import parse_feed
from feeds.realtime.state import FeedContent
from planner.realtime.live import LiveTimetable, RealtimeVersion
from planner.routing import trip_transfers
from planner.routing.query import Query
from planner.routing.router import Router
from planner.timetable.compile import compile_timetable
from planner.timetable.disk_cache import load_or_compile
from planner.timetable.integrity import CHECKSUMS, DamagedTimetable, write_checksums
from planner.timetable.model import Timetable
from tests.shared_data import DEMO_FEED, shared
from tests.test_routing_core import at, ix, tiny

DAY = date(2026, 4, 20)


def plain_queries(tt: Timetable, n: int, seed: int, day: date = DAY) -> list[Query]:
    rng = np.random.default_rng(seed)
    served = np.nonzero(np.diff(tt.stop_route_offset) > 0)[0]
    return [Query([(int(s), 0)], [(int(t), 0)],
                  tt.time_of(day, int(rng.integers(6 * 3600, 20 * 3600))))
            for s, t in (rng.choice(served, 2, replace=False) for _ in range(n))]


def answers(router: Router, qs: list[Query], engine: str | None = None) -> list:
    out = []
    for q in qs:
        j = router.earliest(q, engine)
        out.append(None if j is None else (j.arrival, j.transfers))
    return out


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def stored(cache: Path) -> Path:
    (entry,) = [p for p in cache.iterdir() if not p.name.startswith(".")]
    return entry / trip_transfers.DIRECTORY


def test_built_once_stored_beside_the_timetable_and_memory_mapped_after(cache: Path) -> None:
    tt = load_or_compile([DEMO_FEED], DAY, cache_dir=cache)
    router = Router(tt)
    qs = plain_queries(tt, 40, seed=1)
    first = answers(router, qs)
    assert router.last_stats().engine == "tripbased"
    assert first == answers(router, qs, "raptor")
    directory = stored(cache)
    assert (directory / CHECKSUMS).exists() and (directory / "trip.npy").exists()
    again = load_or_compile([DEMO_FEED], DAY, cache_dir=cache)
    assert again.extra["cache"] == "hit"
    tr = trip_transfers.for_timetable(again)
    assert tr.cache == "loaded" and isinstance(tr.trip, np.memmap)
    assert answers(Router(again), qs) == first


def damage_flip(directory: Path) -> None:
    path = directory / "trip.npy"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))


def damage_index(directory: Path) -> None:
    """A trip beyond the timetable, with digests that match it (only the structure check
    can tell)."""
    trip = np.load(directory / "trip.npy")
    trip[len(trip) // 2] = 10**7
    np.save(directory / "trip.npy", trip)
    (directory / CHECKSUMS).unlink()
    write_checksums(directory)


def damage_version(directory: Path) -> None:
    meta = json.loads((directory / "meta.json").read_text())
    meta["version"] = "another timetable"
    (directory / "meta.json").write_text(json.dumps(meta))
    (directory / CHECKSUMS).unlink()
    write_checksums(directory)


@pytest.mark.parametrize("damage", [damage_flip, damage_index, damage_version],
                         ids=["flipped-byte", "index-out-of-range", "other-timetable"])
def test_damaged_transfers_are_rebuilt_never_read(cache: Path, damage,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    tt = load_or_compile([DEMO_FEED], DAY, cache_dir=cache)
    qs = plain_queries(tt, 30, seed=2)
    expected = answers(Router(tt), qs)
    directory = stored(cache)
    damage(directory)
    again = load_or_compile([DEMO_FEED], DAY, cache_dir=cache)
    with pytest.raises(DamagedTimetable):
        trip_transfers.load(directory, again)
    with caplog.at_level(logging.WARNING, logger="planner.routing.trip_transfers"):
        router = Router(again)
        assert answers(router, qs) == expected
    assert router.last_stats().engine == "tripbased"
    assert "rebuilding" in caplog.text
    assert trip_transfers.for_timetable(again).cache == "loaded"  # the rebuilt ones


def test_a_timetable_without_an_entry_builds_them_only_when_asked(tmp_path: Path) -> None:
    tt = dataclasses.replace(load_or_compile([DEMO_FEED], DAY, cache_dir=tmp_path), extra={})
    router = Router(tt)
    q = plain_queries(tt, 1, seed=3)[0]
    assert router.engine_for(q) == "raptor"  # a fresh compile pays no preprocessing
    router.tripbased  # noqa: B018 - built in memory on demand
    assert router.engine_for(q) == "tripbased"


def test_prebuild_builds_them_for_a_cached_timetable_only(cache: Path,
                                                          tmp_path: Path) -> None:
    router = Router(load_or_compile([DEMO_FEED], DAY, cache_dir=cache))
    router.prebuild()
    assert "tripbased" in router.__dict__ and stored(cache).is_dir()
    fresh = Router(dataclasses.replace(router.tt, extra={}))  # no entry: RAPTOR serves it
    fresh.prebuild()
    assert "tripbased" not in fresh.__dict__


def test_slack_and_route_masks_go_to_raptor_with_the_same_answers(cache: Path) -> None:
    tt = load_or_compile([DEMO_FEED], DAY, cache_dir=cache)
    router = Router(tt)
    mask = np.ones(tt.n_routes, dtype=np.uint8)
    mask[::3] = 0
    for q in plain_queries(tt, 20, seed=4):
        assert router.engine_for(q) == "tripbased"
        for other in (dataclasses.replace(q, transfer_slack=90),
                      dataclasses.replace(q, route_mask=mask)):
            assert router.engine_for(other) == "raptor"
            assert router.arrival(other) == router.arrival(other, "raptor")
            assert router.last_stats().engine == "raptor"
            with pytest.raises(ValueError, match="use raptor"):
                router.raw(other, "tripbased")


def test_the_transfer_profile_is_the_same_from_trip_based_and_from_raptor(cache: Path) -> None:
    tt = load_or_compile([DEMO_FEED], DAY, cache_dir=cache)
    router = Router(tt)
    slack = Router(dataclasses.replace(tt, extra={}))  # no entry: RAPTOR per bound
    found = 0
    for q in plain_queries(tt, 40, seed=5):
        got = [(j.arrival, j.transfers) for j in router.transfer_profile(q)]
        assert got == [(j.arrival, j.transfers) for j in slack.transfer_profile(q)]
        assert [t for _, t in got] == sorted({t for _, t in got})
        found += len(got) > 1
    assert found > 0


SCOPED = ("from_stop_id,to_stop_id,from_route_id,to_route_id,transfer_type,"
          "min_transfer_time\nB,B,R1,R2,2,300\n")


def test_scoped_transfer_rules_fall_back_to_raptor(tmp_path: Path) -> None:
    """t1 reaches B at 08:10; the stop allows t2 at 08:12 (D 08:30), the row scoped to
    routes R1 -> R2 asks 300 s, so t3 at 08:20 (D 08:40)."""
    tt = tiny(tmp_path, transfers=SCOPED)
    assert len(tt.route_alight_rule) > 0
    router = Router(tt)
    router.tripbased  # noqa: B018 - at hand, but not reduced for scoped rules
    q = Query([(ix(tt, "A"), 0)], [(ix(tt, "D"), 0)], at(tt, "08:00"))
    assert router.engine_for(q) == "raptor"
    assert router.arrival(q) == at(tt, "08:40") == router.arrival(q, "raptor")
    with pytest.raises(ValueError, match="use raptor"):
        router.raw(q, "tripbased")
    plain = Router(tiny(tmp_path / "plain"))
    plain.tripbased  # noqa: B018
    assert plain.engine_for(q) == "tripbased"
    assert plain.arrival(q) == at(tt, "08:30")


# --- realtime versions: no disk-cache entry ---------------------------------------------


def realtime_version(zip_rel: str, rt_rel: str, day: date) -> tuple[Router, LiveTimetable,
                                                                     RealtimeVersion]:
    """The schedule's router (its transfers built) and the feed's version of it."""
    path = shared(zip_rel)
    tt = compile_timetable([path], day)
    schedule = Router(tt)
    schedule.tripbased  # noqa: B018 - what a served day holds (Router.prebuild)
    live = LiveTimetable(tt, stop_sequences([path]))
    msg = parse_feed(shared(rt_rel).read_bytes())
    return schedule, live, live.apply([(path.stem, FeedContent(msg.trip_updates))],
                                      now=msg.timestamp)


@pytest.mark.parametrize("zip_rel, rt_rel, day", [
    ("us-caltrain-rt/ct.zip", "us-caltrain-rt/ct-trip-updates.pb", date(2023, 11, 7)),
    ("us-bart-rt/bart-rt.zip", "us-bart-rt/bart-trip-updates.pb", date(2019, 8, 7)),
])
def test_a_realtime_version_gets_trip_based_built_for_its_own_times(
        zip_rel: str, rt_rel: str, day: date) -> None:
    schedule, _, version = realtime_version(zip_rel, rt_rel, day)
    assert version.applied is not None and version.applied.updated  # the feed re-times
    router = Router(version.tt)
    assert router.engine_for(plain_queries(version.tt, 1, 1, day)[0]) == "raptor"
    job = router.prepare_tripbased(schedule)
    assert job is not None  # times changed: not the schedule's transfers, built again
    assert router.tripbased_ready()
    assert not trip_transfers.same_inputs(version.tt, schedule.tt)
    qs = plain_queries(version.tt, 300, 2, day)
    assert all(router.engine_for(q) == "tripbased" for q in qs)
    got = answers(router, qs)
    assert router.last_stats().engine == "tripbased"
    assert got == answers(router, qs, "raptor")
    assert sum(a is not None and a[1] > 0 for a in got) > 20  # changes were exercised


def test_a_version_that_changes_nothing_shares_the_schedules_transfers() -> None:
    """A stale feed (here: an empty message) puts every trip back on the schedule: the
    reduction would read the same arrays, so the schedule's transfers serve as they are."""
    schedule, live, _ = realtime_version("us-caltrain-rt/ct.zip",
                                         "us-caltrain-rt/ct-trip-updates.pb",
                                         date(2023, 11, 7))
    unchanged = live.apply([])
    router = Router(unchanged.tt)
    assert router.prepare_tripbased(schedule) is None  # nothing to build
    assert router.tripbased_ready(timeout=0)
    assert router.tripbased.transfer_trip is schedule.tripbased.transfer_trip
    qs = plain_queries(unchanged.tt, 100, 3, date(2023, 11, 7))
    assert all(router.engine_for(q) == "tripbased" for q in qs)
    assert answers(router, qs) == answers(router, qs, "raptor")

