"""``/api/v6/refresh-itinerary``: an itinerary rebuilt from its ``id`` on the timetable
version current now (MOTIS's experimental endpoint).

Each transit leg is found again by its ``tripId`` (service day and GTFS trip) and its
two stops and re-timed on the current realtime version; a trip that version cancelled is
sent with ``cancelled`` true and its scheduled times. Walks keep their length: the first
ends at the first departure, every other starts at the previous leg's end. As MOTIS: only
walking at start/end or station-to-station itineraries (rental legs answer 400).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import Response

from api import itinerary_id
from api.common import ApiError
from api.plan import ItineraryBuilder, dumps, split_trip_id, stop_location
from api.plan_params import QueryParams
from api.store import Prepared
from api.versions import V6
from planner.multimodal.search import Location
from planner.routing.journeys import TransitLeg, transit_leg
from planner.timetable.model import Timetable

if TYPE_CHECKING:
    from api.runtime import Runtime


def _trip_on(tt: Timetable, gtfs_id: str, day_index: int) -> int | None:
    hits = np.flatnonzero(np.asarray(tt.gtfs_trip_ids) == gtfs_id)
    if len(hits) == 0:
        return None
    trips = np.flatnonzero((np.asarray(tt.trip_gtfs) == int(hits[0]))
                           & (np.asarray(tt.trip_day) == day_index))
    return int(trips[0]) if len(trips) else None


def _positions(tt: Timetable, trip: int, board: int, alight: int) -> tuple[int, int] | None:
    r = int(tt.trip_route[trip])
    stops = tt.route_stops[tt.route_stop_offset[r]:tt.route_stop_offset[r + 1]].tolist()
    for p, s in enumerate(stops):
        if s == board and alight in stops[p + 1:]:
            return p, stops.index(alight, p + 1)
    return None


class Refresher:
    """Rebuilds one decoded itinerary on one prepared (realtime) timetable."""

    def __init__(self, prepared: Prepared, speed: float, detailed: bool) -> None:
        self.p = prepared
        self.speed = speed
        self.detailed = detailed
        self.static = prepared.realtime.static if prepared.realtime else prepared.tt

    def place(self, text: str) -> Location:
        if "," in text and ":" not in text:
            lat, lon = (float(x) for x in text.split(","))
            return Location(lat, lon, None, "")
        try:
            return stop_location(self.p, self.p.resolve_stop(text))
        except KeyError:
            raise ApiError(404, f"itineraryId: stop {text!r} is not in the timetable",
                           "itineraryId") from None

    def transit(self, trip_text: str, a: Location, b: Location
                ) -> tuple[TransitLeg, Prepared | None]:
        """The leg on the current version, or (on the static timetable) a cancelled one."""
        day, gtfs_id = split_trip_id(trip_text)
        tt = self.p.tt
        if day is None or day not in tt.dates:
            raise ApiError(404, f"itineraryId: trip {trip_text!r} is not on a loaded day",
                           "itineraryId")
        for timetable, cancelled in ((tt, False), (self.static, True)):
            trip = _trip_on(timetable, gtfs_id, timetable.dates.index(day))
            if trip is None:
                continue
            assert a.stop is not None and b.stop is not None
            pos = _positions(timetable, trip, a.stop, b.stop)
            if pos is None:
                raise ApiError(404, f"itineraryId: trip {trip_text!r} does not run from "
                                    f"{a.name} to {b.name}", "itineraryId")
            leg = transit_leg(timetable, trip, *pos)
            return leg, (self._static_prepared() if cancelled else None)
        raise ApiError(404, f"itineraryId: unknown trip {trip_text!r}", "itineraryId")

    def _static_prepared(self) -> Prepared:
        return Prepared(self.static, self.p.feedset)

    def rebuild(self, legs: list[itinerary_id.EncodedLeg]) -> dict[str, Any]:
        places = [(self.place(a), self.place(b)) for _, _, a, b, _, _ in legs]
        origin, dest = places[0][0], places[-1][1]
        builder = ItineraryBuilder(self.p, self.p.feedset.shapes, origin, dest, self.speed,
                                   V6, detailed_legs=self.detailed)
        timed: list[tuple[str, Any]] = []
        for (mode, trip, _, _, start, end), (a, b) in zip(legs, places, strict=True):
            if trip:
                if a.stop is None or b.stop is None:
                    raise ApiError(400, "itineraryId: a transit leg between coordinates",
                                   "itineraryId")
                timed.append(("transit", self.transit(trip, a, b)))
            elif mode == "WALK":
                timed.append(("walk", end - start))
            else:
                raise ApiError(400, f"itineraryId: a {mode} leg; only walking at start/end "
                                    "or station-to-station itineraries are refreshed",
                               "itineraryId")
        rides = [x for kind, x in timed if kind == "transit"]
        if not rides:
            raise ApiError(400, "itineraryId: no transit leg to refresh", "itineraryId")
        t = rides[0][0].departure - sum(x for kind, x in timed[:1] if kind == "walk")
        out: list[dict[str, Any]] = []
        for (kind, x), (a, b) in zip(timed, places, strict=True):
            if kind == "transit":
                leg, static = x
                if static is not None:
                    rendered = ItineraryBuilder(static, static.feedset.shapes, a, b,
                                                self.speed, V6,
                                                detailed_legs=self.detailed).transit(leg)
                    rendered["cancelled"] = True
                else:
                    rendered = builder.transit(leg)
                out.append(rendered)
                t = leg.arrival
            else:
                out.append(builder.walk((a.lat, a.lon), (b.lat, b.lon), t, t + x,
                                        builder._place(a.stop, a, "START"),
                                        builder._place(b.stop, b, "END")))
                t += x
        first = datetime.fromisoformat(out[0]["startTime"])
        last = datetime.fromisoformat(out[-1]["endTime"])
        return builder._wrap(out, int((last - first).total_seconds()),
                             out[0]["startTime"], out[-1]["endTime"], max(len(rides) - 1, 0))


def register_refresh(app: FastAPI, rt: Runtime) -> None:
    @app.get("/api/v6/refresh-itinerary", tags=["timetable"], response_class=Response,
             summary="An itinerary rebuilt from its id on the current (realtime) timetable")
    async def refresh_itinerary(request: Request) -> Response:
        params = QueryParams.of(request.query_params.multi_items())
        text = params.required("itineraryId")
        try:
            legs = itinerary_id.decode(text)
        except ValueError as exc:
            raise ApiError(400, f"itineraryId: {exc}", "itineraryId") from None
        detailed = params.boolean("detailedLegs", True)
        moment = datetime.fromtimestamp(legs[0][4]).astimezone()

        def work() -> bytes:
            prepared, _ = rt.prepared_for(moment)
            refresher = Refresher(prepared, rt.settings.walk_speed_kmh / 3.6, detailed)
            return dumps(refresher.rebuild(legs))

        return Response(await rt.run(work), media_type="application/json")
