"""Headers every answer carries, and HEAD answered like GET without a body.

Issue 16: no ``X-Content-Type-Options``, no framing policy, no CSP for the pages, and
HEAD (what uptime checkers and link checkers send) got 405. The API's answers are JSON
that no browser should sniff into HTML or frame; the demo page and the widget's files get
a content security policy that allows only this origin (the widget draws its own map and
needs no third party). Plain ASGI: no per-request task, no body buffering.
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
#: For the HTML pages (demo page, API docs): this origin only, never framed. The docs
#: page (Swagger UI) runs one inline script that FastAPI writes.
PAGE_CSP = (b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            b"script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; "
            b"base-uri 'none'; form-action 'self'")
API_CSP = b"default-src 'none'; frame-ancestors 'none'"


class ResponseHeaders:
    """Adds :data:`ALWAYS` and a CSP to every response; serves HEAD as GET minus body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
                    extra.append((b"content-security-policy", PAGE_CSP if page else API_CSP))
                message = {**message, "headers": headers + extra}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_headers)
