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
"""

from libcpp.vector cimport vector

from planner.routing.kernel cimport INF, NO_TRANSFER, TimetableArrays, bptr, iptr

import numpy as np

from planner.routing.kernel import arrays_for

cdef int NEG = -2147483647

cdef enum:
    A_EGRESS = 0   # a = target row, b = footpath seconds to it
    A_CHANGE = 1   # board again at the same stop
    A_FOOT = 2     # a = stop walked to, b = seconds


cdef class ArriveByWorkspace:
    """Per-thread scratch of an arrive-by search (never share between threads)."""

    cdef vector[int] la, lr, egress_t, egress_row, egress_fp, la_kind, la_a, la_b, lr_conn
    cdef vector[int] acc, acc_row, acc_fp
    cdef vector[int] trip_epoch, trip_exit
    cdef int epoch
    cdef readonly int n_stops
    cdef public int scanned

    def __init__(self, int n_stops, int n_trips):
        self.n_stops = n_stops
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


def arrival_order(tt) -> np.ndarray:
    """Connections by decreasing arrival; ties put a trip's later connection first."""
    cached = tt.extra.get("_conn_by_arrival")
    if cached is None:
        cached = np.lexsort((-tt.conn_pos.astype(np.int64), -tt.conn_dep.astype(np.int64),
                             -tt.conn_arr.astype(np.int64))).astype(np.int32)
        tt.extra["_conn_by_arrival"] = cached
    return cached


cdef class ArriveBy:
    """The timetable's connections in arrival order, prebound for repeated searches."""

    cdef readonly TimetableArrays a  # shared with the other engines (arrays_for)
    cdef const int[::1] order
    cdef readonly int n_stops, n_trips, n_conns

    def __init__(self, tt):
        self.a = arrays_for(tt)
        self.n_stops = self.a.n_stops
        self.n_trips = self.a.n_trips
        self.n_conns = self.a.n_conns
        self.order = arrival_order(tt)

    def workspace(self) -> ArriveByWorkspace:
        return ArriveByWorkspace(self.n_stops, self.n_trips)

    def search(self, ArriveByWorkspace ws, const int[:, ::1] sources,
               const int[:, ::1] targets, int deadline, int slack=0):
        """Latest departure arriving by ``deadline``, or ``None``.

        Returns ``(departure, arrival, trips, source_row, target_row, steps)`` with
        steps as in ``planner.routing.csa.CSA.journey_steps`` (the arrival is the journey's own,
        ``<= deadline``).
        """
        self.a.check_rows(sources, "source")
        self.a.check_rows(targets, "target")
        cdef int best = NEG
        cdef int best_stop = -1
        cdef bint walk_only = False
        with nogil:
            self._run(ws, sources, targets, deadline, slack, &best, &best_stop, &walk_only)
        if best == NEG:
            return None
        return self._journey(ws, sources, targets, best, best_stop, walk_only)

    cdef void _run(self, ArriveByWorkspace ws, const int[:, ::1] sources,
                   const int[:, ::1] targets, int deadline, int slack, int* best,
                   int* best_stop, bint* walk_only) noexcept nogil:
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
        cdef int i, j, s, u, d, e, t, lo, hi, mid, ci, trip, p, dep
        cdef int n = self.n_conns
        cdef const int* order = iptr(self.order)
        cdef int epoch
        for i in range(self.n_stops):
            ws.la[i] = NEG
            ws.lr[i] = NEG
            ws.egress_t[i] = NEG
            ws.acc[i] = INF
        ws.epoch += 1
        if ws.epoch == 2147483647:
            for i in range(self.n_trips):
                ws.trip_epoch[i] = 0
            ws.epoch = 1
        epoch = ws.epoch
        # egress: latest arrival at a stop (any means) that still reaches a target
        for i in range(targets.shape[0]):
            s = targets[i, 0]
            t = deadline - targets[i, 1]
            if t > ws.egress_t[s]:
                ws.egress_t[s] = t
                ws.egress_row[s] = i
                ws.egress_fp[s] = 0
                ws.la[s] = t
                ws.la_kind[s] = A_EGRESS
                ws.la_a[s] = i
                ws.la_b[s] = 0
            for j in range(fpio[s], fpio[s + 1]):
                u = fpif[j]
                d = fpid[j]
                if t - d > ws.egress_t[u]:
                    ws.egress_t[u] = t - d
                    ws.egress_row[u] = i
                    ws.egress_fp[u] = d
                    ws.la[u] = t - d
                    ws.la_kind[u] = A_EGRESS
                    ws.la_a[u] = i
                    ws.la_b[u] = d
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
        lo = 0
        hi = n
        while lo < hi:
            mid = (lo + hi) >> 1
            if carr[order[mid]] > deadline:
                lo = mid + 1
            else:
                hi = mid
        ci = lo
        while ci < n:
            i = order[ci]
            if carr[i] < best[0]:
                break  # every later connection departs before the best departure
            trip = ctrip[i]
            if ws.trip_epoch[trip] != epoch:
                if not cdrop[i] or carr[i] > ws.la[castop[i]]:
                    ci += 1
                    continue
                ws.trip_epoch[trip] = epoch
                ws.trip_exit[trip] = i
            p = cdstop[i]
            dep = cdep[i]
            if cpick[i] and dep > ws.lr[p]:
                ws.lr[p] = dep
                ws.lr_conn[p] = i
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
            ci += 1
        ws.scanned = ci - lo

    cdef tuple _journey(self, ArriveByWorkspace ws, const int[:, ::1] sources,
                        const int[:, ::1] targets, int departure, int best_stop,
                        bint walk_only):
        cdef TimetableArrays A = self.a
        cdef list steps = []
        cdef int row, p, c, trip, x, q, a, d, guard = 0, trips = 0
        cdef int s, j
        if walk_only:
            row = best_stop
            s = sources[row, 0]
            x = ws.egress_row[s]
            d = ws.egress_fp[s]
            if s != targets[x, 0]:  # footpaths may take 0 s
                steps.append(("walk", s, targets[x, 0], departure + sources[row, 1], d))
            return (departure, departure + sources[row, 1] + d + targets[x, 1], 0, row, x,
                    steps)
        p = best_stop
        row = ws.acc_row[p]
        if p != sources[row, 0]:
            steps.append(("walk", sources[row, 0], p, departure + sources[row, 1],
                          ws.acc_fp[p]))
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
            if ws.la_kind[q] == A_EGRESS:
                j = ws.la_a[q]
                d = ws.la_b[q]
                if q != targets[j, 0]:
                    steps.append(("walk", q, targets[j, 0], a, d))
                return (departure, a + d + targets[j, 1], trips, row, j, steps)
            if ws.la_kind[q] == A_CHANGE:
                c = ws.lr_conn[q]
            else:
                steps.append(("walk", q, ws.la_a[q], a, ws.la_b[q]))
                c = ws.lr_conn[ws.la_a[q]]
