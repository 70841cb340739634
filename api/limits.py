"""What one client may cost the server: request rate, concurrent searches, search size.

Issue 16: 20 concurrent worst-case plans from one client pushed everyone else's plans to
43 % 503s. Three limits keep ordinary requests fast while someone floods:

* :class:`ClientRateLimit` (ASGI middleware): a token bucket per client; past it, 429 with
  ``Retry-After``, before any work is done. It also sets :data:`CLIENT` for the request.
* :class:`SearchGate` (used by ``Runtime.run``): at most ``capacity`` searches admitted
  (running or waiting for a thread) and at most ``per_client`` of them from one client.
  A search is charged until its thread finishes, not until its request gives up at the
  deadline, so a client cannot pile abandoned searches onto the pool. Full: 503 (or 429
  for the client's own limit) with ``Retry-After`` at once, never a wait in the queue.
* :func:`check_cost`: the search-size budget of one request (window x itineraries x
  walking), a 400 that names the parameter to shrink.

Clients are told apart by their address (``X-Forwarded-For``'s last hop when the
connection comes from a trusted proxy, which is what a proxy in front appends).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

import orjson

from api.common import ApiError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The client of the request being served ("" outside a request, e.g. in tests).
CLIENT: ContextVar[str] = ContextVar("owl_client", default="")


def client_of(scope: Scope, trusted_proxies: frozenset[str]) -> str:
    """The client address: the peer, or the last address a trusted proxy appended."""
    peer = (scope.get("client") or ("", 0))[0]
    if peer in trusted_proxies:
        for name, value in scope.get("headers") or ():
            if name == b"x-forwarded-for":
                hops = [h.strip() for h in value.decode("latin-1").split(",") if h.strip()]
                if hops:
                    return hops[-1]
    return str(peer)


class TokenBuckets:
    """``rate`` requests per second per key with bursts of ``burst``; least recently seen
    keys are forgotten beyond ``max_keys`` (a full bucket is what a new key gets anyway)."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_keys, self.clock = rate, burst, max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 if a request may go now (and charge it), else seconds until one may."""
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - seen) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait


def retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


class ClientRateLimit:
    """ASGI middleware: per-client token bucket on ``/api/`` paths (health excepted, so a
    load balancer's probes never count), and :data:`CLIENT` set for the request."""

    def __init__(self, app: ASGIApp, rate_per_minute: float, burst: float,
                 trusted_proxies: tuple[str, ...] = ()) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate_per_minute / 60.0, burst) if rate_per_minute > 0 \
            else None
        self.trusted = frozenset(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = client_of(scope, self.trusted)
        token = CLIENT.set(client)
        try:
            path = str(scope.get("path", ""))
            limited = path.startswith("/api/") and not path.endswith("/health")
            wait = self.buckets.take(client) if limited and self.buckets else 0.0
            if wait > 0:
                await _refuse(send, 429, "too many requests from this client; retry later",
                              retry_after(wait))
                return
            await self.app(scope, receive, send)
        finally:
            CLIENT.reset(token)


async def _refuse(send: Send, status: int, message: str, headers: dict[str, str]) -> None:
    body = orjson.dumps({"error": message})
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class SearchGate:
    """Admission to the search pool (see the module docstring)."""

    def __init__(self, capacity: int, per_client: int, retry_seconds: float) -> None:
        self.capacity, self.per_client, self.retry_seconds = capacity, per_client, retry_seconds
        self.active = 0
        self._by_client: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, client: str) -> None:
        """Charge one search to ``client``; :class:`ApiError` 503/429 when full."""
        with self._lock:
            if self.active >= self.capacity:
                raise ApiError(503, f"the server is busy ({self.active} searches running "
                                    "or waiting); retry shortly",
                               headers=retry_after(self.retry_seconds))
            mine = self._by_client.get(client, 0)
            if client and mine >= self.per_client:
                raise ApiError(429, f"this client already has {mine} searches running; "
                                    "wait for them to finish",
                               headers=retry_after(self.retry_seconds))
            self.active += 1
            self._by_client[client] = mine + 1

    def release(self, client: str) -> None:
        with self._lock:
            self.active -= 1
            left = self._by_client.get(client, 1) - 1
            if left > 0:
                self._by_client[client] = left
            else:
                self._by_client.pop(client, None)


def request_cost(window_seconds: float, itineraries: int, walk_seconds: float) -> float:
    """Search-size units of one plan: hours of departure window (at least one), times the
    itineraries asked for, times quarter-hours of walking allowed at each end (at least
    one). The default plan (15 min, 5 itineraries, 15 min walks) costs 5; issue 16's
    attack (6 h, 10, 3,600 s) costs 240."""
    return (max(1.0, window_seconds / 3600.0) * max(1, itineraries)
            * max(1.0, walk_seconds / 900.0))


def check_cost(budget: float, *, window: tuple[str, float], itineraries: tuple[str, int],
               walk: tuple[str, float]) -> None:
    """400 naming the parameter that weighs most when a plan exceeds ``budget`` units
    (each factor as ``(parameter name, value)``); ``budget <= 0`` disables the check."""
    cost = request_cost(window[1], itineraries[1], walk[1])
    if budget <= 0 or cost <= budget:
        return
    factors = {window[0]: max(1.0, window[1] / 3600.0),
               itineraries[0]: float(max(1, itineraries[1])),
               walk[0]: max(1.0, walk[1] / 900.0)}
    worst = max(factors, key=lambda k: factors[k])
    raise ApiError(400, f"{worst}: this request would cost {cost:g} search units, more "
                        f"than the {budget:g} allowed (search window hours x itineraries "
                        f"x quarter-hours of walking); reduce {worst}", worst)
