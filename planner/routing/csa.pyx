# cython: language_level=3
"""Connection Scan earliest arrival (Dibbelt, Pajor, Strasser, Wagner 2018).

Implements the transfer model of ``planner.timetable.model`` exactly:

* ``tarr[s]``: best arrival at ``s`` by alighting from a trip; only these labels may
  start a footpath (one hop, the footpaths are closed).
* ``arr[s]``: best arrival *at* ``s`` (trip or one footpath), what targets use.
* ``ready[s]``: earliest time a trip may be boarded at ``s``: ``tarr + change time``
  or ``tarr[x] + footpath``, plus the query's ``transfer_slack``; the origin itself
  and its footpaths are ready without slack.

Connections are copied once into a compact array of structs (``pickup``/``dropoff``
folded into the stop fields as -1) so the scan reads one cache line per three
connections. Trip "reached" flags use a per-workspace epoch, so a query costs
O(stops) for resets and nothing per trip.
"""

from libcpp.vector cimport vector

from planner.routing.kernel cimport (
    INF, NO_TRANSFER, TimetableArrays, earliest_source_time, iptr,
)

import numpy as np

from planner.routing.kernel import arrays_for

cdef extern from *:
    """
    struct OwlConn { int dep; int arr; int dep_stop; int arr_stop; int trip; };
    """
    cdef struct OwlConn:
        int dep
        int arr
        int dep_stop
        int arr_stop
        int trip


cdef class CSAWorkspace:
    """Per-thread scratch state of a CSA search (never share between threads)."""

    cdef vector[int] arr, ready, tarr, arr_par, ready_par, tarr_exit, egress
    cdef vector[int] trip_epoch, trip_enter, trip_par
    cdef vector[int] src_stop, src_time
    cdef int epoch
    cdef int n_stops
    cdef public int departure
    cdef public int scanned

    def __init__(self, int n_stops, int n_trips):
        self.n_stops = n_stops
        self.arr.resize(n_stops, INF)
        self.ready.resize(n_stops, INF)
        self.tarr.resize(n_stops, INF)
        self.arr_par.resize(n_stops, 0)
        self.ready_par.resize(n_stops, 0)
        self.tarr_exit.resize(n_stops, -1)
        self.egress.resize(n_stops, -1)
        self.trip_epoch.resize(n_trips, 0)
        self.trip_enter.resize(n_trips, -1)
        self.trip_par.resize(n_trips, 0)
        self.epoch = 0

    def arrivals(self):
        """Copy of the arrival time per stop after the last search (INFINITY if unreached)."""
        return np.asarray(<int[:self.n_stops]> self.arr.data()).copy()


cdef class CSA:
    """The timetable's connections and footpaths, prebound for repeated searches."""

    cdef vector[OwlConn] conns
    cdef readonly TimetableArrays a  # shared with the other engines (arrays_for)
    cdef readonly int n_stops, n_trips, n_conns

    def __init__(self, tt):
        self.a = arrays_for(tt)
        self.n_stops = self.a.n_stops
        self.n_trips = self.a.n_trips
        self.n_conns = self.a.n_conns
        cdef TimetableArrays a = self.a
        self.conns.resize(self.n_conns)
        cdef Py_ssize_t i
        for i in range(self.n_conns):
            self.conns[i].dep = a.conn_dep[i]
            self.conns[i].arr = a.conn_arr[i]
            self.conns[i].dep_stop = a.conn_dep_stop[i] if a.conn_pickup[i] else -1
            self.conns[i].arr_stop = a.conn_arr_stop[i] if a.conn_dropoff[i] else -1
            self.conns[i].trip = a.conn_trip[i]

    def workspace(self):
        return CSAWorkspace(self.n_stops, self.n_trips)

    cdef inline void _reach(self, CSAWorkspace ws, int s, int t, int par, int* best) noexcept nogil:
        """``s`` is arrived at at ``t`` (parent ``par``); update the target bound."""
        cdef int e
        if t < ws.arr[s]:
            ws.arr[s] = t
            ws.arr_par[s] = par
            e = ws.egress[s]
            if e >= 0 and t + e < best[0]:
                best[0] = t + e

    def search(self, CSAWorkspace ws, const int[:, ::1] sources, const int[:, ::1] targets,
               int departure, int slack=0):
        """Earliest arrival at any target (``INFINITY`` if none), scanning from ``departure``.

        ``sources``/``targets`` are ``(stop, seconds)`` rows: access walk added to the
        departure, egress walk added to the arrival. With no targets, scans to the end
        (one-to-all); ``ws.arrivals()`` then holds every stop's arrival.
        """
        cdef int n_src = sources.shape[0]
        cdef int n_tgt = targets.shape[0]
        cdef int best = INF
        cdef int i, j, s, u, t, a, r, e, lo, hi, mid, start_time, trip
        cdef int n = self.n_conns
        cdef int epoch
        cdef OwlConn* cs = self.conns.data()
        cdef int* ready
        cdef int* tarr
        cdef int* trip_epoch
        cdef const int* change = iptr(self.a.change)
        cdef const int* fpo = iptr(self.a.fp_offset)
        cdef const int* fpt = iptr(self.a.fp_to)
        cdef const int* fpd = iptr(self.a.fp_dur)
        cdef OwlConn* c
        self.a.check_rows(sources, "source")
        self.a.check_rows(targets, "target")
        ws.departure = departure
        ws.src_stop.clear()
        ws.src_time.clear()
        with nogil:
            ws.epoch += 1
            if ws.epoch == 2147483647:
                for i in range(self.n_trips):
                    ws.trip_epoch[i] = 0
                ws.epoch = 1
            epoch = ws.epoch
            for i in range(self.n_stops):
                ws.arr[i] = INF
                ws.ready[i] = INF
                ws.tarr[i] = INF
            for i in range(n_tgt):
                s = targets[i, 0]
                if ws.egress[s] < 0 or targets[i, 1] < ws.egress[s]:
                    ws.egress[s] = targets[i, 1]
            start_time = INF
            for i in range(n_src):
                s = sources[i, 0]
                a = departure + sources[i, 1]
                ws.src_stop.push_back(s)
                ws.src_time.push_back(a)
                if a < start_time:
                    start_time = a
                self._reach(ws, s, a, -1 - s, &best)
                if a < ws.ready[s]:
                    ws.ready[s] = a
                    ws.ready_par[s] = -1 - s
                for j in range(fpo[s], fpo[s + 1]):
                    u = fpt[j]
                    self._reach(ws, u, a + fpd[j], -1 - s, &best)
                    if a + fpd[j] < ws.ready[u]:
                        ws.ready[u] = a + fpd[j]
                        ws.ready_par[u] = -1 - s
            # first connection departing at or after the earliest ready time
            lo = 0
            hi = n
            while lo < hi:
                mid = (lo + hi) >> 1
                if cs[mid].dep < start_time:
                    lo = mid + 1
                else:
                    hi = mid
            ready = ws.ready.data()
            tarr = ws.tarr.data()
            trip_epoch = ws.trip_epoch.data()
            i = lo
            while i < n:
                c = cs + i
                if c.dep >= best:
                    break
                trip = c.trip
                if trip_epoch[trip] != epoch:
                    s = c.dep_stop
                    if s < 0 or ready[s] > c.dep:
                        i += 1
                        continue
                    trip_epoch[trip] = epoch
                    ws.trip_enter[trip] = i
                    ws.trip_par[trip] = ws.ready_par[s]
                s = c.arr_stop
                a = c.arr
                if s >= 0 and a < tarr[s]:
                    tarr[s] = a
                    ws.tarr_exit[s] = i
                    self._reach(ws, s, a, s, &best)
                    if change[s] < NO_TRANSFER:
                        r = a + change[s] + slack
                        if r < ready[s]:
                            ready[s] = r
                            ws.ready_par[s] = s
                    for j in range(fpo[s], fpo[s + 1]):
                        u = fpt[j]
                        self._reach(ws, u, a + fpd[j], s, &best)
                        r = a + fpd[j] + slack
                        if r < ready[u]:
                            ready[u] = r
                            ws.ready_par[u] = s
                i += 1
            ws.scanned = i - lo
            for i in range(n_tgt):
                ws.egress[targets[i, 0]] = -1
        return best

    def journey_steps(self, CSAWorkspace ws, int stop):
        """Legs into ``stop`` from the last search, origin first.

        Steps are ``("origin", source stop, time)`` first, then
        ``("walk", from, to, start, duration)`` and ``("trip", trip, board_pos, alight_pos)``
        (route positions).
        """
        if ws.arr[stop] == INF:
            return None
        cdef list steps = []
        cdef int par = ws.arr_par[stop]
        cdef int end = ws.arr[stop]
        cdef int x, c, c0, trip, guard = 0
        cdef int cur = stop
        cdef TimetableArrays A = self.a
        while True:
            guard += 1
            if guard > 10000:
                raise RuntimeError("journey reconstruction did not terminate")
            if par < 0:
                x = -1 - par
                A.append_origin(steps, x, cur, earliest_source_time(ws.src_stop, ws.src_time, x))
                break
            x = par
            if x != cur:
                A.append_walk(steps, x, cur, ws.tarr[x])
            c = ws.tarr_exit[x]
            trip = A.conn_trip[c]
            c0 = ws.trip_enter[trip]
            steps.append(("trip", trip, A.conn_pos[c0], A.conn_pos[c] + 1))
            par = ws.trip_par[trip]
            cur = A.conn_dep_stop[c0]
        steps.reverse()
        return steps

    def best_target(self, CSAWorkspace ws, const int[:, ::1] targets):
        """(target row index, arrival incl. egress) of the best target, or (-1, INFINITY)."""
        cdef int i, best = INF, arg = -1, a
        for i in range(targets.shape[0]):
            a = ws.arr[targets[i, 0]]
            if a != INF and a + targets[i, 1] < best:
                best = a + targets[i, 1]
                arg = i
        return arg, best
