"""The municipalities that embed the widget: one shared deployment, one entry per town.

Issue 14: every OWL town should use the same server under its own name. A town is a
``[[town]]`` entry of the config file (``towns_config``, by default ``config/feeds.toml``):
its name, home stop, bounding box (biases the stop search towards the town), brand colour,
logo URL, language, default modes and optionally its own map tiles (``tiles``, a
``{z}/{x}/{y}`` template, with ``tile_attribution``; api/map_tiles.py).
``<owl-trip-planner data-town="paderborn">`` reads
``/api/v1/towns/paderborn``; the page's own ``data-*`` attributes override each value.
Entries are checked when the server starts, so a typo fails loudly, not in a resident's
browser.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.common import ApiError
from api.map_tiles import TileSource, tile_source
from feeds.config import FeedConfigError, read_toml

TOWN_KEYS = frozenset({"id", "name", "home", "bbox", "color", "logo", "lang", "modes",
                       "heading", "tiles", "tile_attribution"})
MODES = ("transit", "bike", "scooter", "car")
LANGS = ("de", "en")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Town:
    id: str
    name: str
    home: str = ""  # a stop name (or id) preset as the start
    bbox: tuple[float, float, float, float] | None = None  # min lon, min lat, max lon, max lat
    color: str = ""
    logo: str = ""
    lang: str = "de"
    modes: tuple[str, ...] = ("transit",)
    heading: str = ""
    tiles: str = ""  # the town's own tile template (else the deployment's, if any)
    tile_attribution: str = ""

    @property
    def tile_source(self) -> TileSource | None:
        return TileSource(self.tiles, self.tile_attribution) if self.tiles else None

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["bbox"] = list(self.bbox) if self.bbox else None
        out["modes"] = list(self.modes)
        return out


def _fail(path: Path, i: int, message: str) -> FeedConfigError:
    return FeedConfigError(f"{path}: town[{i}]: {message}")


def _town(path: Path, i: int, entry: dict[str, Any]) -> Town:
    unknown = sorted(set(entry) - TOWN_KEYS)
    if unknown:
        raise _fail(path, i, f"unknown key {unknown[0]!r} (expected one of "
                             f"{', '.join(sorted(TOWN_KEYS))})")
    tid, name = entry.get("id"), entry.get("name")
    if not isinstance(tid, str) or not _ID.match(tid):
        raise _fail(path, i, f"id must be lower-case letters, digits and '-', got {tid!r}")
    if not isinstance(name, str) or not name.strip():
        raise _fail(path, i, "name is required")
    bbox = entry.get("bbox")
    if bbox is not None:
        ok = (isinstance(bbox, list) and len(bbox) == 4
              and all(isinstance(v, int | float) for v in bbox)
              and bbox[0] < bbox[2] and bbox[1] < bbox[3])
        if not ok:
            raise _fail(path, i, "bbox must be [min_lon, min_lat, max_lon, max_lat]")
    color = entry.get("color", "")
    if color and not (isinstance(color, str) and _COLOR.match(color)):
        raise _fail(path, i, f"color must be #rrggbb, got {color!r}")
    lang = entry.get("lang", "de")
    if lang not in LANGS:
        raise _fail(path, i, f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    modes = entry.get("modes", ["transit"])
    if not isinstance(modes, list) or not modes or any(m not in MODES for m in modes):
        raise _fail(path, i, f"modes must be a list of {', '.join(MODES)}, got {modes!r}")
    for key in ("home", "logo", "heading", "tiles", "tile_attribution"):
        if not isinstance(entry.get(key, ""), str):
            raise _fail(path, i, f"{key} must be text")
    try:
        tile_source(entry.get("tiles", ""), entry.get("tile_attribution", ""), "")
    except ValueError as exc:
        raise _fail(path, i, str(exc).removeprefix(": ")) from None
    return Town(id=tid, name=name.strip(), home=entry.get("home", ""),
                bbox=tuple(float(v) for v in bbox) if bbox else None,  # type: ignore[arg-type]
                color=color.lower(), logo=entry.get("logo", ""), lang=lang,
                modes=tuple(dict.fromkeys(modes)), heading=entry.get("heading", ""),
                tiles=entry.get("tiles", ""),
                tile_attribution=entry.get("tile_attribution", "").strip())


def load_towns(path: str) -> dict[str, Town]:
    """The ``[[town]]`` entries of ``path`` by id; none for "" / "none" or a missing file."""
    if not path or path.lower() == "none" or not Path(path).is_file():
        return {}
    p = Path(path)
    entries = read_toml(p).get("town", [])
    if not isinstance(entries, list):
        raise FeedConfigError(f"{p}: town must be an array of tables ([[town]])")
    towns: dict[str, Town] = {}
    for i, entry in enumerate(entries, 1):
        town = _town(p, i, entry)
        if town.id in towns:
            raise _fail(p, i, f"duplicate id {town.id!r}")
        towns[town.id] = town
    return towns


def register_towns(app: FastAPI, towns: dict[str, Town]) -> None:
    @app.get("/api/v1/towns", tags=["widget"], summary="Municipalities configured for the "
                                                       "widget (data-town)")
    async def all_towns() -> list[dict[str, Any]]:
        return [t.as_json() for t in towns.values()]

    @app.get("/api/v1/towns/{town}", tags=["widget"], summary="One municipality's widget "
                                                              "settings")
    async def one_town(town: str) -> dict[str, Any]:
        found = towns.get(town)
        if found is None:
            raise ApiError(404, f"town: unknown town {town!r}; configured: "
                                f"{', '.join(towns) or 'none'}", "town", code="unknown_town")
        return found.as_json()
