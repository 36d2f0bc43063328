"""The launcher: a small program between claude-tui and one Claude Code process (Linux).

claude-tui runs it as ``python -I -S cli_launcher.py PARENT_PID`` (see
:mod:`~tui_orchestrator.engine.cli_process`) and writes a JSON header on its standard input:
``{"argv": [...], "grace": seconds}``. The launcher then:

1. gets the parent-death signal (SIGTERM) on itself, so claude-tui's death, even by
   ``kill -9``, reaches it; and makes itself a child subreaper, so a process the CLI started
   and left behind (Grep's ripgrep, a hook, an MCP server) is re-parented to the launcher
   rather than to init, where nobody would end it;
2. starts the CLI in a process group of its own, standard input closed, its stdout and stderr
   the launcher's own (claude-tui's pipes), with the parent-death signal SIGKILL: a launcher
   that is itself killed takes the CLI with it;
3. waits; on a stop (SIGTERM, SIGINT or SIGHUP: claude-tui's stop, its death, a hang-up) or
   once the CLI has ended by itself, it sends SIGTERM to the CLI's group and to every process
   below the launcher, and SIGKILL to whatever is left ``grace`` seconds later;
4. exits as the CLI did (the same exit code, or the same signal).

A launcher that cannot start the CLI prints ``CANNOT_START`` and the reason on stderr and
exits ``EXIT_CANNOT_START``.

claude-tui itself is never a subreaper: it would then reap processes that asyncio and
``subprocess`` wait for themselves. Standard library only, and nothing of claude-tui is
imported, so it starts in some 25 ms and a repository under review cannot shadow a module it
imports (``-I``: no current folder or user site on ``sys.path``).

Off Linux (no ``prctl``) claude-tui runs the CLI without the launcher, in a session of its
own, and ends its process group: a process that left the group is not reached there, nor is
anything on ``kill -9`` of claude-tui. A Linux libc without ``prctl`` keeps the launcher,
which then notices its parent's death by looking once a second, and adopts no orphan.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
EXIT_CANNOT_START = 127
CANNOT_START = "claude-tui launcher: cannot start the CLI: "
# (getattr: this module is imported everywhere; Windows has no SIGHUP.)
STOP_SIGNALS = frozenset(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)
# While ending, how often to look for processes that are still there (a grandchild dying
# sends the launcher no SIGCHLD until it is re-parented).
ENDING_POLL_S = 0.02
# After SIGKILL, how long to wait for the last of them (one stuck in the kernel may linger).
KILL_WAIT_S = 2.0


def _prctl() -> Callable[[int, int], int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux, or a libc without it
        return None


def die_with_parent(prctl: Callable[[int, int], int] | None, sig: int, parent: int) -> bool:
    """Ask for ``sig`` when the parent dies: the one place the parent-death signal is set.

    False when the parent is already gone (it died before the request took effect).
    """
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, sig)
    return os.getppid() == parent


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False when the group has no process left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its credentials: the others still got it
        return True
    return True


def descendants(root: int) -> list[int]:
    """Every process below ``root`` (its children, theirs, …), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # gone meanwhile
        # ``pid (comm) state ppid …``: the name may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


class Supervisor:
    """The launcher's wait: for the CLI's end or a stop, then for everything below to go."""

    def __init__(self, cli: int, grace: float, parent: int) -> None:
        self.cli = cli
        self.grace = grace
        self.parent = parent
        self.me = os.getpid()
        self.status: int | None = None  # the CLI's wait status, once it is reaped
        self.group_left = True  # False once its group was found empty (its id may be reused)

    def run(self) -> int:
        """Wait for the CLI's end or a stop; end what is left; the CLI's wait status."""
        watched = {signal.SIGCHLD, *STOP_SIGNALS}
        kill_at: float | None = None  # set once the end has begun
        while True:
            self.reap()
            if kill_at is None and self.status is not None:
                kill_at = self.begin_end()  # what the CLI left behind
            if kill_at is not None:
                left = descendants(self.me)
                if self.status is not None and not left:
                    return self.status
                now = time.monotonic()
                if now >= kill_at:
                    self.kill_the_rest()
                    # Not reaped (stuck in the kernel): say it was killed (a wait status).
                    return self.status if self.status is not None else signal.SIGKILL
                timeout = min(ENDING_POLL_S, kill_at - now)
            else:
                timeout = 1.0
            info = signal.sigtimedwait(watched, timeout)
            stop = info is not None and info.si_signo in STOP_SIGNALS
            # Without prctl no signal tells of the parent's death: a look once a second does.
            if kill_at is None and (stop or os.getppid() != self.parent):
                kill_at = self.begin_end()

    def reap(self) -> None:
        """Collect every child that has ended: the CLI, and orphans re-parented here."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.cli:
                self.status = status

    def to_group(self, sig: int) -> None:
        if self.group_left:
            self.group_left = signal_group(self.cli, sig)

    def begin_end(self) -> float:
        """SIGTERM to the CLI's group, then to every process below the launcher."""
        self.to_group(signal.SIGTERM)
        _signal_all(descendants(self.me), signal.SIGTERM)
        return time.monotonic() + self.grace

    def kill_the_rest(self) -> None:
        """SIGKILL to the group and everything below; reap until nothing is left."""
        deadline = time.monotonic() + KILL_WAIT_S
        while True:
            self.to_group(signal.SIGKILL)
            _signal_all(descendants(self.me), signal.SIGKILL)
            time.sleep(ENDING_POLL_S)
            self.reap()
            if not descendants(self.me) or time.monotonic() > deadline:
                return


def exit_as(status: int) -> int:
    """Leave as the CLI left: its exit code, or the signal that ended it."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    sig = os.WTERMSIG(status)
    with contextlib.suppress(ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file of the launcher
    with contextlib.suppress(ValueError, OSError):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
    os.kill(os.getpid(), sig)
    return 128 + sig  # a signal that does not end a process (none ends a CLI that way)


def main(args: list[str]) -> int:
    parent = int(args[0])
    # Signals are taken in order, by sigtimedwait: a stop that comes early waits its turn.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD, *STOP_SIGNALS})
    prctl = _prctl()
    if not die_with_parent(prctl, signal.SIGTERM, parent):
        return 128 + signal.SIGTERM
    if prctl is not None:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
    header = json.loads(sys.stdin.buffer.read() or b"{}")
    argv = [str(a) for a in header["argv"]]
    grace = float(header.get("grace", 0.7))
    if STOP_SIGNALS & set(signal.sigpending()):
        return 128 + signal.SIGTERM  # stopped before it started: start nothing
    me = os.getpid()

    def in_the_child() -> None:  # runs in the CLI's process, before exec
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        if not die_with_parent(prctl, signal.SIGKILL, me):
            os._exit(128 + signal.SIGKILL)

    try:
        cli = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, process_group=0, preexec_fn=in_the_child
        )
    except OSError as exc:
        sys.stderr.write(f"{CANNOT_START}{exc.strerror or exc}\n")
        return EXIT_CANNOT_START
    status = Supervisor(cli.pid, grace, parent).run()
    cli.returncode = status  # reaped here, not by Popen
    return exit_as(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
