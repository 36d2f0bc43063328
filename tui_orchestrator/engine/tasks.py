"""What the manager's queue holds, and the one place a task becomes a runner's job.

A task is a piece of work: the review of a chunk, or the verification of findings of one
file (verify.py), queued and dispatched the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tui_orchestrator.engine.checkpoint import ChunkState
from tui_orchestrator.engine.runner import Job


class TaskKind(StrEnum):
    REVIEW = "review"
    VERIFY = "verify"


# The task of a verification not made yet: the findings waiting for a verifier are
# batched as it starts (ChunkBook.take_verification), so idle workers split them.
NEW_BATCH = ""


@dataclass(frozen=True, slots=True)
class Task:
    kind: TaskKind
    chunk: str


def build_job(
    state: ChunkState,
    *,
    root: Path,
    prompt: str,
    budget_usd: float,
    timeout_s: float,
    log_path: Path | None,
    resume: bool,
    structured: bool = True,
    fork: bool = False,
    todo: list[str] | None = None,
    verify: bool = False,
) -> Job:
    """Every job a chunk's process runs (a review, a follow-up question) is made here, so
    each gets the budget that is left and the same limits."""
    return Job(
        chunk=state.name,
        files=list(state.files),
        root=root,
        prompt=prompt,
        session_id=state.session_id,
        resume=resume,
        structured=structured,
        max_budget_usd=budget_usd,
        timeout_s=timeout_s,
        log_path=log_path,
        fork=fork,
        attempt=state.attempts,
        todo=todo,
        verify=verify,
    )
