# cython: language_level=3
"""Binary search over a sorted vocabulary kept as one byte array with word offsets
(:class:`planner.places.names.WordIndex`): the bisection of a Python list of strings
without the list, a word's bytes compared in place (``memcmp``), no object per probe."""

from libc.stdint cimport int8_t, int16_t, int32_t, int64_t
from libc.string cimport memcmp

ctypedef fused offset_t:
    int8_t
    int16_t
    int32_t
    int64_t


cdef inline int _compare(const unsigned char* a, Py_ssize_t na, const unsigned char* b,
                         Py_ssize_t nb) noexcept nogil:
    """Byte-wise order of two strings, as Python orders bytes."""
    cdef Py_ssize_t n = na if na < nb else nb
    cdef int c = memcmp(a, b, n) if n > 0 else 0
    if c != 0:
        return c
    return (na > nb) - (na < nb)


def bisect_words(const unsigned char[::1] blob, const offset_t[::1] starts,
                 const unsigned char[::1] key, Py_ssize_t lo, bint prefix) -> int:
    """The first word from ``lo`` on that is not below ``key`` (``bisect_left``), or with
    ``prefix`` the first whose first ``len(key)`` bytes are above it (``bisect_right`` of
    the words cut to the key's length: the end of the words ``key`` begins)."""
    cdef Py_ssize_t hi = starts.shape[0] - 1, mid, a, n, m = key.shape[0]
    cdef const unsigned char* k = &key[0] if m > 0 else NULL
    cdef int c
    with nogil:
        while lo < hi:
            mid = (lo + hi) // 2
            a = starts[mid]
            n = starts[mid + 1] - a
            if prefix and n > m:
                n = m
            c = _compare(&blob[a] if n > 0 else NULL, n, k, m)
            if c < 0 or (prefix and c == 0):
                lo = mid + 1
            else:
                hi = mid
    return lo


def typo_candidates(const unsigned char[::1] blob, const offset_t[::1] starts,
                    const unsigned char[::1] key, double cutoff) -> list:
    """The words that may be within rapidfuzz's ``fuzz.ratio`` ``cutoff`` (0..100) of
    ``key``, in vocabulary order: the ratio is ``100 * (1 - indel / (la + lb))`` and the
    insertions and deletions are at least the letters the two do not share (their
    letter counts' difference), so a word that fails this bound cannot reach the cutoff
    and need not be decoded for rapidfuzz. Words end with a newline (not counted)."""
    cdef Py_ssize_t n = starts.shape[0] - 1, la = key.shape[0], i, j, a, lb, common
    cdef int have[256]
    cdef int left[256]
    cdef double slack = 1.0 - cutoff / 100.0
    out = []
    for j in range(256):
        have[j] = 0
    for j in range(la):
        have[key[j]] += 1
    for j in range(256):
        left[j] = have[j]
    for i in range(n):
        a = starts[i]
        lb = starts[i + 1] - a - 1
        if (la - lb if la > lb else lb - la) > slack * (la + lb) + 1e-9:
            continue
        common = 0
        for j in range(a, a + lb):
            if left[blob[j]] > 0:
                common += 1
                left[blob[j]] -= 1
        for j in range(a, a + lb):
            left[blob[j]] = have[blob[j]]
        if la + lb - 2 * common <= slack * (la + lb) + 1e-9:
            out.append(i)
    return out
