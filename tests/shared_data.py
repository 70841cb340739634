"""Where the project's real feeds live (``../shared/data`` beside the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEMO_FEED = Path(__file__).resolve().parents[1] / "data" / "demo" / "de-db-fv-2026.gtfs.zip"


def shared(relative: str) -> Path:
    """Path of a shared data file; skips the test when the shared data is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path
