# cython: language_level=3
"""Typed views of a ``Timetable``'s arrays, bound once and shared by all routing cores.

``cimport`` this from an engine and keep a ``TimetableArrays`` reference; see
``planner/routing/kernel.pyx`` for why it exists.
"""

from libcpp.vector cimport vector

cdef enum:
    INF = 2147483647           # planner.timetable.model.INFINITY: "unreached"
    NO_TRANSFER = 1 << 29      # planner.timetable.model.NO_TRANSFER: no change at this stop


cdef class TimetableArrays:
    cdef readonly int n_stops, n_routes, n_trips, n_conns, n_footpaths
    cdef readonly tuple sources  # the Timetable's own arrays, for the cache identity check
    cdef object __weakref__

    # views (readonly from Python, e.g. np.asarray(arrays.st_dep)); stops
    cdef readonly const int[::1] change
    # RAPTOR routes and trips
    cdef readonly const int[::1] route_stop_offset, route_stops, route_trip_offset
    cdef readonly const unsigned char[::1] route_pickup, route_dropoff
    cdef readonly const int[::1] trip_route, trip_st_offset, st_arr, st_dep
    cdef readonly const int[::1] stop_route_offset, stop_route_route, stop_route_pos
    # CSA connections
    cdef readonly const int[::1] conn_dep_stop, conn_arr_stop, conn_dep, conn_arr
    cdef readonly const int[::1] conn_trip, conn_pos
    cdef readonly const unsigned char[::1] conn_pickup, conn_dropoff
    # footpaths (CSR by from-stop and by to-stop); may be empty
    cdef readonly const int[::1] fp_offset, fp_to, fp_dur, fp_in_offset, fp_in_from, fp_in_dur

    cdef int check_rows(self, const int[:, ::1] rows, str what) except -1
    cdef int append_walk(self, list steps, int a, int b, int start) except -1
    cdef int append_origin(self, list steps, int source, int cur, int start) except -1

    cdef inline int fp_duration(self, int a, int b) noexcept nogil:
        """Seconds of the footpath ``a -> b``, or -1 if there is none."""
        cdef int j
        for j in range(self.fp_offset[a], self.fp_offset[a + 1]):
            if self.fp_to[j] == b:
                return self.fp_dur[j]
        return -1


cdef inline const int* iptr(const int[::1] a) noexcept nogil:
    """``&a[0]``, or NULL for an empty array (loops bounded by offsets never read it)."""
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline const unsigned char* bptr(const unsigned char[::1] a) noexcept nogil:
    """``&a[0]``, or NULL for an empty array."""
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline int earliest_source_time(vector[int]& stops, vector[int]& times,
                                     int s) noexcept nogil:
    """Earliest start at source stop ``s`` among a search's source rows (INF if none)."""
    cdef int best = INF
    cdef size_t i
    for i in range(stops.size()):
        if stops[i] == s and times[i] < best:
            best = times[i]
    return best
