"""shapes.txt, read once per feed set, and cutting a trip's shape between two of its stops."""

from __future__ import annotations

import io
import logging
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from feeds.gtfs import decode, feed_name

log = logging.getLogger(__name__)


def _read_shapes_text(path: Path) -> str | None:
    if path.is_dir():
        f = path / "shapes.txt"
        return decode(f.read_bytes()) if f.exists() else None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if Path(info.filename).name == "shapes.txt":
                    return decode(zf.read(info))
    return None


def load_shapes(paths: list[Path]) -> dict[str, np.ndarray]:
    """Feed-scoped shape id (``feed:shape_id``, as ``feeds.gtfs.load_feeds`` scopes it) to an
    (n, 2) array of (lat, lon) in sequence order."""
    out: dict[str, np.ndarray] = {}
    seen: set[str] = set()
    for i, path in enumerate(paths):
        name = feed_name(path)
        if name in seen:
            name = f"{name}{i}"
        seen.add(name)
        text = _read_shapes_text(path)
        if not text or not text.strip():
            continue
        try:
            df = pd.read_csv(io.StringIO(text), dtype={"shape_id": str},
                             skipinitialspace=True)
            df.columns = [c.strip() for c in df.columns]
            df = df.dropna(subset=["shape_pt_lat", "shape_pt_lon"])
            df = df.sort_values(["shape_id", "shape_pt_sequence"], kind="stable")
        except (ValueError, KeyError) as exc:
            log.warning("%s: shapes.txt unusable (%s); legs drawn stop to stop", path, exc)
            continue
        coords = df[["shape_pt_lat", "shape_pt_lon"]].to_numpy(dtype=float)
        ids = df["shape_id"].to_numpy()
        bounds = np.flatnonzero(ids[1:] != ids[:-1]) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [len(ids)]))
        for a, b in zip(starts, ends, strict=True):
            if b > a:
                out[f"{name}:{ids[a]}"] = coords[a:b]
    return out


class ShapeStore:
    """Lazily loaded shapes of one feed set (loaded on the first leg that needs them)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._shapes: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()

    @property
    def shapes(self) -> dict[str, np.ndarray]:
        if self._shapes is None:
            with self._lock:
                if self._shapes is None:
                    self._shapes = load_shapes(self.paths)
        return self._shapes

    def match(self, shape_id: str, stops: list[tuple[float, float]]) -> np.ndarray | None:
        """Index of the shape point nearest each stop, matched in order along the shape
        (so loops and out-and-back lines match the right pass); None without a shape.
        Done once per stop pattern, any leg on it is then a slice of the shape."""
        shape = self.shapes.get(shape_id) if shape_id else None
        if shape is None or len(shape) < 2 or len(stops) < 2:
            return None
        scale = np.array([1.0, np.cos(np.radians(np.mean(shape[:, 0])))])
        pts = shape * scale
        want = np.asarray(stops, dtype=float) * scale
        out = np.empty(len(stops), dtype=np.int64)
        start = 0
        for i, p in enumerate(want):
            d = np.sum((pts[start:] - p) ** 2, axis=1)
            start = out[i] = start + int(np.argmin(d))
        return out

    def cut(self, shape_id: str, stops: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """The shape from the first to the last of ``stops`` (lat, lon), or the stops
        themselves when there is no shape. Stops are matched in order along the shape so
        loops and out-and-back lines cut the right piece."""
        shape = self.shapes.get(shape_id) if shape_id else None
        if shape is None or len(shape) < 2 or len(stops) < 2:
            return list(stops)
        lat0 = np.radians(np.mean(shape[:, 0]))
        scale = np.array([1.0, np.cos(lat0)])
        pts = shape * scale
        start = 0
        cuts: list[int] = []
        for lat, lon in stops:
            d = np.sum((pts[start:] - np.array([lat, lon]) * scale) ** 2, axis=1)
            k = start + int(np.argmin(d))
            cuts.append(k)
            start = k
        a, b = cuts[0], cuts[-1]
        piece = [(float(lat), float(lon)) for lat, lon in shape[a:b + 1]]
        return [stops[0], *piece, stops[-1]]  # exact stop positions at both ends
