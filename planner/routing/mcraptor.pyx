# cython: language_level=3
"""McRAPTOR (Delling, Pajor, Werneck 2012, section 4): Pareto sets over
(arrival, trips, walking seconds, extra criterion).

Trips are counted by rounds, so each stop keeps Pareto bags over the remaining
three criteria. The transfer model is the one of ``planner.timetable.model`` (and of
``planner.routing.csa``): a *vehicle* label is an arrival by alighting; it reaches targets
directly or over one footpath, and becomes a *ready* label (may board) at the same
stop after ``change time + slack`` or at a footpath neighbour after ``walk + slack``.
Source labels are ready without slack, at the source and its footpath neighbours.

Pruning (all sound because trips only grow with rounds):

* local: a label dominated by an earlier label at the same stop and of the same kind
  (cumulative bag over rounds) is dropped;
* target: a label dominated by a target label (whose trips are never more) is dropped,
  since egress and continuing only add time, walking and extra.

Walking = access offsets + footpaths + egress offsets. ``extra`` is the caller's
per-source/target value (e.g. rental seconds), summed, 0 by default, so journeys
that differ in it are kept apart.
"""

from libcpp.vector cimport vector

from planner.routing.kernel cimport INF, NO_TRANSFER, TimetableArrays, bptr, iptr

import numpy as np

from planner.routing.kernel import arrays_for

# label kinds
cdef enum:
    K_SOURCE = 0      # ready at a source stop (b = source row)
    K_SOURCE_FP = 1   # ready at a footpath neighbour of a source (a = duration, b = row)
    K_VEHICLE = 2     # arrival by alighting (trip, a = board pos, b = alight pos)
    K_CHANGE = 3      # ready at the same stop after the change time
    K_FOOT = 4        # ready at a footpath neighbour (a = duration)


cdef struct MLabel:
    int time
    int walk
    int extra
    int stop
    int parent
    int kind
    int trip
    int a
    int b
    int rnd

cdef struct RLabel:
    int trip
    int walk
    int extra
    int parent
    int pos

cdef struct EgOpt:
    int time
    int walk
    int extra
    int target
    int fp
    int next

cdef struct TLabel:
    int arr
    int walk
    int extra
    int trips
    int label
    int eg


cdef class McRaptorWorkspace:
    """Per-thread scratch of a McRAPTOR search (never share between threads)."""

    cdef vector[MLabel] labels
    cdef vector[vector[int]] veh_star, ready_star, ready_prev, ready_cur
    cdef vector[int] touched_star, touched_prev, touched_cur, in_star
    cdef vector[int] eg_head, eg_touched, route_first, routes_marked
    cdef vector[EgOpt] eg
    cdef vector[TLabel] target
    cdef vector[RLabel] rbag
    cdef readonly int n_stops
    cdef public int rounds

    def __init__(self, int n_stops, int n_routes):
        self.n_stops = n_stops
        self.veh_star.resize(n_stops)
        self.ready_star.resize(n_stops)
        self.ready_prev.resize(n_stops)
        self.ready_cur.resize(n_stops)
        self.in_star.resize(n_stops, 0)
        self.eg_head.resize(n_stops, -1)
        self.route_first.resize(n_routes, INF)


cdef inline bint _dominated3(int t, int w, int x, int t2, int w2, int x2) noexcept nogil:
    return t2 <= t and w2 <= w and x2 <= x


cdef class McRaptor:
    """The timetable's RAPTOR arrays, prebound for repeated McRAPTOR searches."""

    cdef readonly TimetableArrays a  # shared with the other engines (arrays_for)
    cdef readonly int n_stops, n_routes

    def __init__(self, tt):
        self.a = arrays_for(tt)
        self.n_stops = self.a.n_stops
        self.n_routes = self.a.n_routes

    def workspace(self) -> McRaptorWorkspace:
        return McRaptorWorkspace(self.n_stops, self.n_routes)

    # ---- bag helpers ---------------------------------------------------------------
    cdef inline bint _target_dominates(self, McRaptorWorkspace ws, int t, int w,
                                       int x) noexcept nogil:
        cdef size_t i
        cdef TLabel* tl
        for i in range(ws.target.size()):
            tl = &ws.target[i]
            if tl.arr <= t and tl.walk <= w and tl.extra <= x:
                return True
        return False

    cdef inline void _add_target(self, McRaptorWorkspace ws, int t, int w, int x, int trips,
                                 int label, int eg) noexcept nogil:
        cdef size_t i = 0
        cdef TLabel tl
        if self._target_dominates(ws, t, w, x):
            return
        while i < ws.target.size():
            # earlier rounds have fewer trips, so only same-round labels can be beaten
            if (ws.target[i].trips == trips and ws.target[i].arr >= t
                    and ws.target[i].walk >= w and ws.target[i].extra >= x):
                ws.target[i] = ws.target.back()
                ws.target.pop_back()
            else:
                i += 1
        tl.arr = t
        tl.walk = w
        tl.extra = x
        tl.trips = trips
        tl.label = label
        tl.eg = eg
        ws.target.push_back(tl)

    cdef int _insert(self, McRaptorWorkspace ws, vector[int]* star, int rnd, MLabel* lab,
                     int stop) noexcept nogil:
        """Adds ``lab`` to ``star`` unless dominated; returns its id or -1."""
        cdef size_t i = 0
        cdef MLabel* o
        cdef int lid
        for i in range(star.size()):
            o = &ws.labels[star[0][i]]
            if _dominated3(lab.time, lab.walk, lab.extra, o.time, o.walk, o.extra):
                return -1
        i = 0
        while i < star.size():
            o = &ws.labels[star[0][i]]
            if o.rnd == rnd and _dominated3(o.time, o.walk, o.extra,
                                            lab.time, lab.walk, lab.extra):
                o.rnd = -1  # dead: skipped wherever the round's lists are read
                star[0][i] = star.back()
                star.pop_back()
            else:
                i += 1
        if ws.in_star[stop] == 0:
            ws.in_star[stop] = 1
            ws.touched_star.push_back(stop)
        lid = <int>ws.labels.size()
        lab.rnd = rnd
        lab.stop = stop
        ws.labels.push_back(lab[0])
        star.push_back(lid)
        return lid

    cdef void _ready(self, McRaptorWorkspace ws, int rnd, int stop, int time, int walk,
                     int extra, int parent, int kind, int a, int b) noexcept nogil:
        cdef MLabel lab
        cdef int lid
        if self._target_dominates(ws, time, walk, extra):
            return
        lab.time = time
        lab.walk = walk
        lab.extra = extra
        lab.parent = parent
        lab.kind = kind
        lab.trip = -1
        lab.a = a
        lab.b = b
        lid = self._insert(ws, &ws.ready_star[stop], rnd, &lab, stop)
        if lid >= 0:
            if ws.ready_cur[stop].size() == 0:
                ws.touched_cur.push_back(stop)
            ws.ready_cur[stop].push_back(lid)

    cdef void _egress(self, McRaptorWorkspace ws, int lid, int trips) noexcept nogil:
        cdef int e = ws.eg_head[ws.labels[lid].stop]
        cdef MLabel* lab
        while e >= 0:
            lab = &ws.labels[lid]
            self._add_target(ws, lab.time + ws.eg[e].time, lab.walk + ws.eg[e].walk,
                             lab.extra + ws.eg[e].extra, trips, lid, e)
            e = ws.eg[e].next

    # ---- the search ------------------------------------------------------------------
    def search(self, McRaptorWorkspace ws, const int[:, ::1] sources,
               const int[:, ::1] targets, int departure, int slack=0,
               int max_transfers=5, source_extra=None, target_extra=None):
        """Pareto-optimal journeys from ``departure``.

        ``sources``/``targets`` are ``(stop, seconds)`` rows as in ``planner.routing.csa``;
        ``source_extra``/``target_extra`` give each row's extra criterion (default 0).
        Returns a list of ``(arrival, trips, walk, extra, source_row, target_row, steps)``
        sorted by arrival, steps as in ``planner.routing.csa.CSA.journey_steps`` (plus a last
        walk into the target stop when egress starts with a footpath).
        """
        cdef int n_src = sources.shape[0]
        cdef int n_tgt = targets.shape[0]
        self.a.check_rows(sources, "source")
        self.a.check_rows(targets, "target")
        if max_transfers < 0:
            raise ValueError("max_transfers must be >= 0")
        sx = np.zeros(n_src, dtype=np.int32) if source_extra is None else \
            np.ascontiguousarray(source_extra, dtype=np.int32)
        tx = np.zeros(n_tgt, dtype=np.int32) if target_extra is None else \
            np.ascontiguousarray(target_extra, dtype=np.int32)
        if sx.shape[0] != n_src or tx.shape[0] != n_tgt:
            raise ValueError("source_extra/target_extra need one value per source/target row")
        cdef const int[::1] sxv = sx
        cdef const int[::1] txv = tx
        with nogil:
            self._run(ws, sources, targets, sxv, txv, departure, slack, max_transfers + 1)
        return self.results(ws, departure, sources, targets)

    cdef void _run(self, McRaptorWorkspace ws, const int[:, ::1] sources,
                   const int[:, ::1] targets, const int[::1] sx, const int[::1] tx,
                   int departure, int slack, int max_trips) noexcept nogil:
        cdef const int* change = iptr(self.a.change)
        cdef const int* fpo = iptr(self.a.fp_offset)
        cdef const int* fpt = iptr(self.a.fp_to)
        cdef const int* fpd = iptr(self.a.fp_dur)
        cdef const int* fpio = iptr(self.a.fp_in_offset)
        cdef const int* fpif = iptr(self.a.fp_in_from)
        cdef const int* fpid = iptr(self.a.fp_in_dur)
        cdef const int* sro = iptr(self.a.stop_route_offset)
        cdef const int* srr = iptr(self.a.stop_route_route)
        cdef const int* srp = iptr(self.a.stop_route_pos)
        cdef const int* rso = iptr(self.a.route_stop_offset)
        cdef const int* rto = iptr(self.a.route_trip_offset)
        cdef const int* rstops = iptr(self.a.route_stops)
        cdef const unsigned char* drop = bptr(self.a.route_dropoff)
        cdef const int* tso = iptr(self.a.trip_st_offset)
        cdef const int* sarr = iptr(self.a.st_arr)
        cdef const unsigned char* pick = bptr(self.a.route_pickup)
        cdef const int* sdep = iptr(self.a.st_dep)
        cdef int i, j, k, s, u, d, e, t, w, x, lid, r, p, pos, first, off, n_pos
        cdef int t_lo, t_hi, lo, hi, mid, trip, a, dep_i
        cdef size_t q, m, z
        cdef EgOpt opt
        cdef RLabel rl
        cdef MLabel lab
        cdef MLabel* L
        cdef bint dom
        cdef vector[int] tmp

        # reset (only what the previous query touched)
        for q in range(ws.touched_star.size()):
            s = ws.touched_star[q]
            ws.veh_star[s].clear()
            ws.ready_star[s].clear()
            ws.in_star[s] = 0
        ws.touched_star.clear()
        for q in range(ws.touched_prev.size()):
            ws.ready_prev[ws.touched_prev[q]].clear()
        ws.touched_prev.clear()
        for q in range(ws.touched_cur.size()):
            ws.ready_cur[ws.touched_cur[q]].clear()
        ws.touched_cur.clear()
        ws.labels.clear()
        ws.target.clear()
        ws.eg.clear()
        ws.rounds = 0

        # egress options: at the target itself, or one footpath before it
        for i in range(targets.shape[0]):
            s = targets[i, 0]
            e = targets[i, 1]
            opt.time = e
            opt.walk = e
            opt.extra = tx[i]
            opt.target = i
            opt.fp = 0
            opt.next = ws.eg_head[s]
            if opt.next < 0:
                ws.eg_touched.push_back(s)
            ws.eg_head[s] = <int>ws.eg.size()
            ws.eg.push_back(opt)
            for j in range(fpio[s], fpio[s + 1]):
                u = fpif[j]
                d = fpid[j]
                opt.time = e + d
                opt.walk = e + d
                opt.fp = d
                opt.next = ws.eg_head[u]
                if opt.next < 0:
                    ws.eg_touched.push_back(u)
                ws.eg_head[u] = <int>ws.eg.size()
                ws.eg.push_back(opt)

        # round 0: the sources and their footpath neighbours are ready
        for i in range(sources.shape[0]):
            s = sources[i, 0]
            t = departure + sources[i, 1]
            self._ready(ws, 0, s, t, sources[i, 1], sx[i], -1, K_SOURCE, 0, i)
        for i in range(sources.shape[0]):
            s = sources[i, 0]
            t = departure + sources[i, 1]
            for j in range(fpo[s], fpo[s + 1]):
                self._ready(ws, 0, fpt[j], t + fpd[j], sources[i, 1] + fpd[j], sx[i], -1,
                            K_SOURCE_FP, fpd[j], i)
        # walking only: a source label reaching a target (directly or by one footpath)
        for q in range(ws.touched_cur.size()):
            s = ws.touched_cur[q]
            for m in range(ws.ready_cur[s].size()):
                lid = ws.ready_cur[s][m]
                if ws.labels[lid].kind == K_SOURCE and ws.labels[lid].rnd >= 0:
                    self._egress(ws, lid, 0)

        for k in range(1, max_trips + 1):
            # the previous round's ready labels become the boarding candidates
            for q in range(ws.touched_prev.size()):
                ws.ready_prev[ws.touched_prev[q]].clear()
            ws.touched_prev.swap(ws.touched_cur)
            ws.touched_cur.clear()
            for q in range(ws.touched_prev.size()):
                s = ws.touched_prev[q]
                ws.ready_prev[s].swap(ws.ready_cur[s])
                ws.ready_cur[s].clear()
            if ws.touched_prev.size() == 0:
                break
            ws.rounds = k
            # routes through marked stops, from the first marked position on
            ws.routes_marked.clear()
            for q in range(ws.touched_prev.size()):
                s = ws.touched_prev[q]
                for j in range(sro[s], sro[s + 1]):
                    r = srr[j]
                    pos = srp[j]
                    if ws.route_first[r] == INF:
                        ws.routes_marked.push_back(r)
                        ws.route_first[r] = pos
                    elif pos < ws.route_first[r]:
                        ws.route_first[r] = pos
            for q in range(ws.routes_marked.size()):
                r = ws.routes_marked[q]
                first = ws.route_first[r]
                ws.route_first[r] = INF
                off = rso[r]
                n_pos = rso[r + 1] - off
                t_lo = rto[r]
                t_hi = rto[r + 1]
                ws.rbag.clear()
                for pos in range(first, n_pos):
                    p = rstops[off + pos]
                    # alight: every route-bag label arrives at p
                    if drop[off + pos] and ws.rbag.size() > 0:
                        for m in range(ws.rbag.size()):
                            rl = ws.rbag[m]
                            a = sarr[tso[rl.trip] + pos]
                            if self._target_dominates(ws, a, rl.walk, rl.extra):
                                continue
                            lab.time = a
                            lab.walk = rl.walk
                            lab.extra = rl.extra
                            lab.parent = rl.parent
                            lab.kind = K_VEHICLE
                            lab.trip = rl.trip
                            lab.a = rl.pos
                            lab.b = pos
                            lid = self._insert(ws, &ws.veh_star[p], k, &lab, p)
                            if lid >= 0:
                                self._egress(ws, lid, k)
                                self._transfer(ws, k, lid, slack)
                    # board: ready labels of the previous round catch their first trip
                    if pick[off + pos] and ws.ready_prev[p].size() > 0:
                        for m in range(ws.ready_prev[p].size()):
                            lid = ws.ready_prev[p][m]
                            L = &ws.labels[lid]
                            if L.rnd < 0:
                                continue
                            lo = t_lo
                            hi = t_hi
                            while lo < hi:
                                mid = (lo + hi) >> 1
                                if sdep[tso[mid] + pos] < L.time:
                                    lo = mid + 1
                                else:
                                    hi = mid
                            if lo == t_hi:
                                continue
                            dom = False
                            for z in range(ws.rbag.size()):
                                if _dominated3(lo, L.walk, L.extra, ws.rbag[z].trip,
                                               ws.rbag[z].walk, ws.rbag[z].extra):
                                    dom = True
                                    break
                            if dom:
                                continue
                            z = 0
                            while z < ws.rbag.size():
                                if _dominated3(ws.rbag[z].trip, ws.rbag[z].walk,
                                               ws.rbag[z].extra, lo, L.walk, L.extra):
                                    ws.rbag[z] = ws.rbag.back()
                                    ws.rbag.pop_back()
                                else:
                                    z += 1
                            rl.trip = lo
                            rl.walk = L.walk
                            rl.extra = L.extra
                            rl.parent = lid
                            rl.pos = pos
                            ws.rbag.push_back(rl)
        # clear the egress lists for the next query
        for q in range(ws.eg_touched.size()):
            ws.eg_head[ws.eg_touched[q]] = -1
        ws.eg_touched.clear()

    cdef void _transfer(self, McRaptorWorkspace ws, int k, int lid, int slack) noexcept nogil:
        """Ready labels from a new vehicle label: same stop and one footpath."""
        cdef const int* change = iptr(self.a.change)
        cdef const int* fpo = iptr(self.a.fp_offset)
        cdef const int* fpd = iptr(self.a.fp_dur)
        cdef const int* fpt = iptr(self.a.fp_to)
        cdef int p = ws.labels[lid].stop
        cdef int a = ws.labels[lid].time
        cdef int w = ws.labels[lid].walk
        cdef int x = ws.labels[lid].extra
        cdef int j, d
        if change[p] < NO_TRANSFER:
            self._ready(ws, k, p, a + change[p] + slack, w, x, lid, K_CHANGE, 0, 0)
        for j in range(fpo[p], fpo[p + 1]):
            d = fpd[j]
            self._ready(ws, k, fpt[j], a + d + slack, w + d, x, lid, K_FOOT, d, 0)

    cdef tuple _steps(self, McRaptorWorkspace ws, int lid, int departure,
                      const int[:, ::1] sources):
        cdef list steps = []
        cdef MLabel L
        cdef MLabel P
        cdef int s
        cdef int row = -1
        while lid >= 0:
            L = ws.labels[lid]
            if L.kind == K_VEHICLE:
                steps.append(("trip", L.trip, L.a, L.b))
            elif L.kind == K_FOOT:
                P = ws.labels[L.parent]
                steps.append(("walk", P.stop, L.stop, P.time, L.a))
            elif L.kind == K_SOURCE_FP:
                s = sources[L.b, 0]
                steps.append(("walk", s, L.stop, departure + sources[L.b, 1], L.a))
            if L.kind == K_SOURCE or L.kind == K_SOURCE_FP:
                row = L.b
            lid = L.parent
        steps.reverse()
        return row, steps

    def results(self, McRaptorWorkspace ws, int departure, const int[:, ::1] sources,
                const int[:, ::1] targets):
        """Journeys of the last search (see :meth:`search`)."""
        out = []
        cdef size_t i
        cdef TLabel tl
        cdef MLabel L
        cdef EgOpt opt
        for i in range(ws.target.size()):
            tl = ws.target[i]
            row, steps = self._steps(ws, tl.label, departure, sources)
            opt = ws.eg[tl.eg]
            if opt.fp > 0 or targets[opt.target, 0] != ws.labels[tl.label].stop:
                L = ws.labels[tl.label]
                steps.append(("walk", L.stop, targets[opt.target, 0], L.time, opt.fp))
            out.append((tl.arr, tl.trips, tl.walk, tl.extra, row, opt.target, steps))
        out.sort(key=lambda j: (j[0], j[1], j[2], j[3]))
        return out
