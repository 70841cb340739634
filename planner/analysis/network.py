"""The transport network of a study (r5py's ``TransportNetwork``): feeds, day, compile
options and an optional OSM extract, and where compiled timetables are cached.

A :class:`NetworkSpec` is a few paths and numbers, so it is what a distributed job sends
to its workers: each worker opens it once (:func:`open_network`, remembered per process),
which memory-maps the compiled timetable from the disk cache by its content hash, or
compiles it from the same feeds and options when that worker's cache lacks it. Nothing
of the timetable is ever pickled.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from planner.multimodal.streets import Streets
from planner.routing.router import Router
from planner.timetable.disk_cache import DEFAULT_CACHE_DIR, load_or_compile
from planner.timetable.model import Timetable
from planner.timetable.options import CompileOptions, content_hash


@dataclass(frozen=True)
class NetworkSpec:
    """How to build (or find) the network; paths should be ones every worker reaches."""

    gtfs: tuple[Path, ...]
    day: date
    options: CompileOptions = field(default_factory=CompileOptions)
    osm_pbf: Path | None = None
    cache_dir: Path = DEFAULT_CACHE_DIR

    @property
    def key(self) -> str:
        """Content hash of the timetable (the disk cache's key) and the OSM path."""
        return f"{content_hash(self.gtfs, self.options, self.day)}:{self.osm_pbf or ''}"


@dataclass(eq=False)
class TransportNetwork:
    """An opened network: the timetable (memory-mapped), its router, the street model."""

    spec: NetworkSpec
    tt: Timetable
    router: Router
    streets: Streets

    @classmethod
    def build(cls, gtfs: list[str | Path] | str | Path, day: date,
              osm_pbf: str | Path | None = None, *, options: CompileOptions | None = None,
              cache_dir: str | Path | None = None) -> TransportNetwork:
        """The network of these feeds on ``day`` (compiled once, then from the cache)."""
        paths = (gtfs,) if isinstance(gtfs, str | Path) else tuple(gtfs)
        spec = NetworkSpec(tuple(Path(p).resolve() for p in paths), day,
                           options or CompileOptions(),
                           Path(osm_pbf).resolve() if osm_pbf else None,
                           Path(cache_dir).resolve() if cache_dir else DEFAULT_CACHE_DIR)
        return open_network(spec)


_OPEN: dict[NetworkSpec, TransportNetwork] = {}
_LOCK = threading.Lock()


def open_network(spec: NetworkSpec, progress: bool = False) -> TransportNetwork:
    """This process's network of ``spec`` (opened on first use)."""
    with _LOCK:
        found = _OPEN.get(spec)
        if found is None:
            tt = load_or_compile(spec.gtfs, spec.day, spec.options, cache_dir=spec.cache_dir,
                                 progress=progress)
            streets = (Streets.from_osm(spec.osm_pbf, modes=("walk", "bike", "car"))
                       if spec.osm_pbf else Streets())
            found = _OPEN[spec] = TransportNetwork(spec, tt, Router(tt), streets)
        return found
