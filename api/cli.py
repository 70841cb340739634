"""``owl-planner``: the planner's commands plus ``serve`` and ``update`` from the API."""

from __future__ import annotations

import sys

from api.commands import add_api_parsers
from planner.commands.main import build_parser, run


def main(argv: list[str] | None = None) -> int:
    parser, sub = build_parser()
    add_api_parsers(sub)
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
