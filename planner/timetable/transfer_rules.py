"""transfers.txt rows scoped to routes or trips, compiled into a sparse exception table.

GTFS ranks a transfer row by specificity (both trips > a trip and a route > one trip >
both routes > one route > stops only); for a change from trip A (alighting at stop
``s``) to trip B (boarding at ``u``) the most specific matching row for ``(s, u)``
decides, and the stop-level model (``stop_change_time``, footpaths) applies where no
scoped row matches. Rows of the same rank that both match: the strictest wins.

The exception table keeps the engines' common path unchanged:

* An **alight key** ``x`` is a (stop, from-class) pair: the class of a trip at ``s`` is
  its GTFS trip if some scoped row from ``s`` names it, and its line if one names that.
  Alighting where ``route_alight_rule`` is ``x >= 0`` writes the label of ``x`` instead
  of the stop's trip label; the rules are the same for every trip of one class.
* A **board key** ``y`` is a (stop, to-class) pair, the same for the boarding side, made
  at every stop an alight key can reach; ``route_board_rule`` gives it per position.
* ``rule_offset/rule_board/rule_time`` (CSR by ``x``): the changes an alight key allows,
  to board key ``y`` after ``rule_time`` seconds (the rule's, or the stop-level
  change time or footpath where no row matches; forbidden ones are absent). The
  ``rule_in_*`` arrays are the same by ``y``, for the reverse engines.

A trip boarding at a position with board key ``y`` is ready at the earlier of the stop's
plain ready time (from alighting without a key, and the origin) and ``y``'s. RAPTOR
routes are split so that all trips of one route share their classes (the compiler adds
:func:`pattern_scope` to its pattern key). Types: 1 (timed) is 0 s, 2 its
``min_transfer_time``, 3 forbids, 0 keeps the stop-level time (or its own if given);
4 and 5 (in-seat) are not supported and counted as ignored (no feed here has them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.timetable.model import NO_TRANSFER, Timetable

log = logging.getLogger(__name__)
SCOPE_COLUMNS = ("from_trip_id", "to_trip_id", "from_route_id", "to_route_id")
FORBIDDEN = -1


def scoped_mask(transfers: pd.DataFrame) -> np.ndarray:
    """Rows naming a route or a trip."""
    mask = np.zeros(len(transfers), dtype=bool)
    for column in SCOPE_COLUMNS:
        if column in transfers.columns:
            mask |= transfers[column].notna().to_numpy()
    return mask


@dataclass(frozen=True)
class Rule:
    from_stop: int
    to_stop: int
    from_trip: int  # GTFS trip code, -1: any
    to_trip: int
    from_line: int  # line index, -1: any
    to_line: int
    seconds: int  # FORBIDDEN, or the change time (-2: the stop-level time, type 0)

    @property
    def rank(self) -> tuple[int, int]:
        """Specificity, larger first: trips named, then routes named."""
        return ((self.from_trip >= 0) + (self.to_trip >= 0),
                (self.from_line >= 0) + (self.to_line >= 0))

    def matches(self, co: tuple[int, int], ci: tuple[int, int]) -> bool:
        return ((self.from_trip < 0 or self.from_trip == co[0])
                and (self.from_line < 0 or self.from_line == co[1])
                and (self.to_trip < 0 or self.to_trip == ci[0])
                and (self.to_line < 0 or self.to_line == ci[1]))


@dataclass
class RuleSet:
    """The scoped rows of a feed by index, and what happened to the others."""

    rules: list[Rule]
    stats: dict[str, int]
    named_trips: set[int] = field(default_factory=set)
    named_lines: set[int] = field(default_factory=set)


def read_rules(transfers: pd.DataFrame | None, stop_index: dict[str, int],
               trip_code: dict[str, int], line_index: dict[str, int]) -> RuleSet:
    """The scoped rows of transfers.txt as :class:`Rule` s by index."""
    stats = {"scoped_rows": 0, "scoped_rules": 0, "scoped_unknown_ids": 0,
             "scoped_in_seat_ignored": 0}
    if transfers is None or len(transfers) == 0:
        return RuleSet([], stats)
    rows = transfers[scoped_mask(transfers)]
    stats["scoped_rows"] = len(rows)
    rules: list[Rule] = []

    def ids(column: str, index: dict[str, int]) -> list[int | None]:
        """Index per row, -1 where empty, None where the id is unknown."""
        if column not in rows.columns:
            return [-1] * len(rows)
        return [-1 if pd.isna(v) else index.get(v) for v in rows[column]]

    columns = [ids("from_stop_id", stop_index), ids("to_stop_id", stop_index),
               ids("from_trip_id", trip_code), ids("to_trip_id", trip_code),
               ids("from_route_id", line_index), ids("to_route_id", line_index)]
    kinds = (rows["transfer_type"].fillna(0).astype(int).tolist()
             if "transfer_type" in rows.columns else [0] * len(rows))
    times = (rows["min_transfer_time"].fillna(-1).astype(float).astype(int).tolist()
             if "min_transfer_time" in rows.columns else [-1] * len(rows))
    for fs, ts, ft, tt, fl, tl, kind, secs in zip(*columns, kinds, times, strict=True):
        if kind in (4, 5):
            stats["scoped_in_seat_ignored"] += 1
            continue
        if None in (fs, ts, ft, tt, fl, tl) or fs < 0 or ts < 0:
            stats["scoped_unknown_ids"] += 1
            continue
        if kind == 3:
            seconds = FORBIDDEN
        elif kind == 1:
            seconds = 0
        elif kind == 2:
            seconds = max(secs, 0)
        else:
            seconds = secs if secs >= 0 else -2
        rules.append(Rule(fs, ts, ft, tt, fl, tl, seconds))
    stats["scoped_rules"] = len(rules)
    if stats["scoped_in_seat_ignored"]:
        log.warning("%d in-seat transfers.txt rows (types 4, 5) ignored",
                    stats["scoped_in_seat_ignored"])
    named_trips = {t for r in rules for t in (r.from_trip, r.to_trip) if t >= 0}
    named_lines = {t for r in rules for t in (r.from_line, r.to_line) if t >= 0}
    return RuleSet(rules, stats, named_trips, named_lines)


def pattern_scope(rule_set: RuleSet, gtfs_trip_line: np.ndarray) -> np.ndarray:
    """Per GTFS trip code, (trip code or -1, line or -1) as the rules name them: trips
    with different values must not share a RAPTOR route."""
    n = len(gtfs_trip_line)
    out = np.full((n, 2), -1, dtype=np.int64)
    if rule_set.named_trips:
        named = np.array(sorted(rule_set.named_trips), dtype=np.int64)
        out[named, 0] = named
    if rule_set.named_lines:
        lines = np.asarray(gtfs_trip_line, dtype=np.int64)
        hit = np.isin(lines, np.array(sorted(rule_set.named_lines), dtype=np.int64))
        out[hit, 1] = lines[hit]
    return out


@dataclass
class RuleTables:
    route_alight_rule: np.ndarray
    route_board_rule: np.ndarray
    rule_alight_stop: np.ndarray
    rule_board_stop: np.ndarray
    rule_offset: np.ndarray
    rule_board: np.ndarray
    rule_time: np.ndarray
    rule_in_offset: np.ndarray
    rule_in_alight: np.ndarray
    rule_in_time: np.ndarray
    stats: dict[str, int]


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=np.int32)


@dataclass
class _Scopes:
    """Per stop, the trips and lines the rules name on each side, and the rows."""

    from_trips: dict[int, set[int]] = field(default_factory=dict)
    from_lines: dict[int, set[int]] = field(default_factory=dict)
    wild_from: set[int] = field(default_factory=set)  # stops of rows naming no from-side
    to_trips: dict[int, set[int]] = field(default_factory=dict)
    to_lines: dict[int, set[int]] = field(default_factory=dict)
    by_pair: dict[tuple[int, int], list[Rule]] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: list[Rule]) -> _Scopes:
        sc = cls()
        for r in rules:
            if r.from_trip >= 0:
                sc.from_trips.setdefault(r.from_stop, set()).add(r.from_trip)
            if r.from_line >= 0:
                sc.from_lines.setdefault(r.from_stop, set()).add(r.from_line)
            if r.from_trip < 0 and r.from_line < 0:
                sc.wild_from.add(r.from_stop)
            if r.to_trip >= 0:
                sc.to_trips.setdefault(r.to_stop, set()).add(r.to_trip)
            if r.to_line >= 0:
                sc.to_lines.setdefault(r.to_stop, set()).add(r.to_line)
            sc.by_pair.setdefault((r.from_stop, r.to_stop), []).append(r)
        return sc


@dataclass
class _Positions:
    """Route positions: their stop and (trip code or -1, line or -1) scope."""

    stops: np.ndarray
    scope: np.ndarray

    def classes(self, pos: int, trips: dict[int, set[int]],
                lines: dict[int, set[int]]) -> tuple[int, int]:
        """The class of the trips at ``pos`` as the rules at its stop name them."""
        s = int(self.stops[pos])
        g, line = int(self.scope[pos, 0]), int(self.scope[pos, 1])
        return (g if g in trips.get(s, ()) else -1, line if line in lines.get(s, ()) else -1)

    def at(self, stops: set[int]) -> list[int]:
        return [int(p) for p in np.flatnonzero(np.isin(
            self.stops, np.array(sorted(stops), dtype=np.int64)))]


Key = tuple[int, tuple[int, int]]  # (stop, class)


def _alight_keys(pos: _Positions, sc: _Scopes) -> tuple[dict[Key, int], np.ndarray]:
    """An alight key per (stop, from-class) that a scoped row may concern."""
    keys: dict[Key, int] = {}
    per_pos = np.full(len(pos.stops), -1, dtype=np.int32)
    for p in pos.at(set(sc.from_trips) | set(sc.from_lines) | sc.wild_from):
        s = int(pos.stops[p])
        co = pos.classes(p, sc.from_trips, sc.from_lines)
        if co == (-1, -1) and s not in sc.wild_from:
            continue
        per_pos[p] = keys.setdefault((s, co), len(keys))
    return keys, per_pos


def _board_keys(pos: _Positions, sc: _Scopes, reached: set[int]
                ) -> tuple[dict[Key, int], dict[int, list[tuple[int, tuple[int, int]]]],
                           np.ndarray]:
    """A board key per (stop, to-class) at every stop an alight key reaches."""
    keys: dict[Key, int] = {}
    keys_at: dict[int, list[tuple[int, tuple[int, int]]]] = {}
    per_pos = np.full(len(pos.stops), -1, dtype=np.int32)
    for p in pos.at(reached):
        u = int(pos.stops[p])
        ci = pos.classes(p, sc.to_trips, sc.to_lines)
        if (u, ci) not in keys:
            keys[(u, ci)] = len(keys)
            keys_at.setdefault(u, []).append((keys[(u, ci)], ci))
        per_pos[p] = keys[(u, ci)]
    return keys, keys_at, per_pos


def _key_stops(keys: dict[Key, int]) -> np.ndarray:
    out = np.zeros(len(keys), dtype=np.int32)
    for (s, _), k in keys.items():
        out[k] = s
    return out


def _csr(entries: np.ndarray, by: int, other: int, n: int
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offset, column ``other``, seconds) of ``(x, y, seconds)`` rows grouped by ``by``."""
    order = np.lexsort((entries[:, other], entries[:, by]))
    offset = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(entries[:, by], minlength=n), out=offset[1:])
    return (offset, entries[order, other].astype(np.int32),
            entries[order, 2].astype(np.int32))


def build_rule_tables(rule_set: RuleSet, route_stop_offset: np.ndarray,
                      route_stops: np.ndarray, route_scope: np.ndarray,
                      change_time: np.ndarray, fp_offset: np.ndarray, fp_to: np.ndarray,
                      fp_dur: np.ndarray) -> RuleTables:
    """The exception table (see the module docstring); ``route_scope`` is
    :func:`pattern_scope` of each RAPTOR route's trips."""
    stats = dict(rule_set.stats)
    if not rule_set.rules:
        e = _empty()
        return RuleTables(e, e, e, e, np.zeros(1, np.int32), e, e, np.zeros(1, np.int32),
                          e, e, stats)
    sc = _Scopes.of(rule_set.rules)
    rso = np.asarray(route_stop_offset, dtype=np.int64)
    n_routes = len(rso) - 1
    route_of_pos = np.repeat(np.arange(n_routes), np.diff(rso))
    pos = _Positions(np.asarray(route_stops, dtype=np.int64),
                     np.asarray(route_scope, dtype=np.int64)[route_of_pos] if n_routes
                     else np.zeros((0, 2), dtype=np.int64))
    alight_key, route_alight = _alight_keys(pos, sc)
    fp_off = np.asarray(fp_offset, dtype=np.int64)
    fp_to_l, fp_dur_l = np.asarray(fp_to).tolist(), np.asarray(fp_dur).tolist()

    def footpaths(s: int) -> dict[int, int]:
        return dict(zip(fp_to_l[fp_off[s]:fp_off[s + 1]], fp_dur_l[fp_off[s]:fp_off[s + 1]],
                        strict=True))

    rule_targets: dict[int, set[int]] = {}
    for a, b in sc.by_pair:
        rule_targets.setdefault(a, set()).add(b)
    targets_of = {s: {s} | set(footpaths(s)) | rule_targets.get(s, set())
                  for s in {k[0] for k in alight_key}}
    board_key, keys_at, route_board = _board_keys(pos, sc, set().union(*targets_of.values()))
    change = np.asarray(change_time).tolist()
    entries: list[tuple[int, int, int]] = []  # (x, y, seconds)
    for (s, co), x in alight_key.items():
        walks = footpaths(s)
        for u in sorted(targets_of[s]):
            if s == u:
                default = change[s] if change[s] < NO_TRANSFER else FORBIDDEN
            else:
                default = walks.get(u, FORBIDDEN)
            pair_rules = sc.by_pair.get((s, u), [])
            for y, ci in keys_at.get(u, []):
                seconds = resolve(pair_rules, co, ci, default)
                if seconds != FORBIDDEN:
                    entries.append((x, y, seconds))
    n_x, n_y = len(alight_key), len(board_key)
    ex = np.array(entries, dtype=np.int64).reshape(-1, 3)
    offset, board, seconds_out = _csr(ex, 0, 1, n_x)
    in_offset, in_alight, in_seconds = _csr(ex, 1, 0, n_y)
    stats.update({"alight_keys": n_x, "board_keys": n_y, "rule_entries": len(entries)})
    return RuleTables(route_alight, route_board, _key_stops(alight_key),
                      _key_stops(board_key), offset, board, seconds_out,
                      in_offset, in_alight, in_seconds, stats)


def resolve(pair_rules: list[Rule], co: tuple[int, int], ci: tuple[int, int],
            default: int) -> int:
    """Seconds of a change from class ``co`` to ``ci`` (FORBIDDEN if not allowed): the
    most specific matching rule, the strictest of equally specific ones, else
    ``default``."""
    best: tuple[int, int] | None = None
    seconds = default
    for r in pair_rules:
        if not r.matches(co, ci):
            continue
        own = default if r.seconds == -2 else r.seconds
        if best is None or r.rank > best:
            best, seconds = r.rank, own
        elif r.rank == best and (own == FORBIDDEN or (seconds != FORBIDDEN and own > seconds)):
            seconds = own
    return seconds


def change_seconds(tt: Timetable, alight_route_pos: int, board_route_pos: int) -> int | None:
    """The model's minimum change time from alighting at flat route position
    ``alight_route_pos`` to boarding at ``board_route_pos`` under the scoped rules,
    None if they do not decide it (the stop-level model applies), FORBIDDEN if they
    forbid it. Slow (a scan); for tests and the reference."""
    alight = tt.route_alight_rule
    if len(alight) == 0 or alight[alight_route_pos] < 0:
        return None
    x = int(alight[alight_route_pos])
    y = int(tt.route_board_rule[board_route_pos])
    off = tt.rule_offset
    for k in range(int(off[x]), int(off[x + 1])):
        if int(tt.rule_board[k]) == y:
            return int(tt.rule_time[k])
    return FORBIDDEN
