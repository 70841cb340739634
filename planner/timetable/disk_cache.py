"""Compiled timetables on disk, keyed by feed content, options and day.

A directory of ``.npy`` files is memory-mapped back, so a warm start costs a hash
of the feed files, a digest of the entry and a few ``open`` calls instead of a compile
(and imports nothing of the compiler's: ``tests/test_lean_imports.py``).
An entry that fails its checks (``planner.timetable.integrity``) is rebuilt. A loaded or
compiled timetable carries its entry's path in ``extra["_entry"]`` (not saved), where
data derived from it is kept in subdirectories (``planner.routing.trip_transfers``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from planner.timetable.integrity import DamagedTimetable, load_checked, write_checksums
from planner.timetable.model import Timetable
from planner.timetable.options import CompileOptions, content_hash

log = logging.getLogger(__name__)


#: Where compiled timetables go unless the caller says otherwise (relative to the working
#: directory). The planner reads no environment: ``OWL_CACHE_DIR`` is a setting of the API
#: (``api.settings.Settings.cache_dir``), which passes it down, also to the CLI.
DEFAULT_CACHE_DIR = Path(".cache/timetables")


def load_or_compile(
    paths: Sequence[str | Path],
    day: date,
    options: CompileOptions | None = None,
    *,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> Timetable:
    """The cached timetable for these inputs, compiling (and caching) it on a miss."""
    opts = options or CompileOptions()
    key = content_hash(paths, opts, day)
    root = cache_dir or DEFAULT_CACHE_DIR
    hit = _load_entry(root / key)
    if hit is not None:
        return hit
    # Only a miss pays for the compiler's imports (pandas, the GTFS reader, scipy): a
    # process that finds its timetable cached stays near the size of NumPy.
    from planner.timetable.compile import compile_timetable

    tt = compile_timetable(paths, day, opts, progress=progress, version=key)
    write_entry(root, key, tt.save)
    tt.extra["cache"] = "miss"
    tt.extra["_entry"] = root / key  # where derived data of this timetable may be stored
    return tt


def write_entry(root: Path, key: str, fill: Callable[[Path], None]) -> None:
    """Make ``root/key`` a directory that ``fill`` writes, with checksums: written next
    to the target and renamed, so a reader never sees half an entry."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        fill(tmp)
        write_checksums(tmp)
        try:
            tmp.rename(root / key)
        except OSError:  # another process won the race; its entry is equivalent
            shutil.rmtree(tmp, ignore_errors=True)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def cached(paths: Sequence[str | Path], day: date, options: CompileOptions | None = None,
           *, cache_dir: Path | None = None) -> Timetable | None:
    """The cached timetable if a sound entry exists (a memory map: tens of ms), else
    None without compiling: the server decides whether a request may wait for that."""
    opts = options or CompileOptions()
    return _load_entry((cache_dir or DEFAULT_CACHE_DIR) / content_hash(paths, opts, day))


def _load_entry(target: Path) -> Timetable | None:
    if not target.exists():
        return None
    try:
        tt = load_checked(target)
    except DamagedTimetable as exc:  # rebuilt, never served
        log.warning("cache entry %s damaged (%s); recompiling", target, exc)
        shutil.rmtree(target, ignore_errors=True)
        return None
    tt.extra["cache"] = "hit"
    tt.extra["_entry"] = target
    return tt
