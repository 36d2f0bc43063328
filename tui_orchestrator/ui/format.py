"""How the app shows text from a repository or a worker, and a log line's kind.

Numbers, durations and plurals: ``engine/wording.py`` (shared with the command line)."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
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


def cut_words(text: str, width: int) -> str:
    """``text`` in ``width`` cells: cut at a word's end (or after a path's folder) with an
    ellipsis; mid-word only when the first word alone is wider than the room."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = set_cell_size(text, width - 1)
    rest = text[len(head) :]
    if rest[:1] not in (" ", "/", ""):  # the cut falls inside a word: back to its start
        # (A path's folders are words too: "in src/api/…".)
        space, slash = head.rfind(" "), head.rfind("/")
        if slash > space:
            head = head[: slash + 1]
        elif space > 0:
            head = head[:space]
    return head.rstrip(" ,;:-–—") + "…"


def cut_left(text: str, width: int) -> str:
    """``text`` in ``width`` cells, its start cut (a path keeps its file name and line)."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    tail = text[-(width - 1) :]
    while cell_len(tail) > width - 1:
        tail = tail[1:]
    return "…" + tail
