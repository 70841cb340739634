"""What a travel-time study asks, with r5r's parameter names where they mean the same.

``departure`` (local date and time of the first departure minute), ``time_window``
(minutes: departures ``departure + i`` minutes, ``i = 0 .. time_window - 1``, as R5 runs
them), ``percentiles`` (of travel time over those minutes), ``max_trip_duration`` and
``max_walk_time``/``max_bike_time``/``max_car_time`` (minutes), ``max_rides`` (transit
vehicles boarded), ``walk_speed``/``bike_speed`` (km/h), ``mode`` (the access mode and
the transit modes, e.g. ``("WALK", "TRANSIT")`` or ``("BICYCLE", "BUS")``) and
``mode_egress``. Every bad value raises ``ValueError`` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from planner.routing.modes import FILTERS, route_mask
from planner.routing.query import MAX_TRANSFERS
from planner.timetable.model import Timetable

#: r5r's street modes and the street model's mode each is timed with.
STREET_MODES = {"WALK": "walk", "BICYCLE": "bike", "CAR": "car"}
#: r5r's transit modes that MOTIS names differently.
_R5R_TRANSIT = {"GONDOLA": "AERIAL_LIFT", "CABLE_CAR": "AERIAL_LIFT"}


@dataclass(frozen=True)
class StudyRequest:
    """One study's parameters (module docstring); durations in minutes, speeds in km/h."""

    departure: datetime
    time_window: int = 60
    percentiles: tuple[int, ...] = (50,)
    max_trip_duration: int = 120
    max_rides: int = 4
    mode: tuple[str, ...] = ("WALK", "TRANSIT")
    mode_egress: str = "WALK"
    walk_speed: float = 4.5
    bike_speed: float = 15.0
    max_walk_time: int = 15
    max_bike_time: int = 30
    max_car_time: int = 30
    #: Statistics besides the percentiles: ``min``, ``mean``, and the share of the window's
    #: minutes under each of ``share_cutoffs`` (minutes).
    share_cutoffs: tuple[int, ...] = ()
    min_mean: bool = False
    transfer_slack: int = 0  # seconds added to every transfer

    def __post_init__(self) -> None:
        if not 1 <= self.time_window <= 24 * 60:
            raise ValueError(f"time_window must be 1..1440 minutes, got {self.time_window}")
        if not self.percentiles:
            raise ValueError("percentiles: give at least one")
        for p in self.percentiles:
            if not 1 <= p <= 100:
                raise ValueError(f"percentiles must be in 1..100, got {p}")
        if self.max_trip_duration <= 0:
            raise ValueError(f"max_trip_duration must be > 0, got {self.max_trip_duration}")
        if not 1 <= self.max_rides <= MAX_TRANSFERS + 1:
            raise ValueError(f"max_rides must be in 1..{MAX_TRANSFERS + 1}, "
                             f"got {self.max_rides}")
        for name in ("walk_speed", "bike_speed"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 km/h, got {getattr(self, name)}")
        for name in ("max_walk_time", "max_bike_time", "max_car_time"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 minutes, got {getattr(self, name)}")
        for c in self.share_cutoffs:
            if c <= 0:
                raise ValueError(f"share_cutoffs must be > 0 minutes, got {c}")
        if self.departure.tzinfo is not None:
            raise ValueError("departure: give the local time of the timetable's zone "
                             "without a zone (as r5r does)")
        self._check_modes()

    def _check_modes(self) -> None:
        if self.mode_egress not in STREET_MODES:
            raise ValueError(f"mode_egress must be one of {sorted(STREET_MODES)}, "
                             f"got {self.mode_egress!r}")
        street = [m for m in self.mode if m in STREET_MODES]
        if len(street) > 1:
            raise ValueError(f"mode: at most one street mode, got {street}")
        for m in self.mode:
            if m not in STREET_MODES and _R5R_TRANSIT.get(m, m) not in FILTERS:
                raise ValueError(f"mode: unknown mode {m!r}")

    # -- what the engines read ---------------------------------------------------------
    @property
    def access_mode(self) -> str:
        """The street model's mode from the origins (walking unless ``mode`` names one)."""
        street = [m for m in self.mode if m in STREET_MODES]
        return STREET_MODES[street[0] if street else "WALK"]

    @property
    def egress_mode(self) -> str:
        return STREET_MODES[self.mode_egress]

    @property
    def transit_modes(self) -> tuple[str, ...]:
        return tuple(_R5R_TRANSIT.get(m, m) for m in self.mode if m not in STREET_MODES)

    def route_mask(self, tt: Timetable) -> np.ndarray | None:
        """The routes the transit modes allow (all zeros: no transit mode, streets only)."""
        modes = self.transit_modes
        if not modes:
            return np.zeros(tt.n_routes, dtype=np.uint8)
        return route_mask(tt, modes)

    def max_street_seconds(self, mode: str) -> int:
        minutes = {"walk": self.max_walk_time, "bike": self.max_bike_time,
                   "car": self.max_car_time}[mode]
        return int(minutes) * 60

    def speed_kmh(self, mode: str) -> float | None:
        """The requested speed of ``mode`` (None: the street model's, for cars)."""
        return {"walk": self.walk_speed, "bike": self.bike_speed}.get(mode)

    @property
    def max_transfers(self) -> int:
        return self.max_rides - 1

    @property
    def step(self) -> int:
        return 60

    def start(self, tt: Timetable) -> int:
        """The first departure on the timetable axis."""
        d = self.departure
        if not tt.covers(d.date()):
            raise ValueError(f"departure: {d.date()} is not in the compiled days "
                             f"{tt.dates[0]}..{tt.dates[-1]}")
        return tt.time_of(d.date(), d.hour * 3600 + d.minute * 60 + d.second)

    def statistics(self) -> list[str]:
        """Output columns, in order (r5r's ``travel_time_pNN``)."""
        cols = [f"travel_time_p{p}" for p in self.percentiles]
        cols += ["travel_time_min", "travel_time_mean"] if self.min_mean else []
        cols += [f"share_under_{c}" for c in self.share_cutoffs]
        return cols


def parse_modes(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"WALK,TRANSIT"`` (or a list) as upper-case mode names."""
    items = text.split(",") if isinstance(text, str) else list(text)
    return tuple(m.strip().upper() for m in items if m.strip())
