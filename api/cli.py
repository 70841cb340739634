"""``owl-planner``: the planner's commands plus ``serve`` and ``update`` from the API."""

from __future__ import annotations

import sys
from pathlib import Path

from api.commands import add_api_parsers
from api.settings import load_settings
from planner.commands.main import build_parser, run

#: Commands whose ``--cache-dir`` defaults to the setting (``OWL_CACHE_DIR``); ``serve``
#: reads it with all its other settings.
CACHE_COMMANDS = ("compile", "route", "update")


def main(argv: list[str] | None = None) -> int:
    parser, sub = build_parser()
    add_api_parsers(sub)
    try:
        settings = load_settings()
    except (ValueError, OSError) as exc:
        print(f"owl-planner: error: {exc}", file=sys.stderr)
        return 2
    # The planner reads no environment; its commands get the setting as their default.
    for name in CACHE_COMMANDS:
        sub.choices[name].set_defaults(cache_dir=Path(settings.cache_dir))
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
