"""Write small hand-made GTFS feeds for edge-case tests."""

from __future__ import annotations

from pathlib import Path

AGENCY = "agency_id,agency_name,agency_url,agency_timezone\nA,Test Agency,https://example.org,{tz}\n"


def write_feed(
    folder: Path,
    *,
    stops: str,
    trips: str,
    stop_times: str,
    routes: str = "route_id,agency_id,route_short_name,route_long_name,route_type\n"
    "R1,A,1,Line 1,3\n",
    calendar: str | None = "service_id,monday,tuesday,wednesday,thursday,friday,saturday,"
    "sunday,start_date,end_date\nWK,1,1,1,1,1,1,1,20260101,20261231\n",
    calendar_dates: str | None = None,
    frequencies: str | None = None,
    transfers: str | None = None,
    tz: str = "Europe/Berlin",
    encoding: str = "utf-8",
) -> Path:
    """A GTFS folder; arguments are the CSV texts (header line included)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "agency.txt": AGENCY.format(tz=tz),
        "stops.txt": stops,
        "routes.txt": routes,
        "trips.txt": trips,
        "stop_times.txt": stop_times,
        "calendar.txt": calendar,
        "calendar_dates.txt": calendar_dates,
        "frequencies.txt": frequencies,
        "transfers.txt": transfers,
    }
    for name, text in files.items():
        if text is not None:
            (folder / name).write_bytes(text.encode(encoding))
    return folder


#: Three stops on a line, 100 m apart (east-west at Bielefeld's latitude).
LINE_STOPS = (
    "stop_id,stop_name,stop_lat,stop_lon\n"
    "S1,Alpha,52.0200,8.5300\n"
    "S2,Beta,52.0200,8.5315\n"
    "S3,Gamma,52.0200,8.5330\n"
    "FAR,Far away,52.2000,8.8000\n"
)
