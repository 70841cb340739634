"""The side-by-side benchmark's agreement check (``benchmarks/vs_reference.py``) against the
C++ reference (kit-algo/ULTRA), on a few queries of one real feed.

Pforzheim has trips past midnight (26:05), so the reference gets the previous service day
too and every departure shifted by a day: the check covers that path of the protocol.
Cairns has stops without times and Mexico City frequencies.txt, which ULTRA's converter
read as another timetable until the preparation rewrote them; DB Fernverkehr 2017 has
trips ULTRA drops as dominated (its connections are counted against ours on the same
days).
Skips when ULTRA cannot be built here (no g++ 12, no libnuma-dev and not root); in CI a
skip fails (``tests/conftest.py``), and ``make test`` builds it first (``make reference``).
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
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


def test_the_reference_converts_the_timetable_we_compile(
        prepared: tuple[vs.Prepared, vs.Queries, Path]) -> None:
    assert vs.same_timetable(prepared[0])[0] is None


@pytest.mark.parametrize("feed", ["cairns", "dbfern2017"])
def test_the_reference_runs_the_trips_we_compile_less_those_it_drops_as_dominated(
        feed: str, driver: Path, tmp_path: Path) -> None:
    """Cairns: stops without times get our interpolated times, so the reference keeps
    their trips; DB Fernverkehr 2017: trips that another of the same stops dominates are
    the only ones the reference drops, and ``dominated_trips`` counts them as it does."""
    shared(vs.FEEDS[feed].path)
    p = vs.prepare(feed, vs.FEEDS[feed], tmp_path, driver)
    mismatch, dominated = vs.same_timetable(p)
    assert mismatch is None
    if feed == "cairns":
        assert p.rewrites.interpolated > 0
    else:
        assert dominated > 0


def _frequency_feed(out: Path, trips: int) -> Path:
    """Mexico City's first ``trips`` frequency templates whose headway divides their span
    (a start falls on ``end_time``) and as many whose headway does not, with their stops,
    routes and calendar, zipped."""
    src = zipfile.ZipFile(shared(vs.FEEDS["cdmx"].path))
    names = {Path(n).name: n for n in src.namelist()}

    def rows(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.TextIOWrapper(src.open(names[name]), "utf-8-sig")))

    freq = rows("frequencies.txt")
    divides = [r for r in freq if (vs._seconds(r["end_time"]) - vs._seconds(r["start_time"]))
               % int(r["headway_secs"]) == 0]
    others = [r for r in freq if r not in divides]
    keep = {r["trip_id"] for r in divides[:trips] + others[:trips]}
    tables = {"frequencies.txt": [r for r in freq if r["trip_id"] in keep],
              "trips.txt": [r for r in rows("trips.txt") if r["trip_id"] in keep],
              "stop_times.txt": [r for r in rows("stop_times.txt") if r["trip_id"] in keep]}
    routes = {r["route_id"] for r in tables["trips.txt"]}
    stops = {r["stop_id"] for r in tables["stop_times.txt"]}
    tables["routes.txt"] = [r for r in rows("routes.txt") if r["route_id"] in routes]
    tables["stops.txt"] = [r for r in rows("stops.txt") if r["stop_id"] in stops]
    tables["agency.txt"], tables["calendar.txt"] = rows("agency.txt"), rows("calendar.txt")
    with zipfile.ZipFile(out, "w") as zf:
        for name, table in tables.items():
            text = io.StringIO()
            w = csv.DictWriter(text, fieldnames=list(table[0]))
            w.writeheader()
            w.writerows(table)
            zf.writestr(name, text.getvalue())
    return out


def test_frequencies_end_before_end_time_for_the_reference_as_for_us(
        driver: Path, tmp_path: Path) -> None:
    feed = vs.Feed(str(_frequency_feed(tmp_path / "cdmx-frequencies.zip", 5)),
                   vs.FEEDS["cdmx"].day)
    p = vs.prepare("cdmx-frequencies", feed, tmp_path, driver)
    assert p.rewrites.frequency_ends > 0
    assert vs.same_timetable(p)[0] is None
    # the folder as GTFS gave it: ULTRA runs one more start per template of the first half
    (p.folder / "frequencies.txt").unlink()
    zipfile.ZipFile(feed.path).extract("frequencies.txt", p.folder)
    (p.folder / ".done").touch()
    again = vs.prepare("cdmx-frequencies", feed, tmp_path, driver)
    mismatch = vs.same_timetable(again)[0]
    assert mismatch is not None and "ours" in mismatch


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
