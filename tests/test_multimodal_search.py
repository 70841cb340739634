"""The multimodal search's rule for rental itineraries, on journeys as McRAPTOR returns them.

A rental itinerary must pay for itself: kept only where it arrives strictly earlier than
the walking journeys of the same McRAPTOR run. The engine is replaced by one that returns
fixed Pareto journeys, so the rule itself is what is tested.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from planner.multimodal.rentals import AccessOption, Mode, Place, RentalLeg
from planner.multimodal.search import (
    Access,
    Itinerary,
    Location,
    TripRequest,
    _Rows,
    merge,
    near_duplicates,
    same_station,
    search_rental,
)
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


def wolfsburg() -> SimpleNamespace:
    """Stops of a timetable: an origin, two "Wolfsburg Hbf" 4 m apart without a parent
    station, and another stop 1 km away."""
    return SimpleNamespace(
        stop_parent=np.array([-1, -1, -1, -1]),
        stop_names=np.array(["Start", "Wolfsburg Hbf", "Wolfsburg Hbf", "Porschestraße"]),
        stop_lat=np.array([52.0, 52.429497, 52.42946, 52.4205]),
        stop_lon=np.array([10.0, 10.787784, 10.78776, 10.7878]))


def test_itineraries_differing_only_by_the_platform_of_one_station_are_one() -> None:
    """Issue 17: two itineraries differed only by a 4 s walk between the two "Wolfsburg
    Hbf" stops; the one arriving first stays, another station's stays too."""
    tt = wolfsburg()
    req = TripRequest(Location(0.0, 0.0), Location(0.0, 0.01), time=0, window=3600,
                      num_itineraries=5)
    first = Itinerary(journey(1000, 60, 1), egress=scooter_to(1))
    platform = Itinerary(journey(1004, 60, 2), egress=scooter_to(2))
    elsewhere = Itinerary(journey(1002, 60, 3), egress=scooter_to(3))
    assert same_station(tt, 1, 2) and not same_station(tt, 1, 3)  # type: ignore[arg-type]
    assert near_duplicates(tt, first, platform)  # type: ignore[arg-type]
    kept = merge(tt, [], [platform, elsewhere, first], req)  # type: ignore[arg-type]
    assert [it.arrival for it in kept] == [1000, 1002]
    walking = Itinerary(journey(1004, 0, 2))
    assert not near_duplicates(tt, first, walking)  # type: ignore[arg-type]


def test_merge_returns_at_most_num_itineraries_nearest_the_page_side() -> None:
    tt = wolfsburg()
    walk = [journey(1000 + 500 * k, 0, 1) for k in range(3)]
    later = TripRequest(Location(0.0, 0.0), Location(0.0, 0.01), time=0, num_itineraries=2)
    scooter = Itinerary(journey(999, 60, 3), egress=scooter_to(3))
    kept = merge(tt, walk, [scooter], later)  # type: ignore[arg-type]
    assert len(kept) == 2 and kept[0].arrival == 999
    by = TripRequest(Location(0.0, 0.0), Location(0.0, 0.01), time=5000, arrive_by=True,
                     num_itineraries=2)
    kept = merge(tt, walk, [], by)  # type: ignore[arg-type]
    assert [it.arrival for it in kept] == [1500, 2000]
