"""GTFS-Realtime ingestion: protobuf and JSON, files and polled URLs, FULL_DATASET and
DIFFERENTIAL, entity-level skips, the last good state kept, staleness, configuration."""

from __future__ import annotations

import threading
import time
from email.message import Message
from pathlib import Path

import pytest
from google.transit import gtfs_realtime_pb2 as pb

from api.commands import add_api_parsers
from api.settings import load_settings, to_env
from feeds.config import FeedConfigError, load_feed_config
from feeds.realtime.fetch import FeedSource, FetchError, FetchOptions
from feeds.realtime.messages import FeedError, parse_feed
from feeds.realtime.state import RealtimeFeed
from planner.commands.main import build_parser
from tests.rtfeeds import header
from tests.servers import JsonServer, etag_of
from tests.shared_data import shared

NOW = 1699405600.0  # just after the Caltrain capture (2023-11-08 01:05:34 UTC)


def message(entities: list[tuple[str, str]], stamp: int = int(NOW) - 60,
            differential: bool = False, deleted: tuple[str, ...] = ()) -> bytes:
    """A TripUpdates message: (entity id, trip id) each with one delay at sequence 1."""
    msg = pb.FeedMessage()
    header(msg, stamp, differential)
    for eid, trip in entities:
        e = msg.entity.add()
        e.id = eid
        e.trip_update.trip.trip_id = trip
        u = e.trip_update.stop_time_update.add()
        u.stop_sequence = 1
        u.departure.delay = 60
    for eid in deleted:
        e = msg.entity.add()
        e.id = eid
        e.is_deleted = True
    return msg.SerializeToString()


@pytest.mark.parametrize("name", ["us-caltrain-rt/ct-trip-updates.pb",
                                  "us-caltrain-rt/ct-vehicle-positions.pb",
                                  "us-bart-rt/bart-trip-updates.pb",
                                  "us-bart-rt/bart-alerts.pb"])
def test_protobuf_and_json_forms_give_the_same_records(name: str) -> None:
    binary = parse_feed(shared(name).read_bytes())
    text = parse_feed(shared(name + ".json").read_bytes())
    assert binary.trip_updates == text.trip_updates
    assert binary.vehicles == text.vehicles
    assert [a.header for a in binary.alerts] == [a.header for a in text.alerts]
    assert binary.timestamp == text.timestamp and not binary.skips.counts


def test_real_feeds_parse_to_their_documented_sizes() -> None:
    ct = parse_feed(shared("us-caltrain-rt/ct-trip-updates.pb").read_bytes())
    assert len(ct.trip_updates) == 19
    assert sum(len(t.updates) for t in ct.trip_updates) == 220
    assert {t.start_date for t in ct.trip_updates} == {"20231107"}
    assert len(parse_feed(shared("us-caltrain-rt/ct-vehicle-positions.pb").read_bytes()
                          ).vehicles) == 14
    bart = parse_feed(shared("us-bart-rt/bart-trip-updates.pb").read_bytes())
    assert len(bart.trip_updates) == 91
    alert = parse_feed(shared("us-bart-rt/bart-alerts.pb").read_bytes()).alerts[0]
    assert alert.cause == "MEDICAL_EMERGENCY" and alert.effect == "SIGNIFICANT_DELAYS"
    assert alert.url["en-US"].startswith("http://www.bart.gov")
    assert "Montgomery" in alert.header["en-US"]


def test_bad_entities_are_skipped_alone_and_counted_with_an_example() -> None:
    msg = pb.FeedMessage()
    header(msg, int(NOW))
    good = msg.entity.add()
    good.id = "good"
    good.trip_update.trip.trip_id = "101"
    good.trip_update.stop_time_update.add(stop_sequence=1).departure.delay = 30
    no_trip = msg.entity.add()
    no_trip.id = "no-trip"
    no_trip.trip_update.trip.route_id = "L1"  # a trip without trip_id
    no_trip.trip_update.stop_time_update.add(stop_sequence=1).departure.delay = 30
    bad_date = msg.entity.add()
    bad_date.id = "bad-date"
    bad_date.trip_update.trip.trip_id = "102"
    bad_date.trip_update.trip.start_date = "2023-11-07"
    future = msg.entity.add()
    future.id = "future"
    future.trip_update.trip.trip_id = "103"
    future.trip_update.timestamp = int(NOW) + 3600
    off_globe = msg.entity.add()
    off_globe.id = "bus"
    off_globe.vehicle.position.latitude = 95.0
    off_globe.vehicle.position.longitude = 10.0
    no_descriptor = msg.entity.add()  # a required field missing: that entity only
    no_descriptor.id = "no-descriptor"
    no_descriptor.trip_update.stop_time_update.add(stop_sequence=1).departure.delay = 9
    parsed = parse_feed(msg.SerializePartialToString(), now=NOW)
    assert [t.entity_id for t in parsed.trip_updates] == ["good"]
    assert parsed.skips.as_dict() == {
        "malformed start_date": {"count": 1, "example": "bad-date"},
        "timestamp in the future": {"count": 1, "example": "future"},
        "trip update without trip_id": {"count": 2, "example": "no-trip"},
        "vehicle position off the globe": {"count": 1, "example": "bus"},
    }


@pytest.mark.parametrize("data", [b"", b"\x00garbage\xff" * 10, b"{not json",
                                  b'{"entity": []}'])
def test_a_message_that_does_not_parse_raises(data: bytes) -> None:
    with pytest.raises(FeedError):
        parse_feed(data)


def test_a_feed_from_the_future_is_refused_whole() -> None:
    with pytest.raises(FeedError, match="in the future"):
        parse_feed(message([("a", "101")], stamp=int(NOW) + 3600), now=NOW)


def test_differential_messages_add_replace_and_delete_by_entity(tmp_path: Path) -> None:
    feed = RealtimeFeed.at("ct", "ct", str(tmp_path / "rt.pb"), max_age=600)
    assert feed.accept(message([("a", "101"), ("b", "102")]), NOW)
    assert feed.accept(message([("b", "103"), ("c", "104")], differential=True,
                               deleted=("a",)), NOW)
    assert sorted((t.entity_id, t.trip_id) for t in feed.content(NOW).trip_updates) == [
        ("b", "103"), ("c", "104")]
    assert feed.accept(message([("z", "105")]), NOW)  # FULL_DATASET replaces all
    assert [t.entity_id for t in feed.content(NOW).trip_updates] == ["z"]


def test_an_unparsable_message_keeps_the_last_good_state(tmp_path: Path) -> None:
    path = tmp_path / "rt.pb"
    path.write_bytes(message([("a", "101")]))
    feed = RealtimeFeed.at("ct", "ct", str(path), max_age=600)
    assert feed.poll(NOW)
    path.write_bytes(b"\x08\x96\x01 truncated garbage")
    assert not feed.poll(NOW)
    assert feed.error and "not a GTFS-Realtime message" in feed.error
    assert [t.entity_id for t in feed.content(NOW).trip_updates] == ["a"]
    assert feed.status(NOW)["error"] == feed.error


def test_an_unchanged_file_is_not_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "rt.pb"
    path.write_bytes(message([("a", "101")]))
    feed = RealtimeFeed.at("ct", "ct", str(path), max_age=600)
    assert feed.poll(NOW) and not feed.poll(NOW)
    assert feed.messages == 1


def test_a_stale_feed_offers_nothing_and_says_so(tmp_path: Path) -> None:
    feed = RealtimeFeed.at("ct", "ct", str(tmp_path / "x.pb"), max_age=120)
    assert feed.warning(NOW) is not None  # nothing received yet
    feed.accept(message([("a", "101")], stamp=int(NOW) - 60), NOW)
    assert feed.content(NOW).trip_updates and feed.warning(NOW) is None
    later = NOW + 120
    assert not feed.content(later).trip_updates
    warning = feed.warning(later)
    assert warning is not None and "180 s old" in warning and "schedule" in warning
    assert feed.status(later)["stale"] is True


class RealtimeServer(JsonServer):
    """Serves one message with an ETag; counts requests; can fail or stall first."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body
        self.requests: list[dict[str, str]] = []
        self.failures = 0
        self.stall = 0.0

    def answer(self, path: str, headers: Message) -> tuple[int, bytes, dict[str, str]]:
        self.requests.append(dict(headers.items()))
        if self.stall:
            time.sleep(self.stall)
        if self.failures:
            self.failures -= 1
            return 503, b"busy", {}
        tag = etag_of(self.body)
        if headers.get("If-None-Match") == tag:
            return 304, b"", {"ETag": tag}
        return 200, self.body, {"ETag": tag}


def test_polling_a_url_uses_conditional_requests() -> None:
    with RealtimeServer(message([("a", "101")])) as server:
        feed = RealtimeFeed.at("ct", "ct", server.base + "/tu.pb", max_age=600)
        assert feed.poll(NOW)
        assert not feed.poll(NOW)  # 304: nothing parsed
        assert server.requests[1].get("If-None-Match") == etag_of(server.body)
        server.body = message([("b", "102")])
        assert feed.poll(NOW)
        assert [t.entity_id for t in feed.content(NOW).trip_updates] == ["b"]
        assert feed.messages == 2


def test_server_errors_are_retried() -> None:
    with RealtimeServer(message([("a", "101")])) as server:
        server.failures = 2
        source = FeedSource(server.base + "/tu.pb", FetchOptions(retries=2, backoff=0.01))
        assert source.fetch() is not None
        assert len(server.requests) == 3


def test_a_server_that_keeps_failing_keeps_the_last_good_state() -> None:
    with RealtimeServer(message([("a", "101")])) as server:
        feed = RealtimeFeed.at("ct", "ct", server.base + "/tu.pb", max_age=600,
                               options=FetchOptions(retries=1, backoff=0.01))
        assert feed.poll(NOW)
        server.body = message([("b", "102")])
        server.failures = 5
        assert not feed.poll(NOW)
        assert feed.error is not None and "503" in feed.error
        assert [t.entity_id for t in feed.content(NOW).trip_updates] == ["a"]


def test_a_slow_server_times_out() -> None:
    with RealtimeServer(message([("a", "101")])) as server:
        server.stall = 1.0
        server.httpd.handle_error = lambda *a: None  # type: ignore[method-assign]  # the
        # client hung up: the late answer's broken pipe is the point, not an error
        source = FeedSource(server.base + "/tu.pb",
                            FetchOptions(timeout=0.2, deadline=0.5, retries=1, backoff=0.05))
        started = time.monotonic()
        with pytest.raises(FetchError):
            source.fetch()
        assert time.monotonic() - started < 3.0


def test_polling_runs_from_another_thread_while_content_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rt.pb"
    feed = RealtimeFeed.at("ct", "ct", str(path), max_age=600)
    seen: list[int] = []

    def writer() -> None:
        for i in range(20):
            feed.accept(message([(f"e{i}-{k}", "101") for k in range(i + 1)]), NOW)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        seen.append(len(feed.content(NOW).trip_updates))
    thread.join()
    assert len(feed.content(NOW).trip_updates) == 20
    assert all(0 <= n <= 20 for n in seen)


CONFIG = """
[[gtfs]]
name = "ct"
url = "file:ct.zip"
[[gtfs_rt]]
name = "caltrain"
url = "https://example.org/tu.pb"
feed = "ct"
interval = 15
max_age = 90
[[gtfs_rt]]
url = "file:alerts.pb"
feed = "ct"
enabled = false
"""


def test_gtfs_rt_entries_are_read_from_the_feed_configuration(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(CONFIG)
    cfg = load_feed_config(path)
    first, second = cfg.gtfs_rt
    assert (first.name, first.feed, first.interval, first.max_age) == ("caltrain", "ct",
                                                                        15.0, 90.0)
    assert second.name == "file:alerts.pb" and not second.enabled
    assert cfg.enabled_gtfs_rt == (first,)


@pytest.mark.parametrize("entry, problem", [
    ('url = "x.pb"', "gtfs_rt[1].feed: missing"),
    ('url = "x.pb"\nfeed = "ct"\nmax_age = 0', "gtfs_rt[1].max_age"),
    ('url = "x.pb"\nfeed = "ct"\nenabeld = false', "unknown key 'enabeld'"),
])
def test_broken_gtfs_rt_entries_name_the_key(tmp_path: Path, entry: str, problem: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(f"[[gtfs_rt]]\n{entry}\n")
    with pytest.raises(FeedConfigError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        load_feed_config(path)


def test_serve_takes_gtfs_rt_feeds_on_the_command_line() -> None:
    parser, sub = build_parser()
    add_api_parsers(sub)
    args = parser.parse_args(["serve", "--gtfs-rt", "ct=rt/ct.pb", "--gtfs-rt",
                              "https://x/tu.pb", "--gtfs-rt-max-age", "90"])
    assert args.gtfs_rt == ["ct=rt/ct.pb", "https://x/tu.pb"] and args.gtfs_rt_max_age == 90
    settings = load_settings(env={"OWL_GTFS_RT": "ct=a.pb,b.pb"})
    assert settings.gtfs_rt == ("ct=a.pb", "b.pb")
    assert load_settings(env=to_env(settings)).gtfs_rt == settings.gtfs_rt
