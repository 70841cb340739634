"""What differs between MOTIS API versions, in one place.

MOTIS keeps answering old paths with the behaviour of their time, and its clients depend on
the differences (``../shared/specs/motis/README.md``): KDE Itinerary and GNOME Maps call
``/api/v5``, the MOTIS web UI ``/api/v6``, old integrations ``/api/v1``. The endpoints have
one implementation each; they render the newest shape and ask an :class:`ApiVersion` for
the few things that differ:

* leg polylines: precision 7 on v1, 6 from v2 on (the MOTIS UI decodes with 6
  unconditionally);
* ``maxTransfers``: counted one higher before v3 (it bounded trips, not transfers);
* ``displayName``: exists from v4 on;
* mode names: ``METRO`` and ``AREAL_LIFT`` before v5 for what is ``SUBURBAN`` and
  ``AERIAL_LIFT`` after; v1's schema has no ``FUNICULAR`` or ``AREAL_LIFT`` at all (MOTIS
  classed them ``OTHER`` then);
* ``level``: always 0 before v6;
* a leg's ``routeType``: a string on v1, an integer after.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Mode names of the newest API that older versions spell differently (MOTIS's
#: ``to_mode(clasz, api_version)``).
_BEFORE_V5 = {"SUBURBAN": "METRO", "AERIAL_LIFT": "AREAL_LIFT"}
#: v1's Mode enum lacks these classes; MOTIS of that time classed them OTHER.
_V1_UNKNOWN = frozenset({"FUNICULAR", "AREAL_LIFT", "AERIAL_LIFT"})


@dataclass(frozen=True)
class ApiVersion:
    """One MOTIS API version (the number in ``/api/vN/``)."""

    number: int

    @property
    def prefix(self) -> str:
        return f"/api/v{self.number}"

    @property
    def polyline_precision(self) -> int:
        return 7 if self.number < 2 else 6

    def max_transfers(self, given: int) -> int:
        """Transfers meant by a ``maxTransfers`` value of this version (at least 0)."""
        return max(0, given - 1) if self.number < 3 else given

    @property
    def has_display_name(self) -> bool:
        return self.number >= 4

    def mode(self, name: str) -> str:
        """A mode (transit class or street mode, newest spelling) as this version names
        it."""
        if self.number < 5:
            name = _BEFORE_V5.get(name, name)
        if self.number < 2 and name in _V1_UNKNOWN:
            return "OTHER"
        return name

    def route_type(self, route_type: int) -> int | str:
        """GTFS ``route_type`` of a leg: a string in v1's schema, an integer from v2."""
        return str(route_type) if self.number < 2 else route_type

    def level(self, level: float) -> float:
        return level if self.number >= 6 else 0.0


V1 = ApiVersion(1)
V5 = ApiVersion(5)
V6 = ApiVersion(6)
#: The versions whose plan and trip operations are served.
PLAN_VERSIONS = (V1, V5, V6)
