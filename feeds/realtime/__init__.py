"""GTFS-Realtime: reading TripUpdates, ServiceAlerts and VehiclePositions (protobuf or
protobuf-JSON, from files or polled URLs) into plain, validated records.

The planner (:mod:`planner.realtime`) turns those records into a timetable version; this
package knows nothing of timetables, only of feeds: parsing, fetching, merging
``DIFFERENTIAL`` messages into the current state, and age.
"""
