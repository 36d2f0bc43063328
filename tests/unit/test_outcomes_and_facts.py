"""The failure matrix and the stream's facts, each on its own."""

from __future__ import annotations

import json
from pathlib import Path

from tui_orchestrator.engine.outcomes import Action, judge
from tui_orchestrator.engine.runner import Outcome, OutcomeKind
from tui_orchestrator.engine.stream import ToolResult, ToolUse, parse_line
from tui_orchestrator.engine.stream_facts import (
    Activity,
    ChunkReading,
    FileRead,
    LogKind,
    Said,
    Spending,
    Verb,
    stored_lines,
)
from tui_orchestrator.engine.views import Runtime, Waiting


def test_a_crash_is_retried_with_growing_waits_until_the_attempts_run_out() -> None:
    rt = Runtime()
    crash = Outcome(OutcomeKind.CRASH, stderr_tail="segfault")
    first, second = judge("c", crash, rt, 3), judge("c", crash, rt, 3)
    assert (first.action, first.waiting, first.delay_s) == (Action.REQUEUE, Waiting.RETRY, 2.0)
    assert second.delay_s == 4.0 and second.log == Said(
        LogKind.ERROR, "crash: segfault; retrying 3/3"
    )
    last = judge("c", crash, rt, 3)
    assert (last.action, last.error) == (Action.FAIL, "crash: segfault")


def test_a_timeout_gets_one_more_try_and_a_lost_session_a_fresh_one() -> None:
    rt = Runtime()
    assert judge("c", Outcome(OutcomeKind.TIMEOUT), rt, 3).waiting is Waiting.TIMEOUT
    assert judge("c", Outcome(OutcomeKind.TIMEOUT), rt, 3).error == "timeout"
    missing = judge("c", Outcome(OutcomeKind.SESSION_MISSING), rt, 3)
    assert missing.fresh_session and missing.waiting is Waiting.RESTART


def test_limits_and_outages_go_to_the_pool_and_the_rest_fail_with_their_reason() -> None:
    rt = Runtime()
    assert judge("c", Outcome(OutcomeKind.RATE_LIMITED), rt, 3).action is Action.LIMITED
    assert judge("c", Outcome(OutcomeKind.OUTAGE), rt, 3).waiting is Waiting.OUTAGE
    for kind, error in [
        (OutcomeKind.PARSE_ERROR, "parse error"),
        (OutcomeKind.MAX_TURNS, "incomplete"),
        (OutcomeKind.BUDGET, "budget"),
    ]:
        assert judge("c", Outcome(kind), rt, 3).error == error


def test_a_file_counts_as_read_once_its_contents_came_back(tmp_path: Path) -> None:
    reading = ChunkReading(tmp_path, ["src/a.py", "src/b.py"])
    use = ToolUse("Read", {"file_path": str(tmp_path / "src/a.py")}, "t1")
    facts = reading.facts(use)
    assert Activity(Verb.READING, "src/a.py", "Read") in facts
    assert str(facts[0]) == "Reading src/a.py"
    assert not any(isinstance(f, FileRead) for f in facts)
    assert FileRead("src/a.py") in reading.facts(ToolResult("t1", False, "1\tx"))
    # A call that failed reads nothing; a file outside the chunk is no progress.
    reading.facts(ToolUse("Read", {"file_path": "src/b.py"}, "t2"))
    assert not any(isinstance(f, FileRead) for f in reading.facts(ToolResult("t2", True, "!")))
    reading.facts(ToolUse("Grep", {"pattern": "TODO", "path": "elsewhere.py"}, "t3"))
    assert reading.facts(ToolResult("t3", False, "")) == []


def test_the_zoomed_log_reads_a_stored_line_in_the_panels_words(tmp_path: Path) -> None:
    line = (
        '{"type":"assistant","message":{"content":[{"type":"tool_use","id":"x",'
        f'"name":"Grep","input":{{"pattern":"[/x]","path":"{tmp_path}/src"}}}}]}}}}'
    )
    # The path the call names, repository-relative, as the panel shows it.
    assert stored_lines(line, tmp_path) == [Said(LogKind.TOOL, "Grep src")]
    assert stored_lines("not json at all") == [Said(LogKind.NOTE, "not json at all")]
    meta = '{"type":"claude-tui","attempt":2,"session_id":"0123456789"}'
    assert stored_lines(meta) == [Said(LogKind.META, "attempt 2 · session 01234567")]


def test_a_running_attempt_counts_its_spend_once_per_message(tmp_path: Path) -> None:
    """The real CLI repeats a message's usage on each of its lines (one per block): the
    panel counts each message once, and prices the running figure until the result."""
    reading = ChunkReading(tmp_path, [])
    fixture = Path(__file__).parent.parent / "fixtures" / "success.jsonl"
    spending = [
        fact
        for line in fixture.read_text().splitlines()
        for event in parse_line(line)
        for fact in reading.facts(event)
        if isinstance(fact, Spending)
    ]
    messages: dict[str, dict[str, int]] = {}
    for line in fixture.read_text().splitlines():
        data = json.loads(line)
        if data["type"] == "assistant":
            messages[data["message"]["id"]] = data["message"]["usage"]
    expected = sum(sum(u.values()) for u in messages.values())
    assert len(spending) > len(messages) > 1  # repeated lines did not count twice
    assert spending[-1].tokens == expected > 0
    assert spending[-1].cost_usd > 0


def test_a_bad_usage_number_counts_zero_and_lines_without_a_message_id_each_count(
    tmp_path: Path,
) -> None:
    reading = ChunkReading(tmp_path, [])
    line = json.dumps(
        {
            "type": "assistant",
            "message": {
                "content": [{"type": "text", "text": "hi"}],
                "usage": {"input_tokens": float("nan"), "output_tokens": 7},
            },
        }
    )
    facts = [f for e in parse_line(line) for f in reading.facts(e)]
    assert Spending(7, 7 * 15.0 / 1e6, answered=True) in facts
    facts = [f for e in parse_line(line) for f in reading.facts(e)]
    assert [f.tokens for f in facts if isinstance(f, Spending)] == [14]
