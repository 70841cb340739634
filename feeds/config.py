"""The feed configuration (``config/feeds.toml``): one reader, typed entries.

``owl-planner update`` (GTFS sources, region, download options), the server's GBFS
refresher (``[[gbfs]]`` entries), its GTFS-Realtime poller (``[[gtfs_rt]]`` entries, each
tied to a static feed by name) and its street graph and place index (``[[osm]]`` entries,
when ``--osm``/``OWL_OSM`` name no extract) read the same file; before this module each
had its own parser with its own idea of defaults and of what a broken entry means. Now
every problem is a :class:`FeedConfigError` that names the file and the key
(``gbfs[2].url``, entries counted from 1), and a missing file is a plain
:class:`FileNotFoundError`, so callers that may run without one (the server) can say so.

Unknown keys inside ``[region]``, ``[download]`` and the entries are errors: a misspelt
``enabeld = false`` would otherwise quietly switch a feed on. Other top-level tables are
ignored (the same file may carry a ``[server]`` table for :mod:`api.settings`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

#: The repository's configuration, the default for ``update`` and the server.
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "feeds.toml"
#: Values of :data:`feeds.gbfs.Resolve` (kept here so reading the file needs no HTTP stack).
RESOLVE_MODES: tuple[str, ...] = ("auto", "manifest", "listed")


class FeedConfigError(ValueError):
    """The configuration is not TOML or a key is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class GtfsSource:
    """A ``[[gtfs]]`` entry: a timetable ``owl-planner update`` downloads and publishes."""

    name: str  # file names under the data directory
    url: str  # http(s), file:PATH or a plain path
    license: str = ""
    attribution: str = ""
    clip: bool = True  # clip to region.bbox


@dataclass(frozen=True)
class GbfsSource:
    """A ``[[gbfs]]`` entry: a sharing system the server refreshes."""

    name: str  # shown in health, accepted in rentalProviders; defaults to the URL
    url: str  # the manifest (gbfs.json)
    license: str = ""
    attribution: str = ""
    enabled: bool = True
    resolve: str | None = None  # feeds.gbfs.Resolve; None: the server's gbfs_resolve


@dataclass(frozen=True)
class OsmSource:
    """An ``[[osm]]`` entry: an OpenStreetMap extract (``.osm.pbf``) the server walks,
    rides and geocodes on when ``--osm``/``OWL_OSM`` name none."""

    name: str  # shown in logs; defaults to the path
    path: str  # a local file (or file:PATH); relative paths from the config file's folder
    license: str = "ODbL 1.0"
    attribution: str = "© OpenStreetMap contributors"
    enabled: bool = True


@dataclass(frozen=True)
class GtfsRtSource:
    """A ``[[gtfs_rt]]`` entry: a GTFS-Realtime feed (TripUpdates, ServiceAlerts or
    VehiclePositions) whose ids are those of the static feed ``feed``."""

    name: str  # shown in health and warnings; defaults to the URL
    url: str  # http(s), file:PATH or a plain path
    feed: str  # the static feed (its scope: the [[gtfs]] name, or the zip's name)
    interval: float = 30.0  # seconds between polls
    max_age: float = 300.0  # seconds: older data is dropped, back to the schedule
    enabled: bool = True


@dataclass(frozen=True)
class FeedConfig:
    path: Path
    region: str = ""
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    gtfs: tuple[GtfsSource, ...] = ()
    gbfs: tuple[GbfsSource, ...] = ()
    gtfs_rt: tuple[GtfsRtSource, ...] = ()
    osm: tuple[OsmSource, ...] = ()
    timeout: float = 60.0  # [download]: seconds per network read (httpx's timeout)
    deadline: float = 900.0  # seconds for one source's whole download, retries included
    retries: int = 3  # on connect errors, timeouts and 5xx
    backoff: float = 2.0  # seconds, doubled per retry

    @property
    def enabled_gtfs_rt(self) -> tuple[GtfsRtSource, ...]:
        return tuple(s for s in self.gtfs_rt if s.enabled)

    @property
    def enabled_osm(self) -> tuple[str, ...]:
        """The paths of the enabled ``[[osm]]`` extracts."""
        return tuple(s.path for s in self.osm if s.enabled)

    @property
    def enabled_gbfs(self) -> tuple[GbfsSource, ...]:
        return tuple(s for s in self.gbfs if s.enabled)


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed file; :class:`FeedConfigError` naming the file when it is not TOML."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FeedConfigError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise FeedConfigError(f"{p}: not UTF-8 text: {exc}") from None


def load_feed_config(path: str | Path) -> FeedConfig:
    """Read and check ``path`` (``FileNotFoundError`` when it does not exist)."""
    p = Path(path)
    data = read_toml(p)
    where = _Where(p)
    region = where.table(data, "region", {"name", "bbox"})
    download = where.table(data, "download", {"timeout", "deadline", "retries",
                                                  "backoff"})
    return FeedConfig(
        path=p,
        region=where.text(region, "region.name", ""),
        bbox=where.bbox(region.get("bbox")),
        gtfs=tuple(where.gtfs(i, e) for i, e in enumerate(where.entries(data, "gtfs"), 1)),
        gbfs=tuple(where.gbfs(i, e) for i, e in enumerate(where.entries(data, "gbfs"), 1)),
        gtfs_rt=tuple(where.gtfs_rt(i, e)
                      for i, e in enumerate(where.entries(data, "gtfs_rt"), 1)),
        osm=tuple(where.osm(i, e) for i, e in enumerate(where.entries(data, "osm"), 1)),
        timeout=where.number(download, "download.timeout", 60.0, positive=True),
        deadline=where.number(download, "download.deadline", 900.0, positive=True),
        retries=int(where.number(download, "download.retries", 3, integer=True)),
        backoff=where.number(download, "download.backoff", 2.0),
    )


@dataclass(frozen=True)
class _Where:
    """Checks values and raises errors that name the file and the key."""

    path: Path

    def fail(self, key: str, problem: str) -> FeedConfigError:
        return FeedConfigError(f"{self.path}: {key}: {problem}")

    def table(self, data: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table [{key}], got {type(value).__name__}")
        self.known(value, key, allowed)
        return value

    def known(self, value: Mapping[str, Any], key: str, allowed: set[str]) -> None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(key, f"unknown key {unknown[0]!r} (expected one of "
                                 f"{', '.join(sorted(allowed))})")

    def entries(self, data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            raise self.fail(key, f"expected [[{key}]] entries")
        return value

    def text(self, table: Mapping[str, Any], key: str, default: str | None) -> str:
        name = key.rsplit(".", 1)[-1]
        value = table.get(name, default)
        if value is None:
            raise self.fail(key, "missing")
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {value!r}")
        return value

    def flag(self, table: Mapping[str, Any], key: str, default: bool) -> bool:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def number(self, table: Mapping[str, Any], key: str, default: float, *,
               integer: bool = False, positive: bool = False) -> float:
        value = table.get(key.rsplit(".", 1)[-1], default)
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or value < 0 or \
                (positive and value == 0):
            kind = "whole number" if integer else "number"
            raise self.fail(key, f"expected a {'positive' if positive else 'non-negative'} "
                                 f"{kind}, got {value!r}")
        return float(value)

    def bbox(self, value: Any) -> tuple[float, float, float, float] | None:
        if value is None:
            return None
        ok = (isinstance(value, list) and len(value) == 4
              and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value))
        if not ok or not (value[0] < value[2] and value[1] < value[3]):
            raise self.fail("region.bbox", f"must be [min_lon, min_lat, max_lon, max_lat], "
                                           f"got {value!r}")
        return (float(value[0]), float(value[1]), float(value[2]), float(value[3]))

    def gtfs(self, i: int, e: Mapping[str, Any]) -> GtfsSource:
        key = f"gtfs[{i}]"
        self.known(e, key, {f.name for f in fields(GtfsSource)})
        return GtfsSource(
            name=self.nonempty(e, f"{key}.name"), url=self.nonempty(e, f"{key}.url"),
            license=self.text(e, f"{key}.license", ""),
            attribution=self.text(e, f"{key}.attribution", ""),
            clip=self.flag(e, f"{key}.clip", True),
        )

    def gbfs(self, i: int, e: Mapping[str, Any]) -> GbfsSource:
        key = f"gbfs[{i}]"
        self.known(e, key, {f.name for f in fields(GbfsSource)})
        url = self.nonempty(e, f"{key}.url")
        resolve = e.get("resolve")
        if resolve is not None and resolve not in RESOLVE_MODES:
            raise self.fail(f"{key}.resolve", f"must be one of {', '.join(RESOLVE_MODES)}, "
                                              f"got {resolve!r}")
        return GbfsSource(
            name=self.text(e, f"{key}.name", "") or url, url=url,
            license=self.text(e, f"{key}.license", ""),
            attribution=self.text(e, f"{key}.attribution", ""),
            enabled=self.flag(e, f"{key}.enabled", True), resolve=resolve,
        )

    def gtfs_rt(self, i: int, e: Mapping[str, Any]) -> GtfsRtSource:
        key = f"gtfs_rt[{i}]"
        self.known(e, key, {f.name for f in fields(GtfsRtSource)})
        url = self.nonempty(e, f"{key}.url")
        return GtfsRtSource(
            name=self.text(e, f"{key}.name", "") or url, url=url,
            feed=self.nonempty(e, f"{key}.feed"),
            interval=self.number(e, f"{key}.interval", 30.0, positive=True),
            max_age=self.number(e, f"{key}.max_age", 300.0, positive=True),
            enabled=self.flag(e, f"{key}.enabled", True),
        )

    def osm(self, i: int, e: Mapping[str, Any]) -> OsmSource:
        key = f"osm[{i}]"
        self.known(e, key, {f.name for f in fields(OsmSource)})
        given = self.nonempty(e, f"{key}.path")
        if given.startswith(("http://", "https://")):
            raise self.fail(f"{key}.path", f"the server reads extracts from local files; "
                                           f"download {given} and give its path")
        path = Path(given.removeprefix("file:")).expanduser()
        if not path.is_absolute():
            path = self.path.parent / path
        return OsmSource(
            name=self.text(e, f"{key}.name", "") or given, path=str(path),
            license=self.text(e, f"{key}.license", "ODbL 1.0"),
            attribution=self.text(e, f"{key}.attribution", "© OpenStreetMap contributors"),
            enabled=self.flag(e, f"{key}.enabled", True),
        )

    def nonempty(self, e: Mapping[str, Any], key: str) -> str:
        value = self.text(e, key, None)
        if not value.strip():
            raise self.fail(key, "empty")
        return value
