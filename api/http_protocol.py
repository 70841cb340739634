"""uvicorn's httptools protocol with the header bound its h11 protocol has.

``owl-planner serve`` ran the h11 parser because httptools read a request's headers
whatever their size (a 50 MB header was read whole, issue 16). h11 is pure Python: on a
HART plan it cost ~0.2 ms of server CPU per request more than httptools (a cached
answer 0.70 vs 0.51 ms, ``benchmarks/api.py``). This keeps httptools and counts the
reads a request's head has taken so far; past uvicorn's ``h11_max_incomplete_event_size``
(``OWL_MAX_HEADER_BYTES``) it answers 431 and closes the connection, as h11 refuses an
incomplete head buffered past that size. Each read is parsed before it is counted, so a
head is refused at most one read (uvicorn reads 64-256 KB) past the bound: what matters
is that the memory it holds stays bounded. A read that ends a head is not counted (as
h11 does not), so a body sent in the same read as its head is not either.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Used when uvicorn's config names no bound (h11's default).
DEFAULT_MAX_HEAD = 16 * 1024

_REFUSED = (b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: 31\r\nconnection: close\r\n\r\n"
            b"Request header fields too large")


class BoundedHttpTools(HttpToolsProtocol):
    """httptools, refusing a request head larger than the configured bound (431)."""

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        bound = getattr(config, "h11_max_incomplete_event_size", None)
        self.max_head = DEFAULT_MAX_HEAD if bound is None else int(bound)
        self._head_bytes = 0  # of the head being read; -1 while a body is read
        self._refused = False
        self._head_ended = False  # a head ended during the read being parsed

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._head_ended = False
        super().data_received(data)
        # a read that ended a head may carry its body (a POST of one-to-many) or the
        # start of the next head: only reads wholly within a head are counted
        if self._head_ended or self._head_bytes < 0:
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.max_head and not self.transport.is_closing():
            self._refused = True
            self.transport.write(_REFUSED)
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._head_bytes = -1
        self._head_ended = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head_bytes = 0  # the next request's head starts
        super().on_message_complete()


#: What ``uvicorn.run(http=...)`` takes (a string: ``--workers`` processes import it).
PROTOCOL = "api.http_protocol:BoundedHttpTools"
