"""One routing question, validated once, that every engine and the search policy read.

Modelled on nigiri's ``routing::query`` and OTP's ``RaptorRequest``: the engines know only
the compiled timetable and a :class:`Query`; HTTP parameters, batch CSV rows and planners'
matrices all become one.

* ``sources``/``targets``: ``int32[n, 2]`` rows ``(stop index, seconds)``: the access walk
  from the origin to the stop (added to the departure) and the egress walk from the stop
  to the destination (added to the arrival).
* ``time`` is on the timetable axis (``Timetable.time_of``): the departure, or with
  ``arrive_by`` the latest arrival.
* ``window``: depart-at looks at departures in ``[time, time + window]``, arrive-by at
  arrivals in ``[time - window, time]``; the search policy widens it up to
  ``max_window`` until ``min_journeys`` are found. With ``whole_window`` (MOTIS's
  reading) every journey of the window is an answer, however many; without, the first
  ``min_journeys`` are (a short window suffices and the search stops there).
* ``max_transfers`` means the same everywhere: transfers = trips - 1, so an engine runs
  at most ``max_trips = max_transfers + 1`` rounds.
* ``transfer_slack`` seconds are added to every transfer (change time at a stop and a
  footpath after alighting), never at the origin nor to arrivals.
* ``route_mask`` (``uint8[n_routes]``, 1 = may board) restricts the routes (modes);
  None allows all. Engines read it, so no timetable is copied per mode set.
* ``source_extra``/``target_extra`` (``int32`` per row) feed McRAPTOR's fourth criterion
  (e.g. rental seconds); None means 0.
* ``deadline``: ``time.monotonic()`` value after which the search policy stops widening
  or paging (a single engine run is never interrupted).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Highest ``max_transfers`` a query may ask for (RAPTOR keeps one label set per round).
MAX_TRANSFERS = 15
#: Default transfer bound where a caller gives none (MOTIS's default is 7).
DEFAULT_MAX_TRANSFERS = 7

StopOffsets = Sequence[tuple[int, int]] | np.ndarray


def as_rows(pairs: StopOffsets) -> np.ndarray:
    """``(stop, seconds)`` pairs as the C-contiguous ``int32[n, 2]`` the engines take."""
    if (isinstance(pairs, np.ndarray) and pairs.dtype == np.int32 and pairs.ndim == 2
            and pairs.shape[1] == 2 and pairs.flags.c_contiguous):
        return pairs
    return np.ascontiguousarray(np.asarray(pairs, dtype=np.int32).reshape(-1, 2))


def _extra(values: Sequence[int] | np.ndarray | None, n: int, what: str) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.ascontiguousarray(values, dtype=np.int32)
    if arr.shape != (n,):
        raise ValueError(f"{what} needs one value per {what.split('_')[0]} row "
                         f"({n}), got shape {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class Query:
    """A validated routing query (see the module docstring for each field)."""

    sources: np.ndarray
    targets: np.ndarray
    time: int
    arrive_by: bool = False
    window: int = 0
    min_journeys: int = 1
    max_window: int = 0
    max_transfers: int = DEFAULT_MAX_TRANSFERS
    transfer_slack: int = 0
    route_mask: np.ndarray | None = None
    source_extra: np.ndarray | None = None
    target_extra: np.ndarray | None = None
    deadline: float = math.inf
    whole_window: bool = False
    #: Rounds an engine runs: one trip more than transfers (set from ``max_transfers``;
    #: a plain attribute, which an engine reads faster than a property).
    max_trips: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        src, tgt = as_rows(self.sources), as_rows(self.targets)
        for name, rows in (("source", src), ("target", tgt)):
            bad = np.flatnonzero((rows < 0).any(axis=1))
            if len(bad):
                raise ValueError(f"bad {name} row {bad[0]}: negative stop index or seconds")
        if not 0 <= self.max_transfers <= MAX_TRANSFERS:
            raise ValueError(f"max_transfers must be in 0..{MAX_TRANSFERS}, "
                             f"got {self.max_transfers}")
        if self.transfer_slack < 0:
            raise ValueError(f"transfer_slack must be >= 0, got {self.transfer_slack}")
        if self.window < 0 or self.min_journeys < 1:
            raise ValueError("window must be >= 0 and min_journeys >= 1")
        mask = self.route_mask
        if mask is not None:
            mask = np.ascontiguousarray(mask, dtype=np.uint8)
            if mask.ndim != 1:
                raise ValueError("route_mask must be one flag per route")
        set_ = object.__setattr__
        set_(self, "sources", src)
        set_(self, "targets", tgt)
        set_(self, "time", int(self.time))
        set_(self, "max_window", max(int(self.max_window), int(self.window)))
        set_(self, "max_trips", self.max_transfers + 1)
        set_(self, "route_mask", mask)
        set_(self, "source_extra", _extra(self.source_extra, len(src), "source_extra"))
        set_(self, "target_extra", _extra(self.target_extra, len(tgt), "target_extra"))
        self._pack()

    def _pack(self) -> None:
        """``_engine_args``: the fields the engines read (``TimetableArrays.read_query``),
        in one tuple, so the kernel reads one attribute of the query instead of eight
        (each ~150 instructions, a fifth of a short search's call). The kernel still
        checks the arrays on every call; the fields it packs are never rebound (the
        query is frozen, and :meth:`_derived` packs its copy again)."""
        self.__dict__["_engine_args"] = (
            self.sources, self.targets, self.time, self.max_trips, self.transfer_slack,
            self.source_extra, self.target_extra, self.route_mask)

    def at(self, time: int, window: int | None = None) -> Query:
        """The same question at another time (and window)."""
        w = self.window if window is None else int(window)
        if w < 0:
            raise ValueError("window must be >= 0 and min_journeys >= 1")
        return self._derived(time=int(time), window=w, max_window=max(self.max_window, w))

    def with_max_transfers(self, max_transfers: int) -> Query:
        """The same question with another transfer bound."""
        if not 0 <= max_transfers <= MAX_TRANSFERS:
            raise ValueError(f"max_transfers must be in 0..{MAX_TRANSFERS}, "
                             f"got {max_transfers}")
        return self._derived(max_transfers=int(max_transfers))

    def _derived(self, **scalars: int) -> Query:
        """A copy with other scalar fields, already checked: the arrays are this query's,
        validated once (the search policy derives a dozen queries per plan, and checking
        the rows again was a visible share of a plan's CPU)."""
        q = object.__new__(Query)
        q.__dict__.update(self.__dict__)
        q.__dict__.update(scalars)
        q.__dict__["max_trips"] = q.max_transfers + 1  # derived from the bound, not copied
        q._pack()
        return q
