"""The bridge between the engine's events and the views: batches, and the recent lines."""

from __future__ import annotations

from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.events import ChunkStatusChanged, LogLine
from tui_orchestrator.engine.views import ChunkView, Waiting
from tui_orchestrator.ui.bridge import BURST_S, RECENT_CHUNKS, RECENT_LINES, RunBridge


def test_a_batch_holds_what_changed_and_the_recent_lines_what_was_flushed() -> None:
    bridge = RunBridge(lambda text, level: None, lambda text: None)
    bridge.handle(LogLine("a", "tool", "Read src/x.py"))
    bridge.handle(LogLine("a", "text", "two\nlines"))
    assert bridge.recent_lines("a") == []  # not flushed yet: the next batch brings them
    batch = bridge.take()
    assert batch.chunks == {"a"} and list(batch.lines["a"]) == ["→ Read src/x.py", "two", "lines"]
    assert bridge.recent_lines("a") == ["→ Read src/x.py", "two", "lines"]
    assert not bridge.take()


def test_the_recent_lines_are_bounded_per_chunk_and_in_chunks() -> None:
    bridge = RunBridge(lambda text, level: None, lambda text: None)
    for i in range(RECENT_LINES + 30):
        bridge.handle(LogLine("a", "text", f"line {i}"))
    bridge.take()
    kept = bridge.recent_lines("a")
    assert len(kept) == RECENT_LINES and kept[-1] == f"line {RECENT_LINES + 29}"
    for n in range(RECENT_CHUNKS + 5):
        bridge.handle(LogLine(f"c{n}", "text", "x"))
        bridge.take()
    assert len(bridge.recent) == RECENT_CHUNKS
    assert bridge.recent_lines("a") == [] and bridge.recent_lines(f"c{RECENT_CHUNKS + 4}") == ["x"]


def _status(chunk: str, waiting: Waiting) -> ChunkStatusChanged:
    view = ChunkView(chunk, ChunkStatus.PENDING, 1, 0, 0.0, 0, 0.0, 1, 0, waiting=waiting, wait_s=30)
    return ChunkStatusChanged(chunk, ChunkStatus.PENDING, view)


def test_a_burst_of_rate_limits_is_one_notice_that_counts_the_chunks() -> None:
    toasts: list[str] = []
    said: list[str] = []
    clock = [0.0]
    bridge = RunBridge(lambda text, level: toasts.append(text), said.append, lambda: clock[0])
    bridge.handle(_status("a", Waiting.BACKOFF))
    bridge.handle(_status("b", Waiting.BACKOFF))
    bridge.handle(_status("a", Waiting.BACKOFF))  # the same chunk again: no new count
    bridge.handle(_status("c", Waiting.BACKOFF))
    assert said == [
        "a: rate limited, backing off 30s",
        "Rate limited: 2 chunks, backing off 30s",
        "Rate limited: 2 chunks, backing off 30s",
        "Rate limited: 3 chunks, backing off 30s",
    ]
    assert toasts == []  # none of them a toast of its own
    # A limit long after the last one starts a new count.
    clock[0] = BURST_S + 1
    bridge.handle(_status("d", Waiting.BACKOFF))
    assert said[-1] == "d: rate limited, backing off 30s"
