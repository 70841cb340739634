"""api.common.iso_local: the text datetime.isoformat() gives, without a zone conversion
per time, across changes of offset (DST both ways, half-hour DST, odd offsets)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from api.common import iso_local

# (zone, a moment an hour or so before one of its changes of offset)
CHANGES = [
    ("Europe/Berlin", "2026-03-29T00:30:00+00:00"),  # +01:00 -> +02:00 at 01:00 UTC
    ("Europe/Berlin", "2026-10-25T00:00:00+00:00"),  # back, the local hour twice
    ("America/New_York", "2021-03-14T06:00:00+00:00"),
    ("America/New_York", "2021-11-07T05:00:00+00:00"),
    ("Australia/Lord_Howe", "2026-04-04T14:00:00+00:00"),  # 30-minute DST
    ("Pacific/Apia", "2011-12-30T08:30:00+00:00"),  # a day skipped (-10:00 -> +14:00)
    ("Africa/Monrovia", "1972-01-06T23:00:00+00:00"),  # -00:44:30 -> +00:00 at 00:44:30
]


@pytest.mark.parametrize(("zone", "around"), CHANGES)
def test_same_text_as_isoformat(zone: str, around: str) -> None:
    tz = ZoneInfo(zone)
    start = int(datetime.fromisoformat(around).timestamp())
    hours: dict[int, tuple[int, str] | None] = {}
    offsets = set()
    for posix in range(start, start + 4 * 3600, 7):
        expected = datetime.fromtimestamp(posix, tz).isoformat()
        offsets.add(expected[19:])
        assert iso_local(posix, tz, hours) == expected, posix
    assert len(offsets) == 2  # the change is in the range
    # the hour of a change within it takes the conversion, the others their offset
    assert (None in hours.values()) == (zone == "Africa/Monrovia")
    assert any(v is not None for v in hours.values())


def test_local_midnight_at_an_odd_offset() -> None:
    tz = ZoneInfo("Asia/Kathmandu")  # +05:45: local days start at 18:15 UTC
    start = int(datetime.fromisoformat("2026-01-01T17:00:00+00:00").timestamp())
    hours: dict[int, tuple[int, str] | None] = {}
    texts = [iso_local(p, tz, hours) for p in range(start, start + 3 * 3600, 5)]
    assert texts == [datetime.fromtimestamp(p, tz).isoformat()
                     for p in range(start, start + 3 * 3600, 5)]
    assert {t[:10] for t in texts} == {"2026-01-01", "2026-01-02"}
