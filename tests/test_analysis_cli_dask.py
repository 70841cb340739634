"""The study commands and their Dask runs: a real ``dask.distributed`` cluster of local
worker processes gives exactly the single-process frames, partition by partition, also
when a worker process dies in the middle of the job."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed.diagnostics.plugin import WorkerPlugin

from planner.analysis.distributed import read_partitions, run_distributed
from planner.analysis.jobs import Job, run
from planner.analysis.network import NetworkSpec
from planner.analysis.points import Points
from planner.analysis.request import StudyRequest
from planner.commands.main import main
from tests.shared_data import shared

DAY = date(2021, 1, 12)


def _points(n: int, seed: int, prefix: str, spread: float = 0.04) -> Points:
    rng = np.random.default_rng(seed)
    return Points(pd.DataFrame({"id": [f"{prefix}{i}" for i in range(n)],
                                "lat": 27.95 + rng.uniform(-spread, spread, n),
                                "lon": -82.46 + rng.uniform(-spread, spread, n),
                                "pupils": rng.integers(10, 300, n)}))


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> NetworkSpec:
    return NetworkSpec((shared("us-hart-tampa/hart.zip").resolve(),), DAY,
                       cache_dir=tmp_path_factory.mktemp("timetables"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["matrix", "accessibility", "isochrones"])
def test_dask_cluster_of_worker_processes_gives_the_single_process_results(
        kind: str, spec: NetworkSpec, tmp_path: Path) -> None:
    from dask.distributed import Client, LocalCluster

    request = StudyRequest(departure=datetime(2021, 1, 12, 7, 0), time_window=8,
                           percentiles=(25, 75), min_mean=True)
    origins, dest = _points(10, 1, "o"), _points(80, 2, "d")
    job = Job(kind, spec, request, dest, cutoffs=(20, 40) if kind != "matrix" else (),
              weight="pupils" if kind == "accessibility" else None)
    single = run(job, origins)
    env = {"PYTHONPATH": os.environ.get("PYTHONPATH", str(Path(__file__).parents[1]))}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, env=env) as cluster, Client(cluster) as client:
        parts = run_distributed(client, job, origins, tmp_path / "out", chunk_size=3)
        pids = set(client.run(os.getpid).values())
    assert len(parts) == 4 and len(pids) == 2 and os.getpid() not in pids
    assert not (tmp_path / "out" / "_destinations.parquet").exists()
    pd.testing.assert_frame_equal(read_partitions(tmp_path / "out"), single)
    assert len(single) > 0


class ExitOnce(WorkerPlugin):
    """Ends the worker process (``os._exit``, as a crash or the OOM killer would, no
    clean-up) when it starts the task named ``key``, once per ``marker`` file: the nanny
    starts a new worker and the scheduler must give that chunk, and every other chunk the
    dead worker held, to a live one."""

    def __init__(self, key: str, marker: Path) -> None:
        self.key, self.marker = key, str(marker)

    def transition(self, key: object, start: str, finish: str, **kwargs: object) -> None:
        if finish != "executing" or key != self.key:
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return  # the chunk's second run: let it finish
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os._exit(1)


@pytest.mark.slow
def test_a_worker_killed_mid_job_loses_no_chunk_and_duplicates_none(
        spec: NetworkSpec, tmp_path: Path) -> None:
    from dask.distributed import Client, LocalCluster

    request = StudyRequest(departure=datetime(2021, 1, 12, 7, 0), time_window=6,
                           percentiles=(50,), min_mean=True)
    origins, dest = _points(14, 5, "o"), _points(60, 6, "d")
    job = Job("matrix", spec, request, dest, key="killed-worker")
    single = run(job, origins)
    marker = tmp_path / "exited"
    env = {"PYTHONPATH": os.environ.get("PYTHONPATH", str(Path(__file__).parents[1]))}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, env=env) as cluster, Client(cluster) as client:
        before = set(client.run(os.getpid).values())
        client.register_plugin(ExitOnce(f"matrix-{job.key}-3", marker))
        parts = run_distributed(client, job, origins, tmp_path / "out", chunk_size=2)
        client.wait_for_workers(2)
        after = set(client.run(os.getpid).values())
    dead = int(marker.read_text())
    assert dead in before and dead not in after  # a worker really died; a new one took over
    assert [p.name for p in parts] == [f"part-{i:05d}.parquet" for i in range(7)]
    assert not list((tmp_path / "out").glob(".*.tmp"))  # no half-written partition left
    got = read_partitions(tmp_path / "out")
    assert not got.duplicated(["from_id", "to_id"]).any()
    pd.testing.assert_frame_equal(got, single)
    assert set(got["from_id"]) == set(single["from_id"]) and len(single) > 0


@pytest.mark.slow
def test_matrix_command_writes_r5r_columns_for_a_grid_of_origins(tmp_path: Path) -> None:
    dest = tmp_path / "schools.csv"
    _points(30, 3, "s").data.to_csv(dest, index=False)
    out = tmp_path / "m.csv"
    code = main(["matrix", str(shared("us-hart-tampa/hart.zip")), "--date", "2021-01-12",
                 "--cache-dir", str(tmp_path / "cache"), "--grid", "2km",
                 "--bbox=-82.50,27.92,-82.42,27.98", "--destinations", str(dest),
                 "--departure", "07:00", "--window", "5", "--percentiles", "25,50,75",
                 "--max-duration", "90", "--max-rides", "3", "--no-progress",
                 "--out", str(out)])
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["from_id", "to_id", "travel_time_p25", "travel_time_p50",
                                   "travel_time_p75"]
    assert frame["from_id"].nunique() > 5 and frame["to_id"].isin(
        pd.read_csv(dest)["id"]).all()
    ordered = frame.dropna()
    assert (ordered.travel_time_p25 <= ordered.travel_time_p50).all()
    assert (ordered.travel_time_p75 <= 90).all()


def test_study_commands_refuse_bad_arguments_naming_them(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    feed = tmp_path / "feed.zip"
    feed.write_bytes(b"")
    base = ["matrix", str(feed), "--date", "2021-01-12", "--out", str(tmp_path / "x.parquet")]
    assert main(base + ["--grid", "500m"]) == 2
    assert "--bbox" in capsys.readouterr().err
    assert main([*base[:-1], str(tmp_path / "x.txt"), "--grid", "1km",
                 "--bbox=1,2,3,4"]) == 2
    assert ".parquet" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(base + ["--percentiles", "a,b", "--grid", "1km"])
    assert "comma-separated" in capsys.readouterr().err
    with pytest.raises(ValueError, match="max_rides"):
        StudyRequest(departure=datetime(2021, 1, 12, 7), max_rides=0)
    with pytest.raises(ValueError, match="percentiles"):
        StudyRequest(departure=datetime(2021, 1, 12, 7), percentiles=(0,))


@pytest.mark.slow
def test_local_cluster_workers_run_without_the_statistical_profiler() -> None:
    """``--workers N`` serves no dashboard, so its workers do not sample their stacks."""
    import dask

    from planner.analysis.distributed import client_for

    env = {"PYTHONPATH": os.environ.get("PYTHONPATH", str(Path(__file__).parents[1]))}
    with client_for(None, 2, env) as client:
        enabled = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    assert list(enabled.values()) == [False, False]
