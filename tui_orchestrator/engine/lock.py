"""One orchestrator per repository: a lock file in ``.claude-tui/`` naming its holder."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from tui_orchestrator.engine.errors import LockError, WriteError
from tui_orchestrator.engine.statedir import ensure_state_dir, remove_if_unused

# A lock file that holds no readable holder is being written right now, or its writer died
# between creating and writing it; past this age it is the second, and stale.
TORN_LOCK_AGE_S = 2.0


def _alive(pid: int) -> bool:
    if pid <= 0:
        # os.kill(0, 0) would signal our own process group and "succeed".
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_start(pid: int) -> str:
    """When ``pid`` started, in clock ticks since boot (Linux), or "" where that is unknown.

    Stored with the pid, so a pid the system gave to another process since is not mistaken
    for the holder.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int
    host: str
    started: str = ""

    def gone(self) -> bool:
        """True when this holder's process (on this host) no longer runs."""
        if self.host != socket.gethostname():
            return False
        if not _alive(self.pid):
            return True
        return bool(self.started) and process_start(self.pid) not in ("", self.started)


class RepoLock:
    """``with RepoLock(state_dir):`` — a second holder gets LockError naming the first's pid.

    A lock whose process is gone (same host), or that a dead process left empty, is stale
    and taken over.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / "lock"
        self.held = False

    def acquire(self) -> None:
        created = not self.path.parent.exists()
        ensure_state_dir(self.path.parent)
        try:
            self._create_or_take_over()
        except WriteError:
            if created:
                remove_if_unused(self.path.parent)  # a start that failed leaves no trace
            raise

    def _create_or_take_over(self) -> None:
        pid = os.getpid()
        me = json.dumps({"pid": pid, "host": socket.gethostname(), "started": process_start(pid)})
        deadline = time.monotonic() + TORN_LOCK_AGE_S + 1.0
        while time.monotonic() < deadline:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self.path.is_dir():
                    # Never taken over: unlinking a folder fails, and its contents are not ours.
                    raise LockError(
                        f"the lock {self.path} is a folder: move it away (claude-tui keeps "
                        "a lock file there)"
                    ) from None
                holder = self._holder()
                if holder is None:
                    time.sleep(0.05)  # gone meanwhile, or being written: look again
                    continue
                if holder.gone():
                    # Stale: its process is gone. Take it over.
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.path)
                    continue
                where = "" if holder.host == socket.gethostname() else f" on {holder.host}"
                raise LockError(
                    f"another claude-tui (pid {holder.pid}{where}) is running on this "
                    f"repository; wait for it or stop it (lock: {self.path})"
                ) from None
            except OSError as exc:
                raise WriteError(f"cannot create the lock {self.path}: {exc.strerror}") from None
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(me)
            except OSError as exc:
                # An empty lock would keep the next start waiting for a writer that is gone.
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
                raise WriteError(f"cannot write the lock {self.path}: {exc.strerror}") from None
            self.held = True
            return
        raise LockError(f"cannot take the lock {self.path}")

    def _holder(self) -> Holder | None:
        """The lock's holder; None while the file is missing or still being written."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Holder(int(data["pid"]), str(data.get("host", "")), str(data.get("started", "")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            try:
                age = time.time() - self.path.stat().st_mtime
            except FileNotFoundError:
                return None
            if age < TORN_LOCK_AGE_S:
                return None
            # Empty or torn for a while: its writer died between creating and writing it.
            return Holder(0, socket.gethostname())

    def release(self) -> None:
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self.held = False

    def __enter__(self) -> RepoLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
