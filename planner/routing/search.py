"""The search policy: which engine runs when, over which window, for how many journeys.

What nigiri's ``search`` does around its RAPTOR, and what the API used to do in HTTP
handlers; here it is one module, driven by a :class:`~planner.routing.query.Query`:

* **Depart-at** (``search_later``): a range query (``Router.range_engine_for``:
  Trip-Based's runs where it answers the query, else rRAPTOR) over departures in
  ``[time, time + window]`` in spans (short first, doubling), so one short range query
  answers most requests in a dense network. While fewer than ``min_journeys`` are found
  the window is **widened** (doubled) up to ``max_window``. Each journey is the latest
  departure for its arrival and the earliest arrival for its departure. When even the
  widest window holds fewer, the first journey after it counts (leaving as late as
  it can for its arrival), then McRAPTOR alternatives at the first departure (fewer
  transfers, less walking) fill up.
* **Fewer transfers** (as MOTIS answers): for each departure in turn, its journey and then
  the Pareto set over (arrival, transfers) from it, each alternative the earliest arrival
  with fewer transfers leaving as late as it can, until ``min_journeys`` are listed. A
  1-transfer journey arriving a little later is offered beside the 2-transfer fastest
  one instead of a third 2-transfer departure; later departures move to the next page.
* **Earlier page** (``search_earlier``): the last ``min_journeys`` departures before
  ``time``, the window widened backwards the same way; never empty while a journey
  departs within ``max_window`` before ``time``.
* **Arrive-by** (``search_arrive_by``): the reverse engine's latest departure arriving by
  ``time`` within ``max_transfers``; the forward journey from that departure (earliest
  arrival, fewest trips) is the itinerary; the deadline then moves to one second before
  its arrival, until ``min_journeys`` or the arrivals leave ``[time - max_window, time]``.
* Every loop stops at ``Query.deadline`` (monotonic clock) with what it has.

Journeys without a transit leg are never itineraries here (direct walks are the
multimodal search's); duplicates (same leaving time, arrival and transfers) are
dropped.

The policy works on the engines' raw journeys (:class:`Candidate`, from
:meth:`~planner.routing.router.Router.raw`) and builds a :class:`Journey` with its legs
only for those it returns: a plan's range queries and alternatives find about twice as
many journeys as it keeps.
"""

from __future__ import annotations

import math
import time as clock
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from planner.routing.journeys import Journey, WalkLeg, leave_time
from planner.routing.query import Query
from planner.routing.router import RawJourney, Router

#: Depart-at spans start at this many seconds per journey still missing, then double: a
#: span's journeys are exactly the Pareto (departure, arrival) journeys of the whole
#: window that depart in it (later departures prune them), so only the work changes.
SPAN_PER_JOURNEY = 900
NONE_DEPARTS = "no connection departs within the search window"
NONE_ARRIVES = "no connection arrives in time within the search window"


class Page(StrEnum):
    """Which journeys a depart-at query asks for: from ``time`` on, or the ones before."""

    LATER = "later"
    EARLIER = "earlier"


@dataclass(frozen=True)
class SearchOutcome:
    """Journeys by departure (the time the traveller leaves), why there are none, and the
    interval of departures (arrive-by: arrivals) the policy looked at."""

    journeys: list[Journey]
    reason: str
    searched: tuple[int, int]


class Candidate:
    """A raw journey of an engine with what the policy compares (leaving, arrival,
    transfers and walking), read from its steps; :attr:`journey` builds
    the :class:`Journey` (the same one :meth:`Router.route` builds) when it is kept."""

    __slots__ = ("_router", "_q", "raw", "departure", "arrival", "transfers",
                 "has_transit", "leave", "walk", "_journey")

    def __init__(self, router: Router, q: Query, raw: RawJourney) -> None:
        self._router, self._q, self.raw = router, q, raw
        departure, arrival, _, _, target_row, steps = raw
        self.departure, self.arrival = departure, arrival
        self._journey: Journey | None = None
        trips = 0
        lead = walks = access = 0
        first: tuple[int, int] | None = None  # (trip, board position) of the first ride
        for step in steps:
            kind = step[0]
            if kind == "trip":
                trips += 1
                if first is None:
                    first = (int(step[1]), int(step[2]))
            elif kind == "walk":
                walks += int(step[4])
                if first is None:
                    lead += int(step[4])
            elif kind == "origin":
                access = int(step[2]) - departure
        self.transfers = max(trips - 1, 0)
        self.has_transit = trips > 0
        egress = int(q.targets[target_row, 1])
        self.walk = access + egress + walks  # walk_seconds of the journey
        # leave_time of the built journey, from the same fields
        if first is None:
            self.leave = arrival - walks - access - egress
        else:
            self.leave = router.boarding(*first)[1] - lead - access

    @property
    def journey(self) -> Journey:
        j = self._journey
        if j is None:
            j = self._journey = self._router.journey(self._q, self.raw)
        return j


J = TypeVar("J", Journey, Candidate)


def candidates(router: Router, q: Query, engine: str) -> list[Candidate]:
    """``engine``'s journeys for ``q`` as candidates (no legs built)."""
    return [Candidate(router, q, raw) for raw in router.raw(q, engine)]


def signature(j: Journey | Candidate) -> tuple[int, int, int]:
    """What makes two journeys the same itinerary: leaving time, arrival and transfers,
    the criteria of the Pareto sets (as nigiri's, where an equal journey is dominated).
    Engines break ties between equal journeys differently (Trip-Based's range runs,
    RAPTOR's, the reverse search's), so the same itinerary found twice may ride other
    trips; it is listed once, as first found."""
    if isinstance(j, Candidate):
        return (j.leave, j.arrival, j.transfers)
    return (leave_time(j), j.arrival, j.transfers)


class Found(Generic[J]):
    """Journeys (or candidates) in the order found, without duplicates."""

    def __init__(self) -> None:
        self.items: list[J] = []
        self._seen: set[tuple[object, ...]] = set()

    def add(self, j: J) -> bool:
        sig = signature(j)
        if sig in self._seen:
            return False
        self._seen.add(sig)
        self.items.append(j)
        return True


def walk_seconds(j: Journey) -> int:
    """Walking of a journey: access, footpaths and egress."""
    return j.access + j.egress + sum(leg.duration for leg in j.legs if isinstance(leg, WalkLeg))


def undominated(journeys: list[Candidate]) -> list[Candidate]:
    """Journeys no other one beats in every criterion: leaving no earlier, arriving,
    transferring and walking no more (rRAPTOR picks one journey per (departure, arrival)
    pair; McRAPTOR alternatives may walk less on the same trips)."""
    keys = [(-j.leave, j.arrival, j.transfers, j.walk) for j in journeys]
    return [j for j, a in zip(journeys, keys, strict=True)
            if not any(b != a and all(x <= y for x, y in zip(b, a, strict=True))
                       for b in keys)]


def _open(q: Query) -> bool:
    return clock.monotonic() < q.deadline


def search(router: Router, q: Query, page: Page = Page.LATER) -> SearchOutcome:
    """The journeys ``q`` asks for (see the module docstring)."""
    if q.arrive_by:
        return search_arrive_by(router, q)
    if page is Page.EARLIER:
        return search_earlier(router, q)
    return search_later(router, q)


def _widen(window: int, max_window: int) -> int:
    return min(max_window, max(2 * window, window + SPAN_PER_JOURNEY))


def _earliest(router: Router, q: Query) -> Candidate | None:
    """:meth:`Router.earliest` as a candidate."""
    found = router.raw(q, router.engine_for(q))
    return Candidate(router, q, found[0]) if found else None


def _latest_departure(router: Router, q: Query) -> Candidate | None:
    """:meth:`Router.latest_departure` as a candidate."""
    found = router.raw(q, "reverse")
    return Candidate(router, q, found[0]) if found else None


def _by_leaving(items: list[Candidate]) -> list[Journey]:
    """The kept candidates' journeys, by leaving time and arrival."""
    return [c.journey for c in sorted(items, key=lambda c: (c.leave, c.arrival))]


def search_later(router: Router, q: Query) -> SearchOutcome:
    """Depart-at from ``q.time``: spans of rRAPTOR, the window widened while too few."""
    n, t = q.min_journeys, q.time
    end = t + q.window
    found: Found[Candidate] = Found()
    after: Candidate | None = None
    lo, doubling = t, 0
    asked = t + q.window if q.whole_window else t - 1  # scanned whatever the count
    while (len(found.items) < n or lo <= asked) and _open(q):
        if lo > end:
            if end >= t + q.max_window:
                break
            end = t + _widen(end - t, q.max_window)
        width = min(end - lo,
                    (SPAN_PER_JOURNEY * max(1, n - len(found.items))) << doubling)
        span = q.at(lo, width)
        journeys = candidates(router, span, router.range_engine_for(span))
        if not journeys:
            break  # nothing departs at or after ``lo``
        after = None
        for j in journeys:
            if not j.has_transit:
                continue
            if j.departure <= lo + width:
                found.add(j)
            elif after is None:  # the first one after the span
                after = j
        lo, doubling = lo + width + 1, doubling + 1
    found.items = _with_fewer_transfers(router, q, found.items,
                                        None if q.whole_window else n)
    if not found.items and after is not None and lo > end:
        found.add(_leaving_latest(router, q, after))
    if found.items and len(found.items) < n and _open(q):
        first = found.items[0].departure
        for j in candidates(router, q.at(first, 0), "mcraptor"):
            if len(found.items) >= n:
                break
            if j.has_transit and j.leave <= end:
                found.add(j)
        found.items = undominated(found.items)
    items = _by_leaving(found.items)
    return SearchOutcome(items, "" if items else NONE_DEPARTS, (t, end))


def _with_fewer_transfers(router: Router, q: Query, journeys: list[Candidate],
                          n: int | None) -> list[Candidate]:
    """The first ``n`` (None: all) of: each departure's journey followed by its Pareto
    alternatives over (arrival, transfers), departures in order (see the module
    docstring)."""
    out: Found[Candidate] = Found()
    room = math.inf if n is None else n
    for j in sorted(journeys, key=lambda j: (j.leave, j.arrival)):
        if len(out.items) >= room:
            break
        out.add(j)
        best = j
        while best.transfers > 0 and len(out.items) < room and _open(q):
            fewer = q.at(j.leave, 0).with_max_transfers(best.transfers - 1)
            alt = _earliest(router, fewer)
            if alt is None or not alt.has_transit or alt.arrival <= best.arrival:
                break  # no fewer-transfer journey, or one that arrives no later (none)
            best = _leaving_latest(router, fewer.with_max_transfers(alt.transfers), alt)
            if best.leave <= q.time + q.max_window:
                out.add(best)
    return out.items


def _leaving_latest(router: Router, q: Query, j: Candidate) -> Candidate:
    """The journey that arrives as early as ``j`` but leaves latest (an earliest-arrival
    search boards the first trip that makes it; Trip-Based's runs from ``j.arrival``
    back to ``j.leave``, or one reverse search, find the last)."""
    window = q.at(j.leave, max(j.arrival - j.leave, 0))
    found = router.latest_by(window, j.arrival)
    if found is not None:
        back = Candidate(router, window, found[0]) if found else None
    else:
        back = _latest_departure(router, Query(q.sources, q.targets, j.arrival,
                                               arrive_by=True,
                                               max_transfers=q.max_transfers,
                                               transfer_slack=q.transfer_slack,
                                               route_mask=q.route_mask))
    if back is None or not back.has_transit or back.leave < j.leave:
        return j
    return back


def search_earlier(router: Router, q: Query) -> SearchOutcome:
    """The last ``min_journeys`` departures before ``q.time``, the window widened
    backwards while too few (spans compose as in ``search_later``)."""
    n, t = q.min_journeys, q.time
    window = q.window
    if q.max_window < 1:
        return SearchOutcome([], NONE_DEPARTS, (t, t))
    window = max(window, 1)
    found: list[Candidate] = []
    hi = t - 1  # departures in [t - window, hi] are searched next
    while _open(q):
        lo = t - window
        wide = q.at(lo, hi - lo)
        span = [j for j in candidates(router, wide, router.range_engine_for(wide))
                if j.has_transit and j.departure <= hi]
        found = span + found
        if len(found) >= n or window >= q.max_window:
            break
        hi = lo - 1
        window = _widen(window, q.max_window)
    unique: Found[Candidate] = Found()
    for j in found:
        unique.add(j)
    kept = sorted(unique.items, key=lambda j: (j.leave, j.arrival))
    if not q.whole_window:
        kept = kept[-n:]
    items = [c.journey for c in kept]
    return SearchOutcome(items, "" if items else NONE_DEPARTS, (t - window, t))


def search_arrive_by(router: Router, q: Query) -> SearchOutcome:
    """Arrive by ``q.time``: latest departures, each the reverse engine's answer for a
    deadline one second before the previous itinerary's arrival."""
    found: Found[Candidate] = Found()
    limit = q.time
    earliest_arrival = q.time - q.max_window
    asked = q.time - q.window if q.whole_window else q.time + 1  # covered whatever the count
    while (len(found.items) < q.min_journeys or limit >= asked) and _open(q):
        j = _latest_departure(router, q.at(limit))
        if j is None or not j.has_transit:
            break
        # the earliest arrival from the latest departure (Router.latest_departure)
        if j.arrival > limit:
            break
        if found.items and j.arrival < earliest_arrival:
            break
        if len(found.items) >= q.min_journeys and j.arrival < asked:
            break  # enough, and outside the asked window
        found.add(j)
        limit = j.arrival - 1
    items = _by_leaving(found.items)
    return SearchOutcome(items, "" if items else NONE_ARRIVES, (earliest_arrival, q.time))


def page_starts(journeys: list[Journey], q: Query, page: Page,
                searched: tuple[int, int]) -> tuple[int, int]:
    """Where the previous and the next page start (timetable axis, depart-at): at this
    page's first departure and one second after its last; with nothing found, around the
    interval searched."""
    if journeys:
        leaves = [leave_time(j) for j in journeys]
        return min(leaves), max(leaves) + 1
    lo, hi = searched
    if q.arrive_by:
        return lo, hi + 1
    if page is Page.EARLIER:
        return lo, q.time
    return q.time, hi + 1
