"""Peak memory of the lean paths (issue 13 point 4, issue 12's memory per Dask worker).

Every figure is GNU time's "Maximum resident set size" (``/usr/bin/time -v``) of a fresh
process running from ``--tree`` (default: this checkout), so two trees can be measured
in one run (``--tree /path/to/other/checkout``):

1. ``owl-planner compile`` of ``us-hart-tampa`` 2021-01-12 into an empty temporary cache
   (the cold compile; goal <= 250 MB);
2. ``owl-planner route`` of ``--queries`` seeded random stop pairs (06:00-20:00) on the
   timetable step 1 cached (goal <= 60 MB);
3. one ``dask worker`` process (one thread, no nanny) answering a travel-time matrix of
   ``--origins`` HART stops (07:00 + 60 minutes, percentiles 25/50/75, all stops as
   destinations) through ``run_distributed``; it is retired after the job, so its
   figure covers opening the network, the study and every chunk (goal <= 300 MB).

    python benchmarks/memory.py [--tree PATH] [--queries 1000] [--origins 256] [--seed 42]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HART = ROOT.parent / "shared" / "data" / "us-hart-tampa" / "hart.zip"
DAY = date(2021, 1, 12)


def peak_mb(stderr: str) -> float:
    """GNU time's maximum resident set size, MB."""
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    if found is None:
        raise RuntimeError(f"no /usr/bin/time -v report in:\n{stderr[-2000:]}")
    return int(found.group(1)) / 1024


def timed(argv: list[str], tree: Path) -> tuple[float, float]:
    """``(peak RSS MB, wall s)`` of ``argv`` run under ``/usr/bin/time -v`` in ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *argv], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return peak_mb(done.stderr), wall


def cli(*args: str) -> list[str]:
    """``owl-planner ARGS`` as the installed script runs it (on the code of the working
    directory, which :func:`timed` sets)."""
    return [sys.executable, "-m", "api.cli", *args]


def write_queries(path: Path, n: int, seed: int) -> None:
    with zipfile.ZipFile(HART) as zf, zf.open("stops.txt") as fh:
        ids = [row["stop_id"] for row in csv.DictReader(line.decode("utf-8-sig")
                                                        for line in fh)]
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["source", "target", "departure"])
        for _ in range(n):
            out.writerow([rng.choice(ids), rng.choice(ids), rng.randint(6 * 3600, 20 * 3600)])


def dask_worker_peak(tree: Path, cache: Path, n_origins: int, seed: int) -> tuple[float, int]:
    """Peak RSS (MB) of one worker process answering the matrix, and the rows written."""
    sys.path.insert(0, str(tree))
    import numpy as np
    from dask.distributed import Client, LocalCluster

    from planner.analysis.distributed import read_partitions, run_distributed
    from planner.analysis.frames import stop_points
    from planner.analysis.jobs import Job
    from planner.analysis.network import TransportNetwork
    from planner.analysis.request import StudyRequest

    net = TransportNetwork.build(HART, DAY, cache_dir=cache)  # a hit: step 1 compiled it
    stops = stop_points(net)
    served = np.flatnonzero(np.diff(np.asarray(net.tt.stop_route_offset)) > 0)
    rng = np.random.default_rng(seed)
    origins = stops.take(np.sort(rng.choice(served, min(n_origins, len(served)),
                                            replace=False)))
    request = StudyRequest(departure=datetime(2021, 1, 12, 7, 0), time_window=60,
                           percentiles=(25, 50, 75), max_rides=4)
    job = Job("matrix", net.spec, request, stops, key="memory")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with LocalCluster(n_workers=0, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client, tempfile.TemporaryDirectory() as out:
        worker = subprocess.Popen(
            ["/usr/bin/time", "-v", sys.executable, "-m", "distributed.cli.dask_worker",
             cluster.scheduler_address, "--nthreads", "1", "--no-nanny", "--no-dashboard"],
            cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            client.wait_for_workers(1, timeout=120)
            run_distributed(client, job, origins, Path(out) / "parts", 64)
            rows = len(read_partitions(Path(out) / "parts"))
            client.retire_workers(close_workers=True)
            _, stderr = worker.communicate(timeout=120)
        finally:
            if worker.poll() is None:
                worker.kill()
    return peak_mb(stderr), rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tree", type=Path, default=ROOT, help="checkout whose code runs")
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--origins", type=int, default=256, help="matrix origins on the worker")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-dask", action="store_true")
    args = p.parse_args()
    tree = args.tree.resolve()
    feed, day = str(HART), DAY.isoformat()
    print(f"us-hart-tampa {day}, code from {tree}")
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "timetables"
        mb, wall = timed(cli("compile", feed, "--date", day, "--cache-dir", str(cache),
                             "--json"), tree)
        print(f"  compile, cold (empty cache):       peak RSS {mb:6.1f} MB  ({wall:.1f} s)")
        queries = Path(tmp) / "queries.csv"
        write_queries(queries, args.queries, args.seed)
        for algorithm in ("raptor", "csa", "mcraptor"):
            mb, wall = timed(cli("route", feed, "--date", day, "--cache-dir",
                                 str(cache), "--queries", str(queries), "--algorithm",
                                 algorithm, "--out", str(Path(tmp) / "out.csv")), tree)
            print(f"  route {args.queries} queries, {algorithm:8s} cached: peak RSS "
                  f"{mb:6.1f} MB  ({wall:.1f} s)")
        if not args.no_dask:
            mb, rows = dask_worker_peak(tree, cache, args.origins, args.seed)
            print(f"  one Dask worker, matrix of {args.origins} origins x all stops "
                  f"({rows:,} rows): peak RSS {mb:6.1f} MB")


if __name__ == "__main__":
    main()
