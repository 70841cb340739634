# cython: language_level=3
"""RAPTOR earliest arrival (Delling, Pajor, Werneck 2012) on the ``planner.timetable.model`` model.

Round ``k`` boards trips at stops whose ``ready`` time was set by rounds ``< k`` (ready
labels are only written in the footpath phase after all routes are scanned), so the
best arrival after round ``k`` is exactly the best arrival with at most ``k`` trips.
Labels as in ``planner.routing.csa``: ``tarr`` (alighted from a trip, may start a footpath),
``arr`` (at the stop, what targets read) and ``ready`` (may board).

Parents: ``tpar[k * S + s]`` records the trip, board and alight positions and a
snapshot of the boarding stop's ``ready`` parent for the round-``k`` trip label at
``s``; ``arr_par``/``ready_par`` encode ``k * S + x`` ("trip label of round ``k`` at
``x``", a footpath when ``x`` differs) or ``-1 - source`` for the origin. Every step
back lowers the round, so rebuilding a journey always terminates.
"""

from libcpp.vector cimport vector

from planner.routing.kernel cimport (
    INF, NO_TRANSFER, TimetableArrays, bptr, earliest_source_time, iptr,
)

import numpy as np

from planner.routing.kernel import arrays_for

cdef extern from *:
    """
    struct OwlTripPar { int trip; int board_pos; int alight_pos; int ready_par; };
    """
    cdef struct OwlTripPar:
        int trip
        int board_pos
        int alight_pos
        int ready_par


cdef class RaptorWorkspace:
    """Per-thread scratch state of a RAPTOR search (never share between threads)."""

    cdef vector[int] arr, ready, tarr, arr_par, ready_par, egress
    cdef vector[OwlTripPar] tpar
    cdef vector[int] stop_stamp, improved_stamp, route_stamp, route_first
    cdef vector[int] marked, next_marked, improved, queue
    cdef vector[int] src_stop, src_time
    cdef vector[int] round_best
    cdef int stamp
    cdef int n_stops
    cdef public int rounds

    def __init__(self, int n_stops, int n_routes):
        self.n_stops = n_stops
        self.arr.resize(n_stops, INF)
        self.ready.resize(n_stops, INF)
        self.tarr.resize(n_stops, INF)
        self.arr_par.resize(n_stops, 0)
        self.ready_par.resize(n_stops, 0)
        self.egress.resize(n_stops, -1)
        self.stop_stamp.resize(n_stops, 0)
        self.improved_stamp.resize(n_stops, 0)
        self.route_stamp.resize(n_routes, 0)
        self.route_first.resize(n_routes, 0)
        self.stamp = 0

    def arrivals(self):
        """Copy of the arrival time per stop after the last search (INFINITY if unreached)."""
        return np.asarray(<int[:self.n_stops]> self.arr.data()).copy()

    def round_bests(self):
        """Best destination arrival after round 0, 1, ... (0: walking only)."""
        return [self.round_best[i] for i in range(self.round_best.size())]

    cdef int next_stamp(self) noexcept nogil:
        cdef size_t i
        self.stamp += 1
        if self.stamp == 2147483647:
            for i in range(self.stop_stamp.size()):
                self.stop_stamp[i] = 0
                self.improved_stamp[i] = 0
            for i in range(self.route_stamp.size()):
                self.route_stamp[i] = 0
            self.stamp = 1
        return self.stamp


cdef class Raptor:
    """The timetable's routes, trips and footpaths, prebound for repeated searches."""

    cdef readonly TimetableArrays a  # shared with the other engines (arrays_for)
    cdef int[::1] dep_by_pos  # per route: departures position-major, trips contiguous
    cdef readonly int n_stops, n_routes, n_trips

    def __init__(self, tt):
        self.a = arrays_for(tt)
        self.n_stops = self.a.n_stops
        self.n_routes = self.a.n_routes
        self.n_trips = self.a.n_trips
        # Each route's trips occupy one (trips x stops) block of st_dep; its transpose
        # lets the boarding binary search read one contiguous run per position.
        dep = np.asarray(self.a.st_dep)
        by_pos = np.empty(len(dep), dtype=np.int32)
        rto = np.asarray(self.a.route_trip_offset)
        rso = np.asarray(self.a.route_stop_offset)
        tso = np.asarray(self.a.trip_st_offset)
        for r in range(self.n_routes):
            t0, t1 = int(rto[r]), int(rto[r + 1])
            if t1 > t0:
                n = int(rso[r + 1] - rso[r])
                a, b = int(tso[t0]), int(tso[t1])
                by_pos[a:b] = dep[a:b].reshape(t1 - t0, n).T.ravel()
        self.dep_by_pos = by_pos

    def workspace(self):
        return RaptorWorkspace(self.n_stops, self.n_routes)

    cdef inline void _reach(self, RaptorWorkspace ws, int s, int t, int par,
                            int* best) noexcept nogil:
        cdef int e
        if t < ws.arr[s]:
            ws.arr[s] = t
            ws.arr_par[s] = par
            e = ws.egress[s]
            if e >= 0 and t + e < best[0]:
                best[0] = t + e

    cdef inline void _set_ready(self, RaptorWorkspace ws, int s, int t, int par,
                                int stamp) noexcept nogil:
        if t < ws.ready[s]:
            ws.ready[s] = t
            ws.ready_par[s] = par
            if ws.stop_stamp[s] != stamp:
                ws.stop_stamp[s] = stamp
                ws.next_marked.push_back(s)

    def search(self, RaptorWorkspace ws, const int[:, ::1] sources,
               const int[:, ::1] targets, int departure, int max_rounds=9, int slack=0):
        """Earliest arrival at any target with at most ``max_rounds`` trips.

        ``sources``/``targets`` are ``(stop, seconds)`` rows (access walk added to the
        departure, egress walk to the arrival). No targets: one-to-all.
        ``ws.round_bests()`` then lists the best arrival per number of trips.
        """
        cdef int n_src = sources.shape[0]
        cdef int n_tgt = targets.shape[0]
        cdef int S = self.n_stops
        cdef int best = INF
        cdef int i, j, k, s, u, a, r, p, p0, stamp, base, nstops, t0, t1, trip
        cdef int lo, hi, mid, board_pos, board_par, tst, cand, prev_mark
        cdef size_t qi
        cdef TimetableArrays A = self.a
        cdef const int* rso = iptr(A.route_stop_offset)
        cdef const int* rstops = iptr(A.route_stops)
        cdef const unsigned char* pick = bptr(A.route_pickup)
        cdef const unsigned char* drop = bptr(A.route_dropoff)
        cdef const int* rto = iptr(A.route_trip_offset)
        cdef const int* tso = iptr(A.trip_st_offset)
        cdef const int* sarr = iptr(A.st_arr)
        cdef const int* sdep = iptr(A.st_dep)
        cdef const int* sro = iptr(A.stop_route_offset)
        cdef const int* srr = iptr(A.stop_route_route)
        cdef const int* srp = iptr(A.stop_route_pos)
        cdef const int* change = iptr(A.change)
        cdef const int* fpo = iptr(A.fp_offset)
        cdef const int* fpt = iptr(A.fp_to)
        cdef const int* fpd = iptr(A.fp_dur)
        cdef const int* dbp = &self.dep_by_pos[0] if self.dep_by_pos.shape[0] else NULL
        cdef const int* col
        cdef int* tarr
        cdef int* ready
        cdef OwlTripPar* tp
        if max_rounds < 0:
            raise ValueError("max_rounds must be >= 0")
        A.check_rows(sources, "source")
        A.check_rows(targets, "target")
        if ws.tpar.size() < <size_t> ((max_rounds + 1) * S):
            ws.tpar.resize((max_rounds + 1) * S)
        ws.src_stop.clear()
        ws.src_time.clear()
        ws.round_best.clear()
        with nogil:
            for i in range(S):
                ws.arr[i] = INF
                ws.ready[i] = INF
                ws.tarr[i] = INF
            for i in range(n_tgt):
                s = targets[i, 0]
                if ws.egress[s] < 0 or targets[i, 1] < ws.egress[s]:
                    ws.egress[s] = targets[i, 1]
            tarr = ws.tarr.data()
            ready = ws.ready.data()
            tp = ws.tpar.data()
            stamp = ws.next_stamp()
            ws.next_marked.clear()
            for i in range(n_src):
                s = sources[i, 0]
                a = departure + sources[i, 1]
                ws.src_stop.push_back(s)
                ws.src_time.push_back(a)
                self._reach(ws, s, a, -1 - s, &best)
                self._set_ready(ws, s, a, -1 - s, stamp)
                for j in range(fpo[s], fpo[s + 1]):
                    self._reach(ws, fpt[j], a + fpd[j], -1 - s, &best)
                    self._set_ready(ws, fpt[j], a + fpd[j], -1 - s, stamp)
            ws.round_best.push_back(best)
            k = 0
            while k < max_rounds and ws.next_marked.size() > 0:
                k += 1
                ws.marked.swap(ws.next_marked)
                ws.next_marked.clear()
                prev_mark = stamp  # stop_stamp of the stops marked by the last phase
                stamp = ws.next_stamp()
                # routes serving a marked stop, from the earliest marked position
                ws.queue.clear()
                for qi in range(ws.marked.size()):
                    s = ws.marked[qi]
                    if ready[s] >= best:  # boarding here cannot beat the best arrival
                        continue
                    for j in range(sro[s], sro[s + 1]):
                        r = srr[j]
                        p = srp[j]
                        if ws.route_stamp[r] != stamp:
                            ws.route_stamp[r] = stamp
                            ws.route_first[r] = p
                            ws.queue.push_back(r)
                        elif p < ws.route_first[r]:
                            ws.route_first[r] = p
                ws.improved.clear()
                for qi in range(ws.queue.size()):
                    r = ws.queue[qi]
                    base = rso[r]
                    nstops = rso[r + 1] - base
                    t0 = rto[r]
                    t1 = rto[r + 1]
                    trip = -1
                    tst = 0
                    board_pos = 0
                    board_par = 0
                    for p in range(ws.route_first[r], nstops):
                        s = rstops[base + p]
                        if trip >= 0 and drop[base + p]:
                            a = sarr[tst + p]
                            if a < tarr[s] and a < best:
                                tarr[s] = a
                                tp[k * S + s].trip = trip
                                tp[k * S + s].board_pos = board_pos
                                tp[k * S + s].alight_pos = p
                                tp[k * S + s].ready_par = board_par
                                if ws.improved_stamp[s] != stamp:
                                    ws.improved_stamp[s] = stamp
                                    ws.improved.push_back(s)
                                self._reach(ws, s, a, k * S + s, &best)
                        # Only stops improved by the last round can catch an earlier
                        # trip: older ready times were tried when they were new.
                        if (pick[base + p] and ws.stop_stamp[s] == prev_mark
                                and ready[s] < best):
                            if trip >= 0:
                                if ready[s] > sdep[tst + p]:
                                    continue
                                hi = trip - t0
                            else:
                                hi = t1 - t0
                            # earliest trip in [t0, hi) departing here at or after ready
                            col = dbp + tso[t0] + p * (t1 - t0)
                            lo = 0
                            cand = hi
                            while lo < hi:
                                mid = (lo + hi) >> 1
                                if col[mid] >= ready[s]:
                                    cand = mid
                                    hi = mid
                                else:
                                    lo = mid + 1
                            cand += t0
                            if cand != trip and cand < t1:
                                trip = cand
                                tst = tso[trip]
                                board_pos = p
                                board_par = ws.ready_par[s]
                # footpath phase: ready labels for round k + 1
                stamp = ws.next_stamp()
                for qi in range(ws.improved.size()):
                    s = ws.improved[qi]
                    a = tarr[s]
                    if change[s] < NO_TRANSFER:
                        self._set_ready(ws, s, a + change[s] + slack, k * S + s, stamp)
                    for j in range(fpo[s], fpo[s + 1]):
                        u = fpt[j]
                        self._reach(ws, u, a + fpd[j], k * S + s, &best)
                        self._set_ready(ws, u, a + fpd[j] + slack, k * S + s, stamp)
                ws.round_best.push_back(best)
            ws.rounds = k
            for i in range(n_tgt):
                ws.egress[targets[i, 0]] = -1
        return best

    def journey_steps(self, RaptorWorkspace ws, int stop):
        """Legs into ``stop`` from the last search, origin first (see ``planner.routing.csa``)."""
        if ws.arr[stop] == INF:
            return None
        cdef int S = self.n_stops
        cdef list steps = []
        cdef int par = ws.arr_par[stop]
        cdef int cur = stop
        cdef int x, k, guard = 0
        cdef OwlTripPar P
        cdef TimetableArrays A = self.a
        while True:
            guard += 1
            if guard > 1000:
                raise RuntimeError("journey reconstruction did not terminate")
            if par < 0:
                x = -1 - par
                A.append_origin(steps, x, cur, earliest_source_time(ws.src_stop, ws.src_time, x))
                break
            k = par // S
            x = par % S
            P = ws.tpar[k * S + x]
            if x != cur:
                A.append_walk(steps, x, cur, A.st_arr[A.trip_st_offset[P.trip] + P.alight_pos])
            steps.append(("trip", P.trip, P.board_pos, P.alight_pos))
            par = P.ready_par
            cur = A.route_stops[A.route_stop_offset[A.trip_route[P.trip]] + P.board_pos]
        steps.reverse()
        return steps

    def best_target(self, RaptorWorkspace ws, const int[:, ::1] targets):
        """(target row, arrival incl. egress) with the fewest trips among the earliest."""
        cdef int i, best = INF, arg = -1, a, rounds, best_rounds = INF, par
        for i in range(targets.shape[0]):
            a = ws.arr[targets[i, 0]]
            if a == INF:
                continue
            par = ws.arr_par[targets[i, 0]]
            rounds = par // self.n_stops if par >= 0 else 0
            if a + targets[i, 1] < best or (a + targets[i, 1] == best and rounds < best_rounds):
                best = a + targets[i, 1]
                best_rounds = rounds
                arg = i
        return arg, best
