"""Itinerary ids that carry the itinerary (MOTIS's ``id``, for ``refresh-itinerary``).

An id lists each leg's mode, ``tripId``, end places (a stop id, or ``lat,lon``) and
times, deflated and base64url-encoded, so any server process can rebuild the itinerary
on the timetable version it has now; no server state is kept per answer.
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

#: One leg as encoded: (mode, tripId or "", from place, to place, start, end POSIX)
EncodedLeg = tuple[str, str, str, str, int, int]


def _place(p: dict[str, Any]) -> str:
    stop = p.get("stopId")
    return str(stop) if stop else f"{p['lat']:.7f},{p['lon']:.7f}"


@lru_cache(maxsize=1 << 16)  # a plan's legs repeat few times; parsing them was a hot spot
def _posix(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


def encode(legs: list[dict[str, Any]]) -> str:
    """The id of rendered legs (MOTIS ``Leg`` objects)."""
    rows = [[x["mode"], x.get("tripId") or "", _place(x["from"]), _place(x["to"]),
             _posix(x["startTime"]), _posix(x["endTime"])] for x in legs]
    raw = orjson.dumps(rows)  # the JSON json.dumps wrote, UTF-8 instead of \u escapes
    # A 1 KiB window and small hash tables: an id's JSON is a few hundred bytes, and
    # zlib's default 32 KiB state took ~10x longer to set up than to compress it (same
    # output length); zlib.decompress reads any window size from the header.
    deflate = zlib.compressobj(9, zlib.DEFLATED, 10, 2)
    packed = deflate.compress(raw) + deflate.flush()
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode(text: str) -> list[EncodedLeg]:
    """The legs of an id; ValueError when it is not one this server wrote."""
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        rows = json.loads(raw)
        legs = [(str(m), str(t), str(a), str(b), int(s), int(e)) for m, t, a, b, s, e in rows]
    except (ValueError, TypeError, zlib.error) as exc:
        raise ValueError(f"not an itinerary id of this server: {exc}") from None
    if not legs:
        raise ValueError("not an itinerary id of this server: no legs")
    return legs
