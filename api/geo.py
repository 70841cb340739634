"""Google encoded polylines for responses (HTTP rendering only).

Distances, the Earth radius and the nearest-stop index live in
:mod:`planner.multimodal.geometry`.
"""

from __future__ import annotations

import numpy as np

#: Polylines are encoded with precision 7 (1e-7 degrees), as MOTIS does.
POLYLINE_PRECISION = 7


_SHIFTS = np.arange(8, dtype=np.int64) * 5  # 8 x 5 bits cover any zig-zagged delta


def encode_polyline(points: list[tuple[float, float]] | np.ndarray,
                    precision: int = POLYLINE_PRECISION) -> str:
    """Google's encoded polyline algorithm over (lat, lon) pairs (vectorised; short lines,
    such as two-point walks, in plain Python where numpy's call overhead would dominate)."""
    if len(points) <= 8:
        return _encode_short(points, precision)
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(arr) == 0:
        return ""
    ints = np.round(arr * 10**precision).astype(np.int64)
    deltas = np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
    values = np.where(deltas < 0, ~(deltas << 1), deltas << 1)
    rest = values[:, None] >> _SHIFTS  # what is left before emitting chunk k
    present = rest > 0
    present[:, 0] = True
    more = np.zeros_like(present)
    more[:, :-1] = rest[:, 1:] > 0
    codes = (rest & 0x1F) + 0x20 * more + 63
    return codes[present].astype(np.uint8).tobytes().decode("ascii")


def _encode_short(points: list[tuple[float, float]] | np.ndarray, precision: int) -> str:
    factor = 10**precision
    out: list[str] = []
    prev_lat = prev_lon = 0
    for lat, lon in points:
        ilat, ilon = round(float(lat) * factor), round(float(lon) * factor)
        for delta in (ilat - prev_lat, ilon - prev_lon):
            v = ~(delta << 1) if delta < 0 else delta << 1
            while v >= 0x20:
                out.append(chr((0x20 | (v & 0x1F)) + 63))
                v >>= 5
            out.append(chr(v + 63))
        prev_lat, prev_lon = ilat, ilon
    return "".join(out)


def decode_polyline(text: str, precision: int = POLYLINE_PRECISION) -> list[tuple[float, float]]:
    """Inverse of :func:`encode_polyline` (used by tests and the widget's server side)."""
    factor = 10**precision
    coords: list[tuple[float, float]] = []
    i = lat = lon = 0
    while i < len(text):
        vals = []
        for _ in range(2):
            shift = result = 0
            while True:
                b = ord(text[i]) - 63
                i += 1
                result |= (b & 0x1F) << shift
                shift += 5
                if b < 0x20:
                    break
            vals.append(~(result >> 1) if result & 1 else result >> 1)
        lat += vals[0]
        lon += vals[1]
        coords.append((lat / factor, lon / factor))
    return coords
