"""A time without an offset is local time of the served feeds, from the first request on.

Issue 17: before any timetable was loaded the store only knew the compiler's default zone
(Europe/Berlin), so the first plan of a Tampa server read 08:00 as 02:00 -05:00.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from api.app import create_app
from api.runtime import runtime_of
from api.settings import load_settings
from feeds.gtfs import agency_timezone
from tests.shared_data import shared

TAMPA = ZoneInfo("America/New_York")


def test_agency_timezone_reads_the_first_agency_of_the_feeds() -> None:
    hart = shared("us-hart-tampa/hart.zip")
    assert agency_timezone([hart]) == "America/New_York"
    poa = shared("br-porto-alegre/poa_eptc.zip")
    assert agency_timezone([poa, hart]) == "America/Sao_Paulo"  # the first feed's


def test_first_and_second_plan_read_a_local_time_in_the_feeds_zone(tmp_path: Path) -> None:
    hart = shared("us-hart-tampa/hart.zip")
    settings = load_settings(env={}, feeds=(str(hart),), date=date(2021, 2, 10),
                             cache_dir=str(tmp_path / "cache"), search_deadline=300.0,
                             compile_wait=300.0, warm_start=False)  # a cold first request
    params = {"fromPlace": "hart:4543", "toPlace": "hart:2660",
              "time": "2021-02-10T08:00:00", "numItineraries": 1}
    with TestClient(create_app(settings)) as client:
        assert runtime_of(client.app).store.loaded_days() == []  # nothing loaded yet
        first = client.get("/api/v1/plan", params=params)
        second = client.get("/api/v1/plan", params=params)
        board = [client.get("/api/v1/stoptimes", params={
            "stopId": "hart:4543", "time": "2021-02-10T08:00:00", "n": 3}) for _ in range(2)]
    assert first.status_code == 200 and second.status_code == 200, first.text
    (it,) = first.json()["itineraries"]
    assert datetime.fromisoformat(it["startTime"]) >= datetime(2021, 2, 10, 8, 0, tzinfo=TAMPA)
    assert first.json()["itineraries"] == second.json()["itineraries"]
    assert board[0].status_code == 200 and board[0].json() == board[1].json()
