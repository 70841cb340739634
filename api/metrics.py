"""Prometheus metrics (prometheus_client) in a registry per app instance.

A registry per app keeps test apps independent. With several uvicorn workers each worker
exports its own counters (no multiprocess mode): scrape each worker or sum in Prometheus.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["Metrics", "CONTENT_TYPE_LATEST"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("owl_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram(
            "owl_http_request_duration_seconds", "Request latency by route", ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r)
        self.cache = Counter("owl_cache_requests", "Plan cache lookups by result",
                             ["result"], registry=r)
        self.cache_errors = Counter("owl_cache_errors", "Cache backend failures (bypassed)",
                                    registry=r)
        self.deadline = Counter("owl_search_deadline_exceeded",
                                "Searches that ran past the per-request deadline", registry=r)
        self.swaps = Counter("owl_timetable_swaps", "Timetable versions adopted at run time",
                             registry=r)
        self.days_loaded = Gauge("owl_timetable_days_loaded",
                                 "Service days compiled and held in memory", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
