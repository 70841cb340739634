# cython: language_level=3
"""The points in a square of grid cells and their great-circle distances to a point
(:class:`planner.places.nearby.NearGrid`): one pass in C over the cells' ranges of the
sorted cell numbers, not a dozen NumPy calls per widening of the square."""

import numpy as np

from libc.math cimport asin, cos, sin, sqrt, M_PI
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t

ctypedef fused cell_t:
    int8_t
    int16_t
    int32_t
    int64_t

ctypedef fused id_t:
    int8_t
    int16_t
    int32_t
    int64_t


cdef inline Py_ssize_t _first_not_below(const cell_t[::1] cells, int64_t key) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = cells.shape[0], mid
    while lo < hi:
        mid = (lo + hi) // 2
        if cells[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def square(const cell_t[::1] cells, const id_t[::1] order,
           const float[::1] lat_a, const float[::1] lon_a,
           const float[::1] lat_b, const float[::1] lon_b,
           int64_t cols, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
           double lat, double lon, int64_t below, double earth_radius_m):
    """Ids and metres of the points in rows ``r0..r1`` and columns ``c0..c1`` (ids under
    ``below`` only, unless it is negative). Point ids count the ``_a`` coordinates
    (addresses) first, then the ``_b`` ones (records); metres as
    :func:`~planner.multimodal.geometry.haversine_m_array` measures them."""
    cdef Py_ssize_t rows = r1 - r0 + 1 if r1 >= r0 else 0, i, j, m = 0, total = 0
    cdef Py_ssize_t n_a = lat_a.shape[0]
    cdef int64_t point
    cdef double rad = M_PI / 180.0, p1 = lat * rad, p2, dp, dl, a, cos1 = cos(p1)
    lo_arr = np.empty(rows, np.intp)
    hi_arr = np.empty(rows, np.intp)
    cdef Py_ssize_t[::1] lo = lo_arr, hi = hi_arr
    for i in range(rows):
        lo[i] = _first_not_below(cells, (r0 + i) * cols + c0)
        hi[i] = _first_not_below(cells, (r0 + i) * cols + c1 + 1)
        total += hi[i] - lo[i]
    ids_arr = np.empty(total, np.int64)
    d_arr = np.empty(total, np.float64)
    cdef int64_t[::1] ids = ids_arr
    cdef double[::1] d = d_arr
    with nogil:
        for i in range(rows):
            for j in range(lo[i], hi[i]):
                point = order[j]
                if below >= 0 and point >= below:
                    continue
                if point < n_a:
                    p2 = lat_a[point] * rad
                    dl = (lon_a[point] - lon) * rad
                else:
                    p2 = lat_b[point - n_a] * rad
                    dl = (lon_b[point - n_a] - lon) * rad
                dp = p2 - p1
                a = sin(dp / 2) ** 2 + cos1 * cos(p2) * sin(dl / 2) ** 2
                a = 0.0 if a < 0.0 else (1.0 if a > 1.0 else a)
                ids[m] = point
                d[m] = 2 * earth_radius_m * asin(sqrt(a))
                m += 1
    return ids_arr[:m], d_arr[:m]
