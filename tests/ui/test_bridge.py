"""The bridge between the engine's events and the views: batches, and the recent lines."""

from __future__ import annotations

from tui_orchestrator.engine.events import LogLine
from tui_orchestrator.ui.bridge import RECENT_CHUNKS, RECENT_LINES, RunBridge


def test_a_batch_holds_what_changed_and_the_recent_lines_what_was_flushed() -> None:
    bridge = RunBridge(lambda text, level: None)
    bridge.handle(LogLine("a", "tool", "Read src/x.py"))
    bridge.handle(LogLine("a", "text", "two\nlines"))
    assert bridge.recent_lines("a") == []  # not flushed yet: the next batch brings them
    batch = bridge.take()
    assert batch.chunks == {"a"} and list(batch.lines["a"]) == ["→ Read src/x.py", "two", "lines"]
    assert bridge.recent_lines("a") == ["→ Read src/x.py", "two", "lines"]
    assert not bridge.take()


def test_the_recent_lines_are_bounded_per_chunk_and_in_chunks() -> None:
    bridge = RunBridge(lambda text, level: None)
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
