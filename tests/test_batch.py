"""``run_batch`` / ``owl-planner route`` end to end on a real feed."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from planner.commands.route import add_route_parser, run_batch
from planner.routing.reference import ReferenceRouter
from planner.timetable.disk_cache import load_or_compile

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
FEED = DATA / "us-caltrain-rt" / "ct.zip"
DAY = date(2023, 11, 7)


@pytest.fixture()
def cache(tmp_path: Path) -> Path:
    """A work directory; compiled timetables go to its ``cache`` folder."""
    if not FEED.exists():
        pytest.skip(f"real feed missing: {FEED}")
    return tmp_path


def write_queries(path: Path, rows: list[tuple[str, str, int]]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "target", "departure", "note"])
        for i, (s, t, d) in enumerate(rows):
            w.writerow([s, t, d, f"q{i}"])
    return path


def random_rows(work: Path, n: int, seed: int) -> list[tuple[str, str, int]]:
    tt = load_or_compile([FEED], DAY, cache_dir=work / "cache")
    rng = np.random.default_rng(seed)
    served = np.nonzero(np.diff(tt.stop_route_offset) > 0)[0]
    ids = [str(tt.stop_ids[i]).split(":", 1)[1] for i in served]
    return [(str(rng.choice(ids)), str(rng.choice(ids)), int(rng.integers(5 * 3600, 25 * 3600)))
            for _ in range(n)]


@pytest.mark.parametrize("algorithm", ["csa", "raptor", "tripbased", "auto"])
def test_batch_arrivals_match_the_reference(cache: Path, algorithm: str) -> None:
    rows = random_rows(cache, 60, seed=21)
    q = write_queries(cache / "q.csv", rows)
    out = cache / f"out-{algorithm}.csv"
    summary = run_batch([FEED], DAY, q, algorithm, out, cache_dir=cache / "cache")
    assert summary["queries"] == 60
    with open(out, newline="") as fh:
        result = list(csv.DictReader(fh))
    assert list(result[0].keys()) == ["source", "target", "departure", "note", "arrival",
                                      "transfers", "query_us"]
    tt = load_or_compile([FEED], DAY, cache_dir=cache / "cache")
    ref = ReferenceRouter(tt)
    midnight = tt.time_of(DAY, 0)
    prefix = str(tt.stop_ids[0]).split(":", 1)[0] + ":"
    reached = 0
    for i, ((s, t, d), r) in enumerate(zip(rows, result, strict=True)):
        # the output keeps each query's own columns, in the order given (write_queries
        # notes row i as "q{i}")
        assert (r["source"], r["target"], r["departure"], r["note"]) == (s, t, str(d), f"q{i}")
        expected = ref.earliest_arrival([(tt.stop_index(prefix + s), 0)],
                                        [(tt.stop_index(prefix + t), 0)], midnight + d)
        if expected is None:
            assert (r["arrival"], r["transfers"]) == ("-1", "-1")
        else:
            reached += 1
            assert int(r["arrival"]) == expected - midnight
            assert int(r["transfers"]) >= 0
        assert float(r["query_us"]) > 0
    assert reached == summary["reachable"] > 0


def test_route_command_writes_output_and_reports_unknown_stops(cache: Path,
                                                              capsys) -> None:
    from planner.commands.main import build_parser, run

    rows = random_rows(cache, 5, seed=22)
    q = write_queries(cache / "q.csv", rows)
    out = cache / "out.csv"
    parser, _ = build_parser()
    argv = ["route", str(FEED), "--date", DAY.isoformat(), "--queries", str(q),
            "--algorithm", "csa", "--out", str(out), "--cache-dir", str(cache / "cache")]
    assert run(parser, argv) == 0
    assert "5 queries" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 6
    bad = write_queries(cache / "bad.csv", [("no-such-stop", rows[0][1], 30000)])
    assert run(parser, argv[:5] + [str(bad)] + argv[6:]) == 2
    assert "unknown stop id" in capsys.readouterr().err


def test_missing_column_is_a_clear_error(cache: Path) -> None:
    q = cache / "q.csv"
    q.write_text("source,target\na,b\n")
    with pytest.raises(ValueError, match="missing column 'departure'"):
        run_batch([FEED], DAY, q, "raptor", cache / "out.csv", cache_dir=cache / "cache")


def test_mcraptor_batch_reports_the_earliest_pareto_member(cache: Path) -> None:
    pytest.importorskip("planner.routing.mcraptor", reason="McRAPTOR module not built")
    rows = random_rows(cache, 20, seed=23)
    q = write_queries(cache / "q.csv", rows)
    run_batch([FEED], DAY, q, "raptor", cache / "r.csv", max_transfers=8,
              cache_dir=cache / "cache")
    run_batch([FEED], DAY, q, "mcraptor", cache / "m.csv", max_transfers=8,
              cache_dir=cache / "cache")
    with open(cache / "r.csv") as a, open(cache / "m.csv") as b:
        ra, rb = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert [r["arrival"] for r in ra] == [r["arrival"] for r in rb]


def test_route_parser_accepts_the_documented_arguments() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_route_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["route", "f.zip", "--date", "2021-01-12", "--queries", "q.csv",
                              "--algorithm", "mcraptor", "--out", "o.csv",
                              "--footpath-radius", "150"])
    assert (args.algorithm, args.footpath_radius, args.out) == ("mcraptor", 150.0,
                                                                Path("o.csv"))


def test_owl_cache_dir_reaches_the_planner_commands_through_the_settings(
        cache: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The planner reads no environment; ``owl-planner`` (api.cli) hands it the setting."""
    from api.cli import main

    monkeypatch.setenv("OWL_CACHE_DIR", str(cache / "from-env"))
    assert main(["compile", str(FEED), "--date", DAY.isoformat(), "--json"]) == 0
    assert '"cache": "miss"' in capsys.readouterr().out
    assert any((cache / "from-env").iterdir())
    assert main(["compile", str(FEED), "--date", DAY.isoformat(), "--json",
                 "--cache-dir", str(cache / "flag")]) == 0
    assert any((cache / "flag").iterdir())
    monkeypatch.setenv("OWL_CACHE_SIZE", "many")
    assert main(["compile", str(FEED), "--date", DAY.isoformat()]) == 2
    assert "OWL_CACHE_SIZE" in capsys.readouterr().err
