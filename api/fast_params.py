"""A fast path for GET endpoints whose parameters are plain query scalars.

FastAPI solves an endpoint's declared parameters through pydantic on every request: for
``/api/v1/plan``'s 18 that was half of the CPU of a cached answer. :func:`fast_query`
reads what is unambiguous by the route's own declarations (an int of digits, a decimal
float, a bool word, a string within its lengths, defaults for what is absent) and calls
the endpoint with it; anything else (a missing required parameter, a value out of its
bounds or written another way) goes FastAPI's way, so errors and their messages stay
exactly FastAPI's. The declarations stay the one source of the OpenAPI document.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

from annotated_types import Ge, Le, MaxLen, MinLen
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request

_INT = re.compile(r"0|-?[1-9][0-9]{0,17}")
_FLOAT = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?")
_BOOLS = {"true": True, "1": True, "yes": True, "on": True,
          "false": False, "0": False, "no": False, "off": False}

#: Reads one raw value; None: not unambiguous, FastAPI decides.
Reader = Callable[[str], object]


def _reader(annotation: object, metadata: list[object]) -> Reader | None:
    """A reader for a declared scalar with its bounds, or None for another type."""
    optional = get_origin(annotation) in (Union, types.UnionType) and \
        type(None) in get_args(annotation)
    if optional:
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) != 1:
            return None
        annotation = rest[0]
    lo = next((m.ge for m in metadata if isinstance(m, Ge)), None)
    hi = next((m.le for m in metadata if isinstance(m, Le)), None)
    shortest = next((m.min_length for m in metadata if isinstance(m, MinLen)), None)
    longest = next((m.max_length for m in metadata if isinstance(m, MaxLen)), None)
    known = (Ge, Le, MinLen, MaxLen)
    if any(not isinstance(m, known) for m in metadata):
        return None

    def bounded(x: Any) -> object:
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            return None
        return x

    if annotation is bool:
        return _BOOLS.get
    if annotation is int:
        return lambda raw: bounded(int(raw)) if _INT.fullmatch(raw) else None
    if annotation is float:
        return lambda raw: bounded(float(raw)) if _FLOAT.fullmatch(raw) else None
    if annotation is str:
        def text(raw: str) -> object:
            if (shortest is not None and len(raw) < shortest) or \
                    (longest is not None and len(raw) > longest):
                return None
            return raw
        return text
    return None


def fast_query(app: FastAPI, path: str) -> bool:
    """Give the GET route ``path`` the fast path (see the module docstring); False when
    its parameters are not all plain query scalars (it then stays as it is)."""
    route = next(r for r in app.router.routes
                 if isinstance(r, APIRoute) and r.path == path and "GET" in (r.methods or ()))
    dep = route.dependant
    if dep.dependencies or dep.path_params or dep.header_params or dep.cookie_params \
            or dep.body_params or dep.request_param_name or dep.response_param_name:
        return False
    fields: list[tuple[str, str, Reader, bool, object]] = []
    for f in dep.query_params:
        read = _reader(f.field_info.annotation, list(f.field_info.metadata))
        if read is None:
            return False
        default = f.field_info.default
        fields.append((f.alias, f.name, read, f.field_info.is_required(), default))
    endpoint = route.endpoint
    slow = route.app

    async def fast(scope: Any, receive: Any, send: Any) -> None:
        params = Request(scope, receive).query_params
        values: dict[str, object] = {}
        for alias, name, read, required, default in fields:
            raw = params.get(alias)
            if raw is None:
                if required:
                    await slow(scope, receive, send)
                    return
                values[name] = default
                continue
            value = read(raw)
            if value is None:
                await slow(scope, receive, send)
                return
            values[name] = value
        response = await endpoint(**values)
        await response(scope, receive, send)

    route.app = fast
    return True
