"""A finding's category, confidence and evidence, its fingerprint, and the secrets kept out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tui_orchestrator.engine.checkpoint import (
    Checkpoint,
    ChunkState,
    ChunkStatus,
    checkpoint_from_toml,
    checkpoint_to_toml,
)
from tui_orchestrator.engine.findings import Finding, Severity, findings_from
from tui_orchestrator.engine.fingerprint import fingerprint, repo_id
from tui_orchestrator.engine.redact import MASK, redact
from tui_orchestrator.engine.reports import render_json, render_markdown

CODE = """import os


def load(user):
    query = "SELECT * FROM users WHERE name = '%s'" % user
    return db.execute(query)


def other():
    return 1
"""


def test_the_model_s_category_and_confidence_are_held_to_their_words(tmp_path: Path) -> None:
    raw = [
        {"file": "a.py", "line": 5, "severity": "high", "title": "SQL injection",
         "description": "d", "category": "SQL_Injection", "confidence": "HIGH",
         "evidence": "query = ... % user"},
        {"file": "a.py", "line": 6, "severity": "low", "title": "t", "description": "d",
         "category": "weird stuff", "confidence": "certain"},
        {"file": "a.py", "line": 7, "severity": "low", "title": "t2", "description": "d"},
    ]  # fmt: skip
    first, second, third = findings_from({"findings": raw}, tmp_path, "c")
    assert (first.category, first.confidence, first.evidence) == (
        "injection", "high", "query = ... % user"
    )
    assert (second.category, second.confidence) == ("other", "")
    assert (third.category, third.confidence, third.evidence) == ("", "", "")


def test_the_fingerprint_follows_the_code_not_the_line_number(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(CODE)
    before = fingerprint(tmp_path, "a.py", 5, "SQL injection")
    # Lines added above, the code re-indented, CRLF line ends: the same finding.
    (tmp_path / "a.py").write_text("# a header\n# more\n" + CODE)
    assert fingerprint(tmp_path, "a.py", 7, "SQL injection") == before
    crlf = CODE.replace("\n", "\r\n").replace("    query", "\tquery  ")
    (tmp_path / "a.py").write_bytes(crlf.encode())
    assert fingerprint(tmp_path, "a.py", 5, "another title") == before  # title not in it
    # The code at the finding changes: another finding.
    (tmp_path / "a.py").write_text(CODE.replace("'%s'", "?"))
    assert fingerprint(tmp_path, "a.py", 5, "SQL injection") != before
    # The same code in another file is another finding.
    (tmp_path / "b.py").write_text(CODE)
    assert fingerprint(tmp_path, "b.py", 5, "SQL injection") != before
    # No line, or no such file: path and title.
    assert fingerprint(tmp_path, "a.py", 0, "t") == fingerprint(tmp_path, "a.py", 999, "t")
    assert fingerprint(tmp_path, "gone.py", 3, "t") != fingerprint(tmp_path, "gone.py", 3, "u")


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("uses AKIAIOSFODNN7EXAMPLE to sign", "uses", "AKIAIOSFODNN7EXAMPLE"),
        ('SECRET_KEY = "dev-secret-please-change"', "SECRET_KEY", "dev-secret-please-change"),
        ("DB_PASSWORD=s3cr3tpass in .env", "DB_PASSWORD", "s3cr3tpass"),
        ("token ghp_" + "a1" * 18 + " leaked", "leaked", "ghp_a1a1"),
        ('"api_key": "sk-ant-api03-abcdefghijklmnopqrstuv"', "api_key", "sk-ant-api03"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "", "MIIEow"),
    ],
)
def test_secret_values_are_redacted_and_the_name_stays(text: str, kept: str, gone: str) -> None:
    out = redact(text)
    assert gone not in out and MASK in out and kept in out


def test_code_that_only_names_a_secret_is_left_as_it_is() -> None:
    for text in ("token = get_token()", "the password check is weak", "self.token = token"):
        assert redact(text) == text


def test_a_quoted_secret_never_reaches_the_checkpoint_or_a_report(tmp_path: Path) -> None:
    raw = {"file": "config.py", "line": 2, "severity": "high", "title": "hard-coded key",
           "description": 'SECRET_KEY = "dev-secret-please-change" is in the code',
           "evidence": 'SECRET_KEY = "dev-secret-please-change"', "category": "secrets"}  # fmt: skip
    (found,) = findings_from({"findings": [raw]}, tmp_path, "c")
    state = ChunkState("c", ["config.py"], status=ChunkStatus.DONE, issues=[found])
    checkpoint = Checkpoint(repo=str(tmp_path), chunks=[state])
    for text in (checkpoint_to_toml(checkpoint), render_json(checkpoint), render_markdown(checkpoint)):
        assert "dev-secret-please-change" not in text and MASK in text


def test_the_checkpoint_round_trips_the_new_keys_and_loads_without_them() -> None:
    finding = Finding("a.py", 5, Severity.HIGH, "t", "d", "c", "injection", "high",
                      "query % user", "0" * 32)  # fmt: skip
    checkpoint = Checkpoint(repo="r", chunks=[ChunkState("c", ["a.py"], issues=[finding])])
    text = checkpoint_to_toml(checkpoint)
    assert checkpoint_from_toml(text).chunks[0].issues == [finding]
    old = "\n".join(
        line for line in text.splitlines()
        if not line.startswith(("category", "confidence", "evidence", "fingerprint"))
    )  # fmt: skip
    (loaded,) = checkpoint_from_toml(old).chunks[0].issues
    assert (loaded.category, loaded.confidence, loaded.evidence, loaded.fingerprint) == (
        "", "", "", ""
    )


def test_reports_carry_the_fields_and_the_repository_s_first_commit(tmp_path: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "a.py").write_text(CODE)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=tmp_path, check=True)
    first = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run([*git, "commit", "-qm", "two", "--allow-empty"], cwd=tmp_path, check=True)
    assert repo_id(tmp_path) == first
    finding = Finding("a.py", 5, Severity.HIGH, "SQL injection", "d", "c", "injection", "high",
                      "query % user", fingerprint(tmp_path, "a.py", 5, "SQL injection"))  # fmt: skip
    state = ChunkState("c", ["a.py"], status=ChunkStatus.DONE, issues=[finding])
    checkpoint = Checkpoint(repo=str(tmp_path), chunks=[state])
    import json

    data = json.loads(render_json(checkpoint))
    assert data["repo_id"] == first
    (issue,) = data["issues"]
    assert (issue["category"], issue["confidence"], issue["evidence"]) == (
        "injection", "high", "query % user"
    )
    assert issue["fingerprint"] == finding.fingerprint and len(finding.fingerprint) == 32
    markdown = render_markdown(checkpoint)
    assert "| injection | high |" in markdown and "query % user" in markdown


def _f(chunk: str, line: int, **kw: object) -> Finding:
    fields = {"severity": Severity.LOW, "title": "t", "description": "d"} | kw
    return Finding("a.py", line, chunk=chunk, **fields)  # type: ignore[arg-type]


def test_one_finding_per_problem_whatever_the_order_they_arrive_in() -> None:
    from tui_orchestrator.engine.findings import merge

    first = _f("api", 10, category="injection", evidence="short", fingerprint="p1")
    # The same fingerprint, another line and title (the file moved between two reviews).
    moved = _f("auth", 14, title="SQL built from input", fingerprint="p1",
               severity=Severity.HIGH, evidence="the longer evidence")  # fmt: skip
    # The same file and category, 3 lines away: the same problem, worded otherwise.
    near = _f("web", 13, title="query concatenation", category="injection")
    far = _f("web", 20, title="another injection", category="injection")
    other_kind = _f("web", 11, title="leaks a handle", category="resource-leak")
    for order in ([first, moved, near, far, other_kind], [first, near, moved, other_kind, far]):
        merged = merge(order)
        assert len(merged) == 3, merged
        one = merged[0]
        assert one.chunk == "api" and one.line == 10 and one.title == "t"
        assert set(one.chunks) == {"api", "auth", "web"} and one.chunks[0] == "api"
        assert one.severity is Severity.HIGH and one.evidence == "the longer evidence"
        assert {f.title for f in merged[1:]} == {"another injection", "leaks a handle"}
    # Same file, line and title: one finding, whatever else differs (the contract's rule).
    assert len(merge([_f("a", 3), _f("b", 3, description="other words")])) == 1
    # No category and no fingerprint: near lines stay apart.
    assert len(merge([_f("a", 3), _f("b", 4, title="u")])) == 2
