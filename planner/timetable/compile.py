"""Compile merged GTFS tables into a :class:`~planner.timetable.model.Timetable`.

Every step is vectorised over stop_times; Python loops run over trips or patterns
only, which keeps a 438k-stop_time feed well under ten seconds. The options and the
cache key live in :mod:`planner.timetable.options` (re-exported here) so that loading a
compiled timetable needs none of this module's imports.
"""

from __future__ import annotations

import ctypes
import heapq
import logging
import sys
import time as clock
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from feeds.gtfs import TABLES, GtfsData, load_feeds
from planner.timetable.model import Timetable, date_range, day_offsets
from planner.timetable.options import DEFAULT_CHANGE_TIME as DEFAULT_CHANGE_TIME
from planner.timetable.options import DEFAULT_FOOTPATH_MAX_WALK as DEFAULT_FOOTPATH_MAX_WALK
from planner.timetable.options import CompileOptions, OutOfRangeError
from planner.timetable.options import content_hash as content_hash
from planner.timetable.transfer_rules import (
    build_rule_tables,
    pattern_scope,
    read_rules,
    scoped_mask,
)

log = logging.getLogger(__name__)
#: The tables a compile reads: trips keep their shape ids, the points are not needed.
COMPILED = tuple(t for t in TABLES if t != "shapes")


def _parse_times_slow(s: pd.Series) -> np.ndarray:
    parts = s.str.split(":", n=2, expand=True)
    if parts.shape[1] < 3:
        return np.full(len(s), np.nan)
    h = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    m = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    sec = pd.to_numeric(parts[2], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return h * 3600 + m * 60 + sec


#: Rows parsed at once by :func:`parse_gtfs_times`: its code-point arrays take ~200 bytes a
#: row, which over a whole stop_times.txt was the compile's peak.
_TIME_BLOCK = 1 << 16


def parse_gtfs_times(values: pd.Series) -> np.ndarray:
    """'H:MM:SS' / 'HH:MM:SS' (hours may exceed 24) to float seconds, NaN if empty.

    The common fixed layout is decoded arithmetically on the characters' code points
    (ten times faster than ``str.split`` on 438k rows), in blocks of rows so that its
    temporaries stay small; odd spellings take the slow path.
    """
    s = values.astype("string").fillna("").str.strip()
    out = np.empty(len(s), dtype=float)
    for start in range(0, len(s), _TIME_BLOCK):
        out[start:start + _TIME_BLOCK] = _parse_times_fast(s.iloc[start:start + _TIME_BLOCK])
    return out


def _parse_times_fast(s: pd.Series) -> np.ndarray:
    """:func:`parse_gtfs_times` of stripped, non-null strings."""
    raw = s.to_numpy(dtype="U9", na_value="")
    lengths = np.char.str_len(raw)
    codes = np.char.rjust(raw, 9, "0").view(np.uint32).reshape(-1, 9).astype(np.int64) - 48
    out = (codes[:, [0, 1, 2, 4, 5, 7, 8]] @ np.array([360000, 36000, 3600, 600, 60, 10, 1])
           ).astype(float)
    digits = np.delete(codes, [3, 6], axis=1)
    ok = ((lengths >= 7) & (codes[:, 3] == 10) & (codes[:, 6] == 10)
          & ((digits >= 0) & (digits <= 9)).all(axis=1))
    out[~ok] = np.nan
    odd = ~ok & (s.str.len().to_numpy() > 0)
    if odd.any():
        out[odd] = _parse_times_slow(s[odd])
    return out


def active_services(data: GtfsData, days: list[date]) -> list[set[str]]:
    """service_ids running on each day: calendar.txt, then calendar_dates.txt on top."""
    out: list[set[str]] = [set() for _ in days]
    cal = data["calendar"]
    weekday_cols = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                    "sunday"]
    if cal is not None:
        start = pd.to_datetime(cal["start_date"].astype(str), format="%Y%m%d")
        end = pd.to_datetime(cal["end_date"].astype(str), format="%Y%m%d")
        for i, d in enumerate(days):
            ts = pd.Timestamp(d)
            flag = cal[weekday_cols[d.weekday()]].astype(int) == 1
            mask = flag & (start <= ts) & (end >= ts)
            out[i].update(cal.loc[mask, "service_id"])
    cd = data["calendar_dates"]
    if cd is not None:
        dates = cd["date"].astype(str)
        for i, d in enumerate(days):
            rows = cd[dates == d.strftime("%Y%m%d")]
            etype = rows["exception_type"].astype(int)
            out[i].update(rows.loc[etype == 1, "service_id"])
            out[i].difference_update(rows.loc[etype == 2, "service_id"])
    return out


def feed_date_ranges(data: GtfsData) -> dict[str, tuple[str, str]]:
    """Per feed, the first and last day with any service (ISO dates)."""
    ranges: dict[str, tuple[str, str]] = {}
    for feed in data.feeds:
        prefix = f"{feed}:"
        dates: list[str] = []
        cal = data["calendar"]
        if cal is not None:
            mine = cal[cal["service_id"].str.startswith(prefix)]
            weekdays = mine[["monday", "tuesday", "wednesday", "thursday", "friday",
                             "saturday", "sunday"]].astype(int)
            mine = mine[weekdays.sum(axis=1) > 0]  # all-zero rows only carry exceptions
            if len(mine):
                dates += [str(mine["start_date"].min()), str(mine["end_date"].max())]
        cd = data["calendar_dates"]
        if cd is not None:
            mine = cd[cd["service_id"].str.startswith(prefix)]
            added = mine[mine["exception_type"].astype(int) == 1]
            if len(added):
                dates += [str(added["date"].min()), str(added["date"].max())]
        if dates:
            lo, hi = min(dates), max(dates)
            ranges[feed] = (f"{lo[:4]}-{lo[4:6]}-{lo[6:]}", f"{hi[:4]}-{hi[4:6]}-{hi[6:]}")
    return ranges


def check_day(day: date, ranges: dict[str, tuple[str, str]]) -> None:
    """Raise OutOfRangeError when no feed covers ``day``, naming the valid ranges."""
    iso = day.isoformat()
    if any(lo <= iso <= hi for lo, hi in ranges.values()):
        return
    described = ", ".join(f"{f}: {lo} to {hi}" for f, (lo, hi) in ranges.items())
    raise OutOfRangeError(f"no service on {iso}; the timetable is valid for {described}")


def idle_feed_warnings(data: GtfsData, ranges: dict[str, tuple[str, str]], day: date,
                       running: set[str]) -> list[str]:
    """A warning per merged feed without any service on ``day``: the day passes the range
    check when another feed covers it, and that feed's trips would silently be missing."""
    if len(data.feeds) < 2:
        return []
    busy = {service.split(":", 1)[0] for service in running}
    out: list[str] = []
    for feed in data.feeds:
        if feed not in busy:
            lo, hi = ranges.get(feed, ("?", "?"))
            out.append(f"feed {feed} has no service on {day.isoformat()} (its timetable is "
                       f"valid {lo} to {hi}); its trips are missing from that day")
            log.warning("%s", out[-1])
    return out


def _route_agencies(data: GtfsData, default_tz: str) -> tuple[pd.DataFrame, str]:
    """Per route (row of routes.txt) its agency's ``tz``, ``name``, ``id`` and ``url``
    (the feed's first agency when the route names none), and the primary zone."""
    routes = data["routes"]
    assert routes is not None
    agency = data["agency"]
    feed_of_route = routes["route_id"].str.split(":", n=1).str[0]
    columns = {"tz": "agency_timezone", "name": "agency_name", "id": "agency_id",
               "url": "agency_url"}
    if agency is None or "agency_timezone" not in agency.columns:
        out = pd.DataFrame({k: "" for k in columns}, index=routes.index)
        out["tz"] = default_tz
        return out, default_tz
    agency = agency.copy()
    for col in columns.values():
        if col not in agency.columns:
            agency[col] = np.nan
    first_per_feed = agency.drop_duplicates("feed").set_index("feed")
    primary = str(agency["agency_timezone"].iloc[0])
    out = pd.DataFrame(index=routes.index)
    by_id = None
    if "agency_id" in routes.columns:
        by_id = agency.dropna(subset=["agency_id"]).drop_duplicates("agency_id")
        by_id = by_id.set_index("agency_id", drop=False)
    for key, col in columns.items():
        value = (routes["agency_id"].map(by_id[col]) if by_id is not None
                 else pd.Series(np.nan, index=routes.index, dtype=object))
        value = value.fillna(feed_of_route.map(first_per_feed[col]))
        out[key] = value.fillna(default_tz if key == "tz" else "").astype(str)
    return out, primary


def _stop_timezones(stops: pd.DataFrame, parent: np.ndarray, primary_tz: str) -> np.ndarray:
    """stop_timezone of each stop, else its parent's, else the timetable's zone."""
    own = _text_column(stops, "stop_timezone")
    zone = np.where(own != "", own, primary_tz).astype(object)
    has_parent = parent >= 0
    inherit = has_parent & (own == "")
    zone[inherit] = np.where(own[parent[inherit]] != "", own[parent[inherit]], primary_tz)
    return zone.astype(str)


def _small_ints(df: pd.DataFrame, name: str, missing: int) -> np.ndarray:
    """An optional integer column as int8, ``missing`` where empty or absent."""
    if name not in df.columns:
        return np.full(len(df), missing, dtype=np.int8)
    values = pd.to_numeric(df[name], errors="coerce").fillna(missing)
    return values.to_numpy(dtype=np.int8)


def _trip_templates(data: GtfsData, stop_index: dict[str, int]) -> tuple[
        np.ndarray, pd.Index, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
        np.ndarray]:
    """Stop times sorted by trip and sequence, with times interpolated where empty."""
    st = data["stop_times"]
    assert st is not None
    # By trip id, then stop_sequence (missing last), stable. The columns are read in the
    # file's order and their arrays put in this one: sorting the frame copied its Arrow
    # strings and turned the trip ids into Python strings (+45 MB on HART's 438k rows).
    codes, trip_uniques = pd.factorize(st["trip_id"], sort=True)  # ranks of sorted ids
    seq = st["stop_sequence"].to_numpy(dtype=float, na_value=np.inf)
    order = np.lexsort((seq, np.where(codes < 0, len(trip_uniques), codes)))
    del seq
    trip_codes = codes[order]
    arr = parse_gtfs_times(st["arrival_time"])[order]
    dep = parse_gtfs_times(st["departure_time"])[order]
    arr = np.where(np.isnan(arr), dep, arr)
    dep = np.where(np.isnan(dep), arr, dep)
    missing = np.isnan(arr)
    if missing.any():
        # Linear interpolation by position between the surrounding timed stops.
        pos = np.arange(len(arr), dtype=float)
        known = ~missing
        prev_idx = pd.Series(np.where(known, pos, np.nan)).ffill().to_numpy()
        next_idx = pd.Series(np.where(known, pos, np.nan)).bfill().to_numpy()
        ok = ~np.isnan(prev_idx) & ~np.isnan(next_idx)
        ok &= missing
        pi = prev_idx[ok].astype(int)
        ni = next_idx[ok].astype(int)
        same_trip = (trip_codes[pi] == trip_codes[ok]) & (trip_codes[ni] == trip_codes[ok])
        frac = (pos[ok] - pi) / np.maximum(ni - pi, 1)
        val = np.round(dep[pi] + (arr[ni] - dep[pi]) * frac)
        fill = np.where(same_trip, val, np.nan)
        arr[ok] = fill
        dep[ok] = fill
    pickup = (st["pickup_type"].fillna(0).to_numpy(dtype=int)[order] != 1
              if "pickup_type" in st.columns else np.ones(len(st), dtype=bool))
    dropoff = (st["drop_off_type"].fillna(0).to_numpy(dtype=int)[order] != 1
               if "drop_off_type" in st.columns else np.ones(len(st), dtype=bool))
    # Each distinct stop id looked up once: ``map`` over the column made a Python string
    # of every row. An id that is missing or unknown becomes NaN, which the int64 refuses.
    stop_codes, stop_uniques = pd.factorize(st["stop_id"])
    known_stops = np.append(stop_uniques.map(stop_index).to_numpy(dtype=float), np.nan)
    stop_idx = pd.Series(known_stops[stop_codes[order]]).to_numpy(dtype=np.int64)
    bad_trip = np.zeros(len(trip_uniques), dtype=bool)
    bad_trip[trip_codes[np.isnan(arr)]] = True
    dropped = int(bad_trip.sum())
    if dropped:
        log.warning("%d trips dropped: first or last stop without a time", dropped)
    return trip_codes, trip_uniques, stop_idx, arr, dep, pickup, dropoff, bad_trip


def order_zero_duration_chains(order: np.ndarray, dep: np.ndarray, arr: np.ndarray,
                               dep_stop: np.ndarray, arr_stop: np.ndarray) -> np.ndarray:
    """Reorder runs of zero-duration connections at one second topologically.

    CSA scans once in sorted order, so a hop arriving at stop s at time t must precede a
    hop leaving s at t; (dep, arr) ties cannot say that, a topological order can (Kahn,
    keeping the sorted order where free; a cycle keeps its sorted order).
    """
    d, a = dep[order], arr[order]
    idx = np.nonzero(d == a)[0]
    if len(idx) < 2:
        return order
    breaks = np.nonzero((np.diff(idx) != 1) | (np.diff(d[idx]) != 0))[0] + 1
    order = order.copy()
    for run in np.split(idx, breaks):
        if len(run) < 2:
            continue
        conns = order[run].tolist()
        leaving: dict[int, list[int]] = {}
        for k, c in enumerate(conns):
            leaving.setdefault(int(dep_stop[c]), []).append(k)
        indegree = [0] * len(conns)
        edges: list[list[int]] = [[] for _ in conns]
        for k, c in enumerate(conns):
            for m in leaving.get(int(arr_stop[c]), []):
                if m != k:
                    edges[k].append(m)
                    indegree[m] += 1
        ready = [k for k in range(len(conns)) if indegree[k] == 0]
        heapq.heapify(ready)
        placed: list[int] = []
        while ready:
            k = heapq.heappop(ready)
            placed.append(k)
            for m in edges[k]:
                indegree[m] -= 1
                if indegree[m] == 0:
                    heapq.heappush(ready, m)
        seen = set(placed)
        placed += [k for k in range(len(conns)) if k not in seen]
        order[run] = [conns[k] for k in placed]
    return order


def _text_column(df: pd.DataFrame, name: str) -> np.ndarray:
    """An optional text column as objects, "" where empty or absent."""
    if name not in df.columns:
        return np.full(len(df), "", dtype=object)
    return df[name].astype("string").fillna("").to_numpy(dtype=object)


def _headsigns(trips: pd.DataFrame, stop_names: np.ndarray, last_stop: np.ndarray) -> np.ndarray:
    """trip_headsign, else the name of the trip's last stop (as OpenTripPlanner does): a
    feed without headsigns would otherwise show riders none at all."""
    given = _text_column(trips, "trip_headsign").astype(str)
    if len(given) == 0:
        return given
    fallback = np.asarray(stop_names, dtype=str)[last_stop] if len(last_stop) else given
    return np.where(np.char.str_len(np.char.strip(given)) > 0, given, fallback).astype(str)


def _frequency_shifts(data: GtfsData, trip_uniques: pd.Index,
                      first_dep: np.ndarray) -> dict[int, np.ndarray]:
    """frequencies.txt as, per template trip code, the start shifts of its copies."""
    freq = data["frequencies"]
    if freq is None:
        return {}
    code_of = {t: i for i, t in enumerate(trip_uniques)}
    f_start = parse_gtfs_times(freq["start_time"])
    f_end = parse_gtfs_times(freq["end_time"])
    f_head = freq["headway_secs"].astype(float).to_numpy()
    collected: dict[int, list[np.ndarray]] = {}
    for tid, a, b, h in zip(freq["trip_id"], f_start, f_end, f_head, strict=True):
        code = code_of.get(tid)
        if code is None or h <= 0:
            continue
        starts = np.arange(a, b, h)
        collected.setdefault(code, []).append(starts - first_dep[code])
    return {c: np.concatenate(v) for c, v in collected.items()}


def _trip_instances(running: list[set[str]], trip_service: np.ndarray, valid_trip: np.ndarray,
                    shifts_of: dict[int, np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(template trip, service day, shift) of every trip that runs: plain trips once per
    active day, frequency templates once per start."""
    inst_trip: list[np.ndarray] = []
    inst_day: list[np.ndarray] = []
    inst_shift: list[np.ndarray] = []
    for di in range(len(running)):
        active = np.fromiter((s in running[di] for s in trip_service), dtype=bool,
                             count=len(trip_service)) & valid_trip
        codes = np.nonzero(active)[0]
        plain = np.array([c for c in codes if c not in shifts_of], dtype=np.int64)
        inst_trip.append(plain)
        inst_shift.append(np.zeros(len(plain), dtype=np.int64))
        for c in codes.tolist():
            if c in shifts_of:
                sh = shifts_of[c]
                inst_trip.append(np.full(len(sh), c, dtype=np.int64))
                inst_shift.append(sh.astype(np.int64))
        inst_day.append(np.full(sum(len(x) for x in inst_trip) - sum(len(x) for x in inst_day),
                                di, dtype=np.int64))
    i_trip = np.concatenate(inst_trip) if inst_trip else np.zeros(0, dtype=np.int64)
    i_day = np.concatenate(inst_day) if inst_day else np.zeros(0, dtype=np.int64)
    i_shift = np.concatenate(inst_shift) if inst_shift else np.zeros(0, dtype=np.int64)
    return i_trip, i_day, i_shift


def _non_overtaking(arr_m: np.ndarray, dep_m: np.ndarray) -> list[list[int]]:
    """Split one pattern's trips (rows, sorted by departures) into groups in which no trip
    overtakes another: RAPTOR's routes need trips ordered at every stop. Greedy first fit."""
    last_arr: list[np.ndarray] = []
    last_dep: list[np.ndarray] = []
    members: list[list[int]] = []
    for k in range(len(arr_m)):
        for r in range(len(members)):
            if (arr_m[k] >= last_arr[r]).all() and (dep_m[k] >= last_dep[r]).all():
                members[r].append(k)
                last_arr[r], last_dep[r] = arr_m[k], dep_m[k]
                break
        else:
            members.append([k])
            last_arr.append(arr_m[k])
            last_dep.append(dep_m[k])
    return members


def _stop_transfers(data: GtfsData,
                    stop_index: dict[str, int]) -> list[tuple[int, int, int, int]]:
    """transfers.txt rows between stops (trip- and route-specific ones are not footpaths)
    as (from, to, transfer_type, min_transfer_time or -1) by stop index."""
    tr = data["transfers"]
    if tr is None:
        return []
    plain_tr = tr[~scoped_mask(tr)]  # scoped rows: planner.timetable.transfer_rules
    fr = plain_tr["from_stop_id"].map(stop_index)
    to = plain_tr["to_stop_id"].map(stop_index)
    ttype = plain_tr["transfer_type"].fillna(0).astype(int) \
        if "transfer_type" in plain_tr.columns else pd.Series(0, index=plain_tr.index)
    mtt = plain_tr["min_transfer_time"].fillna(-1).astype(float).astype(int) \
        if "min_transfer_time" in plain_tr.columns else pd.Series(-1, index=plain_tr.index)
    ok = fr.notna() & to.notna()
    return list(zip(fr[ok].astype(int), to[ok].astype(int), ttype[ok], mtt[ok], strict=True))


def _return_freed_memory() -> None:
    """Give the pages of freed allocations back to the system (glibc's ``malloc_trim``;
    elsewhere nothing). The compile frees tens of stop-time-sized arrays and tables in
    bursts, and glibc keeps freed space inside its heap: at the footpath step on HART
    ~70 MB were free but resident, a quarter of the peak."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError, TypeError):  # not glibc
        pass


@contextmanager
def _system_arrow_pool() -> Iterator[None]:
    """Arrow buffers from the C library's allocator while a compile runs. Arrow's own
    (mimalloc) keeps freed segments for reuse, so every table parsed and dropped during a
    compile stayed resident: on HART ~45 MB of its peak. Buffers remember their pool, so
    switching back afterwards is safe for whatever outlives the compile."""
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def compile_timetable(
    feeds: Sequence[str | Path] | GtfsData,
    day: date,
    options: CompileOptions | None = None,
    *,
    progress: bool = False,
    version: str | None = None,
) -> Timetable:
    """Build the arrays for ``day`` and its neighbours (see CompileOptions)."""
    with _system_arrow_pool():
        return _compile(feeds, day, options or CompileOptions(), progress, version)


def _compile(feeds: Sequence[str | Path] | GtfsData, day: date, opts: CompileOptions,
             progress: bool, version: str | None) -> Timetable:
    timings: dict[str, float] = {}
    started = clock.perf_counter()
    steps = ("read", "stop_times", "calendar", "routes", "connections", "footpaths")
    bar = tqdm(total=len(steps), desc="compile", unit="step", disable=not progress,
               file=sys.stderr)

    def lap(name: str) -> None:
        nonlocal started
        now = clock.perf_counter()
        timings[name] = round(now - started, 3)
        started = now
        bar.set_postfix_str(name)
        bar.update(1)

    own_data = not isinstance(feeds, GtfsData)
    data = feeds if isinstance(feeds, GtfsData) else load_feeds(list(feeds), read=COMPILED)
    _return_freed_memory()  # what parsing the files used
    lap("read")
    ranges = feed_date_ranges(data)
    check_day(day, ranges)

    # ---- stops ----------------------------------------------------------------------
    stops = data["stops"]
    assert stops is not None
    stop_ids = stops["stop_id"].astype(str).to_numpy()
    stop_index = {s: i for i, s in enumerate(stop_ids)}
    parent = stops.get("parent_station")
    stop_parent = (parent.map(stop_index).fillna(-1).to_numpy(dtype=np.int32)
                   if parent is not None else np.full(len(stops), -1, dtype=np.int32))
    stop_lat = stops["stop_lat"].to_numpy(dtype=float, na_value=np.nan)
    stop_lon = stops["stop_lon"].to_numpy(dtype=float, na_value=np.nan)
    stop_names = stops["stop_name"].fillna("").astype(str).to_numpy() \
        if "stop_name" in stops.columns else np.full(len(stops), "", dtype=object)

    # ---- lines and GTFS trips ----------------------------------------------------------
    routes = data["routes"]
    trips = data["trips"]
    assert routes is not None and trips is not None
    agencies, primary_tz = _route_agencies(data, opts.default_timezone)
    route_tz = agencies["tz"]
    line_index = {r: i for i, r in enumerate(routes["route_id"])}

    (trip_codes, trip_uniques, stop_idx, rel_arr, rel_dep, pickup, dropoff,
     bad_trip) = _trip_templates(data, stop_index)
    if own_data:  # nothing else holds the tables: the largest one goes before the arrays
        data.tables["stop_times"] = None
    _return_freed_memory()
    # Line in its feed's trips.txt (header is line 1): MOTIS's StopTime/Leg ``source``.
    feed_of_trip = trips["trip_id"].astype(str).str.split(":", n=1).str[0]
    trips = trips.assign(_source_line=trips.groupby(feed_of_trip).cumcount() + 2)
    trips = trips.set_index("trip_id").reindex(trip_uniques)
    gtfs_trip_line = trips["route_id"].map(line_index).to_numpy(dtype=np.int64)
    trip_tz = route_tz.to_numpy()[gtfs_trip_line]
    trip_service = trips["service_id"].to_numpy()
    rule_set = read_rules(data["transfers"], stop_index,
                          {t: i for i, t in enumerate(trip_uniques)}, line_index)
    scope = pattern_scope(rule_set, gtfs_trip_line) if rule_set.rules else None
    lap("stop_times")

    # ---- service days and time zones --------------------------------------------------
    max_time = float(np.nanmax(rel_arr)) if len(rel_arr) else 0.0
    back = max(opts.days_before, int(max_time // 86400))
    days = date_range(day - timedelta(days=back), day + timedelta(days=opts.days_after))
    t0 = int(datetime.combine(days[0], time(0), ZoneInfo(primary_tz)).timestamp())
    offsets_by_tz = {tz: day_offsets(tz, days, t0) for tz in set(trip_tz.tolist())}
    running = active_services(data, days)
    idle_warnings = idle_feed_warnings(data, ranges, day, running[days.index(day)])

    # ---- trip starts: (gtfs trip, day, shift); frequencies expand templates ------------
    trip_start = np.zeros(len(trip_uniques) + 1, dtype=np.int64)
    np.cumsum(np.bincount(trip_codes, minlength=len(trip_uniques)), out=trip_start[1:])
    first_dep = rel_dep[trip_start[:-1]]
    shifts_of = _frequency_shifts(data, trip_uniques, first_dep)
    valid_trip = ~bad_trip & (np.diff(trip_start) >= 2)
    i_trip, i_day, i_shift = _trip_instances(running, trip_service, valid_trip, shifts_of)
    lap("calendar")

    # ---- patterns: same stops and same pickup/drop-off rules ----------------------------
    pattern_of_trip = np.full(len(trip_uniques), -1, dtype=np.int64)
    pattern_keys: dict[bytes, int] = {}
    flags = (pickup.astype(np.int64) | (dropoff.astype(np.int64) << 1))
    key_arr = stop_idx * 4 + flags
    for code in np.unique(i_trip):
        a, b = trip_start[code], trip_start[code + 1]
        key = key_arr[a:b].tobytes() + (b"" if scope is None else scope[code].tobytes())
        pattern_of_trip[code] = pattern_keys.setdefault(key, len(pattern_keys))

    # Absolute times per instance, grouped by pattern; split to avoid overtaking.
    tz_offsets = np.array([offsets_by_tz[trip_tz[c]][d] for c, d in zip(i_trip, i_day,
                                                                          strict=True)],
                          dtype=np.int64) if len(i_trip) else np.zeros(0, dtype=np.int64)
    base = tz_offsets + i_shift
    inst_pattern = pattern_of_trip[i_trip]
    order = np.lexsort((base + first_dep[i_trip], inst_pattern))
    route_stops_l: list[np.ndarray] = []
    route_pick_l: list[np.ndarray] = []
    route_drop_l: list[np.ndarray] = []
    route_line_l: list[int] = []
    trips_by_route: list[np.ndarray] = []
    pat_bounds = np.flatnonzero(np.diff(inst_pattern[order])) + 1
    for group in np.split(order, pat_bounds) if len(order) else []:
        code0 = i_trip[group[0]]
        a, b = trip_start[code0], trip_start[code0 + 1]
        cols = np.arange(b - a)
        starts = trip_start[i_trip[group]]
        arr_m = rel_arr[starts[:, None] + cols] + base[group][:, None]
        dep_m = rel_dep[starts[:, None] + cols] + base[group][:, None]
        srt = np.lexsort(tuple(dep_m[:, ::-1].T) + ())
        group = group[srt]
        for m in _non_overtaking(arr_m[srt], dep_m[srt]):
            route_stops_l.append(stop_idx[a:b])
            route_pick_l.append(pickup[a:b])
            route_drop_l.append(dropoff[a:b])
            route_line_l.append(int(gtfs_trip_line[code0]))
            trips_by_route.append(group[np.array(m)])
    lap("routes")

    # ---- flat arrays ----------------------------------------------------------------------
    n_routes = len(route_stops_l)
    route_len = np.array([len(s) for s in route_stops_l], dtype=np.int64)
    route_stop_offset = np.zeros(n_routes + 1, dtype=np.int32)
    np.cumsum(route_len, out=route_stop_offset[1:])
    route_trip_count = np.array([len(t) for t in trips_by_route], dtype=np.int64)
    route_trip_offset = np.zeros(n_routes + 1, dtype=np.int32)
    np.cumsum(route_trip_count, out=route_trip_offset[1:])
    inst_order = (np.concatenate(trips_by_route) if trips_by_route
                  else np.zeros(0, dtype=np.int64))
    trip_route = np.repeat(np.arange(n_routes, dtype=np.int32), route_trip_count)
    trip_len = route_len[trip_route]
    trip_st_offset = np.zeros(len(inst_order) + 1, dtype=np.int64)
    np.cumsum(trip_len, out=trip_st_offset[1:])
    # Gather times: for each instance, the template's rows plus its base offset.
    tmpl_start = np.repeat(trip_start[i_trip[inst_order]], trip_len)
    within = np.arange(trip_st_offset[-1]) - np.repeat(trip_st_offset[:-1], trip_len)
    rows = tmpl_start + within
    shift = np.repeat(base[inst_order], trip_len)
    st_arr = (rel_arr[rows] + shift).astype(np.int32)
    st_dep = (rel_dep[rows] + shift).astype(np.int32)

    # stop -> (route, position)
    all_route_stops = (np.concatenate(route_stops_l) if route_stops_l
                       else np.zeros(0, dtype=np.int64))
    rs_route = np.repeat(np.arange(n_routes), route_len)
    rs_pos = np.arange(len(all_route_stops)) - np.repeat(route_stop_offset[:-1], route_len)
    o = np.lexsort((rs_pos, rs_route, all_route_stops))
    stop_route_offset = np.zeros(len(stop_ids) + 1, dtype=np.int32)
    np.cumsum(np.bincount(all_route_stops, minlength=len(stop_ids)), out=stop_route_offset[1:])

    # CSA connections: every consecutive pair of a trip instance.
    inst_idx = np.repeat(np.arange(len(inst_order)), trip_len)
    not_last = within < (trip_len_rep := np.repeat(trip_len, trip_len)) - 1
    ci = np.nonzero(not_last)[0]
    route_pos_flat = route_stop_offset[trip_route[inst_idx[ci]]] + within[ci]
    conn_dep_stop = all_route_stops[route_pos_flat]
    conn_arr_stop = all_route_stops[route_pos_flat + 1]
    all_pick = np.concatenate(route_pick_l) if route_pick_l else np.zeros(0, dtype=bool)
    all_drop = np.concatenate(route_drop_l) if route_drop_l else np.zeros(0, dtype=bool)
    c_dep = st_dep[ci]
    c_arr = st_arr[ci + 1]
    c_trip = inst_idx[ci]
    c_pos = within[ci]
    corder = np.lexsort((c_pos, c_trip, c_arr, c_dep))
    corder = order_zero_duration_chains(corder, c_dep, c_arr, all_route_stops[route_pos_flat],
                                        all_route_stops[route_pos_flat + 1])
    # The stop-time-sized working arrays are done with: freed before scipy and the
    # footpaths, not held to the end of the compile (~30 MB of its peak on HART).
    del (trip_len_rep, rel_arr, rel_dep, trip_codes, pickup, dropoff, flags, key_arr,
         route_stops_l, route_pick_l, route_drop_l, trips_by_route, tmpl_start, within, rows,
         shift, inst_idx, not_last, ci, base, tz_offsets, inst_pattern, order)
    lap("connections")

    # ---- footpaths --------------------------------------------------------------------------
    # scipy (KD-tree, Dijkstra) is imported here, after stop_times are gone, not with the
    # module: its ~35 MB would otherwise add to the compile's peak while they are read.
    _return_freed_memory()  # before scipy's libraries are mapped in
    from planner.timetable.footpaths import build_footpaths

    transfers_rows = _stop_transfers(data, stop_index)
    fp = build_footpaths(stop_lat, stop_lon, transfers_rows, radius_m=opts.footpath_radius,
                         speed_kmh=opts.walk_speed_kmh,
                         default_change_time=opts.default_change_time,
                         max_walk_s=opts.footpath_max_walk)
    route_gtfs = i_trip[inst_order][route_trip_offset[:-1]] if n_routes else i_trip[:0]
    rules = build_rule_tables(
        rule_set, route_stop_offset, all_route_stops,
        scope[route_gtfs] if scope is not None else np.zeros((0, 2), dtype=np.int64),
        fp.change_time, fp.offset, fp.to, fp.dur)
    lap("footpaths")
    bar.close()

    tt = Timetable(
        version=version or "uncached",
        timezone=primary_tz,
        dates=days,
        t0=t0,
        feed_ranges=ranges,
        stop_ids=stop_ids.astype(str),
        stop_names=stop_names.astype(str),
        stop_lat=stop_lat,
        stop_lon=stop_lon,
        stop_parent=stop_parent,
        stop_change_time=fp.change_time,
        stop_platform_code=_text_column(stops, "platform_code").astype(str),
        stop_code=_text_column(stops, "stop_code").astype(str),
        stop_desc=_text_column(stops, "stop_desc").astype(str),
        stop_tz=_stop_timezones(stops, stop_parent, primary_tz),
        route_stop_offset=route_stop_offset,
        route_stops=all_route_stops.astype(np.int32),
        route_pickup=all_pick.astype(np.uint8),
        route_dropoff=all_drop.astype(np.uint8),
        route_trip_offset=route_trip_offset,
        route_line=np.array(route_line_l, dtype=np.int32),
        trip_route=trip_route,
        trip_gtfs=i_trip[inst_order].astype(np.int32),
        trip_day=i_day[inst_order].astype(np.int16),
        trip_st_offset=trip_st_offset.astype(np.int32),
        st_arr=st_arr,
        st_dep=st_dep,
        stop_route_offset=stop_route_offset,
        stop_route_route=rs_route[o].astype(np.int32),
        stop_route_pos=rs_pos[o].astype(np.int32),
        conn_dep_stop=conn_dep_stop[corder].astype(np.int32),
        conn_arr_stop=conn_arr_stop[corder].astype(np.int32),
        conn_dep=c_dep[corder].astype(np.int32),
        conn_arr=c_arr[corder].astype(np.int32),
        conn_trip=c_trip[corder].astype(np.int32),
        conn_pos=c_pos[corder].astype(np.int32),
        conn_pickup=all_pick[route_pos_flat][corder].astype(np.uint8),
        conn_dropoff=all_drop[route_pos_flat + 1][corder].astype(np.uint8),
        fp_offset=fp.offset,
        fp_to=fp.to,
        fp_dur=fp.dur,
        fp_in_offset=fp.in_offset,
        fp_in_from=fp.in_from,
        fp_in_dur=fp.in_dur,
        route_alight_rule=rules.route_alight_rule,
        route_board_rule=rules.route_board_rule,
        rule_alight_stop=rules.rule_alight_stop,
        rule_board_stop=rules.rule_board_stop,
        rule_offset=rules.rule_offset,
        rule_board=rules.rule_board,
        rule_time=rules.rule_time,
        rule_in_offset=rules.rule_in_offset,
        rule_in_alight=rules.rule_in_alight,
        rule_in_time=rules.rule_in_time,
        line_ids=routes["route_id"].astype(str).to_numpy(),
        line_short_name=_text_column(routes, "route_short_name").astype(str),
        line_long_name=_text_column(routes, "route_long_name").astype(str),
        line_type=routes["route_type"].astype(int).to_numpy(dtype=np.int32),
        line_color=_text_column(routes, "route_color").astype(str),
        line_text_color=_text_column(routes, "route_text_color").astype(str),
        line_agency_name=agencies["name"].to_numpy().astype(str),
        line_agency_id=agencies["id"].to_numpy().astype(str),
        line_agency_url=agencies["url"].to_numpy().astype(str),
        line_url=_text_column(routes, "route_url").astype(str),
        gtfs_trip_ids=np.asarray(trip_uniques, dtype=str),
        gtfs_trip_headsign=_headsigns(trips.reset_index(), stop_names,
                                      stop_idx[np.maximum(trip_start[1:] - 1, 0)]),
        gtfs_trip_line=gtfs_trip_line.astype(np.int32),
        gtfs_trip_shape=_text_column(trips.reset_index(), "shape_id").astype(str),
        gtfs_trip_short_name=_text_column(trips.reset_index(), "trip_short_name").astype(str),
        gtfs_trip_direction=_small_ints(trips.reset_index(), "direction_id", -1),
        gtfs_trip_bikes=_small_ints(trips.reset_index(), "bikes_allowed", 0),
        gtfs_trip_wheelchair=_small_ints(trips.reset_index(), "wheelchair_accessible", 0),
        gtfs_trip_source_line=trips["_source_line"].fillna(0).to_numpy(dtype=np.int32),
    )
    tt.extra.update({
        "timings": timings,
        "footpath_stats": fp.stats,
        "transfer_rule_stats": rules.stats,
        "warnings": [*data.warnings, *idle_warnings],
        "query_day": day.isoformat(),
    })
    return tt
