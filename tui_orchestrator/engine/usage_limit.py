"""Usage limits: a subscription's five-hour or weekly window, which lasts until a known time.

A rate limit (a 429 now and then) is waited out in seconds by the pool's AIMD (``pool.py``).
A usage limit is different: every request fails until the window resets, and the CLI says
when (docs/claude-code.md §6). So the whole pool waits until then, sends nothing, probes
once after the reset, and every waiting chunk resumes its own session; the wait costs no
attempt and no patience. With an API key the CLI names no reset time: the pool probes at
growing intervals instead (``UNKNOWN_FIRST_S``, doubling, at most ``UNKNOWN_MAX_S``).

This module holds the facts and their wording; ``pool.py`` holds the wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tui_orchestrator.engine.wording import format_seconds

# With no reset time known: the first probe after a minute, then doubling, at most 10 min.
UNKNOWN_FIRST_S = 60.0
UNKNOWN_MAX_S = 600.0
# After a known reset, the probe waits a little more (the API's clock and ours differ).
RESET_JITTER_S = (0.5, 2.0)
# The result text of a usage limit, with a subscription ("You've hit your limit · resets
# 9:25pm (UTC)", "You've hit your session limit") or an API key ("API Error: Request
# rejected (429) · You've hit your limit").
TEXT_MARKERS = ("hit your limit", "hit your session limit", "hit your weekly limit")


@dataclass(frozen=True, slots=True)
class UsageLimit:
    """A usage limit the CLI reported: when it resets (epoch seconds; None: unknown) and
    which window it is (``five_hour``, ``seven_day``, ... as the CLI names it)."""

    resets_at: float | None = None
    window: str = ""

    @property
    def label(self) -> str:
        """ "usage limit (five-hour)", "usage limit" when the window is not named."""
        window = self.window.replace("_", "-")
        return f"usage limit ({window})" if window else "usage limit"


def is_usage_text(text: str) -> bool:
    """Does a result's text say a usage limit was hit?"""
    lowered = text.lower()
    return any(marker in lowered for marker in TEXT_MARKERS)


def local_clock(moment: float) -> str:
    """``04:35`` in local time (the help says which zone); a date too when not today."""
    local = time.localtime(moment)
    if time.strftime("%Y-%m-%d", local) == time.strftime("%Y-%m-%d", time.localtime()):
        return time.strftime("%H:%M", local)
    return time.strftime("%a %H:%M", local)


def resets_text(moment: float | None, now: float) -> str:
    """ "resets 04:35 (in 1h12m)", or "reset time unknown: probing"."""
    if moment is None:
        return "reset time unknown: probing"
    return f"resets {local_clock(moment)} (in {format_seconds(max(0.0, moment - now))})"
