"""The command line's timetable options on every command that compiles, and its help."""

from __future__ import annotations

import argparse

import pytest

from api.commands import add_api_parsers
from api.settings import load_settings
from api.store import TimetableStore
from feeds.demo import DEMO_FEED
from planner.commands.args import options_from
from planner.commands.main import build_parser
from planner.timetable.compile import CompileOptions


def parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    p, sub = build_parser()
    add_api_parsers(sub)
    return p, sub


def test_update_help_closes_every_parenthesis() -> None:
    """Issue 17: ``owl-planner update --help`` said "(default config/feeds.toml"."""
    _, sub = parser()
    text = sub.choices["update"].format_help()
    assert "feed configuration (default" in text
    assert text.count("(") == text.count(")")


@pytest.mark.parametrize("command", ["compile", "route", "serve"])
def test_min_change_time_and_footpath_bound_reach_the_compile_options(command: str) -> None:
    p, _ = parser()
    extra = ["--queries", "q.csv", "--out", "o.csv"] if command == "route" else []
    default = options_from(p.parse_args([command, "f.zip", *extra]))
    assert default.default_change_time == CompileOptions().default_change_time == 120
    assert default.footpath_max_walk == CompileOptions().footpath_max_walk == 600
    args = p.parse_args([command, "f.zip", *extra, "--min-change-time", "0",
                         "--footpath-max-walk", "0"])
    assert (args.min_change_time, args.footpath_max_walk) == (0, 0)
    opts = options_from(args)
    assert (opts.default_change_time, opts.footpath_max_walk) == (0, 0)


def test_min_change_time_and_footpath_bound_are_settings_of_the_server() -> None:
    env = {"OWL_MIN_CHANGE_TIME": "45", "OWL_FOOTPATH_MAX_WALK": "300"}
    settings = load_settings(env=env, feeds=(str(DEMO_FEED),))
    options = TimetableStore(settings).options
    assert (options.default_change_time, options.footpath_max_walk) == (45, 300)
    default = TimetableStore(load_settings(env={}, feeds=(str(DEMO_FEED),))).options
    assert (default.default_change_time, default.footpath_max_walk) == (120, 600)
