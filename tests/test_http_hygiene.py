"""HTTP details issue 16 found missing: HEAD, security headers, CORS that echoes nothing,
health without file paths, offline API docs, documented errors, a strict admin token, a
plan cache bounded by bytes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import ERRORS, create_app
from api.cache import LruCache
from api.settings import load_settings
from feeds.demo import DEMO_FEED


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date="2026-04-20",
                             admin_token="secret", cors_origins=("https://owl.example",))
    with TestClient(create_app(settings)) as c:
        yield c


def test_head_is_answered_like_get_without_a_body(client: TestClient) -> None:
    for path in ("/api/v1/health", "/", "/widget.js"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"" and get.content
        assert head.headers["content-type"] == get.headers["content-type"]


def test_every_answer_forbids_sniffing_and_framing(client: TestClient) -> None:
    api = client.get("/api/v1/health")
    page = client.get("/")
    for r in (api, page, client.get("/api/v1/geocode", params={"text": ""})):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp


def test_cors_preflight_allows_the_api_headers_and_echoes_no_other(
        client: TestClient) -> None:
    ok = client.options("/api/v1/health", headers={
        "Origin": "https://owl.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "content-type"})
    assert ok.status_code == 200
    assert "content-type" in ok.headers["access-control-allow-headers"].lower()
    evil = client.options("/api/v1/health", headers={
        "Origin": "https://owl.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-evil-header"})
    assert evil.status_code == 400
    assert "x-evil-header" not in evil.headers.get("access-control-allow-headers", "")


def test_health_names_feeds_without_their_paths(client: TestClient) -> None:
    health = client.get("/api/v1/health").json()
    feeds = health["timetable"]["feeds"]
    assert feeds == [DEMO_FEED.name]
    assert str(DEMO_FEED.parent) not in client.get("/api/v1/health").text


def test_api_docs_load_without_a_cdn(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "https://" not in docs.text and "cdn" not in docs.text.lower()
    assert "/static-offline-docs/swagger-ui-bundle.js" in docs.text
    js = client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000


def test_openapi_lists_the_errors_of_every_operation(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = [(p, op) for p, ops in spec["paths"].items() for op in ops.values()]
    assert len(operations) > 10
    for path, op in operations:
        for code in ERRORS:
            ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/Error", (path, code)
    assert spec["components"]["schemas"]["Error"]["required"] == ["error"]
    assert "403" in spec["paths"]["/api/v1/admin/reload"]["post"]["responses"]


def test_admin_reload_needs_the_bearer_scheme(client: TestClient) -> None:
    assert client.post("/api/v1/admin/reload",
                       headers={"Authorization": "secret"}).status_code == 403
    assert client.post("/api/v1/admin/reload",
                       headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.post("/api/v1/admin/reload",
                       headers={"Authorization": "Bearer secret"}).status_code == 200


def test_plan_cache_is_bounded_by_bytes_as_well_as_entries() -> None:
    cache = LruCache(size=100, max_bytes=1000)
    for i in range(10):
        cache.set(f"k{i}", bytes(300))
    assert len(cache) == 3 and cache.nbytes == 900
    assert cache.get("k9") is not None and cache.get("k0") is None
    cache.set("huge", bytes(2000))  # larger than the whole budget: not kept
    assert cache.get("huge") is None and cache.nbytes == 900
    cache.set("k9", bytes(100))  # replacing an entry counts its new size
    assert cache.nbytes == 700
