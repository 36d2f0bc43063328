"""Theme files: every bundled one loads; a broken one is reported, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_orchestrator.ui.themes import (
    CHUNK_COLOURS,
    DEFAULT_THEME,
    THEME_DIRS,
    load_themes,
    theme_from_toml,
    with_chunk_colours,
)


def test_the_bundled_themes_load_without_problems():
    loaded = load_themes()
    assert loaded.problems == []
    assert len(loaded.themes) >= 3
    assert DEFAULT_THEME in loaded.names
    assert {theme.dark for theme in loaded.themes} == {True, False}


def test_every_bundled_theme_sets_every_chunk_colour():
    for theme in load_themes().themes:
        for number in range(1, CHUNK_COLOURS + 1):
            assert f"chunk-{number}" in theme.variables, (theme.name, number)


def test_theme_files_live_in_the_top_level_themes_folder():
    assert THEME_DIRS[0].name == "themes"
    assert (THEME_DIRS[0] / f"{DEFAULT_THEME}.toml").is_file()


def test_a_broken_theme_file_is_reported_and_skipped(tmp_path: Path):
    (tmp_path / "a-good.toml").write_text('name = "good"\n[colors]\nprimary = "#112233"\n')
    (tmp_path / "b-bad.toml").write_text("name = \n")
    (tmp_path / "c-no-primary.toml").write_text('name = "x"\n[colors]\naccent = "#112233"\n')
    (tmp_path / "d-bad-colour.toml").write_text('name = "y"\n[colors]\nprimary = "nope"\n')
    loaded = load_themes([tmp_path])
    assert loaded.names == ["good"]
    assert len(loaded.problems) == 3
    assert all(".toml" in problem for problem in loaded.problems)


@pytest.mark.parametrize(
    "text",
    [
        'name = "t"\ndark = "yes"\n[colors]\nprimary = "#000000"\n',
        'name = "t"\n[colors]\nprimary = "#000000"\nsparkle = "#ffffff"\n',
        'name = "t"\n[colors]\nprimary = "#000000"\n[variables]\nchunk-1 = 3\n',
    ],
)
def test_invalid_theme_values_are_refused(text: str):
    with pytest.raises(ValueError):
        theme_from_toml(text, "t.toml")


def test_a_theme_without_chunk_colours_borrows_its_own():
    variables = {"text-primary": "#111111", "text-accent": "#222222"}
    filled = with_chunk_colours(dict(variables))
    assert filled["chunk-1"] == "#111111"
    assert filled["chunk-2"] == "#222222"
    kept = with_chunk_colours({"text-primary": "#111111", "chunk-1": "#abcdef"})
    assert kept["chunk-1"] == "#abcdef"
