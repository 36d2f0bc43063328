"""Verification through the real Claude Code CLI against the scripted Messages-API server.

The scripted reviewer reports ``BUG(...)`` lines (planted problems) and ``DECOY(...)`` lines
(plausible false positives); the scripted verifier reads the line each finding names and
confirms a BUG, refutes a DECOY (tests/support/messages_api.py, docs/verification.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import load_checkpoint, load_report, run_cli
from tests.support.marks import NEEDS_REAL_CLI
from tests.support.messages_api import ScriptedMessagesServer
from tests.support.real_cli import find_claude_bin, real_cli_env
from tests.support.review_repo import make_review_repo

CLAUDE_BIN = find_claude_bin()

pytestmark = NEEDS_REAL_CLI

FILES = {
    "src/db.py": (
        "def find(q):\n"
        "    return run('SELECT ' + q)  # BUG(critical): SQL built from user input\n"
        "def count():\n"
        "    return run('SELECT 1')  # DECOY(high): SQL built from user input\n"
    ),
    "src/auth.py": "def check(p, h):\n    return p == h  # BUG(high): timing-unsafe compare\n",
    "web/page.ts": "export const t = (s: string) => esc(s); // DECOY(critical): XSS in template\n",
    "web/util.ts": "export const n = 1; // BUG(low): unused export\n",
}
PLANTED = {("src/db.py", 2), ("src/auth.py", 2), ("web/util.ts", 1)}
DECOYS = {("src/db.py", 4), ("web/page.ts", 1)}


def _env(tmp_path: Path, srv: ScriptedMessagesServer) -> dict[str, str]:
    return real_cli_env(tmp_path / "home", srv.base_url, CLAUDE_TUI_CLAUDE_BIN=str(CLAUDE_BIN))


def _verdicts(repo: Path) -> dict[tuple[str, int], str]:
    return {(i["file"], i["line"]): i["verdict"] for i in load_report(repo)["issues"]}


def test_planted_findings_end_confirmed_and_decoys_refuted(tmp_path: Path) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    with ScriptedMessagesServer() as srv:
        done = run_cli(
            "run", str(repo), "--verify", "all", "--workers", "2", "--max-files-per-chunk", "2",
            env=_env(tmp_path, srv),
        )  # fmt: skip
        records = srv.requests()
    assert done.returncode == 0, done.stderr
    verdicts = _verdicts(repo)
    assert {p for p, v in verdicts.items() if v == "confirmed"} == PLANTED
    assert {p for p, v in verdicts.items() if v == "refuted"} == DECOYS
    # Each finding was judged once, by sessions of their own.
    judged = [i for r in records if r.reply == "verdicts" for i in r.verify_ids]
    assert len(judged) == len(set(judged)) == 5
    assert "Verified: 3 confirmed, 2 refuted" in done.stderr


def test_a_problem_two_chunks_report_is_verified_once(tmp_path: Path) -> None:
    files = {
        "a/one.py": "x = 1\n",
        "b/two.py": "y = 2\n",
        "shared/util.py": "def f():\n    # BUG(high): shared problem\n    pass\n",
    }
    repo = make_review_repo(tmp_path / "repo", files)
    with ScriptedMessagesServer() as srv:
        srv.also_read = ["shared/util.py"]  # every session reads it too
        done = run_cli(
            "run", str(repo), "--verify", "high", "--max-files-per-chunk", "1",
            env=_env(tmp_path, srv),
        )  # fmt: skip
        records = srv.requests()
    assert done.returncode == 0, done.stderr
    (issue,) = load_report(repo)["issues"]
    assert len(issue["chunks"]) == 3 and issue["verdict"] == "confirmed"
    assert len([r for r in records if r.reply == "verdicts"]) == 1


def test_kill_9_during_verification_then_resume_redoes_no_verdict(tmp_path: Path) -> None:
    """Three workers after one review: a session judges src/db.py and src/auth.py (three
    findings), two others a file each and answer sooner (each Read result slows an answer);
    claude-tui is killed once the first verdicts are on disk."""
    repo = make_review_repo(tmp_path / "repo", FILES)
    with ScriptedMessagesServer(latency=0.2, latency_per_result=1.5) as srv:
        env = _env(tmp_path, srv)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--verify", "all",
             "--workers", "3", "--max-files-per-chunk", "4"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            checkpoint = repo / ".claude-tui" / "checkpoint.toml"
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if checkpoint.exists() and "[[verdicts]]" in checkpoint.read_text():
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("no verdict was written")
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        kept = {v["fingerprint"]: v["verdict"] for v in load_checkpoint(repo)["verdicts"]}
        assert 0 < len(kept) < 5
        seen = len(srv.requests())
        again = run_cli("run", str(repo), "--verify", "all", env=env)
        later = srv.requests()[seen:]
    assert again.returncode == 0, again.stderr
    asked = {i for r in later for i in r.verify_ids}
    assert not asked & {fp[:8] for fp in kept}, "an answered verification was asked again"
    assert not any(r.reply == "structured_output" for r in later)  # no review again
    verdicts = _verdicts(repo)
    assert {p for p, v in verdicts.items() if v == "refuted"} == DECOYS
    after = {v["fingerprint"]: v["verdict"] for v in load_checkpoint(repo)["verdicts"]}
    assert {fp: after[fp] for fp in kept} == kept
