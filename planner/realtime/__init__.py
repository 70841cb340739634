"""Realtime timetables: GTFS-Realtime updates applied to a compiled static timetable.

:mod:`.index` finds trips, days and stops by their GTFS ids once per static timetable;
:mod:`.match` checks each TripUpdate against it and turns the good ones into patches
(skipping bad entities alone, counted by reason); :mod:`.apply` builds the patched
timetable with every invariant the engines rely on; :mod:`.live` holds the current
version and swaps it atomically.
"""
