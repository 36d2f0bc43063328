"""engine/cli_process.py on its own: the launcher's exit, its start errors, and the group
kill and stdout grace that are all there is without the launcher (non-Linux)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FakeEnv
from tests.support.processes import Tag, alive
from tui_orchestrator.engine.cli_process import (
    STDOUT_GRACE_S,
    BlockingCliProcess,
    CliProcess,
    can_contain,
)
from tui_orchestrator.engine.errors import ClaudeNotFoundError
from tui_orchestrator.engine.runner import ClaudeRunner, Job

LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: the launcher")

_PRINT_THEN = """
import os, signal, sys, time
sys.stdout.write("one\\n"); sys.stdout.flush()
sys.stderr.write("said on stderr\\n"); sys.stderr.flush()
how = sys.argv[1]
if how == "exit":
    sys.exit(7)
os.kill(os.getpid(), signal.SIGKILL)
"""


async def _read_all(proc: CliProcess) -> list[bytes]:
    lines = []
    while line := await proc.readline():
        lines.append(line)
    return lines


@pytest.mark.parametrize("contained", [True, False], ids=["launcher", "group"])
@pytest.mark.parametrize(("how", "code"), [("exit", 7), ("killed", -signal.SIGKILL)])
async def test_the_exit_code_and_stderr_tail_are_the_clis_own(
    tmp_path: Path, contained: bool, how: str, code: int
) -> None:
    if contained and not can_contain():
        pytest.skip("no launcher here")
    proc = await CliProcess.start(
        [sys.executable, "-c", _PRINT_THEN, how], tmp_path, contained=contained
    )
    assert await _read_all(proc) == [b"one\n"]
    ended = await proc.finish()
    assert (ended.code, ended.stderr, ended.start_error) == (code, "said on stderr\n", "")


@LINUX
async def test_a_cli_that_cannot_be_started_is_claude_not_found(tmp_path: Path) -> None:
    gone = tmp_path / "claude"
    gone.write_text("#!/bin/sh\n")
    gone.chmod(0o755)
    runner = ClaudeRunner(str(gone))
    gone.unlink()  # removed after claude-tui found it
    job = Job(chunk="c", files=[], root=tmp_path, prompt="p", session_id="s")
    with pytest.raises(ClaudeNotFoundError, match="No such file or directory"):
        await runner.run(job, lambda event: None)


@LINUX
async def test_without_the_launcher_the_group_is_ended_and_a_held_stdout_let_go(
    tmp_path: Path, fake_claude: Path, fake_env: FakeEnv, tag: Tag
) -> None:
    """What remains off Linux: the CLI's group is ended even once the CLI has exited (it
    used to be left alone then), and stdout is let go STDOUT_GRACE_S after the exit. A
    process in a session of its own is out of reach there (here: the pipe's holder)."""
    env = tag.env(fake_env.env, FAKE_CLAUDE_LEAVE="group,stdout", FAKE_CLAUDE_LOG="")
    argv = [str(fake_claude), "-p", f"Repository root: {tmp_path}\nFiles to review (0):\n"]
    argv += ["--output-format", "stream-json", "--verbose"]
    started = time.monotonic()
    proc = await CliProcess.start(argv, tmp_path, env, contained=False)
    lines = await _read_all(proc)
    took = time.monotonic() - started
    assert b'"type":"result"' in lines[-1]
    assert proc.stdout_held
    assert STDOUT_GRACE_S <= took < STDOUT_GRACE_S + 3
    left = {pid: os.getpgid(pid) for pid in tag.left_behind()}
    assert len(left) == 2
    ended = await proc.finish()
    assert ended.code == 0
    in_group = [pid for pid, group in left.items() if group == proc.pid]
    assert len(in_group) == 1
    deadline = time.monotonic() + 3
    while alive(in_group[0]):
        assert time.monotonic() < deadline, "the CLI's group outlived it"
        await asyncio.sleep(0.02)


@LINUX
def test_the_blocking_process_stops_within_a_second(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
    got: list[bytes] = []
    proc = BlockingCliProcess(argv, tmp_path, got.append)
    while not got:
        proc.wait(0.05)
    asked = time.monotonic()
    proc.stop()
    assert time.monotonic() - asked < 1.0
    ended = proc.finish()
    assert ended.code == -signal.SIGTERM
    assert got == [b"up\n"]
