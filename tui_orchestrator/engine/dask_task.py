"""What runs on a Dask worker: one Claude Code attempt at a chunk, streamed back live.

The client (:class:`~tui_orchestrator.engine.dask_runner.DaskRunner`) submits
:func:`run_attempt` with a :class:`~tui_orchestrator.engine.dask_protocol.TaskSpec`. On the
worker it:

1. claims the attempt (a ``distributed.Event``): Dask runs a task again when its worker
   died, but an attempt must never run twice; the second run only reports ``lost`` and the
   manager resumes the chunk as a new attempt from its last saved session;
2. rebuilds the chunk's files in the repository's folder under the work folder
   (``$CLAUDE_TUI_WORKDIR``, else ``<tmp>/claude-tui-<user>``), or uses the shared path the
   user named (nothing is copied then); with whole-repository context (``--context repo``)
   it first unpacks the repository at its commit there, once per run and machine (the
   archive is a task dependency the client scattered once), then writes the chunk's files
   over it;
3. restores the chunk's session file (for ``--resume``) where Claude Code looks for it:
   ``<config folder>/projects/<cwd, every character not a letter or digit as ->/<id>.jsonl``;
4. runs the CLI (:class:`~tui_orchestrator.engine.cli_process.BlockingCliProcess`: argv
   list, standard input closed, nothing it starts outlives it, ended with the worker on
   Linux) with the prompt's ``Repository root:`` naming the worker's folder;
5. sends each stdout line (in batches of at most ``TICK_S``) and each growth of the session
   file to the client through the job's ``distributed.Queue``, then an ``end`` message;
6. ends the process (and what it started) when the client sets the job's stop
   ``distributed.Event``, when the task is released (the client went away), or at the
   chunk's time limit.

The messages are :mod:`~tui_orchestrator.engine.dask_protocol`'s.
"""

from __future__ import annotations

import contextlib
import getpass
import io
import os
import posixpath
import queue as queue_mod
import re
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from tui_orchestrator.engine.cli_process import BlockingCliProcess
from tui_orchestrator.engine.dask_protocol import (
    CLAUDE_NOT_FOUND,
    EndMessage,
    LostMessage,
    Message,
    SessionMessage,
    TaskSpec,
    end_message,
    lines_message,
    lost_message,
    session_message,
    start_message,
)
from tui_orchestrator.engine.prompt import with_root
from tui_orchestrator.engine.stream import Init, Result, parse_line

try:  # POSIX: several attempts of one repository on one machine share its folder
    import fcntl
except ImportError:  # pragma: no cover - Windows workers keep their folders
    fcntl = None  # type: ignore[assignment]

ENV_WORKDIR = "CLAUDE_TUI_WORKDIR"
# Lines and session growth are sent at most this often (a batch a tick).
TICK_S = 0.1
# How often the stop event is asked (a round trip to the scheduler).
STOP_POLL_S = 0.25
SEND_TIMEOUT_S = 30.0
# How often a machine that keeps a run's unpacked repository asks whether the run still
# holds the archive (it goes when the client releases it or goes away).
KEEP_POLL_S = 1.0


class HostFolderError(Exception):
    """The chunk's folder cannot be prepared on this host."""


class ClientGone(Exception):
    """The job's queue no longer answers: the client or the scheduler went away."""


def project_key(cwd: str | Path) -> str:
    """The folder under ``projects/`` that holds the sessions run in ``cwd`` (docs/claude-code.md §1)."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(cwd))


def claude_projects_dir() -> Path:
    """Where this machine's Claude Code keeps sessions (``$CLAUDE_CONFIG_DIR`` moves it)."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR")
    return (Path(configured) if configured else Path.home() / ".claude") / "projects"


def work_base() -> Path:
    """The folder chunks are rebuilt in: ``$CLAUDE_TUI_WORKDIR`` or a per-user temp folder."""
    configured = os.environ.get(ENV_WORKDIR)
    if configured:
        return Path(configured)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name in a container
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"claude-tui-{re.sub(r'[^A-Za-z0-9_.-]', '_', user)}"


def safe_relative(rel: str) -> PurePosixPath:
    """A repo-relative path that stays inside the folder it is joined to, or an error."""
    path = PurePosixPath(rel.replace("\\", "/"))
    if (
        not rel
        or path.is_absolute()
        or not path.parts
        or any(part in ("..", "") for part in path.parts)
        or ":" in path.parts[0]
    ):
        raise HostFolderError(f"refusing a file path outside the repository: {rel!r}")
    return path


def _link_stays_inside(member: tarfile.TarInfo) -> bool:
    """Does a link member point inside the folder it is unpacked in?"""
    target = member.linkname.replace("\\", "/")
    if not target or target.startswith("/") or ":" in target.split("/", 1)[0]:
        return False
    if member.issym():  # relative to the link's own folder
        target = posixpath.join(posixpath.dirname(member.name), target)
    target = posixpath.normpath(target)
    return target != ".." and not target.startswith("../")


def archive_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The members of a repository archive to unpack; HostFolderError for a hostile one.

    A member named outside the folder (absolute, ``..``, a drive) refuses the whole archive:
    ``git archive`` never writes one. Links that point outside the folder (a repository may
    commit ``link -> /etc/x``) and anything but files, folders and links are left out.
    """
    keep = []
    for member in tar.getmembers():
        if member.name in ("", ".", "./"):
            continue
        try:
            safe_relative(member.name.rstrip("/"))
        except HostFolderError:
            raise HostFolderError(
                f"refusing the repository archive: member {member.name!r} leaves the folder"
            ) from None
        if member.issym() or member.islnk():
            if _link_stays_inside(member):
                keep.append(member)
        elif member.isfile() or member.isdir():
            keep.append(member)
    return keep


def extract_archive(data: bytes, dest: Path) -> int:
    """Unpack a tar archive (``git archive --format=tar``) into ``dest``; the member count.

    Members are checked by :func:`archive_members`; Python's ``data`` extraction filter
    (3.12, and 3.11.4+) checks again, and without it each path is resolved before writing.
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            members = archive_members(tar)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, members=members, filter="data")
            else:  # pragma: no cover - Python 3.11.0-3.11.3
                top = os.path.realpath(dest)
                for member in members:
                    where = os.path.realpath(dest / member.name)
                    if where != top and not where.startswith(top + os.sep):
                        raise HostFolderError(
                            f"refusing the repository archive: {member.name!r} leaves the folder"
                        )
                    tar.extract(member, dest)
    except (tarfile.TarError, OSError) as exc:
        raise HostFolderError(f"cannot unpack the repository archive: {exc}") from None
    return len(members)


class HostFolder:
    """The chunk's folder on this host (a Dask worker machine), and the session files its attempts use.

    Every attempt of one repository on one machine shares a folder (stable, so the session
    keys match from one attempt to the next); the last one to finish removes the folder and
    the sessions (a shared lock file says who is last; not on Windows).

    With a repository archive (``--context repo``) the folder holds the repository at its
    commit, unpacked once per run: the first attempt unpacks it under a second lock, and a
    marker file beside the folder names the archive it holds. The folder then outlives its
    last attempt as long as ``held()`` says the run still holds the archive on this worker
    (more chunks may come), and goes when the run lets the archive go.
    """

    def __init__(
        self,
        spec: TaskSpec,
        archive: bytes | None = None,
        held: Callable[[], bool] | None = None,
    ) -> None:
        self.shared = bool(spec.get("shared_root"))
        self.base = work_base()
        key = str(spec["repo_key"])
        self.root = Path(spec["shared_root"]) if self.shared else self.base / key
        self.lock_path = self.base / f"{key}.lock"
        self.unpack_lock_path = self.base / f"{key}.unpack.lock"
        self.marker = self.base / f"{key}.archive"
        self.files: dict[str, bytes] = spec.get("files") or {}
        self.archive = None if self.shared else archive
        self.archive_key = str(spec.get("archive_key") or "")
        self.held = held if self.archive is not None else None
        # True when this attempt unpacked the archive (False: it was there already).
        self.unpacked = False
        self.projects = Path()
        self.sessions: set[str] = set()
        self._fd: int | None = None

    def __enter__(self) -> HostFolder:
        try:
            self.base.mkdir(parents=True, exist_ok=True, mode=0o700)
            if fcntl is not None:
                self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_SH)
            if self.shared:
                if not self.root.is_dir():
                    raise HostFolderError(f"the shared path {self.root} is not a folder here")
            else:
                if self.archive is not None:
                    self._unpack(self.archive)
                self.root.mkdir(parents=True, exist_ok=True)
                # The chunk's own files as they are in the user's working tree (over the
                # commit's version, when the repository came too).
                for rel, data in self.files.items():
                    path = self.root.joinpath(*safe_relative(rel).parts)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    if path.is_symlink():
                        path.unlink()
                    path.write_bytes(data)
        except OSError as exc:
            self._unlock()
            raise HostFolderError(f"cannot prepare {self.root}: {exc}") from None
        except HostFolderError:
            self._unlock()
            raise
        # The CLI keys sessions by its real working directory.
        self.root = Path(os.path.realpath(self.root))
        self.projects = claude_projects_dir() / project_key(self.root)
        return self

    def _unpack(self, archive: bytes) -> None:
        """Unpack the repository once per archive: concurrent attempts wait for the first."""
        fd = os.open(self.unpack_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = self.marker.read_text(encoding="utf-8")
            except OSError:
                current = ""
            if current == self.archive_key and self.root.is_dir():
                return
            # Another run's copy (or a chunk-only one) is replaced, never mixed in.
            with contextlib.suppress(FileNotFoundError):
                self.marker.unlink()
            shutil.rmtree(self.root, ignore_errors=True)
            extract_archive(archive, self.root)
            self.marker.write_text(self.archive_key, encoding="utf-8")
            self.unpacked = True
        finally:
            os.close(fd)

    def session_path(self, session_id: str) -> Path:
        return self.projects / f"{session_id}.jsonl"

    def restore_session(self, session_id: str, data: bytes) -> None:
        self.projects.mkdir(parents=True, exist_ok=True)
        self.session_path(session_id).write_bytes(data)
        self.sessions.add(session_id)

    def __exit__(self, *exc: object) -> None:
        if self._fd is None or fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # another attempt of this repository still runs here
            keep = self.held is not None and _asks(self.held)
            if self.shared or keep:
                for session_id in self.sessions:
                    with contextlib.suppress(OSError):
                        self.session_path(session_id).unlink()
                    shutil.rmtree(self.projects / session_id, ignore_errors=True)
                if keep:
                    assert self.held is not None
                    _keep_until_released(self, self.held)
            else:
                self.remove()
        finally:
            self._unlock()

    def remove(self) -> None:
        """Remove the repository's copy and its sessions (the caller holds the lock alone)."""
        # Sessions first: once the copy is gone, nothing of the repository is left here.
        shutil.rmtree(self.projects, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.marker.unlink()
        shutil.rmtree(self.root, ignore_errors=True)

    def _unlock(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _asks(held: Callable[[], bool]) -> bool:
    try:
        return bool(held())
    except Exception:  # the worker is closing: nothing holds the archive any more
        return False


_keepers: dict[Path, threading.Thread] = {}
_keepers_lock = threading.Lock()


def _keep_until_released(folder: HostFolder, held: Callable[[], bool]) -> None:
    """Remove the copy once the run lets its archive go, unless an attempt is in it then.

    (That attempt removes it when it ends: the archive is no longer held.) One thread a
    folder per worker process.
    """

    def watch() -> None:
        try:
            while _asks(held):
                time.sleep(KEEP_POLL_S)
            fd = os.open(folder.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                assert fcntl is not None
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return
            try:
                folder.remove()
            finally:
                os.close(fd)
        finally:
            with _keepers_lock:
                _keepers.pop(folder.root, None)

    with _keepers_lock:
        if folder.root in _keepers:
            return
        thread = threading.Thread(target=watch, name="claude-tui-keep", daemon=True)
        _keepers[folder.root] = thread
    thread.start()


class SessionShipper:
    """Sends what was appended to a session file since the last look (complete lines only)."""

    def __init__(self, folder: HostFolder, session_id: str, offset: int = 0) -> None:
        self.folder = folder
        self.session_id = session_id
        self.offset = offset

    def poll(self) -> SessionMessage | None:
        path = self.folder.session_path(self.session_id)
        try:
            size = path.stat().st_size
        except OSError:
            return None
        if size < self.offset:
            self.offset = 0  # rewritten, not appended: send it whole
        if size == self.offset:
            return None
        with open(path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(size - self.offset)
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            return None
        message = session_message(self.session_id, self.offset, data[:cut])
        self.offset += cut
        return message


class Sender:
    """Puts messages on the job's queue; after one failure it stops trying."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.broken = False

    def send(self, message: Message) -> None:
        if self.broken:
            raise ClientGone("the job's queue is gone")
        try:
            self.queue.put(message, timeout=SEND_TIMEOUT_S)
        except Exception as exc:
            self.broken = True
            raise ClientGone(str(exc)) from None

    def final(self, message: EndMessage | LostMessage) -> EndMessage | LostMessage:
        with contextlib.suppress(ClientGone):
            self.send(message)
        return message


def run_attempt(spec: TaskSpec, archive: bytes | None = None) -> EndMessage | LostMessage:
    """The Dask task: run one attempt, stream it to the client, return the ``end`` message.

    ``archive`` is the repository at its commit (``--context repo``): Dask hands over the
    data of the scattered future the task was submitted with, already on this worker.
    """
    from distributed import Event, Queue, get_worker

    worker = get_worker()
    key = worker.get_current_task()
    queue = Queue(spec["queue"])
    sender = Sender(queue)
    stop = Event(spec["stop"])
    claimed = Event(spec["claimed"])
    try:
        if claimed.is_set():
            return sender.final(lost_message())
        claimed.set()
        if stop.is_set():
            return sender.final(end_message(stopped="stopped before it started"))

        def should_stop() -> str:
            try:
                if stop.is_set():
                    return "stopped by claude-tui"
            except Exception:
                return "the scheduler does not answer"
            task = getattr(getattr(worker, "state", None), "tasks", {}).get(key)
            if task is None or task.state in ("cancelled", "released", "forgotten"):
                return "released by the scheduler (the client went away)"
            return ""

        host = str(worker.address).split("://", 1)[-1]
        archive_key = spec.get("archive_key")

        def held() -> bool:
            task = worker.state.tasks.get(archive_key)
            return task is not None and task.state == "memory"

        with HostFolder(spec, archive, held) as folder:
            session_id = str(spec["session_id"])
            if spec.get("session"):
                folder.restore_session(session_id, spec["session"])
            folder.sessions.add(session_id)
            sender.send(start_message(host, worker.address, str(folder.root), folder.unpacked))
            end = run_cli(spec, folder, sender, should_stop)
        return sender.final(end)
    except HostFolderError as exc:
        return sender.final(end_message(error=f"the chunk's folder: {exc}"))
    except ClientGone:
        return end_message(stopped="the client went away")
    finally:
        with contextlib.suppress(Exception):
            queue.close()


def _resolve(exe: str) -> str | None:
    if os.sep in exe or (os.altsep and os.altsep in exe):
        return exe if os.access(exe, os.X_OK) and not os.path.isdir(exe) else None
    return shutil.which(exe)


def run_cli(
    spec: TaskSpec,
    folder: HostFolder,
    sender: Sender,
    should_stop: Callable[[], str],
) -> EndMessage:
    """Run the CLI in the folder until it ends, is stopped or times out."""
    argv = [str(a) for a in spec["argv"]]
    exe = _resolve(argv[0])
    if exe is None:
        return end_message(
            error=f"{CLAUDE_NOT_FOUND}: {argv[0]!r} is not an executable on this worker"
        )
    argv[0] = exe
    if "-p" in argv:
        at = argv.index("-p") + 1
        argv[at] = with_root(argv[at], folder.root)
    lines = _Lines(str(spec["session_id"]))
    try:
        cli = BlockingCliProcess(argv, folder.root, lines.add)
    except OSError as exc:
        return end_message(error=f"{CLAUDE_NOT_FOUND}: cannot start {exe}: {exc.strerror}")

    shipper = SessionShipper(folder, lines.session_id, len(spec.get("session") or b""))
    deadline = time.monotonic() + float(spec["timeout_s"])
    next_check = 0.0
    stopped = ""
    timed_out = False
    while True:
        finished = cli.done()
        try:
            shipper = _ship_session(shipper, lines.session_id, folder, sender)
            batch = lines.drain()
            if batch:
                sender.send(lines_message(batch))
        except ClientGone:
            stopped = stopped or "the client went away"
        if finished:
            break
        now = time.monotonic()
        if sender.broken and cli.poll() is None:
            cli.stop()
        elif not stopped and not timed_out:
            if now >= deadline:
                timed_out = True
                cli.stop()
            elif now >= next_check:
                next_check = now + STOP_POLL_S
                stopped = should_stop()
                if stopped:
                    cli.stop()
        cli.wait(TICK_S)
    ended = cli.finish()
    if ended.start_error:
        return end_message(error=f"{CLAUDE_NOT_FOUND}: cannot start {exe}: {ended.start_error}")
    with contextlib.suppress(ClientGone):
        _ship_session(shipper, lines.session_id, folder, sender)
    return end_message(ended.code, ended.stderr, timed_out, stopped)


def _ship_session(
    shipper: SessionShipper, session_id: str, folder: HostFolder, sender: Sender
) -> SessionShipper:
    """Send the session's growth; a new session id (``--fork-session``) starts a new file."""
    message = shipper.poll()
    if message is not None:
        sender.send(message)
    if session_id != shipper.session_id:
        folder.sessions.add(session_id)
        shipper = SessionShipper(folder, session_id)
        message = shipper.poll()
        if message is not None:
            sender.send(message)
    return shipper


class _Lines:
    """The CLI's stdout lines as the reader thread hands them over, and its session id."""

    def __init__(self, session_id: str) -> None:
        self.queue: queue_mod.SimpleQueue[str] = queue_mod.SimpleQueue()
        # A forked session (``--fork-session``) gets a new id: its file is the one to ship.
        self.session_id = session_id

    def add(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        if '"session_id"' in text and ('"init"' in text or '"result"' in text):
            for event in parse_line(text):
                if isinstance(event, Init | Result) and event.session_id:
                    self.session_id = event.session_id
        self.queue.put(text)

    def drain(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except queue_mod.Empty:
                return out
