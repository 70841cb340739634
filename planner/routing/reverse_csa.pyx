# cython: language_level=3
"""Arrive-by: the latest departure reaching a target by a deadline (reverse CSA).

Connections are scanned by *decreasing* arrival (a permutation computed once per
timetable). The transfer model of ``planner.timetable.model`` is run backwards:

* ``la[p]``: latest time one may *alight* at ``p`` and still make the deadline:
  directly or after one footpath to a target (egress), after the change time plus
  slack to board at ``p``, or after a footpath plus slack to board at a neighbour;
* ``lr[p]``: latest departure of a usable boarding at ``p`` (a connection whose trip
  reaches, from there, an alighting ``c`` with ``c.arr <= la[stop]``);
* the departure is ``lr[p] - access(p)`` (source offset plus at most one footpath),
  or walking only.

So if ``LD`` is the answer, the earliest arrival departing at ``LD`` is ``<=`` the
deadline, and departing at ``LD + 1`` it is later (or unreachable).

The journey returned is forward CSA's from ``LD``: the earliest arrival from there. The
labels above rebuild the reverse scan's own journey instead, which takes the latest
connection at every step and so may arrive hours, even a day, later than leaving at
``LD`` allows (issue 18); it is only the fallback should the forward search disagree.

A route mask is read only where a trip is entered (at its last useful alighting), like
the forward CSA reads it only on boarding.

Scoped transfer rules (``planner.timetable.transfer_rules``), backwards as the forward
CSA follows them: a connection whose arrival has alight key ``x`` enters its trip by
``xla[x]`` instead of ``la``: the egress of ``x``'s stop, or for each entry ``(x, y,
seconds)`` the latest usable boarding of board key ``y`` (``ylr[y]``) minus the seconds
and the slack (``rule_in_*``, by ``y``). Every boarding still sets ``lr`` (a plain
alighting may board any trip), one with board key ``y`` also ``ylr[y]``. Only read
when the timetable has rules, off the common path.
"""

from libcpp.vector cimport vector

from planner.routing.kernel cimport (
    INF, NO_TRANSFER, Egress, Net, NoRules, Rules, ScopedRules, TimetableArrays, Workspace,
    bptr, build_egress, clear_egress, fresh_stamps, iptr, lower_bound, reset_stats,
    rows_ptr,
)

import numpy as np

from planner.routing.csa import CSA
from planner.routing.kernel import as_arrays

cdef int NEG = -2147483647

cdef enum:
    A_EGRESS = 0   # a = target row, b = footpath seconds to it
    A_CHANGE = 1   # board again at the same stop
    A_FOOT = 2     # a = stop walked to, b = seconds


cdef class ArriveByWorkspace(Workspace):
    """Per-thread scratch of an arrive-by search (never share between threads)."""

    cdef vector[int] la, lr, egress_t, egress_row, egress_fp, la_kind, la_a, la_b, lr_conn
    cdef vector[int] acc, acc_row, acc_fp
    cdef vector[int] trip_epoch, trip_exit
    cdef vector[int] xla, xla_y, ylr, ylr_conn  # per alight key / board key (rules)
    cdef int epoch
    cdef readonly object forward  # the forward CSA's workspace, for the journey

    def __init__(self, int n_stops, int n_trips, int n_x=0, int n_y=0):
        Workspace.__init__(self, n_stops, 0)
        self.xla.resize(n_x, NEG)
        self.xla_y.resize(n_x, -1)
        self.ylr.resize(n_y, NEG)
        self.ylr_conn.resize(n_y, -1)
        self.la.resize(n_stops, NEG)
        self.lr.resize(n_stops, NEG)
        self.egress_t.resize(n_stops, NEG)
        self.egress_row.resize(n_stops, -1)
        self.egress_fp.resize(n_stops, 0)
        self.la_kind.resize(n_stops, -1)
        self.la_a.resize(n_stops, 0)
        self.la_b.resize(n_stops, 0)
        self.lr_conn.resize(n_stops, -1)
        self.acc.resize(n_stops, INF)
        self.acc_row.resize(n_stops, -1)
        self.acc_fp.resize(n_stops, 0)
        self.trip_epoch.resize(n_trips, 0)
        self.trip_exit.resize(n_trips, -1)
        self.epoch = 0


def arrival_order(TimetableArrays a) -> np.ndarray:
    """Connections by decreasing arrival; ties put a trip's later connection first."""
    return np.lexsort((-np.asarray(a.conn_pos, dtype=np.int64),
                       -np.asarray(a.conn_dep, dtype=np.int64),
                       -np.asarray(a.conn_arr, dtype=np.int64))).astype(np.int32)


cdef class ArriveBy:
    """The timetable's connections in arrival order, prebound for repeated searches."""

    cdef readonly TimetableArrays a  # the Router's, shared with its other engines
    cdef const int[::1] order
    cdef const int[::1] neg_arr  # -arrival in scan order: ascending, for lower_bound
    cdef readonly int n_stops, n_trips, n_conns
    cdef readonly object forward  # CSA on the same arrays: the journey from the answer

    def __init__(self, arrays):
        """``arrays``: the Router's ``TimetableArrays`` (or a ``Timetable``)."""
        self.a = as_arrays(arrays)
        self.n_stops = self.a.n_stops
        self.n_trips = self.a.n_trips
        self.n_conns = self.a.n_conns
        order = arrival_order(self.a)
        self.order = order
        self.neg_arr = np.ascontiguousarray(-np.asarray(self.a.conn_arr)[order])
        self.forward = CSA(self.a)

    def workspace(self) -> ArriveByWorkspace:
        ws = ArriveByWorkspace(self.n_stops, self.n_trips, self.a.n_alight_keys,
                               self.a.n_board_keys)
        ws.forward = self.forward.workspace()
        return ws

    def search(self, ArriveByWorkspace ws, q):
        """The journey departing latest that arrives by ``q.time``: ``[]`` or
        ``[(departure, arrival, trips, source_row, target_row, steps)]``, steps as in
        ``planner.routing.csa.CSA.results``: forward CSA's earliest-arrival journey from
        the latest departure (``<= q.time``). No transfer bound: CSA counts no trips.
        """
        cdef const int[:, ::1] sources = q.sources
        cdef const int[:, ::1] targets = q.targets
        cdef const unsigned char* mask
        cdef int deadline = q.time
        cdef int slack = q.transfer_slack
        self.a.check_rows(sources, "source")
        self.a.check_rows(targets, "target")
        self.a.route_mask(q, &mask)
        cdef int best = NEG
        cdef int best_stop = -1
        cdef bint walk_only = False
        with nogil:
            if self.a.net.xal == NULL:
                self._run(ws, sources, targets, deadline, slack, mask, &best, &best_stop,
                          &walk_only, <NoRules*>NULL)
            else:
                self._run(ws, sources, targets, deadline, slack, mask, &best, &best_stop,
                          &walk_only, <ScopedRules*>NULL)
        if best == NEG:
            return []
        found = self.forward.search_from(ws.forward, q, best)
        if found and found[0][1] <= deadline:
            return found
        # cannot happen: the reverse scan proved a journey from ``best``
        return [self._journey(ws, sources, targets, best, best_stop, walk_only)]

    cdef void _run(self, ArriveByWorkspace ws, const int[:, ::1] sources,
                   const int[:, ::1] targets, int deadline, int slack,
                   const unsigned char* mask, int* best, int* best_stop,
                   bint* walk_only, Rules* mode) noexcept nogil:
        cdef Net net_copy = self.a.net
        cdef const Net* net = &net_copy
        cdef const int* trip_route = net.trip_route
        cdef const int* neg_arr = iptr(self.neg_arr)
        cdef Egress* opt
        cdef size_t q
        cdef long long labels = 0
        cdef const int* fpio = iptr(self.a.fp_in_offset)
        cdef const int* fpif = iptr(self.a.fp_in_from)
        cdef const int* fpid = iptr(self.a.fp_in_dur)
        cdef const int* fpo = iptr(self.a.fp_offset)
        cdef const int* fpt = iptr(self.a.fp_to)
        cdef const int* fpd = iptr(self.a.fp_dur)
        cdef const int* carr = iptr(self.a.conn_arr)
        cdef const int* ctrip = iptr(self.a.conn_trip)
        cdef const int* castop = iptr(self.a.conn_arr_stop)
        cdef const unsigned char* cdrop = bptr(self.a.conn_dropoff)
        cdef const int* cdstop = iptr(self.a.conn_dep_stop)
        cdef const int* cdep = iptr(self.a.conn_dep)
        cdef const unsigned char* cpick = bptr(self.a.conn_pickup)
        cdef const int* change = iptr(self.a.change)
        cdef int i, j, s, u, d, e, t, lo, ci, trip, p, dep
        cdef bint rules = Rules is ScopedRules  # compile-time: two copies of this loop
        cdef const int* cx = iptr(self.a.conn_alight_key)
        cdef const int* cy = iptr(self.a.conn_board_key)
        cdef int n = self.n_conns
        cdef const int* order = iptr(self.order)
        cdef int epoch
        for i in range(self.n_stops):
            ws.la[i] = NEG
            ws.lr[i] = NEG
            ws.egress_t[i] = NEG
            ws.acc[i] = INF
        ws.epoch = fresh_stamps(ws.epoch, 1, &ws.trip_epoch, NULL) + 1
        epoch = ws.epoch
        reset_stats(ws)
        # egress: latest arrival at a stop (any means) that still reaches a target;
        # lists run newest first, so ">=" keeps the first target row on ties
        build_egress(ws, net, rows_ptr(targets), targets.shape[0], NULL)
        for q in range(ws.eg_touched.size()):
            u = ws.eg_touched[q]
            e = ws.eg_head[u]
            while e >= 0:
                opt = &ws.eg[e]
                t = deadline - opt.time
                if t >= ws.egress_t[u]:
                    ws.egress_t[u] = t
                    ws.egress_row[u] = opt.target
                    ws.egress_fp[u] = opt.fp
                    ws.la[u] = t
                    ws.la_kind[u] = A_EGRESS
                    ws.la_a[u] = opt.target
                    ws.la_b[u] = opt.fp
                e = opt.next
        clear_egress(ws)
        if rules:  # alight keys: the egress of their stop (-1 in xla_y), no boarding yet
            for i in range(net.n_x):
                ws.xla[i] = ws.egress_t[net.xstop[i]]
                ws.xla_y[i] = -1
            for i in range(net.n_y):
                ws.ylr[i] = NEG
        # access: seconds from the departure until ready at a stop (no slack)
        for i in range(sources.shape[0]):
            s = sources[i, 0]
            if sources[i, 1] < ws.acc[s]:
                ws.acc[s] = sources[i, 1]
                ws.acc_row[s] = i
                ws.acc_fp[s] = 0
            for j in range(fpo[s], fpo[s + 1]):
                u = fpt[j]
                d = fpd[j]
                if sources[i, 1] + d < ws.acc[u]:
                    ws.acc[u] = sources[i, 1] + d
                    ws.acc_row[u] = i
                    ws.acc_fp[u] = d
            # walking only
            if ws.egress_t[s] != NEG and ws.egress_t[s] - sources[i, 1] > best[0]:
                best[0] = ws.egress_t[s] - sources[i, 1]
                best_stop[0] = i
                walk_only[0] = True
        # first connection (in decreasing arrival) arriving by the deadline
        lo = lower_bound(neg_arr, 1, 0, n, -deadline)
        ci = lo
        while ci < n:
            i = order[ci]
            if carr[i] < best[0]:
                break  # every later connection departs before the best departure
            trip = ctrip[i]
            if ws.trip_epoch[trip] != epoch:
                if not cdrop[i]:
                    ci += 1
                    continue
                if rules and cx[i] >= 0:
                    if carr[i] > ws.xla[cx[i]]:
                        ci += 1
                        continue
                elif carr[i] > ws.la[castop[i]]:
                    ci += 1
                    continue
                if mask != NULL and mask[trip_route[trip]] == 0:
                    ci += 1
                    continue
                ws.trip_epoch[trip] = epoch
                ws.trip_exit[trip] = i
            p = cdstop[i]
            dep = cdep[i]
            if cpick[i] and dep > ws.lr[p]:
                ws.lr[p] = dep
                ws.lr_conn[p] = i
                labels += 1
                if ws.acc[p] != INF and dep - ws.acc[p] > best[0]:
                    best[0] = dep - ws.acc[p]
                    best_stop[0] = p
                    walk_only[0] = False
                if change[p] < NO_TRANSFER:
                    t = dep - change[p] - slack
                    if t > ws.la[p]:
                        ws.la[p] = t
                        ws.la_kind[p] = A_CHANGE
                for j in range(fpio[p], fpio[p + 1]):
                    u = fpif[j]
                    t = dep - fpid[j] - slack
                    if t > ws.la[u]:
                        ws.la[u] = t
                        ws.la_kind[u] = A_FOOT
                        ws.la_a[u] = p
                        ws.la_b[u] = fpid[j]
            if rules and cpick[i] and cy[i] >= 0 and dep > ws.ylr[cy[i]]:
                self._board_keyed(ws, net, cy[i], dep, i, slack)
            ci += 1
        ws.stats.connections_scanned = ci - lo
        ws.stats.labels = labels

    cdef void _board_keyed(self, ArriveByWorkspace ws, const Net* net, int y, int dep,
                           int i, int slack) noexcept nogil:
        """Connection ``i`` is a usable boarding of board key ``y`` at ``dep``: the alight
        keys whose rules reach ``y`` may alight up to the rule's seconds earlier."""
        cdef int j, x, t
        ws.ylr[y] = dep
        ws.ylr_conn[y] = i
        for j in range(net.yio[y], net.yio[y + 1]):
            x = net.yix[j]
            t = dep - net.yit[j] - slack
            if t > ws.xla[x]:
                ws.xla[x] = t
                ws.xla_y[x] = y

    cdef tuple _journey(self, ArriveByWorkspace ws, const int[:, ::1] sources,
                        const int[:, ::1] targets, int departure, int best_stop,
                        bint walk_only):
        cdef TimetableArrays A = self.a
        cdef list steps = []
        cdef int row, p, c, trip, x, q, a, d, guard = 0, trips = 0
        cdef int s, j, xk, y
        if walk_only:
            row = best_stop
            s = sources[row, 0]
            x = ws.egress_row[s]
            d = ws.egress_fp[s]
            steps.append(("origin", s, departure + sources[row, 1]))
            if s != targets[x, 0]:  # footpaths may take 0 s
                steps.append(("walk", s, targets[x, 0], departure + sources[row, 1], d))
            return (departure, departure + sources[row, 1] + d + targets[x, 1], 0, row, x,
                    steps)
        p = best_stop
        row = ws.acc_row[p]
        A.append_start(steps, sources[row, 0], p, departure + sources[row, 1])
        c = ws.lr_conn[p]
        while True:
            guard += 1
            if guard > 10000:
                raise RuntimeError("journey reconstruction did not terminate")
            trip = A.conn_trip[c]
            x = ws.trip_exit[trip]
            steps.append(("trip", trip, A.conn_pos[c], A.conn_pos[x] + 1))
            trips += 1
            q = A.conn_arr_stop[x]
            a = A.conn_arr[x]
            xk = A.conn_alight_key[x] if A.conn_alight_key.shape[0] else -1
            if xk >= 0 and ws.xla_y[xk] >= 0:  # a scoped change to board key y
                y = ws.xla_y[xk]
                A.append_change(steps, xk, A.rule_board_stop[y], y, a)
                c = ws.ylr_conn[y]
                continue
            if xk >= 0 or ws.la_kind[q] == A_EGRESS:
                j = ws.egress_row[q] if xk >= 0 else ws.la_a[q]
                d = ws.egress_fp[q] if xk >= 0 else ws.la_b[q]
                if q != targets[j, 0]:
                    steps.append(("walk", q, targets[j, 0], a, d))
                return (departure, a + d + targets[j, 1], trips, row, j, steps)
            if ws.la_kind[q] == A_CHANGE:
                c = ws.lr_conn[q]
            else:
                steps.append(("walk", q, ws.la_a[q], a, ws.la_b[q]))
                c = ws.lr_conn[ws.la_a[q]]
