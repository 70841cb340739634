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
  since egress and continuing only add time, walking and extra;
* transfers wait for the round's route scan (as in ULTRA's McRAPTOR): only the vehicle
  labels no later route of the round dominated change or walk, and none in the last
  round (its ready labels would board nothing). Vehicle labels reach targets at once,
  so the target bag prunes the rest of the round;
* walks: a ready label at a stop where no trip can be boarded does nothing (targets are
  reached from vehicle labels), so a vehicle label walks only to stops where one can, shortest
  first, and a label walks no further than the first footpath the target dominates it
  after (on WMATA 5 % of the footpaths lead to such a stop).

Walking = access offsets + footpaths + egress offsets. ``extra`` is the caller's
per-source/target value (e.g. rental seconds), summed, 0 by default, so journeys
that differ in it are kept apart. Both are recomputed from a journey's steps and rows
(``walk_seconds``), so the result has the shape every engine returns.

Scoped transfer rules (``planner.timetable.transfer_rules``): a vehicle label alighting
at a position with alight key ``x`` changes only as ``x``'s entries allow, into ready
labels *for one board key* ``y`` (``MLabel.key``), which board only trips whose position
has that key. A label's ``key`` says what it may do: -1 anything (plain), ``y >= 0`` board
key ``y`` only, ``-2 - x`` a vehicle label of alight key ``x``; a label dominates only
labels it covers (same key, or -1 over a board key).
"""

cimport cython
from libcpp.vector cimport vector

from planner.routing.kernel cimport (
    INF, NO_TRANSFER, Egress, Net, NoRules, Rules, ScopedRules, TimetableArrays, Workspace,
    add_boardable_routes_at, begin_routes, build_egress, clear_egress, earlier_trip, earliest_trip,
    reset_stats, rows_ptr, take_route,
)

cdef extern from *:
    """
    // a new last element, written field by field by the caller: a struct built on the
    // stack and pushed was read back whole right after its fields were stored there,
    // a store-forwarding stall on every label (a third of the footpath phase on WMATA)
    template <class T> static inline T* owl_grow(std::vector<T>* v) {
        v->emplace_back();
        return &v->back();
    }
    """
    T* owl_grow[T](vector[T]* v) noexcept nogil

import numpy as np

from planner.routing.kernel import as_arrays

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
    int key       # see the module docstring: -1, a board key, or -2 - alight key

cdef struct SLabel:
    # a bag entry: the label's criteria beside its id, so dominance tests read the bag
    # alone (through the ids they missed the cache on every label compared); 16 bytes,
    # four to a cache line (its key is read through the id, by scoped rules only)
    int time
    int walk
    int extra
    int lid

cdef struct RLabel:
    int trip
    int row       # trip_st_offset of the trip: its arrivals without a lookup per stop
    int walk
    int extra
    int parent
    int pos

cdef struct TLabel:
    int arr
    int walk
    int extra
    int trips
    int label
    int eg


cdef class McRaptorWorkspace(Workspace):
    """Per-thread scratch of a McRAPTOR search (never share between threads)."""

    cdef vector[MLabel] labels
    # per stop the Pareto bags over every round so far (a label a later one dominates is
    # dropped from them: what it pruned the later one prunes), in insertion order
    cdef vector[vector[SLabel]] veh_star, ready_star
    # ready_star[s][cur_lo[s]:] are the ready labels of the round being built (a bag keeps
    # its order and appends, so a round's labels follow those of the rounds before), and
    # veh_star[s][veh_lo[s]:] its vehicle labels
    cdef vector[int] cur_lo, veh_lo, touched_veh, in_veh
    # the last round's ready labels, stop after stop (prev_n[s] of them from prev_lo[s]):
    # every route through a stop reads them again, so one flat run beats a vector a stop
    cdef vector[SLabel] prev
    cdef vector[int] prev_lo, prev_n
    cdef vector[int] touched_star, touched_prev, touched_cur, in_star, in_cur
    cdef vector[TLabel] target
    cdef vector[RLabel] rbag
    cdef vector[int] walkers  # _transfers: the vehicle labels some footpath may improve
    cdef vector[int] limits   # and per walker the shortest walk the target dominates

    def __init__(self, int n_stops, int n_routes):
        Workspace.__init__(self, n_stops, n_routes)
        self.veh_star.resize(n_stops)
        self.ready_star.resize(n_stops)
        self.cur_lo.resize(n_stops, 0)
        self.veh_lo.resize(n_stops, 0)
        self.in_veh.resize(n_stops, 0)
        self.prev_lo.resize(n_stops, 0)
        self.prev_n.resize(n_stops, 0)
        self.in_star.resize(n_stops, 0)
        self.in_cur.resize(n_stops, 0)


cdef inline bint _dominated3(int t, int w, int x, int t2, int w2, int x2) noexcept nogil:
    return t2 <= t and w2 <= w and x2 <= x


cdef inline bint _covers(int key, int other) noexcept nogil:
    """A label of ``key`` may do all that one of ``other`` may."""
    return key == other or (key == -1 and other >= 0)


def walk_seconds(q, tuple journey) -> int:
    """McRAPTOR's walking criterion of a result: access + footpaths + egress."""
    _, _, _, srow, trow, steps = journey
    return (int(q.sources[srow, 1]) + int(q.targets[trow, 1])
            + sum(int(step[4]) for step in steps if step[0] == "walk"))


def extra_criterion(q, tuple journey) -> int:
    """McRAPTOR's extra criterion of a result: its source and target rows' values."""
    srow, trow = journey[3], journey[4]
    return ((0 if q.source_extra is None else int(q.source_extra[srow]))
            + (0 if q.target_extra is None else int(q.target_extra[trow])))


@cython.final
cdef class McRaptor:
    """The timetable's RAPTOR arrays, prebound for repeated McRAPTOR searches."""

    cdef readonly TimetableArrays a  # the Router's, shared with its other engines
    cdef readonly int n_stops, n_routes
    cdef vector[int] fp_shortest  # per stop its shortest walk's seconds (INF: none)
    # the walks of _transfers: the footpaths (net.fpo's) to stops where some trip can be
    # boarded (a ready label elsewhere boards nothing, and only vehicle labels reach
    # targets: on WMATA 5 % of the footpaths), per stop by duration (a label the target
    # dominates after one footpath it dominates after every longer one)
    cdef vector[int] fp_off, fp_to, fp_dur

    def __init__(self, arrays):
        """``arrays``: the Router's ``TimetableArrays`` (or a ``Timetable``)."""
        self.a = as_arrays(arrays)
        self.n_stops = self.a.n_stops
        self.n_routes = self.a.n_routes
        self.fp_shortest.resize(self.n_stops, INF)
        cdef const Net* net = &self.a.net
        cdef int s, j, first, t, d, i
        cdef vector[char] boards
        boards.resize(self.n_stops, 0)
        for s in range(self.n_stops):
            for j in range(net.sro[s], net.sro[s + 1]):
                if net.srl[j] > -INF:
                    boards[s] = 1
        self.fp_off.resize(self.n_stops + 1, 0)
        for s in range(self.n_stops):
            first = self.fp_to.size()
            for j in range(net.fpo[s], net.fpo[s + 1]):
                if boards[net.fpt[j]]:
                    self.fp_to.push_back(net.fpt[j])
                    self.fp_dur.push_back(net.fpd[j])
                    if net.fpd[j] < self.fp_shortest[s]:
                        self.fp_shortest[s] = net.fpd[j]
            # by duration, stable (insertion sort: a stop has a few dozen footpaths)
            for j in range(first + 1, self.fp_to.size()):
                t, d = self.fp_to[j], self.fp_dur[j]
                i = j
                while i > first and self.fp_dur[i - 1] > d:
                    self.fp_to[i] = self.fp_to[i - 1]
                    self.fp_dur[i] = self.fp_dur[i - 1]
                    i -= 1
                self.fp_to[i] = t
                self.fp_dur[i] = d
            self.fp_off[s + 1] = self.fp_to.size()

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

    cdef inline int _walk_limit(self, McRaptorWorkspace ws, int t, int w,
                                int x) noexcept nogil:
        """The shortest walk ``d`` for which the target dominates ``(t + d, w + d, x)``
        (it dominates every longer one too; INF: none)."""
        cdef size_t i
        cdef TLabel* tl
        cdef int lim = INF
        cdef int v
        for i in range(ws.target.size()):
            tl = &ws.target[i]
            if tl.extra <= x:
                v = tl.arr - t
                if tl.walk - w > v:
                    v = tl.walk - w
                if v < lim:
                    lim = v
        return lim

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

    cdef inline int _insert(self, McRaptorWorkspace ws, vector[SLabel]* star, int* cur_lo,
                            int time, int walk, int extra, int key, int stop,
                            Rules* mode) noexcept nogil:
        """Adds a label of these criteria and ``key`` at ``stop`` to ``star`` unless
        dominated; returns its id or -1 (the caller writes its parent and kind into
        ``ws.labels[id]``: labels are written in place, never built on the stack and
        copied, whose fields were then read back whole right after being stored, a
        store-forwarding stall on every label). One pass, as
        ULTRA merges a bag: the bag never holds a label another one dominates (covering
        its key), so a label that dominates one cannot be dominated by another.
        ``cur_lo``: where the round's labels start in a ready bag (NULL: a vehicle bag)."""
        cdef bint rules = Rules is ScopedRules
        cdef SLabel* d = star.data()
        cdef size_t n = star.size()
        cdef size_t i
        cdef size_t kept = 0
        cdef size_t lo = cur_lo[0] if cur_lo != NULL else 0
        cdef size_t older = 0  # removed from before lo
        cdef SLabel* e
        cdef MLabel* lab
        cdef int lid
        for i in range(n):
            if (_dominated3(time, walk, extra, d[i].time, d[i].walk, d[i].extra)
                    and (not rules or _covers(ws.labels[d[i].lid].key, key))):
                return -1
            if (_dominated3(d[i].time, d[i].walk, d[i].extra, time, walk, extra)
                    and (not rules or _covers(key, ws.labels[d[i].lid].key))):
                if i < lo:
                    older += 1
            else:
                if kept != i:
                    d[kept] = d[i]
                kept += 1
        if kept != n:
            star.resize(kept)
            if cur_lo != NULL:
                cur_lo[0] = <int>(lo - older)
        if ws.in_star[stop] == 0:
            ws.in_star[stop] = 1
            ws.touched_star.push_back(stop)
        lid = <int>ws.labels.size()
        lab = owl_grow[MLabel](&ws.labels)
        lab.time = time
        lab.walk = walk
        lab.extra = extra
        lab.stop = stop
        lab.key = key
        e = owl_grow[SLabel](star)
        e.time = time
        e.walk = walk
        e.extra = extra
        e.lid = lid
        return lid

    cdef void _ready(self, McRaptorWorkspace ws, int rnd, int stop, int time, int walk,
                     int extra, int parent, int kind, int a, int b, int key,
                     Rules* mode, bint pruned=False) noexcept nogil:
        """``pruned``: the caller knows the target does not dominate the label."""
        cdef MLabel* lab
        cdef int lid
        if not pruned and self._target_dominates(ws, time, walk, extra):
            return
        lid = self._insert(ws, &ws.ready_star[stop], &ws.cur_lo[stop], time, walk, extra, key,
                           stop, mode)
        if lid >= 0:
            lab = &ws.labels[lid]
            lab.parent = parent
            lab.kind = kind
            lab.trip = -1
            lab.a = a
            lab.b = b
            if ws.in_cur[stop] == 0:
                ws.in_cur[stop] = 1
                ws.touched_cur.push_back(stop)

    cdef void _egress(self, McRaptorWorkspace ws, int lid, int trips) noexcept nogil:
        cdef int e = ws.eg_head[ws.labels[lid].stop]
        cdef MLabel* lab
        while e >= 0:
            lab = &ws.labels[lid]
            self._add_target(ws, lab.time + ws.eg[e].time, lab.walk + ws.eg[e].time,
                             lab.extra + ws.eg[e].extra, trips, lid, e)
            e = ws.eg[e].next

    # ---- the search ------------------------------------------------------------------
    def search(self, McRaptorWorkspace ws, q):
        """Pareto-optimal journeys departing at ``q.time`` with at most ``q.max_trips``
        trips, over (arrival, trips, walking, ``q.source_extra + q.target_extra``).

        Returns ``(departure, arrival, trips, source_row, target_row, steps)`` by arrival
        (then trips, walking, extra), steps as in ``planner.routing.csa.CSA.results``
        (ending with the walk into the target stop when egress starts with a footpath);
        ``walk_seconds``/``extra_criterion`` give the other two criteria.
        """
        cdef const int[:, ::1] sources = q.sources
        cdef const int[:, ::1] targets = q.targets
        cdef const unsigned char* mask
        cdef int departure = q.time
        cdef int slack = q.transfer_slack
        cdef int max_trips = q.max_trips
        cdef const int[::1] sxv
        cdef const int[::1] txv
        cdef const int* sx = NULL
        cdef const int* tx = NULL
        self.a.check_rows(sources, "source")
        self.a.check_rows(targets, "target")
        self.a.route_mask(q, &mask)
        if q.source_extra is not None and sources.shape[0] > 0:
            sxv = q.source_extra
            sx = &sxv[0]
        if q.target_extra is not None and targets.shape[0] > 0:
            txv = q.target_extra
            tx = &txv[0]
        with nogil:
            if self.a.net.xal == NULL:
                self._run(ws, rows_ptr(sources), sources.shape[0], rows_ptr(targets),
                          targets.shape[0], sx, tx, departure, slack, max_trips, mask,
                          <NoRules*>NULL)
            else:
                self._run(ws, rows_ptr(sources), sources.shape[0], rows_ptr(targets),
                          targets.shape[0], sx, tx, departure, slack, max_trips, mask,
                          <ScopedRules*>NULL)
        return self.results(ws, q)

    cdef void _run(self, McRaptorWorkspace ws, const int* src, int n_src, const int* tgt,
                   int n_tgt, const int* sx, const int* tx, int departure, int slack,
                   int max_trips, const unsigned char* mask, Rules* mode) noexcept nogil:
        cdef Net net_copy = self.a.net
        cdef bint rules = Rules is ScopedRules  # compile-time: two copies of this loop
        cdef const Net* net = &net_copy
        cdef const int* fpo = net.fpo
        cdef const int* fpt = net.fpt
        cdef const int* fpd = net.fpd
        cdef const int* rso = net.rso
        cdef const int* rto = net.rto
        cdef const int* rstops = net.rstops
        cdef const unsigned char* drop = net.drop
        cdef const int* tso = net.tso
        cdef const int* sarr = net.sarr
        cdef const unsigned char* pick = net.pick
        cdef const int* xal = net.xal
        cdef const int* ybd = net.ybd
        cdef int i, j, k, s, t, lid, r, p, pos, first, off, n_pos, x, xk
        cdef int t_lo, t_hi, trip, a, y, bound, ready
        cdef long long routes = 0
        cdef size_t q, m, z, lo, hi
        cdef RLabel rl
        cdef MLabel* lab
        cdef SLabel* L
        cdef SLabel* star
        cdef SLabel* prev
        cdef int* prev_lo = ws.prev_lo.data()
        cdef int* prev_n = ws.prev_n.data()

        # reset (only what the previous query touched)
        reset_stats(ws)
        for q in range(ws.touched_star.size()):
            s = ws.touched_star[q]
            ws.veh_star[s].clear()
            ws.ready_star[s].clear()
            ws.cur_lo[s] = 0
            ws.veh_lo[s] = 0
            ws.in_star[s] = 0
        ws.touched_star.clear()
        for q in range(ws.touched_prev.size()):
            prev_n[ws.touched_prev[q]] = 0
        ws.touched_prev.clear()
        for q in range(ws.touched_cur.size()):
            ws.in_cur[ws.touched_cur[q]] = 0
        ws.touched_cur.clear()
        ws.labels.clear()
        ws.target.clear()
        build_egress(ws, net, tgt, n_tgt, tx)

        # round 0: the sources and their footpath neighbours are ready
        for i in range(n_src):
            s = src[2 * i]
            t = departure + src[2 * i + 1]
            x = sx[i] if sx != NULL else 0
            self._ready(ws, 0, s, t, src[2 * i + 1], x, -1, K_SOURCE, 0, i, -1, mode)
        for i in range(n_src):
            s = src[2 * i]
            t = departure + src[2 * i + 1]
            x = sx[i] if sx != NULL else 0
            for j in range(fpo[s], fpo[s + 1]):
                self._ready(ws, 0, fpt[j], t + fpd[j], src[2 * i + 1] + fpd[j], x, -1,
                            K_SOURCE_FP, fpd[j], i, -1, mode)
        # walking only: a source label reaching a target (directly or by one footpath);
        # a round's live labels are its entries in the bags, in the order they came
        for q in range(ws.touched_cur.size()):
            s = ws.touched_cur[q]
            for m in range(ws.ready_star[s].size()):
                lid = ws.ready_star[s][m].lid
                if ws.labels[lid].kind == K_SOURCE:
                    self._egress(ws, lid, 0)

        for k in range(1, max_trips + 1):
            # the previous round's ready labels become the boarding candidates (they can
            # no longer die: only labels of the round being built are dominated)
            for q in range(ws.touched_prev.size()):
                prev_n[ws.touched_prev[q]] = 0
            ws.touched_prev.swap(ws.touched_cur)
            ws.touched_cur.clear()
            ws.prev.clear()
            for q in range(ws.touched_prev.size()):
                s = ws.touched_prev[q]
                ws.in_cur[s] = 0
                prev_lo[s] = <int>ws.prev.size()
                star = ws.ready_star[s].data()
                for m in range(<size_t>ws.cur_lo[s], ws.ready_star[s].size()):
                    ws.prev.push_back(star[m])
                prev_n[s] = <int>ws.prev.size() - prev_lo[s]
                ws.cur_lo[s] = <int>ws.ready_star[s].size()
            if ws.touched_prev.size() == 0:
                break
            prev = ws.prev.data()
            ws.stats.rounds = k
            # routes through marked stops, from the first marked position on
            begin_routes(ws)
            for q in range(ws.touched_prev.size()):
                s = ws.touched_prev[q]
                t = INF  # the earliest ready label there: boards no trip before it
                for m in range(<size_t>prev_lo[s], <size_t>(prev_lo[s] + prev_n[s])):
                    if prev[m].time < t:
                        t = prev[m].time
                if t < INF:
                    add_boardable_routes_at(ws, net, mask, s, t)
            routes += ws.routes.size()
            for q in range(ws.routes.size()):
                r = ws.routes[q]
                first = take_route(ws, r)
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
                            a = sarr[rl.row + pos]
                            if self._target_dominates(ws, a, rl.walk, rl.extra):
                                continue
                            xk = xal[off + pos] if rules else -1
                            lid = self._insert(ws, &ws.veh_star[p], &ws.veh_lo[p], a, rl.walk,
                                               rl.extra, -1 if xk < 0 else -2 - xk, p, mode)
                            if lid >= 0:
                                lab = &ws.labels[lid]
                                lab.parent = rl.parent
                                lab.kind = K_VEHICLE
                                lab.trip = rl.trip
                                lab.a = rl.pos
                                lab.b = pos
                                self._egress(ws, lid, k)
                                if ws.in_veh[p] == 0:
                                    ws.in_veh[p] = 1
                                    ws.touched_veh.push_back(p)
                    # board: ready labels of the previous round catch their first trip
                    if pick[off + pos] and prev_n[p] > 0:
                        lo = prev_lo[p]
                        hi = lo + prev_n[p]
                        for m in range(lo, hi):
                            L = &prev[m]
                            if rules:
                                y = ws.labels[L.lid].key
                                if y >= 0 and ybd[off + pos] != y:
                                    continue
                            # a trip no earlier than one of the route bag's that walked and
                            # spent no more would be dominated: search only below it
                            bound = t_hi
                            for z in range(ws.rbag.size()):
                                if (ws.rbag[z].trip < bound and ws.rbag[z].walk <= L.walk
                                        and ws.rbag[z].extra <= L.extra):
                                    bound = ws.rbag[z].trip
                            ready = L.time
                            if bound == t_hi:
                                trip = earliest_trip(net, t_lo, t_hi, pos, t_hi, ready)
                            else:
                                trip = earlier_trip(net, t_lo, t_hi, pos, bound, ready)
                            if trip == bound:
                                continue
                            z = 0
                            while z < ws.rbag.size():
                                if _dominated3(ws.rbag[z].trip, ws.rbag[z].walk,
                                               ws.rbag[z].extra, trip, L.walk, L.extra):
                                    ws.rbag[z] = ws.rbag.back()
                                    ws.rbag.pop_back()
                                else:
                                    z += 1
                            rl.trip = trip
                            rl.row = tso[trip]
                            rl.walk = L.walk
                            rl.extra = L.extra
                            rl.parent = L.lid
                            rl.pos = pos
                            ws.rbag.push_back(rl)
            # transfers from the round's vehicle labels that no later route of the round
            # dominated (as ULTRA relaxes them after its route scan): each of them changes
            # at its stop and walks its footpaths; none is needed after the last round
            for q in range(ws.touched_veh.size()):
                p = ws.touched_veh[q]
                ws.in_veh[p] = 0
                lo = ws.veh_lo[p]
                hi = ws.veh_star[p].size()
                ws.veh_lo[p] = <int>hi
                if k < max_trips:
                    self._transfers(ws, k, p, lo, hi, slack, mode)
            ws.touched_veh.clear()
        ws.stats.routes_scanned = routes
        ws.stats.labels = ws.labels.size()
        clear_egress(ws)

    cdef void _transfers(self, McRaptorWorkspace ws, int k, int p, size_t lo, size_t hi,
                         int slack, Rules* mode) noexcept nogil:
        """Ready labels from the round's vehicle labels ``veh_star[p][lo:hi]``: at the same
        stop and over one footpath, footpath after footpath (the bag it walks to stays
        in cache for all of them); a label of alight key ``x`` (``key == -2 - x``)
        changes only as the scoped rules allow, each for its board key."""
        cdef bint rules = Rules is ScopedRules
        cdef const Net* net = &self.a.net
        cdef const SLabel* star = ws.veh_star[p].data()  # not changed here: ready bags only
        cdef const SLabel* e
        cdef int j, d, u, y, xk, lim, dmax, end
        cdef size_t m, z, nw
        cdef const int* fp_to = self.fp_to.data()
        cdef const int* fp_dur = self.fp_dur.data()
        cdef const int* walkers
        cdef const int* limits
        if rules:
            for m in range(lo, hi):
                e = &star[m]
                xk = ws.labels[e.lid].key
                if xk > -2:
                    continue
                xk = -2 - xk
                for j in range(net.xo[xk], net.xo[xk + 1]):
                    y = net.xy[j]
                    u = net.ystop[y]
                    d = net.xt[j]
                    if u == p:
                        self._ready(ws, k, p, e.time + d + slack, e.walk, e.extra, e.lid,
                                    K_CHANGE, 0, 0, y, mode)
                    else:
                        self._ready(ws, k, u, e.time + d + slack, e.walk + d, e.extra, e.lid,
                                    K_FOOT, d, 0, y, mode)
        if net.change[p] < NO_TRANSFER:
            for m in range(lo, hi):
                e = &star[m]
                if rules and ws.labels[e.lid].key <= -2:
                    continue
                self._ready(ws, k, p, e.time + net.change[p] + slack, e.walk, e.extra, e.lid,
                            K_CHANGE, 0, 0, -1, mode)
        if self.fp_off[p] == self.fp_off[p + 1]:
            return
        # the target bag does not change in this phase: per label the shortest walk the
        # target dominates after it (so after every longer one) is found once, and the
        # footpaths, shortest first, end at the longest such walk
        d = self.fp_shortest[p]
        dmax = -1
        ws.walkers.clear()
        ws.limits.clear()
        for m in range(lo, hi):
            e = &star[m]
            if rules and ws.labels[e.lid].key <= -2:
                continue
            lim = self._walk_limit(ws, e.time + slack, e.walk, e.extra)
            if d < lim:
                ws.walkers.push_back(<int>m)
                ws.limits.push_back(lim)
                if lim > dmax:
                    dmax = lim
        nw = ws.walkers.size()
        if nw == 0:
            return
        walkers = ws.walkers.data()
        limits = ws.limits.data()
        end = self.fp_off[p + 1]
        for j in range(self.fp_off[p], end):
            d = fp_dur[j]
            if d >= dmax:
                break
            u = fp_to[j]
            for z in range(nw):
                if d < limits[z]:
                    e = &star[walkers[z]]
                    self._ready(ws, k, u, e.time + d + slack, e.walk + d, e.extra, e.lid, K_FOOT,
                                d, 0, -1, mode, True)

    cdef tuple _steps(self, McRaptorWorkspace ws, int lid, int departure,
                      const int[:, ::1] sources):
        cdef list steps = []
        cdef MLabel L
        cdef MLabel P
        cdef int row = -1
        cdef TimetableArrays A = self.a
        while lid >= 0:
            L = ws.labels[lid]
            if L.kind == K_VEHICLE:
                steps.append(("trip", L.trip, L.a, L.b))
            elif L.kind == K_FOOT:
                P = ws.labels[L.parent]
                steps.append(("walk", P.stop, L.stop, P.time, L.a))
            elif L.kind == K_SOURCE or L.kind == K_SOURCE_FP:
                row = L.b
                A.append_origin(steps, sources[row, 0], L.stop,
                                departure + sources[row, 1])
            lid = L.parent
        steps.reverse()
        return row, steps

    def results(self, McRaptorWorkspace ws, q):
        """Journeys of the last search on ``q`` (see :meth:`search`)."""
        cdef const int[:, ::1] sources = q.sources
        cdef const int[:, ::1] targets = q.targets
        cdef int departure = q.time
        out = []
        cdef size_t i
        cdef TLabel tl
        cdef MLabel L
        cdef Egress opt
        for i in range(ws.target.size()):
            tl = ws.target[i]
            row, steps = self._steps(ws, tl.label, departure, sources)
            opt = ws.eg[tl.eg]
            if opt.fp > 0 or targets[opt.target, 0] != ws.labels[tl.label].stop:
                L = ws.labels[tl.label]
                steps.append(("walk", L.stop, targets[opt.target, 0], L.time, opt.fp))
            out.append((tl.arr, tl.trips, tl.walk, tl.extra,
                        (departure, tl.arr, tl.trips, row, opt.target, steps)))
        out.sort(key=lambda j: (j[0], j[1], j[2], j[3]))
        return [j[4] for j in out]
