"""Travel-time matrix benchmark (issue 12), seeded and with its baseline in the same run.

1. ``us-hart-tampa`` 2021-01-12, departures 07:00 + 60 minutes, every served stop as an
   origin (a point at the stop), every stop as a destination, percentiles 25/50/75, at
   most 4 rides, 15 minutes' walk: time per origin on one core (the whole matrix in this
   process). Baseline: the same cells from 60 independent RAPTOR one-to-all runs per
   origin (``Router.one_to_all``, no labels reused) on a seeded sample of origins.
2. The same matrix on Dask: a ``LocalCluster`` of 1, then 2 worker processes (one thread
   each); wall time of ``run_distributed`` (partitions written) after each worker has
   opened the network and built the study on a warm-up chunk, the speed-up, and each
   worker's peak resident memory (``VmHWM``).
3. ``br-porto-alegre`` with its OSM extract: a 500 m grid over the extract's box as
   origins and destinations (points to stops on the walking graph), 14:00 + 60 minutes.

    python benchmarks/matrix.py [--sample 50] [--origins N] [--seed 42] [--no-dask]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.analysis.propagate import propagate  # noqa: E402

from planner.analysis.distributed import (  # noqa: E402
    client_for,
    read_partitions,
    run_distributed,
)
from planner.analysis.frames import stop_points  # noqa: E402
from planner.analysis.jobs import Job, run  # noqa: E402
from planner.analysis.network import TransportNetwork  # noqa: E402
from planner.analysis.points import Points  # noqa: E402
from planner.analysis.request import StudyRequest  # noqa: E402
from planner.analysis.study import Study  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / ".cache" / "timetables"


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def baseline_ms(study: Study, origins: Points) -> float:
    """ms per origin of the cells from one independent RAPTOR per departure minute."""
    r = study.request
    router = study.router
    assert router is not None
    access, direct = study.access(origins), study.direct(origins)
    eg = study.egress
    arrivals = np.empty((r.time_window, study.tt.n_stops), np.int32)
    found = []
    started = time.perf_counter()
    for i in range(len(origins)):
        q = study.query(access.rows(i))
        for m in range(r.time_window):
            arrivals[m] = router.one_to_all(q.at(study.start + 60 * m, 0))
        out = np.empty((len(study.destinations), r.time_window), np.int32)
        propagate(arrivals, study.start, 60, eg.offset, eg.stop, eg.seconds,
                  np.ascontiguousarray(direct[i]), r.max_trip_duration * 60, out)
        found.append(out)
    elapsed = time.perf_counter() - started
    for i, out in enumerate(found):
        same = study.travel_times(access.rows(i), direct[i])
        assert (same == out).all(), "range and independent searches disagree"
    return elapsed / len(origins) * 1000


def hart(args: argparse.Namespace) -> None:
    net = TransportNetwork.build(DATA / "us-hart-tampa" / "hart.zip", date(2021, 1, 12),
                                 cache_dir=CACHE)
    tt = net.tt
    stops = stop_points(net)
    served = np.flatnonzero(np.diff(np.asarray(tt.stop_route_offset)) > 0)
    origins = stops.take(served)
    if args.origins:
        rng = np.random.default_rng(args.seed)
        origins = stops.take(np.sort(rng.choice(served, args.origins, replace=False)))
    request = StudyRequest(departure=datetime(2021, 1, 12, 7, 0), time_window=60,
                           percentiles=(25, 50, 75), max_rides=4)
    job = Job("matrix", net.spec, request, stops)
    study = Study(tt, request, stops, net.streets, net.router)
    started = time.perf_counter()
    _ = study.egress
    setup = time.perf_counter() - started
    print(f"HART: {len(origins)} origins, {len(stops)} destinations, "
          f"{len(study.egress.stop) / len(stops):.1f} egress stops per destination "
          f"(setup {setup:.2f} s)")
    started, cpu0 = time.perf_counter(), time.process_time()
    frame = run(job, origins, 64, False, study)
    single, cpu = time.perf_counter() - started, time.process_time() - cpu0
    print(f"  one core: {single:.1f} s wall, {single / len(origins) * 1000:.1f} ms per origin "
          f"({cpu / len(origins) * 1000:.1f} ms CPU), {len(frame):,} cells; peak RSS "
          f"{peak_rss_mb():.0f} MB")
    rng = np.random.default_rng(args.seed)
    sample = origins.take(np.sort(rng.choice(len(origins), min(args.sample, len(origins)),
                                             replace=False)))
    base = baseline_ms(study, sample)
    range_ms = single / len(origins) * 1000
    print(f"  baseline (60 independent RAPTOR one-to-all per origin, {len(sample)} origins, "
          f"same cells): {base:.1f} ms per origin; range search {base / range_ms:.1f}x faster")
    if not args.no_dask:
        dask_runs(job, origins, frame)


def dask_runs(job: Job, origins: Points, single: object) -> None:
    import pandas as pd

    walls, busiest = {}, {}
    env = {"PYTHONPATH": str(ROOT)}
    for n in (1, 2):
        with client_for(None, n, env) as client, tempfile.TemporaryDirectory() as tmp:
            keyed = Job(job.kind, job.network, job.request, job.destinations, key=f"bench{n}")
            # warm-up: every worker opens the network and builds the study
            run_distributed(client, keyed, origins.take(slice(0, 2 * n)), Path(tmp) / "w", 1)
            cpu0 = client.run(time.process_time)
            started = time.perf_counter()
            run_distributed(client, keyed, origins, Path(tmp) / "out", 64)
            walls[n] = time.perf_counter() - started
            cpu = {w: t - cpu0[w] for w, t in client.run(time.process_time).items()}
            busiest[n] = max(cpu.values()) if n > 1 else sum(cpu.values())
            rss = client.run(peak_rss_mb)
            got = read_partitions(Path(tmp) / "out")
            assert isinstance(single, pd.DataFrame)
            pd.testing.assert_frame_equal(got, single)
            print(f"  Dask, {n} worker(s): {walls[n]:.1f} s wall "
                  f"({walls[n] / len(origins) * 1000:.1f} ms per origin), peak RSS per "
                  f"worker {', '.join(f'{v:.0f}' for v in rss.values())} MB, CPU per "
                  f"worker {', '.join(f'{v:.1f}' for v in cpu.values())} s "
                  f"({sum(cpu.values()) / walls[n] / n:.0%} of its wall time); "
                  f"identical to one process")
    print(f"  speed-up 1 -> 2 workers: {walls[1] / walls[2]:.2f}x wall on {os.cpu_count()} "
          f"cores (load average {os.getloadavg()[0]:.1f}); by CPU time (1 worker's over the "
          f"busier of 2): {busiest[1] / busiest[2]:.2f}x")


def porto_alegre(args: argparse.Namespace) -> None:
    poa = DATA / "br-porto-alegre"
    started = time.perf_counter()
    net = TransportNetwork.build([poa / "poa_eptc.zip", poa / "poa_trensurb.zip"],
                                 date(2019, 5, 13), poa / "poa_osm.pbf", cache_dir=CACHE)
    opened = time.perf_counter() - started
    walk = net.streets.graphs["walk"]
    bbox = (float(walk.lon.min()), float(walk.lat.min()), float(walk.lon.max()),
            float(walk.lat.max()))
    grid = Points.grid(500, bbox)
    request = StudyRequest(departure=datetime(2019, 5, 13, 14, 0), time_window=60,
                           percentiles=(25, 50, 75), max_rides=4)
    study = Study(net.tt, request, grid, net.streets, net.router)
    started = time.perf_counter()
    _ = study.egress
    setup = time.perf_counter() - started
    started = time.perf_counter()
    frame = run(Job("matrix", net.spec, request, grid), grid, 64, False, study)
    elapsed = time.perf_counter() - started
    access = study.access(grid)
    print(f"Porto Alegre, 500 m grid over the OSM extract: {len(grid)} points, "
          f"{np.mean(np.diff(access.offset)):.1f} stops within 15 min walk per point "
          f"(network open {opened:.1f} s, egress on the graph {setup:.1f} s)")
    print(f"  {elapsed:.1f} s, {elapsed / len(grid) * 1000:.1f} ms per origin, "
          f"{len(frame):,} cells")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sample", type=int, default=50, help="origins of the baseline")
    p.add_argument("--origins", type=int, default=0, help="HART origins (0: all served)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-dask", action="store_true")
    args = p.parse_args()
    hart(args)
    porto_alegre(args)


if __name__ == "__main__":
    main()
