"""The run as the screens read it: frozen snapshots of a chunk and of the whole run.

The app and the headless display never read the manager's working state (its task
handles, its checkpoint object, its English); they read these views, which the manager
builds on request and the events carry. A view is a value: comparing two says whether
anything visible changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum

from tui_orchestrator.engine.checkpoint import Checkpoint, ChunkState, ChunkStatus
from tui_orchestrator.engine.pool import Circuit, PoolState
from tui_orchestrator.engine.usage_limit import UsageLimit
from tui_orchestrator.engine.wording import format_seconds


class RunEnd(StrEnum):
    DONE = "done"  # nothing left to run
    IDLE = "idle"  # what is left is paused by the user
    STOPPED = "stopped"  # the user stopped the run (quit, Ctrl+C)
    BUDGET = "budget"  # the budget is spent
    OUTAGE = "outage"  # the API was unreachable for longer than the patience
    USAGE_LIMIT = "usage limit"  # a usage limit resets later than the longest wait allowed
    ERROR = "error"  # the run could not go on (Claude Code missing, checkpoint unwritable)


class Waiting(StrEnum):
    """Why a queued chunk has not started (and what its numbers in ``ChunkView`` mean)."""

    NONE = "none"  # not queued again: a first start, running, or finished
    QUEUED = "queued"  # queued again by the user (retry, resume)
    BACKOFF = "backoff"  # a rate limit paused the pool: ``wait_s`` left
    RETRY = "retry"  # after a crash: try ``retry`` of ``retries`` in ``wait_s``
    TIMEOUT = "timeout"  # timed out once: one more try, resuming
    OUTAGE = "outage"  # the API is unreachable
    RESTART = "restart"  # its session was missing or in use: a fresh one next
    DISK = "disk"  # the checkpoint must be saved before it may start
    USAGE = "usage"  # a usage limit: the pool waits for its reset (``wait_s`` left)


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
    waiting: Waiting = Waiting.NONE
    resumed: bool = False  # running in a resumed session
    # The API's retry-after, when the CLI reported one (api_retry events).
    retry_after_s: float | None = None
    # What the running attempt has spent so far by its messages (until its result).
    live_tokens: int = 0
    live_cost_usd: float = 0.0
    # Model requests the API answered for the chunk's session, over its resumed tries too
    # (the pool's pacing: requests a chunk makes).
    requests: int = 0
    # The next start is a new try (a crash, a timeout, the user's retry), not a resume.
    retrying: bool = False
    # The running attempt continues a session the user or a shutdown interrupted.
    counted_resume: bool = False
    # The usage limit the running attempt met (its rate_limit_event), if any.
    usage: UsageLimit | None = None
    # The running attempt read a file of the chunk no earlier attempt had read.
    progressed: bool = False
    # Tries after a transient fault that got further: they count against no attempt.
    progress_retries: int = 0


@dataclass(frozen=True, slots=True)
class ChunkView:
    """One chunk as a panel, the zoomed log or the headless display shows it."""

    name: str
    status: ChunkStatus
    files: int
    files_read: int
    elapsed_s: float
    tokens: int
    cost_usd: float
    attempts: int
    issues: int
    # Of the attempts, those that continued an interrupted session (pause, rate limit,
    # restart): not tries of their own.
    resumes: int = 0
    # The cost includes the running attempt's estimate (its result not in yet).
    cost_estimated: bool = False
    session_id: str = ""
    host: str = ""
    error: str = ""
    activity: str = ""
    waiting: Waiting = Waiting.NONE
    wait_s: float = 0.0
    retry: int = 0
    retries: int = 0
    resumed: bool = False
    at_work: bool = False  # a process (or its start) is under way
    # A verification's verdicts in words, told where a review tells its findings.
    verdicts: str = ""

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def tries(self) -> int:
        """Attempts that were tries of their own (the first, and one after each failure)."""
        return max(1, self.attempts - self.resumes) if self.attempts else 0

    @property
    def started(self) -> bool:
        """Was it ever started (a session, an attempt)?"""
        return bool(self.session_id or self.attempts)

    @property
    def detail(self) -> str:
        """Why it waits, in a few words ("" when it does not)."""
        match self.waiting:
            case Waiting.QUEUED:
                return "queued"
            case Waiting.BACKOFF:
                return f"backing off {self.wait_s:.0f}s"
            case Waiting.RETRY:
                return f"retrying {self.retry}/{self.retries}"
            case Waiting.TIMEOUT:
                return "retrying after timeout"
            case Waiting.OUTAGE:
                return "waiting for the API"
            case Waiting.RESTART:
                return "restarting"
            case Waiting.DISK:
                return "waiting to save the checkpoint"
            case Waiting.USAGE:
                return f"usage limit: resumes in {format_seconds(self.wait_s)}"
        return ""


def chunk_view(state: ChunkState, runtime: Runtime, now: float, retries: int) -> ChunkView:
    """``state`` and its runtime at monotonic time ``now`` (``retries``: the tries a
    crashing chunk gets)."""
    elapsed = state.elapsed_s
    if runtime.task is not None:
        elapsed += max(0.0, now - runtime.started_at)
    done = state.status is ChunkStatus.DONE
    files = set(state.files)
    return ChunkView(
        name=state.name,
        status=state.status,
        files=len(state.files),
        files_read=len(files) if done else len(files.intersection(state.files_read)),
        elapsed_s=elapsed,
        tokens=state.tokens + runtime.live_tokens,
        cost_usd=state.cost_usd + runtime.live_cost_usd,
        attempts=state.attempts,
        issues=len(state.issues),
        resumes=state.resumes,
        cost_estimated=runtime.live_tokens > 0,
        session_id=state.session_id,
        host=state.host,
        error=state.error,
        activity=runtime.activity,
        waiting=runtime.waiting if state.status is ChunkStatus.PENDING else Waiting.NONE,
        wait_s=max(0.0, runtime.not_before - now),
        retry=runtime.failures + 1,
        retries=retries,
        resumed=runtime.resumed and state.status is ChunkStatus.RUNNING,
        at_work=runtime.task is not None,
    )


@dataclass(frozen=True, slots=True)
class Tally:
    """How many chunks are in each status."""

    total: int = 0
    counts: dict[ChunkStatus, int] = field(default_factory=dict)

    def __getitem__(self, status: ChunkStatus) -> int:
        return self.counts.get(status, 0)

    @property
    def unfinished(self) -> int:
        return self.total - self[ChunkStatus.DONE]


def tally(chunks: list[ChunkState]) -> Tally:
    counts: dict[ChunkStatus, int] = {}
    for chunk in chunks:
        counts[chunk.status] = counts.get(chunk.status, 0) + 1
    return Tally(len(chunks), counts)


@dataclass(slots=True)
class RunSummary:
    """How a run ended: the closing summary of `claude-tui run` and the app's notice."""

    reason: RunEnd
    done: int
    failed: int
    unfinished: int
    cost_usd: float
    wall_s: float
    run_s: float
    # Chunk -> its files whose contents changed while it was reviewed (this run).
    changed: dict[str, list[str]] = field(default_factory=dict)
    error: str = ""  # why the run could not go on (reason ERROR)
    # Model requests the API accepted and refused (rate limits) in this run, and the
    # request rate starts were paced to at the end (None: never paced).
    requests: int = 0
    refused: int = 0
    paced_rps: float | None = None
    # The rate an earlier run learned of this API, that starts were paced to from the first.
    rate_recalled: float | None = None
    # Verification: findings by verdict (confirmed, refuted, uncertain, pending: wanted
    # one and have none), and what verification cost in all.
    verdicts: dict[str, int] = field(default_factory=dict)
    verify_cost_usd: float = 0.0

    @property
    def verify_pending(self) -> int:
        return self.verdicts.get("pending", 0)


def summarize(
    checkpoint: Checkpoint, reason: RunEnd, run_s: float, changed: dict[str, list[str]], error: str
) -> RunSummary:
    counts = tally(checkpoint.chunks)
    return RunSummary(
        reason=reason,
        done=counts[ChunkStatus.DONE],
        failed=counts[ChunkStatus.FAILED],
        unfinished=counts.unfinished,
        cost_usd=checkpoint.cost_usd,
        wall_s=checkpoint.wall_s,
        run_s=run_s,
        changed=dict(changed),
        error=error,
    )


@dataclass(frozen=True, slots=True)
class RunView:
    """The whole run: tallies, the pool, money, and when it may be done."""

    tally: Tally
    pool: PoolState
    running: int
    active: bool  # the run loop is going
    spent_usd: float
    budget_usd: float
    budget_reached: bool
    save_fault: str  # why the checkpoint cannot be saved ("" while it can)
    eta_s: float | None  # None: unknown
    error: str = ""  # what stopped the last run (Claude Code missing, ...); "" nothing

    @property
    def outage(self) -> bool:
        return self.pool.circuit is not Circuit.CLOSED

    @property
    def disk_full(self) -> bool:
        return self.save_fault.startswith("disk full")


def eta(chunks: list[ChunkState], pool: PoolState, active: bool) -> float | None:
    """Seconds until every queued chunk is done, from the chunks done so far."""
    done = [c for c in chunks if c.status is ChunkStatus.DONE and c.elapsed_s > 0]
    left = sum(c.status in (ChunkStatus.PENDING, ChunkStatus.RUNNING) for c in chunks)
    if not left or not done or not active:
        return None
    per_chunk = sum(c.elapsed_s for c in done) / len(done)
    width = max(1, min(pool.concurrency, pool.chunk_workers, left))
    return per_chunk * left / width
