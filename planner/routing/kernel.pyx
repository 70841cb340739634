# cython: language_level=3
"""The timetable arrays every routing core reads, bound once per timetable.

Each engine used to convert and bind its own ~20 memoryviews, and padded the
possibly-empty footpath arrays with ``np.append`` sentinels, which copied them once
per engine. Here the views are made once, without copies (the arrays already are
contiguous ``int32``/``uint8``, also when memory-mapped read-only, hence ``const``),
and empty arrays need no sentinel: engines take raw pointers with ``iptr``/``bptr``
(NULL when empty) and only read them inside loops bounded by CSR offsets.

``arrays_for(tt)`` shares one instance between all engines of a timetable. The cache
lives in ``tt.extra``, which ``dataclasses.replace`` hands to derived timetables (the
API swaps ``route_pickup``/``conn_pickup`` per mode filter), so entries are keyed by
the identity of the source arrays and held weakly: a derived timetable gets its own
instance and nothing outlives the engines that use it.
"""

import weakref

import numpy as np

_INT_FIELDS = (
    "stop_change_time",
    "route_stop_offset", "route_stops", "route_trip_offset",
    "trip_route", "trip_st_offset", "st_arr", "st_dep",
    "stop_route_offset", "stop_route_route", "stop_route_pos",
    "conn_dep_stop", "conn_arr_stop", "conn_dep", "conn_arr", "conn_trip", "conn_pos",
    "fp_offset", "fp_to", "fp_dur", "fp_in_offset", "fp_in_from", "fp_in_dur",
)
_BYTE_FIELDS = ("route_pickup", "route_dropoff", "conn_pickup", "conn_dropoff")
_FIELDS = _INT_FIELDS + _BYTE_FIELDS


def _i32(a):
    return np.ascontiguousarray(a, dtype=np.int32)  # no copy if already int32, C order


def _u8(a):
    return np.ascontiguousarray(a, dtype=np.uint8)


cdef class TimetableArrays:
    """Const memoryviews of one timetable's routing arrays (see the module docstring)."""

    def __init__(self, tt):
        self.sources = tuple(getattr(tt, name) for name in _FIELDS)
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
        self.stop_route_offset = _i32(tt.stop_route_offset)
        self.stop_route_route = _i32(tt.stop_route_route)
        self.stop_route_pos = _i32(tt.stop_route_pos)
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

    def built_from(self, tt) -> bool:
        """Whether ``tt`` holds exactly the arrays this instance was made from."""
        return all(a is getattr(tt, name) for a, name in zip(self.sources, _FIELDS))

    cdef int check_rows(self, const int[:, ::1] rows, str what) except -1:
        """Reject ``(stop, seconds)`` rows with an unknown stop or a negative offset."""
        cdef Py_ssize_t i
        for i in range(rows.shape[0]):
            if rows[i, 0] < 0 or rows[i, 0] >= self.n_stops or rows[i, 1] < 0:
                raise ValueError(
                    f"bad {what} row {i}: stop index out of range or negative offset")
        return 0

    cdef int append_walk(self, list steps, int a, int b, int start) except -1:
        """A footpath step ``a -> b`` starting at ``start``, its duration looked up."""
        steps.append(("walk", a, b, start, self.fp_duration(a, b)))
        return 0

    cdef int append_origin(self, list steps, int source, int cur, int start) except -1:
        """Backwards from boarding stop ``cur``: the walk from ``source`` (if any), the origin."""
        if source != cur:
            self.append_walk(steps, source, cur, start)
        steps.append(("origin", source, start))
        return 0


def arrays_for(tt) -> TimetableArrays:
    """The ``TimetableArrays`` of ``tt``, shared by every engine built on these arrays."""
    cache = tt.extra.get("_arrays")
    if cache is None:
        cache = tt.extra.setdefault("_arrays", weakref.WeakValueDictionary())
    key = tuple(id(getattr(tt, name)) for name in _FIELDS)
    found = cache.get(key)
    if found is not None and found.built_from(tt):
        return found
    made = TimetableArrays(tt)
    cache[key] = made
    return made
