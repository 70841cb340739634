"""What one client may cost the server (issue 16): rate, concurrent searches, queue.

A full search pool answers 503 with Retry-After at once instead of queueing; a client
over its share of searches gets 429 while others are served; a search abandoned at the
deadline counts until its thread is done; a client over its request rate gets 429.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.common import ApiError
from api.limits import CLIENT, TokenBuckets, check_cost, client_of, request_cost
from api.runtime import Runtime
from api.settings import load_settings
from feeds.demo import DEMO_FEED


def runtime(**settings: object) -> Runtime:
    return Runtime(load_settings(env={}, feeds=(str(DEMO_FEED),), **settings))


def blocker() -> tuple[Callable[[], str], threading.Event, threading.Event]:
    started, release = threading.Event(), threading.Event()

    def work() -> str:
        started.set()
        release.wait(10)
        return "done"

    return work, started, release


async def as_client(rt: Runtime, client: str, fn: Callable[[], str]) -> str:
    CLIENT.set(client)
    return await rt.run(fn)


def test_full_search_pool_answers_503_with_retry_after_at_once() -> None:
    rt = runtime(search_threads=1, search_queue=2, client_searches=5, search_deadline=5.0)

    async def scenario() -> None:
        work, started, release = blocker()
        first = asyncio.create_task(as_client(rt, "a", work))
        second = asyncio.create_task(as_client(rt, "b", work))  # waits for the thread
        await asyncio.to_thread(started.wait, 5)
        loop = asyncio.get_running_loop()
        t = loop.time()
        with pytest.raises(ApiError) as refused:
            await as_client(rt, "c", lambda: "never")
        assert loop.time() - t < 0.5  # refused, not queued
        assert refused.value.status == 503
        assert refused.value.headers["Retry-After"] == "5"
        release.set()
        assert await first == await second == "done"
        assert rt.gate.active == 0
        assert await as_client(rt, "c", lambda: "now") == "now"

    asyncio.run(scenario())
    rt.pool.shutdown()


def test_client_over_its_share_gets_429_while_another_is_served() -> None:
    rt = runtime(search_threads=4, search_queue=16, client_searches=2)

    async def scenario() -> None:
        work, started, release = blocker()
        mine = [asyncio.create_task(as_client(rt, "attacker", work)) for _ in range(2)]
        await asyncio.to_thread(started.wait, 5)
        with pytest.raises(ApiError) as refused:
            await as_client(rt, "attacker", work)
        assert refused.value.status == 429 and "Retry-After" in refused.value.headers
        assert await as_client(rt, "resident", lambda: "served") == "served"
        release.set()
        assert [await t for t in mine] == ["done", "done"]

    asyncio.run(scenario())
    rt.pool.shutdown()


def test_search_abandoned_at_the_deadline_counts_until_its_thread_ends() -> None:
    rt = runtime(search_threads=2, search_queue=8, client_searches=1, search_deadline=0.2)

    async def scenario() -> None:
        work, started, release = blocker()
        with pytest.raises(ApiError) as late:
            await as_client(rt, "a", work)
        assert late.value.status == 503 and "deadline" in late.value.message
        assert rt.gate.active == 1  # its thread still runs
        with pytest.raises(ApiError) as refused:
            await as_client(rt, "a", lambda: "again")
        assert refused.value.status == 429
        release.set()
        for _ in range(100):
            if rt.gate.active == 0:
                break
            await asyncio.sleep(0.02)
        assert rt.gate.active == 0
        assert await as_client(rt, "a", lambda: "again") == "again"

    asyncio.run(scenario())
    rt.pool.shutdown()


def test_request_rate_is_limited_per_client_with_retry_after() -> None:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), client_rate_per_minute=60.0,
                             client_burst=3.0, trusted_proxies=("testclient",))
    with TestClient(create_app(settings)) as c:
        codes = [c.get("/api/v1/geocode", params={"text": "Bielefeld"}).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = c.get("/api/v1/geocode", params={"text": "Bielefeld"})
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert "too many requests" in limited.json()["error"]
        assert c.get("/api/v1/health").status_code == 200  # probes are never limited
        other = c.get("/api/v1/geocode", params={"text": "Bielefeld"},
                      headers={"X-Forwarded-For": "203.0.113.7"})
        assert other.status_code == 200  # another client behind the trusted proxy


def test_forwarded_for_counts_only_from_a_trusted_proxy() -> None:
    scope = {"client": ("198.51.100.1", 1), "headers": [(b"x-forwarded-for", b"1.2.3.4")]}
    assert client_of(scope, frozenset()) == "198.51.100.1"  # anyone could send the header
    assert client_of(scope, frozenset({"198.51.100.1"})) == "1.2.3.4"
    chained = {**scope, "headers": [(b"x-forwarded-for", b"6.6.6.6, 1.2.3.4")]}
    assert client_of(chained, frozenset({"198.51.100.1"})) == "1.2.3.4"  # the proxy's hop


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=2.0, clock=lambda: now[0])
    assert [buckets.take("k") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("k") == pytest.approx(0.5)
    now[0] = 0.5
    assert buckets.take("k") == 0.0


def test_cost_budget_names_the_parameter_that_weighs_most() -> None:
    assert request_cost(900, 5, 900) == 5
    assert request_cost(6 * 3600, 10, 3600) == 240
    check_cost(120, window=("searchWindow", 900), itineraries=("numItineraries", 5),
               walk=("maxPreTransitTime", 900))
    with pytest.raises(ApiError) as err:
        check_cost(120, window=("searchWindow", 6 * 3600), itineraries=("numItineraries", 10),
                   walk=("maxPreTransitTime", 3600))
    assert err.value.status == 400 and err.value.parameter == "numItineraries"
    assert "240" in err.value.message and "120" in err.value.message


@pytest.mark.parametrize("path", ["/api/v1/plan", "/api/v5/plan", "/api/v6/plan"])
def test_a_worst_case_plan_is_refused_naming_what_to_shrink(path: str) -> None:
    """Issue 16's cost attack: 6 h window x 10 itineraries x 1 h walks (240 units)."""
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date="2026-04-20")
    params = {"fromPlace": "de-db-fv-2026:347953", "toPlace": "de-db-fv-2026:469041",
              "time": "2026-04-20T08:00:00+02:00", "searchWindow": 6 * 3600,
              "numItineraries": 10, "maxPreTransitTime": 3600, "maxPostTransitTime": 3600}
    with TestClient(create_app(settings)) as c:
        refused = c.get(path, params=params)
        assert refused.status_code == 400, refused.text
        assert refused.json()["parameter"] == "numItineraries"
        assert "240" in refused.json()["error"]
        ordinary = c.get(path, params={**params, "searchWindow": 3600, "numItineraries": 5,
                                       "maxPreTransitTime": 900, "maxPostTransitTime": 900})
        assert ordinary.status_code == 200, ordinary.text
