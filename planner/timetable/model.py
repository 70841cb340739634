"""The compiled timetable: flat NumPy arrays that the Cython routing core reads.

Layout follows RAPTOR (Delling et al.) and nigiri: everything is an index into a
flat array, variable-length lists are CSR (``*_offset`` of length n+1).

Time model
----------
All times are ``int32`` seconds since ``t0``: the UTC instant of local midnight (in
``timezone``) of ``dates[0]``. Each service day ``d`` contributes its trips at
``noon(d) - 12 h + gtfs_seconds`` (the GTFS rule, so DST switch days are right and
25:30:00 lands on the next calendar day). ``time_of``/``seconds_after_midnight``
convert between a (date, seconds after local midnight) pair and this axis.

Transfer model (identical in CSA, RAPTOR and the reference)
-----------------------------------------------------------
* After alighting at stop ``s`` at time ``a`` a traveller may board at ``s`` from
  ``a + stop_change_time[s]`` on, or walk a footpath ``(s, u, d)`` and board at ``u``
  from ``a + d``. Footpaths are transitively closed, so one hop is always enough,
  and they never contain self loops (the self "footpath" is ``stop_change_time``).
* The arrival time *at* a stop is ``a`` itself (no change time) or ``a + d`` via one
  footpath; targets use arrival times, boarding uses "ready" times.
* At the origin, the traveller may board at the source stop at the departure time,
  or at ``u`` after one footpath from the source.
* Boarding needs ``route_pickup`` and alighting ``route_dropoff`` at that position.
* ``stop_change_time[s] == NO_TRANSFER`` forbids boarding at ``s`` after alighting
  there; staying seated through ``s`` and walking away over a footpath stay allowed.
* A query's ``transfer_slack`` is added to both "ready" times after alighting (change
  time and footpath), never at the origin and never to arrival times.
* transfers.txt rows scoped to routes or trips override the two rules above for the
  trips they name (``route_alight_rule`` and the ``rule_*`` arrays, see
  ``planner.timetable.transfer_rules``): alighting at a position with an alight key
  ``x`` allows boarding, at a position with board key ``y``, ``rule_time`` seconds
  (plus slack) later for each ``(x, y)`` entry, and nothing else; arriving at a stop
  (and walking to a target) is not a change and stays as above.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

#: ``stop_change_time`` value meaning "no transfer at this stop" (transfer_type 3).
NO_TRANSFER = 1 << 29
#: "Unreached" time used by the routing core.
INFINITY = 2**31 - 1


def _no_rules(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.int32)


@dataclass(eq=False)
class Timetable:
    """A compiled, immutable timetable for a few service days.

    Array dtypes are fixed (``int32`` unless noted) so the Cython core can take
    ``const int[::1]`` memoryviews of them, including read-only memory maps.
    """

    # --- metadata -------------------------------------------------------------
    version: str  # content hash of the input feeds and compile options
    timezone: str  # IANA zone of the first agency; defines t0 and query dates
    dates: list[date]  # compiled service days, consecutive
    t0: int  # unix seconds of local midnight of dates[0]
    feed_ranges: dict[str, tuple[str, str]]  # feed name -> (first, last) service date, ISO

    # --- stops (S) --------------------------------------------------------------
    stop_ids: np.ndarray  # str, feed-scoped "feed:stop_id"
    stop_names: np.ndarray  # str
    stop_lat: np.ndarray  # float64
    stop_lon: np.ndarray  # float64
    stop_parent: np.ndarray  # int32, index of parent station or -1
    stop_change_time: np.ndarray  # int32, min transfer time at the stop (NO_TRANSFER forbids)
    stop_platform_code: np.ndarray  # str GTFS platform_code (the track riders see), may be ""
    stop_code: np.ndarray  # str GTFS stop_code, may be ""
    stop_desc: np.ndarray  # str GTFS stop_desc, may be ""
    stop_tz: np.ndarray  # str IANA zone: stop_timezone, the parent's, else ``timezone``

    # --- RAPTOR routes (R): trips with the same stop pattern, no overtaking --------
    route_stop_offset: np.ndarray  # int32[R+1] into route_stops
    route_stops: np.ndarray  # int32 stop index per route position
    route_pickup: np.ndarray  # uint8, 1 = boarding allowed at this route position
    route_dropoff: np.ndarray  # uint8, 1 = alighting allowed at this route position
    route_trip_offset: np.ndarray  # int32[R+1]; trips of r are route_trip_offset[r]..[r+1]
    route_line: np.ndarray  # int32[R] index into line_* (the GTFS route)

    # --- trips (T): one per (GTFS trip, service day), grouped by route, sorted ------
    trip_route: np.ndarray  # int32[T]
    trip_gtfs: np.ndarray  # int32[T] index into gtfs_trip_*
    trip_day: np.ndarray  # int16[T] index into dates
    trip_st_offset: np.ndarray  # int32[T+1] into st_arr/st_dep (one entry per route position)
    st_arr: np.ndarray  # int32 arrival time
    st_dep: np.ndarray  # int32 departure time

    # --- stop -> routes serving it ---------------------------------------------------
    stop_route_offset: np.ndarray  # int32[S+1]
    stop_route_route: np.ndarray  # int32
    stop_route_pos: np.ndarray  # int32 position of the stop in that route

    # --- CSA connections (C), sorted by (dep, arr, trip, pos) -----------------------
    conn_dep_stop: np.ndarray  # int32
    conn_arr_stop: np.ndarray  # int32
    conn_dep: np.ndarray  # int32
    conn_arr: np.ndarray  # int32
    conn_trip: np.ndarray  # int32 trip index
    conn_pos: np.ndarray  # int32 route position of the departure stop
    conn_pickup: np.ndarray  # uint8 boarding allowed at dep stop
    conn_dropoff: np.ndarray  # uint8 alighting allowed at arr stop

    # --- footpaths, transitively closed, no self loops (CSR by from-stop) ------------
    fp_offset: np.ndarray  # int32[S+1]
    fp_to: np.ndarray  # int32
    fp_dur: np.ndarray  # int32 seconds
    fp_in_offset: np.ndarray  # int32[S+1], the same footpaths by to-stop
    fp_in_from: np.ndarray  # int32
    fp_in_dur: np.ndarray  # int32

    # --- GTFS routes ("lines") and trips, for building results ----------------------
    line_ids: np.ndarray  # str feed-scoped route_id
    line_short_name: np.ndarray  # str
    line_long_name: np.ndarray  # str
    line_type: np.ndarray  # int32 route_type
    line_color: np.ndarray  # str hex without '#', may be ""
    line_text_color: np.ndarray  # str
    line_agency_name: np.ndarray  # str
    line_agency_id: np.ndarray  # str feed-scoped agency_id, may be ""
    line_agency_url: np.ndarray  # str
    line_url: np.ndarray  # str GTFS route_url, may be ""
    gtfs_trip_ids: np.ndarray  # str feed-scoped trip_id
    gtfs_trip_headsign: np.ndarray  # str
    gtfs_trip_line: np.ndarray  # int32
    gtfs_trip_shape: np.ndarray  # str feed-scoped shape_id or ""
    gtfs_trip_short_name: np.ndarray  # str, may be ""
    gtfs_trip_direction: np.ndarray  # int8 GTFS direction_id, -1 when absent
    gtfs_trip_bikes: np.ndarray  # int8 GTFS bikes_allowed (0 unknown, 1 yes, 2 no)
    gtfs_trip_wheelchair: np.ndarray  # int8 GTFS wheelchair_accessible (0, 1, 2)
    gtfs_trip_source_line: np.ndarray  # int32 line of the trip in its feed's trips.txt

    # --- transfers.txt rows scoped to routes or trips (planner.timetable.transfer_rules)
    # empty when the feed has none; X alight keys, Y board keys, E allowed changes
    route_alight_rule: np.ndarray = field(default_factory=lambda: _no_rules(0))  # int32 x/-1
    route_board_rule: np.ndarray = field(default_factory=lambda: _no_rules(0))  # int32 y/-1
    rule_alight_stop: np.ndarray = field(default_factory=lambda: _no_rules(0))  # int32[X]
    rule_board_stop: np.ndarray = field(default_factory=lambda: _no_rules(0))  # int32[Y]
    rule_offset: np.ndarray = field(default_factory=lambda: _no_rules(1))  # int32[X+1]
    rule_board: np.ndarray = field(default_factory=lambda: _no_rules(0))  # int32[E] y
    rule_time: np.ndarray = field(default_factory=lambda: _no_rules(0))  # int32[E] seconds
    rule_in_offset: np.ndarray = field(default_factory=lambda: _no_rules(1))  # int32[Y+1]
    rule_in_alight: np.ndarray = field(default_factory=lambda: _no_rules(0))  # int32[E] x
    rule_in_time: np.ndarray = field(default_factory=lambda: _no_rules(0))  # int32[E]

    extra: dict[str, object] = field(default_factory=dict)  # compile statistics

    # --- sizes -----------------------------------------------------------------------
    @property
    def n_stops(self) -> int:
        return len(self.stop_ids)

    @property
    def n_routes(self) -> int:
        return len(self.route_line)

    @property
    def n_trips(self) -> int:
        return len(self.trip_route)

    @property
    def n_connections(self) -> int:
        return len(self.conn_dep)

    @property
    def n_footpaths(self) -> int:
        return len(self.fp_to)

    # --- time axis --------------------------------------------------------------------
    def time_of(self, day: date, seconds: int = 0) -> int:
        """Timetable time of ``seconds`` elapsed after local midnight of ``day``."""
        midnight = datetime.combine(day, time(0), ZoneInfo(self.timezone))
        return int(midnight.timestamp()) - self.t0 + int(seconds)

    def seconds_after_midnight(self, day: date, t: int) -> int:
        """Inverse of :meth:`time_of` for a fixed ``day``."""
        return int(t) - self.time_of(day, 0)

    def to_datetime(self, t: int) -> datetime:
        """Aware local datetime of a timetable time (for API output)."""
        return datetime.fromtimestamp(self.t0 + int(t), ZoneInfo(self.timezone))

    def covers(self, day: date) -> bool:
        return self.dates[0] <= day <= self.dates[-1]

    def stop_index(self, stop_id: str) -> int:
        """Index of a feed-scoped stop id; raises KeyError naming it.

        One scan of the stop ids and nothing remembered (the timetable is immutable and
        shares ``extra`` with its derived copies): for many lookups build a
        :class:`StopLookup` once."""
        hits = np.flatnonzero(np.asarray(self.stop_ids) == stop_id)
        if len(hits) == 0:
            raise KeyError(f"unknown stop id {stop_id!r}")
        return int(hits[0])

    # --- persistence: a directory of .npy files, memory-mapped back -------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                arr = value
                if arr.dtype == object:
                    arr = arr.astype(str) if len(arr) else np.zeros(0, dtype="<U1")
                np.save(directory / f"{f.name}.npy", arr, allow_pickle=False)
            elif f.name == "dates":
                meta[f.name] = [d.isoformat() for d in value]
            elif f.name == "extra":
                meta[f.name] = {k: v for k, v in value.items() if not k.startswith("_")}
            else:
                meta[f.name] = value
        tmp = directory / "meta.json.tmp"
        tmp.write_text(json.dumps(meta))
        tmp.replace(directory / "meta.json")  # written last: marks the cache complete

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> Timetable:
        meta = json.loads((directory / "meta.json").read_text())
        kwargs: dict[str, Any] = {}  # field name -> its value from meta.json or its .npy
        for f in fields(cls):
            if f.name in meta:
                value = meta[f.name]
                if f.name == "dates":
                    value = [date.fromisoformat(d) for d in value]
                elif f.name == "feed_ranges":
                    value = {k: tuple(v) for k, v in value.items()}
                kwargs[f.name] = value
            else:
                kwargs[f.name] = np.load(
                    directory / f"{f.name}.npy", mmap_mode="r" if mmap else None
                )
        return cls(**kwargs)


class StopLookup:
    """Stop ids to indices for one timetable, built once by whoever looks up many (the
    API's prepared timetable, a batch of queries) and kept there, not in the timetable."""

    def __init__(self, stop_ids: Sequence[str] | np.ndarray) -> None:
        self.stop_ids = stop_ids
        self._scoped = {str(s): i for i, s in enumerate(stop_ids)}

    def __len__(self) -> int:
        return len(self._scoped)

    def index(self, stop_id: str) -> int:
        """Index of a feed-scoped stop id (``feed:stop``); raises KeyError naming it."""
        try:
            return self._scoped[stop_id]
        except KeyError:
            raise KeyError(f"unknown stop id {stop_id!r}") from None

    def resolve(self, stop_id: str) -> int:
        """Like :meth:`index`, but an id without its feed prefix is accepted when exactly
        one feed has it."""
        i = self._scoped.get(stop_id)
        if i is None:
            i = self._unscoped.get(stop_id, -1)
        if i < 0:
            raise KeyError(f"unknown stop id {stop_id!r}")
        return i

    @cached_property
    def _unscoped(self) -> dict[str, int]:
        """Raw GTFS id -> index, -1 where several feeds use it (built on the first miss;
        two threads building it at once build the same dict)."""
        out: dict[str, int] = {}
        for i, sid in enumerate(self.stop_ids):
            raw = str(sid).split(":", 1)[-1]
            out[raw] = -1 if raw in out else i
        return out


def plain_arrays(tt: Timetable) -> Timetable:
    """The timetable with plain ndarray views of its memory maps (no copy).

    ``np.memmap.__getitem__`` and ``__array_finalize__`` are Python code run on every scalar
    read and slice; building a response reads thousands, so views skip that overhead.
    """
    views: dict[str, Any] = {f.name: np.asarray(getattr(tt, f.name)) for f in fields(tt)
                             if isinstance(getattr(tt, f.name), np.memmap)}
    return replace(tt, **views) if views else tt


def day_offsets(timezone: str, dates: list[date], t0: int) -> np.ndarray:
    """Per service day: timetable time of "noon minus 12 h" (the GTFS day origin)."""
    tz = ZoneInfo(timezone)
    out = np.empty(len(dates), dtype=np.int64)
    for i, d in enumerate(dates):
        noon = datetime.combine(d, time(12), tz)
        out[i] = int(noon.timestamp()) - 12 * 3600 - t0
    return out


def date_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
