"""Themes: ``themes/*.toml`` loaded into Textual ``Theme`` objects.

A theme file has a ``name``, ``dark`` (true or false), a ``[colors]`` table with the
``textual.theme.Theme`` colours (``primary`` is required) and an optional ``[variables]``
table of Textual CSS variables. ``chunk-1`` … ``chunk-8`` colour the chunks of the plan;
a theme without them (one of Textual's own) gets them from its text colours.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from tui_orchestrator.engine.wording import agree

DEFAULT_THEME = "claude-tui-dark"

# The repository's themes/ folder (ui -> tui_orchestrator -> repository root); an installed
# package may carry its own copy beside the code.
THEME_DIRS: tuple[Path, ...] = (
    Path(__file__).resolve().parents[2] / "themes",
    Path(__file__).resolve().parents[1] / "themes",
)

CHUNK_COLOURS = 8
# Where a theme without chunk colours borrows them from (Textual's derived variables).
CHUNK_FALLBACKS = (
    "text-primary",
    "text-accent",
    "text-success",
    "text-warning",
    "text-secondary",
    "text-error",
    "primary-lighten-2",
    "accent-lighten-2",
)

_COLOR_KEYS = (
    "primary", "secondary", "warning", "error", "success", "accent",
    "foreground", "background", "surface", "panel", "boost",
)  # fmt: skip


@dataclass(slots=True)
class LoadedThemes:
    """The themes found, in file-name order, and one line per file that was not usable."""

    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [theme.name for theme in self.themes]


def theme_from_toml(text: str, source: str) -> Theme:
    """Parse one theme file; a problem raises ValueError naming ``source``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML ({exc})") from None
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{source}: 'name' must be a non-empty string")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ValueError(f"{source}: 'dark' must be true or false")
    colors = data.get("colors", {})
    variables = data.get("variables", {})
    if not isinstance(colors, dict) or not isinstance(variables, dict):
        raise ValueError(f"{source}: [colors] and [variables] must be tables")
    unknown = sorted(set(colors) - set(_COLOR_KEYS))
    if unknown:
        raise ValueError(
            f"{source}: unknown {agree(len(unknown), 'colour', 'colours')} {', '.join(unknown)}"
        )
    if "primary" not in colors:
        raise ValueError(f"{source}: [colors] needs at least 'primary'")
    for key, value in colors.items():
        if not isinstance(value, str):
            raise ValueError(f"{source}: colour {key!r} must be a string")
        try:
            Color.parse(value)
        except ColorParseError:
            raise ValueError(f"{source}: colour {key!r} is not a colour: {value!r}") from None
    for key, value in variables.items():
        if not isinstance(value, str):
            raise ValueError(f"{source}: variable {key!r} must be a string")
    return Theme(name=name.strip(), dark=dark, variables=dict(variables), **colors)


def load_themes(folders: Iterable[Path] = THEME_DIRS) -> LoadedThemes:
    """Every ``*.toml`` theme of the first folder that exists; broken files are reported."""
    loaded = LoadedThemes()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = theme_from_toml(path.read_text(encoding="utf-8"), path.name)
            except (OSError, UnicodeDecodeError) as exc:
                loaded.problems.append(f"{path.name}: cannot read ({exc})")
                continue
            except ValueError as exc:
                loaded.problems.append(str(exc))
                continue
            loaded.themes.append(theme)
        break
    return loaded


def with_chunk_colours(variables: dict[str, str]) -> dict[str, str]:
    """Fill ``chunk-1`` … ``chunk-8`` from the theme's own colours where it sets none."""
    for number, fallback in enumerate(CHUNK_FALLBACKS, start=1):
        key = f"chunk-{number}"
        if key not in variables and fallback in variables:
            variables[key] = variables[fallback]
    return variables
