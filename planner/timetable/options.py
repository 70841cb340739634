"""What a compile is asked for: its options, the day check's error and the content key.

Apart from :mod:`planner.timetable.compile` so that the cached path (hash the feed files,
memory-map the entry, route) imports neither pandas nor the GTFS reader: a process that
only loads a compiled timetable stays near the size of NumPy and the engines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DEFAULT_TIMEZONE = "Europe/Berlin"
#: Minimum change time (seconds) at stops without a transfers.txt rule: MOTIS's and
#: OpenTripPlanner's default. 0 is a change in no time (the reference comparisons' model).
DEFAULT_CHANGE_TIME = 120
#: Longest walk (seconds) the footpath closure chains links into: one hop between two
#: trips is at most this long (transfers.txt links stay whatever their time).
DEFAULT_FOOTPATH_MAX_WALK = 600


@dataclass(frozen=True)
class CompileOptions:
    days_before: int = 1
    days_after: int = 1
    #: Walking links are generated between stops up to this straight-line distance.
    footpath_radius: float = 200.0
    walk_speed_kmh: float = 4.5
    #: Change time at stops without a transfers.txt rule (``--min-change-time``).
    default_change_time: int = DEFAULT_CHANGE_TIME
    #: Bound of the footpath closure in seconds; 0 = unbounded (``--footpath-max-walk``).
    footpath_max_walk: int = DEFAULT_FOOTPATH_MAX_WALK
    default_timezone: str = DEFAULT_TIMEZONE

    def key(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


class OutOfRangeError(ValueError):
    """The requested day has no service in any feed; names the valid range."""


_DIGESTS: dict[tuple[str, int, int], bytes] = {}


def _file_digest(f: Path) -> bytes:
    """SHA-256 of a feed file, remembered while its size and mtime stay the same: a
    server looking up the cached timetable of another day need not reread a 100 MB zip.
    Read in blocks, so hashing a large zip does not hold it in memory."""
    st = f.stat()
    key = (str(f.resolve()), st.st_size, st.st_mtime_ns)
    digest = _DIGESTS.get(key)
    if digest is None:
        with open(f, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").digest()
        if len(_DIGESTS) > 1024:
            _DIGESTS.clear()
        _DIGESTS[key] = digest
    return digest


def content_hash(paths: Sequence[str | Path], options: CompileOptions, day: date) -> str:
    """Hash of the feeds' bytes, the options and the day: the cache key and version."""
    h = hashlib.sha256()
    for raw in paths:
        p = Path(raw)
        files = sorted(p.rglob("*.txt")) if p.is_dir() else [p]
        for f in files:
            h.update(f.name.encode())
            h.update(_file_digest(f))
    h.update(options.key().encode())
    h.update(day.isoformat().encode())
    # bump when compiled arrays change (v3: one Earth radius; v5: GTFS attributes for
    # MOTIS, bounded footpath closure, headsigns from the last stop; v6: scoped transfer
    # rules)
    h.update(b"compile-v6")
    return h.hexdigest()[:20]
