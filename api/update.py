"""``owl-planner update``: download, validate, clip to the region, compile, publish atomically.

Layout under the data directory::

    downloads/<name>.zip, <name>.meta.json   last good download + ETag/Last-Modified
    versions/<version>/<name>.gtfs.zip       clipped feeds of one published version
    current                                  JSON pointer to the live version (os.replace)
    status.json                              last attempt, last success, last error

Nothing is replaced before the new data passed every check, so a failed download or a
broken feed leaves the served version untouched; the error is kept in ``status.json``
(shown by ``/api/v1/health``) and the command exits non-zero. The clipper streams
``stop_times.txt`` with the csv module (two passes), so the full German feed never has
to fit in a DataFrame.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import formatdate
from pathlib import Path

import httpx

from feeds.config import FeedConfig, FeedConfigError, GtfsSource, load_feed_config
from feeds.gtfs import GtfsError, load_feeds
from planner.timetable.compile import CompileOptions, OutOfRangeError, feed_date_ranges
from planner.timetable.disk_cache import load_or_compile

log = logging.getLogger(__name__)
KEEP_VERSIONS = 3
BBox = tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat


class UpdateError(RuntimeError):
    """The update could not produce a new good version; the message says why."""


def load_config(path: Path) -> FeedConfig:
    """The feed configuration, with what an update needs: a region and GTFS sources."""
    cfg = load_feed_config(path)
    if cfg.bbox is None:
        raise FeedConfigError(f"{path}: region.bbox: missing; expected "
                              "[min_lon, min_lat, max_lon, max_lat]")
    if not cfg.gtfs:
        raise FeedConfigError(f"{path}: no [[gtfs]] sources")
    return cfg


# --- download ---------------------------------------------------------------------------


@dataclass
class Download:
    path: Path
    changed: bool
    meta: dict[str, object] = field(default_factory=dict)


def download(source: GtfsSource, folder: Path, cfg: FeedConfig, force: bool = False,
             client: httpx.Client | None = None) -> Download:
    """Fetch ``source`` into ``folder/<name>.zip.part`` with a conditional request.

    Returns the new file (``changed``) or the previous download (304). Retries connect
    errors, timeouts and 5xx with exponential backoff; 4xx fails at once.
    """
    folder.mkdir(parents=True, exist_ok=True)
    current = folder / f"{source.name}.zip"
    meta, headers = _conditional(folder, source, force)
    if source.url.startswith("file:") or "://" not in source.url:
        local = Path(source.url.removeprefix("file:"))
        if not local.exists():
            raise UpdateError(f"{source.name}: {local} does not exist")
        part = folder / f"{source.name}.zip.part"
        shutil.copyfile(local, part)
        return Download(part, True, {"url": source.url, "fetched_at": time.time(),
                                     "last_modified": formatdate(local.stat().st_mtime,
                                                                 usegmt=True)})
    own = client is None
    client = client or httpx.Client(timeout=cfg.timeout, follow_redirects=True)
    part = folder / f"{source.name}.zip.part"
    # httpx's timeout bounds each read, so a server sending a byte every few seconds
    # would never time out: the deadline bounds the whole download, retries included.
    deadline = time.monotonic() + cfg.deadline
    last_error = ""
    try:
        for attempt in range(cfg.retries + 1):
            if attempt:
                time.sleep(min(cfg.backoff * 2 ** (attempt - 1),
                               max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                break
            try:
                got = _get(client, source, headers, part, deadline)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                log.warning("%s: attempt %d failed: %s", source.name, attempt + 1, last_error)
                continue
            if got is None:
                log.info("%s: not modified", source.name)
                return Download(current, False, meta)
            if isinstance(got, str):
                last_error = got
                continue
            return Download(part, True, got)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        if own:
            client.close()
    part.unlink(missing_ok=True)
    if time.monotonic() >= deadline:
        raise UpdateError(f"{source.name}: download not finished within the "
                          f"{cfg.deadline:g} s deadline ({last_error or 'too slow'})")
    raise UpdateError(f"{source.name}: download failed after {cfg.retries + 1} attempts "
                      f"({last_error})")


def _conditional(folder: Path, source: GtfsSource,
                 force: bool) -> tuple[dict[str, object], dict[str, str]]:
    """The last good download's metadata and the request headers that ask for a newer
    file only (none with ``force``)."""
    meta_path = folder / f"{source.name}.meta.json"
    meta: dict[str, object] = {}
    if meta_path.exists() and (folder / f"{source.name}.zip").exists():
        meta = json.loads(meta_path.read_text())
    headers = {"User-Agent": "owl-planner-update/1.0"}
    if not force and meta:
        if meta.get("etag"):
            headers["If-None-Match"] = str(meta["etag"])
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = str(meta["last_modified"])
    return meta, headers


def _get(client: httpx.Client, source: GtfsSource, headers: dict[str, str], part: Path,
         deadline: float) -> dict[str, object] | str | None:
    """One GET into ``part``: its metadata, None for 304, or a retryable error (5xx, the
    deadline passed mid-body; ``part`` is then removed). 4xx raises at once."""
    with client.stream("GET", source.url, headers=headers) as r:
        if r.status_code == 304:
            return None
        if r.status_code >= 500:
            return f"HTTP {r.status_code} from {source.url}"
        if r.status_code >= 400:
            raise UpdateError(f"{source.name}: HTTP {r.status_code} from {source.url}")
        with part.open("wb") as out:
            for chunk in r.iter_bytes():  # as it arrives, so the deadline is seen
                out.write(chunk)
                if time.monotonic() >= deadline:
                    break
            else:
                return {"url": source.url, "fetched_at": time.time(),
                        "etag": r.headers.get("etag", ""),
                        "last_modified": r.headers.get("last-modified", "")}
    part.unlink(missing_ok=True)
    return f"stopped after {part.name} took longer than the deadline"


# --- clipping ---------------------------------------------------------------------------


def _rows(zf: zipfile.ZipFile, name: str) -> tuple[list[str], Iterator[list[str]]] | None:
    member = next((i for i in zf.infolist() if Path(i.filename).name == name), None)
    if member is None:
        return None
    raw = zf.open(member)
    head = raw.peek(4)[:3] if hasattr(raw, "peek") else b""
    encoding = "utf-8-sig" if head == b"\xef\xbb\xbf" else "utf-8"
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    reader = csv.reader(text)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return None
    return header, _padded(reader, len(header))


def _padded(reader: Iterator[list[str]], width: int) -> Iterator[list[str]]:
    """Rows without blank lines, short rows padded to the header (real feeds have both:
    BART's routes.txt crashed the clipper with an IndexError)."""
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        yield row + [""] * (width - len(row)) if len(row) < width else row


def _table(zf: zipfile.ZipFile, name: str) -> tuple[list[str], list[list[str]]] | None:
    """A whole (small) member in memory; stop_times is streamed with _rows instead."""
    got = _rows(zf, name)
    return (got[0], list(got[1])) if got else None


class _MemberWriter:
    """Writes CSV members into the clipped zip and counts their rows (per table name)."""

    def __init__(self, out: zipfile.ZipFile) -> None:
        self.out = out
        self.counts: dict[str, int] = {}

    def __call__(self, name: str, header: list[str], body: Iterable[list[str]]) -> None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        n = 0
        for row in body:
            w.writerow(row)
            n += 1
        # fixed timestamps: the same content gives the same bytes (and version)
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        self.out.writestr(info, buf.getvalue())
        self.counts[name.removesuffix(".txt")] = n


def _stops_inside(header: list[str], rows: list[list[str]],
                  bbox: tuple[float, float, float, float]) -> set[str]:
    min_lon, min_lat, max_lon, max_lat = bbox
    i_id, i_lat, i_lon = (header.index("stop_id"), header.index("stop_lat"),
                          header.index("stop_lon"))
    inside: set[str] = set()
    for r in rows:
        try:
            lat, lon = float(r[i_lat]), float(r[i_lon])
        except (ValueError, IndexError):
            continue
        if min_lat <= lat <= max_lat and min_lon <= lon <= max_lon:
            inside.add(r[i_id])
    return inside


def _stop_times(src: Path, zf: zipfile.ZipFile) -> Iterator[tuple[str, str]]:
    """One streamed pass over stop_times: (trip_id, stop_id) per row."""
    got = _rows(zf, "stop_times.txt")
    if got is None:
        raise GtfsError(str(src), ["required file missing or empty: stop_times.txt"])
    sh, reader = got
    s_trip, s_stop = sh.index("trip_id"), sh.index("stop_id")
    return ((r[s_trip], r[s_stop]) for r in reader)


def _trips_to_keep(src: Path, zf: zipfile.ZipFile, inside: set[str],
                   station: dict[str, str]) -> set[str]:
    """The trips that stop inside the region, and those linking two stations they reach
    (Bielefeld -> Hannover, a train not stopping in OWL to Kassel, on to Paderborn: one
    ride outside the region is kept; journeys with two in a row outside are not).
    Three streamed passes over stop_times; only id sets are held."""
    serving = {t for t, s in _stop_times(src, zf) if s in inside}
    reached = {station.get(s, s) for t, s in _stop_times(src, zf) if t in serving}
    seen: dict[str, set[str]] = {}
    for t, s in _stop_times(src, zf):
        if t not in serving:
            at = station.get(s, s)
            if at in reached:
                seen.setdefault(t, set()).add(at)
    return serving | {t for t, at in seen.items() if len(at) >= 2}


def _write_stop_times(zf: zipfile.ZipFile, write: _MemberWriter,
                      keep_trips: set[str]) -> set[str]:
    """Pass 2: every stop time of the kept trips, outside stops included (a journey
    between two OWL stations may ride through Hamm or Hannover); returns their stops."""
    got = _rows(zf, "stop_times.txt")
    assert got is not None  # pass 1 read it
    sh, reader = got
    s_trip, s_stop = sh.index("trip_id"), sh.index("stop_id")
    used_stops: set[str] = set()

    def st_rows() -> Iterator[list[str]]:
        for r in reader:
            if r[s_trip] in keep_trips:
                used_stops.add(r[s_stop])
                yield r

    write("stop_times.txt", sh, st_rows())
    return used_stops


def _write_trips(zf: zipfile.ZipFile, write: _MemberWriter,
                 keep_trips: set[str]) -> tuple[set[str], set[str], set[str]]:
    """The kept trips; returns the routes, services and shapes they reference."""
    trips = _table(zf, "trips.txt")
    assert trips is not None
    th, trows = trips
    t_id, t_route, t_service = (th.index("trip_id"), th.index("route_id"),
                                th.index("service_id"))
    t_shape = th.index("shape_id") if "shape_id" in th else -1
    kept_trips = [r for r in trows if r[t_id] in keep_trips]
    routes_used = {r[t_route] for r in kept_trips}
    services = {r[t_service] for r in kept_trips}
    shapes_used = {r[t_shape] for r in kept_trips if t_shape >= 0 and r[t_shape]}
    write("trips.txt", th, kept_trips)
    return routes_used, services, shapes_used


def _write_routes(zf: zipfile.ZipFile, write: _MemberWriter,
                  routes_used: set[str]) -> set[str] | None:
    """The used routes; returns their agencies (None: routes.txt has no agency_id)."""
    routes = _table(zf, "routes.txt")
    assert routes is not None
    rh, rrows = routes
    kept_routes = [r for r in rrows if r[rh.index("route_id")] in routes_used]
    agencies = ({r[rh.index("agency_id")] for r in kept_routes}
                if "agency_id" in rh else None)
    write("routes.txt", rh, kept_routes)
    return agencies


def _write_referenced(zf: zipfile.ZipFile, write: _MemberWriter,
                      tables: Iterable[tuple[str, str, set[str] | None]]) -> None:
    """Optional tables, each filtered to rows whose ``col`` is in ``keep`` (None: all)."""
    for name, col, keep in tables:
        got = _rows(zf, name)
        if got is None:
            continue
        hh, rr = got
        if keep is None or col not in hh:
            write(name, hh, rr)
            continue
        k = hh.index(col)
        write(name, hh, (r for r in rr if len(r) > k and r[k] in keep))


def _write_transfers(zf: zipfile.ZipFile, write: _MemberWriter, kept_stops: set[str]) -> None:
    got = _rows(zf, "transfers.txt")
    if got is not None:
        hh, rr = got
        a, b = hh.index("from_stop_id"), hh.index("to_stop_id")
        write("transfers.txt", hh,
              (r for r in rr if r[a] in kept_stops and r[b] in kept_stops))


def clip_feed(src: Path, dst: Path, bbox: BBox) -> dict[str, int]:
    """Keep the trips of :func:`_trips_to_keep` with all their stops (and their parent
    stations), and everything those reference: clipping must not cut journeys."""
    with zipfile.ZipFile(src) as zf:
        stops = _table(zf, "stops.txt")
        if stops is None:
            raise GtfsError(str(src), ["required file missing or empty: stops.txt"])
        h, rows = stops
        i_id = h.index("stop_id")
        i_par = h.index("parent_station") if "parent_station" in h else -1
        inside = _stops_inside(h, rows, bbox)
        station = {r[i_id]: r[i_par] for r in rows if i_par >= 0 and r[i_par]}
        keep_trips = _trips_to_keep(src, zf, inside, station)

        dst.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as out:
            write = _MemberWriter(out)
            used_stops = _write_stop_times(zf, write, keep_trips)
            routes_used, services, shapes_used = _write_trips(zf, write, keep_trips)
            parents = {r[i_par] for r in rows if i_par >= 0 and r[i_id] in used_stops
                       and r[i_par]}
            write("stops.txt", h, (r for r in rows if r[i_id] in used_stops or r[i_id] in parents))
            agencies = _write_routes(zf, write, routes_used)
            _write_referenced(zf, write, (("calendar.txt", "service_id", services),
                                          ("calendar_dates.txt", "service_id", services),
                                          ("shapes.txt", "shape_id", shapes_used),
                                          ("frequencies.txt", "trip_id", keep_trips),
                                          ("agency.txt", "agency_id", agencies)))
            _write_transfers(zf, write, used_stops | parents)
            for name in ("feed_info.txt", "attributions.txt"):
                got = _rows(zf, name)
                if got is not None:
                    write(name, got[0], got[1])
    return write.counts


# --- publishing ---------------------------------------------------------------------------


@dataclass
class UpdateResult:
    version: str
    changed: bool
    summary: dict[str, object]


def _write_json(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def _status(data_dir: Path, **fields: object) -> None:
    path = data_dir / "status.json"
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        status = {}
    status.update(fields)
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_json(path, status)


def _check_day(paths: list[Path], day: date | None) -> date:
    """The day the compile check uses: ``day``, today if served, else the first served day."""
    if day is not None:
        return day
    ranges = feed_date_ranges(load_feeds(paths))
    if not ranges:
        raise UpdateError("the clipped feeds have no service day at all")
    today = date.today().isoformat()
    if any(lo <= today <= hi for lo, hi in ranges.values()):
        return date.today()
    return date.fromisoformat(min(lo for lo, _ in ranges.values()))


def run_update(cfg: FeedConfig, data_dir: Path, *, only: list[str] | None = None,
               force: bool = False, day: date | str | None = None,
               compile_check: bool = True, client: httpx.Client | None = None,
               options: CompileOptions | None = None,
               cache_dir: Path | None = None) -> UpdateResult:
    data_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now().astimezone().isoformat(timespec="seconds")
    _status(data_dir, lastAttempt=started)
    try:
        result = _run(cfg, data_dir, only, force, day, compile_check, client, options,
                      cache_dir)
    except (UpdateError, GtfsError, OutOfRangeError, OSError, zipfile.BadZipFile) as exc:
        message = str(exc)
        if isinstance(exc, GtfsError | zipfile.BadZipFile):
            message = f"validation failed: {exc}"
        _status(data_dir, lastError=message, lastErrorAt=started)
        raise UpdateError(message) from exc
    _status(data_dir, lastError="", lastSuccess=started, version=result.version)
    return result


def _fetch(cfg: FeedConfig, downloads: Path, sources: list[GtfsSource], force: bool,
           client: httpx.Client | None) -> dict[str, Download]:
    """Download ``sources``; every other configured source uses its last good download."""
    fetched: dict[str, Download] = {}
    try:
        for s in sources:
            d = download(s, downloads, cfg, force=force, client=client)
            fetched[s.name] = d
            if d.changed:
                load_feeds([d.path])  # GtfsError: the new file never replaces the old one
    except BaseException:  # nothing of a failed update stays behind
        for d in fetched.values():
            if d.path.suffix == ".part":
                d.path.unlink(missing_ok=True)
        raise
    for s in cfg.gtfs:
        if s.name not in fetched:
            prev = downloads / f"{s.name}.zip"
            if not prev.exists():
                raise UpdateError(f"{s.name}: never downloaded; run without --only first")
            meta_path = downloads / f"{s.name}.meta.json"
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            fetched[s.name] = Download(prev, False, meta)
    return fetched


def _stage(cfg: FeedConfig, bbox: BBox, fetched: dict[str, Download],
           staging: Path) -> tuple[dict[str, object], str, list[Path]]:
    """Clip (or copy) every feed into ``staging``; returns the summary, the version (hash
    of the staged bytes) and the staged files."""
    summary: dict[str, object] = {}
    h = hashlib.sha256()
    clipped: list[Path] = []
    for s in cfg.gtfs:
        d = fetched[s.name]
        target = staging / f"{s.name}.gtfs.zip"
        if s.clip:
            counts = clip_feed(d.path, target, bbox)
            if counts.get("stops", 0) == 0 or counts.get("trips", 0) == 0:
                raise UpdateError(f"{s.name}: no stops or trips inside the region's bbox "
                                  f"{list(bbox)}")
            summary[s.name] = f"{counts['stops']} stops, {counts['trips']} trips"
        else:
            shutil.copyfile(d.path, target)
            summary[s.name] = "not clipped"
        h.update(s.name.encode())
        h.update(target.read_bytes())
        clipped.append(target)
    return summary, h.hexdigest()[:16], clipped


def _publish(cfg: FeedConfig, bbox: BBox, data_dir: Path, staging: Path, version: str,
             clipped: list[Path], fetched: dict[str, Download], previous: str) -> None:
    """Move the staged version in place, then switch the pointer to it (one rename)."""
    versions = data_dir / "versions"
    versions.mkdir(exist_ok=True)
    final = versions / version
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    pointer = {
        "version": version,
        "published_at": time.time(),
        "region": cfg.region,
        "bbox": list(bbox),
        "feeds": [f"versions/{version}/{p.name}" for p in clipped],
        "sources": {s.name: {"url": s.url, "license": s.license,
                             "attribution": s.attribution,
                             "fetched_at": fetched[s.name].meta.get("fetched_at"),
                             "etag": fetched[s.name].meta.get("etag", "")}
                    for s in cfg.gtfs},
    }
    _write_json(data_dir / "current", pointer)  # the switch: one atomic rename
    _prune(versions, keep={version, previous})


def _run(cfg: FeedConfig, data_dir: Path, only: list[str] | None, force: bool,
         day: date | str | None, compile_check: bool, client: httpx.Client | None,
         options: CompileOptions | None, cache_dir: Path | None) -> UpdateResult:
    if cfg.bbox is None:
        raise UpdateError(f"{cfg.path}: region.bbox: missing; nothing to clip to")
    bbox = cfg.bbox
    downloads = data_dir / "downloads"
    sources = [s for s in cfg.gtfs if not only or s.name in only]
    if only and not sources:
        raise UpdateError(f"no source named {', '.join(only)} in the configuration")
    fetched = _fetch(cfg, downloads, sources, force, client)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=data_dir))
    try:
        summary, version, clipped = _stage(cfg, bbox, fetched, staging)
        load_feeds(clipped)
        if compile_check:
            check = _check_day(clipped, date.fromisoformat(day) if isinstance(day, str)
                               else day)
            load_or_compile(clipped, check, options, cache_dir=cache_dir)
        pointer_path = data_dir / "current"
        old = json.loads(pointer_path.read_text()) if pointer_path.exists() else {}
        # commit the downloads only now that everything passed
        for s in sources:
            d = fetched[s.name]
            if d.changed:
                os.replace(d.path, downloads / f"{s.name}.zip")
                _write_json(downloads / f"{s.name}.meta.json", d.meta)
        if old.get("version") == version:
            return UpdateResult(version, False, {**summary, "published": "unchanged"})
        _publish(cfg, bbox, data_dir, staging, version, clipped, fetched,
                 previous=str(old.get("version", "")))
        return UpdateResult(version, True, summary)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        for d in fetched.values():
            if d.path.suffix == ".part" and d.path.exists():
                d.path.unlink()


def _prune(versions: Path, keep: set[str]) -> None:
    """Drop old versions beyond the last few (never the live or the previous one)."""
    entries = sorted(versions.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for p in entries[KEEP_VERSIONS:]:
        if p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
