# cython: language_level=3
"""rRAPTOR range queries (Delling, Pajor, Werneck 2012, section 3.3).

All Pareto-optimal (departure, arrival) journeys departing in ``[t, t + window]``:
RAPTOR runs once per distinct departure time at the sources, latest first, and the
per-round labels are *kept* between runs. A label from a later departure is still a
valid journey for an earlier one (wait at the source), so a run only marks stops it
improves ("self-pruning") and is much cheaper than an independent query.

Labels per round ``k`` (at most ``k`` trips, kept monotone in ``k``):
``veh[k][p]`` arrival by alighting at ``p``, ``rdy[k][p]`` earliest boarding at
``p``, ``tgt[k]`` best arrival at a target. The transfer model is the one of
``planner.timetable.model`` (see ``planner.routing.csa``).

The first run is at ``t + window`` itself, so the result also holds the first
journey departing after the window: for every ``d`` in the window, the earliest
arrival departing at ``d`` is the minimum over journeys departing at ``>= d`` (or
walking, reported separately since it can start at any time).

Scoped transfer rules (``planner.timetable.transfer_rules``) as forward RAPTOR follows
them: alighting at a position with alight key ``x`` writes ``xveh[k][x]`` instead of
``veh``; its changes write ``yrdy[k][y]`` of the board keys its entries reach (parent
``R_KEY``, ``a = x``), and a position with board key ``y`` boards from the earlier of
``rdy`` and ``yrdy`` (``VehPar.bstop >= S`` names ``S + y``; ``TgtPar.stop >= S`` an
alighting under ``S + x``: the parents keep their size). Kept between runs like the others,
allocated and read only when the timetable has rules.

Routes are collected (and masked) and trips found through the kernel; the window's
departures are read from the transposed layout, boarding searches the trips' rows
(measured faster here, see ``planner/routing/kernel.pxd``).
"""

from libcpp.vector cimport vector

from planner.routing.kernel cimport INF as _INF, NO_TRANSFER as _NO_TRANSFER
from planner.routing.kernel cimport (
    Egress, Net, NoRules, Rules, ScopedRules, TimetableArrays, Workspace, add_routes_at,
    begin_routes, bptr, build_egress, clear_egress, earlier_trip_in_rows,
    earliest_trip_in_rows, fresh_stamps, iptr, range_departures, reset_stats, rows_ptr,
    rule_seconds, take_route,
)

from planner.routing.kernel import as_arrays, pareto_by_departure

# Module variables copied from the shared constants rather than the constants
# themselves: with compile-time values GCC compiles ``_run`` differently and it
# measured 1-2% slower on HART (small, but repeatable across interleaved runs).
cdef int INF = _INF
cdef int NO_TRANSFER = _NO_TRANSFER

cdef enum:
    R_SOURCE = 0      # a = source row
    R_SOURCE_FP = 1   # a = source row, b = footpath seconds
    R_CHANGE = 2      # from veh[pround][stop]
    R_FOOT = 3        # from veh[pround][a], b = footpath seconds
    R_KEY = 4         # from xveh[pround][a] (a scoped change), b = board key

cdef struct VehPar:
    int trip
    int bpos
    int apos
    int bstop      # boarded from rdy[pround][bstop]; >= S: from yrdy[pround][bstop - S]
    int pround

cdef struct RdyPar:
    int kind
    int a
    int b
    int pround

cdef struct TgtPar:
    int stop       # -1: not reached; >= S: S + the alight key (xveh) of the trip
    int eg         # egress option
    int pround

cdef class RangeWorkspace(Workspace):
    """Per-thread scratch of a range search (never share between threads)."""

    cdef vector[int] veh, rdy, tgt, xveh, yrdy, x_improved, x_stamp
    cdef vector[VehPar] veh_par, xveh_par
    cdef vector[RdyPar] rdy_par, yrdy_par
    cdef vector[TgtPar] tgt_par
    cdef vector[int] marked, next_marked, mark_stamp, improved, imp_stamp
    cdef vector[int] departures
    cdef int stamp
    cdef readonly int runs
    cdef int _walk_only

    def __init__(self, int n_stops, int n_routes):
        Workspace.__init__(self, n_stops, n_routes)
        self.mark_stamp.resize(n_stops, 0)
        self.imp_stamp.resize(n_stops, 0)
        self.stamp = 0
        self._walk_only = INF

    @property
    def walk_only(self):
        """Walking-only seconds source to target of the last search, or None."""
        return None if self._walk_only == INF else self._walk_only


cdef class RangeRaptor:
    """The timetable's RAPTOR arrays, prebound for repeated range searches."""

    cdef readonly TimetableArrays a  # the Router's, shared with its other engines
    cdef readonly int n_stops, n_routes

    def __init__(self, arrays):
        """``arrays``: the Router's ``TimetableArrays`` (or a ``Timetable``)."""
        self.a = as_arrays(arrays)
        self.n_stops = self.a.n_stops
        self.n_routes = self.a.n_routes

    def workspace(self) -> RangeWorkspace:
        return RangeWorkspace(self.n_stops, self.n_routes)

    def search(self, RangeWorkspace ws, q):
        """Pareto (departure, arrival) journeys departing in ``[q.time, q.time +
        q.window]`` with at most ``q.max_trips`` trips.

        Returns ``(departure, arrival, trips, source_row, target_row, steps)`` sorted by
        departure (steps as in ``planner.routing.csa.CSA.results``), none dominated by
        another or by walking; ``ws.walk_only`` is then the walking-only duration
        source to target, or ``None``.
        """
        cdef const int[:, ::1] sources = q.sources
        cdef const int[:, ::1] targets = q.targets
        cdef const unsigned char* mask
        cdef int departure = q.time
        cdef int window = q.window
        cdef int slack = q.transfer_slack
        self.a.check_rows(sources, "source")
        self.a.check_rows(targets, "target")
        self.a.route_mask(q, &mask)
        if window < 0:
            raise ValueError("window must be >= 0")
        cdef int K = q.max_trips
        cdef int walk_only = INF
        cdef int best = INF
        cdef int tau, kmin
        cdef size_t it
        cdef list found = []
        with nogil:
            reset_stats(ws)
            self._prepare(ws, sources, targets, departure, window, K, mask)
            walk_only = self._walk_only(ws, sources)
            ws._walk_only = walk_only
            ws.stamp = fresh_stamps(ws.stamp, <int>ws.departures.size() * (K + 1) + 1,
                                    &ws.mark_stamp, &ws.imp_stamp)
            for it in range(ws.departures.size()):
                tau = ws.departures[ws.departures.size() - 1 - it]
                if self.a.net.xal == NULL:
                    self._run(ws, sources, tau, slack, K, mask, <NoRules*>NULL)
                else:
                    self._run(ws, sources, tau, slack, K, mask, <ScopedRules*>NULL)
                if ws.tgt[K] < best:
                    best = ws.tgt[K]
                    kmin = K
                    while kmin > 1 and ws.tgt[kmin - 1] == best:
                        kmin -= 1
                    with gil:
                        found.append(self._journey(ws, sources, targets, kmin))
            clear_egress(ws)
        return pareto_by_departure(found, walk_only)

    def minute_arrivals(self, RangeWorkspace ws, q, int step, int[:, ::1] out,
                        int[::1] trips=None):
        """R5's range RAPTOR over departure minutes: row ``i`` of ``out`` (``n x S``)
        becomes the earliest arrival at every stop departing at ``q.time + i * step``
        with at most ``q.max_trips`` trips (``INFINITY`` where unreached); ``q``'s
        targets are ignored.

        Runs go latest first and keep their per-round labels, so each run only redoes
        what the earlier departure improves; an arrival is a label at the stop, or one
        footpath after a trip (no slack: that is added only to a transfer), or the access
        walk itself, as :meth:`planner.routing.raptor.Raptor.arrival` defines it.

        ``trips`` (``S`` values), when given, becomes the fewest trips of a journey
        reaching each stop at row 0's arrival (0: walked there, or unreached): the labels
        are kept per round with at most ``k`` trips each, so it is the first round whose
        arrivals already hold row 0's (nigiri's ``k``, what one-to-all reports)."""
        cdef const int[:, ::1] sources = q.sources
        cdef const unsigned char* mask
        cdef int departure = q.time
        cdef int slack = q.transfer_slack
        cdef int K = q.max_trips
        cdef int n = out.shape[0]
        cdef int i
        cdef bint with_trips = trips is not None
        self.a.check_rows(sources, "source")
        self.a.route_mask(q, &mask)
        if step <= 0:
            raise ValueError("step must be > 0")
        if out.shape[1] != self.n_stops:
            raise ValueError(f"out needs {self.n_stops} columns, got {out.shape[1]}")
        if with_trips and trips.shape[0] != self.n_stops:
            raise ValueError(f"trips needs {self.n_stops} values, got {trips.shape[0]}")
        if n == 0 and with_trips:
            raise ValueError("trips needs at least one minute")
        with nogil:
            reset_stats(ws)
            self._reset(ws, K)
            ws.stamp = fresh_stamps(ws.stamp, n * (K + 1) + 1, &ws.mark_stamp,
                                    &ws.imp_stamp)
            for i in range(n - 1, -1, -1):
                if self.a.net.xal == NULL:
                    self._run(ws, sources, departure + i * step, slack, K, mask,
                              <NoRules*>NULL)
                else:
                    self._run(ws, sources, departure + i * step, slack, K, mask,
                              <ScopedRules*>NULL)
                self._arrivals(ws, K, &out[i, 0])
            if with_trips:
                self._fewest_trips(ws, K, &out[0, 0], &trips[0])
        return out

    cdef void _fewest_trips(self, RangeWorkspace ws, int K, const int* best,
                            int* trips) noexcept nogil:
        """Per stop the first round whose arrivals reach ``best`` (see
        :meth:`minute_arrivals`)."""
        cdef int S = self.n_stops
        cdef vector[int] upto
        cdef int k, p
        upto.resize(S)
        for p in range(S):
            trips[p] = -1 if best[p] < INF else 0
        for k in range(K + 1):
            self._arrivals(ws, k, upto.data())
            for p in range(S):
                if trips[p] < 0 and upto[p] == best[p]:
                    trips[p] = k

    cdef void _arrivals(self, RangeWorkspace ws, int K, int* out) noexcept nogil:
        """Arrivals at every stop from the labels (see :meth:`minute_arrivals`)."""
        cdef const int* fpo = iptr(self.a.fp_offset)
        cdef const int* fpt = iptr(self.a.fp_to)
        cdef const int* fpd = iptr(self.a.fp_dur)
        cdef int S = self.n_stops
        cdef const int* veh = ws.veh.data() + K * S
        cdef const int* walked = ws.rdy.data()  # round 0: the access walks
        cdef int p, j, a
        cdef int x
        cdef int n_x = self.a.net.n_x
        cdef const int* xstop = self.a.net.xstop
        cdef const int* xveh = ws.xveh.data() + K * n_x if self.a.net.xal != NULL else NULL
        for p in range(S):
            out[p] = veh[p] if veh[p] < walked[p] else walked[p]
        if xveh != NULL:  # alighting under a scoped rule is labelled by its key
            for x in range(n_x):
                if xveh[x] < out[xstop[x]]:
                    out[xstop[x]] = xveh[x]
        for p in range(S):
            a = veh[p]
            if a == INF:
                continue
            for j in range(fpo[p], fpo[p + 1]):
                if a + fpd[j] < out[fpt[j]]:
                    out[fpt[j]] = a + fpd[j]
        if xveh != NULL:
            for x in range(n_x):
                a = xveh[x]
                if a == INF:
                    continue
                p = xstop[x]
                for j in range(fpo[p], fpo[p + 1]):
                    if a + fpd[j] < out[fpt[j]]:
                        out[fpt[j]] = a + fpd[j]

    cdef void _reset(self, RangeWorkspace ws, int K) noexcept nogil:
        """Every label unreached, no targets: a new range search starts here. Parents
        are only sized, not cleared: one is written with every label set below INF and
        read only behind such a label (``_journey``), and clearing them was most of a
        search's fixed cost (44 of every label's 52 bytes on HART)."""
        cdef int S = self.n_stops
        ws.veh.assign((K + 1) * S, INF)
        ws.rdy.assign((K + 1) * S, INF)
        ws.tgt.assign(K + 1, INF)
        ws.veh_par.resize((K + 1) * S)
        ws.rdy_par.resize((K + 1) * S)
        ws.tgt_par.resize(K + 1)
        if self.a.net.xal != NULL:  # the keyed labels of scoped transfer rules
            ws.xveh.assign((K + 1) * self.a.net.n_x, INF)
            ws.xveh_par.resize((K + 1) * self.a.net.n_x)
            ws.yrdy.assign((K + 1) * self.a.net.n_y, INF)
            ws.yrdy_par.resize((K + 1) * self.a.net.n_y)
            ws.x_stamp.assign(self.a.net.n_x, 0)
        ws.runs = 0

    cdef void _prepare(self, RangeWorkspace ws, const int[:, ::1] sources,
                       const int[:, ::1] targets, int t, int window, int K,
                       const unsigned char* mask) noexcept nogil:
        cdef Net net_copy = self.a.net
        cdef const Net* net = &net_copy
        self._reset(ws, K)
        build_egress(ws, net, rows_ptr(targets), targets.shape[0], NULL)
        # departure times: trips leaving a source (or a footpath neighbour) in the window
        range_departures(net, rows_ptr(sources), sources.shape[0], t, window, mask,
                         &ws.departures)

    cdef int _walk_only(self, RangeWorkspace ws, const int[:, ::1] sources) noexcept nogil:
        cdef int best = INF
        cdef int i, e
        for i in range(sources.shape[0]):
            e = ws.eg_head[sources[i, 0]]
            while e >= 0:
                if sources[i, 1] + ws.eg[e].time < best:
                    best = sources[i, 1] + ws.eg[e].time
                e = ws.eg[e].next
        return best

    cdef inline void _set_rdy(self, RangeWorkspace ws, int k, int K, int p, int t,
                              RdyPar* par) noexcept nogil:
        """Improve ``rdy[k][p]`` and the rounds above (at most k trips is at most k+1)."""
        cdef int S = self.n_stops
        cdef int j
        for j in range(k, K + 1):
            if t < ws.rdy[j * S + p]:
                ws.rdy[j * S + p] = t
                ws.rdy_par[j * S + p] = par[0]
            else:
                break
        if ws.mark_stamp[p] != ws.stamp:
            ws.mark_stamp[p] = ws.stamp
            ws.next_marked.push_back(p)

    cdef void _set_yrdy(self, RangeWorkspace ws, const Net* net, int k, int K, int y, int t,
                        RdyPar* par) noexcept nogil:
        """Improve ``yrdy[k][y]`` and the rounds above; mark the board key's stop."""
        cdef int j
        for j in range(k, K + 1):
            if t < ws.yrdy[j * net.n_y + y]:
                ws.yrdy[j * net.n_y + y] = t
                ws.yrdy_par[j * net.n_y + y] = par[0]
            else:
                break
        j = net.ystop[y]
        if ws.mark_stamp[j] != ws.stamp:
            ws.mark_stamp[j] = ws.stamp
            ws.next_marked.push_back(j)

    cdef void _alight_keyed(self, RangeWorkspace ws, const Net* net, int k, int K, int x,
                            int p, int a, VehPar* vp) noexcept nogil:
        """A round-``k`` trip alights at stop ``p`` at ``a`` under alight key ``x``."""
        cdef int j, e, c
        cdef TgtPar tp
        if a >= ws.xveh[k * net.n_x + x] or a >= ws.tgt[k]:
            return
        ws.stats.labels += 1
        for j in range(k, K + 1):
            if a < ws.xveh[j * net.n_x + x]:
                ws.xveh[j * net.n_x + x] = a
                ws.xveh_par[j * net.n_x + x] = vp[0]
            else:
                break
        if ws.x_stamp[x] != ws.stamp:
            ws.x_stamp[x] = ws.stamp
            ws.x_improved.push_back(x)
        e = ws.eg_head[p]
        while e >= 0:
            c = a + ws.eg[e].time
            tp.stop = net.n_stops + x
            tp.eg = e
            tp.pround = k
            for j in range(k, K + 1):
                if c < ws.tgt[j]:
                    ws.tgt[j] = c
                    ws.tgt_par[j] = tp
                else:
                    break
            e = ws.eg[e].next

    cdef void _change_keyed(self, RangeWorkspace ws, const Net* net, int k, int K, int x,
                            int slack) noexcept nogil:
        """The changes alight key ``x``'s entries allow after round ``k``."""
        cdef int a = ws.xveh[k * net.n_x + x]
        cdef int j, c
        cdef RdyPar rp
        rp.kind = R_KEY
        rp.a = x
        rp.pround = k
        for j in range(net.xo[x], net.xo[x + 1]):
            c = a + net.xt[j] + slack
            rp.b = net.xy[j]
            if c < ws.yrdy[k * net.n_y + rp.b] and c < ws.tgt[k]:
                self._set_yrdy(ws, net, k, K, rp.b, c, &rp)

    cdef void _run(self, RangeWorkspace ws, const int[:, ::1] sources, int tau, int slack,
                   int K, const unsigned char* mask, Rules* mode) noexcept nogil:
        cdef Net net_copy = self.a.net
        cdef const Net* net = &net_copy
        cdef const int* fpo = iptr(self.a.fp_offset)
        cdef const int* fpt = iptr(self.a.fp_to)
        cdef const int* fpd = iptr(self.a.fp_dur)
        cdef const int* rso = iptr(self.a.route_stop_offset)
        cdef const int* rto = iptr(self.a.route_trip_offset)
        cdef const int* rstops = iptr(self.a.route_stops)
        cdef const unsigned char* drop = bptr(self.a.route_dropoff)
        cdef const int* tso = iptr(self.a.trip_st_offset)
        cdef const int* sarr = iptr(self.a.st_arr)
        cdef const unsigned char* pick = bptr(self.a.route_pickup)
        cdef const int* sdep = iptr(self.a.st_dep)
        cdef const int* change = iptr(self.a.change)
        cdef int S = self.n_stops
        cdef int i, j, k, s, u, d, r, p, pos, first, off, n_pos, t_lo, t_hi, trip, lo
        cdef int a, rt, e, bpos, bstop, c, y
        cdef bint rules = Rules is ScopedRules  # compile-time: two copies of this loop
        cdef const int* xal = net.xal
        cdef const int* ybd = net.ybd
        cdef long long labels = 0
        cdef size_t q
        cdef RdyPar rp
        cdef VehPar vp
        cdef TgtPar tp
        ws.runs += 1
        ws.stamp += 1
        ws.next_marked.clear()
        for i in range(sources.shape[0]):
            s = sources[i, 0]
            rp.kind = R_SOURCE
            rp.a = i
            rp.b = 0
            rp.pround = 0
            a = tau + sources[i, 1]
            if a < ws.rdy[s]:
                self._set_rdy(ws, 0, K, s, a, &rp)
            rp.kind = R_SOURCE_FP
            for j in range(fpo[s], fpo[s + 1]):
                u = fpt[j]
                rp.b = fpd[j]
                if a + rp.b < ws.rdy[u]:
                    self._set_rdy(ws, 0, K, u, a + rp.b, &rp)
        for k in range(1, K + 1):
            ws.marked.swap(ws.next_marked)
            ws.next_marked.clear()
            if ws.marked.size() == 0:
                break
            ws.stats.rounds += 1
            ws.stamp += 1
            begin_routes(ws)
            for q in range(ws.marked.size()):
                add_routes_at(ws, net, mask, ws.marked[q], False)
            ws.stats.routes_scanned += ws.routes.size()
            ws.improved.clear()
            ws.x_improved.clear()
            for q in range(ws.routes.size()):
                r = ws.routes[q]
                first = take_route(ws, r)
                off = rso[r]
                n_pos = rso[r + 1] - off
                t_lo = rto[r]
                t_hi = rto[r + 1]
                trip = -1
                bpos = -1
                bstop = -1
                for pos in range(first, n_pos):
                    p = rstops[off + pos]
                    if trip >= 0 and drop[off + pos] and rules and xal[off + pos] >= 0:
                        vp.trip = trip
                        vp.bpos = bpos
                        vp.apos = pos
                        vp.bstop = bstop
                        vp.pround = k - 1
                        self._alight_keyed(ws, net, k, K, xal[off + pos], p,
                                           sarr[tso[trip] + pos], &vp)
                    elif trip >= 0 and drop[off + pos]:
                        a = sarr[tso[trip] + pos]
                        if a < ws.veh[k * S + p] and a < ws.tgt[k]:
                            vp.trip = trip
                            vp.bpos = bpos
                            vp.apos = pos
                            vp.bstop = bstop
                            vp.pround = k - 1
                            labels += 1
                            for j in range(k, K + 1):
                                if a < ws.veh[j * S + p]:
                                    ws.veh[j * S + p] = a
                                    ws.veh_par[j * S + p] = vp
                                else:
                                    break
                            if ws.imp_stamp[p] != ws.stamp:
                                ws.imp_stamp[p] = ws.stamp
                                ws.improved.push_back(p)
                            e = ws.eg_head[p]
                            while e >= 0:
                                c = a + ws.eg[e].time
                                tp.stop = p
                                tp.eg = e
                                tp.pround = k
                                for j in range(k, K + 1):
                                    if c < ws.tgt[j]:
                                        ws.tgt[j] = c
                                        ws.tgt_par[j] = tp
                                    else:
                                        break
                                e = ws.eg[e].next
                    if pick[off + pos] and pos < n_pos - 1:
                        rt = ws.rdy[(k - 1) * S + p]
                        y = -1  # the board key whose label rt is, if any
                        if rules and ybd[off + pos] >= 0 and \
                                ws.yrdy[(k - 1) * net.n_y + ybd[off + pos]] < rt:
                            y = ybd[off + pos]
                            rt = ws.yrdy[(k - 1) * net.n_y + y]
                        if rt == INF:
                            continue
                        if trip < 0:
                            lo = earliest_trip_in_rows(net, t_lo, pos, t_hi, rt)
                            if lo < t_hi:
                                trip = lo
                                bpos = pos
                                bstop = p if y < 0 else S + y
                        elif rt <= sdep[tso[trip] + pos]:
                            lo = earlier_trip_in_rows(net, t_lo, pos, trip, rt)
                            if lo < trip:
                                trip = lo
                                bpos = pos
                                bstop = p if y < 0 else S + y
            # transfers from the stops improved in this round
            for q in range(ws.improved.size()):
                p = ws.improved[q]
                a = ws.veh[k * S + p]
                if change[p] < NO_TRANSFER:
                    rp.kind = R_CHANGE
                    rp.a = p
                    rp.b = 0
                    rp.pround = k
                    c = a + change[p] + slack
                    if c < ws.rdy[k * S + p] and c < ws.tgt[k]:
                        self._set_rdy(ws, k, K, p, c, &rp)
                rp.kind = R_FOOT
                rp.a = p
                rp.pround = k
                for j in range(fpo[p], fpo[p + 1]):
                    u = fpt[j]
                    rp.b = fpd[j]
                    c = a + rp.b + slack
                    if c < ws.rdy[k * S + u] and c < ws.tgt[k]:
                        self._set_rdy(ws, k, K, u, c, &rp)
            for q in range(ws.x_improved.size()):
                self._change_keyed(ws, net, k, K, ws.x_improved[q], slack)
        ws.stats.labels += labels

    cdef tuple _journey(self, RangeWorkspace ws, const int[:, ::1] sources,
                        const int[:, ::1] targets, int k):
        cdef TimetableArrays A = self.a
        cdef int S = self.n_stops
        cdef TgtPar tp = ws.tgt_par[k]
        cdef Egress opt = ws.eg[tp.eg]
        cdef VehPar vp
        cdef RdyPar rp
        cdef int stop = tp.stop
        cdef int key = -1  # the alight key of the trip being rebuilt, -1: none
        cdef int y
        cdef int rnd = tp.pround
        cdef int trips = 0
        cdef int dep = INF
        cdef int row = -1
        cdef int guard = 0
        cdef list steps = []
        cdef int wfrom = -1
        cdef int wto = -1
        cdef int wdur = 0
        cdef int X = A.n_alight_keys, Y = A.n_board_keys
        arrival = ws.tgt[k]
        if stop >= S:
            key = stop - S
            stop = A.rule_alight_stop[key]
        if opt.fp > 0 or targets[opt.target, 0] != stop:
            wfrom = stop
            wto = targets[opt.target, 0]
            wdur = opt.fp
        while True:
            guard += 1
            if guard > 1000:
                raise RuntimeError("journey reconstruction did not terminate")
            vp = ws.veh_par[rnd * S + stop] if key < 0 else ws.xveh_par[rnd * X + key]
            if wfrom >= 0:  # a walk after this trip starts when it arrives
                steps.append(("walk", wfrom, wto,
                              A.st_arr[A.trip_st_offset[vp.trip] + vp.apos], wdur))
                wfrom = -1
            steps.append(("trip", vp.trip, vp.bpos, vp.apos))
            trips += 1
            dep = A.st_dep[A.trip_st_offset[vp.trip] + vp.bpos]
            stop = vp.bstop
            rnd = vp.pround
            if stop >= S:  # boarded after a scoped change from alight key rp.a
                y = stop - S
                stop = A.rule_board_stop[y]
                rp = ws.yrdy_par[rnd * Y + y]
                key = rp.a
                if A.rule_alight_stop[key] != stop:
                    wfrom = A.rule_alight_stop[key]
                    wto = stop
                    wdur = rule_seconds(&A.net, key, y)
                stop = A.rule_alight_stop[key]
                rnd = rp.pround
                continue
            key = -1
            rp = ws.rdy_par[rnd * S + stop]
            if rp.kind == R_SOURCE:
                row = rp.a
                dep -= sources[row, 1]
                A.append_origin(steps, sources[row, 0], stop, dep + sources[row, 1])
                break
            if rp.kind == R_SOURCE_FP:
                row = rp.a
                dep -= rp.b + sources[row, 1]
                A.append_origin(steps, sources[row, 0], stop, dep + sources[row, 1])
                break
            if rp.kind == R_FOOT:
                wfrom = rp.a
                wto = stop
                wdur = rp.b
            stop = rp.a
            rnd = rp.pround
        steps.reverse()
        return (dep, arrival, trips, row, opt.target, steps)
