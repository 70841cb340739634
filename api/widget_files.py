"""The widget's files as a CMS page loads them: compressed, revalidated, long-cached.

Issue 14: ``widget.js`` (59 KB, 18 KB gzipped) went out uncompressed, without
``Cache-Control``, and a conditional request got 200. Each file is read once per change
(mtime) and kept with its gzip form and an ETag from its content; ``If-None-Match``
gets 304. ``/widget.js`` is revalidated after a short time, so a town's page sees a new
release within minutes; ``/widget.<version>.js`` names one release and is cached for a
year (``immutable``). Our own pages load the versioned URL.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request, Response

from api.common import ApiError

STATIC_DIR = Path(__file__).resolve().parent / "static"
SHORT_CACHE = "public, max-age=300, stale-while-revalidate=86400"
LONG_CACHE = "public, max-age=31536000, immutable"
PAGE_CACHE = "no-cache"
#: name served -> (file in api/static, media type)
FILES = {"widget.js": "text/javascript; charset=utf-8",
         "index.html": "text/html; charset=utf-8",
         "plan.html": "text/html; charset=utf-8",
         "hostile.html": "text/html; charset=utf-8",
         "favicon.svg": "image/svg+xml"}
PAGES = {"/": "index.html", "/plan": "plan.html", "/test/hostile.html": "hostile.html"}


@dataclass(frozen=True)
class Loaded:
    mtime: float
    body: bytes
    gzipped: bytes
    version: str  # first 12 hex digits of the content's SHA-256


class WidgetFiles:
    """Reads, compresses and versions the static files (re-read when one changes)."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = directory
        self._cache: dict[str, Loaded] = {}

    def load(self, name: str) -> Loaded:
        path = self.directory / name
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            raise ApiError(404, f"{name} is not installed (api/static/{name} missing)",
                           code="not_found") from None
        cached = self._cache.get(name)
        if cached is not None and cached.mtime == mtime:
            return cached
        body = path.read_bytes()
        if name.endswith(".html"):  # our pages load the long-cached release of the widget
            body = body.replace(b'src="/widget.js"',
                                f'src="/widget.{self.load("widget.js").version}.js"'.encode())
        loaded = Loaded(mtime, body, gzip.compress(body, 9, mtime=0),
                        hashlib.sha256(body).hexdigest()[:12])
        self._cache[name] = loaded
        return loaded

    def respond(self, request: Request, name: str, cache: str) -> Response:
        f = self.load(name)
        accepts_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
        etag = f'"{f.version}{"-gz" if accepts_gzip else ""}"'
        headers = {"ETag": etag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
        if name == "widget.js":
            headers["Link"] = f'</widget.{f.version}.js>; rel="canonical"'
        wanted = {t.strip().removeprefix("W/") for t in
                  request.headers.get("if-none-match", "").split(",")}
        if etag in wanted or "*" in wanted:
            return Response(status_code=304, headers=headers)
        if accepts_gzip:
            headers["Content-Encoding"] = "gzip"
            return Response(f.gzipped, media_type=FILES[name], headers=headers)
        return Response(f.body, media_type=FILES[name], headers=headers)


def register_widget_files(app: FastAPI) -> None:
    files = WidgetFiles()

    def page(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            return files.respond(request, name, PAGE_CACHE)
        return serve

    for path, name in PAGES.items():
        app.add_api_route(path, page(name), methods=["GET"], include_in_schema=False)

    @app.get("/widget.js", include_in_schema=False)
    async def widget(request: Request) -> Response:
        return files.respond(request, "widget.js", SHORT_CACHE)

    @app.get("/widget.{version}.js", include_in_schema=False)
    async def widget_release(request: Request, version: str) -> Response:
        current = files.load("widget.js").version
        if version != current:  # an old release is not kept: send the current one, briefly
            return files.respond(request, "widget.js", SHORT_CACHE)
        return files.respond(request, "widget.js", LONG_CACHE)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon(request: Request) -> Response:
        return files.respond(request, "favicon.svg", SHORT_CACHE)
