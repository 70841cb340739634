"""Trip-Based's reduced transfers, kept with the compiled timetable they belong to.

Built once per timetable (``planner.routing.tripbased.build_transfers``, 0.3 s of one
core on three days of HART) and stored in the timetable's disk-cache entry, in a ``tripbased``
directory of its own: three ``.npy`` arrays, ``meta.json`` (the timetable version and
the sizes it was built for) and ``checksums.json`` written last, the directory renamed
into place so a reader never sees half of it. Loading memory-maps the arrays after both
checks of ``planner.timetable.integrity``: the digests, then the structure (every index
the query follows lands inside its array). A damaged or stale directory is rebuilt.

The entry is the one ``planner.timetable.disk_cache`` loaded or wrote the timetable from
(``tt.extra["_entry"]``, never saved and dropped by derived timetables such as realtime
versions); a timetable without one gets its transfers built in memory, or shares those
of a timetable with the same inputs (:func:`same_inputs`).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.routing.kernel import TimetableArrays
from planner.routing.tripbased import build_transfers
from planner.timetable.integrity import DamagedTimetable, verify_checksums, write_checksums
from planner.timetable.model import Timetable

log = logging.getLogger(__name__)

#: Directory of an entry holding the transfers.
DIRECTORY = "tripbased"
#: Bumped when the arrays or the reduction change meaning: older directories are rebuilt.
FORMAT = 1
_ARRAYS = ("offset", "trip", "pos")


@dataclass(frozen=True)
class TripTransfers:
    """Per stop event ``trip_st_offset[t] + i`` (CSR ``offset``): the trips ``trip`` worth
    changing to and their boarding positions ``pos``."""

    offset: np.ndarray
    trip: np.ndarray
    pos: np.ndarray
    cache: str = "built"  # "built", "stored" (built and written) or "loaded"
    generated: int = -1  # transfers before the reduction (when built here)


def build(tt: Timetable, arrays: TimetableArrays | None = None) -> TripTransfers:
    """The transfers of ``tt``, built in memory."""
    offset, trip, pos, generated = build_transfers(arrays if arrays is not None else tt)
    return TripTransfers(offset, trip, pos, generated=generated)


def for_timetable(tt: Timetable, arrays: TimetableArrays | None = None) -> TripTransfers:
    """The transfers of ``tt``: memory-mapped from its disk-cache entry, else built (and
    stored there when it has an entry)."""
    entry = tt.extra.get("_entry")
    if entry is None:
        return build(tt, arrays)
    directory = Path(str(entry)) / DIRECTORY
    if directory.exists():
        try:
            return load(directory, tt)
        except DamagedTimetable as exc:
            log.warning("Trip-Based transfers %s damaged (%s); rebuilding", directory, exc)
            shutil.rmtree(directory, ignore_errors=True)
    built = build(tt, arrays)
    try:
        save(built, directory, tt)
    except OSError as exc:  # a read-only cache still answers, from memory
        log.warning("Trip-Based transfers not stored in %s: %s", directory, exc)
        return built
    return TripTransfers(built.offset, built.trip, built.pos, "stored")


#: What ``build_transfers`` reads of a timetable: equal arrays, equal transfers.
INPUTS = ("stop_change_time", "route_stop_offset", "route_stops", "route_trip_offset",
          "route_pickup", "route_dropoff", "trip_route", "trip_st_offset", "st_arr",
          "st_dep", "stop_route_offset", "stop_route_route", "stop_route_pos", "fp_offset",
          "fp_to", "fp_dur", "route_alight_rule", "route_board_rule")


def same_inputs(a: Timetable, b: Timetable) -> bool:
    """Whether the transfers of ``a`` are those of ``b``: every array the reduction reads
    is equal (a realtime version whose feeds changed nothing, or are stale). A delay
    anywhere changes which trip is the earliest of a change and which change dominates
    another, so any difference means building them again."""
    return a.n_stops == b.n_stops and all(
        np.array_equal(getattr(a, name), getattr(b, name)) for name in INPUTS)


def save(tr: TripTransfers, directory: Path, tt: Timetable) -> None:
    """Write ``tr`` to ``directory`` (beside the timetable's files), atomically."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{DIRECTORY}-", dir=directory.parent))
    try:
        for name in _ARRAYS:
            np.save(tmp / f"{name}.npy", getattr(tr, name), allow_pickle=False)
        meta = {"format": FORMAT, "version": tt.version, "events": len(tt.st_arr),
                "trips": tt.n_trips, "transfers": len(tr.trip)}
        (tmp / "meta.json").write_text(json.dumps(meta))
        write_checksums(tmp)
        try:
            tmp.rename(directory)
        except OSError:  # another process stored them first; theirs are the same
            shutil.rmtree(tmp, ignore_errors=True)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load(directory: Path, tt: Timetable) -> TripTransfers:
    """The stored transfers of ``tt``, memory-mapped, after the digests and the structure
    check; :class:`DamagedTimetable` when either fails or they are another timetable's."""
    verify_checksums(directory)
    try:
        meta = json.loads((directory / "meta.json").read_text())
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r",
                                allow_pickle=False) for name in _ARRAYS}
    except (OSError, ValueError) as exc:
        raise DamagedTimetable(f"unreadable: {exc}") from exc
    expected = {"format": FORMAT, "version": tt.version, "events": len(tt.st_arr),
                "trips": tt.n_trips}
    if not isinstance(meta, dict) or {k: meta.get(k) for k in expected} != expected:
        raise DamagedTimetable(f"built for another timetable or format: {meta}")
    tr = TripTransfers(arrays["offset"], arrays["trip"], arrays["pos"], "loaded")
    check_structure(tr, tt)
    return tr


def _require(ok: bool | np.bool_, what: str) -> None:
    if not ok:
        raise DamagedTimetable(f"Trip-Based transfers: {what}")


def check_structure(tr: TripTransfers, tt: Timetable) -> None:
    """Raise :class:`DamagedTimetable` unless every index the query follows stays inside
    its array: a CSR over the stop events, trips that exist, boarding positions with a
    stop after them on the trip's route."""
    for name in _ARRAYS:
        _require(getattr(tr, name).dtype == np.int32, f"{name} is not int32")
    offset, trip, pos = tr.offset, tr.trip, tr.pos
    _require(offset.ndim == trip.ndim == pos.ndim == 1, "arrays are not flat")
    _require(len(offset) == len(tt.st_arr) + 1, "offset does not span the stop events")
    _require(int(offset[0]) == 0 and int(offset[-1]) == len(trip) == len(pos),
             "offset does not span the transfers")
    _require(bool(np.all(np.diff(offset) >= 0)), "offset decreases")
    if len(trip):
        _require(int(trip.min()) >= 0 and int(trip.max()) < tt.n_trips, "trip out of range")
        length = np.diff(tt.route_stop_offset)[np.asarray(tt.trip_route)[trip]]
        _require(bool(np.all((pos >= 0) & (pos + 1 < length))),
                 "a boarding position without a stop after it")
