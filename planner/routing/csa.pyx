# cython: language_level=3
"""Connection Scan earliest arrival (Dibbelt, Pajor, Strasser, Wagner 2018).

Implements the transfer model of ``planner.timetable.model`` exactly:

* ``tarr[s]``: best arrival at ``s`` by alighting from a trip; only these labels may
  start a footpath (one hop, the footpaths are closed).
* ``arr[s]``: best arrival *at* ``s`` (trip or one footpath), what targets use.
* ``ready[s]``: earliest time a trip may be boarded at ``s``: ``tarr + change time``
  or ``tarr[x] + footpath``, plus the query's ``transfer_slack``; the origin itself
  and its footpaths are ready without slack.

Connections are copied once into 16-byte structs (departure, trip, stops; ``pickup``/
``dropoff`` folded into the stop fields as -1), four to a cache line; the arrival time
is read from the timetable's own array, and only for connections of boarded trips.
Trip "reached" flags are byte stamps of the workspace (cleared once every 255 searches),
so a query costs O(stops) for resets and nothing per trip, and the flags of HART's 9,201
trips fit in L1. ``ready`` and ``arr`` of a stop sit side by side (a footpath relaxation
reads and writes both). A route mask is only read when a trip is boarded (trip ->
route), so the scan itself stays as tight as without one.

A trip arrival no earlier than the stop's best ``arr`` relaxes no footpaths where that
cannot improve anything (``_footpath_gates``: the footpaths are closed around the stop
and walking there and back is no faster than the change time), as ULTRA relaxes only
improved arrivals; on HART's protocol footpaths that skips 3,700 of 6,200 relaxations a
query. Elsewhere every trip arrival improving ``tarr`` relaxes them, the model's rule.

Scoped transfer rules (``planner.timetable.transfer_rules``): a connection alighting at
a position with alight key ``x`` writes ``xtarr[x]`` (and the arrivals) instead of
``tarr``, and its changes write ``yready[y]`` of the board keys it reaches; a trip whose
boarding position has board key ``y`` may board when ``ready`` or ``yready[y]`` allows.
Parents ``>= S`` name an alight key (``S + x``). The keys per connection are only read
when the timetable has rules, and only off the common path.
"""

from libcpp.vector cimport vector

from planner.routing.kernel cimport (
    INF, NO_TRANSFER, Net, NoRules, QueryArgs, Rules, ScopedRules, TimetableArrays, Workspace,
    clear_target_offsets, rule_seconds, earliest_source_row, iptr,
    lower_bound, reset_stats, rows_ptr, set_target_offsets,
)

import numpy as np

from planner.routing.kernel import as_arrays

cdef extern from *:
    """
    #include <algorithm>
    struct OwlConn { int dep; int trip; int dep_stop; int arr_stop; };
    struct OwlWalk { int to; int dur; };
    struct StopTimes { int ready; int arr; };
    /* The plain scan's inner loop, from ``c`` to the first connection that departs at
       or after ``best`` (the sentinel's INF at the latest), boards a trip (not reached,
       its departure stop reached by then) or improves its arrival stop's ``arr`` by a
       reached trip; every other connection needs nothing. Both tests are computed for
       every connection and combined without a branch on the trip's flag, which the
       processor mispredicts (on the large feeds 15-25% faster per query than testing it
       first). A function of its own (and kept so): inside ``_run_plain`` the
       relaxations' pointers crowded its few values out of the registers (the
       connection pointer and the stamp were reloaded from the stack per connection). */
    __attribute__((noinline)) static const OwlConn* owl_plain_scan(
            const OwlConn* c, const OwlConn* cs, const int* carr,
            const unsigned char* reached, unsigned char epoch, const StopTimes* at,
            int best) {
        const int* ca = carr + (c - cs);
        for (;; ++c, ++ca) {
            const int dep = c->dep;
            if (dep >= best) return c;
            const unsigned on = reached[c->trip] == epoch;
            const unsigned improves = *ca < at[c->arr_stop].arr;
            const unsigned boards = at[c->dep_stop].arr <= dep;
            if ((on & improves) | ((on ^ 1u) & boards)) return c;
        }
    }
    static void owl_sort_walks(OwlWalk* first, OwlWalk* last) {
        std::stable_sort(first, last, [](const OwlWalk& x, const OwlWalk& y) {
            return x.dur < y.dur; });
    }
    """
    cdef struct OwlConn:
        int dep
        int trip
        int dep_stop
        int arr_stop
    cdef struct OwlWalk:
        int to
        int dur
    cdef struct StopTimes:
        # a stop's two labels side by side: a footpath relaxation reads and writes both
        int ready
        int arr
    const OwlConn* owl_plain_scan(const OwlConn* c, const OwlConn* cs, const int* carr,
                                  const unsigned char* reached, unsigned char epoch,
                                  const StopTimes* at, int best) noexcept nogil
    void owl_sort_walks(OwlWalk* first, OwlWalk* last) noexcept nogil


#: Footpath pairs the gate check may look at (per timetable) before it stops and leaves
#: the remaining stops ungated: a bound on construction time for dense footpath graphs.
cdef long long GATE_BUDGET = 50000000


cdef void _footpath_gates(const Net* n, unsigned char* gate) noexcept nogil:
    """``gate[s] = 1`` where a trip arriving at ``s`` no earlier than ``arr[s]`` needs no
    footpath relaxed from ``s`` (every one would improve nothing), as ULTRA relaxes only
    from improved arrivals. ``arr[s]`` was then set by a footpath ``x -> s`` (from a trip's
    alighting at ``x`` or from the origin), whose relaxations all ran; so it holds where
    for every ``x -> s`` (``d1``) and ``s -> u`` (``d2``) there is ``x -> u`` no longer than
    ``d1 + d2`` (``arr[u]`` and ``ready[u]`` are then no later already) and, for ``u == x``,
    ``x``'s change time is allowed and at most ``d1 + d2`` (``ready[x]``). A transitively
    closed footpath graph without change times (the reference's protocol) gates every
    stop; a bounded closure or long change times leave some stops ungated, answers the
    same either way. Stops with a footpath to themselves stay ungated."""
    cdef int S = n.n_stops
    cdef int x, j, k, s, u, d
    cdef long long work = 0
    cdef vector[int] mark, dur  # out-footpaths of x: mark[u] == x, shortest dur[u]
    mark.resize(S, -1)
    dur.resize(S, 0)
    for s in range(S):
        gate[s] = 1
        for k in range(n.fpo[s], n.fpo[s + 1]):
            if n.fpt[k] == s:
                gate[s] = 0
    for x in range(S):
        for j in range(n.fpo[x], n.fpo[x + 1]):
            u = n.fpt[j]
            if mark[u] != x or n.fpd[j] < dur[u]:
                mark[u] = x
                dur[u] = n.fpd[j]
        for j in range(n.fpo[x], n.fpo[x + 1]):
            s = n.fpt[j]
            if not gate[s]:
                continue
            work += n.fpo[s + 1] - n.fpo[s]
            if work > GATE_BUDGET:
                gate[s] = 0
                continue
            for k in range(n.fpo[s], n.fpo[s + 1]):
                u = n.fpt[k]
                d = n.fpd[j] + n.fpd[k]
                if u == x:
                    if n.change[x] >= NO_TRANSFER or n.change[x] > d:
                        gate[s] = 0
                        break
                elif mark[u] != x or dur[u] > d:
                    gate[s] = 0
                    break


cdef inline int _reach(StopTimes* at, int* arr_par, const int* egress, int s, int t, int par,
                       int best) noexcept nogil:
    """``planner.routing.kernel.reach`` over the interleaved labels."""
    cdef int e
    if t < at[s].arr:
        at[s].arr = t
        arr_par[s] = par
        e = egress[s]
        if e >= 0 and t + e < best:
            return t + e
    return best


cdef inline int _earliest(const int* src, int n_src, int departure) noexcept nogil:
    """The earliest time at a source row (INF: none)."""
    cdef int i, t = INF
    for i in range(n_src):
        if departure + src[2 * i + 1] < t:
            t = departure + src[2 * i + 1]
    return t


cdef inline int _reach_plain(StopTimes* at, int* arr_par, int s, int t, int par,
                             int best) noexcept nogil:
    """``_reach`` for ``_run_plain``, whose ``at[s].ready`` is the target offset."""
    cdef int e
    if t < at[s].arr:
        at[s].arr = t
        arr_par[s] = par
        e = at[s].ready
        if e >= 0 and t + e < best:
            return t + e
    return best


cdef class CSAWorkspace(Workspace):
    """Per-thread scratch state of a CSA search (never share between threads)."""

    cdef vector[StopTimes] at  # per stop: ready and arr
    cdef vector[int] tarr, arr_par, ready_par, tarr_exit, egress
    cdef vector[unsigned char] trip_epoch  # == epoch: the trip is boarded (bytes: L1)
    cdef vector[int] trip_enter, trip_par
    cdef vector[int] xtarr, xtarr_exit, yready, yready_par  # per alight / board key
    cdef int epoch

    def __init__(self, int n_stops, int n_trips, int n_x=0, int n_y=0):
        Workspace.__init__(self, n_stops, 0)
        self.xtarr.resize(n_x, INF)
        self.xtarr_exit.resize(n_x, -1)
        self.yready.resize(n_y, INF)
        self.yready_par.resize(n_y, 0)
        cdef StopTimes never
        never.ready = INF
        never.arr = INF
        # two stops more, never reset: ``n_stops`` stands for a connection's departure
        # without pickup (never ready) and ``n_stops + 1`` for an arrival without drop-off
        # (its labels beat every arrival), so the scans test no flags
        self.at.resize(n_stops + 2, never)
        self.at[n_stops + 1].arr = -INF
        self.tarr.resize(n_stops + 2, INF)
        self.tarr[n_stops + 1] = -INF
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
        out = np.empty(self.n_stops, dtype=np.int32)
        cdef int[::1] view = out
        cdef int i
        for i in range(self.n_stops):
            view[i] = self.at[i].arr
        return out


cdef inline unsigned char _begin(CSAWorkspace ws) noexcept nogil:
    """A search's start: the stats reset and its trip stamp (the byte stamps are cleared
    once every 255 searches)."""
    cdef int i
    reset_stats(ws)
    if ws.epoch >= 255:
        for i in range(<int>ws.trip_epoch.size()):
            ws.trip_epoch[i] = 0
        ws.epoch = 0
    ws.epoch += 1
    return <unsigned char>ws.epoch


cdef class CSA:
    """The timetable's connections and footpaths, prebound for repeated searches."""

    cdef vector[OwlConn] conns
    cdef vector[OwlWalk] walks  # the footpaths (offsets fpo), each stop's shortest first
    # the footpaths to stops where a connection can be boarded (offsets live_fpo), in the
    # same order: the plain scan's walks when every target is such a stop (a walk to any
    # other stop leads nowhere; WMATA's entrances are 2,050 of its 2,175 stops)
    cdef vector[OwlWalk] live_walks
    cdef vector[int] live_fpo
    cdef vector[unsigned char] live  # per stop: a connection with pickup departs there
    cdef readonly bint plain  # every change time 0 and every stop gated: see _run_plain
    cdef vector[unsigned char] gate  # per stop: see _footpath_gates
    cdef vector[int] minute_first  # first connection departing at or after minute m
    cdef const unsigned char* cover  # TimetableArrays.footpath_cover (held by self.a)
    cdef readonly TimetableArrays a  # the Router's, shared with its other engines
    cdef readonly int n_stops, n_trips, n_conns

    def __init__(self, arrays):
        """``arrays``: the Router's ``TimetableArrays`` (or a ``Timetable``)."""
        self.a = as_arrays(arrays)
        self.n_stops = self.a.n_stops
        self.n_trips = self.a.n_trips
        self.n_conns = self.a.n_conns
        cdef TimetableArrays a = self.a
        self.cover = a.footpath_cover()
        self.conns.resize(self.n_conns + 1)  # and a sentinel departing never: ends the scan
        cdef int s, S = self.n_stops
        self.conns[self.n_conns].dep = INF
        self.conns[self.n_conns].trip = 0
        self.conns[self.n_conns].dep_stop = S
        self.conns[self.n_conns].arr_stop = S + 1
        cdef Py_ssize_t i
        for i in range(self.n_conns):
            self.conns[i].dep = a.conn_dep[i]
            # the workspace's two extra stops stand for no pickup and no drop-off
            self.conns[i].dep_stop = a.conn_dep_stop[i] if a.conn_pickup[i] else S
            self.conns[i].arr_stop = a.conn_arr_stop[i] if a.conn_dropoff[i] else S + 1
            self.conns[i].trip = a.conn_trip[i]
        self.gate.resize(self.n_stops, 0)
        cdef Net net = a.net
        with nogil:
            _footpath_gates(&net, self.gate.data())
        self.walks.resize(net.fpo[S] if S > 0 and net.fpo != NULL else 0)
        for s in range(S):
            for i in range(net.fpo[s], net.fpo[s + 1]):
                self.walks[i].to = net.fpt[i]
                self.walks[i].dur = net.fpd[i]
            owl_sort_walks(self.walks.data() + net.fpo[s], self.walks.data() + net.fpo[s + 1])
        self.live.resize(S + 2, 0)  # the two extra stops (no pickup, no drop-off): never
        for i in range(self.n_conns):
            if a.conn_pickup[i]:
                self.live[a.conn_dep_stop[i]] = 1
        self.live_fpo.resize(S + 1, 0)
        for s in range(S):
            for i in range(net.fpo[s], net.fpo[s + 1]):
                if self.live[self.walks[i].to]:
                    self.live_walks.push_back(self.walks[i])
            self.live_fpo[s + 1] = <int>self.live_walks.size()
        self.plain = net.xal == NULL
        for s in range(S):
            if net.change[s] != 0 or not self.gate[s]:
                self.plain = False
        # the scan's start by departure: one minute's connections searched, not all
        cdef int n_minutes = (a.conn_dep[self.n_conns - 1] // 60 + 2) if self.n_conns > 0 else 1
        cdef int m, j = 0
        self.minute_first.resize(n_minutes + 1)
        for m in range(n_minutes + 1):
            while j < self.n_conns and a.conn_dep[j] < m * 60:
                j += 1
            self.minute_first[m] = j

    def footpath_gates(self):
        """Per stop 1 where arrivals no earlier than its best relax no footpaths (see
        ``_footpath_gates``), uint8[S]."""
        return np.asarray(<unsigned char[:self.n_stops]> self.gate.data()).copy()

    def workspace(self):
        return CSAWorkspace(self.n_stops, self.n_trips, self.a.n_alight_keys,
                            self.a.n_board_keys)


    cdef int _alight_keyed(self, CSAWorkspace ws, const Net* net, int x, int s, int a,
                           int i, int slack, int best) noexcept nogil:
        """Connection ``i`` alights at ``s`` at ``a`` under alight key ``x``; returns the
        best arrival."""
        cdef int j, y, r
        cdef StopTimes* at = ws.at.data()
        cdef int* arr_par = ws.arr_par.data()
        cdef const int* egress = ws.egress.data()
        if a >= ws.xtarr[x]:
            return best
        ws.xtarr[x] = a
        ws.xtarr_exit[x] = i
        ws.stats.labels += 1
        best = _reach(at, arr_par, egress, s, a, self.n_stops + x, best)
        for j in range(net.fpo[s], net.fpo[s + 1]):
            best = _reach(at, arr_par, egress, net.fpt[j], a + net.fpd[j], self.n_stops + x,
                          best)
        for j in range(net.xo[x], net.xo[x + 1]):
            y = net.xy[j]
            r = a + net.xt[j] + slack
            if r < ws.yready[y]:
                ws.yready[y] = r
                ws.yready_par[y] = x
        return best

    def arrival(self, CSAWorkspace ws, q):
        """Earliest arrival at any of ``q``'s targets (``INFINITY`` if none), no journey
        built (the fast path). With no targets, scans to the end (one-to-all);
        ``ws.arrivals()`` then holds every stop's arrival."""
        # the rows as pointers (no typed memoryviews: acquiring them cost ~0.8 us a query)
        cdef QueryArgs qa
        self.a.read_query(q, &qa)
        return self._start(ws, &qa, qa.time)

    cdef int _start(self, CSAWorkspace ws, const QueryArgs* qa, int departure) except? -1:
        cdef int best
        with nogil:  # even on small feeds: other threads run while a search does
            best = self._dispatch(ws, qa, departure)
        return best

    cdef inline int _dispatch(self, CSAWorkspace ws, const QueryArgs* qa,
                              int departure) noexcept nogil:
        if self.plain and qa.slack == 0:
            return self._run_plain(ws, qa.src, qa.n_src, qa.tgt, qa.n_tgt, departure, qa.mask)
        if self.a.net.xal == NULL:
            return self._run(ws, qa.src, qa.n_src, qa.tgt, qa.n_tgt, departure, qa.slack,
                             qa.mask, <NoRules*>NULL)
        return self._run(ws, qa.src, qa.n_src, qa.tgt, qa.n_tgt, departure, qa.slack,
                         qa.mask, <ScopedRules*>NULL)

    def search(self, CSAWorkspace ws, q):
        """``q``'s earliest-arrival journey: ``[]`` or ``[(departure, arrival, trips,
        source_row, target_row, steps)]`` (see :meth:`results`)."""
        return self.search_from(ws, q, q.time)

    def search_from(self, CSAWorkspace ws, q, int departure):
        """Like :meth:`search`, departing at ``departure`` instead of ``q.time`` (the
        reverse engines rebuild their answer from the latest departure with it)."""
        cdef QueryArgs qa
        self.a.read_query(q, &qa)
        cdef const int[:, ::1] sources = q.sources
        cdef const int[:, ::1] targets = q.targets
        self._start(ws, &qa, departure)
        return self._results(ws, sources, targets, departure)

    cdef int _run_plain(self, CSAWorkspace ws, const int* src, int n_src, const int* tgt,
                        int n_tgt, int departure, const unsigned char* mask) noexcept nogil:
        """``_run`` where every change time is 0, every stop gated and the slack 0 (the
        reference's protocol), as ULTRA scans: ``ready`` is then ``arr`` (and
        ``ready_par`` ``arr_par``), so one label per stop, and a trip arrival relaxes its
        footpaths only when it improves ``arr`` (the gates: a later one improves nothing,
        ``tarr`` is not needed). ``at[s].ready`` holds the target offset instead (-1: no
        target), read in the cache line of ``arr``; the footpaths are walked shortest
        first and left at the first reaching nothing before the best arrival. The answers
        and ``arr`` before the best arrival are ``_run``'s."""
        cdef int best = INF
        cdef int i, j, s, u, t, a, e, start_time, trip, lo
        cdef int S = self.n_stops
        cdef unsigned char epoch
        cdef long long labels = 0
        cdef OwlConn* cs = self.conns.data()
        cdef const OwlConn* c
        cdef const int* carr = iptr(self.a.conn_arr)  # read beside the connections (owl_plain_scan)
        cdef StopTimes* at = ws.at.data()  # .ready: the target offset, .arr: the label
        cdef unsigned char* trip_epoch = ws.trip_epoch.data()
        cdef int* arr_par = ws.arr_par.data()
        cdef int* tarr_exit = ws.tarr_exit.data()
        cdef int* trip_enter = ws.trip_enter.data()
        cdef int* trip_par = ws.trip_par.data()
        cdef const int* fpo = self.a.net.fpo
        cdef const OwlWalk* walks = self.walks.data()
        cdef const int* trip_route = self.a.net.trip_route
        cdef const unsigned char* live = self.live.data()
        epoch = _begin(ws)
        for i in range(S):
            at[i].ready = -1
            at[i].arr = INF
        e = 1 if n_tgt > 0 else 0  # every target a stop where a connection can be boarded
        for i in range(n_tgt):
            s = tgt[2 * i]
            if at[s].ready < 0 or tgt[2 * i + 1] < at[s].ready:
                at[s].ready = tgt[2 * i + 1]
            if not live[s]:
                e = 0
        if e and S > 0:  # then walks to other stops reach neither a target nor a trip
            fpo = self.live_fpo.data()
            walks = self.live_walks.data()
        start_time = _earliest(src, n_src, departure)
        for i in range(n_src):
            s = src[2 * i]
            a = departure + src[2 * i + 1]
            best = _reach_plain(at, arr_par, s, a, -1 - s, best)
            for j in range(fpo[s], fpo[s + 1]):
                best = _reach_plain(at, arr_par, walks[j].to, a + walks[j].dur, -1 - s, best)
        lo = self._first_connection(start_time)
        c = cs + lo
        while True:
            # a departure stop S (no pickup) is never reached, an arrival stop S + 1 (no
            # drop-off) beats every arrival
            c = owl_plain_scan(c, cs, carr, trip_epoch, epoch, at, best)
            if c.dep >= best:  # the sentinel's INF ends it at the latest (best <= INF)
                break
            trip = c.trip
            if trip_epoch[trip] != epoch:
                if mask != NULL and not mask[trip_route[trip]]:  # a mode not asked for
                    c += 1
                    continue
                trip_epoch[trip] = epoch
                trip_enter[trip] = <int>(c - cs)
                trip_par[trip] = arr_par[c.dep_stop]
            s = c.arr_stop
            a = carr[c - cs]
            if a < at[s].arr:
                at[s].arr = a
                arr_par[s] = s
                tarr_exit[s] = <int>(c - cs)
                labels += 1
                e = at[s].ready
                if e >= 0 and a + e < best:
                    best = a + e
                for j in range(fpo[s], fpo[s + 1]):
                    t = a + walks[j].dur
                    if t >= best:
                        break  # and every longer one
                    u = walks[j].to
                    if t < at[u].arr:
                        at[u].arr = t
                        arr_par[u] = s
                        e = at[u].ready
                        if e >= 0 and t + e < best:
                            best = t + e
            c += 1
        ws.stats.connections_scanned = <int>(c - cs) - lo
        ws.stats.labels += labels
        return best

    cdef inline int _first_connection(self, int start_time) noexcept nogil:
        """The first connection departing at or after ``start_time``."""
        if start_time <= 0:
            return 0
        if start_time // 60 + 1 >= <int>self.minute_first.size():
            return self.n_conns
        return lower_bound(iptr(self.a.conn_dep), 1, self.minute_first[start_time // 60],
                           self.minute_first[start_time // 60 + 1], start_time)

    cdef int _run(self, CSAWorkspace ws, const int* src, int n_src, const int* tgt,
                  int n_tgt, int departure, int slack, const unsigned char* mask,
                  Rules* mode) noexcept nogil:
        cdef int best = INF
        cdef int i, j, s, u, t, a, r, e, start_time, trip, lo, y, board_par
        cdef int S = self.n_stops
        cdef unsigned char epoch
        cdef long long labels = 0
        cdef OwlConn* cs = self.conns.data()
        cdef const int* carr = iptr(self.a.conn_arr)  # read for boarded trips only
        cdef StopTimes* at = ws.at.data()
        cdef int* tarr
        cdef unsigned char* trip_epoch
        cdef int* arr_par = ws.arr_par.data()
        cdef const int* egress = ws.egress.data()
        cdef int* ready_par = ws.ready_par.data()
        cdef int* tarr_exit = ws.tarr_exit.data()
        cdef int* trip_enter = ws.trip_enter.data()
        cdef int* trip_par = ws.trip_par.data()
        cdef Net net_copy = self.a.net
        cdef const Net* net = &net_copy
        cdef const int* change = net.change
        cdef const int* fpo = net.fpo
        cdef const int* fpt = net.fpt
        cdef const int* fpd = net.fpd
        cdef const int* trip_route = net.trip_route
        cdef OwlConn* c
        cdef const unsigned char* gate = self.gate.data()
        cdef const unsigned char* cover = self.cover
        cdef const int* cx = NULL
        cdef const int* cy = NULL
        if Rules is ScopedRules:  # compile-time: two copies of this loop
            cx = iptr(self.a.conn_alight_key)
            cy = iptr(self.a.conn_board_key)
        epoch = _begin(ws)
        for i in range(self.n_stops):
            at[i].ready = INF
            at[i].arr = INF
            ws.tarr[i] = INF
        if Rules is ScopedRules:
            for i in range(<int>ws.xtarr.size()):
                ws.xtarr[i] = INF
            for i in range(<int>ws.yready.size()):
                ws.yready[i] = INF
        set_target_offsets(ws.egress.data(), tgt, n_tgt)
        start_time = _earliest(src, n_src, departure)
        for i in range(n_src):
            s = src[2 * i]
            a = departure + src[2 * i + 1]
            best = _reach(at, arr_par, egress, s, a, -1 - s, best)
            if a < at[s].ready:
                at[s].ready = a
                ready_par[s] = -1 - s
            for j in range(fpo[s], fpo[s + 1]):
                u = fpt[j]
                best = _reach(at, arr_par, egress, u, a + fpd[j], -1 - s, best)
                if a + fpd[j] < at[u].ready:
                    at[u].ready = a + fpd[j]
                    ready_par[u] = -1 - s
        lo = self._first_connection(start_time)
        tarr = ws.tarr.data()
        trip_epoch = ws.trip_epoch.data()
        i = lo
        while True:
            c = cs + i
            if c.dep >= best:  # the sentinel's INF ends it at the latest (best <= INF)
                break
            trip = c.trip
            if trip_epoch[trip] != epoch:
                s = c.dep_stop
                board_par = -1  # boarded from ready[s]; else from a board key's label
                if at[s].ready > c.dep:
                    if Rules is ScopedRules and s < S and cy[i] >= 0 and ws.yready[cy[i]] <= c.dep:
                        board_par = self.n_stops + ws.yready_par[cy[i]]
                    else:
                        i += 1
                        continue
                if mask != NULL and mask[trip_route[trip]] == 0:
                    i += 1
                    continue
                trip_epoch[trip] = epoch
                trip_enter[trip] = i
                trip_par[trip] = ready_par[s] if board_par < 0 else board_par
            s = c.arr_stop
            a = carr[i]
            if Rules is ScopedRules and s < S and cx[i] >= 0:
                best = self._alight_keyed(ws, net, cx[i], s, a, i, slack, best)
            elif a < tarr[s]:
                tarr[s] = a
                labels += 1
                tarr_exit[s] = i
                if change[s] < NO_TRANSFER:
                    r = a + change[s] + slack
                    if r < at[s].ready:
                        at[s].ready = r
                        ready_par[s] = s
                if a < at[s].arr:
                    at[s].arr = a
                    arr_par[s] = s
                    e = egress[s]
                    if e >= 0 and a + e < best:
                        best = a + e
                elif Rules is NoRules:
                    if gate[s]:
                        i += 1  # its footpaths would improve nothing
                        continue
                    e = arr_par[s]  # a stop walked from (or the origin's -1 - stop)
                    if cover[e if e >= 0 else -1 - e]:
                        # walked here no later: e's footpaths reached s's no later
                        # (``footpath_cover``), all but the one back to e itself
                        if e >= 0:
                            for j in range(fpo[s], fpo[s + 1]):
                                if fpt[j] == e:
                                    r = a + fpd[j] + slack
                                    if r < at[e].ready:
                                        at[e].ready = r
                                        ready_par[e] = s
                                    break
                        i += 1
                        continue
                for j in range(fpo[s], fpo[s + 1]):
                    u = fpt[j]
                    best = _reach(at, arr_par, egress, u, a + fpd[j], s, best)
                    r = a + fpd[j] + slack
                    if r < at[u].ready:
                        at[u].ready = r
                        ready_par[u] = s
            i += 1
        ws.stats.connections_scanned = i - lo
        ws.stats.labels += labels
        clear_target_offsets(ws.egress.data(), tgt, n_tgt)
        return best

    def results(self, CSAWorkspace ws, q):
        """The journey of the last search on ``q``, as :meth:`search` returns it.

        Steps are ``("origin", source stop, time)`` first, then
        ``("walk", from, to, start, duration)`` and ``("trip", trip, board_pos, alight_pos)``
        (route positions), the same in every engine.
        """
        return self._results(ws, q.sources, q.targets, q.time)

    cdef list _results(self, CSAWorkspace ws, const int[:, ::1] sources,
                       const int[:, ::1] targets, int departure):
        cdef int row, arrival
        row = self._best_target(ws, targets, &arrival)
        if row < 0:
            return []
        cdef list steps = []
        cdef int stop = targets[row, 0]
        cdef int par = ws.arr_par[stop]
        cdef int x, c, c0, trip, src_row = -1, trips = 0, guard = 0
        cdef int cur = stop
        cdef int cur_y = -1  # board key of the trip boarded at cur (-1: the arrival)
        cdef int S = self.n_stops
        cdef TimetableArrays A = self.a
        while True:
            guard += 1
            if guard > 10000:
                raise RuntimeError("journey reconstruction did not terminate")
            if par < 0:
                x = -1 - par
                src_row = earliest_source_row(rows_ptr(sources), sources.shape[0], x)
                A.append_origin(steps, x, cur, departure + sources[src_row, 1])
                break
            if par >= S:
                x = par - S
                if cur_y >= 0:
                    A.append_change(steps, x, cur, cur_y, ws.xtarr[x])
                elif A.rule_alight_stop[x] != cur:
                    A.append_walk(steps, A.rule_alight_stop[x], cur, ws.xtarr[x])
                c = ws.xtarr_exit[x]
            else:
                x = par
                c = ws.tarr_exit[x]
                if x != cur:  # (the plain scan keeps no ``tarr``: the exit's arrival)
                    A.append_walk(steps, x, cur, A.conn_arr[c])
            trip = A.conn_trip[c]
            c0 = ws.trip_enter[trip]
            steps.append(("trip", trip, A.conn_pos[c0], A.conn_pos[c] + 1))
            trips += 1
            par = ws.trip_par[trip]
            cur = A.conn_dep_stop[c0]
            cur_y = A.conn_board_key[c0] if par >= S else -1
        steps.reverse()
        return [(departure, arrival, trips, src_row, row, steps)]

    def best_target(self, CSAWorkspace ws, const int[:, ::1] targets):
        """(target row, arrival incl. egress) of the last search, or (-1, INFINITY)."""
        cdef int arrival
        cdef int row = self._best_target(ws, targets, &arrival)
        return row, arrival

    cdef int _best_target(self, CSAWorkspace ws, const int[:, ::1] targets,
                          int* arrival) noexcept:
        """(target row index, arrival incl. egress) of the best target, or (-1, INFINITY)."""
        cdef int i, best = INF, arg = -1, a
        for i in range(targets.shape[0]):
            a = ws.at[targets[i, 0]].arr
            if a != INF and a + targets[i, 1] < best:
                best = a + targets[i, 1]
                arg = i
        arrival[0] = best
        return arg
