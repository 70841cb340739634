"""Mutation testing as a habit: a fixed list of plausible slips, each must fail a test.

Every entry of :data:`MUTATIONS` is ``(file, exact original text, replacement, what the
slip is)``. The script copies the repository into a temporary directory (the working
tree's files that git tracks or would add, plus the built Cython modules; ``../shared``
is linked beside the copy so the real-feed tests run), then for one mutant at a time:
writes it into the copy, rebuilds the one mutated ``.pyx`` there (``setup.py build_ext
--inplace`` recompiles only what changed, ~10-20 s), checks that the mutated module
imports, runs the test files :data:`TESTS` maps the file to (``pytest -x``, fast and
specific files first) and restores the file and the built modules. The working tree is
never written to.

Each mutant is **killed** (a test failed, the tests crashed or hung past their time
budget), **survived** (every test passed: the suite misses that slip) or **broken** (it
did not build or import: the entry is not a plausible slip, fix the list). The original
text must occur exactly once in its file, else the script stops before running
anything, so the list stays in step with the code (``tests/test_mutate.py`` checks that
in the normal suite): when a refactoring moves a line, update the entry. Before the
mutants, the mapped tests run once on the unmutated copy (a failing baseline would
"kill" every mutant) and time each mutant's budget (3x its files' baseline time plus a
minute).

Exit status: 0 every mutant killed, 1 a mutant survived (so this is a gate),
2 the list or the set-up is wrong (text not found, failing baseline, broken mutant).

Entries are slips that change answers (an equivalent mutant can only survive) and
stay memory-safe in the engines (an out-of-bounds write would crash or not, by luck).

Why a textual list and not mutmut: mutmut does not mutate ``.pyx`` (where the engines
are), and it mutates every operator and constant it finds (hundreds of mutants per
module here, many equivalent or trivial), each rerunning tests of a ~2 min suite: hours
per run, and a survivor list nobody reads. The point here is a short, reviewed list of
the slips that matter (an off-by-one at boarding, a change time or a check dropped, a
cache key missing an option), each run against the few test files that should catch it.

Why ``tests/`` and not ``benchmarks/``: this measures the test suite, not the code's
speed; its mapping names test files, and it lives (and is tested, see
``tests/test_mutate.py``) beside them. ``benchmarks/`` are timing runs.

Usage (from the repository root; ``make mutate`` runs the whole list)::

    python -m tests.mutate                  # every mutant, summary table
    python -m tests.mutate --list           # check the list and show it, run nothing
    python -m tests.mutate --only csa-board-strict 'raptor-*'
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    """One slip: ``original`` (exactly once in ``path``) becomes ``replacement``."""

    name: str
    path: str
    original: str
    replacement: str
    description: str


M = Mutation

CSA = "planner/routing/csa.pyx"
RAPTOR = "planner/routing/raptor.pyx"
MC = "planner/routing/mcraptor.pyx"
RANGE = "planner/routing/rraptor.pyx"
KERNEL_PXD = "planner/routing/kernel.pxd"
REV_CSA = "planner/routing/reverse_csa.pyx"
REV_RAPTOR = "planner/routing/reverse_raptor.pyx"
REACH = "planner/routing/reachability.py"
PROPAGATE = "planner/analysis/propagate.pyx"
TRIPBASED = "planner/routing/tripbased.pyx"

MUTATIONS: tuple[Mutation, ...] = (
    # -- CSA --------------------------------------------------------------------------
    M("csa-board-strict", CSA,
      "if at[s].ready > c.dep:",
      "if at[s].ready >= c.dep:",
      "CSA: a trip departing exactly when the traveller is ready cannot be boarded"),
    M("csa-origin-slack", CSA,
      "if a < at[s].ready:\n                at[s].ready = a\n",
      "if a + slack < at[s].ready:\n                at[s].ready = a + slack\n",
      "CSA: transfer slack added at the origin"),
    M("csa-no-pickup", CSA,
      "a.conn_dep_stop[i] if a.conn_pickup[i] else S",
      "a.conn_dep_stop[i]",
      "CSA: boarding where pickup is forbidden"),
    M("csa-no-change-time", CSA,
      "r = a + change[s] + slack",
      "r = a + slack",
      "CSA: the stop's change time ignored"),
    M("csa-gate-without-triangle", CSA,
      "elif mark[u] != x or dur[u] > d:",
      "elif False:",
      "CSA: a later arrival skips footpaths the walk that set the stop's best lacks"),
    M("csa-gate-without-change-time", CSA,
      "if n.change[x] >= NO_TRANSFER or n.change[x] > d:",
      "if False:",
      "CSA: a later arrival skips the footpath back, though the change there is slower"),
    M("csa-route-mask-ignored", CSA,
      "if mask != NULL and mask[trip_route[trip]] == 0:",
      "if False:",
      "CSA: trips of masked routes (modes not asked for) are boarded"),
    M("csa-scoped-board-ignored", CSA,
      "if Rules is ScopedRules and s < S and cy[i] >= 0 and ws.yready[cy[i]] <= c.dep:",
      "if False:",
      "CSA: a change the scoped transfer rules allow (board key) is never made"),
    M("csa-walked-uncovered", CSA,
      "if cover[e if e >= 0 else -1 - e]:",
      "if True:",
      "CSA: a stop walked to no later skips its footpaths where the walk's footpaths do "
      "not cover them (bounded closure)"),
    M("csa-walked-no-way-back", CSA,
      "                                if fpt[j] == e:\n",
      "                                if False:\n",
      "CSA: a stop walked to no later skips the footpath back to where the walk began"),
    M("csa-plain-board-strict", CSA,
      "const unsigned boards = at[c->dep_stop].arr <= dep;",
      "const unsigned boards = at[c->dep_stop].arr < dep;",
      "CSA (change times 0): a trip departing exactly at the arrival cannot be boarded"),
    M("csa-plain-route-mask-ignored", CSA,
      "if mask != NULL and not mask[trip_route[trip]]:",
      "if False:",
      "CSA (change times 0): trips of masked routes are boarded"),
    M("csa-plain-walks-unsorted", CSA,
      "owl_sort_walks(self.walks.data() + net.fpo[s], self.walks.data() + net.fpo[s + 1])",
      "pass",
      "CSA (change times 0): a stop's footpaths left in file order, so the walk loop "
      "stops before shorter ones"),
    M("csa-plain-live-walks-to-any-target", CSA,
      "            if not live[s]:\n                e = 0\n",
      "",
      "CSA (change times 0): a target where nothing departs gets only the walks to "
      "boardable stops, so a walk to it is never taken"),
    M("csa-plain-for-slack", CSA,
      "if self.plain and qa.slack == 0:",
      "if self.plain:",
      "CSA: a query with transfer slack takes the scan without it"),
    # -- RAPTOR -----------------------------------------------------------------------
    M("raptor-board-strict", RAPTOR,
      "ti = first_at_least(blk + p * m, m, fresh[s])",
      "ti = first_at_least(blk + p * m, m, fresh[s] + 1)",
      "RAPTOR: a trip departing exactly when the traveller is ready cannot be boarded"),
    M("raptor-earlier-trip-strict", RAPTOR,
      "if ti > 0 and prev[p * step] >= fresh[s] and p < last and pick[base + p]:",
      "if ti > 0 and prev[p * step] > fresh[s] and p < last and pick[base + p]:",
      "RAPTOR: along a route, an earlier trip departing exactly when ready is not taken"),
    M("raptor-origin-slack", RAPTOR,
      "set_ready(ready, fresh, ready_par, stop_stamp, marks, s, a, -1 - s, stamp)",
      "set_ready(ready, fresh, ready_par, stop_stamp, marks, s, a + slack, -1 - s, stamp)",
      "RAPTOR: transfer slack added at the origin"),
    M("raptor-no-dropoff", RAPTOR,
      "if a < lim and drop[base + p]:",
      "if a < lim:",
      "RAPTOR: alighting where drop-off is forbidden"),
    M("raptor-no-change-time", RAPTOR,
      "a + change[s] + slack, rpar, stamp)",
      "a + slack, rpar, stamp)",
      "RAPTOR: the stop's change time ignored"),
    M("raptor-footpath-no-slack", RAPTOR,
      "marks, u, a_fp + slack,",
      "marks, u, a_fp,",
      "RAPTOR: no transfer slack after a footpath"),
    M("raptor-scoped-alight-plain", RAPTOR,
      "if trip >= 0 and drop[base + p] and rules and xal[base + p] >= 0:",
      "if False:",
      "RAPTOR: alighting under a scoped rule treated as plain (stop-level change times)"),
    M("raptor-walked-uncovered", RAPTOR,
      "if u != s and cover[u]:",
      "if u != s:",
      "RAPTOR: a stop walked to no later skips its footpaths where the walk's footpaths "
      "do not cover them (bounded closure)"),
    M("raptor-walked-no-way-back", RAPTOR,
      "                                if fpt[j] == u:\n",
      "                                if False:\n",
      "RAPTOR: a stop walked to no later skips the footpath back to where the walk began"),
    M("raptor-walks-unsorted", RAPTOR,
      "order = np.lexsort((np.asarray(self.a.fp_to), dur, stop))",
      "order = np.arange(len(dur))",
      "RAPTOR: a stop's footpaths not shortest first, so a walk after the best arrival "
      "ends the stop's run before shorter ones are tried"),
    M("raptor-live-walks-to-targets", RAPTOR,
      "if not self.live_stop[tgt[2 * i]]:",
      "if False:",
      "RAPTOR: with targets, walks to stops where no trip boards dropped even where one "
      "is a target"),
    M("raptor-live-walks-inverted", RAPTOR,
      "keep = live[np.asarray(to_sorted)] != 0",
      "keep = live[np.asarray(to_sorted)] == 0",
      "RAPTOR: with targets, only the walks to stops where no trip boards are kept"),
    # -- Trip-Based -------------------------------------------------------------------
    M("tripbased-board-strict", TRIPBASED,
      "u = earliest_trip(n, n.rto[r], t1, j, t1, ready)",
      "u = earliest_trip(n, n.rto[r], t1, j, t1, ready + 1)",
      "Trip-Based: a trip departing exactly when the traveller is ready cannot be boarded"),
    M("tripbased-no-change-time", TRIPBASED,
      "_candidates(n, t, r, rb, ev, i, s, a + n.change[s], &cands)",
      "_candidates(n, t, r, rb, ev, i, s, a, &cands)",
      "Trip-Based: changes at a stop generated without its change time"),
    M("tripbased-no-pickup", TRIPBASED,
      "if j + 1 >= n.rso[r + 1] - rb or not n.pick[rb + j]:",
      "if j + 1 >= n.rso[r + 1] - rb:",
      "Trip-Based: boarding where pickup is forbidden"),
    M("tripbased-target-no-dropoff", TRIPBASED,
      "np.where(np.asarray(a.route_dropoff)[flat] > 0,",
      "np.where(np.asarray(a.route_dropoff)[flat] >= 0,",
      "Trip-Based: arriving at the destination where drop-off is forbidden"),
    M("tripbased-reduction-labels-kept", TRIPBASED,
      "        cur += 1\n        kept_i.clear()",
      "        kept_i.clear()",
      "Trip-Based: the reduction's arrival labels not reset per trip (drops needed "
      "transfers)"),
    M("tripbased-u-turn-no-change-time", TRIPBASED,
      "return n.sarr[ev + i - 1] + n.change[a] <= n.sdep[ev2 + j + 1]",
      "return n.sarr[ev + i - 1] <= n.sdep[ev2 + j + 1]",
      "Trip-Based: a U-turn dropped though its change at the earlier stop is too short"),
    M("tripbased-reached-not-reset", TRIPBASED,
      "            memcpy(first, &self.first0[0], self.first0.shape[0] * sizeof(int))",
      "            pass",
      "Trip-Based: the reached index per route position kept from the last query"),
    M("tripbased-segment-short", TRIPBASED,
      "    g.end = x\n",
      "    g.end = x - 1\n",
      "Trip-Based: a queued segment ends one stop before its trip's reached index"),
    M("tripbased-hop-arrival-of-next-stop", TRIPBASED,
      "    hops[:, 2] = events[hops[:, 0], 0]",
      "    hops[:, 2] = events[hops[:, 0] + 1, 0]",
      "Trip-Based: a transfer is refused by the arrival at the stop after the one it "
      "reaches first"),
    M("tripbased-range-walking-bounds", TRIPBASED,
      "                              best, False)",
      "                              best, True)",
      "Trip-Based range: walking only bounds the runs (and cuts the first journey "
      "after the window, which boards later than its run starts)"),
    M("tripbased-range-after-leaves-at-window-end", TRIPBASED,
      "        return jn if dep == tau else self._journey(ws, q, ws.best_round, dep)",
      "        return jn",
      "Trip-Based range: the first journey after the window leaves at the window's end"),
    M("tripbased-latest-deadline-exclusive", TRIPBASED,
      "                              deadline + 1, False)",
      "                              deadline, False)",
      "Trip-Based latest departure: a journey arriving exactly at the deadline is late"),
    M("tripbased-shared-though-retimed", "planner/routing/trip_transfers.py",
      "    return a.n_stops == b.n_stops and all(",
      "    return a.n_stops == b.n_stops or all(",
      "Trip-Based: a realtime version shares the schedule's transfers though its times "
      "changed"),
    # -- McRAPTOR ---------------------------------------------------------------------
    M("mcraptor-board-strict", MC,
      "ready = L.time",
      "ready = L.time + 1",
      "McRAPTOR: a trip departing exactly when the label is ready cannot be boarded"),
    M("mcraptor-origin-slack", MC,
      "self._ready(ws, 0, s, t, src[2 * i + 1]",
      "self._ready(ws, 0, s, t + slack, src[2 * i + 1]",
      "McRAPTOR: transfer slack added at the origin"),
    M("mcraptor-no-pickup", MC,
      "if pick[off + pos] and prev_n[p] > 0:",
      "if prev_n[p] > 0:",
      "McRAPTOR: boarding where pickup is forbidden"),
    M("mcraptor-no-change-time", MC,
      "e.time + net.change[p] + slack, e.walk, e.extra, e.lid,",
      "e.time + slack, e.walk, e.extra, e.lid,",
      "McRAPTOR: the stop's change time ignored"),
    M("mcraptor-dominance-without-extra", MC,
      "return t2 <= t and w2 <= w and x2 <= x",
      "return t2 <= t and w2 <= w",
      "McRAPTOR: labels compared without the extra criterion (rental seconds)"),
    M("mcraptor-footpath-not-walking", MC,
      "e.time + d + slack, e.walk + d, e.extra, e.lid, K_FOOT,",
      "e.time + d + slack, e.walk, e.extra, e.lid, K_FOOT,",
      "McRAPTOR: a transfer footpath not counted as walking"),
    M("mcraptor-walk-limit-without-walking", MC,
      "if tl.walk - w > v:",
      "if False:",
      "McRAPTOR: a walk pruned where the target arrives earlier though it walked more"),
    M("mcraptor-walks-from-boarding-stops-only", MC,
      "if boards[net.fpt[j]]:",
      "if boards[s]:",
      "McRAPTOR: no footpath from a stop where no trip is boarded (a route's last stop)"),
    M("mcraptor-scoped-key-ignored", MC,
      "if y >= 0 and ybd[off + pos] != y:",
      "if False:",
      "McRAPTOR: a label ready for one board key boards any trip"),
    # -- rRAPTOR ----------------------------------------------------------------------
    M("range-board-strict", RANGE,
      "lo = earliest_trip_in_rows(net, t_lo, pos, t_hi, rt)",
      "lo = earliest_trip_in_rows(net, t_lo, pos, t_hi, rt + 1)",
      "rRAPTOR: a trip departing exactly when the traveller is ready cannot be boarded"),
    M("range-origin-slack", RANGE,
      "a = tau + sources[i, 1]\n",
      "a = tau + sources[i, 1] + slack\n",
      "rRAPTOR: transfer slack added at the origin"),
    M("range-no-dropoff", RANGE,
      "if trip >= 0 and drop[off + pos]:",
      "if trip >= 0:",
      "rRAPTOR: alighting where drop-off is forbidden"),
    M("range-no-change-time", RANGE,
      "c = a + change[p] + slack",
      "c = a + slack",
      "rRAPTOR: the stop's change time ignored"),
    M("range-window-start", KERNEL_PXD,
      "lo = lower_bound(col, 1, 0, t1 - t0, t + base)",
      "lo = lower_bound(col, 1, 0, t1 - t0, t + base + 1)",
      "range queries: a departure exactly at the window's start is not a run"),
    M("range-no-footpath-departures", KERNEL_PXD,
      "        for jj in range(-1, n.fpo[s + 1] - n.fpo[s]):",
      "        for jj in range(-1, 0):",
      "range queries: no departure times of trips one footpath from a source"),
    M("range-scoped-alight-plain", RANGE,
      "if trip >= 0 and drop[off + pos] and rules and xal[off + pos] >= 0:",
      "if False:",
      "rRAPTOR: alighting under a scoped rule treated as plain (stop-level change times)"),
    M("range-scoped-rule-time", RANGE,
      "c = a + net.xt[j] + slack",
      "c = a + slack",
      "rRAPTOR: a scoped change boards without the rule's minimum time"),
    # -- rRAPTOR's minute arrivals and their propagation (travel-time studies) ---------
    M("minutes-earliest-first", RANGE,
      "for i in range(n - 1, -1, -1):",
      "for i in range(n):",
      "minute arrivals: runs from the first minute on, so a later minute keeps the "
      "earlier departures' labels"),
    M("minutes-round-too-few", RANGE,
      "cdef const int* veh = ws.veh.data() + K * S",
      "cdef const int* veh = ws.veh.data() + (K - 1) * S",
      "minute arrivals read one round (trip) fewer than max_rides allows"),
    M("minutes-access-walk-not-arrival", RANGE,
      "out[p] = veh[p] if veh[p] < walked[p] else walked[p]",
      "out[p] = veh[p]",
      "minute arrivals: a stop reached by the access walk alone counts as unreached"),
    M("minutes-footpath-from-walk", RANGE,
      "            a = veh[p]\n",
      "            a = walked[p]\n",
      "minute arrivals: the footpath after a trip is walked from the access label instead"),
    M("minutes-keyed-arrival-ignored", RANGE,
      "if xveh[x] < out[xstop[x]]:",
      "if False:",
      "minute arrivals: alighting under a scoped transfer rule is no arrival at its stop"),
    M("minutes-trips-most", RANGE,
      "if trips[p] < 0 and upto[p] == best[p]:",
      "if upto[p] == best[p]:",
      "one-to-all's trips: the most rounds that reach the arrival instead of the fewest"),
    M("propagate-no-waiting", PROPAGATE,
      "BIG if a == INF else a - (departure + i * step)",
      "BIG if a == INF else a - departure",
      "propagate: every minute's travel time counted from the window's first departure"),
    M("propagate-egress-free", PROPAGATE,
      "if row[i] + sec < b[i]:\n                        b[i] = row[i] + sec",
      "if row[i] < b[i]:\n                        b[i] = row[i]",
      "propagate: the egress leg from the stop to the point costs nothing"),
    M("propagate-no-direct", PROPAGATE,
      "if direct[d] < tt:",
      "if False:",
      "propagate: the direct street trip never counts where it is faster than transit"),
    M("propagate-last-egress-only", PROPAGATE,
      "                b[i] = BIG\n",
      "                pass\n",
      "propagate: a destination's best starts from the previous destination's"),
    # -- reverse CSA (arrive-by) ------------------------------------------------------
    M("reverse-csa-no-change-time", REV_CSA,
      "t = dep - change[p] - slack",
      "t = dep - slack",
      "reverse CSA: arrive-by ignores the stop's change time (issue 18)"),
    M("reverse-csa-alight-strict", REV_CSA,
      "carr[i] > ws.la[castop[i]]",
      "carr[i] >= ws.la[castop[i]]",
      "reverse CSA: arriving exactly at the latest alighting time does not count"),
    M("reverse-csa-no-pickup", REV_CSA,
      "if cpick[i] and dep > ws.lr[p]:",
      "if dep > ws.lr[p]:",
      "reverse CSA: boarding where pickup is forbidden"),
    M("reverse-csa-scoped-alight-plain", REV_CSA,
      "if rules and cx[i] >= 0:",
      "if False:",
      "reverse CSA: a trip left under a scoped rule enters by the stop-level alighting time"),
    M("reverse-csa-scoped-rule-time", REV_CSA,
      "t = dep - net.yit[j] - slack",
      "t = dep - slack",
      "reverse CSA: a scoped change without the rule's minimum time"),
    M("reverse-csa-journey-backwards", REV_CSA,
      "found = self.forward.search_from(ws.forward, q, best)",
      "found = []",
      "reverse CSA: the journey rebuilt backwards instead of forward CSA's from the "
      "latest departure (issue 18)"),
    # -- reverse RAPTOR (arrive-by with a transfer bound) -----------------------------
    M("reverse-raptor-no-change-time", REV_RAPTOR,
      "dep - change[s] - slack, k * S + s, stamp)",
      "dep - slack, k * S + s, stamp)",
      "reverse RAPTOR: arrive-by ignores the stop's change time (issue 18)"),
    M("reverse-raptor-alight-strict", REV_RAPTOR,
      "cand = latest_trip(net, t0, t1, p, t0, lt)",
      "cand = latest_trip(net, t0, t1, p, t0, lt - 1)",
      "reverse RAPTOR: a trip arriving exactly at the latest alighting time is missed"),
    M("reverse-raptor-no-pickup", REV_RAPTOR,
      "if trip >= 0 and pick[base + p]:",
      "if trip >= 0:",
      "reverse RAPTOR: boarding where pickup is forbidden"),
    M("reverse-raptor-scoped-alight-plain", REV_RAPTOR,
      "if rules and xal[base + p] >= 0:  # an alight key: its rules only",
      "if False:",
      "reverse RAPTOR: a trip left under a scoped rule caught by the stop-level alighting "
      "time"),
    M("reverse-raptor-scoped-board-unrecorded", REV_RAPTOR,
      "if rules and ybd[base + p] >= 0 and dep > ws.ylb[ybd[base + p]] \\",
      "if False \\",
      "reverse RAPTOR: boardings under a board key never recorded (scoped changes lost)"),
    M("reverse-raptor-access-slack", REV_RAPTOR,
      "self._access(ws, s, sources[i, 1], i, 0)",
      "self._access(ws, s, sources[i, 1] + slack, i, 0)",
      "reverse RAPTOR: transfer slack added at the origin"),
    M("reverse-raptor-journey-backwards", REV_RAPTOR,
      "found = self.forward.search_from(ws.forward, q, best)",
      "found = []",
      "reverse RAPTOR: the journey rebuilt backwards (may wait a day) instead of the "
      "earliest arrival from the latest departure (issue 18)"),
    # -- query and search policy ------------------------------------------------------
    M("query-max-trips", "planner/routing/query.py",
      'set_(self, "max_trips", self.max_transfers + 1)',
      'set_(self, "max_trips", self.max_transfers)',
      "Query: max_trips = max_transfers (one trip too few for every engine)"),
    M("search-later-no-widening", "planner/routing/search.py",
      "if end >= t + q.max_window:",
      "if end >= t + q.window:",
      "search policy: a depart-at window holding too few journeys is not widened"),
    M("search-earlier-off-by-one", "planner/routing/search.py",
      "hi = t - 1  # departures",
      "hi = t  # departures",
      "search policy: the earlier page includes a departure at the page's own time"),
    M("search-next-page-start", "planner/routing/search.py",
      "return min(leaves), max(leaves) + 1",
      "return min(leaves), max(leaves)",
      "search policy: the next page starts at this page's last departure (repeats it)"),
    # -- timetable, feeds, caches -----------------------------------------------------
    M("footpaths-incoming-reversed", "planner/timetable/footpaths.py",
      "in_offset, in_from, in_dur = _csr(n, d, s, t)",
      "in_offset, in_from, in_dur = _csr(n, s, d, t)",
      "footpaths: incoming lists built in the wrong direction (issue 18)"),
    M("gtfs-stop-times-trips-unchecked", "feeds/gtfs.py",
      '    problems += _missing_refs(tables, "stop_times", "trip_id", "trips", "trip_id")\n',
      "",
      "GTFS validation: stop_times not checked against trips.txt (issue 18)"),
    M("compile-key-without-radius", "planner/timetable/options.py",
      "return json.dumps(self.__dict__, sort_keys=True)",
      "return json.dumps({k: v for k, v in self.__dict__.items() if k != 'footpath_radius'},"
      " sort_keys=True)",
      "compiled-timetable cache key without the footpath radius (issue 18)"),
    M("plan-key-without-min-transfer-time", "api/plan.py",
      "return json.dumps(self.as_dict(), sort_keys=True)",
      "return json.dumps({k: v for k, v in self.as_dict().items()"
      " if k != 'min_transfer_time'}, sort_keys=True)",
      "plan cache key without minTransferTime (issue 18)"),
    M("scoped-rules-least-specific", "planner/timetable/transfer_rules.py",
      "if best is None or r.rank > best:",
      "if best is None or r.rank < best:",
      "scoped transfer rules: the least specific matching row wins"),
    # -- multimodal, GBFS, geometry ---------------------------------------------------
    # (_faster_than_walking's ``<`` as ``<=`` is equivalent: McRAPTOR drops a rental row
    # that walks as long as the walking row to its stop and adds extra, so not listed.)
    M("rental-not-faster-kept", "planner/multimodal/search.py",
      "or j.arrival >= best_walk",
      "or j.arrival > best_walk",
      "multimodal: a rental itinerary arriving no earlier than walking is kept"),
    M("gbfs-fresh-strict", "feeds/gbfs.py",
      "if now - last > bound:",
      "if now - last >= bound:",
      "GBFS: a feed exactly max_age old counts as stale"),
    # -- reachability (one-to-all, all-to-one) ---------------------------------------------
    M("raptor-arrival-trips-stop", RAPTOR,
      "view[i] = par // S",
      "view[i] = par % S",
      "one-to-all: a stop's trips read from the parent's stop instead of its round"),
    M("reverse-boarding-round-late", REV_RAPTOR,
      "ws.lb_round[s] = k",
      "ws.lb_round[s] = k + 1",
      "all-to-one: a boarding counts one trip more than it rides"),
    M("reach-footpath-free", REACH,
      "- np.asarray(tt.fp_dur)[useful])",
      ")",
      "all-to-one: the footpath to the first boarding costs nothing"),
    M("reach-walk-no-egress", REACH,
      "walk = np.concatenate(([0], np.asarray(tt.fp_in_dur[lo:hi]))) + egress",
      "walk = np.concatenate(([0], np.asarray(tt.fp_in_dur[lo:hi])))",
      "all-to-one: walking to the place forgets the walk from its stop"),
    M("reach-more-trips-on-ties", REACH,
      "order = np.lexsort((k, -t, s))",
      "order = np.lexsort((-k, -t, s))",
      "all-to-one: of equal departures the one with more trips counts"),
    M("gbfs-ignores-last-updated", "feeds/gbfs.py",
      "return now - updated <= ttl + bound",
      "return True",
      "GBFS: freshness by our fetch only, a frozen snapshot offered as live (issue 16)"),
    M("gbfs-nan-count", "feeds/gbfs.py",
      "if not math.isfinite(value) or value < 0 or value != int(value):",
      "if value != value:",
      "GBFS: negative counts accepted (issue 16)"),
    M("integrity-no-checksums", "planner/timetable/integrity.py",
      "    verify_checksums(directory)\n",
      "",
      "disk cache: entries loaded without verifying their digests (issue 16)"),
    M("integrity-index-bound", "planner/timetable/integrity.py",
      "_within(\"route_stops\", tt.route_stops, 0, S)",
      "_within(\"route_stops\", tt.route_stops, 0, S + 1)",
      "disk cache: a stop index one past the end passes the structure check"),
    M("geometry-equatorial-radius", "planner/multimodal/geometry.py",
      "EARTH_RADIUS_M = 6_371_008.8",
      "EARTH_RADIUS_M = 6_378_137.0",
      "geometry: the equatorial (WGS 84) radius instead of the mean radius"),
    M("geometry-haversine-one-latitude", "planner/multimodal/geometry.py",
      "a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2",
      "a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p1) * math.sin(dl / 2) ** 2",
      "geometry: scalar haversine uses the first latitude twice"),
)

# Tests per source file (fnmatch patterns, first match wins), fast and specific first:
# pytest -x stops at the first failure, so a killed mutant costs little.
ENGINE_TESTS = ("tests/test_routing_core.py", "tests/test_search_policy.py",
                "tests/test_kernel.py", "tests/test_arrays.py",
                "tests/test_routing_reference.py", "tests/test_engine_properties.py")
TESTS: dict[str, tuple[str, ...]] = {
    CSA: ("tests/test_csa_plain.py", "tests/test_routing_core.py", "tests/test_kernel.py",
          "tests/test_arrays.py", "tests/test_compile_edge_cases.py",
          "tests/test_routing_reference.py", "tests/test_scoped_transfers.py",
          "tests/test_engine_properties.py"),
    RAPTOR: ("tests/test_raptor.py", *ENGINE_TESTS, "tests/test_scoped_transfers.py",
             "tests/test_reverse_raptor.py", "tests/test_arriveby.py",
             "tests/test_reachability.py"),
    MC: ("tests/test_engine_edges.py", "tests/test_mcraptor.py", "tests/test_search_policy.py",
         "tests/test_rental.py",
         "tests/test_routing_core.py", "tests/test_kernel.py", "tests/test_scoped_transfers.py",
         "tests/test_engine_properties.py", "tests/test_change_times_reference.py",
         "tests/test_vs_reference.py"),
    RANGE: ("tests/test_minute_arrivals.py", "tests/test_engine_edges.py", "tests/test_range.py",
            "tests/test_reachability.py", "tests/test_search_policy.py", "tests/test_arriveby.py",
            "tests/test_routing_core.py", "tests/test_kernel.py",
            "tests/test_engine_properties.py", "tests/test_change_times_reference.py",
            "tests/test_scoped_transfers.py"),
    REV_CSA: ("tests/test_arrive_by_arrival.py", "tests/test_arriveby.py",
              "tests/test_reverse_raptor.py", "tests/test_engine_properties.py",
              "tests/test_routing_core.py", "tests/test_kernel.py",
              "tests/test_change_times_reference.py", "tests/test_scoped_transfers.py"),
    REV_RAPTOR: ("tests/test_arrive_by_arrival.py", "tests/test_reverse_raptor.py",
                 "tests/test_search_policy.py", "tests/test_engine_transfer_rules.py",
                 "tests/test_arriveby.py", "tests/test_routing_core.py", "tests/test_kernel.py",
                 "tests/test_engine_properties.py", "tests/test_change_times_reference.py",
                 "tests/test_scoped_transfers.py", "tests/test_reachability.py"),
    REACH: ("tests/test_reachability.py", "tests/test_api_motis_reach.py"),
    PROPAGATE: ("tests/test_analysis.py",),
    KERNEL_PXD: ("tests/test_minute_arrivals.py", "tests/test_engine_edges.py",
                 "tests/test_range.py", "tests/test_tripbased.py", *ENGINE_TESTS),
    TRIPBASED: ("tests/test_trip_transfers.py", "tests/test_tripbased.py",
                "tests/test_engine_properties.py"),
    "planner/routing/trip_transfers.py": ("tests/test_trip_transfers.py",),
    "planner/routing/search.py": ("tests/test_search_policy.py",
                                  "tests/test_api_endpoints.py"),
    "planner/routing/*.py": (*ENGINE_TESTS, "tests/test_mcraptor.py", "tests/test_range.py",
                             "tests/test_reverse_raptor.py", "tests/test_arriveby.py"),
    "planner/timetable/integrity.py": ("tests/test_disk_cache_integrity.py",),
    "planner/timetable/compile.py": ("tests/test_cache_keys.py",
                                     "tests/test_compile_edge_cases.py",
                                     "tests/test_routing_core.py", "tests/test_batch.py",
                                     "tests/test_gtfs_real_feeds.py"),
    "planner/timetable/options.py": ("tests/test_cache_keys.py",
                                     "tests/test_lean_imports.py"),
    "planner/timetable/transfer_rules.py": ("tests/test_scoped_transfers.py",
                                            "tests/test_engine_properties.py"),
    "planner/timetable/*": ("tests/test_engine_edges.py", "tests/test_compile_edge_cases.py",
                            "tests/test_routing_core.py",
                            "tests/test_reverse_raptor.py", "tests/test_arriveby.py",
                            "tests/test_batch.py", "tests/test_gtfs_real_feeds.py"),
    "feeds/gtfs.py": ("tests/test_compile_edge_cases.py", "tests/test_api_update.py",
                      "tests/test_gtfs_real_feeds.py"),
    "feeds/gbfs.py": ("tests/test_gbfs.py", "tests/test_gbfs_records.py", "tests/test_rental.py",
                      "tests/test_api_rental.py"),
    "planner/multimodal/geometry.py": ("tests/test_geometry.py", "tests/test_streets.py",
                                       "tests/test_rental.py", "tests/test_api_endpoints.py",
                                       "tests/test_compile_edge_cases.py"),
    "planner/multimodal/*": ("tests/test_multimodal_search.py", "tests/test_rental.py",
                             "tests/test_api_rental.py",
                             "tests/test_streets.py", "tests/test_api_streets.py"),
    "api/*": ("tests/test_cache_keys.py", "tests/test_api_endpoints.py", "tests/test_api_rental.py",
              "tests/test_api_streets.py", "tests/test_api_schema.py"),
}
#: What ``setup.py build_ext --inplace`` leaves: copied beside the sources (with their
#: mtimes, so the copy's build finds them fresh), saved and restored around a ``.pyx``
#: mutant. setuptools builds into ``build/lib.*`` and copies from there.
BUILT = ("planner/**/*.so", "planner/**/*.cpp", "build/lib.*/planner/**/*.so")
COMPILED = (".pyx", ".pxd")


class MutationListError(Exception):
    """The list is out of step with the code (or with itself)."""


@dataclass
class Result:
    mutation: Mutation
    status: str  # killed | survived | broken
    seconds: float
    detail: str = ""


# -- the list -------------------------------------------------------------------------
def check(mutations: Sequence[Mutation], root: Path,
          mapping: Mapping[str, tuple[str, ...]]) -> None:
    """Raise :class:`MutationListError` naming every entry that cannot be applied."""
    problems = []
    seen: set[str] = set()
    for m in mutations:
        where = f"{m.name} ({m.path})"
        if m.name in seen:
            problems.append(f"{where}: duplicate name")
        seen.add(m.name)
        if m.original == m.replacement:
            problems.append(f"{where}: replacement equals the original")
        path = root / m.path
        if not path.is_file():
            problems.append(f"{where}: file not found")
            continue
        n = path.read_text(encoding="utf-8").count(m.original)
        if n != 1:
            what = "not found" if n == 0 else f"found {n} times (must be unique)"
            problems.append(f"{where}: original text {what}: {m.original!r}")
        tests = tests_for(m, mapping)
        if not tests:
            problems.append(f"{where}: no tests mapped to this file")
        problems += [f"{where}: mapped test {t} not found" for t in tests
                     if not (root / t).exists()]
    if problems:
        raise MutationListError("mutation list out of step with the code:\n  "
                                + "\n  ".join(problems))


def tests_for(m: Mutation, mapping: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    for pattern, tests in mapping.items():
        if m.path == pattern or fnmatch.fnmatchcase(m.path, pattern):
            return tests
    return ()


def select(mutations: Sequence[Mutation], patterns: Sequence[str]) -> list[Mutation]:
    if not patterns:
        return list(mutations)
    chosen = [m for m in mutations if any(fnmatch.fnmatchcase(m.name, p) for p in patterns)]
    unmatched = [p for p in patterns
                 if not any(fnmatch.fnmatchcase(m.name, p) for m in mutations)]
    if unmatched:
        raise MutationListError(f"--only matches no mutant: {', '.join(unmatched)}")
    return chosen


def module_of(path: str) -> str:
    """The importable module a source file belongs to (a .pxd: its .pyx's)."""
    dotted = path.rsplit(".", 1)[0].replace("/", ".")
    return dotted.removesuffix(".__init__")


# -- the sandbox ----------------------------------------------------------------------
def tracked_files(root: Path) -> list[str]:
    """The working tree's files git knows or would add (not ignored ones: no caches,
    no virtualenv, no build output)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=root, check=True, capture_output=True).stdout.decode()
    return [p for p in out.split("\0") if p and (root / p).is_file()]


class Sandbox:
    """A copy of ``root``'s tracked files and built modules, in which mutants run."""

    def __init__(self, root: Path, base: Path) -> None:
        self.root = root
        self.base = base
        self.repo = base / "repo"
        self.backup = base / "backup"
        self.env = {**os.environ, "PYTHONPATH": str(self.repo),
                    "PYTHONDONTWRITEBYTECODE": "1"}  # no stale .pyc between mutants

    def create(self) -> None:
        files = tracked_files(self.root)
        files += [str(p.relative_to(self.root)) for pattern in BUILT
                  for p in self.root.glob(pattern)]
        for rel in files:
            dst = self.repo / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.root / rel, dst)  # keeps mtimes: built modules stay fresh
        shared = self.root.parent / "shared"
        if shared.exists():  # tests find ../shared/data relative to the repository
            (self.base / "shared").symlink_to(shared.resolve())
        else:
            print(f"warning: {shared} missing: real-feed tests skip, mutants may survive",
                  file=sys.stderr)
        self.backup.mkdir()

    def has_extensions(self) -> bool:
        return (self.repo / "setup.py").exists() and any(self.repo.rglob("*.pyx"))

    def build(self, timeout: float) -> tuple[bool, str]:
        """``setup.py build_ext --inplace`` in the copy: rebuilds only stale modules."""
        return self._run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                         timeout)

    def imports(self, module: str, timeout: float = 120) -> tuple[bool, str]:
        code = ("import importlib, sys; m = importlib.import_module(sys.argv[1]); "
                "sys.exit(0 if str(getattr(m, '__file__', '')).startswith(sys.argv[2]) "
                "else 'imported from outside the copy: ' + str(m.__file__))")
        return self._run([sys.executable, "-c", code, module, str(self.repo)], timeout)

    def pytest(self, tests: Sequence[str], timeout: float,
               junit: Path | None = None) -> tuple[int | None, str]:
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               *tests]
        if junit is not None:
            cmd.append(f"--junitxml={junit}")
        return self._call(cmd, timeout)

    def _run(self, cmd: list[str], timeout: float) -> tuple[bool, str]:
        code, out = self._call(cmd, timeout)
        return code == 0, out

    def _call(self, cmd: list[str], timeout: float) -> tuple[int | None, str]:
        """Exit code (None on timeout) and output; a hung run's process group is killed."""
        proc = subprocess.Popen(cmd, cwd=self.repo, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            return None, out.decode(errors="replace")
        except BaseException:  # e.g. Ctrl-C: the run is in its own session, end it too
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        return proc.returncode, out.decode(errors="replace")

    @contextmanager
    def mutated(self, m: Mutation) -> Iterator[None]:
        """The copy with ``m`` applied; afterwards the file (and for Cython sources every
        built module, with its mtime) is exactly as before."""
        saved = [m.path]
        if m.path.endswith(COMPILED):
            saved += [str(p.relative_to(self.repo)) for pattern in BUILT
                      for p in self.repo.glob(pattern)]
        for rel in saved:
            dst = self.backup / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.repo / rel, dst)
        path = self.repo / m.path
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(m.original, m.replacement, 1), encoding="utf-8")
        try:
            yield
        finally:
            for rel in saved:
                shutil.copy2(self.backup / rel, self.repo / rel)
            shutil.rmtree(self.backup)
            self.backup.mkdir()


def first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" ", 1)[1]
    lines = [x for x in output.splitlines() if x.strip()]
    return lines[-1] if lines else ""


def run_mutant(box: Sandbox, m: Mutation, tests: Sequence[str], budget: float) -> Result:
    start = time.monotonic()

    def done(status: str, detail: str) -> Result:
        return Result(m, status, time.monotonic() - start, detail)

    with box.mutated(m):
        if m.path.endswith(COMPILED):
            ok, out = box.build(timeout=900)
            if not ok:
                return done("broken", "build failed: " + first_failure(out))
        ok, out = box.imports(module_of(m.path))
        if not ok:
            return done("broken", "import failed: " + first_failure(out))
        code, out = box.pytest(tests, timeout=budget)
        if code is None:
            return done("killed", f"timeout after {budget:.0f} s (hung)")
        if code == 0:
            return done("survived", "all passed: " + " ".join(Path(t).stem for t in tests))
        if code == 1:
            return done("killed", first_failure(out))
        if code < 0:  # the tests crashed the interpreter: caught, if not gracefully
            return done("killed", f"pytest crashed (signal {-code}): " + first_failure(out))
        return done("broken", f"pytest exit {code}: " + first_failure(out))


def baseline(box: Sandbox, tests: Sequence[str], timeout: float) -> dict[str, float]:
    """Run the mapped tests unmutated; seconds per test file (raises if any fails)."""
    junit = box.base / "baseline.xml"
    code, out = box.pytest(tests, timeout, junit=junit)
    if code != 0:
        raise MutationListError(f"the unmutated tests fail (exit {code}), every mutant "
                                f"would count as killed:\n{out[-3000:]}")
    modules = {t.removesuffix(".py").replace("/", "."): t for t in tests}
    seconds = dict.fromkeys(tests, 0.0)
    for case in ET.parse(junit).iter("testcase"):
        name = case.get("classname") or ""  # module, or module.Class
        for module, file in modules.items():
            if name == module or name.startswith(module + "."):
                seconds[file] += float(case.get("time") or 0)
    return seconds


# -- report ---------------------------------------------------------------------------
def table(results: Sequence[Result]) -> str:
    wide = max([len(r.mutation.name) for r in results] + [6])
    fwide = max([len(r.mutation.path) for r in results] + [4])
    lines = [f"{'mutant':<{wide}}  {'file':<{fwide}}  {'result':<8}  {'secs':>5}  detail"]
    for r in results:
        lines.append(f"{r.mutation.name:<{wide}}  {r.mutation.path:<{fwide}}  "
                     f"{r.status:<8}  {r.seconds:5.0f}  {r.detail[:110]}")
    return "\n".join(lines)


def summary(results: Sequence[Result], seconds: float) -> str:
    count = {s: sum(r.status == s for r in results) for s in ("killed", "survived", "broken")}
    lines = [f"{len(results)} mutants: {count['killed']} killed, {count['survived']} "
             f"survived, {count['broken']} broken in {seconds:.0f} s"]
    for status in ("survived", "broken"):
        for r in results:
            if r.status == status:
                lines.append(f"  {status.upper()} {r.mutation.name}: {r.mutation.description}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, *, mutations: Sequence[Mutation] = MUTATIONS,
         mapping: Mapping[str, tuple[str, ...]] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutate",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME",
                        help="run only these mutants (names or fnmatch patterns)")
    parser.add_argument("--list", action="store_true", help="check and list, run nothing")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the run of the unmutated tests")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds per mutant's tests without a baseline (default 900)")
    args = parser.parse_args(argv)
    tests_map = TESTS if mapping is None else mapping
    try:
        check(mutations, root, tests_map)
        chosen = select(mutations, args.only)
    except MutationListError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.list:
        for m in chosen:
            print(f"{m.name:<36} {m.path:<36} {m.description}")
        return 0

    start = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="owl-mutate-"))
    results: list[Result] = []
    try:
        box = Sandbox(root, base)
        box.create()
        if box.has_extensions():
            ok, out = box.build(timeout=1800)
            if not ok:
                print(f"building the unmutated copy failed:\n{out[-3000:]}", file=sys.stderr)
                return 2
        needed = list(dict.fromkeys(t for m in chosen for t in tests_for(m, tests_map)))
        per_file: dict[str, float] = {}
        if not args.no_baseline:
            print(f"baseline: {len(needed)} test files on the unmutated copy ...", flush=True)
            try:
                per_file = baseline(box, needed, timeout=3600)
            except MutationListError as exc:
                print(exc, file=sys.stderr)
                return 2
        for i, m in enumerate(chosen, 1):
            tests = tests_for(m, tests_map)
            budget = (60 + 3 * sum(per_file.get(t, 0.0) for t in tests) if per_file
                      else args.timeout)
            r = run_mutant(box, m, tests, budget)
            results.append(r)
            print(f"[{i}/{len(chosen)}] {r.status:<8} {r.seconds:4.0f} s  {m.name}: "
                  f"{r.detail[:100]}", flush=True)
    finally:
        if args.keep:
            print(f"copy kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    print()
    print(table(results))
    print()
    print(summary(results, time.monotonic() - start))
    if any(r.status == "survived" for r in results):
        return 1
    return 2 if any(r.status == "broken" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
