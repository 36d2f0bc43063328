"""Reports from a checkpoint: JSON exactly as SPEC §5 says, SARIF 2.1.0, Markdown by
severity; duplicates across chunks appear once, credited to the first chunk in plan order."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tui_orchestrator.engine.checkpoint import Checkpoint, ChunkState, ChunkStatus
from tui_orchestrator.engine.errors import ConfigError
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.reports import (
    render,
    render_json,
    render_markdown,
    render_sarif,
    report_data,
    resolve_format,
)


def finding(file: str, line: int, severity: str, title: str, chunk: str, desc: str = "") -> Finding:
    return Finding(file, line, Severity(severity), title, desc or f"{title} in {file}", chunk)


@pytest.fixture
def cp() -> Checkpoint:
    auth = ChunkState(
        name="src-auth",
        files=["src/auth/login.py", "src/auth/session.py"],
        status=ChunkStatus.DONE,
        session_id="11111111-1111-4111-8111-111111111111",
        attempts=1,
        cost_usd=0.0123,
        issues=[
            finding("src/auth/login.py", 12, "critical", "Hard-coded password", "src-auth"),
            finding("src/auth/session.py", 40, "medium", "Session never expires", "src-auth"),
            finding("src/api/users.py", 7, "high", "SQL injection", "src-auth", "seen from auth"),
        ],
    )
    api = ChunkState(
        name="src-api",
        files=["src/api/users.py", "src/api/orders.py", "src/api/items.py"],
        status=ChunkStatus.FAILED,
        session_id="22222222-2222-4222-8222-222222222222",
        attempts=3,
        cost_usd=0.02,
        error="rate limited",
        issues=[
            # The same finding as src-auth's (file, line, title): reported once, by src-auth.
            finding("src/api/users.py", 7, "low", "SQL injection", "src-api", "seen from api"),
            finding("src/api/users.py", 8, "high", "SQL injection", "src-api"),
            finding("src/api/orders.py", 0, "info", "Unused import", "src-api"),
            finding("src/api/items.py", 3, "low", "Pipe | in a title", "src-api"),
        ],
    )
    web = ChunkState(name="web", files=["web/app.ts"], status=ChunkStatus.PENDING)
    return Checkpoint(
        repo="/home/dev/shop", chunks=[auth, api, web], wall_s=93.25, backend="claude"
    )


# --- JSON ---------------------------------------------------------------------------------


def test_json_report_has_exactly_the_spec_keys_and_types(cp: Checkpoint) -> None:
    data = json.loads(render_json(cp))
    assert {"version", "repo", "backend", "issues", "chunks", "totals"} <= set(data)
    assert data["version"] == 1
    assert data["repo"] == "/home/dev/shop"
    assert data["backend"] == "claude"
    for issue in data["issues"]:
        # The contract's keys, and the additions of docs/findings.md (never renames).
        assert set(issue) == {
            "file", "line", "severity", "title", "description", "chunk",
            "category", "confidence", "evidence", "fingerprint", "chunks",
            "verdict", "verdict_reason", "suppressed",
        }  # fmt: skip
        assert issue["verdict"] == "unverified" and issue["verdict_reason"] == ""
        assert isinstance(issue["file"], str) and isinstance(issue["line"], int)
        assert issue["severity"] in ("critical", "high", "medium", "low", "info")
        assert all(isinstance(issue[k], str) for k in ("title", "description", "chunk"))
        assert all(
            isinstance(issue[k], str) for k in ("category", "confidence", "evidence", "fingerprint")
        )
    assert data["repo_id"] == ""  # not a git repository
    for chunk in data["chunks"]:
        assert {"name", "status", "files", "session_id", "attempts", "cost_usd", "error"} <= set(
            chunk
        )
        assert chunk["status"] in ("pending", "running", "paused", "done", "failed", "cancelled")
        assert isinstance(chunk["files"], list) and all(isinstance(f, str) for f in chunk["files"])
        assert isinstance(chunk["session_id"], str)
        assert isinstance(chunk["attempts"], int) and not isinstance(chunk["attempts"], bool)
        assert isinstance(chunk["cost_usd"], float)
        assert isinstance(chunk["error"], str)
    totals = data["totals"]
    assert {"files", "chunks", "issues", "cost_usd", "wall_s"} <= set(totals)
    assert all(isinstance(totals[k], int) for k in ("files", "chunks", "issues"))
    assert all(isinstance(totals[k], float) for k in ("cost_usd", "wall_s"))


def test_json_report_figures(cp: Checkpoint) -> None:
    data = report_data(cp)
    assert [c["name"] for c in data["chunks"]] == ["src-auth", "src-api", "web"]
    assert [c["status"] for c in data["chunks"]] == ["done", "failed", "pending"]
    assert data["chunks"][0]["error"] == "" and data["chunks"][1]["error"] == "rate limited"
    assert data["chunks"][2]["session_id"] == "" and data["chunks"][2]["cost_usd"] == 0.0
    assert data["totals"]["files"] == 6
    assert data["totals"]["chunks"] == 3
    assert data["totals"]["issues"] == len(data["issues"]) == 6
    assert data["totals"]["cost_usd"] == pytest.approx(0.0323)
    assert data["totals"]["wall_s"] == 93.25
    assert data["unfinished"] == ["src-api", "web"]


def test_duplicates_across_chunks_appear_once_credited_to_the_first_chunk(cp: Checkpoint) -> None:
    issues = report_data(cp)["issues"]
    sql = [i for i in issues if i["title"] == "SQL injection"]
    assert [(i["line"], i["chunk"]) for i in sql] == [(7, "src-auth"), (8, "src-api")]
    assert sql[0]["severity"] == "high" and sql[0]["description"] == "seen from auth"


def test_plan_order_not_severity_decides_who_reported_a_duplicate(cp: Checkpoint) -> None:
    cp.chunks.reverse()
    sql7 = [i for i in report_data(cp)["issues"] if i["line"] == 7]
    # The first reporter in plan order names it; it keeps the highest severity reported.
    assert [(i["chunk"], i["severity"], i["chunks"]) for i in sql7] == [
        ("src-api", "high", ["src-api", "src-auth"])
    ]


def test_demo_runs_say_so_in_every_format(cp: Checkpoint) -> None:
    cp.backend = "demo"
    assert json.loads(render_json(cp))["backend"] == "demo"
    assert json.loads(render_sarif(cp))["runs"][0]["properties"]["backend"] == "demo"
    assert "DEMO" in render_markdown(cp)


def test_json_keeps_unicode_readable(cp: Checkpoint) -> None:
    cp.chunks[0].issues[0] = finding("src/auth/login.py", 1, "low", "Ünïcode 🐍", "src-auth")
    text = render_json(cp)
    assert "Ünïcode 🐍" in text
    assert json.loads(text)["issues"][0]["title"] == "Ünïcode 🐍"


# --- SARIF --------------------------------------------------------------------------------


def test_sarif_has_one_run_and_a_rule_per_category(cp: Checkpoint) -> None:
    """Rules are kinds of problem (docs/sarif.md): the fixture's findings name no category,
    but one, so they go under claude-tui/other, and that one under its own."""
    cp.chunks[0].issues[0] = replace(cp.chunks[0].issues[0], category="secrets")
    sarif = json.loads(render_sarif(cp))
    assert sarif["version"] == "2.1.0"
    assert "sarif-2.1.0" in sarif["$schema"]
    assert len(sarif["runs"]) == 1
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["name"] == "claude-tui"
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["claude-tui/other", "claude-tui/secrets"]
    assert "CWE-798" in rules[1]["properties"]["tags"]
    assert len(run["results"]) == 6
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert result["ruleId"] == rule["id"]
        assert result["message"]["text"]


def test_sarif_locations_are_repo_relative_with_a_start_line(cp: Checkpoint) -> None:
    run = json.loads(render_sarif(cp))["runs"][0]
    locations = [r["locations"][0]["physicalLocation"] for r in run["results"]]
    uris = [loc["artifactLocation"]["uri"] for loc in locations]
    assert set(uris) == {
        "src/auth/login.py", "src/auth/session.py", "src/api/users.py", "src/api/orders.py",
        "src/api/items.py",
    }  # fmt: skip
    assert all(not u.startswith(("/", "file:")) for u in uris)
    lines = {(loc["artifactLocation"]["uri"], loc["region"]["startLine"]) for loc in locations}
    assert ("src/auth/login.py", 12) in lines and ("src/api/users.py", 8) in lines
    # SARIF lines start at 1: a finding without a line points at the first.
    assert ("src/api/orders.py", 1) in lines
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///home/dev/shop/"


@pytest.mark.parametrize(
    ("severity", "level"),
    [("critical", "error"), ("high", "error"), ("medium", "warning"), ("low", "note"),
     ("info", "note")],
)  # fmt: skip
def test_sarif_level_follows_severity(severity: str, level: str) -> None:
    chunk = ChunkState(name="a", files=["a.py"], status=ChunkStatus.DONE)
    chunk.issues = [finding("a.py", 3, severity, "Problem", "a")]
    run = json.loads(render_sarif(Checkpoint(repo="/r", chunks=[chunk])))["runs"][0]
    assert run["results"][0]["level"] == level
    assert run["results"][0]["properties"]["severity"] == severity


def test_sarif_uri_of_an_awkward_file_name_is_a_valid_relative_reference() -> None:
    chunk = ChunkState(name="a", files=["docs/my file #1.py"], status=ChunkStatus.DONE)
    chunk.issues = [finding("docs/my file #1.py", 2, "low", "Problem", "a")]
    run = json.loads(render_sarif(Checkpoint(repo="/r", chunks=[chunk])))["runs"][0]
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "docs/my%20file%20%231.py"


def test_sarif_of_a_checkpoint_with_a_relative_repo_path_still_renders() -> None:
    chunk = ChunkState(name="a", files=["a.py"], status=ChunkStatus.DONE)
    chunk.issues = [finding("a.py", 2, "low", "Problem", "a")]
    sarif = json.loads(render_sarif(Checkpoint(repo="repo", chunks=[chunk])))
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"] == "a.py"


# --- Markdown -----------------------------------------------------------------------------


def test_markdown_groups_findings_by_severity_worst_first(cp: Checkpoint) -> None:
    text = render_markdown(cp)
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Critical (1)",
        "## High (2)",
        "## Medium (1)",
        "## Low (1)",
        "## Info (1)",
    ]
    sections = text.split("\n## ")[1:]
    by_heading = {s.splitlines()[0]: s for s in sections}
    assert "Hard-coded password" in by_heading["Critical (1)"]
    assert "Session never expires" in by_heading["Medium (1)"]
    assert "SQL injection" not in by_heading["Low (1)"], "the duplicate was reported once"
    assert "Pipe \\| in a title" in by_heading["Low (1)"]


def test_markdown_summarises_the_run(cp: Checkpoint) -> None:
    text = render_markdown(cp)
    assert text.startswith("# claude-tui report: shop")
    assert "- Chunks: 1/3 done, 6 files" in text
    assert "- Issues: 6" in text
    assert "- Unfinished chunks: src-api, web" in text


def test_markdown_says_when_nothing_was_found() -> None:
    cp = Checkpoint(repo="/r", chunks=[ChunkState(name="a", files=["a.py"])])
    text = render_markdown(cp)
    assert "No issues found." in text
    assert "## " not in text


# --- format resolution --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "out", "expected"),
    [
        (None, None, "json"),
        (None, "-", "json"),
        (None, "report.json", "json"),
        (None, "out/review.sarif", "sarif"),
        (None, "REVIEW.SARIF", "sarif"),
        (None, "notes.md", "markdown"),
        (None, "notes.markdown", "markdown"),
        ("sarif", "report.json", "sarif"),
        ("markdown", None, "markdown"),
    ],
)
def test_format_comes_from_the_flag_else_the_extension(
    fmt: str | None, out: str | None, expected: str
) -> None:
    assert resolve_format(fmt, out) == expected


@pytest.mark.parametrize(
    ("fmt", "out", "message"),
    [
        ("xml", None, "unknown report format 'xml'"),
        ("JSON", "a.json", "unknown report format 'JSON'"),
        (None, "report.txt", "cannot tell the report format from 'report.txt'"),
        (None, "report", "cannot tell the report format"),
    ],
)
def test_an_unknown_format_or_extension_is_a_config_error(
    fmt: str | None, out: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_format(fmt, out)


def test_render_picks_the_renderer(cp: Checkpoint) -> None:
    assert json.loads(render(cp, "json"))["version"] == 1
    assert json.loads(render(cp, "sarif"))["version"] == "2.1.0"
    assert render(cp, "markdown").startswith("# ")


def test_a_filtered_report_names_its_filter_in_every_format(cp: Checkpoint) -> None:
    def keep(f: Finding) -> bool:
        return f.severity is Severity.CRITICAL

    every = len(json.loads(render_json(cp))["issues"])
    data = json.loads(render_json(cp, keep, "sev:critical"))
    assert data["filter"] == {"query": "sev:critical", "issues": 1, "of": every}
    sarif = json.loads(render_sarif(cp, keep, "sev:critical"))
    assert sarif["runs"][0]["properties"]["filter"]["query"] == "sev:critical"
    markdown = render_markdown(cp, keep, "sev:critical")
    assert f"- Filter: `sev:critical` (1 of {every} findings)" in markdown
    assert "filter" not in json.loads(render_json(cp))  # unfiltered: no such key


def test_the_gate_counts_what_is_not_refuted_suppressed_unchanged_or_off_the_diff() -> None:
    """--fail-on's findings (reports.gate_findings): each condition takes one out."""
    from tui_orchestrator.engine.baseline import Baseline
    from tui_orchestrator.engine.changes import Changes
    from tui_orchestrator.engine.reports import ReportOptions, gate_findings
    from tui_orchestrator.engine.suppressions import Suppression
    from tui_orchestrator.engine.verify import FindingVerdict, VerdictKind

    def made(line: int, title: str) -> Finding:
        return replace(finding("a.py", line, "high", title, "c"), fingerprint=f"fp-{title}")

    issues = [made(1, "kept"), made(2, "refuted"), made(3, "suppressed"), made(4, "old"),
              made(40, "off the diff")]  # fmt: skip
    cp = Checkpoint(repo="/r", chunks=[ChunkState("c", ["a.py"], ChunkStatus.DONE, issues=issues)])
    cp.verdicts = {"fp-refuted": FindingVerdict(VerdictKind.REFUTED, "checked")}
    cp.change = Changes("main", "b" * 40, {"a.py": ((1, 10),)})
    options = ReportOptions(
        suppressions={"fp-suppressed": Suppression("fp-suppressed", "accepted risk", "al")},
        baseline=Baseline("old.json", "", {"fp-old": {"severity": "high", "title": "old"}}),
    )
    titles = [f.title for f in gate_findings(cp, options)]
    assert titles == ["kept", "off the diff"]
    titles = [f.title for f in gate_findings(cp, replace(options, diff_only=True))]
    assert titles == ["kept"]
    data = json.loads(render(cp, "json", options=replace(options, diff_only=True)))
    assert [i["title"] for i in data["issues"]] == ["kept", "refuted", "suppressed", "old"]
    assert all(i["in_diff"] for i in data["issues"])
    assert data["change"] == {"since": "main", "base": "b" * 40, "files_changed": 1,
                              "diff_only": True}  # fmt: skip
    assert "Change review: files changed since `main`" in render(cp, "markdown", options=options)
