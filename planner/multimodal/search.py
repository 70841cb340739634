"""Multimodal queries: walking and rental access/egress around the transit router.

The access and egress options of :mod:`planner.multimodal.rentals` become the router's source and
target rows. A rental leg must pay for itself: a journey that uses one is returned only
if it arrives strictly earlier than the best walking-only journey.

* With McRAPTOR (``Router.pareto``, when the router has it): all rows go in at once with
  their criterion (rental seconds) as ``source_extra``/``target_extra``; Pareto journeys
  with a rental part are kept where they arrive before every walking-only one.
* Until then: two ``earliest_arrival`` runs, walking rows only and all rows reduced to the
  fastest per stop; the second result is kept if it is strictly earlier.

Access legs are placed to end when the first transit leg (or footpath) starts, i.e. the
traveller leaves as late as possible; egress legs start on arrival at the last stop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from feeds.gbfs import GbfsFeed
from planner.multimodal.rentals import (
    AccessOption,
    AccessResult,
    Mode,
    RentalLeg,
    RentalOptions,
    RentalPlanner,
    parse_modes,
)
from planner.routing.journeys import Journey, TransitLeg
from planner.routing.query import Query


@dataclass(frozen=True)
class MultimodalJourney:
    departure: int  # leaving the origin (timetable axis)
    arrival: int  # at the destination
    legs: tuple[Any, ...]  # StreetLeg/RentalLeg, then journeys.WalkLeg/TransitLeg, then ...
    transit: Journey | None  # None for a direct (street-only) trip
    access: AccessOption | None
    egress: AccessOption | None

    @property
    def uses_rental(self) -> bool:
        return any(isinstance(leg, RentalLeg) for leg in self.legs)

    @property
    def rental_legs(self) -> list[RentalLeg]:
        return [leg for leg in self.legs if isinstance(leg, RentalLeg)]

    @property
    def transfers(self) -> int:
        return self.transit.transfers if self.transit is not None else 0


@dataclass
class MultimodalPlan:
    journeys: list[MultimodalJourney]  # by arrival; rental ones beat every walking-only one
    direct: list[MultimodalJourney]  # origin -> destination by rental alone
    warnings: list[str] = field(default_factory=list)


def _reduce(options: Sequence[AccessOption]) -> dict[int, AccessOption]:
    """The fastest option per stop (what an earliest-arrival search can use)."""
    best: dict[int, AccessOption] = {}
    for o in options:
        cur = best.get(o.stop)
        if cur is None or (o.duration, o.extra) < (cur.duration, cur.extra):
            best[o.stop] = o
    return best


def _rows(by_stop: dict[int, AccessOption]) -> np.ndarray:
    return np.array([(s, o.duration) for s, o in by_stop.items()],
                    dtype=np.int32).reshape(-1, 2)


def splice(journey: Journey, access: AccessOption, egress: AccessOption) -> MultimodalJourney:
    """Access legs + the router's legs + egress legs, on the timetable axis."""
    if journey.legs:
        first = journey.legs[0]
        leave_stop = first.departure if isinstance(first, TransitLeg) else first.start
    else:
        leave_stop = journey.departure + access.duration
    start = leave_stop - access.duration
    at_stop = journey.arrival - egress.duration
    legs = access.legs_from(start) + tuple(journey.legs) + egress.legs_from(at_stop)
    return MultimodalJourney(start, journey.arrival, legs, journey, access, egress)



def plan_multimodal(
    router: Any,
    rentals: RentalPlanner,
    origin: tuple[float, float],
    destination: tuple[float, float],
    departure: int,
    *,
    pre_modes: Iterable[str | Mode] = (Mode.WALK,),
    post_modes: Iterable[str | Mode] = (Mode.WALK,),
    direct_modes: Iterable[str | Mode] = (),
    feeds: Sequence[GbfsFeed] = (),
    now: float,
    providers: Iterable[str] | None = None,
    options: RentalOptions | None = None,
    max_transfers: int = 8,
    transfer_slack: int = 0,
    use_pareto: bool | None = None,
) -> MultimodalPlan:
    """Plan origin -> destination with the given access/egress/direct modes.

    ``departure`` is on the timetable axis; ``now`` is the GBFS clock (unix seconds) the
    feeds were refreshed with, used for availability and staleness.
    """
    pre, post = parse_modes(pre_modes), parse_modes(post_modes)
    providers = list(providers) if providers is not None else None
    acc = rentals.access(*origin, pre, feeds, now=now, providers=providers, options=options)
    egr = rentals.egress(*destination, post, feeds, now=now, providers=providers,
                         options=options)
    warnings = list(dict.fromkeys(acc.warnings + egr.warnings))
    direct: list[MultimodalJourney] = []
    rental_direct = parse_modes(direct_modes) - {Mode.WALK}
    if rental_direct:
        dres = rentals.direct(origin, destination, rental_direct, feeds, now=now,
                              providers=providers, options=options)
        warnings = list(dict.fromkeys(warnings + dres.warnings))
        for o in dres.options:
            direct.append(MultimodalJourney(departure, departure + o.duration,
                                            o.legs_from(departure), None, o, None))
    if use_pareto is None:
        use_pareto = hasattr(router, "pareto")
    search = _pareto if use_pareto else _two_searches
    journeys = search(router, acc, egr, departure, max_transfers, transfer_slack)
    return MultimodalPlan(journeys, direct, warnings)


def _two_searches(router: Any, acc: AccessResult, egr: AccessResult, departure: int,
                  max_transfers: int, transfer_slack: int) -> list[MultimodalJourney]:
    out: list[MultimodalJourney] = []
    kw = {"max_transfers": max_transfers, "transfer_slack": transfer_slack}
    walk_src = _reduce([o for o in acc.options if not o.is_rental])
    walk_tgt = _reduce([o for o in egr.options if not o.is_rental])
    best_walk: int | None = None
    if walk_src and walk_tgt:
        j = router.earliest(Query(_rows(walk_src), _rows(walk_tgt), departure, **kw))
        if j is not None:
            out.append(splice(j, walk_src[j.source], walk_tgt[j.target]))
            best_walk = j.arrival
    if not any(o.is_rental for o in acc.options + egr.options):
        return out
    all_src, all_tgt = _reduce(acc.options), _reduce(egr.options)
    if not all_src or not all_tgt:
        return out
    j = router.earliest(Query(_rows(all_src), _rows(all_tgt), departure, **kw))
    if j is None:
        return out
    mj = splice(j, all_src[j.source], all_tgt[j.target])
    if mj.uses_rental and (best_walk is None or j.arrival < best_walk):
        out.append(mj)
    return sorted(out, key=lambda m: (m.arrival, m.transfers))


def _pareto(router: Any, acc: AccessResult, egr: AccessResult, departure: int,
            max_transfers: int, transfer_slack: int) -> list[MultimodalJourney]:
    """McRAPTOR (``Router.pareto``) with rental seconds as the extra criterion; its journeys
    carry ``source``/``access``/``target``/``egress`` and ``extra["criterion"]``."""
    if not acc.options or not egr.options:
        return []
    journeys = router.pareto(Query(acc.rows(), egr.rows(), departure,
                                   source_extra=acc.extras(), target_extra=egr.extras(),
                                   max_transfers=max_transfers,
                                   transfer_slack=transfer_slack))
    src: dict[tuple[int, int], list[AccessOption]] = {}
    tgt: dict[tuple[int, int], list[AccessOption]] = {}
    for o in acc.options:
        src.setdefault((o.stop, o.duration), []).append(o)
    for o in egr.options:
        tgt.setdefault((o.stop, o.duration), []).append(o)
    spliced = []
    for j in journeys:
        # rows are identified by (stop, seconds); the criterion settles a tie between kinds
        pairs = [(a, e) for a in src[(j.source, j.access)] for e in tgt[(j.target, j.egress)]]
        criterion = j.extra.get("criterion")
        a, e = next(((a, e) for a, e in pairs if a.extra + e.extra == criterion), pairs[0])
        spliced.append(splice(j, a, e))
    walking = [m for m in spliced if not m.uses_rental]
    best_walk = min((m.arrival for m in walking), default=None)
    rental = [m for m in spliced if m.uses_rental
              and (best_walk is None or m.arrival < best_walk)]
    return sorted(walking + rental, key=lambda m: (m.arrival, m.transfers))
