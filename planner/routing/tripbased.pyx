# cython: language_level=3
"""Trip-Based routing (Witt, "Trip-Based Public Transit Routing", ESA 2015).

Preprocessing (:func:`build_transfers`) lists, for every stop event ``(t, i)`` (trip
``t`` alighted at route position ``i``), the trips ``(u, j)`` worth changing to, on the
``planner.timetable.model`` transfer model: boarding at the same stop from
``arr + stop_change_time`` (none at ``NO_TRANSFER`` stops) or one footpath away from
``arr + walk``, only where ``t`` may drop off at ``i`` and ``u`` may pick up at ``j``,
and only the earliest such trip of each route position. The paper's reductions drop:

* changes to the same route that staying seated dominates (``u >= t`` and ``j >= i``);
* U-turns: ``u`` comes back at ``j + 1`` to the stop ``t`` served at ``i - 1``, in time
  to change there (drop-off there, pick-up on ``u``, the stop's change time);
* changes that improve no arrival: per trip, positions from the last one back, the
  earliest arrival at every stop (alighting there or one footpath on) reachable by
  ``t`` alone or by ``t`` and the transfers kept so far; a transfer is kept only if
  riding ``u`` from ``j`` improves one (Witt's ready times decide nothing more here,
  see ``_alight``).

Every removed transfer has a kept alternative arriving no later with no more trips, so
earliest arrivals and the Pareto set over (arrival, trips) stay exact. The result
depends on the transfer model of a query: it assumes no ``transfer_slack``, no route
mask and no scoped transfers.txt rules (``supports``); other queries go to RAPTOR
(``planner.routing.router``).

Query (:class:`TripBased`): Witt's breadth-first search over trip segments. Round ``n``
holds segments (stop events ``begin..end`` of one trip) reached with ``n`` trips; the
reached index of ``t`` is the first position any segment of ``t`` or of an earlier trip
of its route scans, so a later trip boarded no earlier adds nothing. Witt and ULTRA keep
it per trip and lower it for the later trips of the route on each enqueue; here it is
kept per route position (``_enqueue``): the check is one load of a small array with no
trip or route looked up, the update walks the positions the new segment scans instead of
the route's later trips, and it yields the segment's end. Measured on HART against the
per-trip labels: 12.3 vs 17.6 us per query, DB FV 55.6 vs 63.5 (one sitting, the queries
of ``benchmarks/vs_reference.py``). The queue is allocated once for its worst case, one
segment per stop event. A segment is scanned for the destination as it is queued, in
the walk that lowers ``first_reached`` (ULTRA scans each round's segments again first):
one pass over its stop events instead of two, and the walk ends at the first event no
earlier than the best arrival, so a segment of a later trip is refused there by its
first event's arrival. A best found while round ``n + 1`` is queued cuts the changes of
round ``n`` not relaxed yet; they could only queue segments of ``n + 1`` trips arriving
later. HART: 63.6 vs 82.4 million instructions for 1,050 queries (callgrind),
ratio to ULTRA 0.70-0.78 vs 0.82-0.85 before (same sitting). The target's best arrival
prunes every scan, so round ``n`` only finds journeys strictly earlier than with fewer
trips: per round, the Pareto set over (arrival, trips).
"""

from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

cdef extern from *:
    void __builtin_prefetch(const void* p) noexcept nogil
from libcpp.vector cimport vector
from libcpp.algorithm cimport sort

from planner.routing.kernel cimport (
    INF, NO_TRANSFER, Net, TimetableArrays, Workspace, earliest_source_row,
    earliest_trip, QueryArgs, range_departures, reset_stats, rows_ptr,
)

import numpy as np

from planner.routing.kernel import as_arrays, pareto_by_departure


cdef struct Seg:
    int begin      # first stop event scanned (one after boarding)
    int end        # one after the last stop event scanned
    int first      # its first entry in TripBasedWorkspace.first_reached
    int count      # entries of first_reached this enqueue lowered (reset after the query)
    int parent     # queue index of the segment changed from; at the origin -1 - the
                   # source stop walked from


cdef struct Hop:
    # one kept transfer as the query reads it: the stop event to scan from (the
    # boarding position + 1), its entry in TripBasedWorkspace.first_reached, and that
    # event's arrival: _enqueue refuses most transfers by those two, without reading
    # the event (a random read into the events, which outgrow the caches)
    int event
    int first
    int arr


cdef struct Event:
    int arr        # st_arr
    int stop       # the stop, or n_stops where the position has no drop-off
    int hops       # its first Hop (transfer_offset): a segment's run of hops is read
                   # from the cache lines its scan for the destination just read


cdef struct Cand:
    int trip
    int pos


# -- preprocessing ------------------------------------------------------------------------
cdef inline bint _u_turn(const Net* n, int rb, int ev, int i, int rb2, int ev2, int j,
                         int len2) noexcept nogil:
    """``(t, i) -> (u, j)`` with ``u`` serving at ``j + 1`` the stop ``t`` served at
    ``i - 1`` in time for a change there (so changing there is as good)."""
    cdef int a
    if i < 1 or j + 1 >= len2:
        return False
    a = n.rstops[rb + i - 1]
    if n.rstops[rb2 + j + 1] != a or not n.drop[rb + i - 1] or not n.pick[rb2 + j + 1]:
        return False
    if n.change[a] >= NO_TRANSFER:
        return False
    return n.sarr[ev + i - 1] + n.change[a] <= n.sdep[ev2 + j + 1]


cdef inline int _boardable(const Net* n, int k, int ready) noexcept nogil:
    """The earliest trip of stop-route entry ``k`` departing at or after ``ready``, -1 if
    none or if its route position has no pick-up or no stop after it."""
    cdef int r = n.srr[k]
    cdef int j = n.srp[k]
    cdef int rb = n.rso[r]
    cdef int t1 = n.rto[r + 1]
    cdef int u
    if j + 1 >= n.rso[r + 1] - rb or not n.pick[rb + j]:
        return -1
    u = earliest_trip(n, n.rto[r], t1, j, t1, ready)
    return u if u < t1 else -1


cdef inline void _candidates(const Net* n, int t, int r, int rb, int ev, int i, int stop,
                             int ready, vector[Cand]* out) noexcept nogil:
    """The earliest trip of every route position at ``stop`` boardable from ``ready``."""
    cdef int k, r2, j, rb2, u
    cdef Cand c
    for k in range(n.sro[stop], n.sro[stop + 1]):
        u = _boardable(n, k, ready)
        if u < 0:
            continue
        r2 = n.srr[k]
        j = n.srp[k]
        if r2 == r and u >= t and j >= i:
            continue  # staying seated is as good
        rb2 = n.rso[r2]
        if _u_turn(n, rb, ev, i, rb2, n.tso[u], j, n.rso[r2 + 1] - rb2):
            continue
        c.trip = u
        c.pos = j
        out.push_back(c)


cdef struct StopLabel:
    int direct     # earliest arrival alighting at the stop itself
    int arrival    # earliest arrival at the stop (alighting there or a footpath)
    int stamp      # the trip these labels are of (older: all INF)


cdef inline bint _alight(const Net* n, StopLabel* lab, int cur, int s, int a) noexcept nogil:
    """Arrival ``a`` at ``s`` (drop-off allowed): lower the arrival labels of ``s`` and
    its footpaths; True if one improved. An arrival no earlier than an earlier one
    alighting at ``s`` itself improves nothing (that one set every label it could), which
    skips the footpaths of most arrivals. Witt also keeps a ready time per stop (after
    the change time or a footpath); with change times >= 0 it improves only where the
    arrival does, so it decides nothing (ULTRA keeps arrivals only, too)."""
    cdef bint better = False
    cdef int j, w
    cdef StopLabel* L = &lab[s]
    if L.stamp != cur:
        L.stamp = cur
        L.direct = INF
        L.arrival = INF
    elif a >= L.direct:
        return False
    L.direct = a
    if a < L.arrival:
        L.arrival = a
        better = True
    for j in range(n.fpo[s], n.fpo[s + 1]):
        w = a + n.fpd[j]
        L = &lab[n.fpt[j]]
        if L.stamp != cur:
            L.stamp = cur
            L.direct = INF
            L.arrival = w
            better = True
        elif w < L.arrival:
            L.arrival = w
            better = True
    return better


cdef void _build(const Net* n, vector[int]* off, vector[int]* out_trip,
                 vector[int]* out_pos, long long* generated) noexcept nogil:
    cdef int S = n.n_stops
    cdef int t, r, rb, ev, length, i, s, a, j, k, q, u, rb2, ev2, len2, cur = 0
    cdef bint keep
    cdef vector[StopLabel] labels
    cdef StopLabel init
    cdef vector[Cand] cands
    cdef vector[unsigned long long] order
    cdef vector[int] kept_i, kept_trip, kept_pos
    cdef size_t c, m
    init.direct = INF
    init.arrival = INF
    init.stamp = 0
    labels.resize(S, init)
    off.push_back(0)
    for t in range(n.n_trips):
        r = n.trip_route[t]
        rb = n.rso[r]
        ev = n.tso[t]
        length = n.rso[r + 1] - rb
        cur += 1
        kept_i.clear()
        kept_trip.clear()
        kept_pos.clear()
        for i in range(length - 1, 0, -1):
            if not n.drop[rb + i]:
                continue
            s = n.rstops[rb + i]
            a = n.sarr[ev + i]
            _alight(n, labels.data(), cur, s, a)
            cands.clear()
            if n.change[s] < NO_TRANSFER:
                _candidates(n, t, r, rb, ev, i, s, a + n.change[s], &cands)
            for j in range(n.fpo[s], n.fpo[s + 1]):
                _candidates(n, t, r, rb, ev, i, n.fpt[j], a + n.fpd[j], &cands)
            generated[0] += cands.size()
            # earliest boarding events first: they tend to dominate the later ones
            order.clear()
            for c in range(cands.size()):
                u = cands[c].trip
                order.push_back(((<unsigned long long>(
                    <long long>n.sarr[n.tso[u] + cands[c].pos] + 2147483648LL)) << 32) | c)
            sort(order.begin(), order.end())
            for m in range(order.size()):
                c = order[m] & 0xFFFFFFFFULL
                u = cands[c].trip
                j = cands[c].pos
                rb2 = n.rso[n.trip_route[u]]
                len2 = n.rso[n.trip_route[u] + 1] - rb2
                ev2 = n.tso[u]
                keep = False
                for k in range(j + 1, len2):
                    if n.drop[rb2 + k]:
                        if _alight(n, labels.data(), cur, n.rstops[rb2 + k],
                                   n.sarr[ev2 + k]):
                            keep = True
                if keep:
                    kept_i.push_back(i)
                    kept_trip.push_back(u)
                    kept_pos.push_back(j)
        # kept in descending positions: write them out by ascending stop event
        q = <int>kept_i.size() - 1
        for i in range(length):
            while q >= 0 and kept_i[q] == i:
                out_trip.push_back(kept_trip[q])
                out_pos.push_back(kept_pos[q])
                q -= 1
            off.push_back(<int>out_trip.size())


def build_transfers(arrays):
    """The reduced transfers of a timetable (or its ``TimetableArrays``), as CSR over stop
    events (``trip_st_offset[t] + i``): ``(offset int32[E + 1], trip int32, pos int32)``,
    ``pos`` the boarding position; and how many were generated before the last
    reduction. The GIL is released throughout."""
    cdef TimetableArrays a = as_arrays(arrays)
    cdef vector[int] off, trip, pos
    cdef long long generated = 0
    cdef Net net = a.net
    with nogil:
        _build(&net, &off, &trip, &pos, &generated)
    return (_to_array(&off), _to_array(&trip), _to_array(&pos), generated)


cdef object _to_array(vector[int]* v):
    out = np.empty(v.size(), dtype=np.int32)
    cdef int[::1] view = out
    cdef size_t i
    for i in range(v.size()):
        view[i] = v[0][i]
    return out


# -- query --------------------------------------------------------------------------------
cdef struct Best:
    int arr        # the destination's earliest arrival found so far
    int seg        # queue index of the segment that found it this round (-1: none)
    int pos        # and the stop event it alighted at
    long long scanned  # stop events walked


cdef inline void _enqueue(Seg* queue, int* size, int* first_reached, const Event* ev,
                          const int* egress, Best* b, int event, int arr, int first,
                          int parent) noexcept nogil:
    """Queue the trip of stop event ``event`` (arriving at ``arr``; route position
    ``first`` of ``first_reached``) from there up to its reached index or the first event no earlier
    than the best arrival, if that is a segment at all; arriving at the destination from
    its events lowers ``b`` (the segment's round is the next one to be relaxed, so a
    best found here prunes only segments of as many trips or more).

    Witt's reached index R(t) (ULTRA's ``ReachedIndex``) is kept per route position
    instead of per trip: ``first_reached[p]`` is the stop event at ``p`` of the earliest
    trip of the route that some segment scans from ``p`` or before (INT_MAX: none; -1
    past the route's end). As R does not increase along a route's trips, "R(u) <= p" is
    "u's event at p >= first_reached[p]": one load, no trip or route looked up. Lowering
    R for ``u`` and its later trips is lowering ``first_reached`` from ``p`` on to the
    events of ``u``; it stops where an earlier trip was reached, which is R(u): the
    segment's end. So the update walks the positions the segment will scan, where per
    trip it walked the later trips of the route (up to ~115 on HART).

    The walk is the segment's scan for the destination, and it also stops at the first
    event arriving no earlier than the best: from there on neither that trip nor a later
    one of its route (arriving no earlier, position by position) arrives or changes in
    time, so a later trip queued from there is refused by its first event's arrival
    (checked after ``first_reached``), and positions left unlowered decide nothing."""
    cdef int* fr = first_reached + first
    cdef const Event* e = ev + event
    cdef int best = b.arr
    cdef int x = event, a, w
    cdef Seg* g
    if event >= fr[0] or arr >= best:  # most transfers: no event read
        return
    while True:
        a = e.arr
        if a >= best:
            break
        w = egress[e.stop]  # INF at n_stops, where there is no drop-off
        if w < INF and a + w < best:
            best = a + w
            b.seg = size[0]
            b.pos = x
        fr[0] = x
        fr += 1
        e += 1
        x += 1
        if fr[0] <= x:
            break
    b.arr = best
    b.scanned += x - event
    g = &queue[size[0]]
    size[0] += 1
    g.begin = event
    g.end = x
    g.first = first
    g.count = x - event
    g.parent = parent


cdef inline bint _lower(int* label, vector[int]* touched, int s, int t) noexcept nogil:
    """``label[s] = min(label[s], t)``, listing ``s`` in ``touched`` when first set."""
    if label[s] == INF:
        touched.push_back(s)
    if t < label[s]:
        label[s] = t
        return True
    return False


cdef class TripBasedWorkspace(Workspace):
    """Per-thread scratch state of a Trip-Based search (never share between threads)."""

    # per route position (and one past each route's end): see _enqueue
    cdef vector[int] first_reached
    # the segments of the last search: at most one per stop event (each enqueue lowers
    # first_reached at a position to an earlier trip's event), so allocated once for
    # the worst case; malloc leaves the pages untouched until a search reaches them
    cdef Seg* queue
    cdef int queue_size
    cdef vector[int] egress, egress_touched, src_ready, src_stop, src_touched
    cdef vector[int] round_best, label_seg, label_pos
    cdef int best_round
    cdef vector[int] departures  # a range search's departure times (ascending)
    cdef int _walk_only          # and its walking-only seconds (INF: none)

    def __cinit__(self, *args):
        self.queue = NULL

    def __init__(self, int n_stops, int n_routes, const int[::1] first_reached,
                 int n_events):
        Workspace.__init__(self, n_stops, n_routes)
        self.first_reached.resize(first_reached.shape[0])
        cdef Py_ssize_t i
        for i in range(first_reached.shape[0]):
            self.first_reached[i] = first_reached[i]
        self.queue = <Seg*>malloc((n_events + 1) * sizeof(Seg))
        if self.queue == NULL:
            raise MemoryError()
        self.queue_size = 0
        self.egress.resize(n_stops + 1, INF)  # n_stops: "no drop-off", never a target
        self.src_ready.resize(n_stops, INF)
        self.src_stop.resize(n_stops, -1)
        self._walk_only = INF

    def __dealloc__(self):
        free(self.queue)

    def round_bests(self):
        """Best destination arrival after round 0, 1, ... (0: walking only)."""
        return [self.round_best[i] for i in range(self.round_best.size())]

    @property
    def walk_only(self):
        """The last range search's walking-only seconds, source to target, or None."""
        return None if self._walk_only == INF else self._walk_only


def supports_query(q, TimetableArrays a):
    """Whether Trip-Based answers ``q`` on ``a``: no transfer slack, no route mask and a
    timetable without scoped transfers.txt rules. Each changes which transfers dominate
    which (a slack can make the earliest trip of a change missed, a mask can hide the
    trip that made another transfer redundant, a scoped rule times a change by trip), so
    the reduction would no longer be exact; the router runs RAPTOR for those."""
    return q.transfer_slack == 0 and q.route_mask is None and a.net.xal == NULL


def _query_layout(TimetableArrays a, offset, trip, pos):
    """What a query reads, packed (derived in memory from the stored arrays, ~1 ms on
    HART): per transfer a ``Hop`` (the stop event boarded after, its route position in
    ``first_reached`` and its arrival), per stop event an ``Event``, so a scan reads one
    stream instead of two or three; and ``first_reached``'s start (see ``_enqueue``)."""
    rso = np.asarray(a.route_stop_offset, dtype=np.int64)
    route_of_trip = np.asarray(a.trip_route, dtype=np.int64)
    tso = np.asarray(a.trip_st_offset, dtype=np.int64)
    # route r's positions start at rso[r] + r in first_reached (one more per route)
    first_base = rso[:a.n_routes] + np.arange(a.n_routes)
    hops = np.empty((len(trip), 3), dtype=np.int32)
    trip = np.asarray(trip, dtype=np.int64)
    hops[:, 0] = tso[trip] + pos + 1
    hops[:, 1] = first_base[route_of_trip[trip]] + pos + 1
    event_trip = np.repeat(np.arange(a.n_trips), np.diff(tso))
    flat = rso[route_of_trip[event_trip]] + np.arange(len(event_trip)) - tso[event_trip]
    events = np.zeros((len(event_trip) + 1, 3), dtype=np.int32)  # + the end's offset
    events[:-1, 0] = np.asarray(a.st_arr)[:len(event_trip)]
    events[:-1, 1] = np.where(np.asarray(a.route_dropoff)[flat] > 0,
                              np.asarray(a.route_stops)[flat], a.n_stops)
    events[:, 2] = offset
    hops[:, 2] = events[hops[:, 0], 0]
    first_reached = np.full(int(rso[a.n_routes]) + a.n_routes, INF, dtype=np.int32)
    first_reached[rso[1:] + np.arange(a.n_routes)] = -1  # past each route's end
    return hops, events, first_reached


cdef class TripBased:
    """Trip-Based earliest arrival and (arrival, trips) profile over reduced transfers."""

    cdef readonly TimetableArrays a
    cdef readonly object transfer_offset, transfer_trip, transfer_pos
    cdef const int[::1] tr_off
    cdef const int[:, ::1] hops, events
    cdef readonly object first_reached_start  # see _enqueue
    cdef const int[::1] first0
    cdef readonly int n_stops, n_routes, n_trips

    def __init__(self, arrays, transfer_offset, transfer_trip, transfer_pos):
        """``arrays``: the Router's ``TimetableArrays`` (or a ``Timetable``); the
        transfers as :func:`build_transfers` returns them (checked to fit)."""
        self.a = as_arrays(arrays)
        self.n_stops = self.a.n_stops
        self.n_routes = self.a.n_routes
        self.n_trips = self.a.n_trips
        n_events = self.a.st_arr.shape[0]
        off = np.ascontiguousarray(transfer_offset, dtype=np.int32)
        if len(off) != n_events + 1:
            raise ValueError(f"transfer_offset has {len(off)} entries, the timetable "
                             f"{n_events} stop events")
        self.transfer_offset = off
        self.transfer_trip = np.ascontiguousarray(transfer_trip, dtype=np.int32)
        self.transfer_pos = np.ascontiguousarray(transfer_pos, dtype=np.int32)
        self.tr_off = self.transfer_offset
        self.hops, self.events, self.first_reached_start = _query_layout(
            self.a, off, self.transfer_trip, self.transfer_pos)
        self.first0 = self.first_reached_start

    def workspace(self):
        return TripBasedWorkspace(self.n_stops, self.n_routes, self.first_reached_start,
                                  self.events.shape[0])

    @property
    def n_transfers(self):
        return self.transfer_trip.shape[0]

    def supports(self, q):
        """Whether ``q`` asks for what the transfers were reduced for (see
        :func:`supports_query`)."""
        return supports_query(q, self.a)

    cdef int _read(self, q, QueryArgs* qa, str instead) except -1:
        """``qa``: ``q`` read as every engine reads it, refused unless it is what the
        transfers were reduced for (``supports_query``, without its Python calls)."""
        self.a.read_query(q, qa)
        if qa.slack != 0 or qa.mask != NULL or self.a.net.xal != NULL:
            raise ValueError("Trip-Based answers queries without transfer_slack or "
                             "route_mask on timetables without scoped transfer rules; "
                             f"use {instead}")
        return 0

    cdef int _start(self, TripBasedWorkspace ws, q) except? -1:
        # supports_query, without its Python calls: this is most of a short query; the
        # fields come as every engine reads them (one lookup of a Query's packed tuple)
        cdef QueryArgs qa
        cdef int best
        self._read(q, &qa, "raptor")
        with nogil:
            best = self._run(ws, qa.src, qa.n_src, qa.tgt, qa.n_tgt, qa.time, qa.max_trips,
                             INF, True)
        return best

    def arrival(self, TripBasedWorkspace ws, q):
        """Earliest arrival at any of ``q``'s targets with at most ``q.max_trips`` trips
        (``INFINITY`` if none), no journey built."""
        return self._start(ws, q)

    def search(self, TripBasedWorkspace ws, q):
        """The earliest-arrival journey with the fewest trips among them, as RAPTOR's
        ``search``: ``[]`` or ``[(departure, arrival, trips, source_row, target_row,
        steps)]``."""
        self._start(ws, q)
        return self.results(ws, q)

    def profile(self, TripBasedWorkspace ws, q):
        """Every journey Pareto-optimal in (arrival, trips) within ``q.max_trips``, by
        trips ascending (arrivals strictly descending)."""
        self._start(ws, q)
        out = []
        cdef int n
        for n in range(<int>ws.round_best.size()):
            if ws.round_best[n] < (ws.round_best[n - 1] if n > 0 else INF):
                out.append(self._journey(ws, q, n, q.time))
        return out

    def range_search(self, TripBasedWorkspace ws, q):
        """What ``RangeRaptor.search`` returns (``planner.routing.rraptor``): the Pareto
        (departure, arrival) journeys departing in ``[q.time, q.time + q.window]`` with
        at most ``q.max_trips`` trips, by departure, the first one after the window
        included, none dominated by another or by walking (``ws.walk_only``).

        One earliest-arrival run per departure time at the sources (rRAPTOR's), latest
        first, each bounded by the best arrival of the later ones: a journey of an
        earlier departure counts only if it arrives strictly earlier, and that bound
        prunes a run to a fraction of a one-off query (Witt's profile search keeps the
        reached indices per round between runs as well; the bound alone is exact, as
        every run starts afresh). Each improving run's journey is the fewest trips
        among its earliest arrivals, as rRAPTOR's ``kmin``; walking only neither counts
        nor bounds (the run at the window's end may board later than it starts, so
        walking from there would cut journeys that walking does not dominate)."""
        cdef QueryArgs qa
        cdef int best = INF, b, tau, walk = INF, i
        cdef long long rounds = 0, segments = 0, scanned = 0, labels = 0
        cdef size_t it
        cdef size_t nd = self._range_start(ws, q, &qa, "rraptor")
        cdef list found = []
        with nogil:
            for it in range(nd):
                tau = ws.departures[nd - 1 - it]
                b = self._run(ws, qa.src, qa.n_src, qa.tgt, qa.n_tgt, tau, qa.max_trips,
                              best, False)
                rounds += ws.stats.rounds
                segments += ws.stats.routes_scanned
                scanned += ws.stats.connections_scanned
                labels += ws.stats.labels
                if it == 0:  # walking only: the sources' walks (one footpath) to a target
                    for i in range(qa.n_tgt):
                        if ws.src_ready[qa.tgt[2 * i]] < INF and \
                                ws.src_ready[qa.tgt[2 * i]] - tau + qa.tgt[2 * i + 1] < walk:
                            walk = ws.src_ready[qa.tgt[2 * i]] - tau + qa.tgt[2 * i + 1]
                if b < best:
                    best = b
                    with gil:
                        found.append(self._range_journey(ws, q, tau))
        ws._walk_only = walk
        ws.stats.rounds = rounds
        ws.stats.routes_scanned = segments
        ws.stats.connections_scanned = scanned
        ws.stats.labels = labels
        return pareto_by_departure(found, walk)

    def latest_search(self, TripBasedWorkspace ws, q, int deadline):
        """The journey leaving latest in ``[q.time, q.time + q.window]`` that arrives by
        ``deadline`` with at most ``q.max_trips`` trips, the earliest arrival (fewest
        trips) from that departure: ``[]`` or ``[(departure, ...)]`` as :meth:`search`.
        What the reverse engine answers for a journey known to arrive by ``deadline``
        from ``q.time``: :meth:`range_search`'s runs from the latest departure down,
        each bounded by ``deadline + 1``, until one arrives in time (a run that cannot is
        cut as soon as its segments pass the deadline)."""
        cdef QueryArgs qa
        cdef int b = INF, tau = 0
        cdef size_t it
        if deadline == INF:
            raise ValueError("the deadline must be finite")
        cdef size_t nd = self._range_start(ws, q, &qa, "reverse")
        with nogil:
            for it in range(nd):
                tau = ws.departures[nd - 1 - it]
                b = self._run(ws, qa.src, qa.n_src, qa.tgt, qa.n_tgt, tau, qa.max_trips,
                              deadline + 1, False)
                if b <= deadline:
                    break
        if b > deadline:
            return []
        return [self._range_journey(ws, q, tau)]

    def range_departures(self, TripBasedWorkspace ws, q):
        """How many runs :meth:`range_search` would make for ``q`` (its departure times):
        a run costs about a bounded earliest-arrival query, where rRAPTOR's later runs
        only relax what they improve, so with many departures rRAPTOR is faster."""
        cdef QueryArgs qa
        return self._range_start(ws, q, &qa, "rraptor")

    cdef size_t _range_start(self, TripBasedWorkspace ws, q, QueryArgs* qa,
                             str instead) except? 0:
        """The range searches' entry: ``q`` read (:meth:`_read`) and its departure times
        in ``ws.departures``; returns how many (the window's end is always one)."""
        self._read(q, qa, instead)
        cdef int window = q.window
        if window < 0:
            raise ValueError("window must be >= 0")
        with nogil:
            self._departures(ws, qa.src, qa.n_src, qa.time, window)
        return ws.departures.size()

    cdef tuple _range_journey(self, TripBasedWorkspace ws, q, int tau):
        """The last run's journey, leaving as late as its first trip allows (later than
        ``tau`` only for the run at the window's end, which boards after it)."""
        cdef tuple jn = self._journey(ws, q, ws.best_round, tau)
        cdef const int[:, ::1] sources = q.sources
        cdef int dep = tau, lead = sources[<int>jn[3], 1]
        for step in jn[5]:
            if step[0] == "walk":
                lead += <int>step[4]
            elif step[0] == "trip":
                dep = self.a.st_dep[self.a.trip_st_offset[<int>step[1]] + <int>step[2]] - lead
                break
        return jn if dep == tau else self._journey(ws, q, ws.best_round, dep)

    cdef void _departures(self, TripBasedWorkspace ws, const int* src, int n_src, int t,
                          int window) noexcept nogil:
        """rRAPTOR's departure times (``kernel.range_departures``)."""
        cdef Net net_copy = self.a.net
        range_departures(&net_copy, src, n_src, t, window, NULL, &ws.departures)

    def results(self, TripBasedWorkspace ws, q):
        """The journey of the last search on ``q`` (as :meth:`search` returns it)."""
        if ws.best_round < 0:
            return []
        return [self._journey(ws, q, ws.best_round, q.time)]

    cdef int _trip_of(self, int event) noexcept:
        """The trip of stop event ``event`` (the last trip starting at or before it)."""
        cdef const int[::1] tso = self.a.trip_st_offset
        cdef int lo = 0, hi = self.n_trips, mid
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            if tso[mid] <= event:
                lo = mid
            else:
                hi = mid
        return lo

    cdef tuple _journey(self, TripBasedWorkspace ws, q, int n, int departure):
        cdef const int[:, ::1] sources = q.sources
        cdef const int[:, ::1] targets = q.targets
        cdef TimetableArrays A = self.a
        cdef int arrival = ws.round_best[n]
        cdef list steps = []
        cdef int row = -1, i, s, v, a, d, x, cur, seg, k, trip, e0, rb, trips = 0
        cdef Seg g
        if n == 0:  # walking only: the target row a source reaches in time
            for i in range(targets.shape[0]):
                v = targets[i, 0]
                if ws.src_ready[v] < INF and ws.src_ready[v] + targets[i, 1] == arrival:
                    row = i
                    break
            x = ws.src_stop[targets[row, 0]]
            i = earliest_source_row(rows_ptr(sources), sources.shape[0], x)
            A.append_origin(steps, x, targets[row, 0], departure + sources[i, 1])
            steps.reverse()
            return (departure, arrival, 0, i, row, steps)
        seg = ws.label_seg[n]
        k = ws.label_pos[n]  # the stop event alighted at
        g = ws.queue[seg]
        s = A.route_stops[A.route_stop_offset[A.trip_route[self._trip_of(k)]] + k
                          - A.trip_st_offset[self._trip_of(k)]]
        a = A.st_arr[k]
        for i in range(targets.shape[0]):
            v = targets[i, 0]
            d = 0 if v == s else A.fp_duration(s, v)
            if d >= 0 and a + d + targets[i, 1] == arrival:
                row = i
                break
        if row < 0:
            raise RuntimeError("Trip-Based: no target row matches the arrival")
        if targets[row, 0] != s:
            A.append_walk(steps, s, targets[row, 0], a)
        while True:
            trip = self._trip_of(g.begin - 1)
            e0 = A.trip_st_offset[trip]
            rb = A.route_stop_offset[A.trip_route[trip]]
            steps.append(("trip", trip, g.begin - 1 - e0, k - e0))
            trips += 1
            cur = A.route_stops[rb + g.begin - 1 - e0]  # boarding stop
            if g.parent < 0:
                x = -1 - g.parent
                i = earliest_source_row(rows_ptr(sources), sources.shape[0], x)
                A.append_origin(steps, x, cur, departure + sources[i, 1])
                break
            k = self._alighted(ws.queue[g.parent], g.begin)
            g = ws.queue[g.parent]
            trip = self._trip_of(k)
            s = A.route_stops[A.route_stop_offset[A.trip_route[trip]] + k
                              - A.trip_st_offset[trip]]
            if s != cur:
                A.append_walk(steps, s, cur, A.st_arr[k])
        steps.reverse()
        return (departure, arrival, trips, i, row, steps)

    cdef int _alighted(self, Seg parent, int begin) except -1:
        """The stop event of ``parent``'s trip whose kept transfer boards the segment
        scanning from stop event ``begin`` (the first: any such one arrives in time)."""
        cdef int k, j
        cdef const int[:, ::1] hops = self.hops
        for k in range(parent.begin, parent.end):
            for j in range(self.tr_off[k], self.tr_off[k + 1]):
                if hops[j, 0] == begin:
                    return k
        raise RuntimeError("Trip-Based: a segment's transfer was not found in its parent")

    cdef inline void _close_round(self, TripBasedWorkspace ws, Best* b, int* best,
                                  int rnd) noexcept nogil:
        """Round ``rnd``'s segments are all queued: record its best arrival (and where
        it alighted, when it improved)."""
        ws.round_best.push_back(b.arr)
        ws.label_seg.push_back(b.seg if b.arr < best[0] else -1)
        ws.label_pos.push_back(b.pos if b.arr < best[0] else -1)
        if b.arr < best[0]:
            best[0] = b.arr
            ws.best_round = rnd
        b.seg = -1
        b.pos = -1

    cdef int _run(self, TripBasedWorkspace ws, const int* src, int n_src, const int* tgt,
                  int n_tgt, int departure, int max_trips, int bound,
                  bint walking) noexcept nogil:
        # bound: only arrivals earlier than it count (a range search's later departures);
        # walking False: walking only is no journey (nor a bound), as in rRAPTOR
        cdef Net net_copy = self.a.net
        cdef const Net* n = &net_copy
        cdef int best = bound
        cdef int i, j, s, a, e, k, u, r, p, rnd, round_begin
        cdef int round_end, q, end, size = 0
        cdef long long scanned = 0, segments = 0
        cdef size_t qi
        cdef int* egress = ws.egress.data()
        cdef int* ready = ws.src_ready.data()
        cdef int* first = ws.first_reached.data()
        cdef Seg* queue = ws.queue
        cdef const Event* ev = <const Event*>&self.events[0, 0]
        cdef const Hop* hop = <const Hop*>&self.hops[0, 0] if self.hops.shape[0] else NULL
        cdef Seg* g
        cdef Best bst
        reset_stats(ws)
        # the last search's source labels stayed for its journeys; clear them now
        for qi in range(ws.src_touched.size()):
            ready[ws.src_touched[qi]] = INF
        ws.src_touched.clear()
        ws.round_best.clear()
        ws.label_seg.clear()
        ws.label_pos.clear()
        ws.best_round = -1
        # egress: seconds from a stop to the destination (at most one footpath)
        for i in range(n_tgt):
            s = tgt[2 * i]
            e = tgt[2 * i + 1]
            _lower(egress, &ws.egress_touched, s, e)
            for j in range(n.fpio[s], n.fpio[s + 1]):
                _lower(egress, &ws.egress_touched, n.fpif[j], e + n.fpid[j])
        # sources: where the origin's walks reach (one footpath at most), and when
        for i in range(n_src):
            s = src[2 * i]
            a = departure + src[2 * i + 1]
            if _lower(ready, &ws.src_touched, s, a):
                ws.src_stop[s] = s
            for j in range(n.fpo[s], n.fpo[s + 1]):
                if _lower(ready, &ws.src_touched, n.fpt[j], a + n.fpd[j]):
                    ws.src_stop[n.fpt[j]] = s
        # round 0: walking only (arrival at a target stop itself)
        for i in range(n_tgt if walking else 0):
            s = tgt[2 * i]
            if ready[s] < INF and ready[s] + tgt[2 * i + 1] < best:
                best = ready[s] + tgt[2 * i + 1]
                ws.best_round = 0
        ws.round_best.push_back(best)
        ws.label_seg.push_back(-1)
        ws.label_pos.push_back(-1)
        # round 1's segments: the first trip of every route position the walks reach
        bst.arr = best
        bst.seg = -1
        bst.pos = -1
        bst.scanned = 0
        rnd = 0
        if max_trips >= 1:
            for qi in range(ws.src_touched.size()):
                s = ws.src_touched[qi]
                a = ready[s]
                if a >= bst.arr:
                    continue
                for j in range(n.sro[s], n.sro[s + 1]):
                    u = _boardable(n, j, a)
                    if u >= 0:
                        r = n.srr[j]
                        p = n.srp[j] + 1
                        e = n.tso[u] + p
                        _enqueue(queue, &size, first, ev, egress, &bst, e, ev[e].arr,
                                 n.rso[r] + r + p, -1 - ws.src_stop[s])
            if size > 0:
                rnd = 1
                self._close_round(ws, &bst, &best, rnd)
        round_begin = 0
        while rnd < max_trips and round_begin < size:
            round_end = size
            segments += round_end - round_begin
            # changes into the next round from the events still earlier than the best
            # (each queued segment scans for the destination as it is queued, and the
            # best it finds cuts the segments of this round not relaxed yet): one run of
            # hops per segment (the alighting event is found again only for the
            # journeys built, by _alighted)
            for q in range(round_begin, round_end):
                g = &queue[q]
                k = g.end  # the best may have fallen since the segment was queued
                while k > g.begin and ev[k - 1].arr >= bst.arr:
                    k -= 1
                g.end = k
                end = ev[k].hops
                for j in range(ev[g.begin].hops, end):
                    _enqueue(queue, &size, first, ev, egress, &bst, hop[j].event,
                             hop[j].arr, hop[j].first, q)
            round_begin = round_end
            if size > round_end:
                rnd += 1
                self._close_round(ws, &bst, &best, rnd)
        segments += size - round_begin
        scanned = bst.scanned
        # reset what this query lowered: all of it in one copy where that is small
        # beside the segments (each a short loop, its exit mispredicted), else by segment
        # (every position lowered started at INF)
        if <Py_ssize_t>self.first0.shape[0] <= 64 * <Py_ssize_t>size:
            memcpy(first, &self.first0[0], self.first0.shape[0] * sizeof(int))
        else:
            for q in range(size):
                g = &queue[q]
                for k in range(g.first, g.first + g.count):
                    first[k] = INF
        ws.queue_size = size
        for qi in range(ws.egress_touched.size()):
            egress[ws.egress_touched[qi]] = INF
        ws.egress_touched.clear()
        ws.stats.rounds = rnd
        ws.stats.routes_scanned = segments
        ws.stats.connections_scanned = scanned
        ws.stats.labels = size
        return best


cdef class TripBasedRange:
    """Trip-Based answering rRAPTOR's range query (:meth:`TripBased.range_search`), an
    engine of its own for the Router: its own workspace, ``search`` as rRAPTOR's."""

    cdef readonly TripBased tb

    def __init__(self, TripBased tb):
        self.tb = tb

    def workspace(self):
        return self.tb.workspace()

    def search(self, TripBasedWorkspace ws, q):
        return self.tb.range_search(ws, q)

    def departures(self, TripBasedWorkspace ws, q):
        return self.tb.range_departures(ws, q)

    def latest(self, TripBasedWorkspace ws, q, int deadline):
        return self.tb.latest_search(ws, q, deadline)
