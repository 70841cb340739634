"""MOTIS's plan parameters (``/api/v5/plan``, ``/api/v6/plan``) read as MOTIS reads them.

FastAPI's declared parameters would answer a value MOTIS accepts with 422 (and name
arrays differently); MOTIS's clients send comma-separated arrays and rely on MOTIS's
defaults. So the query string is read here, with MOTIS's types, defaults and checks, and
every refusal is a 400 naming the parameter.

What each parameter does on this server (nothing is dropped silently):

* honoured: places, ``time``, ``arriveBy``, ``searchWindow``, ``numItineraries``,
  ``maxItineraries``, ``pageCursor``, ``timetableView``, ``maxTransfers``,
  ``minTransferTime`` + ``additionalTransferTime`` (the slack of every transfer),
  ``maxTravelTime``, ``radius``, ``pedestrianSpeed``, ``cyclingSpeed``,
  ``maxMatchingDistance`` (snapping to the OSM street graph where one is loaded),
  ``detailedTransfers``, ``detailedLegs``, the modes with their rental form factors,
  propulsion types and providers, ``requireBikeTransport``, the ``max*Time`` bounds
  (capped by the server's limits, as MOTIS caps them by its configuration),
  ``fastestDirectFactor``, ``timeout``;
* answered as MOTIS answers them without the data they act on: ``elevationCosts`` (no
  elevation data), ``joinInterlinedLegs`` (no interlined trips: GTFS ``block_id`` is not
  read), ``noCompulsoryReservation`` (GTFS has no reservation field; no trip requires
  one), ``withFares`` (no fare data), ``withScheduledSkippedStops`` and ``realtimeMode``
  (no realtime data), ``language`` (names are the feed's; no translations.txt),
  ``passengers``, ``luggage`` and the ``vehicle*`` sizes (only for ODM and HGV, which
  this server does not offer), ``algorithm`` and ``slowDirect``/
  ``fastestSlowDirectFactor`` (the server's own search answers the same question);
* refused with a 400 naming them when set to anything but their default, because this
  server cannot do what they ask: ``via``, ``transferTimeFactor`` != 1,
  ``pedestrianProfile=WHEELCHAIR``, ``useRoutedTransfers=true``,
  ``requireCarTransport=true``, ``numLegAlternatives`` > 0,
  ``ignore*RentalReturnConstraints=true`` and the modes in :data:`UNSUPPORTED_MODES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from api.common import ApiError


def _bool(text: str, name: str) -> bool:
    low = text.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0", ""):
        return False
    raise ApiError(400, f"{name}: expected true or false, got {text!r}", name)


@dataclass(frozen=True)
class QueryParams:
    """One request's query string: the last value of each name, arrays comma-separated
    (MOTIS's ``explode: false``) or repeated."""

    values: Mapping[str, Sequence[str]]

    def raw(self, name: str) -> str | None:
        got = self.values.get(name)
        return got[-1] if got else None

    def string(self, name: str) -> str | None:
        return self.raw(name)

    @classmethod
    def of(cls, items: Iterable[tuple[str, str]]) -> QueryParams:
        """From a multi-dict's ``multi_items()``: repeated names keep every value."""
        values: dict[str, list[str]] = {}
        for key, value in items:
            values.setdefault(key, []).append(value)
        return cls(values)

    def required(self, name: str) -> str:
        text = self.raw(name)
        if not text:
            raise ApiError(400, f"{name}: required", name)
        return text

    def _parsed(self, name: str, parse: Callable[[str], float], expected: str) -> float | None:
        """The value read by ``parse``, None when absent or blank."""
        text = self.raw(name)
        if text is None or text.strip() == "":
            return None
        try:
            value = parse(text.strip())
        except ValueError:
            raise ApiError(400, f"{name}: expected {expected}, got {text!r}", name) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ApiError(400, f"{name}: expected a finite number, got {text!r}", name)
        return value

    def integer(self, name: str, default: int | None = None,
                minimum: int | None = None) -> int | None:
        value = self._parsed(name, int, "an integer")
        if value is None:
            return default
        if minimum is not None and value < minimum:
            raise ApiError(400, f"{name}: must be at least {minimum}, got {value}", name)
        return int(value)

    def number(self, name: str, default: float | None = None,
               minimum: float | None = None) -> float | None:
        value = self._parsed(name, float, "a number")
        if value is None:
            return default
        if minimum is not None and value < minimum:
            raise ApiError(400, f"{name}: must be at least {minimum:g}, got {value:g}", name)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        text = self.raw(name)
        return default if text is None else _bool(text, name)

    def array(self, name: str, default: tuple[str, ...] | None = None
              ) -> tuple[str, ...] | None:
        """Upper-cased items; None when absent, () when present but empty."""
        got = self.values.get(name)
        if got is None:
            return default
        items = [x.strip() for v in got for x in v.split(",")]
        return tuple(dict.fromkeys(x for x in items if x))

    def strings(self, name: str) -> tuple[str, ...] | None:
        """Like :meth:`array` but case kept (provider ids)."""
        return self.array(name)

    def enum(self, name: str, allowed: Sequence[str], default: str) -> str:
        text = self.raw(name)
        if text is None or text.strip() == "":
            return default
        value = text.strip().upper()
        if value not in allowed:
            raise ApiError(400, f"{name}: expected one of {', '.join(allowed)}, got {text!r}",
                           name)
        return value


def refuse_unless(condition: bool, name: str, why: str) -> None:
    """400 naming ``name`` when a parameter asks for what this server cannot do."""
    if not condition:
        raise ApiError(400, f"{name}: {why}", name)


#: Street and transit modes of MOTIS's Mode enum this server does not offer.
UNSUPPORTED_MODES = frozenset({"CAR_PARKING", "CAR_DROPOFF", "ODM", "RIDE_SHARING", "FLEX",
                               "HGV", "DEBUG_BUS_ROUTE", "DEBUG_RAILWAY_ROUTE",
                               "DEBUG_FERRY_ROUTE", "CAR_TO_PARK"})
#: MOTIS's RentalFormFactor and RentalPropulsionType values.
FORM_FACTORS = ("BICYCLE", "CARGO_BICYCLE", "CAR", "MOPED", "SCOOTER_STANDING",
                "SCOOTER_SEATED", "OTHER")
PROPULSION_TYPES = ("HUMAN", "ELECTRIC_ASSIST", "ELECTRIC", "COMBUSTION",
                    "COMBUSTION_DIESEL", "HYBRID", "PLUG_IN_HYBRID", "HYDROGEN_FUEL_CELL")


def check_values(name: str, given: tuple[str, ...] | None, allowed: Sequence[str]) -> None:
    bad = [x for x in given or () if x.upper() not in allowed]
    if bad:
        raise ApiError(400, f"{name}: unknown value(s) {', '.join(bad)}; expected any of "
                            f"{', '.join(allowed)}", name)
