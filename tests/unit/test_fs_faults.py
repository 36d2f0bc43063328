"""File-system faults: a lock path that is a folder, a read-only or full disk at start, a
disk that fills up mid-run, and report paths that cannot be written. Each is one line on
stderr and the documented exit code, never a traceback, and the checkpoint stays whole.

Root ignores permissions, so EROFS, EACCES and ENOSPC are simulated where no real one can
be had (``/proc`` and a ``/dev/full`` node are real)."""

from __future__ import annotations

import asyncio
import errno
import fnmatch
import io
import os
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tui_orchestrator.cli import main
from tui_orchestrator.engine.checkpoint import CheckpointStore, ChunkStatus
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.events import Notice
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.manager import Manager
from tui_orchestrator.engine.run_setup import prepare_run
from tui_orchestrator.engine.runner import Emit, Job, Outcome, OutcomeKind, Runner
from tui_orchestrator.engine.stream import Init, Result

from ._helpers import SMALL_REPO, git, write_tree

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def run_main(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code: int, err: str, *needles: str, exit_code: int = 2) -> str:
    assert code == exit_code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("claude-tui: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def no_temp_files(folder: Path) -> bool:
    return not list(folder.glob(".*.tmp")) and not list(folder.glob(".claude-tui-probe.*"))


class _FullFile(io.RawIOBase):
    """A file on a full disk: it opens, and every write fails."""

    def __init__(self, handle: io.IOBase) -> None:
        self.handle = handle

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fileno(self) -> int:
        return self.handle.fileno()

    def close(self) -> None:
        self.handle.close()
        super().close()


def fill_disk(monkeypatch: pytest.MonkeyPatch, pattern: str) -> None:
    """Writes to files whose path matches ``pattern`` fail with ENOSPC (io.open is what
    Path.write_text, os.fdopen and open all come through)."""
    real_open = io.open

    def fake_open(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        handle = real_open(file, mode, *args, **kwargs)
        name = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else str(file)
        if any(c in mode for c in "wax+") and fnmatch.fnmatch(name, pattern):
            return _FullFile(handle)
        return handle

    monkeypatch.setattr(io, "open", fake_open)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo", SMALL_REPO)


# --- at start: the lock, the state folder, the first checkpoint write --------------------


def test_a_lock_path_that_is_a_folder_is_one_line_at_once(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".claude-tui" / "lock").mkdir(parents=True)
    started = time.monotonic()
    code, _, err = run_main(capsys, "run", repo, "--demo")
    assert_one_line(code, err, "lock", "is a folder")
    assert time.monotonic() - started < 1.5  # not the 2 s a torn lock is given
    assert (repo / ".claude-tui" / "lock").is_dir()
    assert not (repo / ".claude-tui" / "checkpoint.toml").exists()


def test_a_read_only_state_folder_is_one_line_and_the_checkpoint_is_kept(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = repo / ".claude-tui"
    state.mkdir()
    (state / ".gitignore").write_text("*\n!.gitignore\n!plan.toml\n")
    (state / "checkpoint.toml").write_text("not read: the lock comes first\n")
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    code, _, err = run_main(capsys, "run", repo, "--demo")
    assert_one_line(code, err, "lock", "Read-only file system")
    assert (state / "checkpoint.toml").read_text() == "not read: the lock comes first\n"


@pytest.mark.parametrize(
    "full",
    ["*/.claude-tui/lock", "*/.claude-tui/*gitignore*", "*/.claude-tui/.checkpoint.toml.*"],
    ids=["lock", "gitignore", "checkpoint"],
)
def test_a_full_disk_at_start_is_one_line_and_exit_2(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, full: str
) -> None:
    fill_disk(monkeypatch, full)
    code, _, err = run_main(capsys, "run", repo, "--demo")
    assert_one_line(code, err, "No space left on device")
    # Nothing half-written is left: no empty lock, no temp file, no state folder at all.
    assert not (repo / ".claude-tui").exists()


def test_a_full_disk_at_the_first_write_of_a_resumed_run_keeps_the_checkpoint(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = prepare_run(repo, Config(), backend="demo")
    setup.store.save(setup.checkpoint)
    before = setup.store.path.read_bytes()
    fill_disk(monkeypatch, "*/.claude-tui/.checkpoint.toml.*")
    code, _, err = run_main(capsys, "run", repo, "--demo")
    assert_one_line(code, err, "cannot write the checkpoint", "disk full")
    assert setup.store.path.read_bytes() == before
    assert no_temp_files(setup.store.path.parent)


# --- mid-run: the disk fills up -----------------------------------------------------------


@dataclass
class GatedRunner(Runner):
    """Each chunk reports one finding when its gate opens."""

    backend: str = "claude"
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)

    def gate(self, chunk: str) -> asyncio.Event:
        return self.gates.setdefault(chunk, asyncio.Event())

    async def run(self, job: Job, emit: Emit) -> Outcome:
        self.started.append(job.chunk)
        emit(Init(session_id=job.session_id, model="gated"))
        await self.gate(job.chunk).wait()
        found = [Finding(job.files[0], 1, Severity.HIGH, f"bug in {job.chunk}", "", job.chunk)]
        result = Result("success", False, "", job.session_id, total_cost_usd=0.01)
        return Outcome(OutcomeKind.OK, result, 0, findings=found)


@dataclass
class Disk:
    full: bool = False


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    """A disk that can fill up: the checkpoint's fsync fails, after its temp file is made."""
    state = Disk()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if state.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return state


def gated_manager(repo: Path, runner: GatedRunner, events: list) -> Manager:
    config = Config(workers=1, max_files_per_chunk=2, verify="off")
    setup = prepare_run(repo, config, backend="claude")
    manager = Manager(
        root=setup.root,
        checkpoint=setup.checkpoint,
        store=setup.store,
        runner=runner,
        config=config,
        instructions=setup.instructions,
        on_event=events.append,
        write_delay=0.01,
    )
    manager.writer.retry_s = 0.05
    return manager


async def until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_full_disk_mid_run_pauses_new_starts_and_the_run_goes_on_when_space_returns(
    repo: Path, disk: Disk
) -> None:
    runner, events = GatedRunner(), []
    manager = gated_manager(repo, runner, events)
    names = [c.name for c in manager.checkpoint.chunks]
    assert len(names) >= 3
    task = manager.start()
    await until(lambda: len(runner.started) == 1)
    first = runner.started[0]
    disk.full = True
    runner.gate(first).set()
    await until(lambda: manager.state(first).status is ChunkStatus.DONE)
    await asyncio.sleep(0.3)  # several retries and dispatch rounds
    assert runner.started == [first], "a chunk started while the checkpoint could not be saved"
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert any(t.startswith("disk full (No space left on device)") for t in notices), notices
    assert manager.save_fault.startswith("disk full")
    saved = CheckpointStore(manager.store.path).load()
    assert saved is not None and saved.chunk(first).status is not ChunkStatus.DONE
    assert no_temp_files(manager.store.path.parent)

    disk.full = False
    await until(lambda: len(runner.started) == 2)
    assert not manager.save_fault
    for name in names:
        runner.gate(name).set()
    summary = await asyncio.wait_for(task, 5)
    assert summary.done == len(names)
    saved = CheckpointStore(manager.store.path).load()
    assert saved is not None
    assert {f.title for f in saved.findings()} == {f"bug in {n}" for n in names}


async def test_a_stop_while_the_disk_is_full_ends_the_run_with_the_old_checkpoint_whole(
    repo: Path, disk: Disk
) -> None:
    runner, events = GatedRunner(), []
    manager = gated_manager(repo, runner, events)
    task = manager.start()
    await until(lambda: len(runner.started) == 1)
    first = runner.started[0]
    before = manager.store.path.read_bytes()  # the session id written before the start
    disk.full = True
    runner.gate(first).set()
    await until(lambda: manager.state(first).status is ChunkStatus.DONE)
    await manager.stop()
    summary = await asyncio.wait_for(task, 5)
    assert summary.reason == "stopped"
    assert manager.store.path.read_bytes() == before
    assert no_temp_files(manager.store.path.parent)
    last = [e.text for e in events if isinstance(e, Notice)][-1]
    assert last.startswith("the checkpoint could not be saved (disk full")
    assert not asyncio.all_tasks() - {asyncio.current_task()}, "a retry was left behind"


# --- report paths that cannot be written ---------------------------------------------------


def checkpoint_file(path: Path) -> Path:
    setup = prepare_run(
        write_tree(path.parent / "for-report", SMALL_REPO), Config(), backend="demo"
    )
    setup.store.path = path
    setup.store.save(setup.checkpoint)
    return path


@pytest.mark.parametrize("target", ["/proc/claude-tui-report.json", "/proc/x/report.json"])
def test_a_report_where_no_file_can_be_made_is_refused_before_the_run(
    repo: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    code, _, err = run_main(capsys, "run", repo, "--demo", "--report", target)
    assert_one_line(code, err, "cannot write the report")
    assert not (repo / ".claude-tui" / "checkpoint.toml").exists()


@pytest.mark.parametrize("error", [errno.EROFS, errno.EACCES], ids=["erofs", "eacces"])
def test_a_report_folder_that_refuses_files_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: int,
) -> None:
    cp = checkpoint_file(tmp_path / "cp.toml")
    out = tmp_path / "out"
    out.mkdir()
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(kwargs.get("dir") or ".") == out:
            raise OSError(error, os.strerror(error))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    code, _, err = run_main(capsys, "report", cp, "--out", out / "report.json")
    assert_one_line(code, err, "cannot write the report", os.strerror(error))
    assert list(out.iterdir()) == []


def _full_device(path: Path) -> Path:
    """A /dev/full of our own (the real one must never be at stake in a test)."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except (PermissionError, AttributeError):
        pytest.skip("creating a device node needs root on Linux")
    return path


def test_a_report_on_a_full_device_is_one_line_and_the_run_keeps_its_exit_code(
    tmp_path: Path, fake_env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in fake_env.env.items():
        monkeypatch.setenv(key, value)
    repo = write_tree(tmp_path / "reviewed", {"src/app.py": "x = 1  # BUG(low): a bug\n"})
    full = _full_device(tmp_path / "full")
    code, _, err = run_main(capsys, "run", repo, "--format", "json", "--report", full)
    line = assert_one_line(
        code,
        "\n".join(line for line in err.splitlines() if line.startswith("claude-tui")),
        "No space left on device",
        "claude-tui report",
        exit_code=0,
    )
    assert "Traceback" not in err
    assert str(repo / ".claude-tui" / "checkpoint.toml") in line
    assert stat.S_ISCHR(full.stat().st_mode), "the device was replaced by a file"
    saved = CheckpointStore(repo / ".claude-tui" / "checkpoint.toml").load()
    assert saved is not None and len(saved.findings()) == 1


def _cli(*args: str | Path, stdout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui_orchestrator", *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        timeout=60,
    )


def test_a_closed_stdout_for_report_dash_is_refused_before_the_run(repo: Path) -> None:
    done = subprocess.run(
        ["sh", "-c", f'exec "{sys.executable}" -m tui_orchestrator run "{repo}" --demo '
         "--report - >&-"],
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, timeout=60,
    )  # fmt: skip
    assert_one_line(done.returncode, done.stderr, "stdout is closed")
    assert not (repo / ".claude-tui" / "checkpoint.toml").exists()


def test_a_stdout_pipe_nobody_reads_is_refused_before_the_report_is_made(tmp_path: Path) -> None:
    cp = checkpoint_file(tmp_path / "cp.toml")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = _cli("report", cp, stdout=write_end)
    finally:
        os.close(write_end)
    assert_one_line(done.returncode, done.stderr, "a pipe nobody reads")


# --- report paths that hold someone's file -------------------------------------------------


@pytest.mark.parametrize("command", ["run", "app"])
def test_a_report_never_replaces_a_file_git_tracks(
    repo: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    git(repo, "init", "-q")
    git(repo, "add", "README.md")
    before = (repo / "README.md").read_bytes()
    head = ["run"] if command == "run" else []
    code, _, err = run_main(capsys, *head, repo, "--demo", "--report", repo / "README.md")
    assert_one_line(code, err, "README.md", "git tracks")
    assert (repo / "README.md").read_bytes() == before
    assert not (repo / ".claude-tui" / "checkpoint.toml").exists()


def test_a_report_never_replaces_a_file_that_is_not_an_earlier_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = checkpoint_file(tmp_path / "cp.toml")
    notes = tmp_path / "notes.md"
    notes.write_text("# my notes\n")
    code, _, err = run_main(capsys, "report", cp, "--out", notes)
    assert_one_line(code, err, "not a claude-tui report")
    assert notes.read_text() == "# my notes\n"


@pytest.mark.parametrize("name", ["report.json", "report.sarif", "report.md"])
def test_an_earlier_report_or_an_empty_file_is_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    cp = checkpoint_file(tmp_path / "cp.toml")
    out = tmp_path / name
    out.touch()
    for _ in range(2):  # an empty file, then the report written the first time
        code, _, err = run_main(capsys, "report", cp, "--out", out)
        assert code == 0, err
    assert out.stat().st_size > 0
