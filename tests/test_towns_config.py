"""The ``[[town]]`` entries the widget's ``data-town`` reads (api/towns.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.towns import load_towns
from feeds.config import DEFAULT_CONFIG, FeedConfigError


def test_the_shipped_config_names_the_owl_towns_with_readable_colours() -> None:
    towns = load_towns(str(DEFAULT_CONFIG))
    assert {"bielefeld", "paderborn", "guetersloh", "detmold"} <= set(towns)
    for town in towns.values():
        n = int(town.color[1:], 16)
        ch = [((n >> s) & 255) / 255 for s in (16, 8, 0)]
        lum = sum(w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
                  for w, c in zip((0.2126, 0.7152, 0.0722), ch, strict=True))
        assert 1.05 / (lum + 0.05) >= 4.5, f"{town.id}: white text on {town.color}"
        assert town.bbox is not None and town.lang in ("de", "en")


@pytest.mark.parametrize(("entry", "named"), [
    ('id = "Bad Town"\nname = "x"', "id must be"),
    ('id = "a"\nname = "A"\ncolor = "red"', "color must be #rrggbb"),
    ('id = "a"\nname = "A"\nbbox = [9, 52, 8, 51]', "bbox must be"),
    ('id = "a"\nname = "A"\nmodes = ["plane"]', "modes must be"),
    ('id = "a"\nname = "A"\nlanguage = "de"', "unknown key 'language'"),
])
def test_a_bad_town_entry_fails_naming_the_file_entry_and_key(
        tmp_path: Path, entry: str, named: str) -> None:
    path = tmp_path / "towns.toml"
    path.write_text(f"[[town]]\n{entry}\n", encoding="utf-8")
    with pytest.raises(FeedConfigError, match=named) as info:
        load_towns(str(path))
    assert str(path) in str(info.value) and "town[1]" in str(info.value)


def test_no_file_or_none_means_no_towns(tmp_path: Path) -> None:
    assert load_towns("none") == {} and load_towns(str(tmp_path / "missing.toml")) == {}
