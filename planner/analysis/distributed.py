"""Studies on Dask distributed: origins in chunks, Parquet partitions as they finish.

The client sends each task a small :class:`~planner.analysis.jobs.Job` (the network's
paths and content hash, the request, the path of the destinations' Parquet file in the
output directory) and one chunk of origins. A worker opens the network once (the
timetable memory-mapped from its disk cache, or compiled from the same feeds and options
into it), builds the job's study once, and writes each chunk's frame as
``part-NNNNN.parquet`` itself (to a temporary name, then renamed: a reader never sees
half a partition, and a chunk recomputed after a lost worker just writes it again).
Tasks are pure, so the scheduler recomputes the chunks of a worker that is lost. The
output directory must be one path every worker reaches (a shared disk), as must the
feeds and the cache directory.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from planner.analysis.jobs import Job, run_chunk
from planner.analysis.points import Points


def write_partition(job: Job, origins: Points, out_dir: str, index: int) -> tuple[int, int]:
    """Compute one chunk and write its partition; ``(index, rows)``."""
    frame = run_chunk(job, origins)
    target = Path(out_dir) / f"part-{index:05d}.parquet"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, target)
    return index, len(frame)


#: Worker settings of a local cluster: no statistical profiler (it samples the busy
#: thread's stack 100 times a second for a dashboard a local cluster does not serve;
#: measured ~2.4% of a core idle and ~5% more CPU per origin on HART). Remote workers:
#: ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` does the same.
LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


@contextmanager
def client_for(address: str | None, workers: int | None,
               env: dict[str, str] | None = None) -> Iterator[Any]:
    """A client of the scheduler at ``address``, or of a local cluster of ``workers``
    processes (one thread each: the search is one core's work per origin; ``env``: their
    environment variables)."""
    import dask
    from dask.distributed import Client, LocalCluster

    if address:
        with Client(address) as client:
            yield client
        return
    with dask.config.set(LOCAL_WORKER_CONFIG), \
            LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True,
                         dashboard_address=None, env=env or {}) as cluster, \
            Client(cluster) as client:
        yield client


def run_distributed(client: Any, job: Job, origins: Points, out_dir: str | Path,
                    chunk_size: int = 64, progress: bool = False) -> list[Path]:
    """Every chunk of ``origins`` on the cluster; the partitions written, in order."""
    from dask.distributed import as_completed
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    dest_file = out / "_destinations.parquet"
    job.points().data.to_parquet(dest_file, index=False)
    sent = replace(job, destinations=dest_file.resolve(), key=job.key or uuid.uuid4().hex)
    futures = []
    for index, lo in enumerate(range(0, len(origins), chunk_size)):
        chunk = origins.take(slice(lo, lo + chunk_size))
        futures.append(client.submit(write_partition, sent, chunk, str(out.resolve()), index,
                                     key=f"{job.kind}-{sent.key}-{index}", pure=False,
                                     retries=2))
    bar = tqdm(total=len(origins), unit="origin", disable=not progress, desc=job.kind)
    for future in as_completed(futures):
        index, _ = future.result()
        bar.update(min(chunk_size, len(origins) - index * chunk_size))
    bar.close()
    dest_file.unlink()
    return sorted(out.glob("part-*.parquet"))


def read_partitions(out_dir: str | Path) -> pd.DataFrame:
    """The partitions of a distributed run as one frame, in origin order."""
    parts = sorted(Path(out_dir).glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
