"""The cost attack, short (issue 16): one client keeps 20 of the largest plans the budget
allows in flight; ordinary requests from another client are all answered. Latency under
attack is a benchmark figure (benchmarks/reliability.py), not asserted here."""

from __future__ import annotations

from benchmarks.reliability import HART, cost_attack
from tests.servers import owl_planner_serve
from tests.shared_data import shared
from tests.test_widget import OUTPUT


def test_ordinary_plans_are_all_answered_while_one_client_floods_heavy_ones() -> None:
    shared("us-hart-tampa/hart.zip")
    with owl_planner_serve([str(HART), "--date", "2021-01-12"],
                           OUTPUT / "cost-attack-server.log",
                           env={"OWL_TRUSTED_PROXIES": "127.0.0.1", "OWL_CACHE_SIZE": "0"}
                           ) as base:
        report = cost_attack(base, seconds=4.0)
    ordinary = report["ordinary"]
    assert isinstance(ordinary, dict) and ordinary["requests"] >= 5
    assert ordinary["errors"] == 0, report
    statuses = report["attacker_statuses"]
    assert isinstance(statuses, dict)
    assert statuses.get(429, 0) > statuses.get(200, 0)  # held to one heavy search at a time
    assert set(statuses) <= {200, 429}, statuses  # never a 5xx, never a dropped connection
