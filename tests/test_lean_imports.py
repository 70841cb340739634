"""The routing path imports only what it uses (issue 13, "a lean process").

Each test runs the path in a fresh interpreter and reads its ``sys.modules``: a module
imported at the top of something on the path (pandas through the compiler, GeoPandas and
folium through gtfs-kit, networkx through the reference) shows up there, however little
time or memory it happens to cost on this machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from planner.timetable.disk_cache import load_or_compile
from tests.shared_data import DEMO_FEED

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2026, 4, 20)
BIELEFELD, PADERBORN = "347953", "469041"  # parent stations of the demo feed

#: Packages a process that loads a cached timetable and routes has no use for.
NOT_FOR_ROUTING = ("pandas", "pyarrow", "gtfs_kit", "geopandas", "shapely", "folium",
                   "networkx", "scipy", "dask", "distributed", "tqdm", "osmium")
#: Project modules that only compiling or the studies need.
NOT_FOR_ROUTING_PROJECT = ("feeds.gtfs", "planner.timetable.compile",
                           "planner.timetable.footpaths", "planner.analysis.study",
                           "planner.routing.reference", "api.store", "api.app")
#: What a serving process never needs, at start-up or after: plotting, geo frames, the
#: studies and their cluster, the test oracle's graph library.
NOT_FOR_SERVING = ("gtfs_kit", "geopandas", "shapely", "folium", "matplotlib", "networkx",
                   "dask", "distributed")


def _modules_after(code: str) -> set[str]:
    """Every module name in ``sys.modules`` once ``code`` has run in a fresh process."""
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, check=False, env={"PYTHONPATH": str(ROOT),
                                                       "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _imported(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".")
                                                          for m in modules))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding the demo feed's compiled day (compiled here, in the test process)."""
    root = tmp_path_factory.mktemp("timetables")
    load_or_compile([DEMO_FEED], DAY, cache_dir=root)
    return root


@pytest.mark.parametrize("algorithm", ["raptor", "csa", "mcraptor"])
def test_route_from_a_cached_timetable_imports_neither_pandas_nor_the_gtfs_reader(
        cache_dir: Path, tmp_path: Path, algorithm: str) -> None:
    queries = tmp_path / "q.csv"
    queries.write_text(f"source,target,departure\n{BIELEFELD},{PADERBORN},{8 * 3600}\n")
    out = tmp_path / "out.csv"
    argv = ["route", str(DEMO_FEED), "--date", DAY.isoformat(), "--cache-dir", str(cache_dir),
            "--queries", str(queries), "--out", str(out), "--algorithm", algorithm]
    modules = _modules_after(f"from api.cli import main\nassert main({argv!r}) == 0")
    assert _imported(modules, NOT_FOR_ROUTING) == []
    assert _imported(modules, NOT_FOR_ROUTING_PROJECT) == []
    # ... and it did route: the query was answered with an arrival.
    header, row = out.read_text().splitlines()
    assert int(row.split(",")[header.split(",").index("arrival")]) > 8 * 3600


def test_a_cache_miss_still_compiles_through_the_same_entry_point(tmp_path: Path) -> None:
    """The compiler moved behind a function-level import: a miss must still reach it."""
    code = (f"from datetime import date\nfrom pathlib import Path\n"
            f"from planner.timetable.disk_cache import load_or_compile\n"
            f"tt = load_or_compile([{str(DEMO_FEED)!r}], date(2026, 4, 20), "
            f"cache_dir=Path({str(tmp_path)!r}))\nassert tt.extra['cache'] == 'miss'\n"
            f"assert tt.n_trips > 0")
    modules = _modules_after(code)
    assert "planner.timetable.compile" in modules
    assert _imported(modules, ("gtfs_kit", "geopandas", "folium", "networkx")) == []


def test_serving_a_plan_imports_no_plotting_geo_frames_or_cluster(cache_dir: Path) -> None:
    code = f"""
from fastapi.testclient import TestClient
from api.app import create_app
from api.settings import load_settings
settings = load_settings(env={{}}, feeds=({str(DEMO_FEED)!r},), cache_dir={str(cache_dir)!r})
with TestClient(create_app(settings)) as client:
    r = client.get("/api/v1/plan", params={{"fromPlace": "de-db-fv-2026:{BIELEFELD}",
                   "toPlace": "de-db-fv-2026:{PADERBORN}", "time": "2026-04-20T08:00:00+02:00"}})
    assert r.status_code == 200, r.text
    assert r.json()["itineraries"], r.text
"""
    modules = _modules_after(code)
    assert _imported(modules, NOT_FOR_SERVING) == []
    # one-to-all and one-to-many answer on the studies' core (planner.analysis.reach and
    # what it needs); the frames, jobs and cluster side of the studies stay out
    studies = tuple(f"planner.analysis.{m}" for m in (
        "frames", "jobs", "distributed", "isochrones"))
    assert _imported(modules, (*studies, "planner.routing.reference")) == []
