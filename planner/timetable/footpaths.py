"""Footpaths between stops: transfers.txt plus generated walking links, closed.

The routing core allows one footpath hop between two trips, so the set must be
transitively closed: a shortest-path closure per connected component
(``scipy.sparse.csgraph``) over the union of generated and explicit links.

The closure is bounded by a maximum walking time: chaining 200 m links without a bound
made walks of almost two hours (Porto Alegre: 6,885 s). Every pair whose shortest walk
is within the bound gets one footpath, so one hop is enough for any walk within it;
longer chains are no footpath. Explicit transfers.txt links are kept whatever their time
(the feed says they exist). ``max_walk_s=0`` is the unbounded closure (the benchmark
protocol's footpaths: HART, 200 m, 13,184 directed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from planner.multimodal.geometry import project_m
from planner.timetable.model import NO_TRANSFER


@dataclass
class Footpaths:
    offset: np.ndarray  # int32[S+1]
    to: np.ndarray  # int32
    dur: np.ndarray  # int32
    in_offset: np.ndarray
    in_from: np.ndarray
    in_dur: np.ndarray
    change_time: np.ndarray  # int32[S]
    stats: dict[str, int]


def project(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Equirectangular metres around the data's mean latitude (fine within a region)."""
    return project_m(lat, lon, float(np.nanmean(lat)) if len(lat) else 0.0)


def walking_links(
    lat: np.ndarray, lon: np.ndarray, radius_m: float, speed_kmh: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric stop pairs within ``radius_m`` straight line, seconds rounded up."""
    if radius_m <= 0 or len(lat) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    tree = cKDTree(project(lat, lon))
    pairs = tree.query_pairs(radius_m, output_type="ndarray")
    if len(pairs) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    a, b = pairs[:, 0], pairs[:, 1]
    dist = np.hypot(*(tree.data[a] - tree.data[b]).T)
    secs = np.ceil(dist / (speed_kmh / 3.6) - 1e-9).astype(np.int64)
    return np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([secs, secs])


def _csr(n: int, src: np.ndarray, dst: np.ndarray,
         dur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.lexsort((dst, src))
    src, dst, dur = src[order], dst[order], dur[order]
    offset = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(src, minlength=n), out=offset[1:])
    return offset, dst.astype(np.int32), dur.astype(np.int32)


def _with_stated_links(s: np.ndarray, d: np.ndarray, t: np.ndarray,
                       stated: set[tuple[int, int]], edges: dict[tuple[int, int], int]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bounded closure plus the transfers.txt links longer than the bound."""
    if not stated:
        return s, d, t
    have = set(zip(s.tolist(), d.tolist(), strict=True))
    extra = [(a, b, edges[(a, b)]) for a, b in sorted(stated - have)]
    if not extra:
        return s, d, t
    add = np.array(extra, dtype=np.int64)
    return (np.concatenate([s, add[:, 0]]), np.concatenate([d, add[:, 1]]),
            np.concatenate([t, add[:, 2]]))


def build_footpaths(
    lat: np.ndarray,
    lon: np.ndarray,
    transfers: list[tuple[int, int, int, int]],
    *,
    radius_m: float = 200.0,
    speed_kmh: float = 4.5,
    default_change_time: int = 0,
    max_walk_s: int = 0,
) -> Footpaths:
    """Closed footpaths (walks up to ``max_walk_s``; 0: no bound) and per-stop change times.

    ``transfers`` holds (from, to, transfer_type, min_transfer_time or -1) by stop index.
    Type 3 between two stops removes that footpath (after closure); type 3 on one
    stop forbids changing there; type 2 sets the time.
    """
    n = len(lat)
    change = np.full(n, default_change_time, dtype=np.int32)
    src, dst, dur = walking_links(lat, lon, radius_m, speed_kmh)
    generated = len(src)
    edges: dict[tuple[int, int], int] = {}
    for a, b, d in zip(src.tolist(), dst.tolist(), dur.tolist(), strict=True):
        edges[(a, b)] = d
    forbidden: set[tuple[int, int]] = set()
    explicit: set[tuple[int, int]] = set()  # links transfers.txt states
    gen_lookup = dict(edges)
    for a, b, ttype, mtt in transfers:
        if a == b:
            if ttype == 3:
                change[a] = NO_TRANSFER
            elif mtt >= 0:
                change[a] = mtt
            continue
        if ttype == 3:
            forbidden.add((a, b))
            edges.pop((a, b), None)
            continue
        explicit.add((a, b))
        if mtt >= 0:
            edges[(a, b)] = mtt
        elif (a, b) not in gen_lookup:
            # A transfer without a time between stops: walk the straight line.
            xy = project(lat[[a, b]], lon[[a, b]])
            metres = float(np.hypot(*(xy[0] - xy[1])))
            edges[(a, b)] = int(math.ceil(metres / (speed_kmh / 3.6) - 1e-9))

    stats = {"generated_links": generated, "transfer_rows": len(transfers)}
    if edges:
        keys = np.array(list(edges.keys()), dtype=np.int64)
        vals = np.array(list(edges.values()), dtype=np.float64)
        # Zero-length links would vanish from a sparse matrix; keep them with epsilon.
        graph = coo_matrix((np.maximum(vals, 1e-3), (keys[:, 0], keys[:, 1])),
                           shape=(n, n)).tocsr()
        ncomp, labels = connected_components(graph, directed=True, connection="weak")
        out_src: list[np.ndarray] = []
        out_dst: list[np.ndarray] = []
        out_dur: list[np.ndarray] = []
        sizes = np.bincount(labels, minlength=ncomp)
        order = np.argsort(labels, kind="stable")
        starts = np.concatenate([[0], np.cumsum(sizes)])
        for c in np.nonzero(sizes > 1)[0]:
            members = order[starts[c] : starts[c + 1]]
            sub = graph[members][:, members]
            dist = dijkstra(sub, directed=True, limit=max_walk_s + 1e-3 if max_walk_s > 0
                            else np.inf)
            i, j = np.nonzero(np.isfinite(dist))
            keep = i != j
            i, j = i[keep], j[keep]
            out_src.append(members[i])
            out_dst.append(members[j])
            out_dur.append(np.floor(dist[i, j] + 1e-6).astype(np.int64))
        s = np.concatenate(out_src) if out_src else np.zeros(0, dtype=np.int64)
        d = np.concatenate(out_dst) if out_dst else np.zeros(0, dtype=np.int64)
        t = np.concatenate(out_dur) if out_dur else np.zeros(0, dtype=np.int64)
        s, d, t = _with_stated_links(s, d, t, explicit, edges)
        if forbidden:
            bad = np.array([(a, b) in forbidden for a, b in zip(s.tolist(), d.tolist(),
                                                                 strict=True)], dtype=bool)
            s, d, t = s[~bad], d[~bad], t[~bad]
        stats["largest_component"] = int(sizes.max())
    else:
        s = d = t = np.zeros(0, dtype=np.int64)
        stats["largest_component"] = 1 if n else 0
    offset, to, dur_out = _csr(n, s, d, t)
    in_offset, in_from, in_dur = _csr(n, d, s, t)
    stats["footpaths"] = len(to)
    return Footpaths(offset, to, dur_out, in_offset, in_from, in_dur, change, stats)
