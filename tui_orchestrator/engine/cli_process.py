"""The whole life of one Claude Code CLI process: start, read, stop, and nothing left behind.

Used by the local runner (:class:`CliProcess`, on the event loop) and by the Dask task
(:class:`BlockingCliProcess`, in a worker's thread); they differ only in how they wait.

- **Start.** On Linux the CLI runs under the launcher (:mod:`.cli_launcher`): the launcher
  gets the parent-death signal, is the subreaper of everything the CLI starts, and puts the
  CLI in a process group of its own. claude-tui starts the launcher in a session of its own
  (a Ctrl+C at the terminal reaches claude-tui, which decides). Elsewhere the CLI itself
  runs in a session of its own, and only its process group can be ended (see the
  launcher's docstring for what that misses).
- **Stop** (pause, cancel, time limit, shutdown): SIGTERM to the launcher, which ends the
  CLI's group and everything below it (SIGKILL after ``TERMINATE_GRACE_S``) and then exits;
  a launcher still there ``LAUNCHER_SLACK_S`` later gets SIGKILL, and the CLI with it.
  Without the launcher: SIGTERM to the group, SIGKILL to what is left of it after the grace,
  even once the CLI itself has ended. Pause must stop the spending within a second, hence a
  grace under one.
- **Read.** Stdout is read line by line until it closes, or until ``STDOUT_GRACE_S`` after
  the process has exited: a process the CLI left behind that holds the pipe cannot hold the
  result back. Stderr keeps its last ``STDERR_TAIL_BYTES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tui_orchestrator.engine.cli_launcher import CANNOT_START, EXIT_CANNOT_START, signal_group

# How long a process may take to end after SIGTERM before it is killed: pause must stop
# spending within a second.
TERMINATE_GRACE_S = 0.7
# The launcher needs the grace and a little more to end everything below it and exit.
LAUNCHER_SLACK_S = 0.5
# After SIGKILL: how long to wait for the process to be gone.
KILL_WAIT_S = 2.0
# Stdout read after the process has exited (a pipe held open by what it left behind).
STDOUT_GRACE_S = 2.0
# How long to wait for stderr's end once the process has exited.
STDERR_WAIT_S = 2.0
STDERR_TAIL_BYTES = 4096
# A stdout line may be this long (a stream-json line carries whole files); beyond it the
# process's output is broken.
LINE_LIMIT = 64 * 1024 * 1024
# Reading pauses while this many bytes of lines wait to be taken.
READ_AHEAD = 8 * 1024 * 1024
GROUP_POLL_S = 0.02

LAUNCHER = Path(__file__).with_name("cli_launcher.py")


@dataclass(frozen=True, slots=True)
class Launch:
    """The command that starts a CLI, and what goes on its standard input."""

    argv: list[str]
    # The launcher's header; None: the CLI runs without the launcher (standard input closed).
    header: bytes | None

    @property
    def contained(self) -> bool:
        return self.header is not None

    def pipes(self) -> dict[str, object]:
        """How the process is started, the same from the loop and from a thread: the
        launcher reads its header on stdin (the CLI's is closed), stdout and stderr are
        read, and it gets a session of its own (a Ctrl+C reaches claude-tui only)."""
        return {
            "stdin": subprocess.PIPE if self.contained else subprocess.DEVNULL,
            "stdout": subprocess.PIPE,
            "stderr": subprocess.PIPE,
            "start_new_session": True,
        }


def can_contain() -> bool:
    """Can the launcher run here? Linux (``prctl``), with a Python to run it."""
    return sys.platform.startswith("linux") and bool(sys.executable) and LAUNCHER.is_file()


def launch(argv: Sequence[str], contained: bool | None = None) -> Launch:
    """How to start ``argv``: under the launcher where it can run (``contained`` forces it)."""
    if contained is None:
        contained = can_contain()
    if not contained:
        return Launch(list(argv), None)
    header = json.dumps({"argv": list(argv), "grace": TERMINATE_GRACE_S}).encode()
    # -I: no current folder (the repository under review) or user site on sys.path;
    # -S: no site-packages either: the launcher needs the standard library only.
    command = [sys.executable, "-I", "-S", str(LAUNCHER), str(os.getpid())]
    return Launch(command, header)


class StderrTail:
    """The end of a process's stderr: a chatty process must not grow memory without bound."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data = bytearray()

    def add(self, data: bytes) -> None:
        self._data += data
        if len(self._data) > 4 * STDERR_TAIL_BYTES:
            del self._data[:-STDERR_TAIL_BYTES]

    def text(self) -> str:
        return bytes(self._data[-STDERR_TAIL_BYTES:]).decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class CliExit:
    """How a CLI process ended."""

    code: int | None
    stderr: str
    # The launcher could not start the CLI: why (``No such file or directory``), else "".
    start_error: str = ""


def _exit_of(code: int | None, stderr: str, contained: bool) -> CliExit:
    if contained and code == EXIT_CANNOT_START:
        last = stderr.strip().splitlines()[-1:]
        if last and last[0].startswith(CANNOT_START):
            return CliExit(code, stderr, last[0][len(CANNOT_START) :])
    return CliExit(code, stderr)


def _group_left(pgid: int) -> bool:
    return signal_group(pgid, 0)


class _Pipes(asyncio.SubprocessProtocol):
    """What the process writes, as it comes: stdout lines, the stderr tail, its exit."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.SubprocessTransport | None = None
        self.lines: deque[bytes] = deque()
        self.waiting = 0  # bytes in ``lines``
        self.partial = bytearray()
        self.paused = False
        self.stdout_closed = False
        self.error: Exception | None = None
        self.stderr = StderrTail()
        self.stderr_closed = asyncio.Event()
        self.exited_at: float | None = None
        self.exited = asyncio.Event()
        self.changed = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 2:
            self.stderr.add(data)
            return
        if b"\n" not in data:
            self.partial += data
            if len(self.partial) > LINE_LIMIT:
                self.error = ValueError(f"a stdout line longer than {LINE_LIMIT} bytes")
                self._pause()
                self.changed.set()
            return
        *complete, rest = (bytes(self.partial) + data).split(b"\n")
        for line in complete:
            self.lines.append(line + b"\n")
            self.waiting += len(line) + 1
        self.partial = bytearray(rest)
        if self.waiting > READ_AHEAD:
            self._pause()
        self.changed.set()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            if self.partial:
                self.lines.append(bytes(self.partial))
                self.partial = bytearray()
            self.stdout_closed = True
            self.changed.set()
        elif fd == 2:
            self.stderr_closed.set()

    def process_exited(self) -> None:
        self.exited_at = self.loop.time()
        self.exited.set()
        self.changed.set()

    def take(self) -> bytes:
        line = self.lines.popleft()
        self.waiting -= len(line)
        if self.paused and self.waiting < READ_AHEAD // 4 and self.transport is not None:
            stdout = self.transport.get_pipe_transport(1)
            if stdout is not None and not stdout.is_closing():
                stdout.resume_reading()  # type: ignore[attr-defined]
            self.paused = False
        return line

    def _pause(self) -> None:
        if self.paused or self.transport is None:
            return
        stdout = self.transport.get_pipe_transport(1)
        if stdout is not None and not stdout.is_closing():
            stdout.pause_reading()  # type: ignore[attr-defined]
            self.paused = True


class CliProcess:
    """One CLI process run from the event loop; see the module docstring."""

    def __init__(self, transport: asyncio.SubprocessTransport, pipes: _Pipes, contained: bool):
        self._transport = transport
        self._pipes = pipes
        self.contained = contained
        self._stopping: asyncio.Future[None] | None = None
        # True when stdout was still open STDOUT_GRACE_S after the exit (it was let go).
        self.stdout_held = False

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        cwd: Path | str,
        env: Mapping[str, str] | None = None,
        contained: bool | None = None,
    ) -> CliProcess:
        """Start ``argv`` in ``cwd``; OSError when it cannot be started."""
        how = launch(argv, contained)
        loop = asyncio.get_running_loop()
        transport, pipes = await loop.subprocess_exec(
            _Pipes, *how.argv, cwd=cwd, env=env, **how.pipes()
        )
        if how.header is not None:
            stdin = transport.get_pipe_transport(0)
            assert isinstance(stdin, asyncio.WriteTransport)
            stdin.write(how.header)
            stdin.close()  # after the header is written: the launcher reads to the end
        return cls(transport, pipes, how.contained)

    @property
    def pid(self) -> int:
        """The launcher's pid (or the CLI's, without the launcher)."""
        return self._transport.get_pid()

    @property
    def returncode(self) -> int | None:
        return self._transport.get_returncode()

    async def readline(self) -> bytes:
        """The next stdout line (with its newline); ``b""`` once stdout is done.

        Done: closed, or let go ``STDOUT_GRACE_S`` after the process exited.
        """
        pipes = self._pipes
        while True:
            if pipes.lines:
                return pipes.take()
            if pipes.error is not None:
                raise pipes.error
            if pipes.stdout_closed or self.stdout_held:
                return b""
            pipes.changed.clear()
            timeout = None
            if pipes.exited_at is not None:
                timeout = pipes.exited_at + STDOUT_GRACE_S - pipes.loop.time()
                if timeout <= 0:
                    self.stdout_held = True
                    return b""
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pipes.changed.wait(), timeout)

    async def wait(self) -> int | None:
        """Wait for the process to exit; its exit code."""
        await self._pipes.exited.wait()
        return self.returncode

    async def finish(self) -> CliExit:
        """Once stdout is done: wait for the exit, end what is left, the stderr tail."""
        code = await self.wait()
        if not self.contained:
            await self._end_group()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._pipes.stderr_closed.wait(), STDERR_WAIT_S)
        self.close()
        return _exit_of(code, self._pipes.stderr.text(), self.contained)

    async def stop(self) -> None:
        """End the process and everything it started (see the module docstring).

        Runs to its end even when the caller is cancelled meanwhile.
        """
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        try:
            if not self.contained:
                await self._end_group()
                return
            self._signal(signal.SIGTERM)
            if not await self._exited_within(TERMINATE_GRACE_S + LAUNCHER_SLACK_S):
                self._signal(signal.SIGKILL)
                await self._exited_within(KILL_WAIT_S)
        finally:
            self.close()

    def _signal(self, sig: int) -> None:
        # os.kill, not the transport's send_signal: that polls the process, and a poll
        # that reaps it steals the exit code from asyncio's child watcher.
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    async def _end_group(self) -> None:
        """Without the launcher: SIGTERM to the group, SIGKILL to what is left after the grace."""
        pgid = self.pid
        if not signal_group(pgid, signal.SIGTERM):
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TERMINATE_GRACE_S
        while loop.time() < deadline:
            await asyncio.sleep(GROUP_POLL_S)
            if self.returncode is not None and not _group_left(pgid):
                return
        signal_group(pgid, signal.SIGKILL)
        await self._exited_within(KILL_WAIT_S)

    async def _exited_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._pipes.exited.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Let go of the pipes (a process still running is killed: call ``stop`` first)."""
        if not self._transport.is_closing():
            self._transport.close()


class BlockingCliProcess:
    """One CLI process run from a thread (a Dask task); see the module docstring.

    Stdout lines go to ``on_line`` from a reader thread as they come; the caller polls
    :meth:`done` and calls :meth:`stop` or :meth:`finish`.
    """

    def __init__(
        self,
        argv: Sequence[str],
        cwd: Path | str,
        on_line: Callable[[bytes], None],
        env: Mapping[str, str] | None = None,
        contained: bool | None = None,
    ) -> None:
        """Start ``argv`` in ``cwd``; OSError when it cannot be started."""
        how = launch(argv, contained)
        self.contained = how.contained
        self.proc = subprocess.Popen(how.argv, cwd=cwd, env=env, **how.pipes())  # type: ignore[call-overload]
        if how.header is not None:
            assert self.proc.stdin is not None
            # A launcher that died at once says why by its exit code.
            with contextlib.suppress(OSError):
                self.proc.stdin.write(how.header)
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.on_line = on_line
        self.tail = StderrTail()
        self.exited_at: float | None = None
        # Lines after ``finish`` are read (so nothing writing blocks) but not delivered.
        self._delivering = True
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self.errors = threading.Thread(target=self._tail, args=(self.proc.stderr,), daemon=True)
        self.reader.start()
        self.errors.start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            if self._delivering:
                self.on_line(raw)

    def _tail(self, stream: IO[bytes]) -> None:
        while True:
            data = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not data:
                return
            self.tail.add(data)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        code = self.proc.poll()
        if code is not None and self.exited_at is None:
            self.exited_at = time.monotonic()
        return code

    def done(self) -> bool:
        """Exited, and stdout read to its end or let go ``STDOUT_GRACE_S`` after the exit."""
        if self.poll() is None:
            return False
        assert self.exited_at is not None
        return not self.reader.is_alive() or time.monotonic() >= self.exited_at + STDOUT_GRACE_S

    def wait(self, timeout: float) -> None:
        """Wait at most ``timeout`` seconds for more output or the exit."""
        if self.reader.is_alive():
            self.reader.join(timeout)
        else:  # stdout closed, the process not gone yet
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)

    def stop(self) -> None:
        """End the process and everything it started (see the module docstring)."""
        if not self.contained:
            self._end_group()
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(TERMINATE_GRACE_S + LAUNCHER_SLACK_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(KILL_WAIT_S)

    def _end_group(self) -> None:
        pgid = self.proc.pid
        if not signal_group(pgid, signal.SIGTERM):
            return
        deadline = time.monotonic() + TERMINATE_GRACE_S
        while time.monotonic() < deadline:
            time.sleep(GROUP_POLL_S)
            if self.proc.poll() is not None and not _group_left(pgid):
                return
        signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(KILL_WAIT_S)

    def finish(self) -> CliExit:
        """Once done (or stopped): end what is left, the exit code and the stderr tail."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(KILL_WAIT_S)
        if not self.contained:
            self._end_group()
        self.errors.join(STDERR_WAIT_S)
        self._delivering = False
        # A pipe a thread still reads stays open: closing it under the thread could let
        # the thread read a file opened later under the same number.
        for thread, stream in ((self.reader, self.proc.stdout), (self.errors, self.proc.stderr)):
            if stream is not None and not thread.is_alive():
                with contextlib.suppress(OSError):
                    stream.close()
        return _exit_of(self.proc.returncode, self.tail.text(), self.contained)
