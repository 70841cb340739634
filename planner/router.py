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
from typing import Any

import numpy as np

from planner.csa import CSA
from planner.journeys import Journey, Step, build_journey
from planner.raptor import Raptor
from planner.timetable import INFINITY, Timetable

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

    # -- queries ------------------------------------------------------------------------
    def arrival_time(self, sources: StopOffsets, targets: StopOffsets, departure: int, *,
                     algorithm: str = "raptor", max_transfers: int = 8,
                     transfer_slack: int = 0) -> int | None:
        """Earliest arrival at the destination, or None; no journey is built (fast path)."""
        tgt = as_rows(targets)
        if len(tgt) == 0:
            raise ValueError("at least one target is needed")
        _, _, best = self._search(algorithm, as_rows(sources), tgt, int(departure),
                                  max_transfers, transfer_slack)
        return None if best == INFINITY else best

    def arrival_and_transfers(self, sources: StopOffsets, targets: StopOffsets,
                              departure: int, *, algorithm: str = "raptor",
                              max_transfers: int = 8,
                              transfer_slack: int = 0) -> tuple[int | None, int]:
        """(earliest arrival or None, transfers of that journey or -1), no legs built."""
        tgt = as_rows(targets)
        if len(tgt) == 0:
            raise ValueError("at least one target is needed")
        core, ws, best = self._search(algorithm, as_rows(sources), tgt, int(departure),
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
        tgt = as_rows(targets)
        if len(tgt) == 0:
            raise ValueError("at least one target is needed")
        core, ws, best = self._search(algorithm, as_rows(sources), tgt, int(departure),
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

    def build_journey(self, steps: Sequence[Step], *, departure: int, arrival: int,
                      target: int, egress: int = 0) -> Journey:
        return build_journey(self.tt, steps, departure=departure, arrival=arrival,
                             target=target, egress=egress)
