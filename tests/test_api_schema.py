"""Property-based run over the OpenAPI schema (schemathesis): no input gives a 5xx, and
every answer has a documented status, content type and body (errors included).

Bounded: ``max_examples`` per operation and a per-example deadline; runs in-process
through ASGI, so it needs no network.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app  # noqa: E402
from api.settings import load_settings  # noqa: E402
from feeds.demo import DEMO_FEED  # noqa: E402

# A fixed default day keeps "now" inside the demo feed's validity for generated requests.
app = create_app(load_settings(env={}, feeds=(str(DEMO_FEED),), date="2026-04-20",
                               search_deadline=10.0))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=30, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_input_causes_a_server_error(case) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             content_type_conformance,
                                             response_schema_conformance])
