"""Headers every answer carries, and HEAD answered like GET without a body.

Issue 16: no ``X-Content-Type-Options``, no framing policy, no CSP for the pages, and
HEAD (what uptime checkers and link checkers send) got 405. The API's answers are JSON
that no browser should sniff into HTML or frame; the demo page and the widget's files get
a content security policy that allows only this origin, plus images from the configured
map tile hosts (api/map_tiles.py; the widget's map is complete without them). Plain ASGI:
no per-request task, no body buffering.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ALWAYS = ((b"x-content-type-options", b"nosniff"),
          (b"x-frame-options", b"DENY"),
          (b"referrer-policy", b"no-referrer"))
API_CSP = b"default-src 'none'; frame-ancestors 'none'"


def page_csp(image_origins: tuple[str, ...] = ()) -> bytes:
    """For the HTML pages (demo page, /plan, API docs): this origin only, never framed;
    images also from ``image_origins`` (the map's tile hosts). The docs page (Swagger UI)
    runs one inline script that FastAPI writes."""
    for origin in image_origins:  # they end up in a header: no separators smuggled in
        if any(c in origin for c in " ;,\r\n'\""):
            raise ValueError(f"not an origin for a CSP: {origin!r}")
    images = " ".join(("'self'", "data:", *image_origins))
    return (f"default-src 'self'; img-src {images}; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'").encode()


class ResponseHeaders:
    """Adds :data:`ALWAYS` and a CSP to every response; serves HEAD as GET minus body."""

    def __init__(self, app: ASGIApp, image_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.page_csp = page_csp(image_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                extra = [(k, v) for k, v in ALWAYS if k not in names]
                if b"content-security-policy" not in names:
                    page = any(k.lower() == b"content-type" and v.startswith(b"text/html")
                               for k, v in headers)
                    extra.append((b"content-security-policy", self.page_csp if page else API_CSP))
                message = {**message, "headers": headers + extra}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_headers)
