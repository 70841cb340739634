"""Geocoding: stops, addresses and places by name and by point (issue 15)."""
