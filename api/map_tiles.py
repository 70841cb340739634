"""Raster tiles under the widget's map: the configured URL templates, checked, and their origins.

Issue 14 point 5: the map is readable without tiles (the widget draws the route on its own
background), and a deployment or a town may add a raster tile layer in Web Mercator
(``https://tile.example/{z}/{x}/{y}.png``). The template is checked when the server starts
(a typo fails loudly, not as a blank map), every tile source needs an attribution (tile
providers' terms ask for one, and the widget shows it on the map), and the pages this
server sends allow images from exactly these origins in their CSP (api/response_headers.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

_PLACEHOLDER = re.compile(r"\{([^}]*)\}")
NEEDED = ("z", "x", "y")


@dataclass(frozen=True)
class TileSource:
    url: str  # template with {z}, {x} and {y}
    attribution: str

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``: what a CSP ``img-src`` names to allow these tiles."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def as_json(self) -> dict[str, str]:
        return {"tiles": self.url, "attribution": self.attribution}


def tile_source(url: str, attribution: str, where: str) -> TileSource | None:
    """The checked source, None when ``url`` is empty; ValueError naming ``where`` if bad."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{where}: tiles must be an http(s) URL template, got {url!r}")
    if "{" in parts.netloc:
        raise ValueError(f"{where}: tiles: the host must be fixed (no {{s}} subdomains: the "
                         f"page's CSP names it), got {url!r}")
    names = _PLACEHOLDER.findall(url)
    unknown = sorted(set(names) - set(NEEDED))
    if unknown:
        raise ValueError(f"{where}: tiles: unknown placeholder {{{unknown[0]}}} (only {{z}}, "
                         f"{{x}}, {{y}}), got {url!r}")
    missing = [n for n in NEEDED if n not in names]
    if missing:
        raise ValueError(f"{where}: tiles must contain {{z}}, {{x}} and {{y}}; "
                         f"{{{missing[0]}}} is missing in {url!r}")
    if not attribution.strip():
        raise ValueError(f"{where}: tiles need a tile attribution (shown on the map)")
    return TileSource(url, attribution.strip())


def image_origins(sources: Iterable[TileSource | None]) -> tuple[str, ...]:
    """The distinct origins of ``sources``, in order, for the pages' ``img-src``."""
    return tuple(dict.fromkeys(s.origin for s in sources if s is not None))
