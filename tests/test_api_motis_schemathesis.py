"""schemathesis driven by MOTIS's own openapi-v5.yaml and openapi-v6.yaml, on the
operations of stoptimes, stop, map, geocode, rentals and health.

Generated requests are filled with real data where MOTIS's schema cannot say what is
valid (a stop id that exists, coordinates that parse, a time inside the feed's range,
``n`` or ``window`` present): then every answer must conform to MOTIS's response schema,
none may be a server error, and valid data must be accepted (2xx, or 404/429 as MOTIS).
"""

from __future__ import annotations

import random
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
from api.settings import load_settings  # noqa: E402
from feeds.demo import DEMO_FEED  # noqa: E402
from tests.motis_spec import spec  # noqa: E402

app = create_app(load_settings(env={}, feeds=(str(DEMO_FEED),), date="2026-04-20",
                               search_deadline=10.0))
STOPS = ["de-db-fv-2026:347953", "de-db-fv-2026:302272", "de-db-fv-2026:430886",
         "de-db-fv-2026:120399"]
POINTS = ["52.0290,8.5325", "52.525,13.369", "51.906,8.385", "52.4295,10.7878"]
TIMES = ["2026-04-20T08:00:00+02:00", "2026-04-20T06:00:00Z", "2026-04-20T23:30:00+02:00"]
OPERATIONS = {
    5: ["/api/v5/stoptimes", "/api/v1/map/stops"],
    6: ["/api/v6/stoptimes", "/api/v6/stop", "/api/v6/map/stops", "/api/v1/geocode",
        "/api/v1/reverse-geocode", "/api/v1/map/initial", "/api/v1/map/levels",
        "/api/v1/rentals", "/api/v1/health"],
}


def _schema(version: int) -> Any:
    raw = spec(version)
    keep = {p: raw["paths"][p] for p in OPERATIONS[version]}
    loaded = schemathesis.openapi.from_dict({**raw, "paths": keep})
    loaded.app = app
    return loaded


def fill_real_data(path: str, query: dict[str, Any], rng: random.Random) -> None:
    """Replace what only real data makes valid; leave everything else as generated."""
    for key in ("center", "place", "point"):
        if key in query or (key == "place" and path.endswith("reverse-geocode")):
            query[key] = rng.choice(POINTS)
    if "min" in query or "max" in query or path.endswith(("map/stops", "map/levels")):
        query["min"], query["max"] = "51.9,8.3", "52.6,13.5"
    if "time" in query:
        query["time"] = rng.choice(TIMES)
    if path.endswith(("stoptimes", "/stop")):
        if "center" not in query or "radius" not in query:
            query["stopId"] = rng.choice(STOPS)
        if path.endswith("stoptimes") and "n" not in query and "window" not in query:
            query["n"] = rng.randint(0, 20)
        if "pageCursor" in query:
            del query["pageCursor"]  # only cursors this server handed out are valid
    if "numResults" in query:
        query["numResults"] = max(1, query["numResults"])
    if path.endswith("geocode") and "text" in query:
        query["text"] = str(query["text"])


@pytest.mark.parametrize("version", sorted(OPERATIONS))
def test_motis_spec_operations_conform(version: int) -> None:
    schema = _schema(version)
    rng = random.Random(version)
    checks = [not_a_server_error, response_schema_conformance, positive_data_acceptance]
    seen: dict[str, int] = {}

    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True)
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            op_path = case.operation.path
            case.query = dict(case.query or {})
            fill_real_data(op_path, case.query, rng)
            response = case.call()
            seen[op_path] = seen.get(op_path, 0) + int(response.status_code == 200)
            case.validate_response(response, checks=checks)

        run()
    assert set(seen) == set(OPERATIONS[version])
    assert all(seen.values()), f"operations never answered 200: {seen}"
