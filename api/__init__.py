"""HTTP API and widget assets."""
