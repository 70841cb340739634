"""Cold compile time, peak memory and warm (cached) load time per feed.

Each measurement runs in a fresh Python process so peak RSS belongs to that step alone.
Usage: python benchmarks/compile.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FEEDS = [
    ("us-hart-tampa", SHARED / "us-hart-tampa" / "hart.zip", "2021-01-12"),
    ("us-wmata", SHARED / "us-wmata" / "wmata.zip", "2026-05-05"),
]

STEP = r"""
import json, resource, sys, time
from datetime import date
from pathlib import Path
t = time.perf_counter()
from planner.timetable.disk_cache import load_or_compile
imported = time.perf_counter()
tt = load_or_compile([sys.argv[1]], date.fromisoformat(sys.argv[2]), cache_dir=Path(sys.argv[3]))
done = time.perf_counter()
print(json.dumps({
    "cache": tt.extra["cache"],
    "seconds": done - imported,
    "seconds_with_imports": done - t,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "connections": tt.n_connections,
    "timings": tt.extra.get("timings", {}),
}))
"""


def run_step(feed: Path, day: str, cache: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", STEP, str(feed), day, str(cache)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'feed':<16}{'step':<6}{'median s':>10}{'min s':>8}{'max s':>8}{'peak MB':>10}")
    for name, feed, day in FEEDS:
        if not feed.exists():
            print(f"{name}: skipped, {feed} missing")
            continue
        cold, warm = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as cache:
                cold.append(run_step(feed, day, Path(cache)))
                warm.append(run_step(feed, day, Path(cache)))
        assert all(c["cache"] == "miss" for c in cold) and all(w["cache"] == "hit" for w in warm)
        for label, runs in (("cold", cold), ("warm", warm)):
            secs = [r["seconds"] for r in runs]
            peak = max(r["peak_rss_mb"] for r in runs)
            print(f"{name:<16}{label:<6}{statistics.median(secs):>10.3f}{min(secs):>8.3f}"
                  f"{max(secs):>8.3f}{peak:>10.0f}")
        print(f"{'':<16}cold steps (last run): {cold[-1]['timings']}")


if __name__ == "__main__":
    main()
