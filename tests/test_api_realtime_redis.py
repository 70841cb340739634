"""Realtime shared by serving processes through a real redis-server (issue 11 point 7).

Several ``owl-planner serve`` processes with one ``REDIS_URL`` and one loopback GTFS-RT
server: one of them fetches, all of them plan with each new message, a process started
late catches up from the stream, the fetcher's death hands fetching to another, and
Redis dying leaves every process on its last version.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.servers import owl_planner_serve, redis_server
from tests.shared_data import shared
from tests.test_api_realtime import FEED_TIME, TIME, TripUpdatesServer, cancelled

PARAMS = {"fromPlace": "ct:70052", "toPlace": "ct:70272", "time": TIME}


def first_leg(base: str) -> dict | None:
    """The plan's first transit leg if it rides ct:126, else None."""
    body = httpx.get(f"{base}/api/v5/plan", params=PARAMS, timeout=60).json()
    legs = [leg for it in body["itineraries"] for leg in it["legs"] if "tripId" in leg]
    return next((leg for leg in legs if leg["tripId"].endswith("ct:126")), None)


def shared_health(base: str) -> dict:
    return httpx.get(f"{base}/api/v1/health", timeout=10).json()["realtime"]["shared"]


def day_version(base: str) -> str:
    health = httpx.get(f"{base}/api/v1/health", timeout=10).json()
    return str(health["realtime"]["days"]["2023-11-07"]["version"])


def wait_for(check: Callable[[], bool], what: str, seconds: float = 20.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen within {seconds:.0f} s")


def test_processes_sharing_redis_plan_with_every_message_of_one_fetcher(
        tmp_path: Path) -> None:
    data = shared("us-caltrain-rt/ct-trip-updates.pb").read_bytes()
    with ExitStack() as stack:
        _, url, rclient = proc_url_client = stack.enter_context(redis_server(tmp_path))
        feed = stack.enter_context(TripUpdatesServer(data))
        env = {"REDIS_URL": url, "OWL_GTFS_RT_INTERVAL": "0.2", "OWL_GTFS_RT_LEASE": "1",
               "OWL_GBFS_CONFIG": "none"}

        def serve(name: str) -> str:
            return stack.enter_context(owl_planner_serve(
                [str(shared("us-caltrain-rt/ct.zip")), "--date", "2023-11-07",
                 "--gtfs-rt", f"ct={feed.base}/tu.pb", "--gtfs-rt-epoch",
                 str(FEED_TIME + 30), "--cache-dir", str(tmp_path / "cache")],
                tmp_path / f"{name}.log", env=env))

        bases = [serve("a"), serve("b")]
        for base in bases:  # the feed's delay in both
            leg = first_leg(base)
            assert leg is not None and leg["realTime"] is True
            assert leg["startTime"] == "2023-11-07T17:07:40-08:00"
        states = [shared_health(b) for b in bases]
        assert sum(s["fetcher"] for s in states) == 1
        fetcher = next(s["self"] for s in states if s["fetcher"])
        assert all(s["holder"] == fetcher and s["available"] for s in states)
        assert rclient.xlen("owl:rt:messages") >= 1

        feed.body = cancelled(data, "126")  # a new message: both plans drop the trip
        for base in bases:
            wait_for(lambda b=base: first_leg(b) is None, f"the cancellation in {base}")

        late = serve("c")  # started now, it plans with the stream's last message at once
        assert first_leg(late) is None
        assert shared_health(late)["fetcher"] is False
        # one realtime version everywhere (and so one plan cache key)
        assert len({day_version(b) for b in [*bases, late]}) == 1

        # the fetcher dies without handing back its lease: another takes over
        os.kill(int(fetcher.split(":")[1]), signal.SIGKILL)
        survivors = [b for b, s in zip(bases, states, strict=True) if s["self"] != fetcher]
        survivors.append(late)
        feed.body = data  # the trip runs again, delayed
        for base in survivors:
            wait_for(lambda b=base: first_leg(b) is not None, f"the new message in {base}")
        now = [shared_health(b) for b in survivors]
        assert sum(s["fetcher"] for s in now) == 1 and now[0]["holder"] != fetcher

        # Redis dies: every process keeps its last version and says it is degraded
        redis_proc = proc_url_client[0]
        redis_proc.kill()
        redis_proc.wait(5)
        for base in survivors:
            leg = first_leg(base)
            assert leg is not None and leg["startTime"] == "2023-11-07T17:07:40-08:00"
            wait_for(lambda b=base: httpx.get(f"{b}/api/v1/health", timeout=10).json()[
                "status"] == "degraded", f"degraded health in {base}", 10)
            assert shared_health(base)["available"] is False
