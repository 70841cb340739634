"""The small Python interface to the routing cores: queries in, journeys out.

Like OTP's RAPTOR module, a :class:`Router` is built once per timetable (it prebinds
the arrays in Cython objects) and answers many queries; each thread gets its own
scratch workspaces (``threading.local``), so queries can run in a thread pool.

Query conventions
-----------------
* ``sources``/``targets``: sequences of ``(stop_index, seconds)`` or an ``int32``
  array of shape ``(n, 2)``: the access walk from the query origin to the stop
  (added to the departure) and the egress walk from the stop to the destination
  (added to the arrival). The arrival at the destination is the minimum over
  targets of ``arrival(stop) + egress``; a source that is (or walks to) a target
  yields a walking-only journey.
* Times are on the timetable axis (``Timetable.time_of``).
* ``transfer_slack`` seconds are added to every transfer: the change time at a
  stop and a footpath taken after alighting (not the walk from the origin, and not
  the arrival at a stop, so a final footpath to a target costs no slack).
* ``max_transfers`` bounds RAPTOR's rounds (``max_transfers + 1`` trips). CSA has
  no such bound; compare the two with a bound that is never reached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from planner.routing.csa import CSA
from planner.routing.journeys import Journey, Step, build_journey
from planner.routing.mcraptor import McRaptor
from planner.routing.raptor import Raptor
from planner.routing.reverse_csa import ArriveBy
from planner.routing.rraptor import RangeRaptor
from planner.timetable.model import INFINITY, Timetable

ALGORITHMS = ("raptor", "csa")
StopOffsets = Sequence[tuple[int, int]] | np.ndarray


def as_rows(pairs: StopOffsets) -> np.ndarray:
    """``(stop, seconds)`` pairs as the C-contiguous ``int32[n, 2]`` the cores take."""
    if (isinstance(pairs, np.ndarray) and pairs.dtype == np.int32 and pairs.ndim == 2
            and pairs.flags.c_contiguous):
        return pairs
    arr = np.ascontiguousarray(np.asarray(pairs, dtype=np.int32).reshape(-1, 2))
    return arr


class Router:
    """Earliest-arrival queries on one :class:`Timetable` (thread-safe)."""

    def __init__(self, tt: Timetable) -> None:
        self.tt = tt
        self.csa = CSA(tt)
        self.raptor = Raptor(tt)
        self._local = threading.local()

    # -- per-thread workspaces (also for searches that other modules add) -------------
    def workspace(self, key: str, factory: Callable[[], Any]) -> Any:
        """This thread's scratch object ``key``, created by ``factory`` on first use."""
        spaces = getattr(self._local, "spaces", None)
        if spaces is None:
            spaces = self._local.spaces = {}
        ws = spaces.get(key)
        if ws is None:
            ws = spaces[key] = factory()
        return ws

    def _search(self, algorithm: str, src: np.ndarray, tgt: np.ndarray, departure: int,
                max_transfers: int, transfer_slack: int) -> tuple[Any, Any, int]:
        if algorithm == "raptor":
            if max_transfers < 0:
                raise ValueError("max_transfers must be >= 0")
            core = self.raptor
            ws = self.workspace("raptor", core.workspace)
            best = core.search(ws, src, tgt, departure, max_transfers + 1, transfer_slack)
        elif algorithm == "csa":
            core = self.csa
            ws = self.workspace("csa", core.workspace)
            best = core.search(ws, src, tgt, departure, transfer_slack)
        else:
            raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
        return core, ws, best

    def _search_to(self, algorithm: str, sources: StopOffsets, targets: StopOffsets,
                   departure: int, max_transfers: int,
                   transfer_slack: int) -> tuple[Any, Any, int, np.ndarray]:
        """A search towards targets (at least one): (core, workspace, best, target rows)."""
        tgt = as_rows(targets)
        if len(tgt) == 0:
            raise ValueError("at least one target is needed")
        core, ws, best = self._search(algorithm, as_rows(sources), tgt, int(departure),
                                      max_transfers, transfer_slack)
        return core, ws, best, tgt

    # -- queries ------------------------------------------------------------------------
    def arrival_time(self, sources: StopOffsets, targets: StopOffsets, departure: int, *,
                     algorithm: str = "raptor", max_transfers: int = 8,
                     transfer_slack: int = 0) -> int | None:
        """Earliest arrival at the destination, or None; no journey is built (fast path)."""
        _, _, best, _ = self._search_to(algorithm, sources, targets, departure,
                                        max_transfers, transfer_slack)
        return None if best == INFINITY else best

    def arrival_and_transfers(self, sources: StopOffsets, targets: StopOffsets,
                              departure: int, *, algorithm: str = "raptor",
                              max_transfers: int = 8,
                              transfer_slack: int = 0) -> tuple[int | None, int]:
        """(earliest arrival or None, transfers of that journey or -1), no legs built."""
        core, ws, best, tgt = self._search_to(algorithm, sources, targets, departure,
                                              max_transfers, transfer_slack)
        if best == INFINITY:
            return None, -1
        row, _ = core.best_target(ws, tgt)
        steps = core.journey_steps(ws, int(tgt[row, 0]))
        trips = sum(1 for step in steps if step[0] == "trip")
        return best, max(trips - 1, 0)

    def earliest_arrival(self, sources: StopOffsets, targets: StopOffsets, departure: int, *,
                         algorithm: str = "raptor", max_transfers: int = 8,
                         transfer_slack: int = 0) -> Journey | None:
        """The earliest-arrival journey (RAPTOR: the one with fewest trips among them)."""
        core, ws, best, tgt = self._search_to(algorithm, sources, targets, departure,
                                              max_transfers, transfer_slack)
        if best == INFINITY:
            return None
        row, arrival = core.best_target(ws, tgt)
        stop, egress = int(tgt[row, 0]), int(tgt[row, 1])
        steps: list[Step] = core.journey_steps(ws, stop)
        journey = self.build_journey(steps, departure=int(departure), arrival=int(arrival),
                                     target=stop, egress=egress)
        if algorithm == "raptor":
            journey.extra["round_bests"] = self._round_bests(ws)
        return journey

    def arrivals_by_transfers(self, sources: StopOffsets, targets: StopOffsets,
                              departure: int, *, max_transfers: int = 8,
                              transfer_slack: int = 0) -> list[int | None]:
        """RAPTOR: entry ``k`` is the earliest arrival using at most ``k`` transfers."""
        tgt = as_rows(targets)
        _, ws, _ = self._search("raptor", as_rows(sources), tgt, int(departure),
                                max_transfers, transfer_slack)
        bests = self._round_bests(ws)[1:]  # round 0 is walking only
        bests += [bests[-1] if bests else None] * (max_transfers + 1 - len(bests))
        return bests

    @staticmethod
    def _round_bests(ws: Any) -> list[int | None]:
        return [None if b == INFINITY else b for b in ws.round_bests()]

    def one_to_all(self, sources: StopOffsets, departure: int, *, algorithm: str = "raptor",
                   max_transfers: int = 8, transfer_slack: int = 0) -> np.ndarray:
        """Earliest arrival at every stop (``INFINITY`` where unreachable), int32[S]."""
        empty = np.zeros((0, 2), dtype=np.int32)
        _, ws, _ = self._search(algorithm, as_rows(sources), empty, int(departure),
                                max_transfers, transfer_slack)
        return ws.arrivals()

    # -- McRAPTOR, range (rRAPTOR) and arrive-by; cores built on first use ---------------
    @cached_property
    def mcraptor(self) -> McRaptor:
        return McRaptor(self.tt)

    @cached_property
    def range_raptor(self) -> RangeRaptor:
        return RangeRaptor(self.tt)

    @cached_property
    def arrive_by(self) -> ArriveBy:
        return ArriveBy(self.tt)

    def _from_core(self, src: np.ndarray, tgt: np.ndarray, steps: list[Step], *,
                   departure: int, arrival: int, source_row: int,
                   target_row: int) -> Journey:
        origin = ("origin", int(src[source_row, 0]), departure + int(src[source_row, 1]))
        return self.build_journey([origin, *steps], departure=departure, arrival=arrival,
                                  target=int(tgt[target_row, 0]),
                                  egress=int(tgt[target_row, 1]))

    def pareto(self, sources: StopOffsets, targets: StopOffsets, departure: int, *,
               max_transfers: int = 5, transfer_slack: int = 0,
               source_extra: Sequence[int] | None = None,
               target_extra: Sequence[int] | None = None) -> list[Journey]:
        """McRAPTOR: journeys Pareto-optimal in arrival, transfers, walking and ``extra``.

        ``source_extra``/``target_extra`` (one value per row, default 0) are summed into
        a fourth criterion, e.g. rental seconds, so rental access is kept apart from
        walking. Sorted by arrival; ``journey.extra`` has ``walk`` and ``criterion``.
        """
        src, tgt = as_rows(sources), as_rows(targets)
        core = self.mcraptor
        ws = self.workspace("mcraptor", core.workspace)
        out = []
        for arrival, _, walk, extra, srow, trow, steps in core.search(
                ws, src, tgt, int(departure), transfer_slack, max_transfers,
                source_extra, target_extra):
            journey = self._from_core(src, tgt, steps, departure=int(departure),
                                      arrival=arrival, source_row=srow, target_row=trow)
            journey.extra.update(walk=walk, criterion=extra)
            out.append(journey)
        return out

    def range_query(self, sources: StopOffsets, targets: StopOffsets, departure: int,
                    window: int = 7200, *, max_transfers: int = 10,
                    transfer_slack: int = 0) -> tuple[list[Journey], int | None]:
        """rRAPTOR: (journeys, walking-only seconds or None) for departures in the window.

        Journeys are sorted by departure (each one's latest departure), none dominated
        in (departure, arrival); the last may depart after the window, so for every
        ``d`` in it the earliest arrival is the best journey departing at ``>= d`` (or
        ``d`` plus the walking-only time).
        """
        src, tgt = as_rows(sources), as_rows(targets)
        core = self.range_raptor
        ws = self.workspace("range", core.workspace)
        found, walk_only = core.search(ws, src, tgt, int(departure), int(window),
                                       transfer_slack, max_transfers)
        journeys = [self._from_core(src, tgt, steps, departure=dep, arrival=arr,
                                    source_row=srow, target_row=trow)
                    for dep, arr, _, srow, trow, steps in found]
        return journeys, walk_only

    def latest_departure(self, sources: StopOffsets, targets: StopOffsets, arrival_by: int,
                         *, transfer_slack: int = 0) -> Journey | None:
        """Arrive-by (reverse CSA): the journey leaving latest that arrives by the time."""
        src, tgt = as_rows(sources), as_rows(targets)
        core = self.arrive_by
        ws = self.workspace("arriveby", core.workspace)
        found = core.search(ws, src, tgt, int(arrival_by), transfer_slack)
        if found is None:
            return None
        dep, arr, _, srow, trow, steps = found
        return self._from_core(src, tgt, steps, departure=dep, arrival=arr,
                               source_row=srow, target_row=trow)

    def build_journey(self, steps: Sequence[Step], *, departure: int, arrival: int,
                      target: int, egress: int = 0) -> Journey:
        return build_journey(self.tt, steps, departure=departure, arrival=arrival,
                             target=target, egress=egress)
