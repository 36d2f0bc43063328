"""Durations, counts, costs and plurals as the user reads them, in the app and on the
command line alike (free of Rich and Textual, so both presenters use it; docs/layers.md §1).
Short forms: 80 columns must still read well."""

from __future__ import annotations


def format_seconds(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


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


def agree(count: int, one: str, many: str) -> str:
    """The word that agrees with ``count``: ``agree(n, "is", "are")``."""
    return one if count == 1 else many
