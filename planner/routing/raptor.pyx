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

Scoped transfer rules (``planner.timetable.transfer_rules``): alighting at a position
with alight key ``x`` writes ``xtarr[x]`` (parents ``xtpar[k * X + x]``) instead of
``tarr``; the footpath phase turns it into arrivals and into ``yready[y]`` of the
board keys it reaches (marking their stops); boarding at a position with board key
``y`` uses the earlier of ``ready`` and ``yready[y]``. A parent ``< -S`` is
``-1 - S - (k * X + x)``: the keyed trip label of round ``k``.

Routes are collected, masked and boarded through the kernel (``add_boardable_routes_at``,
``earliest_trip`` over the transposed departures). Footpaths are walked from a private
copy of the timetable's, each stop's shortest first, so the first walk arriving after the
best arrival ends the stop's run.
"""

from libcpp.vector cimport vector

from planner.routing.kernel cimport (
    INF, NO_TRANSFER, Net, NoRules, QueryArgs, Rules, ScopedRules, TimetableArrays, Workspace,
    add_boardable_routes_at, begin_routes, clear_target_offsets, earlier_at_least,
    earliest_source_row, earlier_trip, earliest_trip, first_at_least, fresh_stamps,
    queue_boardable_routes, reach, reset_stats, rows_ptr, rule_seconds, set_target_offsets,
    take_route,
)

import numpy as np

from planner.routing.kernel import as_arrays

cdef extern from *:
    """
    struct OwlTripPar { int trip; int board_pos; int alight_pos; int ready_par; };
    struct OwlWalk { int to; int dur; };
    """
    cdef struct OwlWalk:
        int to
        int dur
    cdef struct OwlTripPar:
        int trip
        int board_pos
        int alight_pos
        int ready_par


cdef inline void record_trip(OwlTripPar* at, int trip, int board_pos, int alight_pos,
                             int ready_par) noexcept nogil:
    """A trip label's parent: the trip, where it was boarded and left, and the boarding
    stop's ready parent at the time."""
    at.trip = trip
    at.board_pos = board_pos
    at.alight_pos = alight_pos
    at.ready_par = ready_par


cdef inline void set_ready(int* ready, int* fresh, int* ready_par, int* stop_stamp,
                           vector[int]* marks, int s, int t, int par, int stamp) noexcept nogil:
    """``s`` may board from ``t`` (parent ``par``) if that is earlier, marked once per
    phase; the arrays as the caller's locals, as ``reach`` takes them."""
    if t < ready[s]:
        ready[s] = t
        fresh[s] = t
        ready_par[s] = par
        if stop_stamp[s] != stamp:
            stop_stamp[s] = stamp
            marks.push_back(s)


# a route with at least this many trips checks the trip before in its row, else in its column
cdef enum:
    WIDE_ROUTE = 16


cdef inline const int* prev_departures(const int* sdep, int o, int n, const int* blk, int ti,
                                       bint wide) noexcept nogil:
    """Where the trip before the boarded one (row ``o`` of ``n`` positions, index ``ti``
    in the route's transposed block ``blk``) departs: its row (``[p]``) if ``wide``, else
    the column entry of position 0 (``[p * m]``); the boarded trip's own while ``ti`` is 0
    (never read then)."""
    if wide:
        return sdep + o - n * (ti > 0)
    return blk + ti - (ti > 0)


cdef class RaptorWorkspace(Workspace):
    """Per-thread scratch state of a RAPTOR search (never share between threads)."""

    cdef vector[int] arr, ready, tarr, arr_par, ready_par, egress
    # ready[s] where the last phase improved it, else INF: what a route scan may board
    # from (ULTRA's fresh round of labels), so no stamp is tested per position
    cdef vector[int] fresh
    cdef vector[int] queue  # routes to scan (queue_boardable_routes; rules: ws.routes)
    cdef vector[OwlTripPar] tpar
    cdef vector[int] stop_stamp, improved_stamp
    cdef vector[int] marked, next_marked, improved
    cdef vector[int] round_best
    cdef vector[int] xtarr, yready, yready_par, ymin, x_stamp, x_improved
    cdef vector[OwlTripPar] xtpar
    cdef int stamp

    def __init__(self, int n_stops, int n_routes, int n_x=0, int n_y=0):
        Workspace.__init__(self, n_stops, n_routes)
        self.xtarr.resize(n_x, INF)
        self.x_stamp.resize(n_x, 0)
        self.yready.resize(n_y, INF)
        self.yready_par.resize(n_y, 0)
        if n_x > 0:
            self.ymin.resize(n_stops, INF)
        self.arr.resize(n_stops, INF)
        self.ready.resize(n_stops, INF)
        self.fresh.resize(n_stops, INF)
        self.tarr.resize(n_stops, INF)
        self.queue.resize(n_routes + 1)
        self.marked.reserve(n_stops)
        self.next_marked.reserve(n_stops)
        self.arr_par.resize(n_stops, 0)
        self.ready_par.resize(n_stops, 0)
        self.egress.resize(n_stops, -1)
        self.stop_stamp.resize(n_stops, 0)
        self.improved_stamp.resize(n_stops, 0)
        self.stamp = 0

    def arrivals(self):
        """Copy of the arrival time per stop after the last search (INFINITY if unreached)."""
        return np.asarray(<int[:self.n_stops]> self.arr.data()).copy()

    def arrival_trips(self):
        """Trips ridden to each stop's arrival after the last search (0: walked from a
        source or unreached). ``arr`` only improves strictly and round ``k`` labels
        carry ``k`` trips, so this is the fewest trips among the earliest arrivals
        (nigiri's ``k``, what one-to-all reports)."""
        cdef int S = self.n_stops
        out = np.zeros(S, dtype=np.int32)
        cdef int[::1] view = out
        cdef int i, par
        for i in range(S):
            par = self.arr_par[i]
            if par >= 0 and self.arr[i] != INF:
                view[i] = par // S
        return out

    def round_bests(self):
        """Best destination arrival after round 0, 1, ... (0: walking only)."""
        return [self.round_best[i] for i in range(self.round_best.size())]


cdef class Raptor:
    """The timetable's routes, trips and footpaths, prebound for repeated searches."""

    cdef readonly TimetableArrays a  # the Router's, shared with its other engines
    cdef readonly int n_stops, n_routes, n_trips
    cdef const unsigned char* cover  # TimetableArrays.footpath_cover (held by self.a)
    # the footpaths of each stop (fp_offset's runs) as (to, duration) pairs, shortest
    # first: one cache line holds both, and a walk arriving after the best arrival ends
    # the stop's run (WMATA: 26 footpaths a stop)
    cdef vector[OwlWalk] walks
    # the same without the walks to stops no trip can be boarded at (``live_stop`` 0,
    # ``stop_route_last`` all ``-INFINITY``: WMATA's entrances, ~25 of its 26 footpaths
    # a stop), CSR by ``live_offset``: with targets, a walk there can only matter where it
    # is a target (checked once per query), since the footpaths are closed
    cdef vector[OwlWalk] live_walks
    cdef vector[int] live_offset
    cdef vector[unsigned char] live_stop

    def __init__(self, arrays):
        """``arrays``: the Router's ``TimetableArrays`` (or a ``Timetable``)."""
        self.a = as_arrays(arrays)
        self.cover = self.a.footpath_cover()
        offset = np.asarray(self.a.fp_offset)
        dur = np.asarray(self.a.fp_dur)
        stop = np.repeat(np.arange(len(offset) - 1), np.diff(offset))
        order = np.lexsort((np.asarray(self.a.fp_to), dur, stop))  # by stop, duration, to
        cdef const int[::1] to_sorted = np.ascontiguousarray(np.asarray(self.a.fp_to)[order],
                                                             dtype=np.int32)
        cdef const int[::1] dur_sorted = np.ascontiguousarray(dur[order], dtype=np.int32)
        cdef Py_ssize_t j
        self.walks.resize(to_sorted.shape[0])
        for j in range(to_sorted.shape[0]):
            self.walks[j].to = to_sorted[j]
            self.walks[j].dur = dur_sorted[j]
        n = len(offset) - 1
        srl = np.asarray(self.a.stop_route_last)
        sro = np.asarray(self.a.stop_route_offset)
        boardable = np.repeat(np.arange(n), np.diff(sro))[srl > -INF]
        live = np.zeros(n, dtype=np.uint8)
        live[boardable] = 1
        keep = live[np.asarray(to_sorted)] != 0
        cdef const long[::1] live_counts = np.ascontiguousarray(
            np.bincount(stop[order][keep], minlength=n), dtype=np.int64)
        cdef const unsigned char[::1] live_view = live
        cdef const unsigned char[::1] keep_view = keep.view(np.uint8)
        self.live_stop.resize(n)
        self.live_offset.resize(n + 1, 0)
        for j in range(n):
            self.live_stop[j] = live_view[j]
            self.live_offset[j + 1] = self.live_offset[j] + <int>live_counts[j]
        self.live_walks.reserve(self.live_offset[n])
        for j in range(to_sorted.shape[0]):
            if keep_view[j]:
                self.live_walks.push_back(self.walks[j])
        self.n_stops = self.a.n_stops
        self.n_routes = self.a.n_routes
        self.n_trips = self.a.n_trips

    def workspace(self):
        return RaptorWorkspace(self.n_stops, self.n_routes, self.a.n_alight_keys,
                               self.a.n_board_keys)


    def arrival(self, RaptorWorkspace ws, q):
        """Earliest arrival at any of ``q``'s targets with at most ``q.max_trips`` trips
        (``INFINITY`` if none), no journey built (the fast path). No targets:
        one-to-all. ``ws.round_bests()`` then lists the best arrival per number of trips.
        """
        cdef QueryArgs qa
        self.a.read_query(q, &qa)
        return self._start(ws, &qa, qa.time)

    cdef int _start(self, RaptorWorkspace ws, const QueryArgs* qa,
                    int departure) except? -1:
        cdef int max_rounds = qa.max_trips
        cdef int S = self.n_stops
        if ws.tpar.size() < <size_t> ((max_rounds + 1) * S):
            ws.tpar.resize((max_rounds + 1) * S)
        if ws.xtpar.size() < <size_t> ((max_rounds + 1) * self.a.n_alight_keys):
            ws.xtpar.resize((max_rounds + 1) * self.a.n_alight_keys)
        cdef int best
        with nogil:
            if self.a.net.xal == NULL:
                best = self._run(ws, qa.src, qa.n_src, qa.tgt, qa.n_tgt, departure,
                                 max_rounds, qa.slack, qa.mask, <NoRules*>NULL)
            else:
                best = self._run(ws, qa.src, qa.n_src, qa.tgt, qa.n_tgt, departure,
                                 max_rounds, qa.slack, qa.mask, <ScopedRules*>NULL)
        return best

    def search(self, RaptorWorkspace ws, q):
        """``q``'s earliest-arrival journey with the fewest trips among them: ``[]`` or
        ``[(departure, arrival, trips, source_row, target_row, steps)]``."""
        return self.search_from(ws, q, q.time)

    def search_from(self, RaptorWorkspace ws, q, int departure):
        """Like :meth:`search`, departing at ``departure`` instead of ``q.time`` (the
        reverse engines rebuild their answer from the latest departure with it)."""
        cdef QueryArgs qa
        self.a.read_query(q, &qa)
        cdef const int[:, ::1] sources = q.sources
        cdef const int[:, ::1] targets = q.targets
        self._start(ws, &qa, departure)
        return self._results(ws, sources, targets, departure)

    cdef int _run(self, RaptorWorkspace ws, const int* src, int n_src, const int* tgt,
                  int n_tgt, int departure, int max_rounds, int slack,
                  const unsigned char* mask, Rules* mode) noexcept nogil:
        cdef int S = self.n_stops
        cdef int best = INF
        cdef int i, j, k, s, u, a, r, p, stamp, base, nstops, t0, t1, trip
        cdef int board_pos, board_par, tst, cand, prev_mark, x, y, rt, rpar
        cdef int X, nq, last, m, ti, lim, o, step
        cdef bint wide
        cdef long long labels = 0, routes = 0
        cdef const int* blk
        cdef const int* row
        cdef const int* prev
        cdef int* fresh = ws.fresh.data()
        cdef int* ready_par = ws.ready_par.data()
        cdef vector[int]* marks = &ws.next_marked
        cdef int a_fp
        cdef int* first = ws.route_first.data()
        cdef int* queue = ws.queue.data()
        cdef size_t qi
        cdef Net net_copy = self.a.net
        cdef const Net* net = &net_copy
        cdef const int* rso = net.rso
        cdef const int* rstops = net.rstops
        cdef const unsigned char* pick = net.pick
        cdef const unsigned char* drop = net.drop
        cdef const int* rto = net.rto
        cdef const int* tso = net.tso
        cdef const int* sarr = net.sarr
        cdef const int* sdep = net.sdep
        cdef const int* dbp = net.dbp
        cdef const int* change = net.change
        cdef const int* fpo = net.fpo
        cdef const int* fpt = net.fpt
        cdef const int* fpd = net.fpd
        cdef const OwlWalk* walk = self.walks.data()
        cdef const int* wo = fpo  # walk's CSR offsets
        cdef int* tarr
        cdef int* ready
        cdef int* arr = ws.arr.data()
        cdef int* arr_par = ws.arr_par.data()
        cdef const int* egress = ws.egress.data()
        cdef int* stop_stamp = ws.stop_stamp.data()
        cdef int* improved_stamp = ws.improved_stamp.data()
        cdef OwlTripPar* tp
        cdef const unsigned char* cover = self.cover
        cdef bint rules = Rules is ScopedRules  # compile-time: two copies of this loop
        cdef const int* xal = net.xal
        cdef const int* ybd = net.ybd
        X = net.n_x
        reset_stats(ws)
        ws.round_best.clear()
        tarr = ws.tarr.data()
        ready = ws.ready.data()
        for i in range(S):
            arr[i] = INF
            ready[i] = INF
            fresh[i] = INF
            tarr[i] = INF
        if rules:
            for i in range(X):
                ws.xtarr[i] = INF
            for i in range(<int>ws.yready.size()):
                ws.yready[i] = INF
            for i in range(S):
                ws.ymin[i] = INF
        set_target_offsets(ws.egress.data(), tgt, n_tgt)
        if n_tgt > 0:
            # only the targets' arrivals are read: walks to stops that board nothing
            # are dropped unless one is a target
            wo = self.live_offset.data()
            for i in range(n_tgt):
                if not self.live_stop[tgt[2 * i]]:
                    wo = fpo
            if wo != fpo:
                walk = self.live_walks.data()
        tp = ws.tpar.data()
        # two stamps per round and one for the sources
        ws.stamp = fresh_stamps(ws.stamp, 2 * max_rounds + 2, &ws.stop_stamp,
                                &ws.improved_stamp)
        ws.stamp += 1
        stamp = ws.stamp
        ws.next_marked.clear()
        for i in range(n_src):
            s = src[2 * i]
            a = departure + src[2 * i + 1]
            best = reach(arr, arr_par, egress, s, a, -1 - s, best)
            set_ready(ready, fresh, ready_par, stop_stamp, marks, s, a, -1 - s, stamp)
            for j in range(fpo[s], fpo[s + 1]):
                best = reach(arr, arr_par, egress, fpt[j], a + fpd[j], -1 - s, best)
                set_ready(ready, fresh, ready_par, stop_stamp, marks, fpt[j], a + fpd[j],
                          -1 - s, stamp)
        ws.round_best.push_back(best)
        k = 0
        while k < max_rounds and ws.next_marked.size() > 0:
            k += 1
            ws.marked.swap(ws.next_marked)
            ws.next_marked.clear()
            prev_mark = stamp  # stop_stamp of the stops marked by the last phase
            ws.stamp += 1
            stamp = ws.stamp
            if rules:
                # routes serving a marked stop, from the earliest marked position
                begin_routes(ws)
                for qi in range(ws.marked.size()):
                    s = ws.marked[qi]
                    # boarding later cannot beat the best arrival
                    rt = ready[s]
                    if rules and ws.ymin[s] < rt:
                        rt = ws.ymin[s]
                    if rt < best:
                        add_boardable_routes_at(ws, net, mask, s, rt)
                routes += ws.routes.size()
                ws.improved.clear()
                ws.x_improved.clear()
                for qi in range(ws.routes.size()):
                    r = ws.routes[qi]
                    base = rso[r]
                    nstops = rso[r + 1] - base
                    t0 = rto[r]
                    t1 = rto[r + 1]
                    trip = -1
                    tst = 0
                    board_pos = 0
                    board_par = 0
                    for p in range(take_route(ws, r), nstops):
                        s = rstops[base + p]
                        if trip >= 0 and drop[base + p] and rules and xal[base + p] >= 0:
                            x = xal[base + p]
                            a = sarr[tst + p]
                            if a < ws.xtarr[x] and a < best:
                                ws.xtarr[x] = a
                                labels += 1
                                record_trip(&ws.xtpar[k * X + x], trip, board_pos, p, board_par)
                                if ws.x_stamp[x] != stamp:
                                    ws.x_stamp[x] = stamp
                                    ws.x_improved.push_back(x)
                                best = reach(arr, arr_par, egress, s, a, -1 - S - (k * X + x), best)
                        elif trip >= 0 and drop[base + p]:
                            a = sarr[tst + p]
                            if a >= best:
                                # nor anywhere further on: drop the trip (a stop further on
                                # may still board an earlier one)
                                trip = -1
                            elif a < tarr[s]:
                                tarr[s] = a
                                labels += 1
                                record_trip(&tp[k * S + s], trip, board_pos, p, board_par)
                                if improved_stamp[s] != stamp:
                                    improved_stamp[s] = stamp
                                    ws.improved.push_back(s)
                                best = reach(arr, arr_par, egress, s, a, k * S + s, best)
                        # Only stops improved by the last round can catch an earlier
                        # trip: older ready times were tried when they were new.
                        if not pick[base + p] or stop_stamp[s] != prev_mark:
                            continue
                        rt = ready[s]
                        y = -1  # the board key whose label rt is, if any (parents read on boarding)
                        if rules and ybd[base + p] >= 0 and ws.yready[ybd[base + p]] < rt:
                            y = ybd[base + p]
                            rt = ws.yready[y]
                        if rt < best:
                            if trip >= 0:
                                if rt > sdep[tst + p]:
                                    continue
                                cand = earlier_trip(net, t0, t1, p, trip, rt)
                            else:
                                cand = earliest_trip(net, t0, t1, p, t1, rt)
                            # a trip leaving at or after the best arrival cannot improve it
                            if cand != trip and cand < t1 and sdep[tso[cand] + p] < best:
                                trip = cand
                                tst = tso[trip]
                                board_pos = p
                                board_par = ws.ready_par[s] if y < 0 else ws.yready_par[y]
            else:
                # routes serving a marked stop, from the earliest marked position;
                # boarding later than the best arrival cannot improve it
                nq = 0
                for qi in range(ws.marked.size()):
                    s = ws.marked[qi]
                    if fresh[s] < best:
                        nq = queue_boardable_routes(net, mask, first, queue, nq, s, fresh[s])
                routes += nq
                ws.improved.clear()
                for qi in range(<size_t>nq):
                    r = queue[qi]
                    p = first[r]
                    first[r] = INF
                    base = rso[r]
                    last = rso[r + 1] - base - 1  # the last stop: alight only
                    t0 = rto[r]
                    m = rto[r + 1] - t0
                    blk = dbp + tso[t0]  # departures position-major: column p at p * m
                    # p is a marked stop where the route's last trip can be boarded
                    # (queue_boardable_routes): the trip is set from here on, and only
                    # an earlier one is looked for further on (ULTRA's scan)
                    s = rstops[base + p]
                    ti = first_at_least(blk + p * m, m, fresh[s])
                    o = tso[t0 + ti]
                    row = sarr + o
                    # where the trip before departs at position p: prev[p * step]. Many
                    # trips: its row (a route's trips are contiguous rows of last + 1
                    # entries), read in order, where the column of p is a cache line
                    # each; few: the column (measured: HART -5 %, DB FV +7 % with rows)
                    wide = m >= WIDE_ROUTE
                    step = 1 if wide else m
                    prev = prev_departures(sdep, o, last + 1, blk, ti, wide)
                    board_pos = p
                    board_par = ws.ready_par[s]
                    while p < last:
                        p += 1
                        s = rstops[base + p]
                        a = row[p]
                        lim = tarr[s] if tarr[s] < best else best
                        if a < lim and drop[base + p]:
                            tarr[s] = a
                            labels += 1
                            record_trip(&tp[k * S + s], t0 + ti, board_pos, p, board_par)
                            if improved_stamp[s] != stamp:
                                improved_stamp[s] = stamp
                                ws.improved.push_back(s)
                            best = reach(arr, arr_par, egress, s, a, k * S + s, best)
                        # only stops improved by the last phase can catch an earlier
                        # trip (fresh is INF elsewhere): older ready times were tried
                        # when they were new
                        if ti > 0 and prev[p * step] >= fresh[s] and p < last and pick[base + p]:
                            ti = earlier_at_least(blk + p * m, ti, fresh[s])
                            o = tso[t0 + ti]
                            row = sarr + o
                            prev = prev_departures(sdep, o, last + 1, blk, ti, wide)
                            board_pos = p
                            board_par = ws.ready_par[s]
                for qi in range(ws.marked.size()):
                    fresh[ws.marked[qi]] = INF
            # footpath phase: ready labels for round k + 1
            ws.stamp += 1
            stamp = ws.stamp
            for qi in range(ws.improved.size()):
                s = ws.improved[qi]
                a = tarr[s]
                rpar = k * S + s
                if change[s] < NO_TRANSFER:
                    set_ready(ready, fresh, ready_par, stop_stamp, marks, s,
                              a + change[s] + slack, rpar, stamp)
                # walked here no later (from u, or from the origin u = -1 - stop): as in
                # csa.pyx, u's footpaths reached s's no later, all but the one back to u
                # (the division only where the trip was no earlier than the walk)
                if not rules and a >= arr[s]:
                    u = arr_par[s]
                    u = u % S if u >= 0 else -1 - u
                    if u != s and cover[u]:
                        if arr_par[s] >= 0:
                            for j in range(fpo[s], fpo[s + 1]):
                                if fpt[j] == u:
                                    set_ready(ready, fresh, ready_par, stop_stamp, marks, u,
                                              a + slack + fpd[j], rpar, stamp)
                                    break
                        continue
                for j in range(wo[s], wo[s + 1]):
                    a_fp = a + walk[j].dur
                    # later than the best arrival: neither a target's arrival nor a
                    # boarding can improve, nor can a longer walk (equal kept: ties
                    # between target rows)
                    if a_fp > best:
                        break
                    u = walk[j].to
                    best = reach(arr, arr_par, egress, u, a_fp, rpar, best)
                    set_ready(ready, fresh, ready_par, stop_stamp, marks, u, a_fp + slack,
                              rpar, stamp)
            for qi in range(ws.x_improved.size()):
                x = ws.x_improved[qi]
                a = ws.xtarr[x]
                s = net.xstop[x]
                rpar = -1 - S - (k * X + x)
                for j in range(fpo[s], fpo[s + 1]):
                    best = reach(arr, arr_par, egress, fpt[j], a + fpd[j], rpar, best)
                for j in range(net.xo[x], net.xo[x + 1]):
                    y = net.xy[j]
                    r = a + net.xt[j] + slack
                    if r < ws.yready[y]:
                        ws.yready[y] = r
                        ws.yready_par[y] = rpar
                        u = net.ystop[y]
                        if r < ws.ymin[u]:
                            ws.ymin[u] = r
                        if ws.stop_stamp[u] != stamp:
                            ws.stop_stamp[u] = stamp
                            ws.next_marked.push_back(u)
            ws.round_best.push_back(best)
        ws.stats.rounds = k
        ws.stats.routes_scanned = routes
        ws.stats.labels = labels
        clear_target_offsets(ws.egress.data(), tgt, n_tgt)
        return best

    def results(self, RaptorWorkspace ws, q):
        """The journey of the last search on ``q``, as :meth:`search` returns it (steps as
        in ``planner.routing.csa.CSA.results``)."""
        return self._results(ws, q.sources, q.targets, q.time)

    cdef list _results(self, RaptorWorkspace ws, const int[:, ::1] sources,
                       const int[:, ::1] targets, int departure):
        cdef int row, arrival
        row = self._best_target(ws, targets, &arrival)
        if row < 0:
            return []
        cdef int S = self.n_stops
        cdef list steps = []
        cdef int stop = targets[row, 0]
        cdef int par = ws.arr_par[stop]
        cdef int cur = stop
        cdef int x, k, src_row = -1, trips = 0, guard = 0, v, start
        cdef int X = self.a.n_alight_keys
        cdef int cur_y = -1  # board key of the trip boarded at cur (-1: the arrival)
        cdef OwlTripPar P
        cdef TimetableArrays A = self.a
        while True:
            guard += 1
            if guard > 1000:
                raise RuntimeError("journey reconstruction did not terminate")
            if -S <= par < 0:
                x = -1 - par
                src_row = earliest_source_row(rows_ptr(sources), sources.shape[0], x)
                A.append_origin(steps, x, cur, departure + sources[src_row, 1])
                break
            if par < 0:  # a keyed trip label
                v = -1 - S - par
                x = v % X
                P = ws.xtpar[v]
                start = A.st_arr[A.trip_st_offset[P.trip] + P.alight_pos]
                if cur_y >= 0:
                    A.append_change(steps, x, cur, cur_y, start)
                elif A.rule_alight_stop[x] != cur:
                    A.append_walk(steps, A.rule_alight_stop[x], cur, start)
            else:
                k = par // S
                x = par % S
                P = ws.tpar[k * S + x]
                if x != cur:
                    A.append_walk(steps, x, cur,
                                  A.st_arr[A.trip_st_offset[P.trip] + P.alight_pos])
            steps.append(("trip", P.trip, P.board_pos, P.alight_pos))
            trips += 1
            par = P.ready_par
            v = A.route_stop_offset[A.trip_route[P.trip]] + P.board_pos
            cur = A.route_stops[v]
            cur_y = A.route_board_rule[v] if par < -S else -1
        steps.reverse()
        return [(departure, arrival, trips, src_row, row, steps)]

    def best_target(self, RaptorWorkspace ws, const int[:, ::1] targets):
        """(target row, arrival incl. egress) of the last search, or (-1, INFINITY)."""
        cdef int arrival
        cdef int row = self._best_target(ws, targets, &arrival)
        return row, arrival

    cdef int _best_target(self, RaptorWorkspace ws, const int[:, ::1] targets,
                          int* arrival) noexcept:
        """(target row, arrival incl. egress) with the fewest trips among the earliest."""
        cdef int i, best = INF, arg = -1, a, rounds, best_rounds = INF, par
        for i in range(targets.shape[0]):
            a = ws.arr[targets[i, 0]]
            if a == INF:
                continue
            par = ws.arr_par[targets[i, 0]]
            if par >= 0:
                rounds = par // self.n_stops
            elif par < -self.n_stops:
                rounds = (-1 - self.n_stops - par) // self.a.n_alight_keys
            else:
                rounds = 0
            if a + targets[i, 1] < best or (a + targets[i, 1] == best and rounds < best_rounds):
                best = a + targets[i, 1]
                best_rounds = rounds
                arg = i
        arrival[0] = best
        return arg
