"""The schema helper itself: it must see the violations it exists to find."""

from __future__ import annotations

from tests.motis_spec import violations
from tests.shared_data import shared

PLACE = {"name": "Bielefeld Hbf", "lat": 52.029, "lon": 8.532, "vertexType": "TRANSIT"}


def test_a_conforming_reverse_geocode_body_has_no_violations() -> None:
    shared("../specs/motis/openapi-v6.yaml")
    body = [{"type": "STOP", "name": "Bielefeld Hbf", "id": "x:1", "lat": 52.0, "lon": 8.5,
             "tokens": [], "areas": [], "score": 0.0}]
    assert violations(6, "/api/v1/reverse-geocode", body) == []


def test_missing_required_fields_resolved_through_refs_are_violations() -> None:
    shared("../specs/motis/openapi-v6.yaml")
    body = [{"type": "STOP", "name": "Bielefeld Hbf", "id": "x:1", "lat": 52.0, "lon": 8.5}]
    found = violations(6, "/api/v1/geocode", body)
    assert len(found) == 3 and all("required" in v for v in found), found


def test_formats_are_checked() -> None:
    shared("../specs/motis/openapi-v6.yaml")
    body = {"place": {**PLACE, "departure": "8 o'clock"}, "stopTimes": [],
            "previousPageCursor": "", "nextPageCursor": ""}
    found = violations(6, "/api/v6/stoptimes", body)
    assert len(found) == 1 and found[0].startswith("place/departure"), found

