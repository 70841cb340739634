"""Entities skipped, counted by reason with one example id each (health and logs).

"Loses nothing good, lets nothing bad in": a bad entity is dropped alone, and the
operator sees how many were dropped, why, and one id to look up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Skips:
    """reason -> count, and reason -> the first entity id skipped for it."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)
    what: str = "skipped"  # for the log line: "skipped", or "corrected" for notes

    def add(self, reason: str, example: str, source: str = "") -> None:
        first = reason not in self.counts
        self.counts[reason] = self.counts.get(reason, 0) + 1
        if first:
            self.examples[reason] = example
        log.log(logging.WARNING if first else logging.DEBUG,
                "GTFS-RT %sentity %s (%s): %s", f"{source} " if source else "",
                self.what, reason, example)

    def merge(self, other: Skips) -> None:
        for reason, n in other.counts.items():
            self.counts[reason] = self.counts.get(reason, 0) + n
            self.examples.setdefault(reason, other.examples[reason])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, dict[str, object]]:
        """For health: ``{reason: {"count": n, "example": id}}``."""
        return {r: {"count": n, "example": self.examples[r]}
                for r, n in sorted(self.counts.items())}
