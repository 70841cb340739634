"""GTFS-Realtime messages shared by every serving process through Redis.

One process holds a lease (``SET NX PX``, renewed while it lives, taken over by another
when it expires) and is the only one that fetches; each message it accepted (parsed and
validated) goes on a Redis stream as its raw bytes, with the feed's name, the time it
was received and whether it is a ``FULL_DATASET``. Every process, the fetcher included,
merges the same bytes at the same received time into its own :class:`RealtimeFeed`, so
all of them derive the same realtime version from their own static timetable. A process
that starts late replays the stream from each feed's last full message (the stream is
capped with ``MAXLEN``; a ``DIFFERENTIAL`` chain longer than that is cut at the cap).

Raw bytes, not pickles: a process never runs what it reads from Redis, it parses it.
Every Redis call here may raise ``redis.RedisError`` / ``OSError``; the caller keeps
the last version it applied (and lets it turn stale) until Redis answers again.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

#: Renew the lease only if we still hold it (another may have taken it over meanwhile).
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class BusEntry:
    """One accepted message as it travels: stream id, feed name, bytes, received time."""

    id: str
    feed: str
    data: bytes
    received: float
    full: bool


class FeedBus:
    """The lease and the stream of one deployment (``prefix`` keeps deployments apart)."""

    def __init__(self, url: str, prefix: str = "owl:rt", lease_seconds: float = 10.0,
                 maxlen: int = 1000, timeout: float = 2.0) -> None:
        import redis

        self.url = url
        self.stream = f"{prefix}:messages"
        self.lease_key = f"{prefix}:fetcher"
        self.lease_ms = max(100, int(lease_seconds * 1000))
        self.maxlen = maxlen
        #: who we are in the lease (health names the holder: host and pid)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._client: Any = redis.Redis.from_url(url, socket_timeout=timeout,
                                                 socket_connect_timeout=timeout,
                                                 health_check_interval=0)

    # --- the lease ---------------------------------------------------------------------------
    def hold_lease(self) -> bool:
        """Take the lease if free, renew it if ours; True while we are the fetcher."""
        if self._client.eval(_RENEW, 1, self.lease_key, self.token, self.lease_ms):
            return True
        return bool(self._client.set(self.lease_key, self.token, nx=True, px=self.lease_ms))

    def release_lease(self) -> None:
        """Hand the lease back at shutdown, so another process takes over at once."""
        self._client.eval(_RELEASE, 1, self.lease_key, self.token)

    def holder(self) -> str | None:
        value = self._client.get(self.lease_key)
        return value.decode() if value is not None else None

    # --- the stream --------------------------------------------------------------------------
    def publish(self, feed: str, data: bytes, received: float, full: bool) -> str:
        """Append one accepted message; its stream id (the version number) is returned."""
        entry_id = self._client.xadd(
            self.stream, {"feed": feed, "data": data, "received": repr(received),
                          "full": "1" if full else "0"},
            maxlen=self.maxlen, approximate=True)
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def read(self, after: str, block_ms: int) -> list[BusEntry]:
        """Entries after stream id ``after``, waiting up to ``block_ms`` for the first."""
        answer = self._client.xread({self.stream: after}, block=block_ms, count=100)
        return [e for _, entries in answer or () for e in map(_entry, entries)
                if e is not None]

    def catch_up(self) -> tuple[list[BusEntry], str]:
        """What a process starting now must merge: per feed, its last full message and
        the differential ones after it (in stream order); and the last stream id."""
        raw = self._client.xrange(self.stream, "-", "+")
        entries = [e for e in map(_entry, raw) if e is not None]
        last = entries[-1].id if entries else "0-0"
        first_kept: dict[str, int] = {}
        for i, e in enumerate(entries):
            if e.full or e.feed not in first_kept:
                first_kept[e.feed] = i
        return [e for i, e in enumerate(entries) if i >= first_kept[e.feed]], last


def _entry(raw: tuple[Any, dict[bytes, bytes]]) -> BusEntry | None:
    """A stream entry as a :class:`BusEntry`; None for one we cannot read (skipped)."""
    entry_id, fields = raw
    try:
        return BusEntry(entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id),
                        fields[b"feed"].decode(), fields[b"data"],
                        float(fields[b"received"]), fields.get(b"full") == b"1")
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
