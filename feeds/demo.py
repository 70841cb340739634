"""The demo dataset bundled with the repository (see ``data/demo/ATTRIBUTION.md``)."""

from pathlib import Path

#: German long-distance rail with the OWL stations; what ``make run`` serves.
DEMO_FEED = Path(__file__).resolve().parents[1] / "data" / "demo" / "de-db-fv-2026.gtfs.zip"
