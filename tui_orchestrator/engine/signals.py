"""The signals that stop claude-tui as Ctrl+C does (docs/contracts.md §2)."""

from __future__ import annotations

import signal


def stop_signals() -> list[signal.Signals]:
    """SIGTERM, and SIGHUP unless it is ignored.

    A hang-up (the terminal closed, an ssh session lost) left to its default would end
    claude-tui at once: chunks left "running", no summary. Under ``nohup`` it is ignored,
    and the run goes on.
    """
    signals = [signal.SIGTERM]
    hangup = getattr(signal, "SIGHUP", None)  # none on Windows
    if hangup is not None and signal.getsignal(hangup) is not signal.SIG_IGN:
        signals.append(hangup)
    return signals
