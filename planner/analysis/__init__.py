"""Travel-time studies over a departure window, r5py-style: matrices, accessibility,
isochrones (issue 12). See ``planner.analysis.study`` for the core."""

from planner.analysis.frames import Accessibility, Isochrones, TravelTimeMatrix, stop_points
from planner.analysis.network import TransportNetwork
from planner.analysis.points import Points

__all__ = ["Accessibility", "Isochrones", "Points", "TransportNetwork", "TravelTimeMatrix",
           "stop_points"]
