"""A leg's polyline cut from a shape encoded once is the polyline of the leg's points.

HART's longest shape (real data), pieces between random stop-like end points: the
encoded text decodes to the same points as encoding the piece whole, and the length is
the piece's summed haversine length.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from api.geo import PolylinePieces, decode_polyline, encode_polyline
from api.shapes import load_shapes
from planner.multimodal.geometry import path_length_m
from tests.shared_data import shared


@pytest.fixture(scope="module")
def shape() -> np.ndarray:
    shapes = load_shapes([shared("us-hart-tampa/hart.zip")])
    return max(shapes.values(), key=len)


@pytest.mark.parametrize("precision", [5, 6, 7])
def test_a_piece_is_the_polyline_of_its_points(shape: np.ndarray, precision: int) -> None:
    pieces = PolylinePieces(shape, precision)
    rng = np.random.default_rng(precision)
    for _ in range(200):
        i, j = sorted(int(x) for x in rng.integers(0, len(shape), 2))
        first = (float(shape[i, 0]) + rng.normal(0, 1e-4), float(shape[i, 1]) + 1e-4)
        last = (float(shape[j, 0]) - 1e-4, float(shape[j, 1]) + rng.normal(0, 1e-4))
        whole = [first, *map(tuple, shape[i:j + 1].tolist()), last]
        text, n, metres = pieces.piece(first, i, j, last)
        assert text == encode_polyline(whole, precision)
        assert n == len(whole) == len(decode_polyline(text, precision))
        assert math.isclose(metres, path_length_m(whole), rel_tol=1e-9, abs_tol=1e-6)
