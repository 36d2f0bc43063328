"""Verification's contract: the prompt lines, the schema, verdicts by fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_orchestrator.engine.checkpoint import Checkpoint, checkpoint_from_toml, checkpoint_to_toml
from tui_orchestrator.engine.findings import Finding, Severity, merge
from tui_orchestrator.engine.verify import (
    VERDICTS_SCHEMA,
    FindingVerdict,
    VerdictKind,
    VerifyMode,
    groups_to_verify,
    parse_result_verdicts,
    verdicts_for,
    verify_prompt,
)


def _f(line: int, sev: Severity, fp: str, chunk: str = "web", file: str = "src/a.py") -> Finding:
    return Finding(
        file, line, sev, f"title {line}", "desc\nmore", chunk, evidence="x()", fingerprint=fp
    )


def test_the_schema_is_exactly_the_contract() -> None:
    text = (
        '{"type":"object","properties":{"verdicts":{"type":"array","items":{"type":"object",'
        '"properties":{"id":{"type":"string"},"verdict":{"type":"string","enum":["confirmed",'
        '"refuted","uncertain"]},"reason":{"type":"string"}},"required":["id","verdict",'
        '"reason"]}}},"required":["verdicts"]}'
    )
    assert json.loads(text) == VERDICTS_SCHEMA


def test_one_group_per_file_with_id_lines_and_indented_details(tmp_path: Path) -> None:
    findings = [
        _f(3, Severity.HIGH, "a" * 32),
        _f(9, Severity.CRITICAL, "b" * 32),
        _f(4, Severity.LOW, "c" * 32),
        _f(1, Severity.HIGH, "d" * 32, file="src/b.py"),
    ]
    groups = groups_to_verify(findings, {}, VerifyMode.HIGH, set())
    assert [g.file for g in groups] == ["src/a.py", "src/b.py"]
    prompt = verify_prompt(tmp_path, groups[0])
    assert f"Repository root: {tmp_path}" in prompt
    lines = prompt.splitlines()
    at = lines.index("- [bbbbbbbb] src/a.py:9 title 9")  # the worst first
    assert lines[at + 1 : at + 4] == ["    desc", "    more", "    x()"]
    assert "- [aaaaaaaa] src/a.py:3 title 3" in lines
    assert "title 4" not in prompt  # low: not under --verify high
    # Already judged, or being judged: not asked again.
    verdicts = {"b" * 32: FindingVerdict(VerdictKind.CONFIRMED)}
    again = groups_to_verify(findings, verdicts, VerifyMode.ALL, {"a" * 32})
    assert [list(g.ids) for g in again] == [["cccccccc"], ["dddddddd"]]


def test_a_finding_two_chunks_reported_is_one_to_verify() -> None:
    one = _f(3, Severity.HIGH, "a" * 32, chunk="api")
    two = _f(3, Severity.HIGH, "a" * 32, chunk="web")
    (group,) = groups_to_verify(merge([one, two]), {}, VerifyMode.HIGH, set())
    assert list(group.ids) == ["aaaaaaaa"]


def test_a_finding_without_a_verdict_is_uncertain_and_no_verdicts_is_a_parse_error() -> None:
    findings = [_f(3, Severity.HIGH, "a" * 32), _f(5, Severity.HIGH, "b" * 32)]
    (group,) = groups_to_verify(findings, {}, VerifyMode.HIGH, set())
    answer = {"verdicts": [{"id": "aaaaaaaa", "verdict": "refuted", "reason": "checked\x1b[2J"}]}
    got = verdicts_for(group, parse_result_verdicts(answer, "") or {})
    assert got["a" * 32] == FindingVerdict(
        VerdictKind.REFUTED, "checked\u241b[2J"
    )  # shown, not obeyed
    assert got["b" * 32].verdict is VerdictKind.UNCERTAIN
    assert parse_result_verdicts(None, "I looked, all fine.") is None
    fenced = '```json\n{"verdicts": [{"id": "x", "verdict": "confirmed", "reason": "r"}]}\n```'
    assert parse_result_verdicts(None, fenced) == {"x": FindingVerdict(VerdictKind.CONFIRMED, "r")}


def test_verdicts_round_trip_through_the_checkpoint() -> None:
    cp = Checkpoint(repo="/r", chunks=[])
    cp.verdicts = {"a" * 32: FindingVerdict(VerdictKind.REFUTED, 'says "no"')}
    cp.verify_cost_before = 0.25
    back = checkpoint_from_toml(checkpoint_to_toml(cp))
    assert back.verdicts == cp.verdicts
    assert back.verify_cost_usd == 0.25 and back.cost_usd == 0.25


def test_the_plan_predicts_what_verification_may_add() -> None:
    from tui_orchestrator.engine.estimate import chunk_cost_usd, plan_figures
    from tui_orchestrator.engine.plan import Chunk, Plan

    plan = Plan(chunks=[Chunk("a", ["x.py", "y.py"])])
    sizes = {"x.py": 4000, "y.py": 8000}
    each = chunk_cost_usd(1000, 1) + chunk_cost_usd(2000, 1)
    assert plan_figures(plan, sizes, 2).verify_cost_usd == 0.0  # off
    assert plan_figures(plan, sizes, 2, verify="high").verify_cost_usd == pytest.approx(0.15 * each)
    assert plan_figures(plan, sizes, 2, verify="all").verify_cost_usd == pytest.approx(0.4 * each)
