"""claude-tui driving the real Claude Code CLI against the loopback Messages-API server."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import pytest

from tests.conftest import load_checkpoint, load_report, run_cli
from tests.support.marks import NEEDS_REAL_CLI
from tests.support.messages_api import ScriptedMessagesServer
from tests.support.real_cli import find_claude_bin, real_cli_env, session_file
from tests.support.review_repo import make_review_repo

CLAUDE_BIN = find_claude_bin()

pytestmark = NEEDS_REAL_CLI

FILES = {
    "src/auth/login.py": "def login(u, p):\n    # BUG(critical): password compared in plain text\n    return p == u.password\n",
    "src/auth/tokens.py": "import random\n\n\ndef token():\n    return random.random()  # BUG(high): predictable token\n",
    "web/api.ts": "export function get(u: string) {\n  // BUG(medium): no timeout\n  return fetch(u);\n}\n",
    "web/view.ts": "export const x = 1;\n// BUG(low): unused export\n",
}
EXPECTED = {
    ("src/auth/login.py", 2, "critical", "password compared in plain text"),
    ("src/auth/tokens.py", 5, "high", "predictable token"),
    ("web/api.ts", 2, "medium", "no timeout"),
    ("web/view.ts", 2, "low", "unused export"),
}


def _keys(report: dict) -> set[tuple[str, int, str, str]]:
    return {(i["file"], i["line"], i["severity"], i["title"]) for i in report["issues"]}


def _env(tmp_path: Path, srv: ScriptedMessagesServer) -> dict[str, str]:
    return real_cli_env(tmp_path / "home", srv.base_url, CLAUDE_TUI_CLAUDE_BIN=str(CLAUDE_BIN))


def test_real_cli_run_reports_findings_at_exact_lines_with_sessions(tmp_path: Path) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    with ScriptedMessagesServer() as srv:
        env = _env(tmp_path, srv)
        done = run_cli("run", str(repo), "--workers", "2", "--max-files-per-chunk", "2", env=env)
    assert done.returncode == 0, done.stderr
    assert _keys(load_report(repo)) == EXPECTED
    cp = load_checkpoint(repo)
    assert len(cp["chunks"]) == 2
    for chunk in cp["chunks"]:
        assert chunk["status"] == "done"
        uuid.UUID(chunk["session_id"])
        assert session_file(tmp_path / "home", repo, chunk["session_id"]).exists()


def test_prompt_injected_model_asking_for_bash_and_write_changes_nothing(tmp_path: Path) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    before = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True
    ).stdout
    with ScriptedMessagesServer(inject=True) as srv:
        done = run_cli("run", str(repo), env=_env(tmp_path, srv))
    assert done.returncode == 0, done.stderr
    assert not list(repo.rglob("PWNED*")) and not (tmp_path / "home" / "PWNED").exists()
    after = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True
    ).stdout
    assert after.replace("?? .claude-tui/\n", "") == before
    assert _keys(load_report(repo)) == EXPECTED


async def test_real_cli_pause_and_resume_of_one_chunk(tmp_path: Path, monkeypatch) -> None:
    from tui_orchestrator.engine.checkpoint import ChunkStatus
    from tui_orchestrator.engine.config import Config
    from tui_orchestrator.engine.events import ChunkStarted
    from tui_orchestrator.engine.manager import Manager
    from tui_orchestrator.engine.run_setup import prepare_run
    from tui_orchestrator.engine.runner import ClaudeRunner

    repo = make_review_repo(tmp_path / "repo", FILES)
    with ScriptedMessagesServer(latency=1.5) as srv:
        env = _env(tmp_path, srv)
        cfg = Config(workers=2, max_files_per_chunk=2, verify="off")
        setup = prepare_run(repo, cfg, backend="claude")
        events: list = []
        manager = Manager(
            root=setup.root, checkpoint=setup.checkpoint, store=setup.store,
            runner=ClaudeRunner(str(CLAUDE_BIN), env=env), config=cfg,
            instructions=setup.instructions, sizes=setup.sizes, on_event=events.append,
            logs_dir=repo / ".claude-tui" / "logs",
        )  # fmt: skip
        task = manager.start()
        deadline = time.monotonic() + 30
        while not srv.requests() or not any(isinstance(e, ChunkStarted) for e in events):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        name = manager.checkpoint.chunks[0].name
        # Let its first turn complete (the session is on disk), then pause it mid-review.
        while not any(
            r.status == 200 and r.reply == "read" and set(r.files) <= set(manager.state(name).files)
            for r in srv.requests()
        ):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        session = manager.state(name).session_id
        manager.pause(name)
        await asyncio.wait_for(task, 30)
        assert manager.state(name).status is ChunkStatus.PAUSED
        assert manager.state(name).session_id == session
        other = manager.checkpoint.chunks[1]
        assert other.status is ChunkStatus.DONE
        manager.resume(name)
        await asyncio.wait_for(manager.start(), 60)
        assert manager.state(name).status is ChunkStatus.DONE
        assert manager.state(name).session_id == session
        resumed = [r for r in srv.requests() if r.session_id == session and r.resumed]
        assert resumed, "the resumed process did not continue the same session"
        found = {(f.file, f.line) for c in manager.checkpoint.chunks for f in c.issues}
        assert found == {(e[0], e[1]) for e in EXPECTED}


@pytest.mark.parametrize("trial", range(3))
def test_kill_9_then_rerun_resends_no_finished_chunk_and_loses_no_finding(
    tmp_path: Path, trial: int
) -> None:
    """Each trial kills claude-tui twice at moments drawn at random, then resumes to the end."""
    rng = random.Random(9000 + trial)  # the moments differ per trial, the same every run
    files = {f"pkg{i % 3}/m{i}.py": f"x = {i}\n# BUG(medium): issue {i}\n" for i in range(6)}
    repo = make_review_repo(tmp_path / "repo", files)
    with ScriptedMessagesServer(latency=0.8) as srv:
        env = _env(tmp_path, srv)
        moments = [round(rng.uniform(1.0, 4.5), 2) for _ in range(2)]
        done_files: set[str] = set()
        for moment in moments:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--workers", "2",
                 "--max-files-per-chunk", "1"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(moment)
            proc.kill()
            proc.wait()
            cp = tomllib.loads((repo / ".claude-tui" / "checkpoint.toml").read_text())
            now_done = {f for c in cp["chunks"] if c["status"] == "done" for f in c["files"]}
            assert now_done >= done_files, f"a finished chunk was lost (kills at {moments})"
            done_files = now_done
        time.sleep(2)  # orphaned workers die with their parent
        seen = len(srv.requests())
        again = run_cli("run", str(repo), env=env)
        assert again.returncode == 0, again.stderr
        later = srv.requests()[seen:]
    for record in later:
        assert not set(record.files) & done_files, f"finished file sent again (kills at {moments})"
    assert len(load_report(repo)["issues"]) == 6, f"kills at {moments}"


@pytest.mark.parametrize("status", [429, 529])
def test_rate_limit_answers_are_retried_until_done(tmp_path: Path, status: int) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    with ScriptedMessagesServer(always_status=status, always_for=2, retry_after=1) as srv:
        done = run_cli("run", str(repo), "--max-files-per-chunk", "2", env=_env(tmp_path, srv))
        statuses = [r.status for r in srv.requests()]
    assert done.returncode == 0, done.stderr
    assert statuses.count(status) == 2
    assert "backing off" in done.stderr
    assert _keys(load_report(repo)) == EXPECTED


def test_a_stream_cut_mid_answer_is_retried_by_resuming(tmp_path: Path) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    with ScriptedMessagesServer(cut_stream_after=2) as srv:
        done = run_cli("run", str(repo), env=_env(tmp_path, srv))
    assert done.returncode == 0, done.stderr
    cp = load_checkpoint(repo)
    assert cp["chunks"][0]["attempts"] == 2
    assert _keys(load_report(repo)) == EXPECTED


def test_server_going_away_and_coming_back(tmp_path: Path) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    srv = ScriptedMessagesServer().start()
    env = _env(tmp_path, srv)
    srv.stop()
    # One attempt a chunk: an outage that spent attempts would fail every chunk.
    config = tmp_path / "one-attempt.toml"
    config.write_text("max_attempts = 1\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--max-files-per-chunk", "2",
         "--config", str(config)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    time.sleep(4)
    srv.start()
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        srv.stop()
    assert proc.returncode == 0, err
    assert "unreachable" in err and "answers again" in err
    assert _keys(load_report(repo)) == EXPECTED
    assert all(c["status"] == "done" for c in load_checkpoint(repo)["chunks"])


def test_checkpoint_session_id_is_on_disk_before_the_cli_starts(tmp_path: Path) -> None:
    repo = make_review_repo(tmp_path / "repo", FILES)
    with ScriptedMessagesServer(latency=2.0) as srv:
        env = _env(tmp_path, srv)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui_orchestrator", "run", str(repo)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.time() + 30
            while not srv.requests() and time.time() < deadline:
                time.sleep(0.05)
            header_session = srv.requests()[0].session_id
            cp = tomllib.loads((repo / ".claude-tui" / "checkpoint.toml").read_text())
            assert header_session and cp["chunks"][0]["session_id"] == header_session
        finally:
            proc.kill()
            proc.wait()
    assert json.loads(json.dumps(cp))  # parses cleanly after a kill


def test_a_usage_limit_window_mid_run_is_waited_out_with_few_requests(tmp_path: Path) -> None:
    """Logged in with a token (no API key), the CLI reports the usage limit the server's
    unified headers announce; claude-tui waits for the reset and every chunk finishes."""
    from tests.conftest import write_config

    files = {f"pkg{i}/mod.py": f"x = {i}\n# BUG(medium): issue {i}\n" for i in range(6)}
    repo = make_review_repo(tmp_path / "repo", files)
    cfg = write_config(tmp_path / "c.toml", max_usage_wait_s=120.0, max_files_per_chunk=1)
    start = time.time() + 2.0
    window = (start, start + 5.0)
    with ScriptedMessagesServer(latency=0.5, usage_window=window) as srv:
        env = _env(tmp_path, srv)
        env.pop("ANTHROPIC_API_KEY")
        env["CLAUDE_CODE_OAUTH_TOKEN"] = "test-token"  # a subscription login
        done = run_cli(
            "run", str(repo), "--workers", "2", "--config", str(cfg), env=env, timeout=180
        )
        requests = srv.requests()
    assert done.returncode == 0, done.stderr
    assert "usage limit (five-hour), resets " in done.stderr
    assert "the usage limit has reset: work resumes" in done.stderr
    cp = load_checkpoint(repo)
    assert all(c["status"] == "done" for c in cp["chunks"])
    assert len(load_report(repo)["issues"]) == 6
    during = [r for r in requests if window[0] <= r.time < window[1]]
    assert 0 < len(during) <= 2, [(r.time - window[0], r.status, r.session_id, r.model_request, r.first_turn, r.resumed) for r in during]
    after = [r.time for r in requests if r.time >= window[1]]
    assert after and min(after) - window[1] < 10.0


def test_two_chunks_that_both_read_one_file_report_its_problem_once(tmp_path: Path) -> None:
    """The agents read beyond their chunk: both sessions read the shared file and report its
    problem. The report holds it once, named after the first chunk, with both listed."""
    files = {
        "alpha/a.py": "x = 1\n# BUG(low): alpha note\n",
        "beta/b.py": "y = 2\n# BUG(low): beta note\n",
        "shared/util.py": "def f():\n    # BUG(high): shared problem\n    pass\n",
    }
    repo = make_review_repo(tmp_path / "repo", files)
    with ScriptedMessagesServer() as srv:
        srv.also_read = ["shared/util.py"]
        done = run_cli(
            "run", str(repo), "--max-files-per-chunk", "2", "--strategy", "directory",
            env=_env(tmp_path, srv),
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    cp = load_checkpoint(repo)
    reporters = [c["name"] for c in cp["chunks"] for i in c["issues"] if i["file"] == "shared/util.py"]
    assert len(reporters) >= 2, cp["chunks"]  # each session reported it
    shared = [i for i in load_report(repo)["issues"] if i["file"] == "shared/util.py"]
    assert len(shared) == 1, shared
    (one,) = shared
    order = [c["name"] for c in cp["chunks"]]
    assert one["chunk"] == min(reporters, key=order.index)
    assert sorted(one["chunks"]) == sorted(set(reporters))
    assert len(one["fingerprint"]) == 32
