"""The small interface to the routing engines: a :class:`Query` in, journeys out.

Like OTP's RAPTOR module, a :class:`Router` is built once per timetable (it prebinds the
arrays in Cython objects) and answers many queries; each thread gets its own scratch
workspaces (``threading.local``), so queries can run in a thread pool. The search policy
(windows, pages, arrive-by) lives in :mod:`planner.routing.search`; the router runs one
engine once.

Engines (``ENGINES``): ``csa`` and ``raptor`` (earliest arrival; RAPTOR also per number of
trips), ``mcraptor`` (Pareto sets over arrival, transfers, walking and an extra
criterion), ``rraptor`` (range: every Pareto (departure, arrival) journey of a window)
and ``reverse`` (arrive-by: the latest departure arriving by ``Query.time`` within
``max_transfers``, a reverse RAPTOR; ``reverse_csa`` is the unbounded reverse CSA). Every one
returns a :class:`RoutingResult`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from planner.routing.csa import CSA
from planner.routing.journeys import Journey, build_journey
from planner.routing.mcraptor import McRaptor, extra_criterion, walk_seconds
from planner.routing.query import Query
from planner.routing.raptor import Raptor
from planner.routing.reverse_csa import ArriveBy
from planner.routing.reverse_raptor import ReverseRaptor
from planner.routing.rraptor import RangeRaptor
from planner.timetable.model import INFINITY, Timetable

ENGINES = ("raptor", "csa", "mcraptor", "rraptor", "reverse", "reverse_csa")
EARLIEST_ARRIVAL = ("raptor", "csa")


@dataclass(frozen=True)
class SearchStats:
    """Where one engine run spent its time (ULTRA passes a profiler; counters suffice)."""

    engine: str
    rounds: int = 0
    routes_scanned: int = 0
    connections_scanned: int = 0
    labels: int = 0


@dataclass(frozen=True)
class RoutingResult:
    """One engine run: journeys (by arrival; ``rraptor`` by departure), its counters, and
    for ``rraptor`` the walking-only seconds (None if the targets are out of walking)."""

    journeys: list[Journey]
    stats: SearchStats
    walk_only: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Router:
    """Routing queries on one :class:`Timetable` (thread-safe)."""

    def __init__(self, tt: Timetable) -> None:
        self.tt = tt
        self._local = threading.local()
        self._masked: OrderedDict[bytes, Router] = OrderedDict()
        self._masked_lock = threading.Lock()

    # -- engines, built on first use ------------------------------------------------------
    @cached_property
    def csa(self) -> CSA:
        return CSA(self.tt)

    @cached_property
    def raptor(self) -> Raptor:
        return Raptor(self.tt)

    @cached_property
    def mcraptor(self) -> McRaptor:
        return McRaptor(self.tt)

    @cached_property
    def range_raptor(self) -> RangeRaptor:
        return RangeRaptor(self.tt)

    @cached_property
    def arrive_by(self) -> ArriveBy:
        return ArriveBy(self.tt)

    @cached_property
    def reverse_raptor(self) -> ReverseRaptor:
        return ReverseRaptor(self.tt)

    def workspace(self, key: str, factory: Callable[[], Any]) -> Any:
        """This thread's scratch object ``key``, created by ``factory`` on first use."""
        spaces = getattr(self._local, "spaces", None)
        if spaces is None:
            spaces = self._local.spaces = {}
        ws = spaces.get(key)
        if ws is None:
            ws = spaces[key] = factory()
        return ws

    def last_stats(self) -> SearchStats:
        """Counters of this thread's last engine run."""
        return getattr(self._local, "stats", None) or SearchStats("none")

    def _record(self, engine: str, ws: Any) -> SearchStats:
        if hasattr(ws, "counters"):  # engines on the kernel count their work
            stats = SearchStats(engine, *ws.counters())
        else:
            stats = SearchStats(engine, rounds=int(getattr(ws, "rounds", 0)),
                                connections_scanned=int(getattr(ws, "scanned", 0)))
        self._local.stats = stats
        return stats

    def _for_mask(self, q: Query) -> Router:
        """Until the engines read ``route_mask`` themselves: a router over the timetable
        with boarding disabled on masked routes (bounded LRU, arrays shared)."""
        mask = q.route_mask
        if mask is None or bool(mask.all()):
            return self
        key = mask.tobytes()
        with self._masked_lock:
            hit = self._masked.get(key)
            if hit is not None:
                self._masked.move_to_end(key)
                return hit
        tt = self.tt
        ok = mask.astype(bool)
        pos_route = np.repeat(np.arange(tt.n_routes), np.diff(tt.route_stop_offset))
        pickup = np.asarray(tt.route_pickup) * ok[pos_route].astype(np.uint8)
        conn_ok = ok[np.asarray(tt.trip_route)[np.asarray(tt.conn_trip)]]
        conn_pickup = np.asarray(tt.conn_pickup) * conn_ok.astype(np.uint8)
        router = Router(replace(tt, route_pickup=np.ascontiguousarray(pickup),
                                conn_pickup=np.ascontiguousarray(conn_pickup)))
        with self._masked_lock:
            self._masked[key] = router
            while len(self._masked) > 8:
                self._masked.popitem(last=False)
        return router

    # -- earliest arrival -----------------------------------------------------------------
    def _forward(self, q: Query, engine: str) -> tuple[Any, Any, int]:
        if engine == "raptor":
            core: Any = self.raptor
            ws = self.workspace("raptor", core.workspace)
            best = core.arrival(ws, q)
        elif engine == "csa":
            core = self.csa
            ws = self.workspace("csa", core.workspace)
            best = core.arrival(ws, q)
        else:
            raise ValueError(f"unknown earliest-arrival engine {engine!r}; choose one of "
                             f"{EARLIEST_ARRIVAL}")
        self._record(engine, ws)
        return core, ws, best

    def arrival(self, q: Query, engine: str = "raptor") -> int | None:
        """Earliest arrival at the destination, or None; no journey is built (fast path)."""
        r = self._for_mask(q)
        if len(q.targets) == 0:
            raise ValueError("at least one target is needed")
        _, _, best = r._forward(q, engine)
        return None if best == INFINITY else best

    def arrival_and_transfers(self, q: Query, engine: str = "raptor") -> tuple[int | None, int]:
        """(earliest arrival or None, transfers of that journey or -1), no legs built."""
        r = self._for_mask(q)
        if len(q.targets) == 0:
            raise ValueError("at least one target is needed")
        core, ws, best = r._forward(q, engine)
        if best == INFINITY:
            return None, -1
        return best, max(core.results(ws, q)[0][2] - 1, 0)

    def earliest(self, q: Query, engine: str = "raptor") -> Journey | None:
        """The earliest-arrival journey (RAPTOR: the one with fewest trips among them)."""
        found = self.route(q, engine).journeys
        return found[0] if found else None

    def arrivals_by_transfers(self, q: Query) -> list[int | None]:
        """RAPTOR: entry ``k`` is the earliest arrival using at most ``k`` transfers."""
        r = self._for_mask(q)
        _, ws, _ = r._forward(q, "raptor")
        bests = r._round_bests(ws)[1:]  # round 0 is walking only
        bests += [bests[-1] if bests else None] * (q.max_trips - len(bests))
        return bests

    @staticmethod
    def _round_bests(ws: Any) -> list[int | None]:
        return [None if b == INFINITY else b for b in ws.round_bests()]

    def one_to_all(self, q: Query, engine: str = "raptor") -> np.ndarray:
        """Earliest arrival at every stop (``INFINITY`` where unreachable), int32[S]; the
        query's targets are ignored (the search scans to the end)."""
        r = self._for_mask(q)
        _, ws, _ = r._forward(replace(q, targets=np.zeros((0, 2), dtype=np.int32),
                                      target_extra=None), engine)
        return ws.arrivals()

    # -- one entry for every engine --------------------------------------------------------
    def route(self, q: Query, engine: str = "raptor") -> RoutingResult:
        """Run one engine once on ``q``; journeys are built with their legs."""
        r = self._for_mask(q)
        if engine in EARLIEST_ARRIVAL:
            return r._earliest(q, engine)
        if engine == "mcraptor":
            return r._pareto(q)
        if engine == "rraptor":
            return r._range(q)
        if engine == "reverse":
            return r._reverse(q)
        if engine == "reverse_csa":
            return r._reverse_csa(q)
        raise ValueError(f"unknown engine {engine!r}; choose one of {ENGINES}")

    def _earliest(self, q: Query, engine: str) -> RoutingResult:
        if len(q.targets) == 0:
            raise ValueError("at least one target is needed")
        core, ws, best = self._forward(q, engine)
        stats = self.last_stats()
        if best == INFINITY:
            return RoutingResult([], stats)
        journey = self._journey(q, core.results(ws, q)[0])
        if engine == "raptor":
            journey.extra["round_bests"] = self._round_bests(ws)
        return RoutingResult([journey], stats)

    def _journey(self, q: Query, raw: tuple) -> Journey:
        """A journey from an engine's ``(departure, arrival, trips, source_row,
        target_row, steps)``, steps origin first."""
        departure, arrival, _, _, target_row, steps = raw
        return build_journey(self.tt, steps, departure=departure, arrival=arrival,
                             target=int(q.targets[target_row, 0]),
                             egress=int(q.targets[target_row, 1]))

    def _pareto(self, q: Query) -> RoutingResult:
        """McRAPTOR: journeys Pareto-optimal in arrival, transfers, walking and ``extra``;
        ``journey.extra`` has ``walk`` and ``criterion``."""
        core = self.mcraptor
        ws = self.workspace("mcraptor", core.workspace)
        out = []
        for raw in core.search(ws, q):
            journey = self._journey(q, raw)
            journey.extra.update(walk=walk_seconds(q, raw), criterion=extra_criterion(q, raw))
            out.append(journey)
        return RoutingResult(out, self._record("mcraptor", ws))

    def _range(self, q: Query) -> RoutingResult:
        """rRAPTOR over departures in ``[q.time, q.time + q.window]``: journeys by departure
        (each its latest departure), none dominated in (departure, arrival); the last may
        depart after the window, so for every ``d`` in it the earliest arrival is the best
        journey departing at ``>= d`` (or ``d`` plus the walking-only time)."""
        core = self.range_raptor
        ws = self.workspace("range", core.workspace)
        journeys = [self._journey(q, raw) for raw in core.search(ws, q)]
        return RoutingResult(journeys, self._record("rraptor", ws), ws.walk_only)

    def _reverse(self, q: Query) -> RoutingResult:
        """Arrive-by (reverse RAPTOR): the journey leaving latest that arrives by
        ``q.time`` with at most ``q.max_transfers`` transfers."""
        core = self.reverse_raptor
        ws = self.workspace("reverse", core.workspace)
        journeys = [self._journey(q, raw) for raw in core.search(ws, q)]
        return RoutingResult(journeys, self._record("reverse", ws))

    def _reverse_csa(self, q: Query) -> RoutingResult:
        """Arrive-by without a transfer bound (reverse CSA; faster than reverse RAPTOR)."""
        core = self.arrive_by
        ws = self.workspace("arriveby", core.workspace)
        journeys = [self._journey(q, raw) for raw in core.search(ws, q)]
        return RoutingResult(journeys, self._record("reverse_csa", ws))

    # -- conveniences over route() ---------------------------------------------------------
    def pareto(self, q: Query) -> list[Journey]:
        return self.route(q, "mcraptor").journeys

    def profile(self, q: Query) -> RoutingResult:
        return self.route(q, "rraptor")

    def latest_departure(self, q: Query) -> Journey | None:
        found = self.route(q, "reverse").journeys
        return found[0] if found else None

