"""Where a chunk's state changes: the queue, the worker pool, retries, and user commands.

The manager runs on one asyncio loop. At most ``workers`` chunks run at once (changeable
live, and cut down adaptively on rate limits); the queue is dispatched by priority, then
longest chunk first. Every change that matters is written to the checkpoint (coalesced for
progress, at once for new sessions and finished chunks). The headless display and the app
both drive it through the same methods and consume the same events.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from tui_orchestrator.engine.checkpoint import (
    Checkpoint,
    CheckpointStore,
    CheckpointWriter,
    ChunkState,
    ChunkStatus,
    file_hash,
)
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.errors import ClaudeNotFoundError, WriteError
from tui_orchestrator.engine.events import (
    ActivityChanged,
    ChunkFinished,
    ChunkPlaced,
    ChunkStarted,
    ChunkStatusChanged,
    Event,
    LogLine,
    Notice,
    PoolChanged,
    ProgressChanged,
    RunFinished,
    RunStarted,
    UsageChanged,
)
from tui_orchestrator.engine.findings import Finding, normalise_path, split_outside
from tui_orchestrator.engine.prompt import ask_prompt, first_prompt, resume_prompt
from tui_orchestrator.engine.runner import Job, Outcome, OutcomeKind, Runner, append_meta
from tui_orchestrator.engine.stream import (
    READ_TOOLS,
    AssistantText,
    Init,
    NonJson,
    Placed,
    RateLimitNotice,
    Result,
    StreamEvent,
    ToolResult,
    ToolUse,
    Unknown,
)

BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 60.0
# The pool's pause after a rate limit with no retry-after: doubles per limit in a row.
LIMIT_PAUSE_S = 1.0
PROBE_MAX_S = 60.0
# Starts are spread out a little so N processes never hit the API in one burst, and more
# while the pool recovers from a rate limit.
STAGGER_S = 0.15
RECOVERY_STAGGER_S = 0.5


@dataclass(slots=True)
class Runtime:
    """What the manager knows of a chunk beyond the checkpoint (not persisted)."""

    task: asyncio.Task[None] | None = None
    stop_reason: str = ""
    activity: str = ""
    started_at: float = 0.0
    not_before: float = 0.0
    failures: int = 0
    timeouts: int = 0
    fresh_restarts: int = 0
    detail: str = ""
    # Read/Grep/Glob calls waiting for their result: tool_use id -> chunk file.
    reading: dict[str, str] = field(default_factory=dict)
    # The API's retry-after, when the CLI reported one (api_retry events).
    retry_after_s: float | None = None


@dataclass(slots=True)
class RunSummary:
    reason: str
    done: int
    failed: int
    unfinished: int
    cost_usd: float
    wall_s: float
    run_s: float
    # Chunk -> its files whose contents changed while it was reviewed (this run).
    changed: dict[str, list[str]] = field(default_factory=dict)


class Manager:
    """Runs a checkpoint's chunks through a runner; see the module docstring."""

    def __init__(
        self,
        *,
        root: Path,
        checkpoint: Checkpoint,
        store: CheckpointStore,
        runner: Runner,
        config: Config,
        instructions: str,
        sizes: Mapping[str, int] | None = None,
        on_event: Callable[[Event], None] | None = None,
        logs_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        write_delay: float = 0.5,
    ) -> None:
        self.root = root
        self.cp = checkpoint
        self.store = store
        self.runner = runner
        self.config = config
        self.instructions = instructions
        self.sizes = dict(sizes or {})
        self.on_event = on_event
        self.logs_dir = logs_dir
        self.clock = clock
        self.writer = CheckpointWriter(
            store, self._snapshot, delay=write_delay, on_fault=self._save_fault
        )
        self.workers = config.workers
        self.concurrency = config.workers
        self.max_budget_usd = config.max_budget_usd
        self.runtime: dict[str, Runtime] = {c.name: Runtime() for c in checkpoint.chunks}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[RunSummary] | None = None
        self._wall_base = checkpoint.wall_s
        self._run_started: float | None = None
        self._fatal: Exception | None = None
        # Rate limits: the pool pauses until this time; consecutive limits raise the delay.
        self._pool_pause_until = 0.0
        self._limit_level = 0
        self._limited_since: float | None = None
        self._last_limit_at = float("-inf")
        # Below one worker the pool slows further by pacing starts: seconds between them.
        self._start_gap = 0.0
        self._successes_since_limit = 0
        self._next_start_at = 0.0
        # Circuit breaker for an unreachable API: closed, open or half-open.
        self.circuit = "closed"
        self._outage_since: float | None = None
        self._probe_at = 0.0
        self._probe_level = 0
        self._gave_up = ""
        self.budget_reached = False
        self.changed_files: dict[str, list[str]] = {}
        self.cp.max_budget_usd = self.max_budget_usd
        self.cp.backend = runner.backend

    # ----------------------------------------------------------------- events, state

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _snapshot(self) -> Checkpoint:
        if self._run_started is not None:
            self.cp.wall_s = self._wall_base + (self.clock() - self._run_started)
        return self.cp

    def state(self, name: str) -> ChunkState:
        return self.cp.chunk(name)

    def sync_chunks(self) -> None:
        """Follow a change of the checkpoint's chunk list (an edited plan was applied)."""
        for state in self.cp.chunks:
            self.runtime.setdefault(state.name, Runtime())
        self._write_soon()
        self._kick()

    @property
    def running(self) -> list[str]:
        return [n for n, rt in self.runtime.items() if rt.task is not None]

    @property
    def backoff_s(self) -> float:
        """Seconds left of the pool's rate-limit pause (0 when there is none)."""
        return max(0.0, self._pool_pause_until - self.clock())

    @property
    def spent_usd(self) -> float:
        return self.cp.cost_usd

    def _set_status(self, state: ChunkState, status: ChunkStatus, detail: str = "") -> None:
        state.status = status
        self.runtime[state.name].detail = detail
        self._emit(ChunkStatusChanged(state.name, status, detail))

    def _pool_changed(self) -> None:
        backoff = max(0.0, self._pool_pause_until - self.clock())
        self._emit(
            PoolChanged(
                running=len(self.running),
                concurrency=self.concurrency,
                workers=self.workers,
                backoff_s=backoff,
                circuit=self.circuit,
                budget_reached=self.budget_reached,
            )
        )

    async def _write_urgent(self) -> None:
        await self.writer.write_now()

    @property
    def save_fault(self) -> str:
        """Why the checkpoint cannot be saved ("disk full (...)"); "" while it can."""
        return self.writer.fault

    def _save_fault(self, why: str) -> None:
        """The checkpoint's writes failed (``why``) or work again (""): no chunk starts
        meanwhile, since a start must have its session id on disk; running ones go on and
        their results wait in memory for the next write that succeeds."""
        if not self.writer.saved_at:
            return  # the start itself fails with this (run)
        if why:
            self._emit(
                Notice(
                    "error",
                    f"{why}: the checkpoint cannot be saved; no new chunk starts until it can "
                    f"(running ones go on), trying again every {self.writer.retry_s:g}s",
                )
            )
        else:
            self._emit(Notice("info", "the checkpoint is saved again: new chunks start"))
            self._kick()
        self._pool_changed()

    def _write_soon(self) -> None:
        self.writer.changed()

    def _kick(self) -> None:
        self._wake.set()

    # ------------------------------------------------------------------- the run loop

    def start(self) -> asyncio.Task[RunSummary]:
        """Start the run loop if it is not running (the app calls this; idempotent)."""
        if self._loop_task is None or self._loop_task.done():
            self._stopping = False
            self._loop_task = asyncio.get_running_loop().create_task(self.run())
        self._kick()
        return self._loop_task

    @property
    def active(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def run(self) -> RunSummary:
        """Run until every chunk is finished, paused or blocked; returns a summary."""
        self._run_started = self.clock()
        started = self._run_started
        self._wall_base = self.cp.wall_s
        self.changed_files.clear()
        self._fatal = None  # a new start tries again (the disk may have room now)
        for state in self.cp.chunks:
            if state.status is ChunkStatus.RUNNING:
                # Left running by a process that died: resume it.
                state.status = ChunkStatus.PENDING
        pending = sum(c.status is ChunkStatus.PENDING for c in self.cp.chunks)
        # Written before the run is announced: a first write that fails (a full disk, a
        # read-only one) ends the start with one line, as any bad environment does.
        await self._write_urgent()
        if self.writer.fault and not self.writer.saved_at:
            self._fatal = WriteError(
                f"cannot write the checkpoint {self.store.path}: {self.writer.fault}"
            )
        else:
            self._emit(RunStarted(len(self.cp.chunks), pending, self.workers, self.runner.backend))
        reason = "done"
        try:
            while True:
                self._dispatch()
                if self._fatal is not None and not self.running:
                    raise self._fatal
                if self._gave_up and not self.running:
                    reason = self._gave_up
                    break
                if not self.running and not self._waiting_work():
                    if self._stopping:
                        reason = "stopped"
                    elif self.budget_reached and self._pending():
                        reason = "budget"
                    elif any(c.status is ChunkStatus.PAUSED for c in self.cp.chunks):
                        reason = "idle"
                    break
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._next_timer())
        finally:
            if self.budget_reached:
                for state in self._pending():
                    state.error = "budget"
            await self.writer.close()
            self._run_started = None
            if self.writer.fault and self.writer.saved_at:
                self._emit(
                    Notice(
                        "error",
                        f"the checkpoint could not be saved ({self.writer.fault}): "
                        f"{self.store.path} holds the run as of {self.writer.saved_at}; "
                        "the next run resumes from there",
                    )
                )
        summary = self.summary(reason, self.clock() - started)
        self._emit(RunFinished(reason, summary.done, summary.failed, summary.unfinished))
        return summary

    def summary(self, reason: str, run_s: float = 0.0) -> RunSummary:
        chunks = self.cp.chunks
        done = sum(c.status is ChunkStatus.DONE for c in chunks)
        failed = sum(c.status is ChunkStatus.FAILED for c in chunks)
        return RunSummary(
            reason=reason,
            done=done,
            failed=failed,
            unfinished=len(chunks) - done,
            cost_usd=self.cp.cost_usd,
            wall_s=self.cp.wall_s,
            run_s=run_s,
            changed=dict(self.changed_files),
        )

    def _pending(self) -> list[ChunkState]:
        return [
            c for c in self.cp.chunks
            if c.status is ChunkStatus.PENDING and self.runtime[c.name].task is None
        ]  # fmt: skip

    def _waiting_work(self) -> bool:
        """Is there queued work the loop should wait for (not blocked for good)?"""
        if self._stopping or self._gave_up or self._fatal is not None:
            return False
        if self.writer.fault:
            # The run's state is only in memory: wait for the disk (or a stop), don't end.
            return True
        if self.budget_reached:
            return False
        return bool(self._pending())

    def _next_timer(self) -> float:
        now = self.clock()
        times = [self._pool_pause_until, self._next_start_at]
        if self.circuit == "open":
            times.append(self._probe_at)
        times += [self.runtime[c.name].not_before for c in self._pending()]
        future = [t - now for t in times if t > now]
        return max(0.05, min([1.0, *future]))

    def _weight(self, state: ChunkState) -> tuple[int, int]:
        files = state.todo or state.files
        return (-state.priority, -sum(self.sizes.get(f, 0) for f in files))

    def _dispatch(self) -> None:
        """Start queued chunks while the pool has room (SPEC §4 manager)."""
        if self._stopping or self._gave_up or self._fatal is not None:
            return
        if self.writer.fault:
            return  # a start must have its session id on disk first
        now = self.clock()
        if self.max_budget_usd > 0 and self.spent_usd >= self.max_budget_usd:
            if not self.budget_reached:
                self.budget_reached = True
                self._emit(
                    Notice(
                        "warning",
                        f"budget of ${self.max_budget_usd:.2f} reached "
                        f"(${self.spent_usd:.2f} spent): no new chunk is started",
                    )
                )
                self._pool_changed()
            return
        if now < self._pool_pause_until:
            return
        if self.circuit == "open":
            if now < self._probe_at:
                return
            self.circuit = "half-open"
            self._emit(Notice("info", "probing whether the API is reachable again"))
            self._pool_changed()
        cap = 1 if self.circuit == "half-open" else min(self.concurrency, self.workers)
        queue = sorted(
            (c for c in self._pending() if self.runtime[c.name].not_before <= now),
            key=self._weight,
        )
        for state in queue:
            if len(self.running) >= cap:
                break
            if now < self._next_start_at:
                break
            self._start(state)
            recovering = self.concurrency < self.workers
            gap = RECOVERY_STAGGER_S if recovering else STAGGER_S
            self._next_start_at = now + max(gap, self._start_gap)

    def _start(self, state: ChunkState) -> None:
        rt = self.runtime[state.name]
        resume = bool(state.session_id)
        if not resume:
            state.session_id = str(uuid.uuid4())
        state.attempts += 1
        state.error = ""
        # Known once a remote executor places the attempt ("" = this machine).
        state.host = ""
        scope = state.todo or state.files
        if resume:
            left = [f for f in scope if f not in set(state.files_read)]
            prompt = resume_prompt(self.root, left)
        else:
            # A fresh session has read nothing of its scope; files outside it were
            # reviewed by an earlier run (incremental) and count as read.
            outside = [f for f in state.files if f not in set(scope)]
            state.files_read = outside
            left = list(scope)
            prompt = first_prompt(self.instructions, self.root, scope)
        budget = 0.0
        if self.max_budget_usd > 0:
            budget = max(0.01, self.max_budget_usd - self.spent_usd)
        job = Job(
            chunk=state.name,
            files=list(state.files),
            root=self.root,
            prompt=prompt,
            session_id=state.session_id,
            resume=resume,
            max_budget_usd=budget,
            timeout_s=self.config.chunk_timeout_s,
            log_path=self._log_path(state.name),
            attempt=state.attempts,
            todo=left,
        )
        rt.stop_reason = ""
        rt.activity = "starting"
        rt.started_at = self.clock()
        self._set_status(state, ChunkStatus.RUNNING, "resuming session" if resume else "")
        rt.task = asyncio.get_running_loop().create_task(self._work(state, job))
        self._pool_changed()

    def _log_path(self, name: str) -> Path | None:
        return None if self.logs_dir is None else self.logs_dir / f"{name}.jsonl"

    async def _work(self, state: ChunkState, job: Job) -> None:
        rt = self.runtime[state.name]
        outcome: Outcome | None = None
        try:
            # The session id is on disk before the process starts: a kill at any moment
            # can still resume it (SPEC §4).
            await self._write_urgent()
            if self.writer.fault:
                # Not on disk: a process started now could not be resumed after a kill.
                state.attempts -= 1
                if not job.resume:
                    state.session_id = ""  # never used: the next start is a fresh session
                self._set_status(state, ChunkStatus.PENDING, "waiting to save the checkpoint")
            else:
                outcome = await self._run_job(state, job)
        except asyncio.CancelledError:
            self._stopped(state, rt)
        except ClaudeNotFoundError as exc:
            self._fatal = exc
            self._set_status(state, ChunkStatus.PENDING)
        except Exception as exc:  # a bug in a backend must not take the pool down
            self._emit(LogLine(state.name, "error", f"internal error: {exc!r}"))
            outcome = Outcome(OutcomeKind.CRASH, stderr_tail=repr(exc))
        finally:
            state.elapsed_s += self.clock() - rt.started_at
            rt.task = None
            rt.activity = ""
        if outcome is not None:
            self._account(state, outcome)
            self._handle(state, rt, outcome)
        with contextlib.suppress(Exception):
            await asyncio.shield(self._write_urgent())
        self._pool_changed()
        self._kick()

    async def _run_job(self, state: ChunkState, job: Job) -> Outcome:
        # Workers get read-only tools, but a --claude-bin wrapper may not: hashes before
        # and after tell. Before: in a thread (up to 10 MB at the size cap; nothing runs
        # yet, so a cancel here loses nothing).
        before = await asyncio.to_thread(_hash_files, self.root, job.files)
        self._emit(ChunkStarted(state.name, state.attempts, state.session_id, job.resume))
        read = len(set(state.files_read) & set(state.files))
        self._emit(ProgressChanged(state.name, read, len(state.files)))
        outcome = await self.runner.run(job, lambda event: self._on_stream(state, event))
        # After: on the loop (0.7 ms for ten 50 kB files, 13 ms at the cap), since an
        # await here would let a stop or the loop's end overtake the finished result.
        self._check_unchanged(state, before)
        return outcome

    def _check_unchanged(self, state: ChunkState, before: Mapping[str, str]) -> None:
        changed = [f for f, digest in before.items() if file_hash(self.root / f) != digest]
        if not changed:
            return
        self.changed_files[state.name] = changed
        shown = ", ".join(changed[:10]) + (
            f" and {len(changed) - 10} more" if len(changed) > 10 else ""
        )
        text = (
            f"files changed while chunk {state.name} was reviewed: {shown} "
            "— a worker may have written them"
        )
        self._emit(LogLine(state.name, "error", text))
        append_meta(self._log_path(state.name), {"changed_files": changed})
        self._emit(Notice("warning", text))

    def _stopped(self, state: ChunkState, rt: Runtime) -> None:
        reason = rt.stop_reason or "shutdown"
        if reason == "cancel":
            state.error = "cancelled"
            self._set_status(state, ChunkStatus.CANCELLED)
            self._emit(ChunkFinished(state.name, ChunkStatus.CANCELLED, "cancelled", ()))
        else:
            self._set_status(state, ChunkStatus.PAUSED)
        self._emit(LogLine(state.name, "note", f"{reason}: process ended, session kept"))

    # ------------------------------------------------------------- stream handling

    def _on_stream(self, state: ChunkState, event: StreamEvent) -> None:
        name = state.name
        rt = self.runtime[name]
        if isinstance(event, Init):
            if event.session_id and event.session_id != state.session_id:
                state.session_id = event.session_id
                self.writer.urgent()  # a kill from now on must still find the session
        elif isinstance(event, ToolUse):
            target = normalise_path(event.target, self.root) if event.target else ""
            rt.activity = _activity(event.tool, target)
            self._emit(ActivityChanged(name, rt.activity))
            self._emit(LogLine(name, "tool", f"{event.tool} {target}".strip()))
            if event.tool in READ_TOOLS and target in state.files:
                rt.reading[event.tool_use_id] = target
        elif isinstance(event, AssistantText):
            if event.text.strip():
                self._emit(LogLine(name, "text", event.text.strip()))
        elif isinstance(event, ToolResult):
            target = rt.reading.pop(event.tool_use_id, "")
            if event.is_error:
                self._emit(LogLine(name, "error", event.preview))
            elif target and target not in state.files_read:
                # A file counts as read once its contents came back (progress, resume).
                state.files_read.append(target)
                read = len(set(state.files_read) & set(state.files))
                self._emit(ProgressChanged(name, read, len(state.files)))
                self._write_soon()
        elif isinstance(event, Result):
            verdict = "error" if event.is_error else "done"
            self._emit(LogLine(name, "note", f"result: {verdict} ({event.subtype})"))
            if event.bad_numbers:
                bad = ", ".join(event.bad_numbers)
                self._emit(LogLine(name, "error", f"bad numbers in the result, counted 0: {bad}"))
        elif isinstance(event, RateLimitNotice):
            self._throttled(state, rt, event)
        elif isinstance(event, Unknown):
            self._emit(LogLine(name, "note", f"(event {event.type})"))
        elif isinstance(event, NonJson):
            self._emit(LogLine(name, "note", event.text[:200]))
        elif isinstance(event, Placed):
            state.host = event.host
            self._emit(ChunkPlaced(name, event.host))
            self._emit(LogLine(name, "note", f"running on {event.host}"))
            self._write_soon()

    def _account(self, state: ChunkState, outcome: Outcome) -> None:
        result = outcome.result
        if result is None:
            return
        state.cost_usd += result.total_cost_usd
        state.input_tokens += result.input_tokens
        state.output_tokens += result.output_tokens
        if result.session_id and outcome.kind is not OutcomeKind.SESSION_MISSING:
            state.session_id = result.session_id
        self._emit(UsageChanged(state.name, state.cost_usd, state.tokens, self.cp.cost_usd))

    # ------------------------------------------------------------------- outcomes

    def _handle(self, state: ChunkState, rt: Runtime, outcome: Outcome) -> None:
        """The failure matrix of SPEC §4: what each outcome does to the chunk and the pool."""
        kind = outcome.kind
        name = state.name
        now = self.clock()
        if kind is not OutcomeKind.OUTAGE:
            self._outage_recovered()
        if kind is OutcomeKind.OK:
            self._finish_done(state, outcome)
            self._rate_recovered()
            return
        if kind is OutcomeKind.RATE_LIMITED:
            self._rate_limited(state, rt, outcome, now)
            return
        if kind is OutcomeKind.OUTAGE:
            self._outage(state, rt, outcome, now)
            return
        if kind in (OutcomeKind.SESSION_MISSING, OutcomeKind.SESSION_IN_USE):
            rt.fresh_restarts += 1
            if rt.fresh_restarts > 3:
                self._finish_failed(state, outcome.message)
                return
            # The session was never written (or its id is taken): start afresh, new id.
            self._emit(LogLine(name, "note", f"{kind.value}: starting a fresh session"))
            state.session_id = ""
            self._set_status(state, ChunkStatus.PENDING, "restarting")
            return
        if kind is OutcomeKind.TIMEOUT:
            rt.timeouts += 1
            if rt.timeouts <= 1:
                self._emit(Notice("warning", f"{name}: timed out; retrying once (resuming)"))
                self._set_status(state, ChunkStatus.PENDING, "retrying after timeout")
            else:
                self._finish_failed(state, "timeout")
            return
        if kind in (OutcomeKind.CRASH, OutcomeKind.TRANSIENT):
            rt.failures += 1
            limit = self.config.max_attempts
            if rt.failures < limit:
                detail = f"retrying {rt.failures + 1}/{limit}"
                self._emit(LogLine(name, "error", f"{kind.value}: {outcome.message}; {detail}"))
                rt.not_before = now + min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (rt.failures - 1))
                self._set_status(state, ChunkStatus.PENDING, detail)
            else:
                self._finish_failed(state, f"{kind.value}: {outcome.message}")
            return
        if kind is OutcomeKind.PARSE_ERROR:
            self._emit(LogLine(name, "error", "no findings could be parsed from the answer"))
            self._finish_failed(state, "parse error")
            return
        if kind is OutcomeKind.MAX_TURNS:
            self._finish_failed(state, "incomplete")
            return
        if kind is OutcomeKind.BUDGET:
            self._finish_failed(state, "budget")
            return
        self._finish_failed(state, outcome.message or "failed")

    def _finish_done(self, state: ChunkState, outcome: Outcome) -> None:
        scope = set(state.todo or state.files)
        kept = [f for f in state.issues if f.file not in scope]
        found = [
            f if f.chunk == state.name else _with_chunk(f, state.name)
            for f in self._inside_repo(state, outcome.findings or [])
        ]
        state.issues = kept + found
        state.hashes = {f: file_hash(self.root / f) for f in state.files}
        state.todo = []
        state.files_read = list(state.files)
        state.error = ""
        self._set_status(state, ChunkStatus.DONE)
        self._emit(ProgressChanged(state.name, len(state.files), len(state.files)))
        self._emit(ChunkFinished(state.name, ChunkStatus.DONE, "", tuple(found)))

    def _inside_repo(self, state: ChunkState, findings: list[Finding]) -> list[Finding]:
        """The findings about the repository's files; the chunk's log counts the others."""
        inside, outside = split_outside(findings)
        if outside:
            files = sorted({f.file for f in outside})
            text = f"dropped {len(outside)} finding(s) outside the repository: {', '.join(files)}"
            self._emit(LogLine(state.name, "note", text))
            append_meta(self._log_path(state.name), {"outside_repo": len(outside), "files": files})
        return inside

    def _finish_failed(self, state: ChunkState, error: str) -> None:
        state.error = error
        self._set_status(state, ChunkStatus.FAILED)
        self._emit(LogLine(state.name, "error", f"failed: {error}"))
        self._emit(ChunkFinished(state.name, ChunkStatus.FAILED, error, ()))

    def _rate_limited(self, state: ChunkState, rt: Runtime, outcome: Outcome, now: float) -> None:
        if self._limited_since is None:
            self._limited_since = now
        if now - self._limited_since > self.config.patience_s:
            self._finish_failed(state, "rate limited")
            return
        retry_after = outcome.retry_after_s or rt.retry_after_s
        rt.retry_after_s = None
        delay = self._slow_pool(rt, retry_after, now)
        rt.not_before = self._pool_pause_until
        self._set_status(state, ChunkStatus.PENDING, f"backing off {delay:.0f}s")
        self._emit(
            Notice(
                "warning",
                f"rate limited ({outcome.message[:80]}): pool paused {delay:.0f}s, "
                f"{self.concurrency} of {self.workers} workers",
            )
        )
        self._pool_changed()

    def _slow_pool(self, rt: Runtime, retry_after: float | None, now: float) -> float:
        """One limit slows the whole pool; returns how long new starts now wait.

        Half the workers (multiplicative decrease), and nobody starts before the pause
        ends; at one worker, starts are paced. A process that was already in flight when
        the pool slowed down meets the same storm, not a new one: it neither doubles the
        pause nor halves the pool again (only a longer retry-after extends the pause).
        """
        if rt.started_at < self._last_limit_at:
            if retry_after is not None:
                self._pool_pause_until = max(self._pool_pause_until, now + retry_after)
            return max(0.0, self._pool_pause_until - now)
        if retry_after is None:
            # Exponential in the limits met in a row: a success resets it.
            retry_after = LIMIT_PAUSE_S * 2**self._limit_level
        delay = min(BACKOFF_MAX_S, retry_after) * random.uniform(1.0, 1.25)
        self._limit_level = min(self._limit_level + 1, 6)
        self._successes_since_limit = 0
        self._last_limit_at = now
        if self.concurrency == 1:
            self._start_gap = min(BACKOFF_MAX_S, max(1.0, self._start_gap * 1.5))
        self.concurrency = max(1, min(self.concurrency, len(self.running) + 1) // 2)
        self._pool_pause_until = max(self._pool_pause_until, now + delay)
        return delay

    def _throttled(self, state: ChunkState, rt: Runtime, event: RateLimitNotice) -> None:
        """The CLI met a 429/529 mid-chunk and retries it itself: the chunk runs on, but
        the pool slows down as for a limit, before the other workers meet it too."""
        if event.retry_after_s is not None:
            rt.retry_after_s = event.retry_after_s
        if not event.limited:
            self._emit(LogLine(state.name, "note", "rate limit status from the API"))
            return
        now = self.clock()
        delay = self._slow_pool(rt, event.retry_after_s, now)
        self._emit(LogLine(state.name, "note", "the API is throttling; the CLI retries"))
        if self._last_limit_at == now:
            # A new storm (the CLI says so at each of its retries: one notice is enough).
            self._emit(
                Notice(
                    "warning",
                    f"rate limited ({state.name}, its CLI retries): new starts wait "
                    f"{delay:.0f}s, {self.concurrency} of {self.workers} workers",
                )
            )
        self._pool_changed()

    def _rate_recovered(self) -> None:
        self._limited_since = None
        self._limit_level = 0
        if self._start_gap > 0:
            # Pacing eases off first; only then does the pool grow again.
            self._start_gap *= 0.95
            if self._start_gap < 0.2:
                self._start_gap = 0.0
            return
        if self.concurrency < self.workers:
            self._successes_since_limit += 1
            # Additive increase: one more worker after a round of successes.
            if self._successes_since_limit >= self.concurrency:
                self.concurrency += 1
                self._successes_since_limit = 0
                self._pool_changed()

    def _outage(self, state: ChunkState, rt: Runtime, outcome: Outcome, now: float) -> None:
        if self._outage_since is None:
            self._outage_since = now
        self._set_status(state, ChunkStatus.PENDING, "waiting for the API")
        if now - self._outage_since > self.config.patience_s:
            if not self._gave_up:
                self._gave_up = "outage"
                self._emit(
                    Notice(
                        "error",
                        f"the API has been unreachable for {now - self._outage_since:.0f}s: "
                        "stopping; every chunk is resumable",
                    )
                )
            return
        delay = min(PROBE_MAX_S, BACKOFF_BASE_S * 2**self._probe_level) * random.uniform(1.0, 1.2)
        self._probe_level = min(self._probe_level + 1, 8)
        opened = self.circuit != "open"
        self.circuit = "open"
        self._probe_at = now + delay
        if opened:
            self._emit(
                Notice("error", f"API unreachable ({outcome.message[:80]}): dispatch paused")
            )
        self._pool_changed()

    def _outage_recovered(self) -> None:
        if self.circuit != "closed" or self._outage_since is not None:
            self.circuit = "closed"
            self._outage_since = None
            self._probe_level = 0
            self._emit(Notice("info", "the API answers again: dispatch resumed"))
            self._pool_changed()

    # --------------------------------------------------------------- user commands

    def _stop_task(self, name: str, reason: str) -> bool:
        rt = self.runtime[name]
        if rt.task is None:
            return False
        rt.stop_reason = reason
        rt.task.cancel()
        return True

    def pause(self, name: str) -> None:
        """Stop the chunk's process within a second; it keeps its session and progress."""
        state = self.state(name)
        if not self._stop_task(name, "pause") and state.status is ChunkStatus.PENDING:
            self._set_status(state, ChunkStatus.PAUSED)
            self._write_soon()

    def resume(self, name: str) -> None:
        """A paused chunk goes back to the queue; its session continues with --resume."""
        state = self.state(name)
        if state.status is ChunkStatus.PAUSED:
            self._set_status(state, ChunkStatus.PENDING, "queued")
            self._write_soon()
            self._kick()

    def cancel(self, name: str) -> None:
        state = self.state(name)
        if not self._stop_task(name, "cancel") and state.status in (
            ChunkStatus.PENDING,
            ChunkStatus.PAUSED,
        ):
            state.error = "cancelled"
            self._set_status(state, ChunkStatus.CANCELLED)
            self._emit(ChunkFinished(name, ChunkStatus.CANCELLED, "cancelled", ()))
            self.writer.urgent()

    def retry(self, name: str) -> None:
        """A failed, cancelled or paused chunk is queued again (resuming its session)."""
        state = self.state(name)
        if state.status in (ChunkStatus.FAILED, ChunkStatus.CANCELLED, ChunkStatus.PAUSED):
            self._queue_again(state)

    def review_again(self, name: str) -> None:
        """A done chunk is queued for a whole new review, in a fresh session.

        Its findings stay until the new review finishes, which replaces them (a review
        cancelled half-way keeps the old ones).
        """
        state = self.state(name)
        if state.status is not ChunkStatus.DONE:
            raise ValueError(f"chunk {name!r} is {state.status.value}, not done")
        state.todo = []
        state.session_id = ""
        state.files_read = []
        self._queue_again(state)

    def _queue_again(self, state: ChunkState) -> None:
        """Back to the queue with a clean slate of failures (retry, review again)."""
        rt = self.runtime[state.name]
        rt.failures = rt.timeouts = rt.fresh_restarts = 0
        rt.not_before = 0.0
        state.error = ""
        self._set_status(state, ChunkStatus.PENDING, "queued")
        self._write_soon()
        self._kick()

    def pause_all(self) -> None:
        for state in self.cp.chunks:
            if state.status in (ChunkStatus.RUNNING, ChunkStatus.PENDING):
                self.pause(state.name)

    def resume_all(self) -> None:
        for state in self.cp.chunks:
            if state.status is ChunkStatus.PAUSED:
                self.resume(state.name)

    def set_workers(self, n: int) -> None:
        """Change the number of workers live; running chunks are never killed for it."""
        n = max(1, n)
        grow = n > self.workers
        self.workers = n
        if grow and self._limited_since is None:
            self.concurrency = n
        self.concurrency = min(self.concurrency, n) if not grow else self.concurrency
        self._pool_changed()
        self._kick()

    async def ask(self, name: str, question: str) -> str:
        """A follow-up question in the chunk's session; the answer also goes to its log."""
        state = self.state(name)
        if not state.session_id:
            raise ValueError(f"chunk {name!r} has no session yet: run it first")
        running = self.runtime[name].task is not None
        job = Job(
            chunk=name,
            files=list(state.files),
            root=self.root,
            prompt=ask_prompt(question),
            session_id=state.session_id,
            resume=True,
            structured=False,
            fork=running,
            timeout_s=self.config.chunk_timeout_s,
            log_path=self._log_path(name),
            attempt=state.attempts,
        )
        self._emit(LogLine(name, "answer", f"? {question.strip()}"))
        parts: list[str] = []

        def collect(event: StreamEvent) -> None:
            if isinstance(event, AssistantText) and event.text.strip():
                parts.append(event.text.strip())
                self._emit(LogLine(name, "answer", event.text.strip()))

        outcome = await self.runner.run(job, collect)
        self._account(state, outcome)
        self._write_soon()
        if outcome.kind is not OutcomeKind.OK:
            message = f"the question failed: {outcome.message}"
            self._emit(LogLine(name, "error", message))
            return message
        answer = (outcome.result.result if outcome.result else "") or "\n".join(parts)
        return answer

    async def stop(self) -> None:
        """Pause every running worker (sessions kept), end the loop, write the checkpoint."""
        self._stopping = True
        tasks = []
        for rt in self.runtime.values():
            if rt.task is not None:
                rt.stop_reason = rt.stop_reason or "shutdown"
                rt.task.cancel()
                tasks.append(rt.task)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._kick()
        if self._loop_task is not None and not self._loop_task.done():
            with contextlib.suppress(Exception):
                await self._loop_task
        else:
            # close, not write_now: a failed write must leave no retry behind the run.
            await self.writer.close()


def _activity(tool: str, target: str) -> str:
    if tool == "Read":
        return f"Reading {target}"
    if tool == "Grep":
        return f"Searching {target}"
    if tool == "Glob":
        return f"Listing {target}"
    if tool == "StructuredOutput":
        return "Reporting findings"
    return f"{tool} {target}".strip()


def _hash_files(root: Path, files: list[str]) -> dict[str, str]:
    return {f: file_hash(root / f) for f in files}


def _with_chunk(finding: Finding, chunk: str) -> Finding:
    return replace(finding, chunk=chunk)
