"""A scripted runner for the app's tests: a fixed script per chunk, fixed ids, no clocks."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.runner import Emit, Job, Outcome, OutcomeKind, Runner
from tui_orchestrator.engine.stream import (
    AssistantText,
    Init,
    Placed,
    Result,
    ToolResult,
    ToolUse,
)
from tui_orchestrator.engine.verify import FindingVerdict, VerdictKind


@dataclass
class ScriptedRunner(Runner):
    """Reads every file, reports one finding per file, and ends as the script says.

    ``hang``: chunks that wait after their reads until paused or cancelled;
    ``hang_at``: chunks that wait after reading this many of their files;
    ``fail``: chunks whose answer has no findings (a parse error);
    ``limit_once``: chunks answered with a 429 the first time.
    """

    backend: str = "claude"
    hang: set[str] = field(default_factory=set)
    hang_at: dict[str, int] = field(default_factory=dict)
    fail: set[str] = field(default_factory=set)
    limit_once: set[str] = field(default_factory=set)
    calls: list[Job] = field(default_factory=list)
    # Files whose findings a verifier refutes (the others it confirms).
    refute: set[str] = field(default_factory=set)
    # Chunk -> the machine a remote executor would report (a Placed event).
    hosts: dict[str, str] = field(default_factory=dict)

    def last_call(self, chunk: str) -> Job:
        """The newest job of ``chunk`` (other chunks may start after it)."""
        return next(job for job in reversed(self.calls) if job.chunk == chunk)

    async def run(self, job: Job, emit: Emit) -> Outcome:
        self.calls.append(job)
        if job.verify:
            return self._verify(job, emit)
        sid = job.session_id
        if job.chunk in self.hosts:
            emit(Placed(self.hosts[job.chunk]))
        emit(Init(session_id=sid, model="scripted"))
        if not job.structured:
            emit(AssistantText(f"Scripted answer about {job.chunk}."))
            return Outcome(OutcomeKind.OK, Result("success", False, "the answer", sid), 0)
        if job.chunk in self.limit_once:
            self.limit_once.discard(job.chunk)
            return Outcome(
                OutcomeKind.RATE_LIMITED,
                Result(
                    "success", True, "API Error: Request rejected (429)", sid, api_error_status=429
                ),
                1,
                retry_after_s=0.01,
            )
        emit(AssistantText(f"I will read the {len(job.todo or job.files)} files."))
        for index, path in enumerate(job.todo or job.files):
            if index == self.hang_at.get(job.chunk):
                emit(AssistantText(f"Now {path}: the first {index} files look fine so far."))
                await asyncio.Event().wait()
            emit(ToolUse("Read", {"file_path": str(job.root / path)}, f"tool-{index}"))
            await asyncio.sleep(0)
            emit(ToolResult(f"tool-{index}", False, "1\tcode"))
        if job.chunk in self.hang:
            await asyncio.Event().wait()
        if job.chunk in self.fail:
            return Outcome(OutcomeKind.PARSE_ERROR, Result("success", False, "no json", sid), 0)
        findings = [
            Finding(path, 3, Severity.HIGH if i == 0 else Severity.LOW, f"problem in {path}", "why it matters", job.chunk)
            for i, path in enumerate(job.files)
        ]  # fmt: skip
        result = Result(
            "success", False, "", sid, total_cost_usd=0.01, input_tokens=1200, output_tokens=300
        )
        return Outcome(OutcomeKind.OK, result, 0, findings=findings)

    def _verify(self, job: Job, emit: Emit) -> Outcome:
        """A verifier: it confirms every finding but those in ``refute``'s files."""
        emit(Init(session_id=job.session_id, model="scripted"))
        verdicts = {}
        for short, path in re.findall(r"^- \[([^\]]+)\] (.+?):\d+ ", job.prompt, re.MULTILINE):
            refuted = path in self.refute
            verdicts[short] = FindingVerdict(
                VerdictKind.REFUTED if refuted else VerdictKind.CONFIRMED,
                "the input is checked above" if refuted else "the line shows it",
            )
        result = Result("success", False, "", job.session_id, total_cost_usd=0.002)
        return Outcome(OutcomeKind.OK, result, 0, verdicts=verdicts)
