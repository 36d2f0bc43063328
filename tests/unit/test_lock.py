"""The repository lock: a live holder refuses, a dead, reused or torn one is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui_orchestrator.engine import lock as lock_module
from tui_orchestrator.engine.errors import LockError
from tui_orchestrator.engine.lock import RepoLock, process_start


def _write_lock(folder: Path, **holder: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lock"
    path.write_text(json.dumps({"host": socket.gethostname(), **holder}))
    return path


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)  # fmt: skip


def test_a_live_holder_refuses_and_its_lock_is_left_alone(tmp_path: Path) -> None:
    pid = os.getpid()
    path = _write_lock(tmp_path, pid=pid, started=process_start(pid))
    before = path.read_bytes()
    with pytest.raises(LockError, match=f"pid {pid}"):
        RepoLock(tmp_path).acquire()
    assert path.read_bytes() == before


def test_the_lock_of_a_dead_process_is_taken_over_and_names_the_new_holder(tmp_path: Path) -> None:
    path = _write_lock(tmp_path, pid=_dead_pid())
    with RepoLock(tmp_path):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not path.exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_pid_reused_by_another_process_is_not_mistaken_for_the_holder(tmp_path: Path) -> None:
    # Our own pid, but a start time that is not ours: the holder died and its pid came back.
    _write_lock(tmp_path, pid=os.getpid(), started="1")
    with RepoLock(tmp_path) as held:
        assert held.held


def test_an_old_empty_lock_left_by_a_writer_that_died_is_stale(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    tmp_path.mkdir(exist_ok=True)
    path.write_text("")
    old = time.time() - 60
    os.utime(path, (old, old))
    with RepoLock(tmp_path) as held:
        assert held.held


def test_a_fresh_empty_lock_is_waited_for_before_it_counts_as_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lock_module, "TORN_LOCK_AGE_S", 0.3)
    (tmp_path / "lock").write_text("")
    started = time.monotonic()
    with RepoLock(tmp_path) as held:
        assert held.held
    assert time.monotonic() - started >= 0.25


def test_a_lock_held_on_another_host_refuses_and_names_the_host(tmp_path: Path) -> None:
    _write_lock(tmp_path, pid=_dead_pid(), host="build-7")
    with pytest.raises(LockError, match=r"pid \d+ on build-7"):
        RepoLock(tmp_path).acquire()
