"""A deliberately simple earliest-arrival oracle for testing the Cython cores.

Dijkstra (networkx) over a time-expanded graph built straight from the transfer
model in ``planner.timetable.model``; it is slow and obviously correct rather than fast.

Nodes (``L`` is the layer: the number of trips taken, or always 0 when unbounded):

* ``("D", trip, pos, L)`` / ``("A", trip, pos, L)``: departure / arrival events;
* ``("W", stop, time, L)``: waiting at ``stop``, ready to board at ``time``; one node
  per distinct boardable departure time, chained by waiting edges;
* ``("X", stop, L)``: "has arrived at ``stop``" (what targets read; a dead end).

Edges (weight = seconds that pass): ride ``D(p) -> A(p+1)``; stay seated
``A(p) -> D(p)``; board ``W(s, dep) -> D`` where pickup is allowed (next layer);
after alighting at ``s`` at ``a`` where drop-off is allowed: ``A -> X(s)``,
``A -> X(u)`` per footpath ``(s, u, d)`` (weight ``d``), ``A -> W(s, first >= a +
change + slack)`` unless the stop forbids transfers, and ``A -> W(u, first >= a + d +
slack)``. Per query a source node links to the sources (and their footpaths) and
the targets' ``X`` nodes link to a sink with the egress as weight.

Scoped transfer rules (``planner.timetable.transfer_rules``): alighting at a position
with an alight key ``x`` keeps its ``X`` edges but changes only through ``x``'s entries
``(y, seconds)``, to ``("Y", y, time, L)``: a waiting chain over the departures of the
positions with board key ``y`` only (first ``>= a + seconds + slack``), which board just
those trips. Those trips can also be boarded from the stop's own waiting chain.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

import networkx as nx

from planner.timetable.model import NO_TRANSFER, Timetable

SOURCE = ("source",)
SINK = ("sink",)


class ReferenceRouter:
    """Earliest arrival by Dijkstra on a time-expanded graph of ``tt``.

    ``max_trips=None`` allows any number of trips; an integer builds ``max_trips + 1``
    layers so :meth:`earliest_arrival` can also answer "with at most ``k`` trips".
    """

    def __init__(self, tt: Timetable, *, transfer_slack: int = 0,
                 max_trips: int | None = None) -> None:
        self.tt = tt
        self.slack = transfer_slack
        self.max_trips = max_trips
        self.layers = 1 if max_trips is None else max_trips + 1
        self.graph: nx.DiGraph[tuple] = nx.DiGraph()
        self._a: dict[str, list[int]] = {}
        self._build()

    def _next_layer(self, layer: int) -> int | None:
        if self.max_trips is None:
            return 0
        return layer + 1 if layer + 1 < self.layers else None

    def _wait_node(self, stop: int, time: int, layer: int) -> tuple | None:
        """The first waiting node at ``stop`` with time >= ``time`` (None if none)."""
        times = self.wait_times[stop]
        i = bisect_left(times, time)
        return ("W", stop, times[i], layer) if i < len(times) else None

    def _build(self) -> None:
        tt = self.tt
        self._a = {name: getattr(tt, name).tolist() for name in (
            "route_stops", "route_stop_offset", "route_pickup", "route_dropoff", "trip_route",
            "trip_st_offset", "st_arr", "st_dep", "stop_change_time", "fp_offset", "fp_to",
            "fp_dur", "route_alight_rule", "route_board_rule", "rule_offset", "rule_board",
            "rule_time")}
        fp_off, fp_to, fp_dur = self._a["fp_offset"], self._a["fp_to"], self._a["fp_dur"]
        self.footpaths = [
            list(zip(fp_to[fp_off[s]:fp_off[s + 1]], fp_dur[fp_off[s]:fp_off[s + 1]],
                     strict=True))
            for s in range(tt.n_stops)
        ]
        self.wait_times = self._boarding_times()
        self.key_times = self._boarding_times(by_key=True)
        for layer in range(self.layers):
            for kind, chains in (("W", self.wait_times), ("Y", self.key_times)):
                for s, times in enumerate(chains):
                    for a, b in zip(times, times[1:], strict=False):
                        self.graph.add_edge((kind, s, a, layer), (kind, s, b, layer),
                                            weight=b - a)
            for t in range(tt.n_trips):
                self._trip_edges(t, layer)

    def _boarding_times(self, by_key: bool = False) -> list[list[int]]:
        """Per stop (per board key if ``by_key``), the sorted departures one may board
        there (the waiting chain)."""
        a = self._a
        keys = a["route_board_rule"]
        if by_key and not keys:
            return []
        n = len(self.tt.rule_board_stop) if by_key else self.tt.n_stops
        boardable: list[set[int]] = [set() for _ in range(n)]
        for t in range(self.tt.n_trips):
            r = a["trip_route"][t]
            base, n = a["route_stop_offset"][r], a["route_stop_offset"][r + 1] - a[
                "route_stop_offset"][r]
            for p in range(n - 1):
                if not a["route_pickup"][base + p]:
                    continue
                at = keys[base + p] if by_key else a["route_stops"][base + p]
                if at >= 0:
                    boardable[at].add(a["st_dep"][a["trip_st_offset"][t] + p])
        return [sorted(x) for x in boardable]

    def _trip_edges(self, t: int, layer: int) -> None:
        """Ride, board and alight edges of trip ``t`` in ``layer``."""
        a, g = self._a, self.graph
        r = a["trip_route"][t]
        rso = a["route_stop_offset"]
        base, n = rso[r], rso[r + 1] - rso[r]
        o = a["trip_st_offset"][t]
        st_arr, st_dep = a["st_arr"], a["st_dep"]
        board_layer = self._next_layer(layer)
        for p in range(n):
            s = a["route_stops"][base + p]
            arr, dep = st_arr[o + p], st_dep[o + p]
            if p < n - 1:
                g.add_edge(("D", t, p, layer), ("A", t, p + 1, layer),
                           weight=st_arr[o + p + 1] - dep)
                if a["route_pickup"][base + p] and board_layer is not None:
                    g.add_edge(("W", s, dep, layer), ("D", t, p, board_layer), weight=0)
                    y = a["route_board_rule"][base + p] if a["route_board_rule"] else -1
                    if y >= 0:
                        g.add_edge(("Y", y, dep, layer), ("D", t, p, board_layer), weight=0)
            if p == 0:
                continue
            if p < n - 1:
                g.add_edge(("A", t, p, layer), ("D", t, p, layer), weight=dep - arr)
            if a["route_dropoff"][base + p]:
                x = a["route_alight_rule"][base + p] if a["route_alight_rule"] else -1
                self._alight_edges(("A", t, p, layer), s, arr, layer, x)

    def _alight_edges(self, a_node: tuple, s: int, arr: int, layer: int, x: int) -> None:
        """Alighting at ``s``: arrive there, change there, or walk one footpath; with an
        alight key ``x``, change only as its entries allow."""
        g = self.graph
        g.add_edge(a_node, ("X", s, layer), weight=0)
        if x >= 0:
            for u, d in self.footpaths[s]:
                g.add_edge(a_node, ("X", u, layer), weight=d)
            a = self._a
            for k in range(a["rule_offset"][x], a["rule_offset"][x + 1]):
                y = a["rule_board"][k]
                times = self.key_times[y]
                i = bisect_left(times, arr + a["rule_time"][k] + self.slack)
                if i < len(times):
                    g.add_edge(a_node, ("Y", y, times[i], layer), weight=times[i] - arr)
            return
        change = self._a["stop_change_time"][s]
        if change < NO_TRANSFER:
            w = self._wait_node(s, arr + change + self.slack, layer)
            if w is not None:
                g.add_edge(a_node, w, weight=w[2] - arr)
        for u, d in self.footpaths[s]:
            g.add_edge(a_node, ("X", u, layer), weight=d)
            w = self._wait_node(u, arr + d + self.slack, layer)
            if w is not None:
                g.add_edge(a_node, w, weight=w[2] - arr)

    def earliest_arrival(self, sources: Sequence[tuple[int, int]],
                         targets: Sequence[tuple[int, int]], departure: int,
                         max_trips: int | None = None) -> int | None:
        """Earliest arrival at the destination (None if unreachable).

        ``max_trips`` (at most the one given to the constructor) limits the trips.
        """
        if max_trips is None:
            top = self.layers - 1
        else:
            if self.max_trips is None or max_trips > self.max_trips:
                raise ValueError("build the reference with max_trips >= the bound asked")
            top = max_trips
        g = self.graph
        g.add_node(SOURCE)
        g.add_node(SINK)
        try:
            for s, off in sources:
                start = departure + int(off)
                hops = [(int(s), 0)] + self.footpaths[int(s)]
                for u, d in hops:
                    self._link(SOURCE, ("X", u, 0), start + d - departure)
                    w = self._wait_node(u, start + d, 0)
                    if w is not None:
                        self._link(SOURCE, w, w[2] - departure)
            for s, egress in targets:
                for layer in range(top + 1):
                    self._link(("X", int(s), layer), SINK, int(egress))
            try:
                dist = nx.dijkstra_path_length(g, SOURCE, SINK)
            except nx.NetworkXNoPath:
                return None
            return departure + int(dist)
        finally:
            g.remove_node(SOURCE)
            g.remove_node(SINK)

    def _link(self, a: tuple, b: tuple, weight: int) -> None:
        """Add or shorten a query edge (several sources may reach the same node)."""
        old = self.graph.get_edge_data(a, b)
        if old is None or weight < old["weight"]:
            self.graph.add_edge(a, b, weight=weight)
