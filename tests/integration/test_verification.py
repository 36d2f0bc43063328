"""Verification end to end against the fake `claude`: a second session judges findings.

The fake reviewer reports ``BUG(...)`` lines (real problems) and ``DECOY(...)`` lines (a
plausible false positive); the fake verifier reads the line each finding names and confirms
a BUG, refutes a DECOY. docs/verification.md has the design.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import load_checkpoint, load_report, run_cli
from tests.support.review_repo import make_review_repo
from tui_orchestrator.engine.verify import VERDICTS_SCHEMA

FILES = {
    "api/handlers.py": (
        "def handler(q):\n"
        "    run(q)  # BUG(critical): SQL built from the query string\n"
        "    x = 1  # DECOY(high): Unchecked input reaches the shell\n"
    ),
    "api/auth.py": "def login(u):\n    return u  # BUG(high): Password compared in plain text\n",
    "web/view.py": (
        "def show():\n"
        "    pass  # DECOY(critical): Template rendered without escaping\n"
        "    pass  # BUG(low): Stale cache entry\n"
    ),
}
PLANTED = {("api/handlers.py", 2), ("api/auth.py", 2)}
DECOYS = {("api/handlers.py", 3), ("web/view.py", 2)}


def _repo(tmp_path: Path) -> Path:
    return make_review_repo(tmp_path / "repo", FILES)


def _verify_calls(fake_env) -> list[dict]:
    return [c for c in fake_env.invocations() if c.get("verify")]


def _by_place(report: dict) -> dict[tuple[str, int], dict]:
    return {(i["file"], i["line"]): i for i in report["issues"]}


def test_planted_findings_are_confirmed_and_decoys_refuted(tmp_path: Path, fake_env) -> None:
    repo = _repo(tmp_path)
    done = run_cli("run", str(repo), "--verify", "high", "--workers", "2", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    issues = _by_place(load_report(repo))
    for place in PLANTED:
        assert issues[place]["verdict"] == "confirmed", issues[place]
        assert issues[place]["verdict_reason"]
    for place in DECOYS:
        assert issues[place]["verdict"] == "refuted", issues[place]
    # The low finding is not asked about under --verify high.
    assert issues[("web/view.py", 3)]["verdict"] == "unverified"
    # One fresh, read-only session per file with findings to verify, with the schema.
    calls = _verify_calls(fake_env)
    # Whole files, split over the two workers, and each finding judged once.
    assert sorted(f for c in calls for f in c["files"]) == [
        "api/auth.py",
        "api/handlers.py",
        "web/view.py",
    ]
    judged = [i for c in calls for i in c["verify"]]
    assert len(judged) == len(set(judged)) == 4
    for call in calls:
        argv = call["argv"]
        assert argv[argv.index("--tools") + 1] == "Read,Grep,Glob"
        assert json.loads(argv[argv.index("--json-schema") + 1]) == VERDICTS_SCHEMA
        assert call["resume"] is None
    assert "Verified: 2 confirmed, 2 refuted" in done.stderr
    cp = load_checkpoint(repo)
    assert {v["verdict"] for v in cp["verdicts"]} == {"confirmed", "refuted"}


def test_refuted_findings_leave_sarif_and_markdown_and_fail_on(tmp_path: Path, fake_env) -> None:
    repo = _repo(tmp_path)
    sarif = tmp_path / "out.sarif"
    args = ["run", str(repo), "--verify", "all", "--report", str(sarif)]
    # Critical findings: the SQL one is confirmed, the template one refuted.
    done = run_cli(*args, "--fail-on", "critical", env=fake_env.env)
    assert done.returncode == 3, done.stderr
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    places = {
        (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in results
    }  # fmt: skip
    assert places == {("api/handlers.py", 2), ("api/auth.py", 2), ("web/view.py", 3)}
    assert {r["properties"]["verdict"] for r in results} == {"confirmed"}
    md = run_cli("report", str(repo), "--format", "markdown", env=fake_env.env).stdout
    assert "Template rendered without escaping" not in md
    assert "Verified: 2 findings refuted (left out)" in md
    shown = run_cli(
        "report", str(repo), "--format", "markdown", "--include-refuted", env=fake_env.env
    ).stdout
    assert "Template rendered without escaping" in shown and "| refuted |" in shown
    # Only refuted findings at critical and high: --fail-on high still sees the confirmed.
    (repo / "api" / "handlers.py").write_text("def handler(q):\n    return q\n")
    (repo / "api" / "auth.py").write_text("def login(u):\n    return u\n")
    again = run_cli("run", str(repo), "--verify", "all", "--fail-on", "high", env=fake_env.env)
    assert again.returncode == 0, again.stderr  # the refuted critical does not count


def test_a_finished_checkpoint_is_verified_without_reviewing_again(
    tmp_path: Path, fake_env
) -> None:
    repo = _repo(tmp_path)
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0  # verify off
    assert all(i["verdict"] == "unverified" for i in load_report(repo)["issues"])
    reviews = len(fake_env.invocations())
    done = run_cli("run", str(repo), "--verify", "all", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    calls = fake_env.invocations()[reviews:]
    assert calls and all(c["verify"] for c in calls)  # no review ran again
    assert all(i["verdict"] != "unverified" for i in load_report(repo)["issues"])
    # Run again: every finding has its verdict, nothing is asked again.
    before = len(fake_env.invocations())
    assert run_cli("run", str(repo), "--verify", "all", env=fake_env.env).returncode == 0
    assert len(fake_env.invocations()) == before


def test_kill_during_verification_and_resume_redoes_no_verdict(tmp_path: Path, fake_env) -> None:
    """kill -9 while the last verification hangs: the first one's verdicts are in the
    checkpoint, and the resumed run asks only what was not answered."""
    repo = _repo(tmp_path)
    # (three workers: a file a session; web/view.py's hangs, the two others answer)
    fake_env.scenario([{"file": "web/view.py", "mode": "hang", "verify": True}])
    env = dict(fake_env.env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--verify", "high",
         "--workers", "3"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cp = repo / ".claude-tui" / "checkpoint.toml"
            if cp.exists() and "[[verdicts]]" in cp.read_text():
                calls = _verify_calls(fake_env)
                kept = load_checkpoint(repo).get("verdicts", [])
                if any(c["files"] == ["web/view.py"] for c in calls) and len(kept) == 3:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("no verdict written before the hang")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    kept = {v["fingerprint"]: v["verdict"] for v in load_checkpoint(repo)["verdicts"]}
    assert len(kept) == 3  # api/auth.py's one and api/handlers.py's two
    answered = len(_verify_calls(fake_env))
    fake_env.scenario([])
    done = run_cli("run", str(repo), "--verify", "high", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    again = _verify_calls(fake_env)[answered:]
    assert [c["files"] for c in again] == [["web/view.py"]]  # only the unanswered one
    after = {v["fingerprint"]: v["verdict"] for v in load_checkpoint(repo)["verdicts"]}
    assert {fp: after[fp] for fp in kept} == kept


def test_a_re_review_keeps_the_verdicts_of_findings_it_reports_again(
    tmp_path: Path, fake_env
) -> None:
    body = "".join(f"def f{i}():\n    return {i}\n" for i in range(5))
    repo = make_review_repo(
        tmp_path / "repo",
        {
            "api/auth.py": "def login(u):\n    return u  # BUG(high): Password compared in plain text\n"
            + body
        },
    )
    assert run_cli("run", str(repo), "--verify", "high", env=fake_env.env).returncode == 0
    before = {v["fingerprint"]: v["verdict"] for v in load_checkpoint(repo)["verdicts"]}
    asked = len(_verify_calls(fake_env))
    assert asked == 1 and list(before.values()) == ["confirmed"]
    # A change far from the finding: the chunk is reviewed again, its finding comes back
    # with the same fingerprint, and keeps its verdict without a verifier.
    path = repo / "api" / "auth.py"
    path.write_text(path.read_text() + "\ndef later():\n    return 1\n")
    done = run_cli("run", str(repo), "--verify", "high", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    reviews = [c for c in fake_env.invocations() if not c.get("verify")]
    assert len(reviews) == 2  # the chunk was reviewed again
    assert len(_verify_calls(fake_env)) == asked  # nobody was asked again
    after = {v["fingerprint"]: v["verdict"] for v in load_checkpoint(repo)["verdicts"]}
    assert after == before
    issues = _by_place(load_report(repo))
    assert issues[("api/auth.py", 2)]["verdict"] == "confirmed"


def test_verification_still_pending_when_the_run_ends_is_exit_1(tmp_path: Path, fake_env) -> None:
    """A verifier that never answers with verdicts: the review is done, but the run is not."""
    repo = _repo(tmp_path)
    rules = [{"file": f, "mode": "parse_error", "verify": True} for f in FILES]
    fake_env.scenario(rules)
    done = run_cli("run", str(repo), "--verify", "high", env=fake_env.env)
    assert done.returncode == 1, done.stderr
    assert "pending" in done.stderr
    assert all(c["status"] == "done" for c in load_checkpoint(repo)["chunks"])
    assert {i["verdict"] for i in load_report(repo)["issues"]} == {"unverified"}
