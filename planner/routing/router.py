"""The small interface to the routing engines: a :class:`Query` in, journeys out.

Like OTP's RAPTOR module, a :class:`Router` is built once per timetable (one
``TimetableArrays`` that all its engines read) and answers many queries; each thread gets
its own scratch workspaces (``threading.local``), so queries can run in a thread pool.
The search policy (windows, pages, arrive-by) lives in :mod:`planner.routing.search`; the
router runs one engine once.

Engines (``ENGINES``): ``csa`` and ``raptor`` (earliest arrival; RAPTOR also per number of
trips), ``mcraptor`` (Pareto sets over arrival, transfers, walking and an extra
criterion), ``rraptor`` (range: every Pareto (departure, arrival) journey of a window)
and ``reverse`` (arrive-by: the latest departure arriving by ``Query.time`` within
``max_transfers``, a reverse RAPTOR; ``reverse_csa`` is the unbounded reverse CSA; both
return the earliest-arrival journey from that departure). Every one
takes the :class:`Query` itself (route mask included) and returns the same raw shape,
``(departure, arrival, trips, source_row, target_row, steps)`` per journey
(:meth:`Router.raw`); :meth:`Router.route` turns those into a :class:`RoutingResult`.

``tripbased`` (``PREPROCESSED``) answers earliest arrival and the (arrival, transfers)
profile over transfers reduced once per timetable (``planner.routing.trip_transfers``),
several times faster than RAPTOR, but only queries they were reduced for: no
``transfer_slack``, no ``route_mask``, no scoped transfers.txt rules. Where the caller
names no engine, :meth:`Router.engine_for` picks it for such a query when its transfers
are at hand (built in this router, or the timetable is a disk-cache entry, where they
are stored on first use and memory-mapped by later processes), RAPTOR otherwise;
``rtripbased`` answers rRAPTOR's range query over the same transfers, one bounded
Trip-Based run per departure time (:meth:`Router.range_engine_for`). A
realtime version has no entry: :meth:`Router.prepare_tripbased` shares the schedule's
transfers where nothing they depend on changed, else builds them in the background.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import SimpleNamespace
from typing import Any

import numpy as np

from planner.routing.csa import CSA
from planner.routing.journeys import Journey, TransitLeg, build_journey, transit_leg
from planner.routing.kernel import TimetableArrays
from planner.routing.mcraptor import McRaptor, extra_criterion, walk_seconds
from planner.routing.query import Query
from planner.routing.raptor import Raptor
from planner.routing.reverse_csa import ArriveBy
from planner.routing.reverse_raptor import ReverseRaptor
from planner.routing.rraptor import RangeRaptor
from planner.routing.trip_transfers import build, for_timetable, same_inputs
from planner.routing.tripbased import TripBased, TripBasedRange, supports_query
from planner.timetable.model import INFINITY, Timetable, plain_arrays

ENGINES = ("raptor", "csa", "mcraptor", "rraptor", "reverse", "reverse_csa")
#: Engines over preprocessed data, for the queries it was built for (module docstring).
PREPROCESSED = ("tripbased", "rtripbased")
EARLIEST_ARRIVAL = ("raptor", "csa", "tripbased")
_FORWARD = frozenset(EARLIEST_ARRIVAL)
#: Key of the last run's (engine name, workspace) among a thread's engines.
_LAST = object()
#: A thread's entry for one engine: (engine, workspace, the record ``last_stats`` reads,
#: the engine's bound ``arrival`` for an earliest-arrival engine, else None)
_Entry = tuple[Any, Any, tuple[str, Any], Any]
#: engine name -> (Router attribute of the engine, workspace key)
_CORES = {"raptor": ("raptor", "raptor"), "csa": ("csa", "csa"),
          "mcraptor": ("mcraptor", "mcraptor"), "rraptor": ("range_raptor", "range"),
          "reverse": ("reverse_raptor", "reverse"), "reverse_csa": ("arrive_by", "arriveby"),
          "tripbased": ("tripbased", "tripbased"),
          "rtripbased": ("tripbased_range", "tripbased_range")}

#: Departure times up to which a range query runs Trip-Based once per departure rather
#: than rRAPTOR: each Trip-Based run is a bounded earliest-arrival query (HART ~11 us),
#: each later rRAPTOR run relaxes only what it improves, so rRAPTOR wins where a query
#: has hundreds of departures (Porto Alegre's dense footpaths: ~600 on average).
#: Measured per query, 150 random 10 min-2 h windows a feed, the total of both picks:
#: HART 14.4 ms (rRAPTOR alone 65.5, Trip-Based alone 12.7), Porto Alegre 2231
#: (2590, 4221), Mexico City 2417 (4001, 3357), WMATA 9.8 (75.9, 9.8).
RANGE_RUNS_TRIPBASED = 128

#: Stop visits the legs a Router keeps may hold (then it starts over). A visit is ~150
#: bytes, so this is ~2.5 MB: plenty for the rides a plan's searches find again. Counted
#: in visits, not legs: HART's rides pass ~25 stops, and 4,096 of them cost 15 MB, a
#: quarter of a routing process (issue 13 point 4).
LEG_CACHE_VISITS = 16_384
#: One journey as every engine returns it (see the module docstring).
RawJourney = tuple[int, int, int, int, int, list]


@dataclass(frozen=True)
class SearchStats:
    """Where one engine run spent its time (ULTRA passes a profiler; counters suffice).

    ``rounds``: RAPTOR rounds (rRAPTOR: summed over its runs); ``routes_scanned``: routes
    collected from marked stops; ``connections_scanned``: CSA connections read;
    ``labels``: labels created (McRAPTOR's bags; elsewhere improved arrivals by trip,
    the reverse CSA's improved departures)."""

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


_BUILDER: ThreadPoolExecutor | None = None
_BUILDER_LOCK = threading.Lock()


def _background() -> ThreadPoolExecutor:
    """The one thread building Trip-Based transfers for :meth:`Router.prepare_tripbased`
    (one at a time: a build takes a core for ~0.25 s on HART, and the searches the
    other; the build releases the GIL)."""
    global _BUILDER
    with _BUILDER_LOCK:
        if _BUILDER is None:
            _BUILDER = ThreadPoolExecutor(1, thread_name_prefix="tripbased-build")
        return _BUILDER


def _build_tripbased(ref: weakref.ref[Router]) -> None:
    router = ref()
    if router is None or "tripbased" in router.__dict__:
        return
    tr = build(router.tt, router.arrays)
    # published whole, in one assignment: engine_for picks it from the next query on
    # (not through the cached property, whose lock in Python 3.11 is one per class)
    router.__dict__.setdefault("tripbased", TripBased(router.arrays, tr.offset, tr.trip,
                                                      tr.pos))


class Router:
    """Routing queries on one :class:`Timetable` (thread-safe)."""

    def __init__(self, tt: Timetable) -> None:
        self.tt = tt
        self._local = threading.local()
        self._leg_cache: dict[tuple[int, int, int], TransitLeg] = {}
        self._leg_visits = 0
        self._tripbased_job: Future[None] | None = None

    # -- engines, built on first use over one set of arrays --------------------------------
    @cached_property
    def arrays(self) -> TimetableArrays:
        return TimetableArrays(self.tt)

    @cached_property
    def _legs(self) -> Timetable:
        """What legs are built from: memory maps as plain views (a memmap's scalar reads
        run Python code, ~30% of building a journey)."""
        return plain_arrays(self.tt)

    @cached_property
    def csa(self) -> CSA:
        return CSA(self.arrays)

    @cached_property
    def raptor(self) -> Raptor:
        return Raptor(self.arrays)

    @cached_property
    def mcraptor(self) -> McRaptor:
        return McRaptor(self.arrays)

    @cached_property
    def range_raptor(self) -> RangeRaptor:
        return RangeRaptor(self.arrays)

    @cached_property
    def arrive_by(self) -> ArriveBy:
        return ArriveBy(self.arrays)

    @cached_property
    def reverse_raptor(self) -> ReverseRaptor:
        return ReverseRaptor(self.arrays)

    @cached_property
    def tripbased(self) -> TripBased:
        """Trip-Based over this timetable's reduced transfers (loaded from or stored in its
        disk-cache entry if it has one, else built in memory): once per Router."""
        tr = for_timetable(self.tt, self.arrays)
        return TripBased(self.arrays, tr.offset, tr.trip, tr.pos)

    @cached_property
    def tripbased_range(self) -> TripBasedRange:
        """rRAPTOR's range query answered by Trip-Based runs (same transfers)."""
        return TripBasedRange(self.tripbased)

    def range_engine_for(self, q: Query) -> str:
        """The fastest range engine for ``q`` (rRAPTOR's answer): Trip-Based's runs
        where :meth:`engine_for` picks Trip-Based and they are at most
        ``RANGE_RUNS_TRIPBASED``, else rRAPTOR."""
        if self.engine_for(q) != "tripbased":
            return "rraptor"
        core, ws, _, _ = self._entry("rtripbased")
        return "rtripbased" if core.departures(ws, q) <= RANGE_RUNS_TRIPBASED else "rraptor"

    def latest_by(self, q: Query, deadline: int) -> list[RawJourney] | None:
        """Trip-Based's journey leaving latest in ``[q.time, q.time + q.window]`` that
        arrives by ``deadline`` (``TripBased.latest_search``; ``[]``: none), or None
        where :meth:`range_engine_for` would not run Trip-Based for ``q`` (then the
        reverse engine answers: ``Query(..., deadline, arrive_by=True)``)."""
        if self.range_engine_for(q) != "rtripbased":
            return None
        core, ws, last, _ = self._entry("rtripbased")
        found: list[RawJourney] = core.latest(ws, q, deadline)
        self._cores()[_LAST] = last
        return found

    def engine_for(self, q: Query) -> str:
        """The fastest engine for ``q``'s earliest arrival: Trip-Based where its transfers
        are at hand and were reduced for ``q``, else RAPTOR."""
        at_hand = "tripbased" in self.__dict__ or self.tt.extra.get("_entry") is not None
        return "tripbased" if at_hand and supports_query(q, self.arrays) else "raptor"

    def prebuild(self) -> None:
        """Build now what the first query :meth:`engine_for` sends to Trip-Based would
        build (its reduced transfers, stored in or memory-mapped from the disk-cache
        entry), so that a server can do it before it serves the timetable."""
        plain = SimpleNamespace(transfer_slack=0, route_mask=None)  # what supports_query reads
        if self.tt.extra.get("_entry") is not None and supports_query(plain, self.arrays):
            self.tripbased  # noqa: B018 - a cached property: built once, kept

    def prepare_tripbased(self, schedule: Router | None = None) -> Future[None] | None:
        """Make Trip-Based available for a timetable without a disk-cache entry (a
        realtime version; ``schedule``: the router of the timetable it derives from):
        the schedule's transfers where the reduction reads the same arrays from both
        (``trip_transfers.same_inputs``: exact, no build), else built on a background
        thread, one timetable at a time, while :meth:`engine_for` sends its queries to
        RAPTOR; the build is skipped if the router is gone by its turn (a newer
        version replaced it). With an entry this is :meth:`prebuild`. Returns the
        background build, or None when nothing is left to do."""
        plain = SimpleNamespace(transfer_slack=0, route_mask=None)  # what supports_query reads
        if "tripbased" in self.__dict__ or not supports_query(plain, self.arrays):
            return None
        if self.tt.extra.get("_entry") is not None:
            self.prebuild()
            return None
        theirs = schedule.__dict__.get("tripbased") if schedule is not None else None
        if theirs is not None and schedule is not None and same_inputs(self.tt, schedule.tt):
            self.__dict__["tripbased"] = TripBased(self.arrays, theirs.transfer_offset,
                                                   theirs.transfer_trip, theirs.transfer_pos)
            return None
        job = self._tripbased_job = _background().submit(_build_tripbased, weakref.ref(self))
        return job

    def tripbased_ready(self, timeout: float | None = None) -> bool:
        """Whether Trip-Based's transfers are at hand, after waiting up to ``timeout``
        seconds for a build :meth:`prepare_tripbased` started (None: until it ends)."""
        job = self._tripbased_job
        if job is not None and "tripbased" not in self.__dict__:
            try:
                job.result(timeout)
            except TimeoutError:
                pass
        return "tripbased" in self.__dict__

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
        last = self._cores().get(_LAST)
        if last is None:
            return SearchStats("none")
        # read when asked: the workspace keeps them until its engine runs again, and
        # then ``last`` names that run
        return SearchStats(last[0], *last[1].counters())

    def _cores(self) -> dict[Any, Any]:
        """This thread's engines: name -> ``_Entry``, and ``_LAST`` -> the last run's
        (name, workspace)."""
        try:
            return self._local.cores
        except AttributeError:
            cores = self._local.cores = {}
            return cores

    def _entry(self, engine: str) -> _Entry:
        """This thread's ``_Entry`` of ``engine``, made on first use."""
        cores = self._cores()
        found = cores.get(engine)
        if found is None:
            try:
                attr, key = _CORES[engine]
            except KeyError:
                raise ValueError(f"unknown engine {engine!r}; choose one of "
                                 f"{ENGINES + PREPROCESSED}") from None
            core = getattr(self, attr)
            ws = self.workspace(key, core.workspace)
            found = cores[engine] = (core, ws, (engine, ws),
                                     core.arrival if engine in _FORWARD else None)
        return found

    def _core(self, engine: str) -> tuple[Any, Any]:
        """(engine, this thread's workspace for it)."""
        core, ws, _, _ = self._entry(engine)
        return core, ws

    def _record(self, engine: str, ws: Any) -> None:
        self._cores()[_LAST] = (engine, ws)

    # -- earliest arrival -----------------------------------------------------------------
    def _forward(self, q: Query, engine: str | None, *,
                 targets: bool = True) -> tuple[Any, Any, int]:
        if engine is None:
            engine = self.engine_for(q)
        if engine not in EARLIEST_ARRIVAL:
            raise ValueError(f"unknown earliest-arrival engine {engine!r}; choose one of "
                             f"{EARLIEST_ARRIVAL}")
        if targets and len(q.targets) == 0:
            raise ValueError("at least one target is needed")
        core, ws, last, _ = self._entry(engine)
        best = core.arrival(ws, q)
        self._cores()[_LAST] = last
        return core, ws, best

    def arrival(self, q: Query, engine: str | None = None) -> int | None:
        """Earliest arrival at the destination, or None; no journey is built (fast path).
        ``engine`` None: :meth:`engine_for`'s choice."""
        # what :meth:`_forward` does, inlined for a named engine already in use by this
        # thread: on small feeds the whole search takes a few microseconds, and each
        # helper frame, lookup and check on the way cost ~0.05-0.3 us of them. The
        # entry holds the bound ``arrival`` (None: not an earliest-arrival engine, which
        # ``_forward`` refuses), and a query without targets, which the engines answer
        # as one-to-all (never reaching one), is refused once its search found nothing
        try:
            cores = self._local.cores
            _, ws, last, arrival = cores[engine]
        except (AttributeError, KeyError):
            return self._arrival_first(q, engine)
        if arrival is None:
            return self._arrival_first(q, engine)
        best = arrival(ws, q)
        if best == INFINITY:
            if len(q.targets) == 0:
                raise ValueError("at least one target is needed")
            cores[_LAST] = last
            return None
        cores[_LAST] = last
        return best

    def _arrival_first(self, q: Query, engine: str | None) -> int | None:
        _, _, best = self._forward(q, engine)
        return None if best == INFINITY else best

    def arrival_and_transfers(self, q: Query,
                              engine: str | None = None) -> tuple[int | None, int]:
        """(earliest arrival or None, transfers of that journey or -1), no legs built."""
        core, ws, best = self._forward(q, engine)
        if best == INFINITY:
            return None, -1
        trips = core.results(ws, q)[0][2]
        return best, max(trips - 1, 0)

    def earliest(self, q: Query, engine: str | None = None) -> Journey | None:
        """The earliest-arrival journey (RAPTOR and Trip-Based: the one with fewest trips
        among them; ``engine`` None: :meth:`engine_for`'s choice)."""
        found = self.route(q, engine or self.engine_for(q)).journeys
        return found[0] if found else None

    def transfer_profile(self, q: Query) -> list[Journey]:
        """Every journey Pareto-optimal in (arrival, transfers) within ``q.max_transfers``,
        fewest transfers first: Trip-Based's rounds where it answers ``q``, else one
        RAPTOR run per bound (each the earliest arrival with fewer transfers than the
        last)."""
        if self.engine_for(q) == "tripbased":
            core, ws = self._core("tripbased")
            found = core.profile(ws, q)
            self._record("tripbased", ws)
            return [self._journey(q, raw) for raw in found]
        out: list[Journey] = []
        bound = q.max_transfers
        while True:
            best = self.earliest(replace(q, max_transfers=bound), "raptor")
            if best is None:
                break
            out.append(best)
            if best.transfers == 0:
                break
            bound = best.transfers - 1
        return out[::-1]

    def arrivals_by_transfers(self, q: Query) -> list[int | None]:
        """RAPTOR: entry ``k`` is the earliest arrival using at most ``k`` transfers."""
        _, ws, _ = self._forward(q, "raptor", targets=False)
        bests = self._round_bests(ws)[1:]  # round 0 is walking only
        bests += [bests[-1] if bests else None] * (q.max_trips - len(bests))
        return bests

    @staticmethod
    def _round_bests(ws: Any) -> list[int | None]:
        return [None if b == INFINITY else b for b in ws.round_bests()]

    def one_to_all(self, q: Query, engine: str = "raptor") -> np.ndarray:
        """Earliest arrival at every stop (``INFINITY`` where unreachable), int32[S]; the
        query's targets are ignored (the search scans to the end)."""
        _, ws, _ = self._forward(replace(q, targets=np.zeros((0, 2), dtype=np.int32),
                                         target_extra=None), engine, targets=False)
        return ws.arrivals()

    def one_to_all_trips(self, q: Query) -> tuple[np.ndarray, np.ndarray]:
        """RAPTOR from ``q``'s sources to every stop: (earliest arrival, ``INFINITY`` where
        unreached; trips of the fewest-trip journey arriving then, 0 for walking), both
        int32[S]. The targets are ignored."""
        _, ws, _ = self._forward(replace(q, targets=np.zeros((0, 2), dtype=np.int32),
                                         target_extra=None), "raptor", targets=False)
        return ws.arrivals(), ws.arrival_trips()

    def boardings_to(self, q: Query) -> tuple[np.ndarray, np.ndarray]:
        """Reverse RAPTOR from ``q``'s targets (deadline ``q.time``) over every stop: per
        stop the latest departure of a boarding there that arrives in time (``-INFINITY``:
        none) and that journey's trips, int32[S]. The sources are ignored; walking to the
        first boarding is the caller's (:mod:`planner.routing.reachability`)."""
        core, ws = self._core("reverse")
        core.search(ws, replace(q, sources=np.zeros((0, 2), dtype=np.int32),
                                source_extra=None))
        self._record("reverse", ws)
        lb, trips = ws.boardings()
        return lb, trips

    # -- one entry for every engine --------------------------------------------------------
    def raw(self, q: Query, engine: str = "raptor") -> list[RawJourney]:
        """Run one engine once on ``q``: its journeys as steps, no :class:`Journey` built
        (what :meth:`route` builds legs from; ``last_stats()`` has the counters)."""
        if engine in _FORWARD and len(q.targets) == 0:
            raise ValueError("at least one target is needed")
        try:  # as in arrival(): no helper frames once this thread ran the engine
            cores = self._local.cores
            core, ws, last, _ = cores[engine]
        except (AttributeError, KeyError):
            core, ws, last, _ = self._entry(engine)
            cores = self._local.cores
        found = core.search(ws, q)
        cores[_LAST] = last
        return found

    def route(self, q: Query, engine: str = "raptor") -> RoutingResult:
        """Run one engine once on ``q``; journeys are built with their legs."""
        found = self.raw(q, engine)
        ws = self._cores()[_LAST][1]
        stats = SearchStats(engine, *ws.counters())
        journeys = [self._journey(q, raw) for raw in found]
        if engine in ("raptor", "tripbased") and journeys:
            journeys[0].extra["round_bests"] = self._round_bests(ws)
        elif engine == "mcraptor":
            for journey, raw in zip(journeys, found, strict=True):
                journey.extra.update(walk=walk_seconds(q, raw), criterion=extra_criterion(q, raw))
        elif engine in ("rraptor", "rtripbased"):
            return RoutingResult(journeys, stats, ws.walk_only)
        return RoutingResult(journeys, stats)

    def _leg(self, tt: Timetable, trip: int, board: int, alight: int) -> TransitLeg:
        """The (immutable) leg of a ride, built once: a plan's searches find the same
        rides again and again (range, fewer transfers, latest departure)."""
        key = (trip, board, alight)
        leg = self._leg_cache.get(key)
        if leg is None:
            leg = transit_leg(tt, trip, board, alight)
            if self._leg_visits + len(leg.stops) > LEG_CACHE_VISITS:
                self._leg_cache.clear()
                self._leg_visits = 0
            self._leg_cache[key] = leg
            self._leg_visits += len(leg.stops)
        return leg

    def _journey(self, q: Query, raw: RawJourney) -> Journey:
        departure, arrival, _, _, target_row, steps = raw
        return build_journey(self._legs, steps, departure=departure, arrival=arrival,
                             target=int(q.targets[target_row, 0]), leg_of=self._leg,
                             egress=int(q.targets[target_row, 1]))

    def journey(self, q: Query, raw: RawJourney) -> Journey:
        """The :class:`Journey` of one of :meth:`raw`'s journeys for ``q`` (the one
        :meth:`route` builds), for a caller that picks which raw journeys to keep."""
        return self._journey(q, raw)

    def boarding(self, trip: int, pos: int) -> tuple[int, int]:
        """(stop, scheduled departure) of ``trip`` at route position ``pos``: what a raw
        journey's ride step says without building its leg."""
        tt = self._legs
        stop = tt.route_stops[int(tt.route_stop_offset[int(tt.trip_route[trip])]) + pos]
        return int(stop), int(tt.st_dep[int(tt.trip_st_offset[trip]) + pos])

    # -- conveniences over route() ---------------------------------------------------------
    def pareto(self, q: Query) -> list[Journey]:
        """McRAPTOR: journeys Pareto-optimal in arrival, transfers, walking and ``extra``;
        ``journey.extra`` has ``walk`` and ``criterion``."""
        return self.route(q, "mcraptor").journeys

    def profile(self, q: Query) -> RoutingResult:
        """A range query over departures in ``[q.time, q.time + q.window]``, by
        :meth:`range_engine_for`'s engine: journeys by departure, none dominated in
        (departure, arrival); those departing in the window leave as late as they can for
        their arrival. The last may depart after the window: it is the earliest arrival
        from the window's end by some journey (not necessarily leaving latest; the search
        policy asks the reverse engine for that). So for every ``d`` in the window the
        earliest arrival is the best journey departing at ``>= d`` (or ``d`` plus the
        walking-only time)."""
        return self.route(q, self.range_engine_for(q))

    def latest_departure(self, q: Query) -> Journey | None:
        """Arrive-by (reverse RAPTOR): the journey leaving latest that arrives by
        ``q.time`` with at most ``q.max_transfers`` transfers, and of those the earliest
        arrival from that departure. The reverse search takes the latest usable trip at
        every step back, which can mean a day's wait at a change (leave 08:00, ride, wait,
        arrive 08:30 next day where the same start arrives 08:40 today); the engine runs
        one forward RAPTOR from its departure for the journey a rider wants."""
        found = self.route(q, "reverse").journeys
        return found[0] if found else None
