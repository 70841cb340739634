# cython: language_level=3
"""The routing kernel shared by every engine.

* ``TimetableArrays``: const memoryviews of one timetable's routing arrays, bound once
  without copies (the arrays already are contiguous ``int32``/``uint8``, also when
  memory-mapped read-only, hence ``const``), plus ``net``, the same as raw pointers for
  the ``nogil`` loops (NULL for an empty array: loops bounded by CSR offsets never read
  it, so no sentinels are needed). The :class:`~planner.routing.router.Router` builds
  one per timetable and hands it to its engines; nothing is cached in the timetable.
* ``dep_by_pos``/``arr_by_pos``: every route's departures and arrivals transposed
  (position-major, the trips of a position contiguous), so finding the earliest trip
  at a position is one binary search over one cache-friendly run; RAPTOR and McRAPTOR
  board through it, rRAPTOR reads its window's departures from it, and the reverse
  RAPTOR finds the latest trip arriving by a time in the arrivals.
* ``net.xal`` and the other rule pointers: transfers.txt rows scoped to routes or trips
  (``planner.timetable.transfer_rules``), NULL when the timetable has none, so an
  engine tests one pointer to keep its common path.
* ``Workspace``: the base of every engine's per-thread scratch: the search counters
  (``counters()``), the route queue and the egress lists.
"""

import numpy as np

cimport numpy as cnp

from planner.timetable.model import INFINITY, NO_TRANSFER as _NO_TRANSFER

cnp.import_array()

assert INF == INFINITY and NO_TRANSFER == _NO_TRANSFER

cnp.import_array()

_INT_FIELDS = (
    "stop_change_time",
    "route_stop_offset", "route_stops", "route_trip_offset",
    "trip_route", "trip_st_offset", "st_arr", "st_dep",
    "stop_route_offset", "stop_route_route", "stop_route_pos",
    "conn_dep_stop", "conn_arr_stop", "conn_dep", "conn_arr", "conn_trip", "conn_pos",
    "fp_offset", "fp_to", "fp_dur", "fp_in_offset", "fp_in_from", "fp_in_dur",
    "route_alight_rule", "route_board_rule", "rule_alight_stop", "rule_board_stop",
    "rule_offset", "rule_board", "rule_time", "rule_in_offset", "rule_in_alight",
    "rule_in_time",
)
_BYTE_FIELDS = ("route_pickup", "route_dropoff", "conn_pickup", "conn_dropoff")
_FIELDS = _INT_FIELDS + _BYTE_FIELDS


def _i32(a):
    return np.ascontiguousarray(a, dtype=np.int32)  # no copy if already int32, C order


def _u8(a):
    return np.ascontiguousarray(a, dtype=np.uint8)


def by_position(tt, values) -> np.ndarray:
    """``values`` (``st_dep`` or ``st_arr``) with each route's (trips x stops) block
    transposed. A loop, not index arithmetic on NumPy arrays: that needed ten
    temporaries the size of the stop times, the peak of loading a cached timetable."""
    cdef const int[::1] tso = _i32(tt.trip_st_offset)
    cdef const int[::1] rto = _i32(tt.route_trip_offset)
    cdef const int[::1] trip_route = _i32(tt.trip_route)
    cdef const int[::1] src = _i32(values)
    cdef Py_ssize_t n_trips = tso.shape[0] - 1
    out = np.empty(tso[n_trips] if n_trips >= 0 else 0, dtype=np.int32)
    cdef int[::1] dst = out
    cdef Py_ssize_t t, pos, t0, n, base, first
    for t in range(n_trips):
        t0 = rto[trip_route[t]]
        n = rto[trip_route[t] + 1] - t0
        base = tso[t0] + (t - t0)
        first = tso[t]
        for pos in range(tso[t + 1] - first):
            dst[base + pos * n] = src[first + pos]
    return out


def last_departures(tt, dep_by_pos) -> np.ndarray:
    """Per stop-route entry (``stop_route_*``): the departure of the route's last trip at
    that position, or ``-INFINITY`` where no trip may be boarded (the route's last stop,
    pickup forbidden), so a forward search skips routes it cannot board."""
    route = np.asarray(tt.stop_route_route, dtype=np.int64)
    pos = np.asarray(tt.stop_route_pos, dtype=np.int64)
    out = np.full(len(route), -INFINITY, dtype=np.int32)
    if len(route) == 0:
        return out
    rso = np.asarray(tt.route_stop_offset, dtype=np.int64)
    rto = np.asarray(tt.route_trip_offset, dtype=np.int64)
    tso = np.asarray(tt.trip_st_offset, dtype=np.int64)
    t0 = rto[route]
    n_trips = rto[route + 1] - t0
    ok = (n_trips > 0) & (pos + 1 < rso[route + 1] - rso[route])
    ok &= np.asarray(tt.route_pickup)[rso[route] + pos] != 0
    at = tso[t0[ok]] + pos[ok] * n_trips[ok] + n_trips[ok] - 1
    out[ok] = np.asarray(dep_by_pos)[at]
    return out


def conn_rule_keys(tt) -> tuple[np.ndarray, np.ndarray]:
    """Per connection, the alight key of its arrival position and the board key of its
    departure position (both empty when the timetable has no scoped rules)."""
    if len(tt.route_alight_rule) == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    rso = np.asarray(tt.route_stop_offset, dtype=np.int64)
    trip_route = np.asarray(tt.trip_route, dtype=np.int64)
    at = rso[trip_route[np.asarray(tt.conn_trip, dtype=np.int64)]] + np.asarray(tt.conn_pos)
    return (_i32(np.asarray(tt.route_alight_rule)[at + 1]),
            _i32(np.asarray(tt.route_board_rule)[at]))


cdef class TimetableArrays:
    """Const memoryviews of one timetable's routing arrays (see the module docstring)."""

    def __init__(self, tt):
        self.n_stops = tt.n_stops
        self.n_routes = tt.n_routes
        self.n_trips = tt.n_trips
        self.n_conns = tt.n_connections
        self.n_footpaths = tt.n_footpaths
        self.change = _i32(tt.stop_change_time)
        self.route_stop_offset = _i32(tt.route_stop_offset)
        self.route_stops = _i32(tt.route_stops)
        self.route_trip_offset = _i32(tt.route_trip_offset)
        self.route_pickup = _u8(tt.route_pickup)
        self.route_dropoff = _u8(tt.route_dropoff)
        self.trip_route = _i32(tt.trip_route)
        self.trip_st_offset = _i32(tt.trip_st_offset)
        self.st_arr = _i32(tt.st_arr)
        self.st_dep = _i32(tt.st_dep)
        self.dep_by_pos = by_position(tt, tt.st_dep)
        self.arr_by_pos = by_position(tt, tt.st_arr)
        self.stop_route_offset = _i32(tt.stop_route_offset)
        self.stop_route_route = _i32(tt.stop_route_route)
        self.stop_route_pos = _i32(tt.stop_route_pos)
        self.stop_route_last = last_departures(tt, self.dep_by_pos)
        self.conn_dep_stop = _i32(tt.conn_dep_stop)
        self.conn_arr_stop = _i32(tt.conn_arr_stop)
        self.conn_dep = _i32(tt.conn_dep)
        self.conn_arr = _i32(tt.conn_arr)
        self.conn_trip = _i32(tt.conn_trip)
        self.conn_pos = _i32(tt.conn_pos)
        self.conn_pickup = _u8(tt.conn_pickup)
        self.conn_dropoff = _u8(tt.conn_dropoff)
        self.fp_offset = _i32(tt.fp_offset)
        self.fp_to = _i32(tt.fp_to)
        self.fp_dur = _i32(tt.fp_dur)
        self.fp_in_offset = _i32(tt.fp_in_offset)
        self.fp_in_from = _i32(tt.fp_in_from)
        self.fp_in_dur = _i32(tt.fp_in_dur)
        self.route_alight_rule = _i32(tt.route_alight_rule)
        self.route_board_rule = _i32(tt.route_board_rule)
        self.rule_alight_stop = _i32(tt.rule_alight_stop)
        self.rule_board_stop = _i32(tt.rule_board_stop)
        self.rule_offset = _i32(tt.rule_offset)
        self.rule_board = _i32(tt.rule_board)
        self.rule_time = _i32(tt.rule_time)
        self.rule_in_offset = _i32(tt.rule_in_offset)
        self.rule_in_alight = _i32(tt.rule_in_alight)
        self.rule_in_time = _i32(tt.rule_in_time)
        self.n_alight_keys = self.rule_alight_stop.shape[0]
        self.n_board_keys = self.rule_board_stop.shape[0]
        self.conn_alight_key, self.conn_board_key = conn_rule_keys(tt)
        cdef Net* n = &self.net
        n.n_stops = self.n_stops
        n.n_routes = self.n_routes
        n.n_trips = self.n_trips
        n.n_conns = self.n_conns
        n.change = iptr(self.change)
        n.rso = iptr(self.route_stop_offset)
        n.rstops = iptr(self.route_stops)
        n.rto = iptr(self.route_trip_offset)
        n.pick = bptr(self.route_pickup)
        n.drop = bptr(self.route_dropoff)
        n.trip_route = iptr(self.trip_route)
        n.tso = iptr(self.trip_st_offset)
        n.sarr = iptr(self.st_arr)
        n.sdep = iptr(self.st_dep)
        n.dbp = iptr(self.dep_by_pos)
        n.abp = iptr(self.arr_by_pos)
        n.sro = iptr(self.stop_route_offset)
        n.srr = iptr(self.stop_route_route)
        n.srp = iptr(self.stop_route_pos)
        n.srl = iptr(self.stop_route_last)
        n.fpo = iptr(self.fp_offset)
        n.fpt = iptr(self.fp_to)
        n.fpd = iptr(self.fp_dur)
        n.fpio = iptr(self.fp_in_offset)
        n.fpif = iptr(self.fp_in_from)
        n.fpid = iptr(self.fp_in_dur)
        n.n_x = self.n_alight_keys
        n.n_y = self.n_board_keys
        n.xal = iptr(self.route_alight_rule)
        n.ybd = iptr(self.route_board_rule)
        n.xstop = iptr(self.rule_alight_stop)
        n.ystop = iptr(self.rule_board_stop)
        n.xo = iptr(self.rule_offset)
        n.xy = iptr(self.rule_board)
        n.xt = iptr(self.rule_time)
        n.yio = iptr(self.rule_in_offset)
        n.yix = iptr(self.rule_in_alight)
        n.yit = iptr(self.rule_in_time)

    cdef int check_rows(self, const int[:, ::1] rows, str what) except -1:
        """Reject ``(stop, seconds)`` rows with an unknown stop or a negative offset."""
        cdef Py_ssize_t i
        for i in range(rows.shape[0]):
            if rows[i, 0] < 0 or rows[i, 0] >= self.n_stops or rows[i, 1] < 0:
                raise ValueError(
                    f"bad {what} row {i}: stop index out of range or negative offset")
        return 0

    cdef int route_mask(self, object q, const unsigned char** out) except -1:
        """``out``: the query's route mask, or NULL for all routes. The pointer is into
        the query's own array, which the caller holds for the search."""
        mask = q.route_mask
        out[0] = NULL
        if mask is None:
            return 0
        cdef const unsigned char[::1] view = mask
        if view.shape[0] != self.n_routes:
            raise ValueError(f"route_mask needs one flag per route ({self.n_routes}), "
                             f"got {view.shape[0]}")
        out[0] = bptr(view)
        return 0

    cdef const unsigned char* footpath_cover(self) except? NULL:
        """Per stop ``x``: 1 when for every footpath ``x -> s`` and ``s -> u`` (``u != x``)
        there is a footpath ``x -> u`` no longer than the two (the closure is unbounded
        around ``x``). Then a trip arriving at ``s`` no earlier than a walk from ``x``
        got there need not walk on: ``x``'s footpaths were relaxed no later, except back
        to ``x`` itself (an engine's footpath phase skips those; see ``csa.pyx``). Built
        once, O(footpaths x degree)."""
        if self.fp_covers.shape[0] == self.n_stops and self.n_stops > 0:
            return &self.fp_covers[0]
        cdef int S = self.n_stops
        out = np.ones(S, dtype=np.uint8)
        if S == 0:
            return NULL
        cdef unsigned char[::1] cov = out
        cdef int[::1] dist = np.full(S, -1, dtype=np.int32)
        cdef const int* fpo = self.net.fpo
        cdef const int* fpt = self.net.fpt
        cdef const int* fpd = self.net.fpd
        cdef int x, j, k, s, u, d
        with nogil:
            for x in range(S):
                for j in range(fpo[x], fpo[x + 1]):
                    dist[fpt[j]] = fpd[j]
                for j in range(fpo[x], fpo[x + 1]):
                    s = fpt[j]
                    for k in range(fpo[s], fpo[s + 1]):
                        u = fpt[k]
                        if u != x and (dist[u] < 0 or dist[u] > fpd[j] + fpd[k]):
                            cov[x] = 0
                            break
                    if cov[x] == 0:
                        break
                for j in range(fpo[x], fpo[x + 1]):
                    dist[fpt[j]] = -1
        self.fp_covers = out
        return &self.fp_covers[0]

    cdef int read_query(self, object q, QueryArgs* out) except -1:
        """``out``: ``q``'s rows, extras, mask, time, ``max_trips`` and slack, checked as
        ``check_rows``/``route_mask`` check them: the one entry of every engine's fast
        path (``q`` is a ``planner.routing.query.Query``, whose arrays already have the
        layout read here). A ``Query`` packs these fields in one tuple,
        ``_engine_args``, read here in one lookup (eight attribute reads of a dataclass
        were ~1,200 instructions, a third of a short search's call); any other object
        with the fields (a test's namespace) is read field by field."""
        packed = getattr(q, "_engine_args", None)
        if type(packed) is tuple and len(<tuple>packed) == 8:
            sources, targets, time, max_trips, slack, sx, tx, mask = <tuple>packed
        else:
            sources, targets, time, max_trips = q.sources, q.targets, q.time, q.max_trips
            slack, sx, tx, mask = q.transfer_slack, q.source_extra, q.target_extra, q.route_mask
        out.n_src = _rows_of(self, sources, &out.src, "source")
        out.n_tgt = _rows_of(self, targets, &out.tgt, "target")
        out.time = time
        out.max_trips = max_trips
        out.slack = slack
        out.sx = NULL
        if sx is not None and _array_of(sx, cnp.NPY_INT32, 0, <const void**>&out.sx,
                                        "source_extra") != out.n_src:
            raise ValueError("source_extra needs one value per source row")
        out.tx = NULL
        if tx is not None and _array_of(tx, cnp.NPY_INT32, 0, <const void**>&out.tx,
                                        "target_extra") != out.n_tgt:
            raise ValueError("target_extra needs one value per target row")
        out.mask = NULL
        if mask is not None and _array_of(mask, cnp.NPY_UINT8, 0, <const void**>&out.mask,
                                          "route_mask") != self.n_routes:
            raise ValueError(f"route_mask needs one flag per route ({self.n_routes}), "
                             f"got {len(mask)}")
        return 0

    cdef int append_walk(self, list steps, int a, int b, int start) except -1:
        """A footpath step ``a -> b`` starting at ``start``, its duration looked up."""
        steps.append(("walk", a, b, start, self.fp_duration(a, b)))
        return 0

    cdef int append_change(self, list steps, int x, int b, int y, int start) except -1:
        """The walk of a scoped change from alight key ``x`` to stop ``b`` (board key
        ``y``), lasting the rule's seconds; nothing when ``b`` is ``x``'s own stop."""
        cdef int a = self.rule_alight_stop[x]
        if a != b:
            steps.append(("walk", a, b, start, rule_seconds(&self.net, x, y)))
        return 0

    cdef int append_origin(self, list steps, int source, int cur, int start) except -1:
        """Steps built backwards, at boarding stop ``cur``: the walk from ``source`` (if
        any), then the origin."""
        if source != cur:
            self.append_walk(steps, source, cur, start)
        steps.append(("origin", source, start))
        return 0

    cdef int append_start(self, list steps, int source, int cur, int start) except -1:
        """Steps built forwards: the origin, then the walk to boarding stop ``cur``."""
        steps.append(("origin", source, start))
        if source != cur:
            self.append_walk(steps, source, cur, start)
        return 0


cdef int _array_of(object a, int type_num, int width, const void** out,
                   str what) except -1:
    """``out``: the data of ``a``, a C-contiguous native array of ``type_num`` with
    ``width`` columns (0: one dimension), NULL when empty; returns its rows. Read through
    the array's own fields: a typed memoryview costs ~0.3 us per query and array."""
    if not cnp.PyArray_Check(a):
        raise ValueError(f"{what} must be a NumPy array, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if (cnp.PyArray_TYPE(arr) != type_num or cnp.PyArray_NDIM(arr) != (2 if width else 1)
            or (width and cnp.PyArray_DIM(arr, 1) != width)
            or not cnp.PyArray_IS_C_CONTIGUOUS(arr) or not cnp.PyArray_ISNOTSWAPPED(arr)
            or not cnp.PyArray_ISALIGNED(arr)):
        raise ValueError(f"{what} must be a C-contiguous {np.dtype(a.dtype).name}"
                         f"{'[n, %d]' % width if width else '[n]'} array like Query's, got "
                         f"{a.dtype}{list(a.shape)}")
    cdef Py_ssize_t n = cnp.PyArray_DIM(arr, 0)
    out[0] = cnp.PyArray_DATA(arr) if n > 0 else NULL
    return <int>n


cdef int _rows_of(TimetableArrays a, object rows, const int** out, str what) except -1:
    """``_array_of`` for ``(stop, seconds)`` rows, checked as ``check_rows`` checks."""
    cdef int n = _array_of(rows, cnp.NPY_INT32, 2, <const void**>out, what)
    cdef int i
    cdef const int* p = out[0]
    for i in range(n):
        if p[2 * i] < 0 or p[2 * i] >= a.n_stops or p[2 * i + 1] < 0:
            raise ValueError(
                f"bad {what} row {i}: stop index out of range or negative offset")
    return n


def as_arrays(tt_or_arrays) -> TimetableArrays:
    """The ``TimetableArrays`` given, or new ones of a ``Timetable``."""
    if isinstance(tt_or_arrays, TimetableArrays):
        return tt_or_arrays
    return TimetableArrays(tt_or_arrays)


cdef class Workspace:
    """Per-thread scratch state shared by the engines' workspaces (never share one
    between threads)."""

    def __init__(self, int n_stops, int n_routes):
        self.n_stops = n_stops
        self.n_routes = n_routes
        self.route_first.resize(n_routes, INF)
        self.eg_head.resize(n_stops, -1)

    def counters(self):
        """``(rounds, routes_scanned, connections_scanned, labels)`` of the last search."""
        return (self.stats.rounds, self.stats.routes_scanned,
                self.stats.connections_scanned, self.stats.labels)


def pareto_by_departure(list found, int walk_only):
    """A range query's journeys (``(departure, arrival, trips, ...)``, one per improving
    run) kept where no later departure arrives as early and walking from their departure
    does not (``walk_only`` seconds, INF: none), by departure: rRAPTOR's and Trip-Based's
    range answers."""
    found.sort(key=lambda jn: (-jn[0], jn[1], jn[2]))
    out = []
    cdef int best_arr = INF
    for jn in found:
        if jn[1] < best_arr and (walk_only == INF or jn[0] + walk_only > jn[1]):
            out.append(jn)
            best_arr = jn[1]
    out.reverse()
    return out
