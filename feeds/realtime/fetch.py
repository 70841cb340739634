"""Getting the bytes of a GTFS-Realtime feed: a file, or a URL polled conditionally.

A URL is asked with ``If-None-Match`` / ``If-Modified-Since`` from the previous answer,
so an unchanged feed costs a 304 and no parse; connect errors, timeouts and 5xx are
retried with a doubling backoff, and a whole fetch has a deadline (httpx's timeout
bounds each read, so a server dripping a byte a second would otherwise hang the poller).
A file counts as unchanged while its size and modification time are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx


class FetchError(OSError):
    """The feed could not be fetched (after retries); the last good state stays."""


@dataclass
class FetchOptions:
    timeout: float = 10.0  # seconds per network read
    deadline: float = 30.0  # seconds for one fetch, retries included
    retries: int = 2  # on connect errors, timeouts and 5xx
    backoff: float = 0.5  # seconds before the first retry, doubled per retry
    max_bytes: int = 64 << 20  # a realtime feed bigger than this is refused


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


class FeedSource:
    """One feed location; :meth:`fetch` returns new bytes, or None when unchanged."""

    def __init__(self, location: str, options: FetchOptions | None = None,
                 client: httpx.Client | None = None) -> None:
        self.location = location
        self.options = options or FetchOptions()
        self._client = client
        self._etag: str | None = None
        self._last_modified: str | None = None
        self._file_key: tuple[int, int] | None = None

    def fetch(self, force: bool = False) -> bytes | None:
        if is_url(self.location):
            return self._fetch_url(force)
        return self._fetch_file(force)

    def _fetch_file(self, force: bool) -> bytes | None:
        path = Path(self.location.removeprefix("file:"))
        try:
            st = path.stat()
            key = (st.st_size, st.st_mtime_ns)
            if key == self._file_key and not force:
                return None
            data = path.read_bytes()
        except OSError as exc:
            raise FetchError(f"{path}: {exc.strerror or exc}") from exc
        self._file_key = key
        return data

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.options.timeout, follow_redirects=True)
        return self._client

    def _fetch_url(self, force: bool) -> bytes | None:
        opts = self.options
        headers: dict[str, str] = {"Accept": "application/x-protobuf, application/json"}
        if not force:
            if self._etag:
                headers["If-None-Match"] = self._etag
            if self._last_modified:
                headers["If-Modified-Since"] = self._last_modified
        end = time.monotonic() + opts.deadline
        wait = opts.backoff
        for attempt in range(opts.retries + 1):
            try:
                return self._get(headers, end)
            except _Retry as exc:
                if attempt == opts.retries or time.monotonic() + wait > end:
                    raise FetchError(f"{self.location}: {exc}") from None
            time.sleep(wait)
            wait *= 2
        raise AssertionError("unreachable")

    def _get(self, headers: dict[str, str], end: float) -> bytes | None:
        try:
            with self.client.stream("GET", self.location, headers=headers,
                                    timeout=self.options.timeout) as resp:
                if resp.status_code == 304:
                    return None
                if resp.status_code >= 500:
                    raise _Retry(f"HTTP {resp.status_code}")
                if resp.status_code != 200:
                    raise FetchError(f"{self.location}: HTTP {resp.status_code}")
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > self.options.max_bytes:
                        raise FetchError(f"{self.location}: larger than "
                                         f"{self.options.max_bytes} bytes")
                    if time.monotonic() > end:
                        raise _Retry("deadline exceeded while reading")
                    chunks.append(chunk)
                self._etag = resp.headers.get("ETag")
                self._last_modified = resp.headers.get("Last-Modified")
                return b"".join(chunks)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc


class _Retry(Exception):
    """A failure worth another attempt."""
