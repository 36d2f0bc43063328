"""Events the manager emits: plain dataclasses that the headless display and the app consume.

The manager calls one subscriber with each event, on the event loop, in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.findings import Finding


@dataclass(slots=True, frozen=True)
class RunStarted:
    chunks: int
    pending: int
    workers: int
    backend: str


@dataclass(slots=True, frozen=True)
class ChunkStatusChanged:
    """A chunk's status moved; ``detail`` says more ("backing off 12s", "retrying 2/3")."""

    chunk: str
    status: ChunkStatus
    detail: str = ""


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
    """One line of a worker's log: kind is text, tool, error, note or answer."""

    chunk: str
    kind: str
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


@dataclass(slots=True, frozen=True)
class PoolChanged:
    """The pool's state: how many run, the adaptive cap, rate limits and the breaker."""

    running: int
    concurrency: int
    workers: int
    backoff_s: float
    circuit: str
    budget_reached: bool


@dataclass(slots=True, frozen=True)
class Notice:
    """Something the user should see once: level is info, warning or error."""

    level: str
    text: str


@dataclass(slots=True, frozen=True)
class RunFinished:
    """The run loop ended: reason is done, stopped, outage, budget or idle (paused chunks)."""

    reason: str
    done: int
    failed: int
    unfinished: int


Event = (
    RunStarted | ChunkStatusChanged | ChunkStarted | ChunkPlaced | ActivityChanged | LogLine
    | ProgressChanged | UsageChanged | ChunkFinished | PoolChanged | Notice | RunFinished
)  # fmt: skip
