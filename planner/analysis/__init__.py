"""Travel-time studies over a departure window, r5py-style: matrices, accessibility,
isochrones (issue 12). See ``planner.analysis.study`` for the core.

``from planner.analysis import TravelTimeMatrix, Isochrones, Accessibility`` works; the
names are looked up on first use, so the package itself imports none of its modules
(each of them imports this package first: eager imports here would be a cycle)."""

from __future__ import annotations

from typing import Any

__all__ = ["Accessibility", "Isochrones", "Points", "TransportNetwork", "TravelTimeMatrix",
           "stop_points"]

_WHERE = {"Accessibility": "frames", "Isochrones": "frames", "TravelTimeMatrix": "frames",
          "stop_points": "frames", "TransportNetwork": "network", "Points": "points"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'planner.analysis' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"planner.analysis.{_WHERE[name]}"), name)
