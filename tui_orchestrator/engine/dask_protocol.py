"""What crosses to a Dask worker and back: the task's spec and the messages of its queue.

The client (``dask_runner.py``) submits :func:`~tui_orchestrator.engine.dask_task.run_attempt`
with a :class:`TaskSpec`; the task (``dask_task.py``) puts messages on the attempt's
``distributed.Queue``, in this order: one :class:`StartMessage`, then any number of
:class:`LinesMessage` and :class:`SessionMessage`, then one :class:`EndMessage` (also the
task's return value). A task that finds its attempt already claimed (Dask ran it again after
its worker died) sends only a :class:`LostMessage`. :class:`ByeMessage` is the client's own:
it answers the client's last read when the attempt is over.

Plain dicts on the wire (typed here): Dask pickles them, and a client and a worker of
slightly different versions still read each other's.
"""

from __future__ import annotations

from typing import Literal, TypedDict

# An ``EndMessage.error`` starting with this: the CLI cannot be started on the worker.
CLAUDE_NOT_FOUND = "claude-not-found"


class TaskSpec(TypedDict):
    """One attempt at a chunk, as the worker needs it."""

    argv: list[str]  # the CLI's, as ClaudeRunner builds it; the prompt names the local root
    # The chunk's files as they are in the user's working tree (None: a shared root).
    files: dict[str, bytes] | None
    shared_root: str | None  # where the workers see the repository, when they do
    repo_key: str  # the repository's folder on workers
    archive_key: str  # the Dask key of the repository's archive (``--context repo``), or ""
    session_id: str
    session: bytes | None  # the session file, for ``--resume``
    timeout_s: float
    # The names of the attempt's distributed.Queue and distributed.Events.
    queue: str
    stop: str
    claimed: str


class StartMessage(TypedDict):
    k: Literal["start"]
    host: str  # the host's host:port, shown to the user
    address: str  # the Dask address of the worker process on that host
    root: str  # where the chunk's files are on the worker
    unpacked: bool  # this attempt unpacked the repository (``--context repo``)


class LinesMessage(TypedDict):
    k: Literal["lines"]
    lines: list[str]  # stdout lines of the CLI, without their newline


class SessionMessage(TypedDict):
    k: Literal["session"]
    id: str
    offset: int  # where ``data`` goes in the session file
    data: bytes  # complete lines only


class EndMessage(TypedDict):
    k: Literal["end"]
    exit: int | None
    stderr: str  # the tail of the CLI's stderr
    timed_out: bool
    stopped: str  # why the worker stopped the CLI, or ""
    error: str  # why the attempt could not run, or ""


class LostMessage(TypedDict):
    k: Literal["lost"]


class ByeMessage(TypedDict):
    k: Literal["bye"]


Message = StartMessage | LinesMessage | SessionMessage | EndMessage | LostMessage | ByeMessage


def queue_names(token: str) -> tuple[str, str, str]:
    """The names of an attempt's queue, stop event and claimed event."""
    prefix = f"claude-tui-{token}"
    return f"{prefix}-stream", f"{prefix}-stop", f"{prefix}-claimed"


def start_message(host: str, address: str, root: str, unpacked: bool) -> StartMessage:
    return {"k": "start", "host": host, "address": address, "root": root, "unpacked": unpacked}


def lines_message(lines: list[str]) -> LinesMessage:
    return {"k": "lines", "lines": lines}


def session_message(session_id: str, offset: int, data: bytes) -> SessionMessage:
    return {"k": "session", "id": session_id, "offset": offset, "data": data}


def end_message(
    exit_code: int | None = None,
    stderr: str = "",
    timed_out: bool = False,
    stopped: str = "",
    error: str = "",
) -> EndMessage:
    return {
        "k": "end",
        "exit": exit_code,
        "stderr": stderr,
        "timed_out": timed_out,
        "stopped": stopped,
        "error": error,
    }


def lost_message() -> LostMessage:
    return {"k": "lost"}


def bye_message() -> ByeMessage:
    return {"k": "bye"}
