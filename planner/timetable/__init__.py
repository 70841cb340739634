"""The compiled timetable: the model (flat arrays), the GTFS compile stages, footpaths and
the on-disk cache."""
