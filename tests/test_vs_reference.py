"""The side-by-side benchmark's agreement check (``benchmarks/vs_reference.py``) against the
C++ reference (kit-algo/ULTRA), on a few queries of one real feed.

Pforzheim has trips past midnight (26:05), so the reference gets the previous service day
too and every departure shifted by a day: the check covers that path of the protocol.
Skips when ULTRA cannot be built here (no g++ 12, no libnuma-dev and not root); in CI a
skip fails (``tests/conftest.py``), and ``make test`` builds it first (``make reference``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks import vs_reference as vs
from planner.routing.router import Router
from tests.shared_data import shared

FEED = "pforzheim"


@pytest.fixture(scope="module")
def driver() -> Path:
    if shutil.which("g++") is None:
        pytest.skip("g++ missing: the ULTRA reference cannot be built (make reference)")
    try:
        return vs.ultra_driver()
    except RuntimeError as exc:
        pytest.skip(f"the ULTRA reference cannot be built (make reference): {exc}")


@pytest.fixture(scope="module")
def prepared(driver: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[vs.Prepared, vs.Queries, Path]:
    shared(vs.FEEDS[FEED].path)
    work = tmp_path_factory.mktemp("vs_reference")
    p = vs.prepare(FEED, vs.FEEDS[FEED], work, driver)
    return p, vs.draw_queries(p, 40, 7, work), work


def test_previous_service_day_is_given_to_the_reference_with_shifted_departures(
        prepared: tuple[vs.Prepared, vs.Queries, Path]) -> None:
    p, q, _ = prepared
    assert p.shift == vs.DAY
    shifted = q.csv.read_text().splitlines()[1].split(",")
    assert int(shifted[2]) == q.rows[0][2] + vs.DAY


@pytest.mark.parametrize("algo", vs.ALGORITHMS)
def test_ours_and_ultra_agree_on_every_query(
        algo: str, driver: Path, prepared: tuple[vs.Prepared, vs.Queries, Path]) -> None:
    p, q, work = prepared
    _, ours = vs.run_ours(Router(p.tt), q, algo)
    _, ultra = vs.run_ultra(driver, p, q.csv, algo, work / f"ultra-{algo}.csv")
    assert vs.disagreements(q, ours, ultra) == []
    reached = [a for a in ours if a != -1 and a != frozenset()]
    assert len(reached) >= len(q.rows) // 4  # the check compared journeys, not only misses


def test_a_one_second_difference_is_reported_for_that_query(
        driver: Path, prepared: tuple[vs.Prepared, vs.Queries, Path]) -> None:
    p, q, work = prepared
    _, ultra = vs.run_ultra(driver, p, q.csv, "raptor", work / "ultra-raptor.csv")
    i = next(i for i, a in enumerate(ultra) if a != -1)
    ours = list(ultra)
    ours[i] = int(ultra[i]) + 1
    found = vs.disagreements(q, ours, ultra)
    assert len(found) == 1
    assert found[0].startswith(f"{q.rows[i][0]} -> {q.rows[i][1]} at {q.rows[i][2]}")


def test_pareto_front_drops_dominated_labels_and_keeps_incomparable_ones() -> None:
    front = vs.pareto_front([(100, 2, 0), (100, 2, 30), (90, 3, 0), (120, 1, 60), (90, 3, 0)])
    assert front == frozenset({(100, 2, 0), (90, 3, 0), (120, 1, 60)})
