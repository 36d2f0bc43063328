"""Engine events -> the app: collected as they come, shown in batches.

The manager calls ``RunBridge.handle`` on the app's loop for every event. Sixty-four workers
streaming tool calls would mean thousands of widget updates a second, so the bridge only
records what changed (which chunks, their new log lines, whether findings or totals moved)
and the app flushes it every ``FLUSH_S`` seconds in one go. Failures and rate limits are
shown at once as notifications; a burst of rate limits from many workers is one notice that
updates (``rate_limited``), not a toast per chunk.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.events import (
    ChunkFinished,
    ChunkStarted,
    ChunkStatusChanged,
    Event,
    LogLine,
    Notice,
    PoolChanged,
    RunEnd,
    RunFinished,
    Topic,
)
from tui_orchestrator.engine.views import Waiting
from tui_orchestrator.engine.wording import plural
from tui_orchestrator.ui.format import log_prefix

FLUSH_S = 0.2
# Lines kept per chunk between two flushes (the panel's own log is a ring buffer too).
PENDING_LINES = 200
# The last lines flushed for the most recent chunks: a panel made later (the Workers view
# opened after the run began) starts with them instead of an empty log.
RECENT_LINES = 50
RECENT_CHUNKS = 256
# Rate limits this close to each other are one burst, told by one notice.
BURST_S = 10.0


@dataclass(slots=True)
class Batch:
    """What changed since the last flush."""

    chunks: set[str] = field(default_factory=set)
    lines: dict[str, deque[str]] = field(default_factory=dict)
    findings: bool = False
    totals: bool = False

    def __bool__(self) -> bool:
        return bool(self.chunks or self.lines or self.findings or self.totals)


class RunBridge:
    """Turns the manager's events into batches for the views and notifications for the user."""

    def __init__(
        self,
        notify: Callable[[str, str], None],
        rate_limited: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notify = notify
        # Shows (or replaces) the one rate-limit notice with the burst's words.
        self.rate_limited = rate_limited
        # The chunks limited in this burst, and when the last limit came.
        self.burst: set[str] = set()
        self.last_limit = float("-inf")
        self.clock = clock
        self.batch = Batch()
        self.finished_reason = ""
        self.recent: OrderedDict[str, deque[str]] = OrderedDict()

    def take(self) -> Batch:
        batch, self.batch = self.batch, Batch()
        recent = self.recent
        for chunk, lines in batch.lines.items():
            kept = recent.pop(chunk, None) or deque(maxlen=RECENT_LINES)
            kept.extend(lines)
            recent[chunk] = kept
        while len(recent) > RECENT_CHUNKS:
            recent.popitem(last=False)
        return batch

    def recent_lines(self, chunk: str) -> list[str]:
        """The last lines of ``chunk`` flushed so far (none of those still to flush)."""
        return list(self.recent.get(chunk, ()))

    def handle(self, event: Event) -> None:
        batch = self.batch
        chunk = getattr(event, "chunk", None)
        if chunk is not None:
            batch.chunks.add(chunk)
            batch.totals = True
        if isinstance(event, LogLine):
            lines = batch.lines.setdefault(chunk, deque(maxlen=PENDING_LINES))
            for text in event.text.splitlines() or [""]:
                lines.append(log_prefix(event.kind) + text)
        elif isinstance(event, ChunkFinished):
            batch.findings = True
            if event.status is ChunkStatus.FAILED:
                self.notify(f"{event.chunk} failed: {event.error}", "error")
        elif isinstance(event, ChunkStatusChanged):
            if event.view.waiting is Waiting.BACKOFF:
                self._backoff(event.chunk, event.view.detail)
        elif isinstance(event, ChunkStarted):
            batch.lines.setdefault(chunk, deque(maxlen=PENDING_LINES)).append(
                f"· attempt {event.attempt}, "
                f"{'resuming session' if event.resumed else 'session'} {event.session_id[:8]}"
            )
        elif isinstance(event, Notice):
            batch.totals = True
            # A rate limit is told by the chunk's own status (above), once per chunk.
            if event.level in ("warning", "error") and event.topic is not Topic.RATE_LIMIT:
                self.notify(event.text, event.level)
        elif isinstance(event, PoolChanged):
            batch.totals = True
        elif isinstance(event, RunFinished):
            batch.totals = batch.findings = True
            self.finished_reason = event.reason
            if event.reason is RunEnd.ERROR:
                self.notify(f"Run stopped: {event.error}", "error")
            elif event.reason in (RunEnd.DONE, RunEnd.IDLE, RunEnd.STOPPED):
                level = "information" if event.failed == 0 else "warning"
                self.notify(
                    f"Run {event.reason}: {event.done} done, {event.failed} failed, "
                    f"{event.unfinished} unfinished",
                    level,
                )
            else:
                self.notify(f"Run ended ({event.reason}): {event.unfinished} unfinished", "error")

    def _backoff(self, chunk: str, detail: str) -> None:
        """One notice per burst of rate limits: it names the chunk when one is limited and
        counts them when many are. A burst lasts while limits keep coming, each within
        ``BURST_S`` of the last."""
        now = self.clock()
        if now - self.last_limit > BURST_S:
            self.burst.clear()
        self.last_limit = now
        self.burst.add(chunk)
        if len(self.burst) == 1:
            self.rate_limited(f"{chunk}: rate limited, {detail}")
        else:
            self.rate_limited(f"Rate limited: {plural(len(self.burst), 'chunk')}, {detail}")
