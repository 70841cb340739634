"""The three studies as jobs over chunks of origins: one code path for notebooks, the
command line and Dask workers.

A :class:`Job` says what to compute (``matrix``, ``accessibility`` or ``isochrones``), on
which network (:class:`~planner.analysis.network.NetworkSpec`), with which request and
destinations; :func:`run_chunk` computes one chunk of origins into one frame. A process
builds a job's :class:`~planner.analysis.study.Study` (egress legs and all) once and keeps
it (:func:`study_of`), so a worker pays for it once per job, not per chunk.

* **matrix**: long format, ``from_id, to_id`` and the request's statistics
  (:mod:`planner.analysis.statistics`); pairs unreached at every minute are left out, as
  r5r leaves them out.
* **accessibility**: r5r's cumulative opportunities: per origin, percentile and cutoff
  the sum of the destinations' ``weight`` whose travel time at that percentile is under
  the cutoff (``id, opportunity, percentile, cutoff, accessibility``).
* **isochrones**: :mod:`planner.analysis.isochrones`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.analysis.isochrones import isochrone_rows
from planner.analysis.network import NetworkSpec, open_network
from planner.analysis.points import Points
from planner.analysis.request import StudyRequest
from planner.analysis.statistics import percentile_seconds, reached_any, summarise
from planner.analysis.study import Study

KINDS = ("matrix", "accessibility", "isochrones")


@dataclass(frozen=True, eq=False)
class Job:
    """One study; ``destinations`` a :class:`Points` or a Parquet file of one (what a
    distributed job sends instead of the points)."""

    kind: str
    network: NetworkSpec
    request: StudyRequest
    destinations: Points | Path
    cutoffs: tuple[int, ...] = ()  # accessibility and isochrones, minutes
    weight: str | None = None  # accessibility: the opportunities column (None: 1 each)
    key: str = field(default="")  # identifies the job's study in a worker's memory

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown study {self.kind!r}; choose one of {KINDS}")
        if self.kind != "matrix" and not self.cutoffs:
            raise ValueError(f"{self.kind} needs cutoffs (minutes)")
        for c in self.cutoffs:
            if not 0 < c <= self.request.max_trip_duration:
                raise ValueError(f"cutoffs must be in 1..max_trip_duration "
                                 f"({self.request.max_trip_duration}) minutes, got {c}")
        if (self.kind == "accessibility" and self.weight is not None
                and isinstance(self.destinations, Points)
                and self.weight not in self.destinations.data.columns):
            raise ValueError(f"opportunities have no column {self.weight!r}")

    def points(self) -> Points:
        if isinstance(self.destinations, Points):
            return self.destinations
        return Points(pd.read_parquet(self.destinations))


_STUDIES: dict[int | str, Study] = {}
_LOCK = threading.Lock()


def study_of(job: Job) -> Study:
    """This process's study of ``job`` (built on first use)."""
    key: int | str = job.key or id(job)
    with _LOCK:
        found = _STUDIES.get(key)
        if found is None:
            net = open_network(job.network)
            found = Study(net.tt, job.request, job.points(), net.streets, net.router)
            if job.key:  # keyed jobs come back (chunks on a worker); others are one call
                _STUDIES[key] = found
        return found


def run_chunk(job: Job, origins: Points, study: Study | None = None) -> pd.DataFrame:
    """One chunk of origins of ``job`` as its output frame."""
    study = study or study_of(job)
    if job.kind == "matrix":
        return _matrix(study, origins)
    if job.kind == "accessibility":
        return _accessibility(study, origins, job)
    return isochrone_rows(study, origins, job.cutoffs)


def run(job: Job, origins: Points, chunk_size: int = 64, progress: bool = False,
        study: Study | None = None) -> pd.DataFrame:
    """Every origin in this process, chunk by chunk (a tqdm bar with ``progress``)."""
    from tqdm import tqdm

    study = study or study_of(job)
    starts = range(0, len(origins), chunk_size)
    bar = tqdm(total=len(origins), unit="origin", disable=not progress, desc=job.kind)
    frames = []
    for lo in starts:
        chunk = origins.take(slice(lo, lo + chunk_size))
        frames.append(run_chunk(job, chunk, study))
        bar.update(len(chunk))
    bar.close()
    if not frames:
        return run_chunk(job, origins, study)
    return pd.concat(frames, ignore_index=True)


def _matrix(study: Study, origins: Points) -> pd.DataFrame:
    r = study.request
    access, direct = study.access(origins), study.direct(origins)
    dest_ids = study.destinations.ids
    parts: list[pd.DataFrame] = []
    for i, origin in enumerate(origins.ids):
        times = study.travel_times(access.rows(i), direct[i])
        keep = reached_any(times)
        stats = summarise(times[keep], r.percentiles, r.share_cutoffs, r.min_mean)
        parts.append(pd.DataFrame({"from_id": origin, "to_id": dest_ids[keep], **stats}))
    if not parts:
        return pd.DataFrame(columns=["from_id", "to_id", *r.statistics()])
    return pd.concat(parts, ignore_index=True)


def _accessibility(study: Study, origins: Points, job: Job) -> pd.DataFrame:
    r = study.request
    dest = study.destinations.data
    weights = (np.ones(len(dest)) if job.weight is None
               else pd.to_numeric(dest[job.weight], errors="raise").to_numpy(dtype=float))
    access, direct = study.access(origins), study.direct(origins)
    rows: list[tuple[str, str, int, int, float]] = []
    opportunity = job.weight or "count"
    for i, origin in enumerate(origins.ids):
        pct = percentile_seconds(study.travel_times(access.rows(i), direct[i]), r.percentiles)
        for j, p in enumerate(r.percentiles):
            for c in job.cutoffs:
                total = float(weights[pct[:, j] < c * 60].sum())
                rows.append((origin, opportunity, p, c, total))
    return pd.DataFrame(rows, columns=["id", "opportunity", "percentile", "cutoff",
                                       "accessibility"])
