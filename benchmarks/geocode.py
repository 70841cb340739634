"""Geocoding figures (issue 15 point 7): index build time and memory, query latency.

On the largest test extract (Frankfurt–Darmstadt, MOTIS's test case) with the demo feed's
stops (de-db-fv-2026):

* build: the places index from the extract, uncached, best and median of ``--builds``;
  the street graphs of the same extract (``Streets.from_osm``) for comparison;
* memory: :func:`~planner.places.footprint.footprint` of the index (every array once,
  memory-mapped or not, and every Python object it holds) against that of the street
  graphs (``Streets``: CSR matrices, node arrays, snapping KD-trees with their nodes, of
  every mode), both as built and the index also as loaded from its cache (mapped);
  cross-checked with ``tracemalloc``: what building each (and loading the index) leaves
  allocated (mapped files and KD-tree nodes are not traced, so it is reported with the
  mapped bytes and the trees' nodes beside it);
* queries: ``--queries`` (1,000) mixed texts drawn from the index with a fixed seed
  (addresses exact, lower case, with a typo, town first, postcode first; streets; places
  exact, prefix, typo, reordered; stop names), each through the whole ``Geocoder``
  (stops and places mixed and ranked); p50/p90/p99/max and how often the drawn record is
  the first result or among the first five; reverse geocoding at 1,000 drawn points.

Run: ``nice python benchmarks/geocode.py`` (``--extract``, ``--queries``, ``--seed``).
"""

from __future__ import annotations

import argparse
import gc
import mmap
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.multimodal.geometry import PointIndex  # noqa: E402
from planner.multimodal.streets import Streets  # noqa: E402
from planner.places import text as place_text  # noqa: E402
from planner.places.footprint import KDTREE_NODE_BYTES, footprint  # noqa: E402
from planner.places.osm_index import (  # noqa: E402
    PLACE,
    STREET,
    PlaceIndex,
    build_index,
    load_or_build,
)
from planner.places.search import Geocoder, PlaceSearch, StopSearch  # noqa: E402
from planner.timetable.disk_cache import load_or_compile  # noqa: E402

EXTRACT = (ROOT / ".." / "shared" / "data" / "gbfs-de-callabike-darmstadt" / "osm"
           / "frankfurt-darmstadt-test_case.osm.pbf")
DEMO = ROOT / "data" / "demo" / "de-db-fv-2026.gtfs.zip"
DAY = date(2026, 4, 20)
TYPES = frozenset({"STOP", "ADDRESS", "PLACE"})


def typo(text: str, rng: random.Random) -> str:
    """Two neighbouring letters of the longest word swapped."""
    words = text.split(" ")
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    if len(w) < 4:
        return text
    j = rng.randrange(1, len(w) - 1)
    words[i] = w[:j - 1] + w[j] + w[j - 1] + w[j + 1:]
    return " ".join(words)


def queries(ix: PlaceIndex, stops: StopSearch, n: int, rng: random.Random
            ) -> list[tuple[str, str, str]]:
    """(kind of query, text, the name the drawn record is shown with)."""
    a = ix.a
    out: list[tuple[str, str, str]] = []
    places = np.flatnonzero(ix.rec_kind == PLACE)
    streets = np.flatnonzero(ix.rec_kind == STREET)
    stop_names = [stops.names[int(i)] for i in stops.entries]
    while len(out) < n:
        pick = rng.randrange(10)
        if pick < 5 and ix.n_addresses:
            i = rng.randrange(ix.n_addresses)
            rec = int(ix.addr_record[i])
            street = ix.string(int(a["rec_name"][rec]))
            number = ix.string(int(a["addr_number"][i]))
            name = f"{street} {number}"
            town = ix.area_name(int(ix.rec_town[rec]))
            postcode = ix.string(int(a["addr_postcode"][i]))
            kind, text = rng.choice([
                ("address exact", name), ("address lower", name.lower()),
                ("address typo", typo(name, rng)),
                ("address town first", f"{town}, {name}" if town else name),
                ("address postcode first", f"{postcode} {name}" if postcode else name)])
            out.append((kind, text, name))
        elif pick < 6 and len(streets):
            name = ix.string(int(a["rec_name"][int(rng.choice(streets))]))
            out.append(("street", name, name))
        elif pick < 9 and len(places):
            name = ix.string(int(a["rec_name"][int(rng.choice(places))]))
            words = name.split(" ")
            kind, text = rng.choice([
                ("place exact", name), ("place prefix", name[:max(3, int(len(name) * 0.6))]),
                ("place typo", typo(name, rng)),
                ("place reordered", " ".join(reversed(words)))])
            out.append((kind, text, name))
        else:
            name = rng.choice(stop_names)
            out.append(("stop", name, name))
    return out


def percentiles(ms: list[float]) -> str:
    q = np.percentile(ms, [50, 90, 99])
    return f"p50 {q[0]:.2f} ms  p90 {q[1]:.2f} ms  p99 {q[2]:.2f} ms  max {max(ms):.2f} ms"


def timed(fn: Callable[[], object], wall: list[float], cpu: list[float]) -> object:
    """Run ``fn``; append its wall-clock and its thread CPU milliseconds (the CPU time is
    what the query costs; on a shared machine the wall time also holds the waits)."""
    t, c = time.perf_counter(), time.thread_time()
    out = fn()
    cpu.append((time.thread_time() - c) * 1000)
    wall.append((time.perf_counter() - t) * 1000)
    return out


def traced(make: Callable[[], object]) -> tuple[object, int]:
    """What ``make`` returns and the bytes its run leaves allocated (``tracemalloc``),
    less what pyosmium keeps for itself after reading (its buffers and pools stay with
    the library, not with what was built; ~50 KiB after a first read, not freed); the
    text caches, global and filled by any search, are emptied before and after."""
    def settle() -> tracemalloc.Snapshot:
        for cache in (place_text.spellings, place_text.house_number):
            cache.cache_clear()
        gc.collect()
        return tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, "*/osmium/*", all_frames=True)])

    tracemalloc.start(40)
    before = settle()
    out = make()
    held = sum(d.size_diff for d in settle().compare_to(before, "filename"))
    tracemalloc.stop()
    return out, held


def mapped_bytes(ix: PlaceIndex) -> int:
    """Bytes of the memory maps the index's arrays view (untraced), each map once."""
    maps: dict[int, int] = {}
    for arr in ix.a.values():
        base: object = arr
        while isinstance(base, np.ndarray):
            base = base.base
        if isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap):
            maps[id(base.obj)] = len(base.obj)
    return sum(maps.values())


def kib(n: float) -> str:
    return f"{n / 1024:.1f} KiB"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--extract", type=Path, default=EXTRACT)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--builds", type=int, default=3)
    p.add_argument("--seed", type=int, default=15)
    args = p.parse_args()
    rng = random.Random(args.seed)

    builds = []
    for _ in range(args.builds):
        t = time.perf_counter()
        ix = build_index([args.extract])
        builds.append(time.perf_counter() - t)
    t = time.perf_counter()
    streets = Streets.from_osm(args.extract)
    graph_s = time.perf_counter() - t
    places = PlaceSearch(ix)
    index_b = ix.nbytes
    graph_b = footprint(streets)
    print(f"extract {args.extract.name}: {ix.n_records} records "
          f"({int(np.sum(ix.rec_kind == STREET))} streets, "
          f"{int(np.sum(ix.rec_kind == PLACE))} places), {ix.n_addresses} addresses, "
          f"{ix.n_areas} areas, {len(ix.words)} words")
    print(f"index build: best {min(builds):.3f} s, median {statistics.median(builds):.3f} s "
          f"({args.builds} builds); street graphs: {graph_s:.3f} s "
          f"(ratio {min(builds) / graph_s:.2f})")
    with tempfile.TemporaryDirectory() as tmp:
        load_or_build([args.extract], Path(tmp))  # fills the cache entry
        loaded, load_traced = traced(lambda: load_or_build([args.extract], Path(tmp)))
        assert isinstance(loaded, PlaceIndex) and loaded.stats["cache"] == "hit"
        loaded_b, loaded_mapped = loaded.nbytes, mapped_bytes(loaded)
        del loaded
    _, build_traced = traced(lambda: build_index([args.extract]))
    _, graph_traced = traced(lambda: Streets.from_osm(args.extract))
    nodes = sum(g.tree.size for g in streets.graphs.values()) * KDTREE_NODE_BYTES
    print(f"memory: index {kib(index_b)} (loaded from its cache {kib(loaded_b)}, "
          f"{kib(loaded_mapped)} of it mapped), street graphs {kib(graph_b)} "
          f"({', '.join(f'{m} {g.n_nodes} nodes' for m, g in streets.graphs.items())}); "
          f"index = {100 * index_b / graph_b:.1f} % of the graphs")
    print(f"  tracemalloc: index build leaves {kib(build_traced)}, cache load "
          f"{kib(load_traced)} + {kib(loaded_mapped)} mapped; street graphs "
          f"{kib(graph_traced)} + {kib(nodes)} KD-tree nodes = {kib(graph_traced + nodes)}; "
          f"index = {100 * build_traced / (graph_traced + nodes):.1f} % of the graphs")

    tt = load_or_compile([DEMO], DAY)
    geocoder = Geocoder(StopSearch(tt), places)
    stop_points = PointIndex(tt.stop_lat, tt.stop_lon)
    drawn = queries(ix, geocoder.stops, args.queries, rng)
    for _, text, _ in drawn[:50]:  # warm-up: first calls import and allocate
        geocoder.search(text, 10, TYPES)
    wall: list[float] = []
    cpu: list[float] = []
    by_kind: dict[str, list[int]] = {}
    for kind, text, name in drawn:
        found = timed(lambda text=text: geocoder.search(text, 10, TYPES), wall, cpu)
        names = [f.name for f in found]  # type: ignore[attr-defined]
        rank = names.index(name) if name in names else 99
        by_kind.setdefault(kind, []).append(rank)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"geocode, {len(drawn)} mixed queries (seed {args.seed}), wall: {percentiles(wall)}")
    print(f"{'':>35s} CPU: {percentiles(cpu)}")
    for kind, ranks in sorted(by_kind.items()):
        r = np.array(ranks)
        print(f"  {kind:24s} n={len(r):4d}  first {np.mean(r == 0):6.1%}  "
              f"top 5 {np.mean(r < 5):6.1%}")

    lat = np.asarray(ix.rec_lat, float)
    lon = np.asarray(ix.rec_lon, float)
    rev: list[float] = []
    rev_cpu: list[float] = []
    for _ in range(args.queries):
        i = rng.randrange(len(lat))
        y, x = lat[i] + rng.uniform(-5e-4, 5e-4), lon[i] + rng.uniform(-5e-4, 5e-4)
        timed(lambda y=y, x=x: geocoder.reverse(y, x, 5, TYPES, stop_points), rev, rev_cpu)
    print(f"reverse geocode, {args.queries} points, wall: {percentiles(rev)}")
    print(f"{'':>33s} CPU: {percentiles(rev_cpu)}")


if __name__ == "__main__":
    main()
