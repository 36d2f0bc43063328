"""SARIF that GitHub code scanning keeps: GitHub's own rules pass, ids and fingerprints stay.

Every SARIF built here is validated by Microsoft's SARIF Multitool with GitHub's rules, in
one call (``tests/support/sarif_validator.py``). A missing validator fails: it is no skip.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import tui_orchestrator
from tests.conftest import run_cli
from tests.support.git import git
from tests.support.sarif_validator import validate
from tui_orchestrator.engine.baseline import Baseline
from tui_orchestrator.engine.checkpoint import Checkpoint, ChunkState, ChunkStatus
from tui_orchestrator.engine.findings import Category, Finding, Severity
from tui_orchestrator.engine.fingerprint import fingerprint
from tui_orchestrator.engine.reports import ReportOptions, render
from tui_orchestrator.engine.sarif import FINGERPRINT_KEY, remote_uri
from tui_orchestrator.engine.suppressions import Suppression
from tui_orchestrator.engine.verify import FindingVerdict, VerdictKind

SAMPLE_REPO = Path(tui_orchestrator.__file__).parent / "sample_repo"


def _finding(file: str, line: int, category: str, title: str, **kw: object) -> Finding:
    return Finding(
        file, line, kw.pop("severity", Severity.HIGH), title, kw.pop("description", "why"),  # type: ignore[arg-type]
        "c1", category, "high", "evidence()", fingerprint=f"{hash((file, line, title)) & (2**64 - 1):032x}",
    )  # fmt: skip


def _every_kind(root: Path) -> Checkpoint:
    """Findings of every category and none, odd paths and hostile text, a refuted one."""
    findings = [
        _finding(f"src/{c.value}.py", 3 + i, c.value, f"problem of kind {c.value}")
        for i, c in enumerate(Category)
    ]
    findings += [
        _finding("src/no category.py", 1, "", "no category given"),
        _finding("src/naïve#1%.py", 0, "logic", "line zero and an odd path"),
        _finding(
            "web/x.ts",
            7,
            "injection",
            "[bold]markup[/] \x1b[31mred\x1b[0m \u202e bidi",
            description='quote " backslash \\ and\nlines',
            severity=Severity.CRITICAL,
        ),
        _finding("web/y.ts", 2, "auth", "refuted by a verifier", severity=Severity.LOW),
    ]
    checkpoint = Checkpoint(
        repo=str(root), chunks=[ChunkState("c1", sorted({f.file for f in findings}),
                                           ChunkStatus.DONE, issues=findings)],
    )  # fmt: skip
    refuted = findings[-1].fingerprint
    checkpoint.verdicts = {
        refuted: FindingVerdict(VerdictKind.REFUTED, "the input is checked"),
        findings[0].fingerprint: FindingVerdict(VerdictKind.CONFIRMED, "seen"),
    }
    return checkpoint


def test_every_sarif_claude_tui_writes_passes_githubs_rules(tmp_path: Path, fake_env) -> None:
    out = tmp_path / "sarif"
    out.mkdir()
    # A repository with a remote: the run says which commit of which repository it read.
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "first")
    git(repo, "remote", "add", "origin", "git@github.com:acme/shop.git")
    done = run_cli("run", str(repo), "--demo", "--report", str(out / "demo-run.sarif"))
    assert done.returncode == 0, done.stderr
    exported = run_cli("report", str(repo), "--format", "sarif", "--include-refuted")
    (out / "demo-report-refuted.sarif").write_text(exported.stdout)
    # Findings of every kind, with and without the refuted one, a filter, and none at all.
    every = _every_kind(tmp_path / "elsewhere")
    (out / "every.sarif").write_text(render(every, "sarif"))
    suppressed = {
        f.fingerprint: Suppression(f.fingerprint, "a test fixture \x1b[31m", "alice")
        for f in every.chunks[0].issues[:2]
    }
    options = ReportOptions(include_refuted=True, suppressions=suppressed)
    (out / "every-refuted-suppressed.sarif").write_text(render(every, "sarif", options=options))
    baseline = Baseline("b.json", "", {every.chunks[0].issues[0].fingerprint: {"title": "x"}})
    with_baseline = ReportOptions(baseline=baseline)
    (out / "every-baseline.sarif").write_text(render(every, "sarif", options=with_baseline))
    keep = lambda f: f.severity is Severity.CRITICAL  # noqa: E731
    (out / "filtered.sarif").write_text(render(every, "sarif", keep, "sev:critical"))
    (out / "empty.sarif").write_text(render(Checkpoint(repo=str(repo), chunks=[]), "sarif"))
    relative = Checkpoint(repo="relative/path", chunks=every.chunks)
    (out / "relative-root.sarif").write_text(render(relative, "sarif"))
    # A change review's, by the real command: a branch that changes two files.
    git(repo, "checkout", "-q", "-b", "change")
    for name in ("src/api/users.py", "web/api.ts"):
        (repo / name).write_text((repo / name).read_text() + "\n// changed\n")
    base = git(repo, "rev-parse", "HEAD")
    done = run_cli(
        "run", str(repo), "--demo", "--since", base, "--report", str(out / "since.sarif")
    )
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.sarif"))
    errors, output = validate(files)
    assert not errors, "\n".join(errors)
    assert f"{len(files)} files scanned" in output
    # What the run said of itself, and of the demo's findings.
    run = json.loads((out / "demo-run.sarif").read_text())["runs"][0]
    (provenance,) = run["versionControlProvenance"]
    assert provenance["repositoryUri"] == "https://github.com/acme/shop"
    assert len(provenance["revisionId"]) == 40 and provenance["branch"].startswith("refs/heads/")
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.as_uri() + "/"
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["id"].startswith("claude-tui/")
        assert rule["fullDescription"]["text"] and rule["help"]["markdown"]
    for result in run["results"]:
        assert len(result["partialFingerprints"][FINGERPRINT_KEY]) == 32
        assert set(result["properties"]) >= {"severity", "confidence", "chunks", "verdict"}
    # The refuted finding is out unless asked for.
    assert "refuted by a verifier" not in (out / "every.sarif").read_text()
    refuted = json.loads((out / "every-refuted-suppressed.sarif").read_text())["runs"][0]["results"]
    assert [r["properties"]["verdict"] for r in refuted if "refuted" in r["message"]["text"]] == [
        "refuted"
    ]
    assert sum("suppressions" in r for r in refuted) == 2
    states = {
        r["baselineState"]
        for r in json.loads((out / "every-baseline.sarif").read_text())["runs"][0]["results"]
    }
    assert states == {"updated", "new"}
    since = json.loads((out / "since.sarif").read_text())["runs"][0]
    assert since["properties"]["change"]["since"] == base
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in since["results"]} <= {"src/api/users.py", "web/api.ts"}  # fmt: skip
    assert all(isinstance(r["properties"]["in_diff"], bool) for r in since["results"])


def test_rule_ids_and_fingerprints_stay_when_lines_move_and_a_finding_sorts_first(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    code = "def f(q):\n    x = 1\n    run('SELECT ' + q)\n    return x\n"
    (src / "db.py").write_text(code)

    def report(findings: list[Finding]) -> dict:
        checkpoint = Checkpoint(
            repo=str(tmp_path),
            chunks=[ChunkState("c", ["src/db.py"], ChunkStatus.DONE, issues=findings)],
        )
        return json.loads(render(checkpoint, "sarif"))["runs"][0]

    def sql(line: int) -> Finding:
        fp = fingerprint(tmp_path, "src/db.py", line, "SQL from input")
        return Finding("src/db.py", line, Severity.HIGH, "SQL from input", "d", "c",
                       "injection", fingerprint=fp)  # fmt: skip

    first = report([sql(3)])
    # Lines move above it, and a new finding of a category that sorts first appears.
    (src / "db.py").write_text("import os\n\n\n" + code)
    auth = Finding("src/db.py", 1, Severity.CRITICAL, "no auth", "d", "c", "auth",
                   fingerprint=fingerprint(tmp_path, "src/db.py", 1, "no auth"))  # fmt: skip
    second = report([auth, sql(6)])

    def of(run: dict, title: str) -> dict:
        return next(r for r in run["results"] if r["message"]["text"].startswith(title))

    before, after = of(first, "SQL from input"), of(second, "SQL from input")
    assert before["ruleId"] == after["ruleId"] == "claude-tui/injection"
    assert before["partialFingerprints"] == after["partialFingerprints"]
    assert after["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    rules = [r["id"] for r in second["tool"]["driver"]["rules"]]
    assert rules[after["ruleIndex"]] == "claude-tui/injection"
    assert of(second, "no auth")["ruleId"] == "claude-tui/auth"


@pytest.mark.parametrize(
    ("remote", "uri"),
    [
        ("git@github.com:acme/shop.git", "https://github.com/acme/shop"),
        ("https://github.com/acme/shop.git", "https://github.com/acme/shop"),
        ("https://x-token:secret@github.com/acme/shop", "https://github.com/acme/shop"),
        ("ssh://git@gitlab.example.com/team/app.git", "https://gitlab.example.com/team/app"),
        ("/srv/git/shop.git", ""),
        ("../shop", ""),
        ("", ""),
    ],
)
def test_the_repository_uri_comes_from_the_remote_without_credentials(
    remote: str, uri: str
) -> None:
    assert remote_uri(remote) == uri
