"""Where a worker process is started: one Claude Code CLI process per chunk attempt.

The process runs with an argv list (never a shell), standard input closed and read-only
tools (``--tools Read,Grep,Glob``); how it is started, read and stopped, and how nothing it
starts outlives it, is :mod:`~tui_orchestrator.engine.cli_process`. Each stdout line is
parsed into a stream event and handed to the caller; the raw stream is appended to the
chunk's log. The outcome is judged by the result line (``is_error``, ``api_error_status``),
not by the exit code alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, ClassVar

from tui_orchestrator.engine.cli_process import CliProcess
from tui_orchestrator.engine.errors import ClaudeNotFoundError
from tui_orchestrator.engine.findings import FINDINGS_SCHEMA, Finding, parse_result_findings
from tui_orchestrator.engine.stream import Result, StreamEvent, parse_line
from tui_orchestrator.engine.usage_limit import is_usage_text
from tui_orchestrator.engine.verify import VERDICTS_SCHEMA, FindingVerdict, parse_result_verdicts

READ_ONLY_TOOLS = "Read,Grep,Glob"


class OutcomeKind(StrEnum):
    OK = "ok"
    PARSE_ERROR = "parse error"
    RATE_LIMITED = "rate limited"
    USAGE_LIMIT = "usage limit"  # a subscription's window is used up until a reset time
    OUTAGE = "outage"
    TRANSIENT = "transient"
    CRASH = "crash"
    TIMEOUT = "timeout"
    SESSION_MISSING = "session missing"
    SESSION_IN_USE = "session in use"
    MAX_TURNS = "max turns"
    BUDGET = "budget"
    FAILED = "failed"


@dataclass(slots=True)
class Job:
    """One attempt at a chunk (or a follow-up question in its session)."""

    chunk: str
    files: list[str]
    root: Path
    prompt: str
    session_id: str
    resume: bool = False
    structured: bool = True
    max_budget_usd: float = 0.0
    timeout_s: float = 900.0
    log_path: Path | None = None
    fork: bool = False
    attempt: int = 1
    # The files this attempt reviews (all of ``files`` unless resumed or incremental).
    todo: list[str] | None = None
    # A verification (verify.py): its answer is verdicts, not findings.
    verify: bool = False


@dataclass(slots=True)
class Outcome:
    kind: OutcomeKind
    result: Result | None = None
    exit_code: int | None = None
    stderr_tail: str = ""
    findings: list[Finding] | None = None
    retry_after_s: float | None = None
    # A verification's verdicts by the prompt's ids.
    verdicts: dict[str, FindingVerdict] | None = None

    @property
    def message(self) -> str:
        """The CLI's own words about what went wrong, one line."""
        if self.result is not None and self.result.is_error:
            text = self.result.result or "; ".join(self.result.errors) or self.result.subtype
        elif self.stderr_tail.strip():
            text = self.stderr_tail.strip().splitlines()[-1]
        else:
            text = f"exit code {self.exit_code}" if self.exit_code else self.kind.value
        return text.strip()[:300]


Emit = Callable[[StreamEvent], None]


class Runner(ABC):
    """What the manager needs from a backend: run one job, reporting stream events.

    A backend subclasses it and overrides what it has; the optional features are declared
    here with their defaults, so nobody probes for them.
    """

    # What the checkpoint and the reports name: "claude", or "demo" (simulated agents).
    backend: ClassVar[str] = "claude"
    # Its Claude Code processes run on this machine: their memory caps the chunk workers.
    local_processes: ClassVar[bool] = True
    # One line about where chunks run (a Dask cluster), said before the run; "" for none.
    cluster: str = ""

    @abstractmethod
    async def run(self, job: Job, emit: Emit) -> Outcome:
        """Run one job, handing each stream event to ``emit``; how it ended."""

    def prepare(self, root: Path) -> str:
        """Make the repository ready for a run (a Dask cluster's archive of it); a note for
        the user, or ""."""
        return ""

    async def aclose(self) -> None:
        """Let go of what it holds on the event loop (a Dask scheduler's connection); most
        backends hold nothing."""
        return None


def find_claude(claude_bin: str) -> str:
    """``--claude-bin`` > ``$CLAUDE_TUI_CLAUDE_BIN`` (both already in the config) > PATH."""
    if claude_bin:
        path = Path(claude_bin).expanduser()
        if os.sep not in claude_bin and not path.exists():
            found = shutil.which(claude_bin)
            if found:
                return found
        if not path.exists():
            raise ClaudeNotFoundError(f"Claude Code executable not found: {claude_bin}")
        if path.is_dir() or not os.access(path, os.X_OK):
            raise ClaudeNotFoundError(f"Claude Code executable is not executable: {claude_bin}")
        # Absolute: the workers start in the repository, not where the user typed the path.
        return str(path.resolve())
    found = shutil.which("claude")
    if not found:
        raise ClaudeNotFoundError(
            "Claude Code not found: install it (npm install -g @anthropic-ai/claude-code), "
            "give --claude-bin PATH, or try the simulated agents with --demo"
        )
    return found


def classify(result: Result | None, exit_code: int | None, stderr: str) -> OutcomeKind:
    """What a finished process means for its chunk (docs/engine.md §4, docs/claude-code.md §4)."""
    if result is None:
        if "No conversation found" in stderr:
            return OutcomeKind.SESSION_MISSING
        if "already in use" in stderr:
            return OutcomeKind.SESSION_IN_USE
        return OutcomeKind.CRASH
    if not result.is_error:
        return OutcomeKind.OK
    text = f"{result.result} {' '.join(result.errors)}"
    status = result.api_error_status
    if status == 429 and is_usage_text(text):
        return OutcomeKind.USAGE_LIMIT
    if status in (429, 529) or result.api_error_type in ("rate_limit_error", "overloaded_error"):
        return OutcomeKind.RATE_LIMITED
    if "No conversation found" in text or "No conversation found" in stderr:
        return OutcomeKind.SESSION_MISSING
    if result.subtype == "error_max_structured_output_retries":
        return OutcomeKind.PARSE_ERROR
    if result.subtype == "error_max_turns":
        return OutcomeKind.MAX_TURNS
    if result.subtype == "error_max_budget_usd":
        return OutcomeKind.BUDGET
    lowered = text.lower()
    if any(
        marker in lowered
        for marker in ("unable to connect", "connectionrefused", "econnrefused", "enotfound",
                       "connection error", "fetch failed", "network error")
    ):  # fmt: skip
        return OutcomeKind.OUTAGE
    if "empty or malformed response" in lowered or (status is not None and status >= 500):
        return OutcomeKind.TRANSIENT
    if status == 408 or "timed out" in lowered or "timeout" in lowered:
        return OutcomeKind.TRANSIENT
    return OutcomeKind.FAILED


class ClaudeRunner(Runner):
    """Runs the real Claude Code CLI."""

    backend = "claude"

    def __init__(
        self,
        claude_bin: str,
        model: str = "",
        max_turns: int = 0,
        bare: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.claude_bin = claude_bin
        self.model = model
        self.max_turns = max_turns
        self.bare = bare
        # None: the worker inherits claude-tui's environment unchanged.
        self.env = env

    def argv(self, job: Job) -> list[str]:
        args = [self.claude_bin, "-p", job.prompt, "--output-format", "stream-json", "--verbose"]
        args += ["--tools", READ_ONLY_TOOLS]
        if job.resume:
            args += ["--resume", job.session_id]
            if job.fork:
                args.append("--fork-session")
        else:
            args += ["--session-id", job.session_id]
        if job.structured:
            schema = VERDICTS_SCHEMA if job.verify else FINDINGS_SCHEMA
            args += ["--json-schema", json.dumps(schema, separators=(",", ":"))]
        if self.model:
            args += ["--model", self.model]
        if self.max_turns:
            args += ["--max-turns", str(self.max_turns)]
        if job.max_budget_usd > 0:
            args += ["--max-budget-usd", f"{job.max_budget_usd:.4f}"]
        if self.bare:
            args.append("--bare")
        return args

    async def run(self, job: Job, emit: Emit) -> Outcome:
        argv = self.argv(job)
        log = open_log(job, argv)
        try:
            proc = await CliProcess.start(argv, job.root, self.env)
        except OSError as exc:
            if log:
                log.close()
            raise ClaudeNotFoundError(f"cannot start {self.claude_bin}: {exc.strerror}") from None
        result: Result | None = None
        timed_out = False
        try:
            try:
                async with asyncio.timeout(job.timeout_s):
                    while raw := await proc.readline():
                        if log:
                            log.write(raw)
                        for event in parse_line(raw.decode("utf-8", "replace")):
                            if isinstance(event, Result):
                                result = event
                            emit(event)
                    await proc.wait()
            except TimeoutError:
                timed_out = True
                await proc.stop()
            ended = await proc.finish()
        except BaseException:
            # Paused, cancelled or shutting down: the process must not outlive the request.
            await proc.stop()
            if log:
                log.close()
            raise
        if ended.start_error:
            if log:
                log.close()
            raise ClaudeNotFoundError(f"cannot start {self.claude_bin}: {ended.start_error}")
        stderr = ended.stderr
        if log:
            if proc.stdout_held:
                # A process the CLI left behind kept its stdout open: the result was taken
                # without waiting for it.
                log.write(meta_line({"stdout_held": True}))
            if stderr.strip():
                log.write(meta_line({"stderr": stderr[-1000:]}))
            log.write(meta_line({"exit": ended.code, "timed_out": timed_out}))
            log.close()
        return outcome_of(job, result, ended.code, stderr, timed_out)


def outcome_of(
    job: Job,
    result: Result | None,
    exit_code: int | None,
    stderr: str,
    timed_out: bool = False,
    root: Path | None = None,
) -> Outcome:
    """Judge a finished process by its result line; parse the findings of a success.

    ``root`` is the folder the process ran in (the job's root unless it ran elsewhere, on
    a Dask worker): absolute paths in the findings are made relative to it.
    """
    if timed_out:
        return Outcome(OutcomeKind.TIMEOUT, result, exit_code, stderr)
    kind = classify(result, exit_code, stderr)
    outcome = Outcome(kind, result, exit_code, stderr)
    if kind is OutcomeKind.OK and job.verify and result is not None:
        outcome.verdicts = parse_result_verdicts(result.structured_output, result.result)
        if outcome.verdicts is None:
            outcome.kind = OutcomeKind.PARSE_ERROR
    elif kind is OutcomeKind.OK and job.structured and result is not None:
        outcome.findings = parse_result_findings(
            result.structured_output, result.result, root or job.root, job.chunk
        )
        if outcome.findings is None:
            outcome.kind = OutcomeKind.PARSE_ERROR
    return outcome


def meta_line(data: dict[str, object]) -> bytes:
    """A line of claude-tui's own in a chunk's log (attempt headers, exit codes, stderr)."""
    payload = {"type": "claude-tui", "time": round(time.time(), 3), **data}
    return (json.dumps(payload) + "\n").encode()


def append_meta(log_path: Path | None, data: dict[str, object]) -> None:
    """Add a line of claude-tui's own to a chunk's log once its process has ended."""
    if log_path is None:
        return
    # A log that cannot be written loses a note, never the chunk's result.
    with contextlib.suppress(OSError):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as handle:
            handle.write(meta_line(data))


class ChunkLog:
    """A chunk's log file whose faults never fail the chunk: on a full disk the log stops
    and the worker goes on (its result is in memory, and in the checkpoint once it can be
    written)."""

    __slots__ = ("_handle",)

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle: IO[bytes] | None = handle

    def write(self, data: bytes) -> None:
        if self._handle is None:
            return
        try:
            self._handle.write(data)
        except OSError:
            self.close()

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()


def open_log(job: Job, argv: list[str]) -> ChunkLog | None:
    """The chunk's raw stream log, appended across attempts, with a header per attempt."""
    if job.log_path is None:
        return None
    try:
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(job.log_path, "ab")  # noqa: SIM115 - closed by the runner
    except OSError:
        return None  # no log (a full or read-only disk) is no reason to fail the chunk
    log = ChunkLog(handle)
    shown = [a if len(a) < 200 else a[:60] + "…" for a in argv]
    log.write(meta_line({"attempt": job.attempt, "session_id": job.session_id, "argv": shown}))
    return log
