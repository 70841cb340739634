"""Walking, cycling, scooter and driving times between points.

Two models behind one interface (:class:`Streets`):

* Straight line (always available): haversine distance x detour factor / mode speed. Good
  enough to rank candidate stations and vehicles, and the fallback for points off the graph.
* Street graph from an OSM extract: one directed graph per mode as a ``scipy.sparse`` CSR
  matrix weighted by travel seconds, so one ``csgraph.dijkstra`` call with ``limit`` gives a
  whole one-to-many table in C. Points snap to the nearest graph node (``cKDTree`` on
  locally projected metres) and walk the straight-line gap at walking speed.

OSM is read with pyosmium (``osmium`` on PyPI): it installs here as a manylinux wheel (4.3),
streams a ``.osm.pbf`` with node locations in a single pass, and pulls in nothing else.
pyrosm would add geopandas/shapely and build dataframes we throw away.

Modes: ``walk`` (footways, paths, residential..., no motorways/trunks, oneway ignored),
``bike`` (no motorways/trunks/steps, oneway respected unless ``oneway:bicycle=no``),
``scooter`` (e-scooters follow cycling rules in Germany: the bike graph at scooter speed),
``car`` (roads open to cars, oneway respected; speed from ``maxspeed`` or the road class,
plus a parking penalty at the destination).

Points snap only to strongly connected components of a useful size. Pairs that snap to
different weakly connected components (no street links them in the extract, e.g. the
Frankfurt and Darmstadt halves of a clipped test extract) use the straight-line model, as
do points farther than ``max_snap_m`` from the graph.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from planner.multimodal.geometry import haversine_m_array, project_m

log = logging.getLogger(__name__)

MODES = ("walk", "bike", "scooter", "car")
#: Which street mode a GBFS form factor travels as (mopeds: the car graph, no motorway ban).
FORM_FACTOR_MODE = {
    "bicycle": "bike", "cargo_bicycle": "bike", "scooter": "scooter",
    "scooter_standing": "scooter", "scooter_seated": "scooter", "moped": "car", "car": "car",
    "other": "bike",
}

Point = tuple[float, float]  # (lat, lon)

WALK_HIGHWAYS = frozenset({
    "footway", "path", "pedestrian", "steps", "living_street", "residential", "service",
    "unclassified", "tertiary", "tertiary_link", "secondary", "secondary_link", "primary",
    "primary_link", "track", "cycleway", "corridor", "platform", "elevator", "road",
    "bridleway",
})
BIKE_HIGHWAYS = frozenset({
    "cycleway", "path", "living_street", "residential", "service", "unclassified", "tertiary",
    "tertiary_link", "secondary", "secondary_link", "primary", "primary_link", "track", "road",
})
#: Ways a bike may use only when tagged ``bicycle=yes|designated|permissive``.
BIKE_IF_ALLOWED = frozenset({"footway", "pedestrian", "bridleway", "corridor"})
#: Average car speeds (km/h) per road class: urban driving with junctions, not the limit.
CAR_SPEEDS = {
    "motorway": 100.0, "motorway_link": 60.0, "trunk": 80.0, "trunk_link": 50.0,
    "primary": 45.0, "primary_link": 35.0, "secondary": 40.0, "secondary_link": 30.0,
    "tertiary": 35.0, "tertiary_link": 30.0, "unclassified": 30.0, "residential": 25.0,
    "living_street": 7.0, "service": 15.0, "road": 25.0,
}
ALLOWED = frozenset({"yes", "designated", "permissive", "destination", "customers"})
DENIED = frozenset({"no", "private", "agricultural", "forestry", "delivery", "use_sidepath"})


# --- straight-line model ---------------------------------------------------------------------


@dataclass(frozen=True)
class StraightLine:
    """Haversine x detour / speed; the default model and the fallback off the graph."""

    detour: float = 1.3
    speeds_kmh: dict[str, float] = field(default_factory=lambda: {
        "walk": 4.5, "bike": 15.0, "scooter": 18.0, "car": 30.0})
    car_parking_s: float = 300.0

    def speed_mps(self, mode: str) -> float:
        try:
            return self.speeds_kmh[mode] / 3.6
        except KeyError:
            raise ValueError(f"unknown street mode {mode!r}; expected one of {MODES}") from None

    def seconds(self, mode: str, meters: np.ndarray | float) -> np.ndarray:
        t = np.asarray(meters, dtype=float) * self.detour / self.speed_mps(mode)
        return t + (self.car_parking_s if mode == "car" else 0.0)


def _as_points(points: Iterable[Point] | np.ndarray) -> np.ndarray:
    arr = np.asarray(list(points) if not isinstance(points, np.ndarray) else points, float)
    return arr.reshape(-1, 2)


# --- street graph -------------------------------------------------------------------------------


@dataclass(eq=False)
class ModeGraph:
    """One mode's directed street graph; node arrays are indexed like the matrix."""

    matrix: csr_matrix  # seconds, row = from node
    node_ids: np.ndarray  # int64 OSM node ids
    lat: np.ndarray
    lon: np.ndarray
    snappable: np.ndarray  # int32 nodes in strongly connected components worth snapping to
    component: np.ndarray  # int32 weakly connected component per node
    lat0: float  # projection origin
    tree: cKDTree = field(init=False)

    def __post_init__(self) -> None:
        self.tree = cKDTree(self.project(self.lat[self.snappable], self.lon[self.snappable]))

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    def project(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Equirectangular metres around ``lat0``: accurate to ~0.1 % over a city."""
        return project_m(lat, lon, self.lat0)

    def snap(self, points: np.ndarray, max_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node index per point (-1 beyond ``max_m``) and the gap in metres."""
        if len(points) == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        _, idx = self.tree.query(self.project(points[:, 0], points[:, 1]))
        nodes = self.snappable[idx]
        gap = haversine_m_array(points[:, 0], points[:, 1], self.lat[nodes], self.lon[nodes])
        return np.where(gap <= max_m, nodes, -1), gap

    @cached_property
    def reverse(self) -> csr_matrix:
        """The graph with every edge turned round: one search from a destination over it
        gives every node's time *to* that destination."""
        return csr_matrix(self.matrix.T)

    def times(self, sources: np.ndarray, targets: np.ndarray, max_seconds: float,
              chunk: int) -> np.ndarray:
        """Graph seconds from each source node to each target node (``inf`` beyond
        ``max_seconds``). One Dijkstra per distinct node on the smaller side: egress (many
        stops to one point) searches backwards from the point, not forwards from each stop
        (bike egress on Porto Alegre took 3 s a plan)."""
        from scipy.sparse.csgraph import dijkstra  # see build: only with a graph

        ends, col = np.unique(targets, return_inverse=True)
        backward = len(ends) < len(sources)
        graph, starts, reached = (self.reverse, ends, sources) if backward else \
            (self.matrix, sources, targets)
        dist = np.empty((len(starts), len(reached)))
        for k in range(0, len(starts), chunk):  # bounds the k x N scratch
            dist[k:k + chunk] = dijkstra(graph, directed=True, indices=starts[k:k + chunk],
                                         limit=max_seconds)[:, reached]
        # rounded: sums in the other direction differ in the last bits (1e-12 s), and a
        # time must not depend on which side was searched
        return np.round(dist[col].T if backward else dist, 6)

    def scaled(self, factor: float) -> ModeGraph:
        """Same streets, times x ``factor`` (the bike graph at scooter speed)."""
        return ModeGraph(self.matrix * factor, self.node_ids, self.lat, self.lon,
                         self.snappable, self.component, self.lat0)


def _access(tags: dict[str, str], keys: Sequence[str]) -> bool | None:
    """Most specific access tag wins (e.g. bicycle before vehicle before access)."""
    for key in keys:
        value = tags.get(key)
        if value in ALLOWED:
            return True
        if value in DENIED:
            return False
    return None


def _direction(tags: dict[str, str], mode: str) -> int:
    """1 forward only, -1 backward only, 0 both ways, 2 not routable."""
    if mode == "walk":
        return 0
    oneway = tags.get("oneway", "")
    if mode == "bike" and (tags.get("oneway:bicycle") == "no"
                           or tags.get("cycleway", "").startswith("opposite")):
        return 0
    if oneway in ("yes", "true", "1"):
        return 1
    if oneway in ("-1", "reverse"):
        return -1
    if oneway in ("reversible", "alternating"):
        return 2
    if oneway == "" and (tags.get("junction") in ("roundabout", "circular")
                         or (mode == "car" and tags.get("highway") in
                             ("motorway", "motorway_link"))):
        return 1
    return 0


def _maxspeed_kmh(value: str | None) -> float | None:
    m = re.match(r"\s*(\d+(?:\.\d+)?)\s*(mph)?", value or "")
    if not m:
        return None
    return float(m.group(1)) * (1.609344 if m.group(2) else 1.0)


def way_speed_kmh(tags: dict[str, str], mode: str, model: StraightLine) -> float | None:
    """Travel speed on a way for ``mode``, or None if the mode may not use it."""
    hw = tags.get("highway", "")
    if tags.get("area") == "yes" and hw != "pedestrian":
        return None
    if mode == "walk":
        if hw not in WALK_HIGHWAYS or _access(tags, ("foot", "access")) is False:
            return None
        return model.speeds_kmh["walk"] * (0.5 if hw == "steps" else 1.0)
    if mode == "bike":
        allowed = _access(tags, ("bicycle", "vehicle", "access"))
        if allowed is False or (hw not in BIKE_HIGHWAYS and not
                                (hw in BIKE_IF_ALLOWED and allowed)):
            return None
        return model.speeds_kmh["bike"]
    if mode == "car":
        keys = ("motorcar", "motor_vehicle", "vehicle", "access")
        if hw not in CAR_SPEEDS or _access(tags, keys) is False:
            return None
        limit = _maxspeed_kmh(tags.get("maxspeed"))
        return min(CAR_SPEEDS[hw], limit) if limit else CAR_SPEEDS[hw]
    raise ValueError(f"no graph for mode {mode!r}")


def _read_osm(path: Path) -> tuple[list[tuple[dict[str, str], list[int]]], dict[int, Point]]:
    import osmium  # imported here: the straight-line model needs no OSM stack

    ways: list[tuple[dict[str, str], list[int]]] = []
    coords: dict[int, Point] = {}
    reader = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for obj in reader:
        if not isinstance(obj, osmium.osm.Way) or "highway" not in obj.tags:
            continue
        refs = []
        for n in obj.nodes:
            if n.location.valid():
                coords[n.ref] = (n.location.lat, n.location.lon)
                refs.append(n.ref)
        if len(refs) >= 2:
            ways.append(({t.k: t.v for t in obj.tags}, refs))
    return ways, coords


def build_graph(ways: list[tuple[dict[str, str], list[int]]], coords: dict[int, Point],
                mode: str, model: StraightLine, min_component: int = 20) -> ModeGraph | None:
    """Directed CSR graph of one mode; parallel edges keep the fastest.

    Points snap only to strongly connected components of at least ``min_component`` nodes:
    islands (a lone footway, a parking aisle, a oneway trap at the extract's edge) would
    strand them.
    """
    src: list[int] = []
    dst: list[int] = []
    speed: list[float] = []
    for tags, refs in ways:
        kmh = way_speed_kmh(tags, mode, model)
        if not kmh:
            continue
        direction = _direction(tags, mode)
        if direction == 2:
            continue
        a, b = refs[:-1], refs[1:]
        if direction >= 0:
            src += a
            dst += b
            speed += [kmh / 3.6] * len(a)
        if direction <= 0:
            src += b
            dst += a
            speed += [kmh / 3.6] * len(a)
    if not src:
        return None
    node_ids, inverse = np.unique(np.array(src + dst, dtype=np.int64), return_inverse=True)
    lat = np.array([coords[int(n)][0] for n in node_ids])
    lon = np.array([coords[int(n)][1] for n in node_ids])
    i, j = inverse[: len(src)], inverse[len(src):]
    meters = haversine_m_array(lat[i], lon[i], lat[j], lon[j])
    seconds = np.maximum(meters / np.array(speed), 0.01)
    order = np.lexsort((seconds, j, i))  # fastest first within each (i, j)
    i, j, seconds = i[order], j[order], seconds[order]
    first = np.ones(len(i), bool)
    first[1:] = (i[1:] != i[:-1]) | (j[1:] != j[:-1])
    keep = first & (i != j)
    n = len(node_ids)
    # csgraph (with scipy.sparse.linalg, ~13 MB) where a graph is built or searched: the
    # straight-line model, a matrix worker without OSM or a server without it, needs none.
    from scipy.sparse.csgraph import connected_components

    matrix = csr_matrix((seconds[keep], (i[keep], j[keep])), shape=(n, n))
    _, strong = connected_components(matrix, directed=True, connection="strong")
    _, weak = connected_components(matrix, directed=True, connection="weak")
    sizes = np.bincount(strong)
    big = sizes >= min(min_component, sizes.max())  # a tiny extract keeps its biggest one
    snappable = np.flatnonzero(big[strong]).astype(np.int32)
    return ModeGraph(matrix, node_ids, lat, lon, snappable, weak.astype(np.int32),
                     float(np.mean(lat)))


# --- the interface -------------------------------------------------------------------------


@dataclass(frozen=True)
class StreetPath:
    """A pair's way on the graph: the query points, the snapped nodes and the nodes between."""

    mode: str
    seconds: float  # as many_to_many gives it (gaps walked, car parking included)
    points: list[Point]
    meters: float  # along the points


class Streets:
    """Travel times on streets; graph where there is one, straight line elsewhere."""

    def __init__(self, graphs: dict[str, ModeGraph] | None = None,
                 model: StraightLine | None = None, max_snap_m: float = 400.0,
                 chunk: int = 256) -> None:
        self.graphs = graphs or {}
        self.model = model or StraightLine()
        self.max_snap_m = max_snap_m
        self.chunk = chunk

    @classmethod
    def from_osm(cls, path: str | Path | Sequence[str | Path], modes: Iterable[str] = MODES,
                 model: StraightLine | None = None, max_snap_m: float = 400.0) -> Streets:
        """Graphs of one extract or several (merged: a way in two overlapping extracts
        gives parallel edges, of which the graph keeps one)."""
        model = model or StraightLine()
        paths = [path] if isinstance(path, str | Path) else list(path)
        ways: list[tuple[dict[str, str], list[int]]] = []
        coords: dict[int, Point] = {}
        for one in paths:
            w, c = _read_osm(Path(one))
            ways += w
            coords.update(c)
        graphs: dict[str, ModeGraph] = {}
        for mode in modes:
            base = "bike" if mode == "scooter" else mode
            if base not in graphs:
                g = build_graph(ways, coords, base, model)
                if g is None:
                    log.warning("%s: no ways usable by %s", path, base)
                    continue
                graphs[base] = g
            if mode == "scooter":
                factor = model.speeds_kmh["bike"] / model.speeds_kmh["scooter"]
                graphs["scooter"] = graphs["bike"].scaled(factor)
        for mode, g in graphs.items():
            log.info("%s graph: %d nodes, %d edges, %d snappable", mode, g.n_nodes,
                     g.matrix.nnz, len(g.snappable))
        return cls(graphs, model, max_snap_m)

    def straight_line(self, mode: str, origins: np.ndarray, destinations: np.ndarray
                      ) -> np.ndarray:
        meters = haversine_m_array(origins[:, None, 0], origins[:, None, 1],
                                   destinations[None, :, 0], destinations[None, :, 1])
        return self.model.seconds(mode, meters)

    def many_to_many(self, mode: str, origins: Iterable[Point] | np.ndarray,
                     destinations: Iterable[Point] | np.ndarray,
                     max_seconds: float = math.inf) -> np.ndarray:
        """Seconds from each origin to each destination (``inf`` beyond ``max_seconds``).

        On the graph: walk to the snapped node, graph time, walk from the snapped node (and
        parking for cars). Ends off the graph, or in different weakly connected components,
        use the straight-line model.
        """
        o, d = _as_points(origins), _as_points(destinations)
        result = self.straight_line(mode, o, d)
        graph = self.graphs.get(mode)
        if graph is not None and len(o) and len(d):
            o_node, o_gap = graph.snap(o, self.max_snap_m)
            d_node, d_gap = graph.snap(d, self.max_snap_m)
            on_o, on_d = np.flatnonzero(o_node >= 0), np.flatnonzero(d_node >= 0)
            if len(on_o) and len(on_d):
                walk = self.model.speed_mps("walk")
                sources, row = np.unique(o_node[on_o], return_inverse=True)
                targets = d_node[on_d]
                dist = graph.times(sources, targets, max_seconds, self.chunk)
                times = dist[row] + (o_gap[on_o] / walk)[:, None] + (d_gap[on_d] / walk)[None]
                if mode == "car":
                    times += self.model.car_parking_s
                linked = graph.component[o_node[on_o]][:, None] == \
                    graph.component[targets][None, :]
                block = result[np.ix_(on_o, on_d)]
                result[np.ix_(on_o, on_d)] = np.where(linked, times, block)
        result[result > max_seconds] = np.inf
        return result

    def travel_time(self, mode: str, origin: Point, destination: Point) -> float:
        return float(self.many_to_many(mode, [origin], [destination])[0, 0])

    def route(self, mode: str, origin: Point, destination: Point,
              max_seconds: float = math.inf) -> StreetPath | None:
        """The street path behind :meth:`many_to_many`'s time for one pair, or None where
        that time is the straight-line model's (no graph, off the graph, unlinked parts)
        or beyond ``max_seconds``. Same snapping and time, so a leg timed by
        ``many_to_many`` can be drawn with this path."""
        graph = self.graphs.get(mode)
        if graph is None:
            return None
        ends = np.array([origin, destination], dtype=float)
        nodes, gaps = graph.snap(ends, self.max_snap_m)
        a, b = int(nodes[0]), int(nodes[1])
        if a < 0 or b < 0 or graph.component[a] != graph.component[b]:
            return None
        from scipy.sparse.csgraph import dijkstra  # see build: only with a graph

        # scipy-stubs type ``indices`` as arrays only; a scalar (1-D results) is documented.
        dist, pred = dijkstra(  # type: ignore[call-overload]
            graph.matrix, directed=True, indices=a, limit=max_seconds, return_predecessors=True)
        if not np.isfinite(dist[b]):
            return None
        chain = [b]
        while chain[-1] != a:
            chain.append(int(pred[chain[-1]]))
        chain.reverse()
        seconds = float(dist[b]) + float(gaps.sum()) / self.model.speed_mps("walk")
        if mode == "car":
            seconds += self.model.car_parking_s
        if seconds > max_seconds:
            return None
        points: list[Point] = []
        for pt in [(origin[0], origin[1])] + [(float(graph.lat[n]), float(graph.lon[n]))
                                              for n in chain] + [(destination[0], destination[1])]:
            if not points or pt != points[-1]:  # a query point on a node: no zero step
                points.append(pt)
        lat = np.array([p[0] for p in points])
        lon = np.array([p[1] for p in points])
        meters = float(haversine_m_array(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum())
        return StreetPath(mode, seconds, points, meters)
