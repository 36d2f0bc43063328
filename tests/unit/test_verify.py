"""Verification's contract: the prompt lines, the schema, verdicts by fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_orchestrator.engine.checkpoint import Checkpoint, checkpoint_from_toml, checkpoint_to_toml
from tui_orchestrator.engine.findings import Finding, Severity, merge
from tui_orchestrator.engine.verify import (
    MAX_VERIFY_FILES,
    VERDICTS_SCHEMA,
    FindingVerdict,
    VerdictKind,
    VerifyMode,
    VerifyUnit,
    batch_name,
    group_of,
    parse_result_verdicts,
    take_batch,
    units_to_verify,
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


def test_one_unit_per_file_with_id_lines_and_indented_details(tmp_path: Path) -> None:
    findings = [
        _f(3, Severity.HIGH, "a" * 32),
        _f(9, Severity.CRITICAL, "b" * 32),
        _f(4, Severity.LOW, "c" * 32),
        _f(1, Severity.HIGH, "d" * 32, file="src/b.py"),
    ]
    units = units_to_verify(findings, {}, VerifyMode.HIGH, set())
    assert [u.file for u in units] == ["src/a.py", "src/b.py"]
    prompt = verify_prompt(tmp_path, group_of("verify: web +1 files", units))
    assert f"Repository root: {tmp_path}" in prompt
    assert "Findings to verify (3):" in prompt
    lines = prompt.splitlines()
    at = lines.index("- [bbbbbbbb] src/a.py:9 title 9")  # the worst first
    assert lines[at + 1 : at + 4] == ["    desc", "    more", "    x()"]
    assert "- [aaaaaaaa] src/a.py:3 title 3" in lines
    assert "- [dddddddd] src/b.py:1 title 1" in lines
    assert "title 4" not in prompt  # low: not under --verify high
    # Already judged, or being judged: not asked again.
    verdicts = {"b" * 32: FindingVerdict(VerdictKind.CONFIRMED)}
    again = units_to_verify(findings, verdicts, VerifyMode.ALL, {"a" * 32})
    assert [[f.fingerprint[0] for f in u.findings] for u in again] == [["c"], ["d"]]


def test_a_batch_takes_whole_files_and_its_share_of_what_waits() -> None:
    units = [
        VerifyUnit(
            f"f{i}.py", tuple(_f(j, Severity.HIGH, f"{i:02d}{j:030d}") for j in range(n)), "c"
        )
        for i, n in enumerate([1, 2, 1, 3, 1, 1, 1, 1, 1, 1])
    ]
    assert take_batch(units, sessions=1) == MAX_VERIFY_FILES  # one worker free: a full batch
    assert take_batch(units, sessions=4) == 3  # four free: a quarter each (10 files)
    assert take_batch(units[:1], sessions=4) == 1
    big = [VerifyUnit("a.py", tuple(_f(j, Severity.HIGH, f"{j:032d}") for j in range(15)), "c"),
           VerifyUnit("b.py", tuple(_f(j, Severity.HIGH, f"b{j:031d}") for j in range(15)), "c")]  # fmt: skip
    assert take_batch(big, sessions=1) == 1  # a file's findings are never split; the cap
    assert batch_name(units[:3]) == "verify: c +2 files"
    assert batch_name(units[:1]) == "verify: c f0.py"


def test_a_finding_two_chunks_reported_is_one_to_verify() -> None:
    one = _f(3, Severity.HIGH, "a" * 32, chunk="api")
    two = _f(3, Severity.HIGH, "a" * 32, chunk="web")
    (unit,) = units_to_verify(merge([one, two]), {}, VerifyMode.HIGH, set())
    assert [f.chunks for f in unit.findings] == [("api", "web")]


def test_a_finding_without_a_verdict_is_uncertain_and_no_verdicts_is_a_parse_error() -> None:
    findings = [_f(3, Severity.HIGH, "a" * 32), _f(5, Severity.HIGH, "b" * 32)]
    group = group_of("v", units_to_verify(findings, {}, VerifyMode.HIGH, set()))
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
    fixed = chunk_cost_usd(0, 0)  # a session's own part: its prompt, its tools
    reading = chunk_cost_usd(1000, 1) + chunk_cost_usd(2000, 1) - 2 * fixed
    assert plan_figures(plan, sizes, 2).verify_cost_usd == 0.0  # off
    high = plan_figures(plan, sizes, 2, verify="high").verify_cost_usd
    assert high == pytest.approx(0.15 * reading + fixed)  # one session for what it reads
    every = plan_figures(plan, sizes, 2, verify="all").verify_cost_usd
    assert every == pytest.approx(0.4 * reading + fixed)
