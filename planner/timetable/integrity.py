"""Is a compiled timetable read back from disk the one that was written, and safe?

The engines index arrays without bounds checks (that is their speed), so a cache entry
with random bytes in ``route_stops.npy`` would crash the process on its first query, on
every start. Two checks stand between the disk and the engines:

* every file of an entry is digested when it is written (``checksums.json``, written
  last, before the entry is renamed into place) and verified when it is read: a flipped
  byte, a truncated array or an edited ``meta.json`` is caught before anything is parsed;
* :func:`check_structure` proves every index the engines follow lands inside its array,
  so even a timetable that passes the digests by accident (or was built by other code)
  cannot make them read out of bounds.

Either failure raises :class:`DamagedTimetable`; the disk cache then rebuilds the entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from planner.timetable.model import Timetable

#: Written last in an entry: file name -> digest of every other file.
CHECKSUMS = "checksums.json"
_CHUNK = 1 << 20


class DamagedTimetable(ValueError):
    """A cache entry that is not what was written, or not safe for the engines."""


def file_digest(path: Path) -> str:
    """BLAKE2b-128 of a file, read in chunks (~1 GB/s: a HART entry costs tens of ms)."""
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def write_checksums(directory: Path) -> None:
    """Digest every file of a freshly saved entry into :data:`CHECKSUMS`."""
    sums = {p.name: file_digest(p) for p in sorted(directory.iterdir())
            if p.is_file() and p.name != CHECKSUMS}
    (directory / CHECKSUMS).write_text(json.dumps(sums, sort_keys=True))


def verify_checksums(directory: Path) -> None:
    """Raise :class:`DamagedTimetable` unless every file is there with its digest and no
    file is missing from the list (an entry from before checksums counts as damaged)."""
    try:
        sums = json.loads((directory / CHECKSUMS).read_text())
    except (OSError, ValueError) as exc:
        raise DamagedTimetable(f"{CHECKSUMS} unreadable: {exc}") from exc
    if not isinstance(sums, dict):
        raise DamagedTimetable(f"{CHECKSUMS} is not an object")
    present = {p.name for p in directory.iterdir() if p.is_file() and p.name != CHECKSUMS}
    if present != set(sums):
        raise DamagedTimetable(f"files differ from {CHECKSUMS}: "
                               f"{sorted(present ^ set(sums))}")
    for name, digest in sorted(sums.items()):
        if file_digest(directory / name) != digest:
            raise DamagedTimetable(f"{name} does not match its checksum")


def _require(ok: bool | np.bool_, what: str) -> None:
    if not ok:
        raise DamagedTimetable(what)


def _within(name: str, values: np.ndarray, low: int, high: int) -> None:
    """Every value in ``[low, high)``."""
    if len(values):
        _require(int(values.min()) >= low and int(values.max()) < high,
                 f"{name} out of range [{low}, {high})")


def _csr(name: str, offset: np.ndarray, n: int, values: int) -> None:
    """A CSR offset array over ``n`` rows indexing ``values`` entries."""
    _require(len(offset) == n + 1, f"{name} has {len(offset)} entries, not {n + 1}")
    _require(int(offset[0]) == 0 and int(offset[-1]) == values,
             f"{name} does not span its {values} values")
    _require(bool(np.all(np.diff(offset) >= 0)), f"{name} decreases")


def _lengths(tt: Timetable, n: int, names: Iterable[str]) -> None:
    for name in names:
        _require(len(getattr(tt, name)) == n, f"{name} is not {n} long")


_RULES = ("route_alight_rule", "route_board_rule", "rule_alight_stop", "rule_board_stop",
          "rule_offset", "rule_board", "rule_time", "rule_in_offset", "rule_in_alight",
          "rule_in_time")
_INT32 = ("stop_parent", "stop_change_time", "route_stop_offset", "route_stops",
          "route_trip_offset", "route_line", "trip_route", "trip_gtfs", "trip_st_offset",
          "st_arr", "st_dep", "stop_route_offset", "stop_route_route", "stop_route_pos",
          "conn_dep_stop", "conn_arr_stop", "conn_dep", "conn_arr", "conn_trip", "conn_pos",
          "fp_offset", "fp_to", "fp_dur", "fp_in_offset", "fp_in_from", "fp_in_dur",
          "line_type", "gtfs_trip_line", *_RULES)
_UINT8 = ("route_pickup", "route_dropoff", "conn_pickup", "conn_dropoff")


def check_structure(tt: Timetable) -> None:
    """Raise :class:`DamagedTimetable` unless every index the engines and the result
    builder follow stays inside its array (vectorised: a few ms on HART)."""
    for name in _INT32:
        _require(getattr(tt, name).dtype == np.int32, f"{name} is not int32")
    for name in _UINT8:
        _require(getattr(tt, name).dtype == np.uint8, f"{name} is not uint8")
    _require(tt.trip_day.dtype == np.int16, "trip_day is not int16")
    _check_meta(tt)
    S, R, T = tt.n_stops, tt.n_routes, tt.n_trips
    L, G = len(tt.line_ids), len(tt.gtfs_trip_ids)
    _lengths(tt, S, ("stop_names", "stop_lat", "stop_lon", "stop_parent",
                     "stop_change_time"))
    _within("stop_parent", tt.stop_parent, -1, S)
    # routes and their stops
    _csr("route_stop_offset", tt.route_stop_offset, R, len(tt.route_stops))
    _within("route_stops", tt.route_stops, 0, S)
    _lengths(tt, len(tt.route_stops), ("route_pickup", "route_dropoff"))
    _within("route_line", tt.route_line, 0, L)
    route_len = np.diff(tt.route_stop_offset)
    # trips: grouped by route, each with one stop time per route position
    _csr("route_trip_offset", tt.route_trip_offset, R, T)
    _require(bool(np.array_equal(np.repeat(np.arange(R, dtype=np.int32),
                                           np.diff(tt.route_trip_offset)),
                                 tt.trip_route)), "trip_route disagrees with its routes")
    _lengths(tt, T, ("trip_gtfs", "trip_day"))
    _within("trip_gtfs", tt.trip_gtfs, 0, G)
    _within("trip_day", tt.trip_day, 0, len(tt.dates))
    _csr("trip_st_offset", tt.trip_st_offset, T, len(tt.st_arr))
    _require(len(tt.st_dep) == len(tt.st_arr), "st_dep and st_arr differ in length")
    _require(bool(np.array_equal(np.diff(tt.trip_st_offset), route_len[tt.trip_route])),
             "a trip's stop times do not match its route's stops")
    # stop -> routes: each (route, position) really is that stop
    _csr("stop_route_offset", tt.stop_route_offset, S, len(tt.stop_route_route))
    _require(len(tt.stop_route_pos) == len(tt.stop_route_route), "stop_route_pos length")
    _within("stop_route_route", tt.stop_route_route, 0, R)
    if len(tt.stop_route_route):
        _require(bool(np.all((tt.stop_route_pos >= 0)
                             & (tt.stop_route_pos < route_len[tt.stop_route_route]))),
                 "stop_route_pos beyond its route")
        owner = np.repeat(np.arange(S, dtype=np.int32), np.diff(tt.stop_route_offset))
        at = tt.route_stop_offset[tt.stop_route_route] + tt.stop_route_pos
        _require(bool(np.array_equal(tt.route_stops[at], owner)),
                 "stop_route_* names a route position of another stop")
    _check_connections(tt, S, T, route_len)
    # footpaths, both directions
    _csr("fp_offset", tt.fp_offset, S, len(tt.fp_to))
    _within("fp_to", tt.fp_to, 0, S)
    _csr("fp_in_offset", tt.fp_in_offset, S, len(tt.fp_in_from))
    _within("fp_in_from", tt.fp_in_from, 0, S)
    _require(len(tt.fp_dur) == len(tt.fp_to) and len(tt.fp_in_dur) == len(tt.fp_in_from),
             "footpath durations differ in length from their stops")
    _within("fp_dur", tt.fp_dur, 0, 2**30)
    _within("fp_in_dur", tt.fp_in_dur, 0, 2**30)
    _check_rules(tt, S)
    # lines and GTFS trips, read when results are built
    _lengths(tt, L, ("line_short_name", "line_long_name", "line_type", "line_color",
                     "line_text_color", "line_agency_name"))
    _lengths(tt, G, ("gtfs_trip_headsign", "gtfs_trip_line", "gtfs_trip_shape"))
    _within("gtfs_trip_line", tt.gtfs_trip_line, 0, L)
    _per_row_arrays(tt, S, L, G)


#: Array name prefixes and the table they hold one value per row of: whatever fields the
#: timetable gains (platform codes, agency urls, bike flags...), the result builder reads
#: them by stop, line or GTFS trip index, so their lengths must match.
_PER_ROW = (("stop_route_", None), ("stop_", "S"), ("line_", "L"), ("gtfs_trip_", "G"))


def _per_row_arrays(tt: Timetable, S: int, L: int, G: int) -> None:
    sizes = {"S": S, "L": L, "G": G}
    for name, value in vars(tt).items():
        if not isinstance(value, np.ndarray):
            continue
        table = next((t for prefix, t in _PER_ROW if name.startswith(prefix)), None)
        if table is not None:
            _require(len(value) == sizes[table], f"{name} is not {sizes[table]} long")


def _check_rules(tt: Timetable, S: int) -> None:
    """The scoped transfer rules: the engines follow them wherever ``route_alight_rule``
    is not empty, from route positions into keys, keys into stops and CSR entries."""
    X, Y = len(tt.rule_alight_stop), len(tt.rule_board_stop)
    if len(tt.route_alight_rule) == 0:
        _require(len(tt.route_board_rule) == 0 and X == 0 and Y == 0,
                 "route_alight_rule empty but other rule arrays are not")
    else:
        _lengths(tt, len(tt.route_stops), ("route_alight_rule", "route_board_rule"))
    _within("route_alight_rule", tt.route_alight_rule, -1, X)
    _within("route_board_rule", tt.route_board_rule, -1, Y)
    _within("rule_alight_stop", tt.rule_alight_stop, 0, S)
    _within("rule_board_stop", tt.rule_board_stop, 0, S)
    _csr("rule_offset", tt.rule_offset, X, len(tt.rule_board))
    _within("rule_board", tt.rule_board, 0, Y)
    _csr("rule_in_offset", tt.rule_in_offset, Y, len(tt.rule_in_alight))
    _within("rule_in_alight", tt.rule_in_alight, 0, X)
    _require(len(tt.rule_time) == len(tt.rule_board)
             and len(tt.rule_in_time) == len(tt.rule_in_alight),
             "rule times differ in length from their keys")
    _within("rule_time", tt.rule_time, 0, 2**30)
    _within("rule_in_time", tt.rule_in_time, 0, 2**30)


def _check_connections(tt: Timetable, S: int, T: int, route_len: np.ndarray) -> None:
    C = tt.n_connections
    _lengths(tt, C, ("conn_dep_stop", "conn_arr_stop", "conn_arr", "conn_trip",
                     "conn_pos", "conn_pickup", "conn_dropoff"))
    _within("conn_dep_stop", tt.conn_dep_stop, 0, S)
    _within("conn_arr_stop", tt.conn_arr_stop, 0, S)
    _within("conn_trip", tt.conn_trip, 0, T)
    if C:
        _require(bool(np.all((tt.conn_pos >= 0)
                             & (tt.conn_pos < route_len[tt.trip_route[tt.conn_trip]] - 1))),
                 "conn_pos beyond its trip")
        _require(bool(np.all(np.diff(tt.conn_dep) >= 0)), "connections not sorted")


def _check_meta(tt: Timetable) -> None:
    _require(isinstance(tt.version, str), "version is not a string")
    _require(isinstance(tt.t0, int) and abs(tt.t0) < 2**40, "t0 out of range")
    days = tt.dates
    _require(len(days) > 0 and all(b - a == timedelta(days=1)
                                   for a, b in zip(days, days[1:], strict=False)),
             "dates are not consecutive days")
    try:
        ZoneInfo(tt.timezone)
    except (ValueError, KeyError) as exc:
        raise DamagedTimetable(f"unknown timezone {tt.timezone!r}") from exc


def load_checked(directory: Path) -> Timetable:
    """The entry at ``directory`` after both checks; :class:`DamagedTimetable` (or the
    reader's own error on a file it cannot parse) otherwise."""
    verify_checksums(directory)
    try:
        tt = Timetable.load(directory)
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise DamagedTimetable(f"unreadable: {exc}") from exc
    check_structure(tt)
    return tt
