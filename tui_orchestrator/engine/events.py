"""Events the manager emits: plain dataclasses that the headless display and the app consume.

The manager calls one subscriber with each event, on the event loop, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.findings import Finding
from tui_orchestrator.engine.pool import PoolState
from tui_orchestrator.engine.stream_facts import LogKind
from tui_orchestrator.engine.views import ChunkView, RunEnd


class Topic(StrEnum):
    """What a notice is about, so a display can treat a kind of notice its own way."""

    GENERAL = "general"
    RATE_LIMIT = "rate limit"  # the chunk's status shows it too
    OUTAGE = "outage"
    BUDGET = "budget"
    DISK = "disk"
    USAGE_LIMIT = "usage limit"  # a wait for a usage limit's reset begins or ends


@dataclass(slots=True, frozen=True)
class RunStarted:
    chunks: int
    pending: int
    chunk_workers: int
    backend: str


@dataclass(slots=True, frozen=True)
class ChunkStatusChanged:
    """A chunk's status moved; ``view`` is the chunk as it is now (why it waits, too)."""

    chunk: str
    status: ChunkStatus
    view: ChunkView


@dataclass(slots=True, frozen=True)
class ChunkStarted:
    chunk: str
    attempt: int
    session_id: str
    resumed: bool
    host: str = ""


@dataclass(slots=True, frozen=True)
class ChunkPlaced:
    """A remote executor (Dask) started the chunk on ``host``; also in ``ChunkState.host``."""

    chunk: str
    host: str


@dataclass(slots=True, frozen=True)
class ActivityChanged:
    """What the agent does now: "Reading src/api/users.ts"."""

    chunk: str
    activity: str


@dataclass(slots=True, frozen=True)
class LogLine:
    """One line of a worker's log."""

    chunk: str
    kind: LogKind
    text: str


@dataclass(slots=True, frozen=True)
class ProgressChanged:
    chunk: str
    read: int
    total: int


@dataclass(slots=True, frozen=True)
class UsageChanged:
    chunk: str
    cost_usd: float
    tokens: int
    run_cost_usd: float


@dataclass(slots=True, frozen=True)
class ChunkFinished:
    chunk: str
    status: ChunkStatus
    error: str
    findings: tuple[Finding, ...]
    # A verification's verdicts in words ("2 confirmed, 1 refuted"); "" for a review.
    verdicts: str = ""


@dataclass(slots=True, frozen=True)
class PoolChanged:
    """The pool's state: how many run, the adaptive cap, rate limits and the breaker."""

    pool: PoolState
    running: int
    budget_reached: bool


@dataclass(slots=True, frozen=True)
class Notice:
    """Something the user should see once: level is info, warning or error."""

    level: str
    text: str
    topic: Topic = Topic.GENERAL


@dataclass(slots=True, frozen=True)
class RunFinished:
    """The run loop ended, always (``error`` says why when ``reason`` is ERROR)."""

    reason: RunEnd
    done: int
    failed: int
    unfinished: int
    error: str = ""


Event = (
    RunStarted | ChunkStatusChanged | ChunkStarted | ChunkPlaced | ActivityChanged | LogLine
    | ProgressChanged | UsageChanged | ChunkFinished | PoolChanged | Notice | RunFinished
)  # fmt: skip
