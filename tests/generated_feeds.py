"""Small random GTFS feeds and queries for the property-based engine tests (hypothesis).

A drawn :class:`FeedSpec` is written with :func:`tests.feedmaker.write_feed` and compiled
with ``footpath_radius=0``, so every footpath comes from transfers.txt: the feed covers
what real, minute-granular feeds with symmetric walking links do not:

* times to the second, zero-duration hops and dwells, trips of one line that overtake
  (the compiler splits their route), a few trips after midnight (``24:xx:xx``);
* pickup_type / drop_off_type 1 on random stop times;
* per-stop change times (``S,S,2,t``, ``t`` seconds, 0 included) and no-transfer stops
  (``S,S,3``), and a default change time for the other stops;
* footpaths between different stops in ONE direction only (type 2 with a time, type 0
  walking the straight line, 556 m between neighbours), ASYMMETRIC pairs, and type 3
  rows that remove a footpath the closure would add;
* transfers.txt rows scoped to routes and trips (both sides, one side, trip and route
  mixed; types 1, 2 and 3, at one stop or between two), often at the seconds that decide
  a change, so they override the stop-level rules above in both directions.

Queries have several source and target rows with walking offsets, a transfer slack and
a trip bound, all on :data:`DAY`.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import strategies as st

from planner.routing.query import Query
from planner.timetable.compile import CompileOptions, compile_timetable
from planner.timetable.model import Timetable
from tests.feedmaker import write_feed

DAY = date(2026, 6, 10)
T = TypeVar("T")
H = 3600

def _without_project_constants() -> None:
    """Make Hypothesis draw from the seed alone, not from the project's code.

    Hypothesis mixes number constants it harvests from every loaded non-test module into
    its integer draws (5 % of them). Even with ``derandomize`` the examples then changed
    whenever anyone added a constant anywhere (a 120 s default change time, a 600 s
    walking limit), and the tests that check what the generated feeds cover failed for
    code they do not test. There is no setting for it, so the harvest is switched off
    here; this fails loudly if a Hypothesis release renames it."""
    from hypothesis.internal.conjecture import providers

    empty = providers.Constants(integers=providers.SortedSet(),
                                floats=providers.SortedSet(key=providers.float_to_int),
                                bytes=providers.SortedSet(), strings=providers.SortedSet())
    assert callable(providers._get_local_constants)
    providers._get_local_constants = lambda: empty


_without_project_constants()


def property_settings(max_examples: int) -> settings:
    """Fixed, reproducible settings for a property test: the same examples on every run
    (derandomize, no example database, so no ``.hypothesis`` directory), a bounded
    number of them, no per-example deadline, and no HYPOTHESIS_PROFILE involved: built on
    the library's own "default" profile, not on whatever profile is loaded."""
    return settings(
        settings.get_profile("default"),
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        verbosity=Verbosity.normal,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@dataclass(frozen=True)
class TripSpec:
    stops: tuple[int, ...]
    times: tuple[tuple[int, int], ...]  # (arrival, departure) seconds after midnight
    pickup: tuple[int, ...]  # GTFS pickup_type, 0 or 1
    dropoff: tuple[int, ...]  # GTFS drop_off_type, 0 or 1


@dataclass(frozen=True)
class FeedSpec:
    n_stops: int
    backbone: tuple[int, ...]  # the stops in the order most lines run along them
    lines: tuple[tuple[TripSpec, ...], ...]  # trips per GTFS route
    transfers: tuple[tuple[int, int, int, int], ...]  # (from, to, type, seconds or -1)
    default_change_time: int = 0
    # (from, to, type, seconds or -1, from_route, to_route, from_trip, to_trip; "" = any)
    scoped: tuple[tuple[int, int, int, int, str, str, str, str], ...] = ()

    def write(self, folder: Path) -> Path:
        stops = "stop_id,stop_name,stop_lat,stop_lon\n" + "".join(
            f"S{i},Stop {i},{52.0 + 0.005 * i:.3f},8.5\n" for i in range(self.n_stops))
        routes = "route_id,agency_id,route_short_name,route_long_name,route_type\n" + "".join(
            f"L{i},A,{i},Line {i},3\n" for i in range(len(self.lines)))
        trips = "route_id,service_id,trip_id\n"
        stop_times = ("trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,"
                      "drop_off_type\n")
        for i, line in enumerate(self.lines):
            for j, trip in enumerate(line):
                trips += f"L{i},WK,t{i}_{j}\n"
                for seq, (s, (a, d), pu, do) in enumerate(zip(
                        trip.stops, trip.times, trip.pickup, trip.dropoff, strict=True)):
                    stop_times += f"t{i}_{j},{hms(a)},{hms(d)},S{s},{seq + 1},{pu},{do}\n"
        transfers = None
        if self.transfers or self.scoped:
            rows = [(a, b, kind, secs, "", "", "", "") for a, b, kind, secs in self.transfers]
            transfers = ("from_stop_id,to_stop_id,transfer_type,min_transfer_time,"
                         "from_route_id,to_route_id,from_trip_id,to_trip_id\n") + "".join(
                f"S{a},S{b},{kind},{'' if secs < 0 else secs},{fr},{tr},{ft},{tt}\n"
                for a, b, kind, secs, fr, tr, ft, tt in [*rows, *self.scoped])
        return write_feed(folder, stops=stops, routes=routes, trips=trips,
                          stop_times=stop_times, transfers=transfers)

    def compile(self) -> Timetable:
        with tempfile.TemporaryDirectory(prefix="owl-gen-") as tmp:
            feed = self.write(Path(tmp) / "f")
            # The closure unbounded: long chains of transfers.txt links are part of what
            # the engines are compared on (the bound is the compiler's, not the engines').
            return compile_timetable([feed], DAY, CompileOptions(
                footpath_radius=0, default_change_time=self.default_change_time,
                footpath_max_walk=0))


def hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# ---- strategies --------------------------------------------------------------------------
# Plain functions of ``draw`` over cached integer strategies: building strategies per
# draw (one_of, sampled_from of fresh lists, composites) cost more than compiling a feed.
# Hypothesis favours the smallest value of a range (and the first option), so that is
# the common case everywhere and the rare ones come last.
def _pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    return options[draw(st.integers(0, len(options) - 1))]


def _seconds(draw: st.DrawFn, top: int) -> int:
    """Any second up to ``top``, 0 (zero-duration hops, footpaths, change times) often."""
    return draw(st.integers(0, top))


def _line(draw: st.DrawFn, backbone: tuple[int, ...], first: int | None,
          feeder: tuple[TripSpec, ...],
          gaps: dict[int, list[int]]) -> tuple[TripSpec, ...]:
    """Trips along the backbone from position ``first`` to the next stop or two, or
    (``first`` None) over a random window of it, a fifth of those backwards. A trip mostly
    leaves its first stop shortly (-60 to 300 s) after a ``feeder`` trip arrives there,
    so change times, slack and footpaths decide whether a change works; those seconds
    are added to ``gaps`` of the stop."""
    n = len(backbone)
    if first is not None:
        length = min(n - first, _pick(draw, (2, 2, 2, 3)))
        pattern = backbone[first:first + length]
    else:
        length = min(n, _pick(draw, (2, 3, 4)))
        first = draw(st.integers(0, n - length))
        pattern = backbone[first:first + length]
        if draw(st.integers(0, 4)) == 4:
            pattern = pattern[::-1]
    hops = [_seconds(draw, 600) for _ in range(length - 1)]
    arrivals = [a for t in feeder for s, (a, _) in zip(t.stops, t.times, strict=True)
                if s == pattern[0]]
    trips = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 5))
        if kind == 5:  # around midnight: 23:30 to 24:30
            start = draw(st.integers(23 * H + 1800, 24 * H + 1800))
        elif kind == 4 or not arrivals:
            start = 7 * H + 300 * first + draw(st.integers(0, 1800))
        else:
            start = max(0, _pick(draw, arrivals) + draw(st.integers(-60, 300)))
        own = draw(st.booleans())  # its own running times: may overtake the others
        run = [_seconds(draw, 600) for _ in range(length - 1)] if own else hops
        times, t = [], start
        for p in range(length):
            dwell = _pick(draw, (0, 0, 0, 30, 59))
            times.append((t, t + dwell))
            t += dwell + (run[p] if p < length - 1 else 0)
        gaps.setdefault(pattern[0], []).extend(
            times[0][1] - a for a in arrivals if 0 <= times[0][1] - a <= 300)
        pickup = tuple(int(draw(st.integers(0, 9)) == 9) for _ in range(length))
        dropoff = tuple(int(draw(st.integers(0, 9)) == 9) for _ in range(length))
        trips.append(TripSpec(pattern, tuple(times), pickup, dropoff))
    return tuple(trips)


@st.composite
def feed_specs(draw: st.DrawFn) -> FeedSpec:
    n = draw(st.integers(3, 6))
    backbone = tuple(draw(st.permutations(range(n))))
    lines: list[tuple[TripSpec, ...]] = []
    gaps: dict[int, list[int]] = {}  # stop -> seconds between a feeder's arrival and a trip
    for first in range(n - 1):  # a chain of lines, each fed by the one before
        lines.append(_line(draw, backbone, first, lines[-1] if lines else (), gaps))
    for _ in range(_pick(draw, (0, 1, 1, 2))):  # and a few others
        lines.append(_line(draw, backbone, None, _pick(draw, lines), gaps))
    transfers: list[tuple[int, int, int, int]] = []
    for s in range(n):  # per-stop change time: the default, seconds, or no transfer
        kind = _pick(draw, ("gap", "default", "gap", "time", "default", "gap", "none"))
        if kind == "gap" and gaps.get(s):  # a change that just fails or just works
            transfers.append((s, s, 2, max(0, _pick(draw, gaps[s]) + _pick(draw, (1, 1, 0, -1)))))
        elif kind in ("time", "gap"):
            transfers.append((s, s, 2, _seconds(draw, 300)))
        elif kind == "none":
            transfers.append((s, s, 3, -1))
    pairs: set[tuple[int, int]] = set()
    for _ in range(_pick(draw, (1, 2, 0, 1, 3, 2, 5))):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 2))
        b += b >= a  # any other stop
        if (a, b) in pairs:
            continue
        pairs.add((a, b))  # one direction only, or both with different times
        kind = _pick(draw, ("time", "time", "time", "straight", "forbid"))
        if kind == "time":
            transfers.append((a, b, 2, _seconds(draw, 1800)))
            if (b, a) not in pairs and draw(st.integers(0, 2)) == 2:
                pairs.add((b, a))
                transfers.append((b, a, 2, _seconds(draw, 1800)))
        elif kind == "straight":
            transfers.append((a, b, 0, -1))
        else:
            transfers.append((a, b, 3, -1))
    default_change = _pick(draw, (0, 0, 0, 45))
    return FeedSpec(n, backbone, tuple(lines), tuple(transfers), default_change)


def _gaps(lines: tuple[tuple[TripSpec, ...], ...]) -> dict[int, list[int]]:
    """Per stop, the seconds between an arrival there and a later departure (<= 300)."""
    arrivals: dict[int, list[int]] = {}
    for line in lines:
        for t in line:
            for s, (a, _) in zip(t.stops[1:], t.times[1:], strict=True):
                arrivals.setdefault(s, []).append(a)
    gaps: dict[int, list[int]] = {}
    for line in lines:
        for t in line:
            for s, (_, d) in zip(t.stops[:-1], t.times[:-1], strict=True):
                gaps.setdefault(s, []).extend(d - a for a in arrivals.get(s, ())
                                              if 0 <= d - a <= 300)
    return gaps


def _scoped_rows(draw: st.DrawFn, lines: tuple[tuple[TripSpec, ...], ...],
                 gaps: dict[int, list[int]]) -> tuple[tuple[int, int, int, int, str, str, str,
                                                          str], ...]:
    """Rows scoped to the lines or trips that meet at a stop: from one alighting there
    (or at a neighbour on the backbone) to one boarding there."""
    alight = [(i, j, s) for i, line in enumerate(lines) for j, t in enumerate(line)
              for s in t.stops[1:]]
    board = [(i, j, s) for i, line in enumerate(lines) for j, t in enumerate(line)
             for s in t.stops[:-1]]
    rows = []
    for _ in range(_pick(draw, (2, 1, 3, 2, 4))):
        li, ji, s = _pick(draw, alight)
        here = [b for b in board if b[2] == s]
        lo, jo, u = _pick(draw, here) if here and draw(st.integers(0, 3)) else _pick(draw, board)
        scope = _pick(draw, ("routes", "trips", "routes", "from route", "to trip", "mixed"))
        fr = f"L{li}" if scope in ("routes", "from route", "mixed") else ""
        tr = f"L{lo}" if scope == "routes" else ""
        ft = f"t{li}_{ji}" if scope == "trips" else ""
        tt = f"t{lo}_{jo}" if scope in ("trips", "to trip", "mixed") else ""
        kind = _pick(draw, (2, 2, 3, 1, 2))
        secs = -1
        if kind == 2:
            secs = (max(0, _pick(draw, gaps[u]) + _pick(draw, (1, 0, -1)))
                    if gaps.get(u) and draw(st.integers(0, 3)) else _seconds(draw, 600))
        rows.append((s, u, kind, secs, fr, tr, ft, tt))
    return tuple(rows)


def _rows(draw: st.DrawFn, stops: Sequence[int]) -> list[tuple[int, int]]:
    """One to three (stop, seconds) rows, one half of the time; the seconds 0 two thirds
    of the time."""
    return [(_pick(draw, stops), 0 if draw(st.integers(0, 2)) else draw(st.integers(0, 600)))
            for _ in range(_pick(draw, (1, 1, 1, 2, 3)))]


@dataclass(frozen=True)
class QuerySpec:
    sources: list[tuple[int, int]]
    targets: list[tuple[int, int]]
    seconds: int  # seconds after midnight of DAY: departure, or the arrive-by deadline
    slack: int
    trips: int  # trip bound K (max_transfers = K - 1)

    def time(self, tt: Timetable) -> int:
        return tt.time_of(DAY, self.seconds)

    def query(self, tt: Timetable, *, arrive_by: bool = False, trips: int | None = None,
              window: int = 0) -> Query:
        k = self.trips if trips is None else trips
        return Query(self.sources, self.targets, self.time(tt), arrive_by=arrive_by,
                     window=window, max_transfers=k - 1, transfer_slack=self.slack)


@st.composite
def query_specs(draw: st.DrawFn, spec: FeedSpec, earliest: int = 6 * H + 1800,
                latest: int = 10 * H) -> QuerySpec:
    """Sources mostly where trips depart, targets mostly where they arrive and apart from
    the sources (a shared stop is a walking-only answer); often from the first half of
    the backbone to the second, which takes a change of lines."""
    every = list(range(spec.n_stops))
    half = len(spec.backbone) // 2
    boards = sorted({s for line in spec.lines for t in line for s in t.stops[:-1]})
    sources = _rows(draw, _pick(draw, (spec.backbone[:1], spec.backbone[:2],
                                       spec.backbone[:half], boards, every)))
    used = {r[0] for r in sources}
    alights = sorted({s for line in spec.lines for t in line for s in t.stops[1:]})
    apart = [s for s in alights if s not in used] or every
    far = [s for s in spec.backbone[half:] if s not in used] or apart
    last = [s for s in spec.backbone[-1:] if s not in used] or far
    end = [s for s in spec.backbone[-2:] if s not in used] or far
    targets = _rows(draw, _pick(draw, (last, end, far, apart, every)))
    # any time, or just before a trip leaves a source, or just after one reaches a target
    leaving = [d for line in spec.lines for t in line
               for s, (_, d) in zip(t.stops, t.times, strict=True) if s in used]
    reaching = [a for line in spec.lines for t in line
                for s, (a, _) in zip(t.stops, t.times, strict=True)
                if s in {r[0] for r in targets}]
    kind = draw(st.integers(0, 3))
    if kind == 0 and leaving:
        seconds = _pick(draw, leaving) - draw(st.integers(0, 300))
    elif kind == 1 and reaching:
        seconds = _pick(draw, reaching) + draw(st.integers(0, 300))
    else:
        seconds = draw(st.integers(earliest, _pick(draw, (earliest + 3600, latest,
                                                          latest + 15 * H))))
    slack = 0 if draw(st.integers(0, 2)) else draw(st.integers(1, 120))
    return QuerySpec(sources, targets, seconds, slack, draw(st.integers(1, 3)))


@st.composite
def cases(draw: st.DrawFn, n_queries: int = 6, earliest: int = 6 * H + 1800,
          latest: int = 10 * H, scoped: bool = True) -> tuple[FeedSpec, list[QuerySpec]]:
    """A feed and three to ``n_queries`` different queries on it; with ``scoped``, the
    feed also has transfers.txt rows scoped to routes and trips (drawn last, so the
    feed and queries are the same as without)."""
    spec = draw(feed_specs())
    queries: list[QuerySpec] = []
    for _ in range(draw(st.integers(3, n_queries))):
        q = draw(query_specs(spec, earliest, latest))
        if q not in queries:
            queries.append(q)
    if scoped:
        spec = dataclasses.replace(spec, scoped=_scoped_rows(draw, spec.lines,
                                                             _gaps(spec.lines)))
    return spec, queries
