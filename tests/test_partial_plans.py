"""A search cut short by the time limit says so and is never cached (issue 16: on HART
with a 0.3 s deadline a plan was cached with 0 itineraries, served for an hour, while the
same request that missed the cache found 10).

The search may use ``SEARCH_SHARE`` of the request's budget; set to 0 here, every search
stops at once (deterministically, however fast the machine), while the request itself
still has its whole deadline to answer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import api.plan
from api.app import create_app
from api.settings import load_settings
from planner.multimodal.search import CUT_SHORT
from tests.shared_data import shared

PARAMS = {"fromPlace": "27.9506,-82.4572", "toPlace": "28.0587,-82.4139",
          "time": "2021-01-12T06:00:00-05:00", "numItineraries": 10, "searchWindow": 14400}


@pytest.mark.parametrize("path", ["/api/v1/plan", "/api/v5/plan"])
def test_a_plan_cut_short_warns_and_a_retry_is_not_served_from_the_cache(
        monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    hart = shared("us-hart-tampa/hart.zip")
    settings = load_settings(env={}, feeds=(str(hart),), date="2021-01-12",
                             search_deadline=60.0, max_request_cost=0)
    app = create_app(settings)
    with TestClient(app) as c:
        cache = app.state.runtime.cache
        monkeypatch.setattr(api.plan, "SEARCH_SHARE", 0.0)
        cut = c.get(path, params=PARAMS)
        assert cut.status_code == 200, cut.text
        assert CUT_SHORT in cut.json()["warnings"]
        assert len(cache) == 0  # nothing partial is kept
        monkeypatch.setattr(api.plan, "SEARCH_SHARE", 0.8)
        full = c.get(path, params=PARAMS)  # the retry searches, it is not the cut answer
        assert CUT_SHORT not in full.json()["warnings"]
        assert len(full.json()["itineraries"]) >= 10 > len(cut.json()["itineraries"])
        assert len(cache) == 1  # the whole answer is
        assert c.get(path, params=PARAMS).json() == full.json()
