"""TripUpdates checked against the static timetable, turned into patches.

Every entity is matched alone; one that cannot be applied in full is skipped and counted
by reason (:class:`~feeds.realtime.skips.Skips`, with an example entity id), never half
applied. What passes becomes a :class:`Patches`: cancelled trip instances, stop time
updates by route position (times still relative to the schedule, resolved by
:mod:`planner.realtime.times`), and added trips with their own stops and times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from feeds.realtime.messages import StopUpdate, TripUpdate
from feeds.realtime.skips import Skips
from planner.realtime.index import StaticIndex
from planner.timetable.model import day_offsets

#: Without start_date, the instance whose schedule is nearest to the update is chosen,
#: but only within this many seconds of it (else the update names no running trip).
NEAREST_INSTANCE = 3 * 3600
#: stop time update relationship codes in :class:`Patches`
SCHEDULED, SKIPPED, NO_DATA = 0, 1, 2
_REL = {"SCHEDULED": SCHEDULED, "SKIPPED": SKIPPED, "NO_DATA": NO_DATA}
CANCELLING = ("CANCELED", "DELETED")
ADDING = ("ADDED", "NEW")


@dataclass
class AddedTrip:
    entity_id: str
    gtfs_id: str  # feed-scoped trip id
    line: int
    day: int
    headsign: str
    stops: list[int]
    arr: list[int]  # timetable times
    dep: list[int]
    pickup: list[int]
    dropoff: list[int]


@dataclass
class Patches:
    """The applicable content of one set of TripUpdates."""

    cancelled: dict[int, str] = field(default_factory=dict)  # timetable trip -> entity id
    #: per patched timetable trip: entity id, and its updates as parallel lists
    trips: list[int] = field(default_factory=list)
    entity: list[str] = field(default_factory=list)
    #: flat over all updates: patch number, route position, relationship, and arrival /
    #: departure as (value, is_time): value is a timetable time if is_time, else a delay
    u_patch: list[int] = field(default_factory=list)
    u_pos: list[int] = field(default_factory=list)
    u_rel: list[int] = field(default_factory=list)
    u_arr: list[int] = field(default_factory=list)
    u_arr_kind: list[int] = field(default_factory=list)  # 0 none, 1 time, 2 delay
    u_dep: list[int] = field(default_factory=list)
    u_dep_kind: list[int] = field(default_factory=list)
    added: list[AddedTrip] = field(default_factory=list)
    skips: Skips = field(default_factory=Skips)
    #: applied, but with a correction (e.g. a stop_sequence the stop_id overrode)
    notes: Skips = field(default_factory=lambda: Skips(what="corrected"))


class _Skip(ValueError):
    """This entity is skipped; the message is the reason."""


def _kind(ev: object | None, t0: int) -> tuple[int, int]:
    """(value, kind) of a StopTimeEvent: an absolute time wins over a delay."""
    if ev is None:
        return 0, 0
    time, delay = getattr(ev, "time", None), getattr(ev, "delay", None)
    if time is not None:
        return int(time) - t0, 1
    return int(delay or 0), 2


class Matcher:
    """Turns TripUpdates of feeds tied to static feeds into :class:`Patches`."""

    def __init__(self, index: StaticIndex) -> None:
        self.ix = index
        tt = index.tt
        self.t0 = tt.t0
        self.day_origin = day_offsets(tt.timezone, tt.dates, tt.t0).tolist()
        self._st_dep = tt.st_dep
        self._st_arr = tt.st_arr

    def match(self, updates: list[tuple[str, TripUpdate]], now: float | None = None
              ) -> Patches:
        """``updates``: (static feed scope, TripUpdate) pairs; ``now`` (POSIX) picks the
        instance of updates without start_date or times."""
        out = Patches()
        seen: dict[tuple[str, int], str] = {}
        for scope, tu in updates:
            try:
                self._one(out, scope, tu, now, seen)
            except _Skip as why:
                out.skips.add(str(why), tu.entity_id)
        return out

    def _one(self, out: Patches, scope: str, tu: TripUpdate, now: float | None,
             seen: dict[tuple[str, int], str]) -> None:
        if tu.relationship in ADDING:
            added = self._added(scope, tu)
            key = ("added:" + added.gtfs_id, added.day)
            if key in seen:
                raise _Skip("duplicate trip update")
            seen[key] = tu.entity_id
            out.added.append(added)
            return
        if tu.relationship not in ("SCHEDULED", *CANCELLING):
            raise _Skip(f"unsupported schedule_relationship {tu.relationship}")
        g = self.ix.trip_of_id.get(f"{scope}:{tu.trip_id}")
        if g is None:
            raise _Skip("unknown trip_id")
        trip = self._instance(g, tu, now)
        if (scope, trip) in seen:
            raise _Skip("duplicate trip update")
        if tu.relationship in CANCELLING:
            seen[(scope, trip)] = tu.entity_id
            out.cancelled[trip] = tu.entity_id
            return
        rows = self._positions(scope, g, trip, tu.updates, out.notes, tu.entity_id)
        if not rows and tu.delay is None:
            return  # nothing to change: the trip runs as scheduled
        seen[(scope, trip)] = tu.entity_id
        patch = len(out.trips)
        out.trips.append(trip)
        out.entity.append(tu.entity_id)
        if not rows:  # a trip-level delay only: it carries forward from the first stop
            rows = [(0, SCHEDULED, tu.delay or 0, 2, tu.delay or 0, 2)]
        for pos, rel, arr, arr_kind, dep, dep_kind in rows:
            out.u_patch.append(patch)
            out.u_pos.append(pos)
            out.u_rel.append(rel)
            out.u_arr.append(arr)
            out.u_arr_kind.append(arr_kind)
            out.u_dep.append(dep)
            out.u_dep_kind.append(dep_kind)

    def _instance(self, g: int, tu: TripUpdate, now: float | None) -> int:
        """The timetable trip an update means: by start_date (and start_time for
        frequency trips), else the instance scheduled nearest to its times."""
        candidates = self.ix.instances(g)
        if not candidates:
            raise _Skip("trip does not run on the loaded days")
        if tu.start_date is not None:
            day = self.ix.day_index(tu.start_date)
            if day is None:
                raise _Skip("start_date outside the loaded days")
            candidates = [t for t in candidates if self.ix.trip_day[t] == day]
            if not candidates:
                raise _Skip("trip does not run on start_date")
            if tu.start_time is not None and len(candidates) > 1:
                h, m, s = (int(x) for x in tu.start_time.split(":"))
                start = self.day_origin[day] + h * 3600 + m * 60 + s
                candidates = [t for t in candidates
                              if int(self._st_dep[self.ix.trip_st_offset[t]]) == start]
                if not candidates:
                    raise _Skip("no trip instance at start_time")
        if len(candidates) == 1:
            return candidates[0]
        ref = self._reference_time(tu, now)
        if ref is None:
            raise _Skip("ambiguous trip instance (no start_date and no time)")
        best, best_gap = candidates[0], None
        for t in candidates:
            first = int(self._st_dep[self.ix.trip_st_offset[t]])
            last = int(self._st_arr[self.ix.trip_st_offset[t + 1] - 1])
            gap = max(first - ref, ref - last, 0)
            if best_gap is None or gap < best_gap:
                best, best_gap = t, gap
        if best_gap is None or best_gap > NEAREST_INSTANCE:
            raise _Skip("no trip instance near the update's time")
        return best

    def _reference_time(self, tu: TripUpdate, now: float | None) -> int | None:
        for u in tu.updates:
            for ev in (u.departure, u.arrival):
                if ev is not None and ev.time is not None:
                    return int(ev.time) - self.t0
        stamp = tu.timestamp if tu.timestamp is not None else now
        return None if stamp is None else int(stamp) - self.t0

    def _positions(self, scope: str, g: int, trip: int, updates: tuple[StopUpdate, ...],
                   notes: Skips, entity: str) -> list[tuple[int, int, int, int, int, int]]:
        """Each update as (position, relationship, arr, arr kind, dep, dep kind); a stop
        id wins over a stop_sequence that names another stop (counted in ``notes``)."""
        stops = self.ix.positions(trip)
        seq_pos = self.ix.seq_positions(g, len(stops))
        rows: list[tuple[int, int, int, int, int, int]] = []
        last = -1
        for u in updates:
            rel = _REL.get(u.relationship)
            if rel is None:
                raise _Skip(f"impossible stop schedule_relationship {u.relationship} on a "
                            "scheduled trip")
            stop = None
            if u.stop_id is not None:
                stop = self.ix.stop_of_id.get(f"{scope}:{u.stop_id}")
                if stop is None:
                    raise _Skip("unknown stop_id")
            pos = -1
            if u.stop_sequence is not None and seq_pos is not None:
                pos = seq_pos.get(u.stop_sequence, -1)
                if stop is None and pos < 0:
                    raise _Skip("unknown stop_sequence")
            elif stop is None:
                raise _Skip("stop_sequence without stop_times to resolve it")
            if stop is not None and (pos < 0 or (stops[pos] != stop
                                                 and not self.ix.same_place(stop, stops[pos]))):
                # the stop id decides (feeds drift from the static stop_sequence values);
                # the next call of that stop after the previous update
                found = next((p for p in range(last + 1, len(stops))
                              if self.ix.same_place(stops[p], stop)), -1)
                if found < 0:
                    raise _Skip("stop not served by the trip")
                if u.stop_sequence is not None:
                    notes.add("stop_sequence disagrees with stop_id (matched by stop_id)",
                              entity)
                pos = found
            if pos <= last:
                raise _Skip("stop time updates out of order")
            last = pos
            arr, arr_kind = _kind(u.arrival, self.t0)
            dep, dep_kind = _kind(u.departure, self.t0)
            rows.append((pos, rel, arr, arr_kind, dep, dep_kind))
        return rows

    def _added(self, scope: str, tu: TripUpdate) -> AddedTrip:
        gtfs_id = f"{scope}:{tu.trip_id}"
        if gtfs_id in self.ix.trip_of_id:
            raise _Skip("added trip_id already in the schedule")
        line = self.ix.line_of_id.get(f"{scope}:{tu.route_id}") if tu.route_id else None
        if line is None:
            raise _Skip("added trip without a known route_id")
        stops: list[int] = []
        arr: list[int] = []
        dep: list[int] = []
        pickup: list[int] = []
        for u in tu.updates:
            stop = self.ix.stop_of_id.get(f"{scope}:{u.stop_id}") if u.stop_id else None
            if stop is None:
                raise _Skip("added trip with an unknown stop_id")
            if u.relationship not in ("SCHEDULED", "SKIPPED"):
                raise _Skip(f"impossible stop schedule_relationship {u.relationship} on an "
                            "added trip")
            a = u.arrival.time if u.arrival is not None else None
            d = u.departure.time if u.departure is not None else None
            if a is None and d is None:
                raise _Skip("added trip stop without a time")
            stops.append(stop)
            arr.append(int(a if a is not None else d) - self.t0)  # type: ignore[arg-type]
            dep.append(int(d if d is not None else a) - self.t0)  # type: ignore[arg-type]
            pickup.append(0 if u.relationship == "SKIPPED" else 1)
        if sum(pickup) < 2:
            raise _Skip("added trip with fewer than two stops")
        times = [x for pair in zip(arr, dep, strict=True) for x in pair]
        if any(b < a for a, b in zip(times, times[1:], strict=False)):
            raise _Skip("times go backwards along the trip")
        day = self._added_day(tu, dep[0])
        return AddedTrip(tu.entity_id, gtfs_id, line, day, "", stops, arr, dep, pickup,
                         list(pickup))

    def _added_day(self, tu: TripUpdate, first_dep: int) -> int:
        if tu.start_date is not None:
            day = self.ix.day_index(tu.start_date)
            if day is None:
                raise _Skip("start_date outside the loaded days")
            return day
        days = [d for d, origin in enumerate(self.day_origin) if origin <= first_dep]
        if not days or first_dep >= self.day_origin[-1] + 2 * 86400:
            raise _Skip("start_date outside the loaded days")
        return days[-1]
