"""Timetable model and routing core. Never imports ``api``."""
