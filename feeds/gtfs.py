"""Read, validate and merge GTFS feeds.

gtfs-kit supplies the table schema (column dtypes) and the ``Feed`` container; we read
the CSV files ourselves because gtfs-kit assumes UTF-8, and Norwegian and German feeds
still ship Latin-1. Several feeds merge into one set of tables with feed-scoped ids
(``feed:id``) so that ids from different agencies cannot collide.
"""

from __future__ import annotations

import codecs
import importlib.util
import io
import logging
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from feeds.gtfs_errors import GtfsError as GtfsError  # re-exported: its long-time home

if TYPE_CHECKING:
    import gtfs_kit

log = logging.getLogger(__name__)

REQUIRED = ("stops", "routes", "trips", "stop_times")
#: Columns holding ids that get the feed prefix, per table.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "agency": ("agency_id",),
    "stops": ("stop_id", "parent_station"),
    "routes": ("route_id", "agency_id"),
    "trips": ("trip_id", "route_id", "service_id", "shape_id"),
    "stop_times": ("trip_id", "stop_id"),
    "calendar": ("service_id",),
    "calendar_dates": ("service_id",),
    "frequencies": ("trip_id",),
    "transfers": ("from_stop_id", "to_stop_id", "from_route_id", "to_route_id",
                  "from_trip_id", "to_trip_id"),
    "shapes": ("shape_id",),
}
TABLES = tuple(ID_COLUMNS) + ("feed_info",)


@dataclass
class GtfsData:
    """Merged GTFS tables (pandas) with feed-scoped ids; times stay strings here."""

    tables: dict[str, pd.DataFrame | None]
    feeds: list[str]  # feed names, in load order
    sources: dict[str, Path]
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)


def decode(raw: bytes) -> str:
    """UTF-8 (BOM or not) when it decodes, else Latin-1 (which always does)."""
    return raw.decode(encoding_of(raw))


def encoding_of(raw: bytes) -> str:
    """The codec :func:`decode` uses, found in blocks without decoding the whole file: a
    parser reading the bytes itself needs neither a second copy of a large stop_times.txt
    nor the four bytes per character of a ``StringIO``."""
    check = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    try:
        for start in range(0, len(view), 1 << 20):
            check.decode(view[start:start + (1 << 20)])
        check.decode(b"", final=True)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8-sig"


def _csv(raw: bytes, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv`` of a GTFS file's bytes in its encoding, column names stripped."""
    df = pd.read_csv(io.BytesIO(raw), encoding=encoding_of(raw), **kwargs)
    df.columns = [c.strip() for c in df.columns]  # gtfs-kit's clean_column_names
    return df


@cache
def gtfs_kit_dtypes() -> dict[str, dict[str, str]]:
    """gtfs-kit's column schema (``gtfs_kit.constants.DTYPES``), executed from its module
    file without importing the package: ``import gtfs_kit`` brings GeoPandas, Shapely
    and folium (~40 MB, half a second) into every process that reads a feed, for a dict
    the constants module defines with no imports of its own."""
    package = importlib.util.find_spec("gtfs_kit")  # finds the package, runs nothing
    if package is None or not package.submodule_search_locations:
        raise ImportError("gtfs-kit is not installed")
    path = Path(next(iter(package.submodule_search_locations))) / "constants.py"
    spec = importlib.util.spec_from_file_location("_gtfs_kit_constants", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dtypes: dict[str, dict[str, str]] = module.DTYPES
    return dtypes


def _read_raw_files(path: Path, names: Sequence[str] = TABLES) -> dict[str, bytes]:
    """The GTFS .txt files of a zip (files may sit in one sub-folder) or a folder."""
    files: dict[str, bytes] = {}
    if path.is_dir():
        for p in path.iterdir():
            if p.suffix == ".txt" and p.stem in names:
                files[p.stem] = p.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                stem = Path(info.filename).stem
                if not info.is_dir() and info.filename.endswith(".txt") and stem in names:
                    files[stem] = zf.read(info)
    elif path.exists():
        raise GtfsError(str(path), ["not a zip file or a folder"])
    else:
        raise GtfsError(str(path), ["file does not exist"])
    return files


#: Text columns gtfs-kit does not type: without this pandas reads platform "7" as 7.0.
EXTRA_TEXT = {"stops": ("platform_code", "level_id", "tts_stop_name")}


def _dtypes(table: str) -> dict[str, str] | type[str]:
    """gtfs-kit's column dtypes, with every id column text: its schema lacks, e.g.,
    transfers.txt's trip and route ids, which numeric ids would turn into floats."""
    base = gtfs_kit_dtypes().get(table)
    if base is None:
        return str
    text = (*ID_COLUMNS.get(table, ()), *EXTRA_TEXT.get(table, ()))
    return {**base, **{c: "string" for c in text}}


def read_tables(path: Path, read: Sequence[str] = TABLES
                ) -> tuple[dict[str, pd.DataFrame | None], list[str]]:
    """One feed's tables with gtfs-kit's dtypes; returns (tables, warnings). Tables not
    in ``read`` are None, as if the feed had none."""
    warnings: list[str] = []
    tables: dict[str, pd.DataFrame | None] = {name: None for name in TABLES}
    files = _read_raw_files(path, (*REQUIRED, *read))
    for name in list(files):
        raw = files.pop(name)  # each file's bytes go once its table is parsed
        if not raw or raw.isspace():  # not raw.strip(): no copy of a large file
            continue
        try:
            df = _csv(raw, dtype=_dtypes(name), na_values=["", " "], keep_default_na=False,
                      skipinitialspace=True)
        except (ValueError, pd.errors.ParserError) as exc:
            raise GtfsError(str(path), [f"{name}.txt cannot be parsed: {exc}"]) from exc
        del raw
        if not df.empty:
            tables[name] = df
    missing = [f"{t}.txt" for t in REQUIRED if tables[t] is None]
    if missing:
        raise GtfsError(str(path), [f"required file missing or empty: {', '.join(missing)}"])
    if tables["calendar"] is None and tables["calendar_dates"] is None:
        raise GtfsError(str(path), ["neither calendar.txt nor calendar_dates.txt present"])
    if tables["agency"] is None:
        warnings.append(f"{path}: agency.txt missing; agency names left empty")
    return tables, warnings


def agency_timezone(paths: Sequence[str | Path]) -> str | None:
    """The first agency's ``agency_timezone`` over the feeds in order (the zone a compiled
    timetable gets), reading agency.txt only: what a local time means before any compile."""
    for raw in paths:
        text = _read_raw_files(Path(raw), ("agency",)).get("agency")
        if text is None:
            continue
        df = _csv(text, dtype=str, keep_default_na=False, skipinitialspace=True)
        if "agency_timezone" in df.columns:
            zones = [z.strip() for z in df["agency_timezone"] if z.strip()]
            if zones:
                return zones[0]
    return None


def _examples(values: Iterable[object], n: int = 3) -> str:
    shown = [repr(v) for v in list(dict.fromkeys(values))[:n]]
    return ", ".join(shown)


def _missing_refs(tables: dict[str, pd.DataFrame | None], child: str, col: str,
                  parent: str, pcol: str) -> list[str]:
    """``child.col`` values that ``parent.pcol`` does not define (one problem or none)."""
    c, p = tables[child], tables[parent]
    if c is None or col not in c.columns:
        return []
    values = c[col].dropna()
    known = set(p[pcol]) if p is not None and pcol in p.columns else set()
    bad = values[~values.isin(known)]
    if not len(bad):
        return []
    return [f"{child}.txt: {len(bad)} rows reference a {col} missing from {parent}.txt "
            f"(e.g. {_examples(bad)})"]


def _missing_columns(tables: dict[str, pd.DataFrame | None]) -> list[str]:
    """Columns without which the other checks cannot even run."""
    problems: list[str] = []
    for table, cols in (("stops", ("stop_id",)), ("routes", ("route_id",)),
                        ("trips", ("trip_id", "route_id", "service_id")),
                        ("stop_times", ("trip_id", "stop_id", "stop_sequence"))):
        df = tables[table]
        assert df is not None
        for col in cols:
            if col not in df.columns:
                problems.append(f"{table}.txt: required column {col} missing")
    return problems


def _duplicate_ids(tables: dict[str, pd.DataFrame | None]) -> list[str]:
    problems: list[str] = []
    for table, col in (("stops", "stop_id"), ("routes", "route_id"), ("trips", "trip_id")):
        df = tables[table]
        assert df is not None
        dup = df[col][df[col].duplicated()]
        if len(dup):
            problems.append(f"{table}.txt: {len(dup)} duplicate {col} (e.g. {_examples(dup)})")
    return problems


def _drop_dangling_parents(stops: pd.DataFrame, source: str) -> list[str]:
    """Clear parent_station ids that stops.txt lacks (in place); a warning, not an error,
    because such a stop is still usable on its own."""
    if "parent_station" not in stops.columns:
        return []
    dangling = stops["parent_station"].notna() & ~stops["parent_station"].isin(
        set(stops["stop_id"])
    )
    if not dangling.any():
        return []
    warning = (
        f"{source}: {int(dangling.sum())} stops name a parent_station that is not in "
        f"stops.txt (e.g. {_examples(stops.loc[dangling, 'parent_station'])}); "
        "treated as having no parent"
    )
    stops.loc[dangling, "parent_station"] = pd.NA
    return [warning]


def _unknown_services(tables: dict[str, pd.DataFrame | None], trips: pd.DataFrame) -> list[str]:
    services: set[str] = set()
    for cal in ("calendar", "calendar_dates"):
        df = tables[cal]
        if df is not None:
            services.update(df["service_id"].dropna())
    bad_service = trips["service_id"][~trips["service_id"].isin(services)]
    if not len(bad_service):
        return []
    return [f"trips.txt: {len(bad_service)} rows reference a service_id in neither "
            f"calendar.txt nor calendar_dates.txt (e.g. {_examples(bad_service)})"]


def _stops_without_coordinates(stops: pd.DataFrame) -> list[str]:
    """Stops, stations and entrances need a position; generic nodes and boarding areas
    (location_type 3, 4) may go without."""
    if {"stop_lat", "stop_lon"} - set(stops.columns):
        return ["stops.txt: stop_lat/stop_lon columns missing"]
    loc = stops.get("location_type")
    need_coords = loc.isna() | loc.isin([0, 1, 2]) if loc is not None else True
    no_coords = stops[need_coords & (stops["stop_lat"].isna() | stops["stop_lon"].isna())]
    if not len(no_coords):
        return []
    return [f"stops.txt: {len(no_coords)} stops without coordinates "
            f"(e.g. {_examples(no_coords['stop_id'])})"]


def validate(tables: dict[str, pd.DataFrame | None], source: str) -> list[str]:
    """Reference and value checks; raises GtfsError with every problem, returns warnings."""
    problems = _missing_columns(tables)
    if problems:
        raise GtfsError(source, problems)

    stops, trips, st = tables["stops"], tables["trips"], tables["stop_times"]
    assert stops is not None and trips is not None and st is not None
    problems += _duplicate_ids(tables)
    problems += _missing_refs(tables, "stop_times", "stop_id", "stops", "stop_id")
    problems += _missing_refs(tables, "stop_times", "trip_id", "trips", "trip_id")
    problems += _missing_refs(tables, "trips", "route_id", "routes", "route_id")
    problems += _missing_refs(tables, "frequencies", "trip_id", "trips", "trip_id")
    warnings = _drop_dangling_parents(stops, source)
    problems += _unknown_services(tables, trips)
    problems += [f"stop_times.txt: required column {col} missing"
                 for col in ("arrival_time", "departure_time") if col not in st.columns]
    problems += _stops_without_coordinates(stops)
    if problems:
        raise GtfsError(source, problems)

    no_times = trips["trip_id"][~trips["trip_id"].isin(set(st["trip_id"]))]
    if len(no_times):
        warnings.append(f"{source}: {len(no_times)} trips have no stop_times and are ignored")
    return warnings


def _scope(tables: dict[str, pd.DataFrame | None], name: str) -> None:
    """Prefix every id column with ``name:`` in place.

    Ids become Python strings (``object``: comparisons with a missing id are False, not
    NA), except stop_times' ``trip_id`` and ``stop_id``: required, so never missing, and
    as Arrow strings a fifth of the memory of one Python string per row, which on a large
    feed was most of a compile's peak."""
    prefix = f"{name}:"
    for table, cols in ID_COLUMNS.items():
        df = tables[table]
        if df is None:
            continue
        for col in cols:
            if col not in df.columns:
                continue
            s = df[col]
            mask = s.notna()
            if table == "stop_times" and bool(mask.all()):
                df[col] = prefix + s.astype("string")
            else:
                df[col] = s.astype(object).where(~mask, prefix + s[mask].astype(str))


def feed_name(path: Path) -> str:
    """A short, stable scope for a feed: its folder name, or the zip name for a zip."""
    if path.is_dir() and path.name == "gtfs":
        return path.parent.name
    if path.name in ("gtfs.zip", "google_transit.zip"):
        return path.parent.name
    return path.stem.replace(".gtfs", "")


def scoped_names(paths: Sequence[str | Path],
                 names: Sequence[str] | None = None) -> list[str]:
    """The scope (id prefix) of each feed, as :func:`load_feeds` gives them: its
    :func:`feed_name`, numbered when two feeds would share one."""
    out: list[str] = []
    for i, raw_path in enumerate(paths):
        name = names[i] if names else feed_name(Path(raw_path))
        out.append(f"{name}{i}" if name in out else name)
    return out


def stop_sequences(paths: Sequence[str | Path],
                   names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Scoped trip id -> its stop_sequence values in ascending order (the route positions
    of the compiled timetable, which keeps no stop_sequence): what GTFS-Realtime stop time
    updates name stops by. Reads stop_times.txt only."""
    out: dict[str, np.ndarray] = {}
    for path, name in zip(paths, scoped_names(paths, names), strict=True):
        raw = _read_raw_files(Path(path), ("stop_times",)).get("stop_times", b"")
        if not raw or raw.isspace():
            continue
        df = _csv(raw, usecols=lambda c: c.strip() in ("trip_id", "stop_sequence"),
                  dtype=str, skipinitialspace=True)
        seq = pd.to_numeric(df["stop_sequence"], errors="coerce").to_numpy(dtype=float)
        codes, trips = pd.factorize(df["trip_id"])
        order = np.lexsort((seq, codes))
        codes, seq = codes[order], seq[order].astype(np.int64)
        bounds = np.flatnonzero(codes[1:] != codes[:-1]) + 1
        starts: list[int] = [0, *bounds.tolist()] if len(codes) else []
        for part, first in zip(np.split(seq, bounds) if len(codes) else [], starts,
                               strict=True):
            out[f"{name}:{trips[codes[first]]}"] = part
    return out


def load_feeds(paths: Sequence[str | Path], names: Sequence[str] | None = None, *,
               read: Sequence[str] = TABLES) -> GtfsData:
    """Load, validate and merge feeds; any invalid feed rejects the whole call. ``read``:
    the tables wanted (the required ones are always read)."""
    merged: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    warnings: list[str] = []
    feeds: list[str] = []
    sources: dict[str, Path] = {}
    for raw_path, name in zip(paths, scoped_names(paths, names), strict=True):
        path = Path(raw_path)
        tables, w = read_tables(path, read)
        warnings += w
        warnings += validate(tables, str(path))
        _scope(tables, name)
        for t, df in tables.items():
            if df is not None:
                if t == "agency" or t == "feed_info":
                    df = df.assign(feed=name)
                merged[t].append(df)
        feeds.append(name)
        sources[name] = path
    for message in warnings:
        log.warning(message)
    out = {t: (pd.concat(dfs, ignore_index=True) if dfs else None) for t, dfs in merged.items()}
    return GtfsData(tables=out, feeds=feeds, sources=sources, warnings=warnings)


def as_gtfs_kit_feed(data: GtfsData) -> gtfs_kit.Feed:
    """The merged tables as a gtfs-kit Feed, for its analysis helpers."""
    import gtfs_kit  # the whole package (GeoPandas and all): only for its Feed

    kwargs = {t: df for t, df in data.tables.items() if t in gtfs_kit_dtypes()}
    return gtfs_kit.Feed(dist_units="km", **kwargs)
