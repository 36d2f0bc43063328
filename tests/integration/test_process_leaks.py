"""Nothing a worker starts outlives it, on every way a chunk or claude-tui can end.

The fake `claude` leaves processes behind (``FAKE_CLAUDE_LEAVE``), as the real CLI's Grep
(ripgrep), hooks and MCP servers can: one in its process group and one in a session of its
own (Node's ``detached: true``), which no group kill reaches. Each test tags its processes
with an environment variable of its own and counts, in ``/proc/*/environ``, only those.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import (
    FakeEnv,
    claude_manager,
    load_checkpoint,
    load_report,
    many_files_repo,
    run_cli,
    until_true,
)
from tests.support.processes import Tag, alive
from tui_orchestrator.engine import dask_task
from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.manager import Manager
from tui_orchestrator.engine.prompt import DEFAULT_INSTRUCTIONS, first_prompt
from tui_orchestrator.engine.runner import ClaudeRunner, Job

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="counts processes in /proc"
)

# What the fake leaves behind: reached only by the subreaper (session) or the group kill.
LEAVE = "group,session"
# Long enough for a pause to land mid-chunk.
SLOW = {"FAKE_CLAUDE_MODE": "slow", "FAKE_CLAUDE_DELAY": "1.0"}


# ------------------------------------------------------------------ through the manager


def _manager(repo: Path, env: dict[str, str], **config: object) -> Manager:
    cfg = Config(**{"verify": "off", **config})  # type: ignore[arg-type]
    return claude_manager(repo, env["CLAUDE_TUI_CLAUDE_BIN"], cfg, env=env)


_until = until_true


def _cli_pid(fake_env: FakeEnv) -> int:
    return fake_env.invocations()[-1]["pid"]


@pytest.mark.parametrize("command", ["pause", "cancel"])
async def test_pause_and_cancel_end_the_cli_within_a_second_and_everything_it_started(
    tmp_path: Path, fake_env: FakeEnv, tag: Tag, command: str
) -> None:
    repo = many_files_repo(tmp_path / "r", 3)
    env = tag.env(fake_env.env, FAKE_CLAUDE_LEAVE=LEAVE, **SLOW)
    manager = _manager(repo, env, max_files_per_chunk=3)
    name = manager.checkpoint.chunks[0].name
    run = manager.start()
    await asyncio.to_thread(tag.wait_for_left_behind, 2)
    cli = _cli_pid(fake_env)
    asked = time.monotonic()
    getattr(manager, command)(name)
    await _until(lambda: not alive(cli), timeout=3)
    assert time.monotonic() - asked < 1.0, "the CLI outlived the pause by a second"
    await asyncio.wait_for(run, 20)
    expected = ChunkStatus.PAUSED if command == "pause" else ChunkStatus.CANCELLED
    assert manager.state(name).status is expected
    assert await asyncio.to_thread(tag.none_left) == {}


async def test_a_timed_out_chunk_leaves_nothing_behind(
    tmp_path: Path, fake_env: FakeEnv, tag: Tag
) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    env = tag.env(fake_env.env, FAKE_CLAUDE_LEAVE=LEAVE, FAKE_CLAUDE_MODE="hang")
    manager = _manager(repo, env, max_files_per_chunk=2, chunk_timeout_s=1.0)
    name = manager.checkpoint.chunks[0].name
    await asyncio.wait_for(manager.start(), 30)
    # A second time-out fails the chunk; each attempt left its two processes.
    assert len(fake_env.invocations()) == 2
    assert manager.state(name).status is ChunkStatus.FAILED
    assert manager.state(name).error == "timeout"
    assert await asyncio.to_thread(tag.none_left) == {}


# ------------------------------------------------------------------ `claude-tui run`


def test_a_normal_end_leaves_nothing_behind(tmp_path: Path, fake_env: FakeEnv, tag: Tag) -> None:
    repo = many_files_repo(tmp_path / "r", 4)
    env = tag.env(fake_env.env, FAKE_CLAUDE_LEAVE=LEAVE)
    done = run_cli("run", str(repo), "--workers", "2", "--max-files-per-chunk", "2", env=env)
    assert done.returncode == 0, done.stderr
    assert len(fake_env.invocations()) == 2
    assert tag.none_left() == {}


def test_a_held_stdout_does_not_hold_the_result_back(
    tmp_path: Path, fake_env: FakeEnv, tag: Tag
) -> None:
    """The CLI prints its result and exits; what it left behind still holds its stdout."""
    repo = many_files_repo(tmp_path / "r", 2)
    env = tag.env(fake_env.env, FAKE_CLAUDE_LEAVE="stdout,session")
    started = time.monotonic()
    done = run_cli("run", str(repo), "--max-files-per-chunk", "2", env=env, timeout=40)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert took < 10, f"the result waited {took:.1f} s for the held pipe"
    assert [c["status"] for c in load_checkpoint(repo)["chunks"]] == ["done"]
    assert len(load_report(repo)["issues"]) == 2
    assert "Event loop is closed" not in done.stderr
    assert tag.none_left() == {}


def _start_run(repo: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--workers", "2",
         "--max-files-per-chunk", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_pauses_the_run_with_a_summary_and_leaves_nothing_behind(
    tmp_path: Path, fake_env: FakeEnv, tag: Tag, sig: signal.Signals
) -> None:
    repo = many_files_repo(tmp_path / "r", 4)
    proc = _start_run(repo, tag.env(fake_env.env, FAKE_CLAUDE_LEAVE=LEAVE, **SLOW))
    try:
        tag.wait_for_left_behind(4)  # both workers' two
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Run ended (stopped): 2 chunks unfinished" in err
    assert "Run the same command again to resume." in err
    assert [c["status"] for c in load_checkpoint(repo)["chunks"]] == ["paused", "paused"]
    assert tag.none_left() == {}


def test_a_terminal_that_goes_away_pauses_the_run_and_leaves_nothing_behind(
    tmp_path: Path, fake_env: FakeEnv, tag: Tag
) -> None:
    """The hang-up of a real terminal: SIGHUP, and every later write to it fails (EIO)."""
    repo = many_files_repo(tmp_path / "r", 4)
    env = tag.env(fake_env.env, FAKE_CLAUDE_LEAVE=LEAVE, **SLOW)
    argv = [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--workers", "2"]
    argv += ["--max-files-per-chunk", "2"]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: claude-tui on the terminal, as its session's leader
        try:
            os.execve(sys.executable, argv, env)
        finally:
            os._exit(127)
    os.set_blocking(terminal, False)
    try:
        deadline = time.monotonic() + 20
        while len(tag.left_behind()) < 4:  # both workers' two
            assert time.monotonic() < deadline, "the fake never started what it leaves behind"
            with contextlib.suppress(OSError):
                os.read(terminal, 1 << 16)  # read what it shows, so its writes never block
            time.sleep(0.02)
    finally:
        os.close(terminal)  # the terminal goes away
    deadline = time.monotonic() + 30
    while (ended := os.waitpid(pid, os.WNOHANG))[0] == 0:
        assert time.monotonic() < deadline, "claude-tui outlived its terminal by 30 s"
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(ended[1]) == 130
    assert [c["status"] for c in load_checkpoint(repo)["chunks"]] == ["paused", "paused"]
    assert (repo / ".claude-tui" / "report.json").exists()
    assert tag.none_left() == {}


def test_kill_9_of_claude_tui_leaves_nothing_behind(
    tmp_path: Path, fake_env: FakeEnv, tag: Tag
) -> None:
    repo = many_files_repo(tmp_path / "r", 4)
    proc = _start_run(repo, tag.env(fake_env.env, FAKE_CLAUDE_LEAVE=LEAVE, **SLOW))
    try:
        tag.wait_for_left_behind(4)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert tag.none_left() == {}


# ------------------------------------------------------------------ on a Dask worker


class _Queue:
    """The job's distributed.Queue, as the task sees it: ``put``."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    def put(self, message: dict, timeout: float | None = None) -> None:
        self.messages.append(message)


def _run_on_a_worker(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, should_stop
) -> tuple[dict, list[dict], float]:
    """``dask_task.run_cli`` as a Dask worker runs it (no cluster needed): the end message,
    the messages sent, and when it returned."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CLAUDE_TUI_WORKDIR", str(tmp_path / "work"))
    files = {"a.py": b"x = 1\n# BUG(high): one\n", "b.py": b"y = 2\n"}
    session = str(uuid.uuid4())
    root = tmp_path / "repo"
    job = Job(
        chunk="c", files=sorted(files), root=root, session_id=session,
        prompt=first_prompt(DEFAULT_INSTRUCTIONS, root, sorted(files)),
    )  # fmt: skip
    spec = {
        "argv": ClaudeRunner(env["CLAUDE_TUI_CLAUDE_BIN"]).argv(job), "files": files,
        "shared_root": None, "repo_key": "repo-leaks", "archive_key": "",
        "session_id": session, "session": None, "timeout_s": 30.0,
    }  # fmt: skip
    queue = _Queue()
    with dask_task.HostFolder(spec) as folder:  # type: ignore[arg-type]
        end = dask_task.run_cli(spec, folder, dask_task.Sender(queue), should_stop)  # type: ignore[arg-type]
    return dict(end), queue.messages, time.monotonic()


def test_on_a_dask_worker_a_held_stdout_does_not_hold_the_result_back(
    tmp_path: Path, fake_env: FakeEnv, tag: Tag, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tag.env(fake_env.env, FAKE_CLAUDE_LEAVE="stdout,session,group")
    started = time.monotonic()
    end, messages, ended = _run_on_a_worker(tmp_path, env, monkeypatch, lambda: "")
    assert ended - started < 10, f"the result waited {ended - started:.1f} s for the held pipe"
    assert end["exit"] == 0 and not end["timed_out"] and not end["stopped"]
    lines = [line for m in messages if m["k"] == "lines" for line in m["lines"]]
    assert any('"type":"result"' in line for line in lines)
    assert tag.none_left() == {}


def test_on_a_dask_worker_a_stop_ends_the_cli_within_a_second_and_everything_it_started(
    tmp_path: Path, fake_env: FakeEnv, tag: Tag, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tag.env(fake_env.env, FAKE_CLAUDE_LEAVE=LEAVE, **SLOW)
    asked: list[float] = []

    def should_stop() -> str:
        if not asked and len(tag.left_behind()) >= 2:
            asked.append(time.monotonic())
        return "stopped by claude-tui" if asked else ""

    end, _, ended = _run_on_a_worker(tmp_path, env, monkeypatch, should_stop)
    assert end["stopped"] == "stopped by claude-tui"
    assert ended - asked[0] < 1.0, "the CLI outlived the stop by a second"
    assert not alive(fake_env.invocations()[-1]["pid"])
    assert tag.none_left() == {}
