"""schemathesis driven by MOTIS's own openapi-v5.yaml and openapi-v6.yaml: plan and trip.

The operations are MOTIS's, unchanged except where this server answers differently on
purpose, which is written down here:

* ``fromPlace``/``toPlace``/``tripId``/``time`` are drawn from real demo stops, trips and
  times inside the feed's range (random strings would only test 404s);
* street and transit mode enums lose what the server refuses with a 400 by design
  (:data:`api.plan_params.UNSUPPORTED_MODES`; ``RENTAL``: the demo server has no GBFS),
  and the parameters :mod:`api.plan_params` refuses (``via``, ``transferTimeFactor``,
  ``pedestrianProfile``, ``useRoutedTransfers``, ``requireCarTransport``,
  ``numLegAlternatives``, ``ignore*RentalReturnConstraints``, the rental filters) are
  left out; each of those 400s has its own test in tests/test_motis_plan.py;
* ``maxTransfers``, ``minTransferTime`` and ``additionalTransferTime`` get ``minimum: 0``:
  negative counts and times are refused with a 400 naming them.

Checks: no server error, every answer conforms to the response schema, and schema-valid
requests are accepted (positive data acceptance).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    positive_data_acceptance,
    response_schema_conformance,
)

from api.app import create_app  # noqa: E402
from api.plan_params import UNSUPPORTED_MODES  # noqa: E402
from api.settings import load_settings  # noqa: E402
from feeds.demo import DEMO_FEED  # noqa: E402
from tests.motis_spec import spec  # noqa: E402

DAY = "2026-04-20"
STOPS = ["de-db-fv-2026:347953", "de-db-fv-2026:469041", "de-db-fv-2026:87584",
         "52.0275,8.5327", "51.9069,8.3894"]
TIMES = [f"{DAY}T07:30:00+02:00", f"{DAY}T12:00:00+02:00", f"{DAY}T16:45:00Z"]
REFUSED = {"via", "viaMinimumStay", "transferTimeFactor", "pedestrianProfile",
           "useRoutedTransfers", "requireCarTransport", "numLegAlternatives"}
NOT_NEGATIVE = {"maxTransfers", "minTransferTime", "additionalTransferTime"}

app = create_app(load_settings(env={}, feeds=(str(DEMO_FEED),), date=DAY,
                               search_deadline=10.0, client_rate_per_minute=0))


def _trip_ids() -> list[str]:
    from fastapi.testclient import TestClient
    with TestClient(app) as c:
        body = c.get("/api/v5/plan", params={"fromPlace": STOPS[0], "toPlace": STOPS[1],
                                             "time": TIMES[0]}).json()
    return sorted({leg["tripId"] for it in body["itineraries"] for leg in it["legs"]
                   if "tripId" in leg})


def motis_schema(version: int) -> dict[str, Any]:
    raw = copy.deepcopy(spec(version))
    plan, trip = f"/api/v{version}/plan", f"/api/v{version}/trip"
    raw["paths"] = {plan: {"get": raw["paths"][plan]["get"]},
                    trip: {"get": raw["paths"][trip]["get"]}}
    modes = raw["components"]["schemas"]["Mode"]["enum"]
    allowed = [m for m in modes if m not in UNSUPPORTED_MODES and m != "RENTAL"]
    street = ["WALK", "BIKE", "CAR"]
    ops = raw["paths"][plan]["get"]
    kept = []
    for p in ops["parameters"]:
        name = p["name"]
        if name in REFUSED or "Rental" in name:
            continue
        schema = p.setdefault("schema", {})
        if name in ("fromPlace", "toPlace"):
            p["schema"] = {"type": "string", "enum": STOPS}
        elif name == "time":
            p["schema"] = {"type": "string", "enum": TIMES}
        elif name == "pageCursor":
            continue  # a cursor is what this server returned, not any string
        elif name in NOT_NEGATIVE:
            schema["minimum"] = 0
        elif name == "transitModes":
            p["schema"] = {"type": "array", "items": {"enum": [
                m for m in allowed if m not in street]}}
        elif name.endswith("Modes"):
            p["schema"] = {"type": "array", "items": {"enum": street}}
        kept.append(p)
    ops["parameters"] = kept
    for p in raw["paths"][trip]["get"]["parameters"]:
        if p["name"] == "tripId":
            p["schema"] = {"type": "string", "enum": _trip_ids()}
    return raw


@pytest.mark.parametrize("version", [5, 6])
def test_motis_spec_requests_get_schema_conforming_answers(version: int) -> None:
    schema = schemathesis.openapi.from_dict(motis_schema(version))
    schema.app = app
    failures: list[str] = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            response = case.call()
            try:
                case.validate_response(response, checks=[
                    not_a_server_error, response_schema_conformance,
                    positive_data_acceptance])
            except (Exception, BaseExceptionGroup) as exc:  # collect, then fail naming them
                failures.append(f"{case.path} {case.query}: {exc}"[:600])

        run()
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures[:5])
