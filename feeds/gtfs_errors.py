"""The error of a GTFS feed that cannot be used.

Apart from :mod:`feeds.gtfs` (pandas, gtfs-kit) so that a command can name the error it
catches without importing the reader it may never need.
"""

from __future__ import annotations


class GtfsError(ValueError):
    """A feed that cannot be used; the message lists every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"GTFS feed {source} rejected: " + "; ".join(problems))
