"""Side by side with the C++ reference (kit-algo/ULTRA): same feeds, footpaths and queries.

The protocol is the one of ``../shared/reference/ultra/README.md``: per feed a copy of the
GTFS folder with 200 m transitively closed footpaths as ``transfers.txt``
(``make_footpaths.py``), pickup/drop-off blanked (ULTRA's reader ignores them), and the
times rewritten where ULTRA's converter would read another timetable than the planner,
for both sides (the header line counts each rewrite): stops without times get the times
the planner interpolates (ULTRA reads an empty time as midnight and drops the trip), 1 s
more at each hop of zero seconds, cumulatively, as ULTRA's converter does
(``ultra_readable_times``), and frequencies.txt ends at the last start + 1 s (ULTRA runs
a start at ``end_time``, GTFS and the planner do not: ``exclusive_frequency_ends``);
ULTRA
converts the service day and the next (and the day before when trips of the previous day
still run in the query window, with every departure shifted by +86400 s); the planner
reads the same folder with ``--footpath-radius 0`` semantics (transfers.txt only, closed
as given, no default change time). Queries: N seeded (source, target, departure) among the
stops served by a route, departures uniform in the feed's window, the same CSV for both.

Per algorithm (RAPTOR, CSA, McRAPTOR over arrival, trips and walking, Trip-Based ``tb``:
ULTRA's ``TransitiveQuery`` over its preprocessing with route-based pruning, ``tb PREFIX 0
1``, run once per feed and kept; ours over the planner's reduced transfers, built outside
the timing) the queries are run in
chunks of 100, each chunk ``--rounds`` times by both sides in alternating order (ours,
ULTRA, ULTRA, ours, ...), each after 20 untimed warm-up queries; per query each side's
fastest repetition counts, and mean, p99 and median are over those per-query times. The
ratio is ours / ULTRA of the means. Ours is
timed around the Python call (``Router.arrival`` for RAPTOR/CSA/Trip-Based, ``Router.raw``
for McRAPTOR) on prebuilt queries; ULTRA by its driver (``run()`` and reading the answer).
The answers are checked first: earliest arrivals (RAPTOR, CSA), the earliest arrival and
the fewest trips arriving then (Trip-Based) and the target's Pareto set of (arrival,
trips, walking seconds) (McRAPTOR); a disagreement is printed and makes the exit status 1.

    python benchmarks/vs_reference.py [--feeds hart dbfv ...] [--queries 1000] [--seed 42]
                                      [--rounds 3] [--algorithms raptor csa mcraptor tb]

ULTRA is built with ``../shared/reference/ultra/build.sh`` when its binary is missing
(``ULTRA_REF_DIR``, default /tmp/ultra-ref; needs g++ >= 12 and libnuma-dev: ``make
reference``). Work files go to ``.cache/vs_reference`` (``--work``).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.routing.mcraptor import walk_seconds  # noqa: E402

from planner.routing.query import MAX_TRANSFERS, Query  # noqa: E402
from planner.routing.router import Router  # noqa: E402
from planner.timetable.compile import CompileOptions  # noqa: E402
from planner.timetable.disk_cache import load_or_compile  # noqa: E402
from planner.timetable.model import INFINITY, StopLookup, Timetable  # noqa: E402

DATA = ROOT / ".." / "shared" / "data"
REFERENCE = ROOT / ".." / "shared" / "reference" / "ultra"
ALGORITHMS = ("raptor", "csa", "mcraptor", "tb")
#: our engine behind each algorithm name of the driver
ENGINE = {"raptor": "raptor", "csa": "csa", "mcraptor": "mcraptor", "tb": "tripbased"}
DAY = 86400
#: The trips a query may take (``max_transfers=MAX_TRANSFERS``).
MAX_TRIPS = MAX_TRANSFERS + 1
#: ``--footpath-radius 0`` semantics: the folder's transfers.txt (already closed) only,
#: no bound on the closure, no change time (ULTRA has no minimum change times).
OPTIONS = CompileOptions(footpath_radius=0.0, footpath_max_walk=0, default_change_time=0)


@dataclass(frozen=True)
class Feed:
    """A real feed of ``../shared/data``, its service day and the departure window."""

    path: str
    day: date
    window: tuple[int, int] = (6 * 3600, 22 * 3600)


#: The two of issue 13 first, then the other real feeds where ULTRA can read them.
FEEDS = {
    "hart": Feed("us-hart-tampa/hart.zip", date(2021, 1, 12)),
    "dbfv": Feed("de-db-fv-2026/gtfs.zip", date(2026, 4, 20)),
    "wmata": Feed("us-wmata/wmata.zip", date(2026, 5, 5)),
    "oebb": Feed("at-oebb-2020/OBB.zip", date(2020, 3, 3)),
    "dbfern2017": Feed("de-db-fern-2017/gtfs.zip", date(2017, 3, 7)),
    "poa": Feed("br-porto-alegre/poa_eptc.zip", date(2019, 5, 7), (11 * 3600 + 1800, 16 * 3600)),
    "cairns": Feed("au-cairns/cairns_gtfs.zip", date(2014, 6, 3)),
    # from 00:30: its night buses of the previous day (to 26:05) are in the window
    "pforzheim": Feed("de-vpe-pforzheim/gtfs-hka-s24.zip", date(2025, 3, 4), (1800, 22 * 3600)),
    "atb": Feed("no-atb-latin1/gtfs.zip", date(2019, 1, 15)),
    "bart": Feed("us-bart-rt/bart-rt.zip", date(2019, 8, 7)),
    "caltrain": Feed("us-caltrain-rt/ct.zip", date(2023, 11, 7)),
    "portland": Feed("us-portland-streetcar/trimet-2routes.zip", date(2021, 11, 2)),
    "cdmx": Feed("mx-cdmx/cdmx.zip", date(2019, 3, 5)),
}
MAIN_FEEDS = ("hart", "dbfv")


class Unsupported(RuntimeError):
    """A feed one side cannot read (reported in the table, not an error of the run)."""


# -- the reference --------------------------------------------------------------------------
def ultra_driver(build: bool = True) -> Path:
    """The driver binary, built by the reference's ``build.sh`` when missing or stale."""
    out = Path(os.environ.get("ULTRA_REF_DIR", "/tmp/ultra-ref")) / "ultra_driver"
    if build:
        done = subprocess.run(["bash", str(REFERENCE / "build.sh")], capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise RuntimeError(f"building ULTRA failed: {done.stderr.strip() or done.stdout}")
    if not out.exists():
        raise RuntimeError(f"{out} missing after build.sh")
    return out


@dataclass
class Prepared:
    """One feed made ready for both sides."""

    name: str
    feed: Feed
    folder: Path           # GTFS folder with the 200 m footpaths, pickup/drop-off blanked
    prefix: Path           # ULTRA's converted data (PREFIX.raptor, PREFIX.csa)
    shift: int             # seconds added to departures for ULTRA (0 or 86400)
    tt: Timetable
    rewrites: Rewrites     # what the preparation changed for ULTRA to read it alike


def _needs_previous_day(folder: Path, window: tuple[int, int]) -> bool:
    """Whether trips of the previous service day still run in the query window."""
    latest = 0
    with open(folder / "stop_times.txt", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            for col in ("arrival_time", "departure_time"):
                value = (row.get(col) or "").strip()
                if value:
                    h, m, s = value.split(":")
                    latest = max(latest, int(h) * 3600 + int(m) * 60 + int(s))
    return latest - DAY > window[0]


def _run(cmd: Sequence[str], what: str) -> str:
    done = subprocess.run(list(cmd), capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise Unsupported(f"{what} failed ({done.returncode}): {' | '.join(tail)}")
    return done.stdout + done.stderr


def _seconds(value: str) -> int:
    h, m, s = value.strip().split(":")
    return int(h) * 3600 + int(m) * 60 + int(s)


def _maybe_seconds(value: str) -> int | None:
    return _seconds(value) if value.strip() else None


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@dataclass(frozen=True)
class Rewrites:
    """What the preparation changed so that ULTRA reads the folder as the planner does
    (both sides then read the rewritten folder; printed in the feed's header line)."""

    interpolated: int = 0    # stop times without times, given the planner's interpolation
    shifted: int = 0         # stop times moved later by ULTRA's +1 s at zero-second hops
    dropped_trips: int = 0   # trips neither side runs (no time at an end, times backwards)
    frequency_ends: int = 0  # frequencies.txt end_time rewritten to the last start + 1 s

    def __str__(self) -> str:
        parts = [f"{k.replace('_', ' ')}={v}" for k, v in vars(self).items() if v]
        return ", ".join(parts) or "none"


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write_csv(path: Path, fields: list[str], rows: Iterable[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def _interpolate(arr: list[int | None], dep: list[int | None]) -> int | None:
    """Fill a trip's missing times in place as the planner's compiler does
    (``planner.timetable.compile._trip_templates``): an arrival from the departure and
    back, then stops without either linearly by position between the timed stops around
    them, rounded half to even. Returns the stops filled, None when the first or last
    stop has no time (the compiler drops that trip)."""
    for j in range(len(arr)):
        arr[j] = dep[j] if arr[j] is None else arr[j]
        dep[j] = arr[j] if dep[j] is None else dep[j]
    if arr[0] is None or arr[-1] is None:
        return None
    filled, prev = 0, 0
    for j in range(1, len(arr)):
        if arr[j] is None:
            continue
        for m in range(prev + 1, j):
            d, a = dep[prev], arr[j]
            assert d is not None and a is not None
            arr[m] = dep[m] = round(d + (a - d) * ((m - prev) / (j - prev)))
            filled += 1
        prev = j
    return filled


def ultra_readable_times(folder: Path) -> Rewrites:
    """Rewrite ``stop_times.txt`` so that ULTRA's converter keeps every trip the planner
    runs, with the same times, for both sides:

    * stops without times get the times the planner's compiler interpolates (ULTRA reads
      an empty time as 00:00:00, so the trip seemed to go back in time and was dropped:
      55 trips of Cairns, every trip of Porto Alegre); trips without a time at their
      first or last stop are dropped, as the compiler drops them;
    * at each hop of zero seconds (a departure equal to the next arrival) the rest of the
      trip moves 1 s later, cumulatively, as ULTRA's ``Intermediate::Data::FromGTFS``
      does; trips whose times still go backwards, or that arrive at a stop after they
      depart from it (ULTRA drops that stop time), are dropped for both."""
    path = folder / "stop_times.txt"
    fields, rows = _read_csv(path)
    by_trip: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_trip.setdefault(row["trip_id"], []).append(i)
    interpolated = shifted = 0
    dropped: set[str] = set()
    for trip, idx in by_trip.items():
        idx.sort(key=lambda i: int(rows[i]["stop_sequence"]))
        arr: list[int | None] = [_maybe_seconds(rows[i]["arrival_time"]) for i in idx]
        dep: list[int | None] = [_maybe_seconds(rows[i]["departure_time"]) for i in idx]
        filled = _interpolate(arr, dep)
        if filled is None:
            dropped.add(trip)
            continue
        times = [(int(a), int(d)) for a, d in zip(arr, dep, strict=True)]  # all set now
        interpolated += filled
        offset, moved = 0, 0
        for j in range(1, len(times)):
            if times[j - 1][1] == times[j][0] + offset:
                offset += 1
            if offset:
                times[j] = (times[j][0] + offset, times[j][1] + offset)
                moved += 1
            if times[j - 1][1] >= times[j][0]:
                break
        if any(a > d for a, d in times) or any(
                times[j - 1][1] >= times[j][0] for j in range(1, len(times))):
            dropped.add(trip)
            continue
        shifted += moved
        for i, (a, d) in zip(idx, times, strict=True):
            rows[i]["arrival_time"], rows[i]["departure_time"] = _hms(a), _hms(d)
    if interpolated or shifted or dropped:
        _write_csv(path, fields, (r for r in rows if r["trip_id"] not in dropped))
    return Rewrites(interpolated=interpolated, shifted=shifted, dropped_trips=len(dropped))


def exclusive_frequency_ends(folder: Path) -> Rewrites:
    """Rewrite ``frequencies.txt`` so that both sides run the same starts: the planner
    (as GTFS says: with ``exact_times=1`` "end_time must be greater than the last desired
    trip start_time but less than the last desired trip start_time + headway_secs") runs
    ``start_time, start_time + headway, ...`` while before ``end_time``, ULTRA while not
    after it, one start more where the headway divides the span (Mexico City's 23:00 end
    of a 05:00 service every 2 min: a bus at 23:00 only ULTRA ran). Each end becomes the
    last start + 1 s, which both read alike; rows without a start are dropped (and the
    stop times of a trip none of whose rows starts one: the planner runs no such trip,
    ULTRA would run it once); headways under 2 s cannot be written so and are refused."""
    path = folder / "frequencies.txt"
    if not path.exists():
        return Rewrites()
    fields, rows = _read_csv(path)
    kept, changed = [], 0
    templates, starting = set(), set()
    for row in rows:
        start, end = _seconds(row["start_time"]), _seconds(row["end_time"])
        headway = int(row["headway_secs"])
        if headway <= 0:
            continue  # neither side reads it
        templates.add(row["trip_id"])
        if end <= start:
            continue
        if headway < 2:
            raise Unsupported(f"frequencies.txt: headway {headway} s of trip {row['trip_id']}")
        last = start + (end - 1 - start) // headway * headway
        if last + 1 != end:
            row["end_time"] = _hms(last + 1)
            changed += 1
        kept.append(row)
        starting.add(row["trip_id"])
    never = templates - starting
    if len(kept) != len(rows) or changed:
        _write_csv(path, fields, kept)
    if never:
        st_fields, st_rows = _read_csv(folder / "stop_times.txt")
        _write_csv(folder / "stop_times.txt", st_fields,
                   (r for r in st_rows if r["trip_id"] not in never))
    return Rewrites(frequency_ends=changed, dropped_trips=len(never))


def _as_utf8(path: Path) -> None:
    """Re-encode a Latin-1 file (AtB) as UTF-8, which the reference's scripts read; both
    sides read the copy."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        path.write_bytes(data.decode("latin-1").encode("utf-8"))


#: Version of the folder preparation: a folder prepared by another one is prepared again.
PREPARATION = 2


def _prepared_rewrites(done: Path) -> Rewrites | None:
    """The rewrites of a folder prepared by this version of the preparation, else None."""
    try:
        record = json.loads(done.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.pop("version", None) != PREPARATION:
        return None
    return Rewrites(**record)


def prepare(name: str, feed: Feed, work: Path, driver: Path) -> Prepared:
    """Unzip, write the footpaths, blank pickup/drop-off, convert for ULTRA, compile ours
    (every step cached in ``work``)."""
    src = DATA / feed.path
    if not src.exists():
        raise Unsupported(f"{src} missing")
    raw, folder = work / f"{name}-gtfs", work / f"{name}-fp200"
    done = folder / ".done"
    rewrites = _prepared_rewrites(done)
    if rewrites is None:
        shutil.rmtree(raw, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        with zipfile.ZipFile(src) as zf:
            zf.extractall(raw)
        inner = [p for p in raw.rglob("stops.txt")]
        if not inner:
            raise Unsupported(f"{src}: no stops.txt")
        for txt in inner[0].parent.glob("*.txt"):
            _as_utf8(txt)
        _run([sys.executable, str(REFERENCE / "make_footpaths.py"), str(inner[0].parent),
              str(folder), "200"], "make_footpaths.py")
        _run([sys.executable, str(REFERENCE / "blank_pickup_dropoff.py"), str(folder)],
             "blank_pickup_dropoff.py")
        frequencies = exclusive_frequency_ends(folder)
        times = ultra_readable_times(folder)
        rewrites = Rewrites(times.interpolated, times.shifted,
                            times.dropped_trips + frequencies.dropped_trips,
                            frequencies.frequency_ends)
        done.write_text(json.dumps({"version": PREPARATION, **asdict(rewrites)}) + "\n")
    shift = DAY if _needs_previous_day(folder, feed.window) else 0
    first = feed.day - timedelta(days=1 if shift else 0)
    last = feed.day + timedelta(days=1)
    prefix = work / f"{name}-{first:%Y%m%d}-{last:%Y%m%d}"
    converted = [Path(f"{prefix}.raptor"), Path(f"{prefix}.csa")]
    log = Path(f"{prefix}.convert.txt")
    converted.append(log)
    if any(not f.exists() or f.stat().st_mtime < done.stat().st_mtime for f in converted):
        log.write_text(_run([str(driver), "convert", str(folder), f"{first:%Y%m%d}",
                             f"{last:%Y%m%d}", str(prefix)], "ULTRA convert"))
    try:
        tt = load_or_compile([folder], feed.day, OPTIONS, cache_dir=work / "timetables")
    except ValueError as exc:
        raise Unsupported(f"planner compile: {exc}") from exc
    return Prepared(name, feed, folder, prefix, shift, tt, rewrites)


def _ultra_count(log: str, what: str) -> int:
    """A count of ULTRA's converter summary (``Number of Trips:  1,244``), its first one
    (the intermediate data, before the RAPTOR and CSA views)."""
    for line in log.splitlines():
        if line.strip().startswith(f"Number of {what}:"):
            return int(line.rsplit(":", 1)[1].strip().replace(",", ""))
    raise Unsupported(f"ULTRA convert printed no 'Number of {what}'")


def dominated_trips(tt: Timetable, trips: np.ndarray) -> tuple[int, int]:
    """(trips, connections) among ``trips`` that ULTRA's ``Intermediate::Data::validate``
    deletes as "duplicates": it sorts the trips by stop sequence, then per stop by
    departure ascending and arrival descending, and drops a trip when the next one has
    the same stops and departs no earlier and arrives no later at each (its first arrival
    1 s before the departure, its last departure 1 s after the arrival). Such a trip is
    never needed for an earliest arrival (nor a Pareto label over arrival, trips and
    walking) when every stop lets riders board and alight, as in the prepared folders;
    the planner keeps them."""
    keyed = []
    for t in trips.tolist():
        r = int(tt.trip_route[t])
        stops = tuple(tt.route_stops[tt.route_stop_offset[r]:tt.route_stop_offset[r + 1]]
                      .tolist())
        lo, hi = int(tt.trip_st_offset[t]), int(tt.trip_st_offset[t + 1])
        arr, dep = tt.st_arr[lo:hi].tolist(), tt.st_dep[lo:hi].tolist()
        arr[0], dep[-1] = dep[0] - 1, arr[-1] + 1
        order = tuple(x for d, a in zip(dep, arr, strict=True) for x in (d, -a))
        keyed.append((stops, order, dep, arr))
    keyed.sort(key=lambda k: (k[0], k[1]))
    dropped = connections = 0
    for prev, this in itertools.pairwise(keyed):
        if prev[0] == this[0] and all(d >= e for d, e in zip(this[2], prev[2], strict=True)) \
                and all(a <= b for a, b in zip(this[3], prev[3], strict=True)):
            dropped += 1
            connections += len(prev[0]) - 1
    return dropped, connections


def same_timetable(p: Prepared) -> tuple[str | None, int]:
    """(None when ULTRA's converted data has as many connections as our timetable on
    ULTRA's days, less the trips it deletes as dominated (``dominated_trips``), else the
    counts of both; the dominated trips). A trip one side lost or added (an untimed stop
    read as midnight, a frequency start at ``end_time``) shows here before any query
    differs."""
    first = p.feed.day - timedelta(days=1 if p.shift else 0)
    last = p.feed.day + timedelta(days=1)
    days = [i for i, d in enumerate(p.tt.dates) if first <= d <= last]
    on = np.isin(p.tt.trip_day, days)
    trips = np.nonzero(on & (np.diff(p.tt.trip_st_offset) > 1))[0]
    dropped, dropped_connections = dominated_trips(p.tt, trips)
    ours = int(on[p.tt.conn_trip].sum()) - dropped_connections, len(trips) - dropped
    log = Path(f"{p.prefix}.convert.txt").read_text()
    ultra = _ultra_count(log, "Connections"), _ultra_count(log, "Trips")
    if ours == ultra:
        return None, dropped
    return (f"connections (trips) on {first}..{last} without {dropped} dominated trips: "
            f"ours {ours[0]} ({ours[1]}), ULTRA {ultra[0]} ({ultra[1]})", dropped)


# -- queries ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Queries:
    """The same questions for both sides: GTFS ids for ULTRA, prebuilt ``Query`` for ours."""

    rows: list[tuple[str, str, int]]   # (source id, target id, seconds after midnight)
    ours: list[Query]
    csv: Path                          # ULTRA's query file (departures shifted)
    midnight: int                      # the service day's midnight on our time axis


def _gtfs_id(scoped: str) -> str:
    return scoped.split(":", 1)[1] if ":" in scoped else scoped


def unknown_to_ultra(p: Prepared, stops: np.ndarray, work: Path, driver: Path) -> set[str]:
    """GTFS ids among ``stops`` that ULTRA's converted data lacks (it drops the stops of
    trips it removes): its driver names every unknown stop of a query file before it
    answers (and then crashes on the first), so one probe file lists them all."""
    probe = work / f"{p.name}-probe.csv"
    ids = [_gtfs_id(str(p.tt.stop_ids[s])) for s in stops]
    _write_queries(probe, [(i, i, 0) for i in ids], 0)
    done = subprocess.run([str(driver), "query", str(p.prefix), "csa", str(probe),
                           str(work / f"{p.name}-probe-out.csv")], capture_output=True,
                          text=True)
    return {line.split("unknown stop in query ", 1)[1].split(",", 1)[0]
            for line in done.stderr.splitlines() if "unknown stop in query " in line}


def draw_queries(p: Prepared, n: int, seed: int, work: Path,
                 driver: Path | None = None) -> Queries:
    """``n`` seeded queries among stops served by a route (source != target) that ULTRA
    knows too (when ``driver`` is given)."""
    rng = np.random.default_rng(seed)
    tt = p.tt
    served = np.nonzero(np.diff(tt.stop_route_offset) > 0)[0]
    if driver is not None:
        unknown = unknown_to_ultra(p, served, work, driver)
        served = np.array([s for s in served if _gtfs_id(str(tt.stop_ids[s])) not in unknown],
                          dtype=served.dtype)
    if len(served) < 2:
        raise Unsupported("fewer than two served stops")
    midnight = tt.time_of(p.feed.day, 0)
    rows, ours = [], []
    for _ in range(n):
        s, t = rng.choice(served, 2, replace=False)
        dep = int(rng.integers(p.feed.window[0], p.feed.window[1] + 1))
        rows.append((_gtfs_id(str(tt.stop_ids[s])), _gtfs_id(str(tt.stop_ids[t])), dep))
        ours.append(Query(np.array([[s, 0]], dtype=np.int32), np.array([[t, 0]], dtype=np.int32),
                          midnight + dep, max_transfers=MAX_TRANSFERS))
    out = work / f"{p.name}-queries-{n}-{seed}.csv"
    _write_queries(out, rows, p.shift)
    return Queries(rows, ours, out, midnight)


def check_ids(p: Prepared, q: Queries) -> None:
    """Every query stop is one of ours (ULTRA crashes on an unknown one, so its driver's
    stderr is checked too)."""
    lookup = StopLookup(p.tt.stop_ids)
    prefix = str(p.tt.stop_ids[0]).split(":", 1)[0] + ":"
    for s, t, _ in q.rows:
        lookup.index(prefix + s)
        lookup.index(prefix + t)


# -- running ------------------------------------------------------------------------------------
#: One answer: the earliest arrival after midnight (-1: none), for Trip-Based with the trips
#: of the fewest-trip journey arriving then, for McRAPTOR the Pareto set of (arrival after
#: midnight, trips, walking seconds).
Answer = int | tuple[int, int] | frozenset[tuple[int, int, int]]


def pareto_front(labels: Sequence[tuple[int, int, int]]) -> frozenset[tuple[int, int, int]]:
    """The labels no other label weakly dominates (duplicates kept once)."""
    unique = set(labels)
    return frozenset(a for a in unique
                     if not any(b != a and all(x <= y for x, y in zip(b, a, strict=True))
                                for b in unique))


def _write_queries(path: Path, rows: Sequence[tuple[str, str, int]], shift: int) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "target", "departure"])
        w.writerows((s, t, dep + shift) for s, t, dep in rows)


def ultra_transfers(driver: Path, p: Prepared) -> None:
    """ULTRA's Trip-Based preprocessing of ``p`` (one thread, route-based pruning, as the
    README's protocol), written once beside its converted data."""
    if not Path(f"{p.prefix}.tb").exists():
        _run([str(driver), "tb", str(p.prefix), "0", "1"], "ULTRA tb preprocessing")


def run_ultra(driver: Path, p: Prepared, queries_csv: Path, algo: str, out: Path,
              skip: int = 0) -> tuple[np.ndarray, list[Answer]]:
    """ULTRA's per-query microseconds and answers (shifted back to the service day) on
    ``queries_csv``, without its first ``skip`` rows (warm-up). McRAPTOR's Pareto set
    keeps the labels of at most ``MAX_TRIPS`` trips, the bound our queries ask for (its
    McRAPTOR has none; a label of more trips dominates none of fewer, so the rest of the
    set is unchanged; ``beyond_bound`` counts the queries where it found such labels)."""
    if algo == "tb":
        ultra_transfers(driver, p)
    text = _run([str(driver), "query", str(p.prefix), algo, str(queries_csv), str(out)],
                f"ULTRA {algo}")
    if "unknown stop" in text:
        raise Unsupported(f"ULTRA does not know a query stop: {text.strip().splitlines()[0]}")
    us, answers = [], []
    with open(out, newline="") as fh:
        for row in list(csv.DictReader(fh))[skip:]:
            us.append(float(row["query_us"]))
            if algo == "mcraptor":
                labels = []
                for item in filter(None, (row.get("pareto") or "").split(";")):
                    a, k, w = (int(x) for x in item.split("/"))
                    labels.append((a - p.shift, k, w))
                answers.append(pareto_front([x for x in labels if x[1] <= MAX_TRIPS]))
            elif algo == "tb":
                a = int(row["arrival"])
                answers.append((a - p.shift, int(row["trips"])) if a >= 0 else -1)
            else:
                a = int(row["arrival"])
                answers.append(a - p.shift if a >= 0 else -1)
    return np.array(us), answers


def beyond_bound(out: Path) -> int:
    """Queries of ULTRA's McRAPTOR output ``out`` with labels of more than ``MAX_TRIPS``
    trips (Mexico City: 2 of 1,000, of 17 and 18 trips)."""
    with open(out, newline="") as fh:
        return sum(any(int(item.split("/")[1]) > MAX_TRIPS
                       for item in filter(None, (row.get("pareto") or "").split(";")))
                   for row in csv.DictReader(fh))


def our_call(router: Router, algo: str) -> Callable[[Query], object]:
    engine = ENGINE[algo]
    if algo == "mcraptor":
        return lambda query: router.raw(query, engine)
    return lambda query: router.arrival(query, engine)


def time_ours(router: Router, queries: Sequence[Query], algo: str,
              warm: Sequence[Query] = ()) -> np.ndarray:
    """Our per-query microseconds (the Python call), after ``warm`` untimed."""
    call = our_call(router, algo)
    for query in warm:
        call(query)
    out = np.empty(len(queries))
    clock = time.perf_counter
    for i, query in enumerate(queries):
        started = clock()
        call(query)
        out[i] = clock() - started
    return out * 1e6


def run_ours(router: Router, q: Queries, algo: str) -> tuple[np.ndarray, list[Answer]]:
    """Our per-query microseconds on every query, then the answers in an untimed pass."""
    us = time_ours(router, q.ours, algo, q.ours[:WARM])
    return us, [our_answer(router, algo, query, q.midnight) for query in q.ours]


def our_answer(router: Router, algo: str, query: Query, midnight: int) -> Answer:
    if algo == "mcraptor":
        found = router.raw(query, "mcraptor")
        return pareto_front([(arr - midnight, trips, walk_seconds(query, j))
                             for j in found for arr, trips in [(j[1], j[2])]])
    if algo == "tb":  # (untimed) the journey's trips, 0 for a walk
        found = router.raw(query, ENGINE[algo])
        return (found[0][1] - midnight, found[0][2]) if found else -1
    best = router.arrival(query, ENGINE[algo])
    return -1 if best is None or best == INFINITY else best - midnight


def disagreements(q: Queries, ours: list[Answer], ultra: list[Answer]) -> list[str]:
    """Human-readable differences, one per query that differs."""
    return [f"{s} -> {t} at {dep}: ours {a!r}, ULTRA {b!r}"
            for (s, t, dep), a, b in zip(q.rows, ours, ultra, strict=True) if a != b]


@dataclass(frozen=True)
class Timing:
    mean: float
    p99: float
    median: float


def fastest_per_query(chunks: list[list[np.ndarray]]) -> Timing:
    """Each query's fastest repetition, the chunks put together: on a shared machine a
    query preempted once is not preempted in every repetition, so this is its own cost
    (the mean of one repetition was dominated by preemptions of a few milliseconds)."""
    us = np.concatenate([np.min(np.stack(reps), axis=0) for reps in chunks])
    return Timing(float(us.mean()), float(np.percentile(us, 99)), float(np.median(us)))


#: Queries per interleaved chunk, and the warm-up queries before each timed chunk.
CHUNK = 100
WARM = 20


def compare(driver: Path, p: Prepared, q: Queries, router: Router, algo: str, rounds: int,
            work: Path) -> tuple[Timing, Timing, list[str]]:
    """Agreement on every query, then the timing: chunks of ``CHUNK`` queries, each run
    ``rounds`` times by both sides in alternating order (ours, ULTRA, ULTRA, ours, ...),
    each side after ``WARM`` untimed queries of the chunk; per query each side's fastest
    repetition counts. Alternating small chunks keeps a burst of load on a shared machine
    from falling on one side only. Returns (ours, ULTRA, differences)."""
    out = work / f"{p.name}-ultra-{algo}.csv"
    ours_answers = [our_answer(router, algo, query, q.midnight) for query in q.ours]
    _, ultra_answers = run_ultra(driver, p, q.csv, algo, out)
    if algo == "mcraptor" and (beyond := beyond_bound(out)):
        print(f"  {algo:<10}ULTRA's labels of more than {MAX_TRIPS} trips (our bound) left "
              f"out on {beyond} queries")
    wrong = disagreements(q, ours_answers, ultra_answers)
    n = len(q.rows)
    spans = [(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK)]
    files = []
    for c, (lo, hi) in enumerate(spans):
        path = work / f"{p.name}-chunk{c}.csv"
        _write_queries(path, q.rows[lo:lo + WARM] + q.rows[lo:hi], p.shift)
        files.append(path)
    ours_us: list[list[np.ndarray]] = [[] for _ in spans]
    ultra_us: list[list[np.ndarray]] = [[] for _ in spans]
    for r in range(rounds):
        for c, (lo, hi) in enumerate(spans):
            warm = min(WARM, hi - lo)
            sides = ("ours", "ultra") if (r + c) % 2 == 0 else ("ultra", "ours")
            for side in sides:
                if side == "ours":
                    ours_us[c].append(time_ours(router, q.ours[lo:hi], algo,
                                                q.ours[lo:lo + warm]))
                else:
                    ultra_us[c].append(run_ultra(driver, p, files[c], algo, out, warm)[0])
    return fastest_per_query(ours_us), fastest_per_query(ultra_us), wrong


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", nargs="+", choices=list(FEEDS), default=list(FEEDS))
    ap.add_argument("--algorithms", nargs="+", choices=ALGORITHMS, default=list(ALGORITHMS))
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rounds", type=int, default=5,
                    help="repetitions of each chunk, the fastest per query kept")
    ap.add_argument("--work", type=Path, default=ROOT / ".cache" / "vs_reference")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    driver = ultra_driver()
    status = 0
    table: list[tuple[str, dict[str, float], str]] = []  # feed, ratios, answers
    for name in args.feeds:
        feed = FEEDS[name]
        try:
            p = prepare(name, feed, args.work, driver)
            q = draw_queries(p, args.queries, args.seed, args.work, driver)
            check_ids(p, q)
        except (Unsupported, KeyError) as exc:
            print(f"{name}: skipped, {exc}")
            table.append((name, {}, f"skipped: {str(exc)[:60]}"))
            continue
        tt = p.tt
        print(f"{name} {feed.day} stops={tt.n_stops} routes={tt.n_routes} trips={tt.n_trips} "
              f"footpaths={tt.n_footpaths} connections={tt.n_connections} "
              f"queries={len(q.rows)} seed={args.seed} ultra_days="
              f"{'day-1..day+1' if p.shift else 'day..day+1'} rewritten: {p.rewrites}")
        notes = []
        mismatch, dominated = same_timetable(p)
        print(f"  same timetable: {'no' if mismatch else 'yes'} (ULTRA drops {dominated} "
              "trips another trip of the same stops dominates)")
        if mismatch is not None:
            print(f"  timetables DIFFER, {mismatch}")
            notes.append("timetables differ")
            status = 1
        print(f"  {'algorithm':<10}{'ours mean':>10}{'p99':>9}{'median':>9}"
              f"{'ULTRA mean':>12}{'p99':>9}{'median':>9}{'ratio':>8}  agreement (us)")
        router = Router(tt)
        if "tb" in args.algorithms:
            _ = router.tripbased  # its transfers built (or loaded) before any timing
        ratios: dict[str, float] = {}
        for algo in args.algorithms:
            try:
                ours, ultra, wrong = compare(driver, p, q, router, algo, args.rounds, args.work)
            except Unsupported as exc:
                print(f"  {algo:<10}skipped, {exc}")
                notes.append(f"{algo} skipped")
                continue
            ratios[algo] = ours.mean / ultra.mean
            agree = "all agree" if not wrong else f"{len(wrong)} DIFFER"
            print(f"  {algo:<10}{ours.mean:10.1f}{ours.p99:9.1f}{ours.median:9.1f}"
                  f"{ultra.mean:12.1f}{ultra.p99:9.1f}{ultra.median:9.1f}"
                  f"{ratios[algo]:8.2f}  {agree}", flush=True)
            for line in wrong[:5]:
                print(f"    {line}")
            if wrong:
                notes.append(f"{algo} {len(wrong)} differ")
                status = 1
        table.append((name, ratios, ", ".join(notes) or "all agree"))
    print(f"\nratio ours / ULTRA of the mean per query ({args.queries} queries, seed "
          f"{args.seed}, chunks of {CHUNK}, fastest of {args.rounds} interleaved repetitions "
          "per query)")
    print(f"  {'feed':<12}" + "".join(f"{a:>10}" for a in args.algorithms) + "  answers")
    for name, ratios, answers in table:
        cells = "".join(f"{ratios[a]:10.2f}" if a in ratios else f"{'-':>10}"
                        for a in args.algorithms)
        print(f"  {name:<12}{cells}  {answers}")
    return status


if __name__ == "__main__":
    sys.exit(main())
