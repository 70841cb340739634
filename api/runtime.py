"""Per-app state of the API: settings, timetables, plan cache, metrics, search pool, sharing.

Its own module so that the endpoint modules (``api.plan``) can name the type without
importing the app factory (``api.app``), which imports them: no cycle.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from api.cache import RedisCache, make_cache
from api.common import ApiError
from api.limits import CLIENT, SearchGate, retry_after
from api.metrics import Metrics
from api.places import PlacesLoader
from api.realtime import RealtimeService
from api.settings import Settings
from api.sharing import SharingManager, iso_utc
from api.store import DayCompiling, OutOfRangeError, Prepared, TimetableStore, feed_ages
from api.towns import load_towns
from planner.places.search import Geocoder
from planner.places.search import Town as GeoTown

T = TypeVar("T")


def _lower_priority() -> None:
    """Nice the calling thread (Linux: a thread id is a valid PRIO_PROCESS target), so
    the scheduler gives ordinary searches and the event loop the cores first."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: same priority
        pass


class Runtime:
    """Per-app state: settings, timetables, cache, metrics, the search pool."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.store = TimetableStore(settings)
        self.cache = make_cache(settings.redis_url, settings.cache_size, settings.cache_ttl,
                                on_error=self.metrics.cache_errors.inc,
                                max_bytes=int(settings.cache_mb * (1 << 20)))
        self.pool = ThreadPoolExecutor(max_workers=max(1, settings.search_threads),
                                       thread_name_prefix="owl-search")
        threads = max(1, settings.search_threads)
        self.gate = SearchGate(capacity=settings.search_queue or 4 * threads,
                               per_client=settings.client_searches or max(1, threads // 2),
                               retry_seconds=settings.search_deadline)
        heavy = max(1, settings.heavy_threads)
        self.heavy_pool = ThreadPoolExecutor(max_workers=heavy, thread_name_prefix="owl-heavy",
                                             initializer=_lower_priority)
        self.heavy_gate = SearchGate(capacity=2 * heavy, per_client=1,
                                     retry_seconds=settings.search_deadline)
        self.started = time.time()
        self.store.on_swap.append(self._on_swap)
        #: GBFS feeds and their refresher; ``sharing.clock`` is the GBFS clock.
        self.sharing = SharingManager(settings)
        #: Addresses and places of the OSM extracts, loaded in the background.
        self.places = PlacesLoader(settings)
        #: The configured municipalities (``[[town]]``): the widget's and stops' towns.
        self.towns = load_towns(settings.towns_config)
        #: GTFS-Realtime feeds and the realtime version of each loaded day.
        self.realtime = RealtimeService(settings, self.store)

    def _on_swap(self) -> None:
        self.cache.clear()
        self.metrics.swaps.inc()

    async def run(self, fn: Callable[[], T], heavy: bool = False) -> T:
        """Run ``fn`` in the pool; past the deadline answer 503 (the thread finishes alone).
        Admitted by a gate first: a full pool or a client over its share is refused at
        once with ``Retry-After``, and the search counts until its thread is done.

        ``heavy`` searches (``api.limits.request_cost`` above ``heavy_cost``) go to their
        own lane: ``heavy_threads`` threads, one at a time per client, so that however
        many arrive they leave the other cores to ordinary requests."""
        client = CLIENT.get()
        gate, pool = (self.heavy_gate, self.heavy_pool) if heavy else (self.gate, self.pool)
        gate.admit(client)

        def charged() -> T:
            try:
                return fn()
            finally:
                gate.release(client)

        try:
            job = pool.submit(charged)
        except BaseException:
            gate.release(client)
            raise
        future = asyncio.wrap_future(job)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.settings.search_deadline)
        except TimeoutError:
            if job.cancel():  # still waiting for a thread: it never runs
                gate.release(client)
            self.metrics.deadline.inc()
            raise ApiError(503, f"the search did not finish within the "
                                f"{self.settings.search_deadline:g} s deadline; narrow the "
                                "request (searchWindow, numItineraries) or retry",
                           code="deadline") from None

    def geocoder(self, prepared: Prepared) -> Geocoder:
        """Stops of ``prepared`` with the places once loaded, and the configured towns."""
        return prepared.geocoder(self.places.search, self._towns)

    @cached_property
    def _towns(self) -> tuple[GeoTown, ...]:
        return tuple(GeoTown(t.name, t.bbox) for t in self.towns.values()
                     if t.bbox is not None)

    def prepared_for(self, moment: datetime | None, realtime: bool = True
                     ) -> tuple[Prepared, datetime]:
        """The timetable of the request's service day (its current realtime version unless
        ``realtime`` is false) and the request time (default: now)."""
        if moment is None:
            day, _ = self.store.default_day()
            zone = ZoneInfo(self.store.timezone())
            now = datetime.now(zone)
            moment = datetime.combine(day, now.time().replace(microsecond=0), zone)
        day = moment.astimezone(ZoneInfo(self.store.timezone())).date()
        try:
            prepared = self.store.get(day)
        except OutOfRangeError as exc:
            raise ApiError(422, f"time: {exc}", "time", code="outside_timetable") from None
        except DayCompiling as exc:
            raise ApiError(503, f"{exc}; retry in a few seconds",
                           headers=retry_after(exc.retry_after), code="compiling") from None
        if prepared.tt.timezone != self.store.timezone():  # first load told us the zone
            day = moment.astimezone(ZoneInfo(prepared.tt.timezone)).date()
            prepared = self.store.get(day)
        return (self.realtime.prepared(prepared) if realtime else prepared), moment

    def health(self) -> dict[str, Any]:
        s = self.settings
        store = self.store
        store.check_for_update()  # a publish shows here, not only after the next plan
        fs = store.feedset
        day, note = store.default_day()
        ages = feed_ages(fs)
        age = time.time() - fs.published_at
        update_status = read_update_status(Path(s.data_dir)) if s.data_dir else None
        out: dict[str, Any] = {
            # MOTIS's HealthResponse: whether realtime and GBFS updates were consumed at
            # least once.
            "rt": any(f.messages > 0 for f in self.realtime.feeds),
            "gbfs": any(f.last_success is not None for f in self.sharing.feeds),
            "status": "ok",
            "timetable": {
                "feedVersion": fs.version,
                "versions": {d: p.version for d, p in store.loaded().items()},
                "feeds": [p.name for p in fs.paths],  # names: paths tell an attacker too much
                "validity": {f: {"from": lo, "to": hi} for f, (lo, hi) in store.ranges().items()},
                "defaultDay": day.isoformat(),
                "timezone": store.timezone(),
                "loadedDays": store.loaded_days(),
                "swaps": store.swaps,
            },
            "feedAges": ages,
            "dataAgeSeconds": round(age, 1),
            "stale": age > s.stale_after,
            "staleAfterSeconds": s.stale_after,
            "cache": {"backend": self.cache.backend},
            "uptimeSeconds": round(time.time() - self.started, 1),
        }
        if note:
            out["timetable"]["note"] = note
        if isinstance(self.cache, RedisCache):
            out["cache"]["available"] = self.cache.ping()
            if not self.cache.available:
                out["cache"]["lastError"] = self.cache.last_error
                out["status"] = "degraded"
        if update_status is not None:
            out["update"] = update_status
            if update_status.get("lastError"):
                out["status"] = "degraded"
        if out["stale"]:
            out["status"] = "degraded"
        if fs.sources:
            out["sources"] = fs.sources
        if self.realtime.enabled:
            out["realtime"] = self.realtime.health()
            if any(f["stale"] for f in out["realtime"]["feeds"]) or not out["realtime"].get(
                    "shared", {}).get("available", True):
                out["status"] = "degraded"
        if self.places.paths:
            out["places"] = self.places.health()
            if self.places.status in ("failed", "empty"):
                out["status"] = "degraded"
        self._sharing_health(out)
        return out

    def _sharing_health(self, out: dict[str, Any]) -> None:
        """GBFS systems and the street model (under ``sharing``), or without GBFS feeds
        the street model alone (the walk graph of the plans)."""
        streets = self.sharing.streets_health()
        if self.sharing.enabled:
            systems = self.sharing.health()
            out["sharing"] = {"clock": iso_utc(self.sharing.now()), "systems": systems,
                              "streets": streets}
            if any(x["stale"] for x in systems):
                out["status"] = "degraded"
        elif self.sharing.osm_paths:
            out["streets"] = streets
        else:
            return
        if streets["model"] == "failed":
            out["status"] = "degraded"


def read_update_status(data_dir: Path) -> dict[str, Any] | None:
    """``status.json`` written by ``owl-planner update`` (None when absent or unreadable)."""
    try:
        return json.loads((data_dir / "status.json").read_text())
    except (OSError, ValueError):
        return None


def runtime_of(app: object) -> Runtime:
    """The runtime :func:`api.app.create_app` keeps on ``app.state`` (Starlette's place for
    app state), typed for callers that hold the app as a plain ASGI callable (tests)."""
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    if not isinstance(runtime, Runtime):
        raise TypeError(f"{app!r} is not an app made by api.app.create_app")
    return runtime
