"""Edge cases the random real-feed queries never hit: a departure exactly at a range
window's start, and McRAPTOR's extra criterion deciding between otherwise equal labels."""

from __future__ import annotations

from pathlib import Path

from planner.routing.query import Query
from planner.routing.router import Router
from tests.test_routing_core import at, ix, tiny


def test_range_includes_a_departure_exactly_at_the_window_start(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    a, c = ix(tt, "A"), ix(tt, "C")
    result = Router(tt).profile(Query([(a, 0)], [(c, 0)], at(tt, "08:00"), window=600))
    assert [(j.departure, j.arrival) for j in result.journeys][:1] == \
        [(at(tt, "08:00"), at(tt, "08:20"))]


def test_mcraptor_keeps_the_row_with_less_extra_among_equal_labels(tmp_path: Path) -> None:
    """Two source rows alike but for the extra criterion (e.g. rental seconds): only the
    one without extra is Pareto-optimal, whatever order the rows come in."""
    tt = tiny(tmp_path)
    a, d = ix(tt, "A"), ix(tt, "D")
    router = Router(tt)
    for extras in ([500, 0], [0, 500]):
        journeys = router.pareto(Query([(a, 0), (a, 0)], [(d, 0)], at(tt, "07:50"),
                                       source_extra=extras))
        assert journeys
        assert [j.extra["criterion"] for j in journeys] == [0] * len(journeys)
