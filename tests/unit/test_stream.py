"""The stream parser and the outcome judge on real Claude Code output (tests/fixtures/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_orchestrator.engine.findings import parse_result_findings
from tui_orchestrator.engine.runner import OutcomeKind, classify
from tui_orchestrator.engine.stream import (
    AssistantText,
    Init,
    NonJson,
    RateLimitNotice,
    Result,
    ToolResult,
    ToolUse,
    Unknown,
    parse_line,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


def events_of(name: str) -> list:
    out = []
    for line in (FIXTURES / name).read_text().splitlines():
        out.extend(parse_line(line))
    return out


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("success.jsonl", OutcomeKind.OK),
        ("resumed.jsonl", OutcomeKind.OK),
        ("tools_denied.jsonl", OutcomeKind.OK),
        ("rate_limited.jsonl", OutcomeKind.RATE_LIMITED),
        ("overloaded.jsonl", OutcomeKind.RATE_LIMITED),
        ("unreachable.jsonl", OutcomeKind.OUTAGE),
        ("stream_cut.jsonl", OutcomeKind.TRANSIENT),
        ("schema_never_met.jsonl", OutcomeKind.PARSE_ERROR),
    ],
)
def test_each_real_transcript_is_judged_by_its_result_line(name: str, kind: OutcomeKind) -> None:
    events = events_of(name)
    assert isinstance(events[0], Init) and events[0].session_id
    result = events[-1]
    assert isinstance(result, Result)
    assert classify(result, 1 if result.is_error else 0, "") is kind


def test_success_transcript_yields_tool_calls_and_repo_relative_findings() -> None:
    events = events_of("success.jsonl")
    reads = [e for e in events if isinstance(e, ToolUse) and e.tool == "Read"]
    assert [e.target for e in reads] == [
        "/home/dev/project/src/utils/mod_0000.ts",
        "/home/dev/project/lib/mod_0001.go",
    ]
    assert sum(isinstance(e, ToolResult) for e in events) >= 2
    assert any(isinstance(e, AssistantText) for e in events)
    result = events[-1]
    assert result.total_cost_usd > 0 and result.input_tokens == 2000
    findings = parse_result_findings(
        result.structured_output, result.result, Path("/home/dev/project")
    )
    assert findings
    assert {f.file for f in findings} == {"lib/mod_0001.go", "src/utils/mod_0000.ts"}


def test_rate_limit_result_keeps_status_and_type() -> None:
    result = events_of("rate_limited.jsonl")[-1]
    assert result.is_error and result.api_error_status == 429
    assert result.subtype == "success"  # sic: the subtype is not the truth


def test_refused_tools_are_tool_result_errors_not_fatal() -> None:
    events = events_of("tools_denied.jsonl")
    denied = [e for e in events if isinstance(e, ToolResult) and e.is_error]
    assert len(denied) == 2 and "No such tool" in denied[0].preview


def test_unknown_events_and_non_json_lines_never_raise() -> None:
    assert parse_line("Warning: something odd\n") == [NonJson("Warning: something odd")]
    assert parse_line("") == []
    assert parse_line("[1, 2]") == [NonJson("[1, 2]")]
    (event,) = parse_line('{"type": "rate_limit_event", "retry_after": 7}')
    assert isinstance(event, RateLimitNotice) and event.retry_after_s == 7
    (event,) = parse_line('{"type": "system", "subtype": "api_retry", "retry_delay_ms": 1500}')
    assert isinstance(event, RateLimitNotice) and event.retry_after_s == 1.5
    (event,) = parse_line('{"type": "brand_new_thing", "x": 1}')
    assert isinstance(event, Unknown) and event.type == "brand_new_thing"
    assert parse_line('{"type": "assistant", "message": "not a dict"}')[0].type == "assistant"


@pytest.mark.parametrize(
    ("line", "limited"),
    [
        ('{"type": "system", "subtype": "api_retry", "error_status": 429}', True),
        ('{"type": "system", "subtype": "api_retry", "error_status": 529}', True),
        ('{"type": "system", "subtype": "api_retry", "error_status": 500}', False),
        ('{"type": "rate_limit_event", "rate_limit_info": {"status": "rejected"}}', True),
        ('{"type": "rate_limit_event", "rate_limit_info": {"status": "allowed"}}', False),
        ('{"type": "rate_limit_event", "rate_limit_info": {"status": "allowed_warning"}}', False),
    ],
)
def test_only_a_refused_request_counts_as_a_limit(line: str, limited: bool) -> None:
    """A quota report whose requests still go through must not slow the pool."""
    (event,) = parse_line(line)
    assert isinstance(event, RateLimitNotice) and event.limited is limited


def test_a_crash_without_result_line_and_session_errors_are_recognised() -> None:
    assert classify(None, 1, "") is OutcomeKind.CRASH
    assert (
        classify(None, 1, "No conversation found with session ID: x") is OutcomeKind.SESSION_MISSING
    )
    assert classify(None, 1, "Error: Session ID x is already in use.") is OutcomeKind.SESSION_IN_USE
    missing = Result("error_during_execution", True, "", "x")
    assert (
        classify(missing, 1, "No conversation found with session ID: x")
        is OutcomeKind.SESSION_MISSING
    )
    assert classify(Result("error_max_turns", True, "", "x"), 1, "") is OutcomeKind.MAX_TURNS
    assert classify(Result("error_max_budget_usd", True, "", "x"), 1, "") is OutcomeKind.BUDGET
