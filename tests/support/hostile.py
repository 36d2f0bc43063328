"""Hostile text: what a model, a CLI or a repository may hand claude-tui to show or write.

One corpus for every display and report test: Rich/Textual markup, terminal escapes,
control characters, a right-to-left override, a very long string, bad numbers, and paths
outside the repository. ``unsafe`` finds what must never reach a screen or a report.
"""

from __future__ import annotations

import re

# Markup that Rich or Textual would parse: a closing tag with no opening one raises
# MarkupError, the others restyle or link.
MARKUP = [
    "[/]",
    "[/x]",
    "[bold]x",
    "[link=file:///etc]click[/link]",
    "x[/y].py",
    "[@click=app.quit]quit[/]",
    "[red",
    "\\[not markup]",
]

# Terminal escapes and controls: clear the screen, retitle the window, OSC 8 hyperlinks,
# a bare carriage return, NUL, the 8-bit CSI, DEL, BEL.
ESCAPES = [
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\x1b]8;;file:///etc\x1b\\link\x1b]8;;\x1b\\",
    "\x1b[31mred\x1b[0m",
    "over\rwritten",
    "nul\x00byte",
    "csi\x9b2J",
    "del\x7f",
    "bell\x07",
]

RTL = "\u202eexe.txt"
LONG = "long " * 1000

# Every string above: titles, descriptions, log lines and activities are made of them.
CORPUS = [*MARKUP, *ESCAPES, RTL, LONG]

# A title that holds a bit of everything (and can be looked for on screen by its head).
MIXED_TITLE = "Bad [/] title \x1b[2J \x1b]0;pwn\x07 [bold]x \u202eevil"

# Numbers a result line may hold instead of a cost or a count.
BAD_NUMBERS = [float("nan"), float("inf"), float("-inf"), -1, -0.5, "12", True, 10**400]

# File names a repository may hold (Linux allows all but '/' and NUL): "x[" is a folder.
# (None with a line break: the prompt lists one file a line, a problem of its own.)
FILE_NAMES = [
    "x[/y].py",
    "[bold]b.py",
    "[link=file:]l.py",
    "esc\x1b[2J.py",
    "title\x1b]0;pwn\x07.py",
    "c1\x9b31m.py",
    "\u202egnp.py",
]

# Every character that is not text: C0 but newline and tab, DEL, C1, the bidirectional
# controls, the line and paragraph separators, lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)


def unsafe(text: str, allow: str = "") -> list[str]:
    """The characters of ``text`` that must not be shown or written (besides ``allow``)."""
    return [char for char in _UNSAFE.findall(text) if char not in allow]


def outside_paths(root: str) -> list[str]:
    """Paths a model may report that are not the repository's files."""
    return [
        "/etc/passwd",
        "../../etc/shadow",
        "src/../../etc/hosts",
        f"{root}/../outside.py",
        f"{root}2/sibling.py",  # the root's name is a prefix of it, nothing more
        "/",
        ".",
    ]
