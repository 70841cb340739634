"""planner.multimodal.geometry: one Earth radius, haversine, the sphere point index."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from planner.multimodal.geometry import (
    EARTH_RADIUS_M,
    PointIndex,
    haversine_m,
    haversine_m_array,
    path_length_m,
    project_m,
)

REPO = Path(__file__).resolve().parents[1]
BIELEFELD_HBF = (52.0293, 8.5325)
HERFORD = (52.1196, 8.6634)


def test_the_earth_radius_is_defined_once() -> None:
    """Two radii once made a stop 'within 200 m' for footpaths and not for the API."""
    pattern = re.compile(r"^\s*EARTH_RADIUS\w*\s*[:=]", re.M)
    homes = [str(p.relative_to(REPO)) for pkg in ("feeds", "planner", "api")
             for p in (REPO / pkg).rglob("*.py") if pattern.search(p.read_text())]
    assert homes == ["planner/multimodal/geometry.py"]


def test_scalar_and_array_haversine_agree() -> None:
    lat = np.array([BIELEFELD_HBF[0], 0.0, 89.9])
    lon = np.array([BIELEFELD_HBF[1], 0.0, -179.9])
    arr = haversine_m_array(lat, lon, HERFORD[0], HERFORD[1])
    one = [haversine_m(a, b, *HERFORD) for a, b in zip(lat, lon, strict=True)]
    assert arr == pytest.approx(one, rel=1e-12)
    assert 13_000 < haversine_m(*BIELEFELD_HBF, *HERFORD) < 14_000
    # a quarter meridian, and rounding noise never leaves the domain of asin
    assert haversine_m(0, 0, 90, 0) == pytest.approx(math.pi / 2 * EARTH_RADIUS_M)
    assert haversine_m(*HERFORD, *HERFORD) == 0.0


def test_path_length_sums_the_legs() -> None:
    mid = ((BIELEFELD_HBF[0] + HERFORD[0]) / 2, (BIELEFELD_HBF[1] + HERFORD[1]) / 2)
    total = haversine_m(*BIELEFELD_HBF, *mid) + haversine_m(*mid, *HERFORD)
    assert path_length_m([BIELEFELD_HBF, mid, HERFORD]) == pytest.approx(total)
    assert path_length_m([HERFORD]) == 0.0


def test_projection_matches_haversine_over_a_region() -> None:
    xy = project_m(np.array([BIELEFELD_HBF[0], HERFORD[0]]),
                   np.array([BIELEFELD_HBF[1], HERFORD[1]]), BIELEFELD_HBF[0])
    flat = float(np.hypot(*(xy[0] - xy[1])))
    assert flat == pytest.approx(haversine_m(*BIELEFELD_HBF, *HERFORD), rel=2e-3)


def test_point_index_finds_points_nearest_first_with_their_distance() -> None:
    lat = np.array([HERFORD[0], np.nan, BIELEFELD_HBF[0], BIELEFELD_HBF[0] + 0.001])
    lon = np.array([HERFORD[1], 8.5, BIELEFELD_HBF[1], BIELEFELD_HBF[1]])
    index = PointIndex(lat, lon)
    hits = index.within(*BIELEFELD_HBF, 20_000)
    assert [i for i, _ in hits] == [2, 3, 0]  # the point without coordinates is never found
    for i, metres in hits:
        assert metres == pytest.approx(haversine_m(*BIELEFELD_HBF, lat[i], lon[i]), abs=1e-3)
    assert [i for i, _ in index.within(*BIELEFELD_HBF, 500)] == [2, 3]
    assert [i for i, _ in index.nearest(*HERFORD, 2)] == [0, 3]
    assert index.within(*BIELEFELD_HBF, 0) == []
    assert PointIndex(np.array([np.nan]), np.array([np.nan])).within(0, 0, 1e7) == []


def test_within_any_gives_each_index_once_in_ascending_order() -> None:
    lat = np.array([HERFORD[0], BIELEFELD_HBF[0] + 0.001, BIELEFELD_HBF[0]])
    lon = np.array([HERFORD[1], BIELEFELD_HBF[1], BIELEFELD_HBF[1]])
    index = PointIndex(lat, lon)
    found = index.within_any(np.array([HERFORD[0], BIELEFELD_HBF[0]]),
                             np.array([HERFORD[1], BIELEFELD_HBF[1]]), 1_000)
    assert found.tolist() == [0, 1, 2]
    assert index.within_any(*BIELEFELD_HBF, 500).tolist() == [1, 2]  # scalars are fine
    assert index.within_any(np.zeros(0), np.zeros(0), 500).tolist() == []
