"""Fixtures over the shared loopback servers in ``tests/servers.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import redis_server


@pytest.fixture()
def redis_url(tmp_path: Path) -> Iterator[str]:
    """URL of a fresh redis-server for this test (skips if none is installed)."""
    with redis_server(tmp_path) as (_, url, _client):
        yield url
