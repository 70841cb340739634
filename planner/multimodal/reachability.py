"""Reachability from (or to) a place: its walks to the nearby stops, then
:func:`planner.analysis.reach.reach` over the timetable (forward: the travel-time studies'
search over one minute).

The place side is the one multimodal search's (:func:`~planner.multimodal.search.walking_access`):
a stop is its station group at no cost, a coordinate the stops within ``max_walk``
seconds on foot. The walk is bounded by the travel-time bound too, as MOTIS bounds its
pre-transit time by ``maxTravelTime``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.analysis.reach import reach
from planner.multimodal.search import Location, Network, walking_access
from planner.routing.query import DEFAULT_MAX_TRANSFERS
from planner.routing.reachability import Reach


@dataclass(frozen=True)
class ReachRequest:
    """Everything but the place; times on the timetable axis, durations in seconds."""

    time: int
    max_travel: int
    arrive_by: bool = False
    max_transfers: int = DEFAULT_MAX_TRANSFERS
    transfer_slack: int = 0
    route_mask: np.ndarray | None = None  # None: every route; all zeros: walking only
    walk_speed: float = 1.25  # m/s
    max_walk: int = 900  # seconds between a coordinate and its stops


def reach_place(network: Network, place: Location, req: ReachRequest) -> Reach:
    """The stops reachable from ``place`` (arrive-by: reaching it) within the bound."""
    walk = walking_access(network, place, min(req.max_walk, req.max_travel), req.walk_speed,
                          ("WALK",))
    rows = np.array([(a.stop, a.seconds) for a in walk], dtype=np.int32).reshape(-1, 2)
    return reach(network.router, rows, req.time, req.max_travel, arrive_by=req.arrive_by,
                 max_transfers=req.max_transfers, transfer_slack=req.transfer_slack,
                 route_mask=req.route_mask)
