"""The FastAPI application: MOTIS-style ``/api/v1`` endpoints over the compiled timetable.

``create_app()`` is the factory (``uvicorn --factory api.app:create_app``); without
arguments it reads its settings from the environment, which is how ``--workers N`` gets
them. Slow work (compiling a day, searching) runs in a bounded thread pool with a
per-request deadline, so the event loop stays free and one request cannot hold a worker.
"""


import asyncio
import gc
import hmac
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.common import ApiError, error_code
from api.limits import ClientRateLimit
from api.locate import register_locate
from api.map_tiles import TileSource, image_origins, tile_source
from api.maps import register_maps
from api.metrics import CONTENT_TYPE_LATEST, Metrics
from api.plan import register_plan
from api.positions import register_positions
from api.reach import register_reach
from api.refresh import register_refresh
from api.rentals import register_rentals
from api.response_headers import ResponseHeaders
from api.runtime import Runtime
from api.settings import Settings, load_settings
from api.stoptimes import register_stoptimes
from api.towns import register_towns
from api.widget_files import STATIC_DIR, register_widget_files
from feeds.gtfs import GtfsError

log = logging.getLogger(__name__)


def _error(status: int, message: str, parameter: str | None = None,
           code: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": message, "code": code or error_code(status)}
    if parameter:
        body["parameter"] = parameter
    body.update(extra)
    return JSONResponse(body, status_code=status)


class MetricsMiddleware:
    """Request counts and latencies per route template (plain ASGI: no per-request task)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status[0])).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


#: GIL hand-over interval while serving. Search threads run Python between their nogil
#: cores; with the default 5 ms the event loop can wait that long for the GIL per switch,
#: which showed as tail latency under load.
SWITCH_INTERVAL = 0.0005


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    # Checked before anything starts: a bad tile template or town entry fails loudly.
    tiles = tile_source(settings.map_tiles, settings.map_tile_attribution,
                        "map_tiles (OWL_MAP_TILES)")
    sys.setswitchinterval(SWITCH_INTERVAL)
    rt = Runtime(settings)
    towns = rt.towns  # the configured municipalities, read once by the Runtime

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        rt.sharing.start()  # no thread without GBFS feeds
        rt.places.start()  # no thread without OSM extracts
        if settings.warm_start:  # the default day, before the first request
            await asyncio.to_thread(rt.store.warm)
        rt.realtime.start()  # no thread without GTFS-RT feeds
        # What start-up built (the app, a prepared day's objects) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks it.
        # It did every ~100 HART plans for ~50 ms, 0.5 ms per plan (issue 13 point 5).
        gc.freeze()
        try:
            yield
        finally:
            await asyncio.to_thread(rt.sharing.stop)
            await asyncio.to_thread(rt.realtime.stop)

    # FastAPIOffline: the docs page's Swagger UI from the package, not a CDN (issue 16:
    # /docs failed offline); a well-kept drop-in rather than vendored JS of our own.
    app = FastAPIOffline(
        lifespan=lifespan,
        title="OWL journey planner",
        version="1.0",
        description="Journey planning for Ostwestfalen-Lippe: MOTIS-style REST API "
                    "(versioned paths, ISO 8601 times, places as `lat,lon` or a stop id). "
                    "Leg geometries are Google encoded polylines with precision 7.",
    )
    app.state.runtime = rt
    # The request headers a client of this API sends; "*" echoed any header asked for.
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                       allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
                       allow_headers=["Accept", "Accept-Language", "Content-Type",
                                      "Authorization", "If-None-Match"],
                       expose_headers=["Retry-After"], max_age=3600)
    app.add_middleware(ResponseHeaders, image_origins=image_origins(
        [tiles, *(t.tile_source for t in towns.values())]))

    app.add_middleware(MetricsMiddleware, metrics=rt.metrics)
    app.add_middleware(ClientRateLimit, rate_per_minute=settings.client_rate_per_minute,
                       burst=settings.client_burst,
                       trusted_proxies=settings.trusted_proxies)

    _register_errors(app)
    register_locate(app, rt)
    register_stoptimes(app, rt)
    register_refresh(app, rt)
    register_maps(app, rt)
    register_rentals(app, rt)
    register_reach(app, rt)
    register_positions(app, rt)
    register_plan(app, rt)
    _register_operations(app, rt, settings, tiles)
    register_towns(app, towns)
    register_widget_files(app)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_reload_signal(rt)
    _document_errors(app)
    return app


#: The errors every operation can answer, as ``{"error", "parameter"?}`` (issue 16: the
#: spec listed only 200 and FastAPI's 422 shape, which our handler never sends).
ERRORS = {"400": "A parameter is invalid or the request is too large (names it)",
          "404": "An unknown stop, trip or place",
          "422": "A parameter cannot be read (names it)",
          "429": "Too many requests or searches from this client (Retry-After)",
          "503": "Busy, past the search deadline, or a day still compiling (Retry-After)"}
#: ``code`` is for programs (the widget words it in its own language): invalid_parameter,
#: unknown_stop, not_found, outside_timetable, sharing_unavailable, too_many_requests,
#: busy, deadline, compiling, unavailable, timetable_unusable, forbidden.
ERROR_SCHEMA = {"type": "object", "required": ["error", "code"],
                "properties": {"error": {"type": "string"}, "code": {"type": "string"},
                               "parameter": {"type": "string"}}}


def _document_errors(app: FastAPI) -> None:
    """Every operation of the OpenAPI document lists the errors it can answer."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, operations in schema.get("paths", {}).items():
            for op in operations.values():
                responses = op.setdefault("responses", {})
                for code, what in ERRORS.items():
                    responses[code] = {"description": what, "content": error}
                if path.endswith("/admin/reload"):
                    responses["403"] = {"description": "Without the admin token",
                                        "content": error}
        schema["components"]["schemas"].pop("HTTPValidationError", None)
        schema["components"]["schemas"].pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _register_errors(app: FastAPI) -> None:
    """Every error leaves as ``{"error", "code", "parameter"?}`` JSON, validation errors too."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        response = _error(exc.status, exc.message, exc.parameter, exc.code)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        names = []
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ()) if x not in ("query", "path", "body")]
            name = ".".join(loc) or "request"
            names.append(name)
            problems.append(f"{name}: {e.get('msg', 'invalid')}")
        return _error(422, "invalid parameter " + "; ".join(problems),
                      names[0] if names else None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own (a body that is no JSON, an unknown path, a wrong method)
        response = _error(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(GtfsError)
    async def gtfs_error(_: Request, exc: GtfsError) -> JSONResponse:
        return _error(503, f"timetable data unusable: {exc}", code="timetable_unusable")


def _register_operations(app: FastAPI, rt: Runtime, settings: Settings,
                         tiles: TileSource | None) -> None:
    @app.get("/api/v1/health", tags=["operations"],
             summary="Timetable version and validity, feed ages, cache state, "
                     "GBFS systems (last success, last error, stale), map tiles")
    async def health() -> dict[str, Any]:
        out = await rt.run(rt.health)
        if tiles is not None:  # the widget's map layer (health is what every widget reads)
            out["map"] = tiles.as_json()
        return out

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             response_class=Response)
    async def metrics() -> Response:
        rt.metrics.days_loaded.set(len(rt.store.loaded_days()))
        return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/api/v1/admin/reload", tags=["operations"],
              summary="Adopt newly published data now (needs OWL_ADMIN_TOKEN)")
    async def reload(request: Request) -> dict[str, Any]:
        token = settings.admin_token
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if not token or scheme != "Bearer" or not hmac.compare_digest(given.strip(), token):
            raise ApiError(403, "reload needs the admin token (Authorization: Bearer ...)")
        changed = await rt.run(lambda: rt.store.check_for_update(force=True))
        return {"reloaded": changed, "feedVersion": rt.store.feedset.version}


def _install_reload_signal(rt: Runtime) -> None:
    """SIGHUP makes the store re-read the published pointer (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or os.name != "posix":
        return
    try:
        signal.signal(signal.SIGHUP,
                      lambda *_: rt.pool.submit(rt.store.check_for_update, True))
    except ValueError:
        pass


__all__ = ["create_app"]
