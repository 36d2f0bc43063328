"""A follow-up question in a chunk's session: the answer, shown as it streams in."""

from __future__ import annotations

from collections.abc import Callable

from tui_orchestrator.engine.runner import Job, Outcome, OutcomeKind, Runner
from tui_orchestrator.engine.stream import AssistantText, StreamEvent
from tui_orchestrator.engine.stream_facts import LogKind


async def ask(runner: Runner, job: Job, log: Callable[[LogKind, str], None]) -> tuple[Outcome, str]:
    """Run the question ``job``; every answer line goes to ``log`` as it comes. Returns the
    outcome and the answer (or why the question failed)."""
    parts: list[str] = []

    def collect(event: StreamEvent) -> None:
        if isinstance(event, AssistantText) and event.text.strip():
            parts.append(event.text.strip())
            log(LogKind.ANSWER, event.text.strip())

    outcome = await runner.run(job, collect)
    if outcome.kind is not OutcomeKind.OK:
        message = f"the question failed: {outcome.message}"
        log(LogKind.ERROR, message)
        return outcome, message
    return outcome, (outcome.result.result if outcome.result else "") or "\n".join(parts)
