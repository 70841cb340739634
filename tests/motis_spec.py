"""MOTIS's own OpenAPI files as JSON-schema validators of our responses.

``violations(version, path, body)`` checks one 200 response of operation ``path`` (as
written in ``../shared/specs/motis/openapi-v{version}.yaml``) with a draft 2020-12
validator that checks formats (``date-time`` and the rest), and returns one line per
violation, naming where in the body it is. The spec's ``$ref``s point into its own
``components``, so each response schema is validated with the components attached as
part of the same root document.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema_rs
import yaml

from tests.shared_data import SHARED

SPECS = SHARED.parent / "specs" / "motis"
VERSIONS = (1, 5, 6)


@cache
def spec(version: int) -> dict[str, Any]:
    """The parsed ``openapi-v{version}.yaml`` (read once)."""
    with (SPECS / f"openapi-v{version}.yaml").open(encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


def operation(version: int, path: str, method: str = "get") -> dict[str, Any]:
    paths = spec(version)["paths"]
    if path not in paths:
        raise KeyError(f"openapi-v{version}.yaml has no path {path}; it has {sorted(paths)}")
    op: dict[str, Any] = paths[path][method]
    return op


def response_schema(version: int, path: str, status: str = "200") -> dict[str, Any]:
    responses = operation(version, path)["responses"]
    # YAML reads an unquoted 200 as a number (openapi-v1.yaml), a quoted one as text.
    content = (responses.get(status) or responses[int(status)])["content"]
    schema: dict[str, Any] = content["application/json"]["schema"]
    return schema


@cache
def _validator(version: int, path: str, status: str) -> Any:
    root = {**response_schema(version, path, status),
            "components": spec(version)["components"]}
    return jsonschema_rs.Draft202012Validator(root, validate_formats=True)


def violations(version: int, path: str, body: Any, status: str = "200") -> list[str]:
    """Every way ``body`` breaks the spec's schema of ``path``'s ``status`` response."""
    out = []
    for error in _validator(version, path, status).iter_errors(body):
        where = "/".join(str(p) for p in error.instance_path) or "(root)"
        rule = "/".join(str(p) for p in error.schema_path)
        out.append(f"{where}: {error.message} [{rule}]")
    return out


def assert_valid(version: int, path: str, body: Any, status: str = "200") -> None:
    """Fails naming the first violations of ``body`` (and how many there are)."""
    found = violations(version, path, body, status)
    assert not found, (f"{len(found)} violation(s) of openapi-v{version}.yaml {path}:\n"
                       + "\n".join(found[:20]))
