"""How the app shows text from a repository or a worker, and a log line's kind.

Numbers, durations and plurals: ``engine/wording.py`` (shared with the command line)."""

from __future__ import annotations

from textual.content import Content

from tui_orchestrator.engine.stream_facts import LogKind
from tui_orchestrator.engine.text import printable


def literal(text: str) -> Content:
    """Text from a repository or a worker, shown as it is: never parsed as markup (a title
    holding ``[/]`` raised MarkupError in every view showing it), no control character."""
    return Content(printable(text))


_LOG_PREFIX = {
    LogKind.TEXT: "",
    LogKind.TOOL: "→ ",
    LogKind.ERROR: "! ",
    LogKind.NOTE: "· ",
    LogKind.ANSWER: "» ",
    LogKind.META: "── ",
}


def log_prefix(kind: LogKind) -> str:
    """How a worker's log line shows its kind, in a panel and in the zoomed log alike."""
    return _LOG_PREFIX[kind]
