"""The address and place index of the OSM extracts (``osm``: ``OWL_OSM`` / ``serve --osm``).

Loaded once by a background thread at start-up (from the places cache next to the
timetables when the extracts' content hash has an entry, else built, seconds for a city);
until then, and for good when an extract cannot be read, ``geocode`` answers with stops
only and health says why (``places.status`` ``loading`` / ``failed`` with the error, or
``empty`` for an extract without addresses or places).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from api.settings import Settings, osm_extracts
from planner.places.osm_index import PlaceIndex, PlacesError, load_or_build
from planner.places.search import PlaceSearch

log = logging.getLogger(__name__)


class PlacesLoader:
    """The :class:`PlaceSearch` once loaded, and the state of its loading."""

    def __init__(self, settings: Settings) -> None:
        self.paths = osm_extracts(settings)
        self.cache_dir = Path(settings.cache_dir) / "places"
        self.status = "loading" if self.paths else "none"
        self.error = ""
        self.seconds: float | None = None
        self.search: PlaceSearch | None = None
        self.ready = threading.Event()
        self._thread: threading.Thread | None = None
        if not self.paths:
            self.ready.set()

    def start(self) -> None:
        if self.paths and self._thread is None and not self.ready.is_set():
            self._thread = threading.Thread(target=self.load, name="owl-places", daemon=True)
            self._thread.start()

    def load(self) -> None:
        started = time.monotonic()
        try:
            index: PlaceIndex = load_or_build(self.paths, self.cache_dir)
        except (PlacesError, OSError) as exc:
            log.error("OSM %s: addresses and places not loaded: %s", ", ".join(self.paths), exc)
            self.error = self._named(str(exc))
            self.status = "failed"
        except Exception as exc:  # a broken extract must not take the server down
            log.exception("OSM %s: addresses and places not loaded", ", ".join(self.paths))
            self.error = f"{type(exc).__name__}: {exc}"
            self.status = "failed"
        else:
            self.search = PlaceSearch(index)
            self.status = "ready" if index.n_records else "empty"
            if not index.n_records:
                self.error = "the extracts hold no named streets, addresses or places"
                log.warning("OSM %s: %s", ", ".join(self.paths), self.error)
            else:
                log.info("places ready in %.1f s: %d records, %d addresses",
                         time.monotonic() - started, index.n_records, index.n_addresses)
        self.seconds = round(time.monotonic() - started, 2)
        self.ready.set()

    def _named(self, message: str) -> str:
        """The message with file names for paths (health is public; paths tell too much)."""
        for p in self.paths:
            message = message.replace(str(p), Path(p).name)
        return message

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.error:
            out["error"] = self.error
        if self.seconds is not None:
            out["seconds"] = self.seconds
        if self.search is not None:
            ix = self.search.index
            out.update(records=ix.n_records, addresses=ix.n_addresses,
                       cache=ix.stats.get("cache", ""))
        return out
