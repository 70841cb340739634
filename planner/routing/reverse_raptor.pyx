# cython: language_level=3
"""Arrive-by with a bound on trips: RAPTOR (Delling, Pajor, Werneck 2012) run backwards.

Reverse CSA finds the latest departure but cannot count trips; here round ``k`` adds
one trip *before* the labels of round ``k - 1``, so after ``K`` rounds the best
departure is the latest one with at most ``K`` trips. The transfer model of
``planner.timetable.model`` is run backwards (as in ``planner.routing.reverse_csa``):

* ``la[p]``: latest time one may *alight* at ``p`` and still make the deadline with
  the trips left: directly or after one footpath to a target (egress, round 0),
  after the change time plus slack to board at ``p`` (not at ``NO_TRANSFER`` stops),
  or after a footpath plus slack to board at a neighbour;
* ``lb[p]``: latest departure of a boarding at ``p`` (``route_pickup``) of a trip that
  reaches an alighting ``q`` (``route_dropoff``) with ``arr <= la[q]``;
* the departure is ``lb[p] - access(p)`` (source offset plus at most one footpath,
  no slack), or walking only.

``la`` is written only in the transfer phase after all routes of a round are scanned,
and a route is scanned backwards from its latest marked stop, catching at each marked
stop the latest trip with ``st_arr <= la`` (one binary search in the kernel's
position-major ``arr_by_pos``; trips of a route never overtake). Routes are collected
(and masked) by the kernel, from their latest marked position. Labels whose time
is ``<=`` the best departure so far cannot improve it and are pruned; so among equal
departures the journey with the fewest trips (walking only first) is returned.

Every trip of the compiled days that arrives by the deadline is searched, with no
lower bound, so the answer is exact over the timetable; with few trips allowed it
may lie more than 24 h before the deadline. ``None`` means no journey with at most
``max_trips`` trips departs anywhere in the timetable (the result is then empty).

The journey returned is forward RAPTOR's from the latest departure (same bound, slack
and mask): the earliest arrival from there, with the fewest trips among those. The
parents below rebuild the reverse search's own journey instead, which takes the latest
trip at every step and so may arrive hours, even a day, later than leaving at that
departure allows (issue 18: "depart 08:00, arrive 08:30 tomorrow" where 08:40 today
was possible); it is only the fallback should the forward search disagree.

Parents: ``tpar[k * S + p]`` records the round-``k`` boarding at ``p`` (trip, board and
alight positions) and a snapshot of the alighting stop's ``la_par``: ``k' * S + x``
(board at ``x`` in round ``k' < k``, after a footpath when ``x`` differs) or ``-1``
(egress). Every step forward lowers the round, so rebuilding always terminates.

Scoped transfer rules (``planner.timetable.transfer_rules``), backwards as forward
RAPTOR follows them: a position with alight key ``x`` catches trips by ``xla[x]``
instead of ``la``: the egress of ``x``'s stop, or for each entry ``(x, y, seconds)``
the latest boarding of board key ``y`` (``ylb[y]``, parents ``ytpar[k * Y + y]``)
minus the seconds and the slack, set in the transfer phase (marking ``x``'s stop,
``xmax`` its best key). Every boarding still sets ``lb`` (a plain alighting may board
any trip). A ``la_par`` of ``-2 - (k * Y + y)`` names the keyed boarding of round ``k``.
"""

from libcpp.vector cimport vector

from planner.routing.kernel cimport (
    INF, NO_TRANSFER, Egress, Net, NoRules, Rules, ScopedRules, TimetableArrays, Workspace,
    add_routes_at, begin_routes, bptr, build_egress, clear_egress, fresh_stamps, iptr,
    latest_trip, reset_stats, rows_ptr, take_route,
)

import numpy as np

from planner.routing.kernel import as_arrays
from planner.routing.raptor import Raptor

cdef int NEG = -2147483647

cdef extern from *:
    """
    struct OwlRevTripPar { int trip; int board_pos; int alight_pos; int la_par; };
    """
    cdef struct OwlRevTripPar:
        int trip
        int board_pos
        int alight_pos
        int la_par


cdef class ReverseRaptorWorkspace(Workspace):
    """Per-thread scratch of a reverse RAPTOR search (never share between threads)."""

    cdef vector[int] la, lb, lb_round, la_par, egress_row, egress_fp, acc, acc_row, acc_fp
    cdef vector[OwlRevTripPar] tpar
    cdef vector[int] stop_stamp, improved_stamp
    cdef vector[int] marked, next_marked, improved, touched
    cdef vector[int] xla, xla_par, ylb, y_stamp, y_improved, xmax  # scoped rules
    cdef vector[OwlRevTripPar] ytpar
    cdef int stamp
    cdef readonly object forward  # the forward RAPTOR's workspace, for the journey

    def __init__(self, int n_stops, int n_routes, int n_x=0, int n_y=0):
        Workspace.__init__(self, n_stops, n_routes)
        self.xla.resize(n_x, NEG)
        self.xla_par.resize(n_x, -1)
        self.ylb.resize(n_y, NEG)
        self.y_stamp.resize(n_y, 0)
        if n_x > 0:
            self.xmax.resize(n_stops, NEG)
        self.la.resize(n_stops, NEG)
        self.lb.resize(n_stops, NEG)
        self.lb_round.resize(n_stops, 0)
        self.la_par.resize(n_stops, -1)
        self.egress_row.resize(n_stops, -1)
        self.egress_fp.resize(n_stops, 0)
        self.acc.resize(n_stops, INF)
        self.acc_row.resize(n_stops, -1)
        self.acc_fp.resize(n_stops, 0)
        self.stop_stamp.resize(n_stops, 0)
        self.improved_stamp.resize(n_stops, 0)
        self.stamp = 0

    def boardings(self):
        """``(lb, trips)`` of the last search: per stop the latest departure of a boarding
        there that still reaches a target by the deadline (``-INFINITY``: none), and the
        trips of that journey. ``lb`` only improves strictly, so the trips are the fewest
        among the latest departures; all-to-one reachability is built from these."""
        lb = np.asarray(<int[:self.n_stops]> self.lb.data()).copy()
        trips = np.asarray(<int[:self.n_stops]> self.lb_round.data()).copy()
        return lb, trips


cdef class ReverseRaptor:
    """The timetable's routes and footpaths, prebound for repeated arrive-by searches."""

    cdef readonly TimetableArrays a  # the Router's, shared with its other engines
    cdef readonly int n_stops, n_routes, n_trips
    cdef readonly object forward  # RAPTOR on the same arrays: the journey from the answer

    def __init__(self, arrays):
        """``arrays``: the Router's ``TimetableArrays`` (or a ``Timetable``)."""
        self.a = as_arrays(arrays)
        self.n_stops = self.a.n_stops
        self.n_routes = self.a.n_routes
        self.n_trips = self.a.n_trips
        self.forward = Raptor(self.a)

    def workspace(self) -> ReverseRaptorWorkspace:
        ws = ReverseRaptorWorkspace(self.n_stops, self.n_routes, self.a.n_alight_keys,
                                    self.a.n_board_keys)
        ws.forward = self.forward.workspace()
        return ws

    def search(self, ReverseRaptorWorkspace ws, q):
        """The journey departing latest that arrives by ``q.time`` with at most
        ``q.max_trips`` trips: ``[]`` or ``[(departure, arrival, trips, source_row,
        target_row, steps)]`` like ``planner.routing.reverse_csa.ArriveBy.search``; the
        earliest-arrival journey from that departure (see the module docstring).
        """
        cdef const int[:, ::1] sources = q.sources
        cdef const int[:, ::1] targets = q.targets
        cdef const unsigned char* mask
        cdef int deadline = q.time
        cdef int slack = q.transfer_slack
        cdef int max_trips = q.max_trips
        self.a.check_rows(sources, "source")
        self.a.check_rows(targets, "target")
        self.a.route_mask(q, &mask)
        if max_trips > self.n_trips:  # an optimal journey never rides a trip twice
            max_trips = self.n_trips
        cdef size_t need = <size_t> (max_trips + 1) * <size_t> self.n_stops
        if ws.tpar.size() < need:
            ws.tpar.resize(need)
        need = <size_t> (max_trips + 1) * <size_t> self.a.n_board_keys
        if ws.ytpar.size() < need:
            ws.ytpar.resize(need)
        cdef int best = NEG
        cdef int best_par = -1
        cdef int walk_row = -1
        with nogil:
            if self.a.net.xal == NULL:
                self._run(ws, sources, targets, deadline, max_trips, slack, mask, &best,
                          &best_par, &walk_row, <NoRules*>NULL)
            else:
                self._run(ws, sources, targets, deadline, max_trips, slack, mask, &best,
                          &best_par, &walk_row, <ScopedRules*>NULL)
        if best == NEG:
            return []
        found = self.forward.search_from(ws.forward, q, best)
        if found and found[0][1] <= deadline:
            return found
        # cannot happen: the reverse search proved a journey from ``best``
        return [self._journey(ws, sources, targets, best, best_par, walk_row)]

    cdef void _run(self, ReverseRaptorWorkspace ws, const int[:, ::1] sources,
                   const int[:, ::1] targets, int deadline, int max_trips, int slack,
                   const unsigned char* mask, int* best, int* best_par,
                   int* walk_row, Rules* mode) noexcept nogil:
        cdef Net net_copy = self.a.net
        cdef const Net* net = &net_copy
        cdef Egress* opt
        cdef int e, et, erow = 0, efp = 0
        cdef long long labels = 0, routes = 0
        cdef const int* rso = iptr(self.a.route_stop_offset)
        cdef const int* rstops = iptr(self.a.route_stops)
        cdef const unsigned char* pick = bptr(self.a.route_pickup)
        cdef const unsigned char* drop = bptr(self.a.route_dropoff)
        cdef const int* rto = iptr(self.a.route_trip_offset)
        cdef const int* tso = iptr(self.a.trip_st_offset)
        cdef const int* sarr = iptr(self.a.st_arr)
        cdef const int* sdep = iptr(self.a.st_dep)
        cdef const int* change = iptr(self.a.change)
        cdef const int* fpo = iptr(self.a.fp_offset)
        cdef const int* fpt = iptr(self.a.fp_to)
        cdef const int* fpd = iptr(self.a.fp_dur)
        cdef const int* fpio = iptr(self.a.fp_in_offset)
        cdef const int* fpif = iptr(self.a.fp_in_from)
        cdef const int* fpid = iptr(self.a.fp_in_dur)
        cdef int S = self.n_stops
        cdef int* la = ws.la.data()
        cdef int* lb = ws.lb.data()
        cdef OwlRevTripPar* tp = ws.tpar.data()
        cdef int i, j, k, s, u, d, t, r, p, base, nstops, t0, t1, trip, tst
        cdef int cand, alight_pos, alight_par, stamp, prev_mark, dep, lt, lpar, y
        cdef size_t qi
        cdef bint rules = Rules is ScopedRules  # compile-time: two copies of this loop
        cdef const int* xal = net.xal
        cdef const int* ybd = net.ybd
        cdef int Y = net.n_y
        for i in range(S):
            la[i] = NEG
            lb[i] = NEG
        for qi in range(ws.touched.size()):  # egress and access of the last search
            ws.egress_row[ws.touched[qi]] = -1
            ws.acc[ws.touched[qi]] = INF
        ws.touched.clear()
        reset_stats(ws)
        # stamps wrap before a search, never inside one (marks would be lost)
        ws.stamp = fresh_stamps(ws.stamp, 2 * max_trips + 4, &ws.stop_stamp,
                                &ws.improved_stamp) + 1
        stamp = ws.stamp
        ws.next_marked.clear()
        # round 0, egress: latest arrival at a stop (any means) that reaches a target;
        # lists run newest first, so ">=" keeps the first target row on ties
        build_egress(ws, net, rows_ptr(targets), targets.shape[0], NULL)
        for qi in range(ws.eg_touched.size()):
            s = ws.eg_touched[qi]
            e = ws.eg_head[s]
            et = NEG
            while e >= 0:
                opt = &ws.eg[e]
                if deadline - opt.time >= et:
                    et = deadline - opt.time
                    erow = opt.target
                    efp = opt.fp
                e = opt.next
            self._egress(ws, s, et, erow, efp, stamp)
        clear_egress(ws)
        if rules:  # alight keys: the egress of their stop (their stops are marked)
            for i in range(S):
                ws.xmax[i] = la[i]
            for i in range(net.n_x):
                ws.xla[i] = la[net.xstop[i]]
                ws.xla_par[i] = -1
            for i in range(Y):
                ws.ylb[i] = NEG
        # access: seconds from leaving the origin until at a stop (no slack)
        for i in range(sources.shape[0]):
            s = sources[i, 0]
            self._access(ws, s, sources[i, 1], i, 0)
            for j in range(fpo[s], fpo[s + 1]):
                self._access(ws, fpt[j], sources[i, 1] + fpd[j], i, fpd[j])
        for i in range(sources.shape[0]):  # walking only
            s = sources[i, 0]
            if ws.egress_row[s] >= 0 and la[s] - sources[i, 1] > best[0]:
                best[0] = la[s] - sources[i, 1]
                walk_row[0] = i
        k = 0
        while k < max_trips and ws.next_marked.size() > 0:
            k += 1
            ws.marked.swap(ws.next_marked)
            ws.next_marked.clear()
            prev_mark = stamp
            ws.stamp += 1
            stamp = ws.stamp
            # routes serving a marked stop, from the latest marked position
            begin_routes(ws)
            for qi in range(ws.marked.size()):
                s = ws.marked[qi]
                # else every trip caught here departs too early
                if la[s] > best[0] or (rules and ws.xmax[s] > best[0]):
                    add_routes_at(ws, net, mask, s, True)
            routes += ws.routes.size()
            ws.improved.clear()
            ws.y_improved.clear()
            for qi in range(ws.routes.size()):
                r = ws.routes[qi]
                base = rso[r]
                nstops = rso[r + 1] - base
                t0 = rto[r]
                t1 = rto[r + 1]
                trip = -1
                tst = 0
                alight_pos = 0
                alight_par = 0
                p = take_route(ws, r)
                while p >= 0:
                    s = rstops[base + p]
                    if trip >= 0 and pick[base + p]:
                        dep = sdep[tst + p]
                        if dep > lb[s] and dep > best[0]:
                            lb[s] = dep
                            ws.lb_round[s] = k
                            labels += 1
                            tp[k * S + s].trip = trip
                            tp[k * S + s].board_pos = p
                            tp[k * S + s].alight_pos = alight_pos
                            tp[k * S + s].la_par = alight_par
                            if ws.improved_stamp[s] != stamp:
                                ws.improved_stamp[s] = stamp
                                ws.improved.push_back(s)
                        if rules and ybd[base + p] >= 0 and dep > ws.ylb[ybd[base + p]] \
                                and dep > best[0]:
                            self._board_keyed(ws, k, ybd[base + p], trip, p, alight_pos,
                                              alight_par, dep, stamp)
                    # Only stops improved by the last round can catch a later trip:
                    # older labels were tried when they were new.
                    if not drop[base + p] or ws.stop_stamp[s] != prev_mark:
                        p -= 1
                        continue
                    lt = la[s]
                    lpar = ws.la_par[s]
                    if rules and xal[base + p] >= 0:  # an alight key: its rules only
                        lt = ws.xla[xal[base + p]]
                        lpar = ws.xla_par[xal[base + p]]
                    if lt > best[0]:
                        if trip >= 0:
                            if lt < sarr[tst + p]:
                                p -= 1
                                continue
                            cand = latest_trip(net, t0, t1, p, trip + 1, lt)
                        else:
                            cand = latest_trip(net, t0, t1, p, t0, lt)
                        if cand >= t0 and cand != trip:
                            trip = cand
                            tst = tso[trip]
                            alight_pos = p
                            alight_par = lpar
                    p -= 1
            # transfer phase: departures, and alighting labels for round k + 1
            ws.stamp += 1
            stamp = ws.stamp
            for qi in range(ws.improved.size()):
                s = ws.improved[qi]
                dep = lb[s]
                if ws.acc[s] != INF and dep - ws.acc[s] > best[0]:
                    best[0] = dep - ws.acc[s]
                    best_par[0] = k * S + s
                    walk_row[0] = -1
                if change[s] < NO_TRANSFER:
                    self._set_la(ws, s, dep - change[s] - slack, k * S + s, stamp)
                for j in range(fpio[s], fpio[s + 1]):
                    self._set_la(ws, fpif[j], dep - fpid[j] - slack, k * S + s, stamp)
            for qi in range(ws.y_improved.size()):
                self._keyed_alight(ws, net, k, ws.y_improved[qi], slack, stamp)
        ws.stats.rounds = k
        ws.stats.routes_scanned = routes
        ws.stats.labels = labels

    cdef void _board_keyed(self, ReverseRaptorWorkspace ws, int k, int y, int trip, int p,
                           int alight_pos, int alight_par, int dep, int stamp) noexcept nogil:
        """The round-``k`` trip boards at position ``p`` of board key ``y`` at ``dep``."""
        cdef OwlRevTripPar* P = &ws.ytpar[k * ws.ylb.size() + y]
        ws.ylb[y] = dep
        P.trip = trip
        P.board_pos = p
        P.alight_pos = alight_pos
        P.la_par = alight_par
        if ws.y_stamp[y] != stamp:
            ws.y_stamp[y] = stamp
            ws.y_improved.push_back(y)

    cdef void _keyed_alight(self, ReverseRaptorWorkspace ws, const Net* net, int k, int y,
                            int slack, int stamp) noexcept nogil:
        """The alight keys whose rules reach board key ``y``: alighting up to the rule's
        seconds (and the slack) before its boarding, for round ``k + 1``."""
        cdef int dep = ws.ylb[y]
        cdef int j, x, t, s
        for j in range(net.yio[y], net.yio[y + 1]):
            x = net.yix[j]
            t = dep - net.yit[j] - slack
            if t > ws.xla[x]:
                ws.xla[x] = t
                ws.xla_par[x] = -2 - (k * net.n_y + y)
                s = net.xstop[x]
                if t > ws.xmax[s]:
                    ws.xmax[s] = t
                if ws.stop_stamp[s] != stamp:
                    ws.stop_stamp[s] = stamp
                    ws.next_marked.push_back(s)

    cdef inline void _egress(self, ReverseRaptorWorkspace ws, int s, int t, int row, int fp,
                             int stamp) noexcept nogil:
        if t > ws.la[s]:
            ws.la[s] = t
            ws.la_par[s] = -1
            ws.egress_row[s] = row
            ws.egress_fp[s] = fp
            ws.touched.push_back(s)
            if ws.stop_stamp[s] != stamp:
                ws.stop_stamp[s] = stamp
                ws.next_marked.push_back(s)

    cdef inline void _access(self, ReverseRaptorWorkspace ws, int s, int t, int row,
                             int fp) noexcept nogil:
        if t < ws.acc[s]:
            ws.acc[s] = t
            ws.acc_row[s] = row
            ws.touched.push_back(s)
            ws.acc_fp[s] = fp

    cdef inline void _set_la(self, ReverseRaptorWorkspace ws, int s, int t, int par,
                             int stamp) noexcept nogil:
        if t > ws.la[s]:
            ws.la[s] = t
            ws.la_par[s] = par
            if ws.stop_stamp[s] != stamp:
                ws.stop_stamp[s] = stamp
                ws.next_marked.push_back(s)

    cdef tuple _journey(self, ReverseRaptorWorkspace ws, const int[:, ::1] sources,
                        const int[:, ::1] targets, int departure, int par, int walk_row):
        """Steps of the best journey, the origin first."""
        cdef TimetableArrays A = self.a
        cdef int S = self.n_stops
        cdef list steps = []
        cdef int row, p, q, x, a, d, trips = 0, guard = 0, base, Y = A.n_board_keys
        cdef OwlRevTripPar P
        if walk_row >= 0:
            row = walk_row
            p = sources[row, 0]
            x = ws.egress_row[p]
            d = ws.egress_fp[p]
            steps.append(("origin", p, departure + sources[row, 1]))
            if p != targets[x, 0]:  # footpaths may take 0 s
                steps.append(("walk", p, targets[x, 0], departure + sources[row, 1], d))
            return (departure, departure + sources[row, 1] + d + targets[x, 1], 0, row, x,
                    steps)
        p = par % S
        row = ws.acc_row[p]
        A.append_start(steps, sources[row, 0], p, departure + sources[row, 1])
        while True:
            guard += 1
            if guard > 10000:
                raise RuntimeError("journey reconstruction did not terminate")
            P = ws.tpar[par] if par >= 0 else ws.ytpar[-2 - par]
            steps.append(("trip", P.trip, P.board_pos, P.alight_pos))
            trips += 1
            base = A.route_stop_offset[A.trip_route[P.trip]] + P.alight_pos
            q = A.route_stops[base]
            a = A.st_arr[A.trip_st_offset[P.trip] + P.alight_pos]
            par = P.la_par
            if par <= -2:  # a scoped change from this alight key to a board key
                x = (-2 - par) % Y
                A.append_change(steps, A.route_alight_rule[base], A.rule_board_stop[x], x, a)
                continue
            if par < 0:
                x = ws.egress_row[q]
                d = ws.egress_fp[q]
                if q != targets[x, 0]:
                    steps.append(("walk", q, targets[x, 0], a, d))
                return (departure, a + d + targets[x, 1], trips, row, x, steps)
            x = par % S
            if x != q:
                A.append_walk(steps, q, x, a)
