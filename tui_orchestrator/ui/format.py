"""Short number formats for narrow columns (80 columns must still read well)."""

from __future__ import annotations

from textual.content import Content

from tui_orchestrator.engine.stream_facts import LogKind
from tui_orchestrator.engine.text import printable
from tui_orchestrator.plan_table import format_seconds

__all__ = [
    "format_bytes",
    "format_cost",
    "format_count",
    "format_seconds",
    "literal",
    "log_prefix",
    "plural",
    "printable",
]


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


def format_bytes(size: int) -> str:
    """``812``, ``3.2K``, ``14M``: at most five characters."""
    value = float(size)
    for unit in ("", "K", "M", "G"):
        if value < 1000 or unit == "G":
            if not unit:
                return str(int(value))
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_count(count: int) -> str:
    """``807``, ``12.3k``, ``4.1M``."""
    if count < 10_000:
        return f"{count:,}"
    if count < 1_000_000:
        return f"{count / 1000:.1f}k" if count < 100_000 else f"{count / 1000:.0f}k"
    return f"{count / 1_000_000:.1f}M"


def format_cost(usd: float) -> str:
    return f"${usd:,.2f}" if usd < 1000 else f"${usd:,.0f}"


def plural(count: int, word: str) -> str:
    """``1 file``, ``2 files``, ``12,000 files``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"
