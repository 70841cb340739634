"""The multimodal search's rule for rental itineraries, on journeys as McRAPTOR returns them.

A rental itinerary must pay for itself: kept only where it arrives strictly earlier than
the walking journeys of the same McRAPTOR run. The engine is replaced by one that returns
fixed Pareto journeys, so the rule itself is what is tested.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planner.multimodal.rentals import AccessOption, Mode, Place, RentalLeg
from planner.multimodal.search import Access, Location, TripRequest, _Rows, search_rental
from planner.routing.journeys import Journey, StopVisit, TransitLeg
from planner.routing.query import Query


def journey(arrival: int, criterion: int, target: int) -> Journey:
    leg = TransitLeg(line=0, route=0, trip=0, gtfs_trip_id="t", headsign="", board_stop=0,
                     alight_stop=target, board_pos=0, alight_pos=1, departure=100,
                     arrival=arrival - 60, stops=(StopVisit(0, 100, 100),
                                                  StopVisit(target, arrival - 60,
                                                            arrival - 60)))
    j = Journey(departure=100, arrival=arrival, transfers=0, legs=(leg,), source=0,
                target=target, access=0, egress=60)
    j.extra["criterion"] = criterion
    return j


class FixedPareto:
    """A router whose McRAPTOR answers with the given journeys."""

    def __init__(self, journeys: list[Journey]) -> None:
        self.journeys = journeys

    def pareto(self, q: Query) -> list[Journey]:
        return self.journeys

    def latest_departure(self, q: Query) -> Any:
        raise AssertionError("depart-at never asks")


def scooter_to(stop: int) -> AccessOption:
    p, q = Place("stop", 0.0, 0.0, stop, "stop"), Place("dest", 0.0, 0.01, -1, "destination")
    ride = RentalLeg("sys", "Sys", "scooter", "electric", p, q, 0, 60, 60, 40, 10, 10, 500.0)
    return AccessOption(stop, 60, 60, Mode.SCOOTER_RENTAL, (ride,))


def test_rental_itinerary_is_kept_only_when_strictly_earlier_than_walking() -> None:
    req = TripRequest(Location(0.0, 0.0), Location(0.0, 0.01), time=0, window=3600,
                      num_itineraries=1)
    base = Query(np.zeros((0, 2), np.int32), np.zeros((0, 2), np.int32), 0)
    src = _Rows.of([Access(0, 0, 0.0)], [])
    tgt = _Rows.of([Access(1, 60, 75.0)], [scooter_to(2)])
    walk = journey(1000, 0, 1)
    for arrival, kept in ((1000, False), (999, True)):
        rental = journey(arrival, 60, 2)
        found = search_rental(FixedPareto([walk, rental]), req, base, src, tgt,  # type: ignore[arg-type]
                              walking=[])
        assert [it.journey.arrival for it in found] == ([arrival] if kept else [])
        if kept:
            assert found[0].egress is not None and found[0].egress.kind is Mode.SCOOTER_RENTAL
