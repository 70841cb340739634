"""Response cache: Redis when ``REDIS_URL`` is set (shared by workers), else an in-process LRU.

Keys carry the timetable version, so a new version never serves old answers; the LRU is
also cleared when the version changes, and Redis entries expire after ``ttl``.
If Redis fails mid-run the request is answered without the cache; the failure is logged
once per outage and Redis is retried after ``retry_after`` seconds.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger(__name__)


def cache_key(kind: str, version: str, normalised: str) -> str:
    digest = hashlib.sha256(normalised.encode()).hexdigest()[:32]
    return f"owl:{kind}:{version}:{digest}"


class LruCache:
    """A thread-safe LRU of byte strings, bounded by entries and by bytes: answers range
    from 1 KB to ~130 KB (a HART plan with geometry), so a count alone bounds nothing."""

    backend = "memory"

    def __init__(self, size: int = 2048, max_bytes: int = 256 << 20) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        if self.size <= 0 or len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            self.nbytes += len(value) - (len(old) if old is not None else 0)
            self._data[key] = value
            while len(self._data) > self.size or self.nbytes > self.max_bytes:
                _, dropped = self._data.popitem(last=False)
                self.nbytes -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.nbytes = 0

    def __len__(self) -> int:
        return len(self._data)


class RedisCache:
    """Redis-backed cache that degrades to "no cache" while Redis is unreachable."""

    backend = "redis"

    def __init__(self, url: str, ttl: int = 3600, retry_after: float = 5.0,
                 on_error: Callable[[], None] | None = None) -> None:
        import redis

        self.url = url
        self.ttl = ttl
        self.retry_after = retry_after
        self.on_error = on_error
        self._client = redis.Redis.from_url(url, socket_timeout=0.25,
                                            socket_connect_timeout=0.25,
                                            health_check_interval=0)
        self._down_since: float | None = None
        self._last_error = ""
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self._down_since is None

    @property
    def last_error(self) -> str:
        return self._last_error

    def _skip(self) -> bool:
        down = self._down_since
        return down is not None and time.monotonic() - down < self.retry_after

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            first = self._down_since is None
            self._down_since = time.monotonic()
            self._last_error = f"{type(exc).__name__}: {exc}"
        if first:
            log.warning("redis cache at %s unavailable, answering without cache: %s",
                        self.url, self._last_error)
        if self.on_error:
            self.on_error()

    def _ok(self) -> None:
        if self._down_since is not None:
            with self._lock:
                self._down_since = None
            log.warning("redis cache at %s is back", self.url)

    def get(self, key: str) -> bytes | None:
        if self._skip():
            return None
        try:
            value = self._client.get(key)
        except Exception as exc:  # any redis/socket failure: bypass the cache
            self._failed(exc)
            return None
        self._ok()
        # redis-py types every command as sync-or-async; this client is the sync one.
        return value  # type: ignore[return-value]

    def set(self, key: str, value: bytes) -> None:
        if self._skip():
            return
        try:
            self._client.set(key, value, ex=self.ttl)
        except Exception as exc:
            self._failed(exc)
            return
        self._ok()

    def clear(self) -> None:
        """Versioned keys make old entries unreachable; they expire by TTL."""

    def ping(self) -> bool:
        try:
            ok = bool(self._client.ping())
        except Exception as exc:
            self._failed(exc)
            return False
        self._ok()
        return ok


def make_cache(redis_url: str, size: int, ttl: int,
               on_error: Callable[[], None] | None = None,
               max_bytes: int = 256 << 20) -> LruCache | RedisCache:
    if redis_url:
        return RedisCache(redis_url, ttl=ttl, on_error=on_error)
    return LruCache(size, max_bytes)
