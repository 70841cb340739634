# cython: language_level=3
"""The routing kernel: timetable views, workspaces and the primitives every engine shares.

``cimport`` from here; the primitives are ``inline`` and ``nogil`` so an engine's hot
loop compiles them in place. See ``planner/routing/kernel.pyx`` for why each exists.
"""

from libcpp.algorithm cimport sort
from libcpp.vector cimport vector

cdef enum:
    INF = 2147483647           # planner.timetable.model.INFINITY: "unreached"
    NO_TRANSFER = 1 << 29      # planner.timetable.model.NO_TRANSFER: no change at this stop
    STAMP_MAX = 2147483000     # stamps restart (arrays cleared) before they can overflow


cdef struct Net:
    # raw pointers into TimetableArrays' views (NULL for an empty array); engines copy
    # it into a local per search, which the compiler then knows no call can change
    int n_stops, n_routes, n_trips, n_conns
    const int* change
    const int* rso       # route_stop_offset
    const int* rstops    # route_stops
    const int* rto       # route_trip_offset
    const unsigned char* pick
    const unsigned char* drop
    const int* trip_route
    const int* tso       # trip_st_offset
    const int* sarr
    const int* sdep
    const int* dbp       # dep_by_pos: per route, departures position-major
    const int* abp       # arr_by_pos: the same of arrivals (reverse RAPTOR)
    const int* sro       # stop_route_offset
    const int* srr       # stop_route_route
    const int* srp       # stop_route_pos
    const int* srl       # stop_route_last: the route's last departure there (-INF: no boarding)
    const int* fpo
    const int* fpt
    const int* fpd
    const int* fpio
    const int* fpif
    const int* fpid
    # scoped transfer rules (planner.timetable.transfer_rules); xal NULL: none
    int n_x, n_y
    const int* xal       # route_alight_rule: alight key per route position, -1 none
    const int* ybd       # route_board_rule: board key per route position, -1 none
    const int* xstop     # rule_alight_stop
    const int* ystop     # rule_board_stop
    const int* xo        # rule_offset (CSR by alight key)
    const int* xy        # rule_board
    const int* xt        # rule_time
    const int* yio       # rule_in_offset (CSR by board key)
    const int* yix       # rule_in_alight
    const int* yit       # rule_in_time


cdef struct SearchStats:
    long long rounds
    long long routes_scanned
    long long connections_scanned
    long long labels


cdef struct QueryArgs:
    # one Query's fields as the nogil loops read them (``TimetableArrays.read_query``);
    # the pointers are into the query's own arrays, which the caller holds for the search
    const int* src       # (stop, seconds) rows; NULL when there are none
    const int* tgt
    const int* sx        # source_extra / target_extra, NULL: none (0)
    const int* tx
    const unsigned char* mask   # route_mask, NULL: every route
    int n_src, n_tgt
    int time, max_trips, slack


cdef struct Egress:
    int time      # seconds from this stop to the destination (footpath + target offset)
    int extra     # the target row's extra criterion
    int target    # target row
    int fp        # footpath seconds to the target stop (0: the stop is the target)
    int next      # next option at the same stop, -1 ends the list


cdef class TimetableArrays:
    cdef readonly int n_stops, n_routes, n_trips, n_conns, n_footpaths
    cdef Net net

    # views (readonly from Python, e.g. np.asarray(arrays.st_dep)); stops
    cdef readonly const int[::1] change
    # RAPTOR routes and trips
    cdef readonly const int[::1] route_stop_offset, route_stops, route_trip_offset
    cdef readonly const unsigned char[::1] route_pickup, route_dropoff
    cdef readonly const int[::1] trip_route, trip_st_offset, st_arr, st_dep
    cdef readonly const int[::1] dep_by_pos, arr_by_pos
    cdef readonly const int[::1] stop_route_offset, stop_route_route, stop_route_pos
    cdef readonly const int[::1] stop_route_last
    # CSA connections
    cdef readonly const int[::1] conn_dep_stop, conn_arr_stop, conn_dep, conn_arr
    cdef readonly const int[::1] conn_trip, conn_pos
    cdef readonly const unsigned char[::1] conn_pickup, conn_dropoff
    # footpaths (CSR by from-stop and by to-stop); may be empty
    cdef readonly const int[::1] fp_offset, fp_to, fp_dur, fp_in_offset, fp_in_from, fp_in_dur
    # scoped transfer rules; empty when the timetable has none
    cdef readonly int n_alight_keys, n_board_keys
    cdef readonly const int[::1] route_alight_rule, route_board_rule, rule_alight_stop
    cdef readonly const int[::1] rule_board_stop, rule_offset, rule_board, rule_time
    cdef readonly const int[::1] rule_in_offset, rule_in_alight, rule_in_time
    # per connection: the alight key of its arrival, the board key of its departure
    cdef readonly const int[::1] conn_alight_key, conn_board_key

    # per stop: its footpaths cover every walk of two footpaths through them (1/0),
    # built on first use (``footpath_cover``); empty until then
    cdef readonly const unsigned char[::1] fp_covers

    cdef int check_rows(self, const int[:, ::1] rows, str what) except -1
    cdef const unsigned char* footpath_cover(self) except? NULL
    cdef int route_mask(self, object q, const unsigned char** out) except -1
    cdef int read_query(self, object q, QueryArgs* out) except -1
    cdef int append_walk(self, list steps, int a, int b, int start) except -1
    cdef int append_change(self, list steps, int x, int b, int y, int start) except -1
    cdef int append_origin(self, list steps, int source, int cur, int start) except -1
    cdef int append_start(self, list steps, int source, int cur, int start) except -1

    cdef inline int fp_duration(self, int a, int b) noexcept nogil:
        """Seconds of the footpath ``a -> b``, or -1 if there is none."""
        cdef int j
        for j in range(self.fp_offset[a], self.fp_offset[a + 1]):
            if self.fp_to[j] == b:
                return self.fp_dur[j]
        return -1


cdef class Workspace:
    cdef SearchStats stats
    cdef readonly int n_stops, n_routes
    # routes of marked stops, with the earliest marked position (INF: not queued)
    cdef vector[int] route_first, routes
    # egress options per stop: eg_head[s] starts a list in eg (-1: none)
    cdef vector[int] eg_head, eg_touched
    cdef vector[Egress] eg


cdef inline const int* iptr(const int[::1] a) noexcept nogil:
    """``&a[0]``, or NULL for an empty array (loops bounded by offsets never read it)."""
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline const unsigned char* bptr(const unsigned char[::1] a) noexcept nogil:
    """``&a[0]``, or NULL for an empty array."""
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline const int* rows_ptr(const int[:, ::1] rows) noexcept nogil:
    """``(stop, seconds)`` rows as a flat pointer (NULL when there are none)."""
    return &rows[0, 0] if rows.shape[0] > 0 else NULL



# -- searching sorted runs ---------------------------------------------------------------
cdef inline int lower_bound(const int* a, int stride, int lo, int hi, int x) noexcept nogil:
    """First ``i`` in ``[lo, hi)`` with ``a[i * stride] >= x`` (``hi`` if none), the
    values ascending; stride 1 for a plain run."""
    cdef int mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid * stride] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline const int* trip_column(const Net* n, int t0, int t1, int pos) noexcept nogil:
    """Departures at route position ``pos`` of the route's trips ``t0..t1``, one run."""
    return n.dbp + n.tso[t0] + pos * (t1 - t0)


#: Up to this many trips a linear scan beats the binary search (its one mispredicted
#: branch at the end against one per halving); DB long distance has ~10 trips a route.
cdef enum:
    LINEAR_TRIPS = 8
    BACK_STEPS = 4


cdef inline int earliest_trip(const Net* n, int t0, int t1, int pos, int hi,
                              int time) noexcept nogil:
    """Earliest trip in ``[t0, hi)`` (``hi <= t1``, the route's trips ``t0..t1``)
    departing at ``pos`` at or after ``time``; ``hi`` if none."""
    cdef const int* col = trip_column(n, t0, t1, pos)
    cdef int m = hi - t0
    cdef int i = 0
    if m <= LINEAR_TRIPS:
        while i < m and col[i] < time:
            i += 1
        return t0 + i
    return t0 + lower_bound(col, 1, 0, m, time)


cdef inline int earlier_trip(const Net* n, int t0, int t1, int pos, int trip,
                             int time) noexcept nogil:
    """``earliest_trip`` below a boarded ``trip`` (``trip`` if none is earlier): a few
    steps back from it first, as ULTRA scans (a later stop's label mostly catches the trip
    before), then a binary search over what is left."""
    cdef const int* col = trip_column(n, t0, t1, pos)
    cdef int i = trip - t0
    cdef int stop = i - BACK_STEPS
    while i > 0 and col[i - 1] >= time:
        i -= 1
        if i == stop:
            return t0 + lower_bound(col, 1, 0, i, time)
    return t0 + i


# RAPTOR's scan keeps the boarded trip as an index into the route's transposed block
# (``trip_column``'s runs) and tests at every position whether the trip before it can
# be caught, as ULTRA does; these search one column without data-dependent branches
# where that is cheap: on DB FV (~4 trips a route) the exits of the search loops were
# mispredicted about every other time.
cdef inline int first_at_least(const int* col, int m, int time) noexcept nogil:
    """Index of the first of the ascending ``col[0..m)`` that is ``>= time`` (``m`` if
    none): up to ``LINEAR_TRIPS`` a count of the smaller ones (branch-free), else a
    binary search of a fixed number of halvings for ``m`` (conditional moves)."""
    cdef int i, c = 0, half
    cdef const int* lo = col
    if m <= LINEAR_TRIPS:
        for i in range(m):
            c += col[i] < time
        return c
    while m > 1:
        half = m >> 1
        lo = lo + half if lo[half - 1] < time else lo
        m -= half
    return <int>(lo - col) + (lo[0] < time)


cdef inline int earlier_at_least(const int* col, int i, int time) noexcept nogil:
    """``first_at_least`` below index ``i`` (``i`` if none is), knowing ``col[i - 1] >=
    time`` was just seen: a few steps back first (a later stop mostly catches the trip
    just before), then a binary search over what is left."""
    cdef int stop = i - BACK_STEPS
    i -= 1
    while i > 0 and col[i - 1] >= time:
        i -= 1
        if i == stop:
            return first_at_least(col, i, time)
    return i


cdef inline int latest_trip(const Net* n, int t0, int t1, int pos, int lo,
                            int time) noexcept nogil:
    """Latest trip in ``[lo, t1)`` arriving at ``pos`` by ``time`` (``lo - 1`` if none),
    over the transposed arrivals: reverse RAPTOR's boarding, mirrored."""
    return t0 + lower_bound(n.abp + n.tso[t0] + pos * (t1 - t0), 1, lo - t0, t1 - t0,
                            time + 1) - 1


# rRAPTOR reruns the same routes for every departure of its window and then reads the
# boarded trip's row along the route; searching the rows themselves leaves that row in
# cache and measured ~2.5% faster there than the transposed run (RAPTOR and McRAPTOR
# are not slower with the latter, and rRAPTOR reads its window's departures from it).
cdef inline int earliest_trip_in_rows(const Net* n, int t0, int pos, int hi,
                                      int time) noexcept nogil:
    """``earliest_trip`` over ``st_dep``'s rows (through ``trip_st_offset``, which
    measured faster than a strided ``lower_bound`` here)."""
    cdef int mid
    cdef int lo = t0
    while lo < hi:
        mid = (lo + hi) >> 1
        if n.sdep[n.tso[mid] + pos] < time:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline int earlier_trip_in_rows(const Net* n, int t0, int pos, int trip,
                                     int time) noexcept nogil:
    """Earliest trip in ``[t0, trip)`` departing at ``pos`` at or after ``time``
    (``trip`` if none), scanning back from ``trip``: where labels improve by a trip or
    two at a time (rRAPTOR's later runs) this beats a binary search."""
    while trip > t0 and n.sdep[n.tso[trip - 1] + pos] >= time:
        trip -= 1
    return trip


# -- scoped transfer rules ----------------------------------------------------------------
# Each engine's hot loop is compiled twice, as a function fused over ``Rules``: the
# ``NoRules`` copy (``Rules is ScopedRules`` is a compile-time False there) is the loop
# without any rule code, taken once per query when ``net.xal`` is NULL, so feeds without
# scoped rows keep the speed they had (a run-time test in the loop cost 2-9 % in
# interleaved runs on HART and DB FV; see the branch's report for the figures).
cdef struct NoRules:
    int unused

cdef struct ScopedRules:
    int unused

ctypedef fused Rules:
    NoRules
    ScopedRules


cdef inline int rule_seconds(const Net* n, int x, int y) noexcept nogil:
    """Seconds of the change from alight key ``x`` to board key ``y``, -1 if forbidden."""
    cdef int j
    for j in range(n.xo[x], n.xo[x + 1]):
        if n.xy[j] == y:
            return n.xt[j]
    return -1


# -- stamps ------------------------------------------------------------------------------
cdef inline int fresh_stamps(int stamp, int needed, vector[int]* a,
                             vector[int]* b) noexcept nogil:
    """``stamp``, or 0 after clearing ``a`` and ``b`` (NULL: none) when ``needed`` more
    stamps could overflow; a search calls it once, then counts up freely."""
    cdef size_t i
    if stamp < STAMP_MAX - needed:
        return stamp
    if a != NULL:
        for i in range(a.size()):
            a[0][i] = 0
    if b != NULL:
        for i in range(b.size()):
            b[0][i] = 0
    return 0


# -- routes of marked stops --------------------------------------------------------------
cdef inline void begin_routes(Workspace ws) noexcept nogil:
    """Start collecting routes (one per round; the last round took all it queued)."""
    ws.routes.clear()


cdef inline void _queue_route(Workspace ws, int* first, int r, int p, bint latest) noexcept nogil:
    if first[r] == INF:
        first[r] = p
        ws.routes.push_back(r)
    elif (p > first[r]) if latest else (p < first[r]):
        first[r] = p


cdef inline void add_routes_at(Workspace ws, const Net* n, const unsigned char* mask,
                               int s, bint latest) noexcept nogil:
    """Queue the routes serving ``s`` that ``mask`` allows (NULL: all), each once, with
    the earliest marked position (the latest if ``latest``: a reverse search scans
    routes backwards), which ``take_route`` reads. A route not queued has ``INF`` there,
    so queueing needs no stamp array (measured ~3% faster in rRAPTOR than stamps)."""
    cdef int j, r
    cdef int* first = ws.route_first.data()
    for j in range(n.sro[s], n.sro[s + 1]):
        r = n.srr[j]
        if mask != NULL and mask[r] == 0:
            continue
        _queue_route(ws, first, r, n.srp[j], latest)


cdef inline void add_boardable_routes_at(Workspace ws, const Net* n, const unsigned char* mask,
                                         int s, int time) noexcept nogil:
    """``add_routes_at`` for a forward search ready at ``s`` at ``time``: only positions
    where a trip can still be boarded (``srl``: not the route's last stop, pickup allowed,
    its last trip departs there at or after ``time``), as ULTRA collects. A route that
    cannot be boarded at any marked stop is never scanned (on DB long distance a third of
    the routes RAPTOR scanned)."""
    cdef int j, r
    cdef int* first = ws.route_first.data()
    for j in range(n.sro[s], n.sro[s + 1]):
        if n.srl[j] < time:
            continue
        r = n.srr[j]
        if mask != NULL and mask[r] == 0:
            continue
        _queue_route(ws, first, r, n.srp[j], False)


cdef inline int queue_boardable_routes(const Net* n, const unsigned char* mask, int* first,
                                       int* queue, int count, int s,
                                       int time) noexcept nogil:
    """``add_boardable_routes_at`` without branches on the entries: ``first[r]`` takes the
    minimum position unconditionally (``INF`` where the entry cannot board), every route
    is written at ``queue[count]`` and ``count`` advances only for one not queued yet.
    Returns the new count; ``queue`` holds ``n_routes + 1``. On DB FV a third of the
    tests of the branching version mispredicted (most marked stops see ~6 routes)."""
    cdef int j, r, f, p, ok
    for j in range(n.sro[s], n.sro[s + 1]):
        r = n.srr[j]
        ok = n.srl[j] >= time
        if mask != NULL:
            ok = ok & (mask[r] != 0)
        f = first[r]
        # p = srp[j] if ok else INF, then first[r] = min(p, f), in masks: gcc kept
        # branches for the conditional expressions
        p = (n.srp[j] & (-ok)) | (INF & (ok - 1))
        first[r] = f + ((p - f) & -(p < f))
        queue[count] = r
        count += ok & (f == INF)
    return count


cdef inline int take_route(Workspace ws, int r) noexcept nogil:
    """The marked position of queued route ``r``, unqueueing it; a search takes every
    route it queued before queueing again."""
    cdef int p = ws.route_first[r]
    ws.route_first[r] = INF
    return p


# -- labels ------------------------------------------------------------------------------
cdef inline int reach(int* arr, int* arr_par, const int* egress, int s, int t, int par,
                      int best) noexcept nogil:
    """Earliest-arrival engines: ``s`` is arrived at at ``t`` (parent ``par``); returns the
    best arrival at a target (``egress``: per stop its offset, -1 none). The best goes by
    value and the arrays as the caller's locals: with its address taken, or the arrays
    read through the workspace, both were reloaded after every store of the scan."""
    cdef int e
    if t < arr[s]:
        arr[s] = t
        arr_par[s] = par
        e = egress[s]
        if e >= 0 and t + e < best:
            return t + e
    return best


# -- targets -----------------------------------------------------------------------------
cdef inline void set_target_offsets(int* egress, const int* rows, int n) noexcept nogil:
    """``egress[stop]``: the smallest offset of the target rows at ``stop`` (else -1)."""
    cdef int i, s
    for i in range(n):
        s = rows[2 * i]
        if egress[s] < 0 or rows[2 * i + 1] < egress[s]:
            egress[s] = rows[2 * i + 1]


cdef inline void clear_target_offsets(int* egress, const int* rows, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        egress[rows[2 * i]] = -1


cdef inline void _push_egress(Workspace ws, int s, Egress* opt) noexcept nogil:
    opt.next = ws.eg_head[s]
    if opt.next < 0:
        ws.eg_touched.push_back(s)
    ws.eg_head[s] = <int>ws.eg.size()
    ws.eg.push_back(opt[0])


cdef inline void build_egress(Workspace ws, const Net* n, const int* rows, int n_rows,
                              const int* extra) noexcept nogil:
    """Egress options: each target row at its stop and one footpath before it (the
    footpaths are closed, so one hop suffices); ``extra`` may be NULL (0)."""
    cdef int i, j, s, e
    cdef Egress opt
    ws.eg.clear()
    for i in range(n_rows):
        s = rows[2 * i]
        e = rows[2 * i + 1]
        opt.time = e
        opt.extra = extra[i] if extra != NULL else 0
        opt.target = i
        opt.fp = 0
        _push_egress(ws, s, &opt)
        for j in range(n.fpio[s], n.fpio[s + 1]):
            opt.time = e + n.fpid[j]
            opt.fp = n.fpid[j]
            _push_egress(ws, n.fpif[j], &opt)


cdef inline void clear_egress(Workspace ws) noexcept nogil:
    cdef size_t q
    for q in range(ws.eg_touched.size()):
        ws.eg_head[ws.eg_touched[q]] = -1
    ws.eg_touched.clear()


# -- sources -----------------------------------------------------------------------------
cdef inline int earliest_source_row(const int* rows, int n, int s) noexcept nogil:
    """The source row at stop ``s`` with the smallest offset (-1 if none)."""
    cdef int i, best = -1
    for i in range(n):
        if rows[2 * i] == s and (best < 0 or rows[2 * i + 1] < rows[2 * best + 1]):
            best = i
    return best


cdef inline void reset_stats(Workspace ws) noexcept nogil:
    ws.stats.rounds = 0
    ws.stats.routes_scanned = 0
    ws.stats.connections_scanned = 0
    ws.stats.labels = 0


cdef inline void range_departures(const Net* n, const int* src, int n_src, int t, int window,
                                  const unsigned char* mask, vector[int]* out) noexcept nogil:
    """A range query's departure times (rRAPTOR's and Trip-Based's range runs): ``t +
    window`` and every trip leaving a source or one of its footpath neighbours in the
    window where it picks up (not at its route's end), less the walk there; distinct,
    ascending (``mask`` NULL: every route)."""
    cdef const int* col
    cdef int i, j, jj, s, u, d, r, pos, off, base, lo, t0, t1, dep
    out.clear()
    out.push_back(t + window)
    for i in range(n_src):
        s = src[2 * i]
        for jj in range(-1, n.fpo[s + 1] - n.fpo[s]):
            if jj < 0:
                u = s
                d = 0
            else:
                u = n.fpt[n.fpo[s] + jj]
                d = n.fpd[n.fpo[s] + jj]
            base = src[2 * i + 1] + d
            for j in range(n.sro[u], n.sro[u + 1]):
                r = n.srr[j]
                pos = n.srp[j]
                off = n.rso[r]
                if not n.pick[off + pos] or (mask != NULL and mask[r] == 0):
                    continue
                if pos == n.rso[r + 1] - off - 1:
                    continue
                t0 = n.rto[r]
                t1 = n.rto[r + 1]
                col = trip_column(n, t0, t1, pos)
                lo = lower_bound(col, 1, 0, t1 - t0, t + base)
                while lo < t1 - t0:
                    dep = col[lo] - base
                    if dep >= t + window:
                        break
                    out.push_back(dep)
                    lo += 1
    sort(out.begin(), out.end())
    j = 0
    for i in range(<int>out.size()):
        if j == 0 or out[0][i] != out[0][j - 1]:
            out[0][j] = out[0][i]
            j += 1
    out.resize(j)
