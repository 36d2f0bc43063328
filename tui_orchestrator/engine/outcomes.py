"""The failure matrix: what the end of a chunk's process does to the chunk.

``judge`` reads an ``Outcome`` (how the runner classified the process's end) and the
chunk's counters, and says what follows: done, queued again (when, why, in which
session), failed (with which error), or handed to the pool (rate limits, outages, whose
rules live in ``pool.py``). The manager carries the verdict out; docs/engine.md has the
table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tui_orchestrator.engine.runner import Outcome, OutcomeKind
from tui_orchestrator.engine.stream_facts import LogKind, Said
from tui_orchestrator.engine.views import Runtime, Waiting

# A crashed chunk waits this long before its next try, doubling per crash up to the max.
RETRY_BASE_S = 2.0
RETRY_MAX_S = 60.0
# Tries after transient faults that got further count against no attempt, up to this
# many times ``max_attempts`` tries in all.
PROGRESS_CAP = 4
# A chunk whose session is missing (or in use) starts afresh at most this many times.
FRESH_RESTARTS = 3


class Action(StrEnum):
    DONE = "done"
    REQUEUE = "requeue"
    FAIL = "fail"
    LIMITED = "limited"  # rate limited: the pool decides how long it waits
    USAGE = "usage"  # a usage limit: the pool waits for its reset
    OUTAGE = "outage"  # the API is unreachable: the breaker decides


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    waiting: Waiting = Waiting.NONE  # REQUEUE: why it waits
    delay_s: float = 0.0  # REQUEUE: no start before this many seconds
    fresh_session: bool = False  # REQUEUE: a new session, not a resume
    error: str = ""  # FAIL: the chunk's error
    log: Said | None = None  # a line for the chunk's log
    notice: str = ""  # a warning for the user


def judge(name: str, outcome: Outcome, runtime: Runtime, max_attempts: int) -> Verdict:
    """What ``outcome`` does to chunk ``name``; counts its crashes, timeouts and restarts
    in ``runtime`` (a retry by the user resets them)."""
    kind = outcome.kind
    if kind is OutcomeKind.OK:
        return Verdict(Action.DONE)
    if kind is OutcomeKind.USAGE_LIMIT or (
        kind is OutcomeKind.RATE_LIMITED and runtime.usage is not None
    ):
        return Verdict(Action.USAGE, Waiting.USAGE)
    if kind is OutcomeKind.RATE_LIMITED:
        return Verdict(Action.LIMITED)
    if kind is OutcomeKind.OUTAGE:
        return Verdict(Action.OUTAGE, Waiting.OUTAGE)
    if kind in (OutcomeKind.SESSION_MISSING, OutcomeKind.SESSION_IN_USE):
        runtime.fresh_restarts += 1
        if runtime.fresh_restarts > FRESH_RESTARTS:
            return Verdict(Action.FAIL, error=outcome.message)
        # The session was never written (or its id is taken): start afresh, new id.
        log = Said(LogKind.NOTE, f"{kind.value}: starting a fresh session")
        return Verdict(Action.REQUEUE, Waiting.RESTART, fresh_session=True, log=log)
    if kind is OutcomeKind.TIMEOUT:
        runtime.timeouts += 1
        if runtime.timeouts > 1:
            return Verdict(Action.FAIL, error="timeout")
        notice = f"{name}: timed out; retrying once (resuming)"
        return Verdict(Action.REQUEUE, Waiting.TIMEOUT, notice=notice)
    if kind in (OutcomeKind.CRASH, OutcomeKind.TRANSIENT):
        tries = runtime.failures + runtime.progress_retries + 1
        if runtime.progressed and tries < PROGRESS_CAP * max_attempts:
            # It got further than any try before (a flaky link, not a broken chunk): no
            # attempt is spent, the next try waits a little, and the tries have a hard cap
            # (each --resume sends the whole history again).
            runtime.progress_retries += 1
            delay = RETRY_BASE_S  # (it got further: the link works, now and then)
            text = f"{kind.value}: {outcome.message}; it got further, trying again in {delay:.0f}s"
            return Verdict(
                Action.REQUEUE, Waiting.RETRY, delay_s=delay, log=Said(LogKind.ERROR, text)
            )
        runtime.failures += 1
        if runtime.failures >= max_attempts or tries >= PROGRESS_CAP * max_attempts:
            return Verdict(Action.FAIL, error=f"{kind.value}: {outcome.message}")
        delay = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (runtime.failures - 1))
        text = f"{kind.value}: {outcome.message}; retrying {runtime.failures + 1}/{max_attempts}"
        log = Said(LogKind.ERROR, text)
        return Verdict(Action.REQUEUE, Waiting.RETRY, delay_s=delay, log=log)
    if kind is OutcomeKind.PARSE_ERROR:
        log = Said(LogKind.ERROR, "no findings could be parsed from the answer")
        return Verdict(Action.FAIL, error="parse error", log=log)
    if kind is OutcomeKind.MAX_TURNS:
        return Verdict(Action.FAIL, error="incomplete")
    if kind is OutcomeKind.BUDGET:
        return Verdict(Action.FAIL, error="budget")
    return Verdict(Action.FAIL, error=outcome.message or "failed")
