"""Feed ingestion: GTFS, GBFS, GTFS-Realtime."""
