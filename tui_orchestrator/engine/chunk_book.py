"""Where a chunk's state changes: every chunk of the run, its checkpoint state and runtime.

The book is the one place that moves a chunk between statuses, counts what its worker read
and spent, and keeps or drops its findings; each change is announced as an event and
marked for the checkpoint writer. It decides nothing about when work runs: the manager
(``manager.py``) starts and stops processes and tells the book what happened.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from tui_orchestrator.engine.changes import changed_lines_text
from tui_orchestrator.engine.checkpoint import (
    Checkpoint,
    CheckpointWriter,
    ChunkState,
    ChunkStatus,
    file_hash,
)
from tui_orchestrator.engine.events import (
    ActivityChanged,
    ChunkFinished,
    ChunkPlaced,
    ChunkStatusChanged,
    Event,
    LogLine,
    Notice,
    ProgressChanged,
    UsageChanged,
)
from tui_orchestrator.engine.file_watch import changed_text
from tui_orchestrator.engine.findings import Finding, merge, split_outside
from tui_orchestrator.engine.fingerprint import fingerprint
from tui_orchestrator.engine.outcomes import Action, Verdict
from tui_orchestrator.engine.prompt import first_prompt, resume_prompt
from tui_orchestrator.engine.runner import Outcome, OutcomeKind, append_meta
from tui_orchestrator.engine.stream_facts import (
    Activity,
    Fact,
    FileRead,
    HostPlaced,
    LogKind,
    Said,
    SessionSeen,
    Spending,
)
from tui_orchestrator.engine.tasks import NEW_BATCH, Task, TaskKind
from tui_orchestrator.engine.verify import (
    VERDICT_WORDS,
    VERIFY_PREFIX,
    FindingVerdict,
    VerifyGroup,
    VerifyMode,
    VerifyUnit,
    batch_name,
    group_of,
    take_batch,
    units_to_verify,
    verdicts_for,
    verify_prompt,
    verify_resume_prompt,
)
from tui_orchestrator.engine.views import ChunkView, Runtime, Waiting, chunk_view
from tui_orchestrator.engine.wording import plural

# Why a process was stopped when the pool began to wait for a usage limit's reset.
USAGE_STOP = "usage limit"
# What a verification's log file may be named of (its name holds a path).
_SAFE = re.compile(r"[^A-Za-z0-9._+-]+")


class ChunkBook:
    """The run's chunks and every change to them; see the module docstring."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        *,
        root: Path,
        writer: CheckpointWriter,
        emit: Callable[[Event], None],
        now: Callable[[], float],
        max_attempts: int,
        sizes: Mapping[str, int] | None = None,
        logs_dir: Path | None = None,
    ) -> None:
        self.checkpoint = checkpoint
        self.root = root
        self.writer = writer
        self._emit = emit
        self._now = now
        self.max_attempts = max_attempts
        self.sizes = dict(sizes or {})
        self.logs_dir = logs_dir
        self.runtime: dict[str, Runtime] = {c.name: Runtime() for c in checkpoint.chunks}
        # Chunk -> its files whose contents changed while it was reviewed (this run).
        self.changed: dict[str, list[str]] = {}
        # Verification task -> the findings it judges (verify.py; this process only), and
        # the findings waiting for a session, a file each, in the order they came.
        self.groups: dict[str, VerifyGroup] = {}
        self.waiting_units: list[VerifyUnit] = []

    # ---------------------------------------------------------------------- reading

    def state(self, name: str) -> ChunkState:
        return self.checkpoint.chunk(name)

    def view(self, name: str) -> ChunkView:
        """The chunk as the screens show it now (KeyError: no such chunk)."""
        state = self.checkpoint.chunk(name)
        runtime = self.runtime.setdefault(name, Runtime())
        view = chunk_view(state, runtime, self._now(), self.max_attempts)
        group = self.groups.get(name)
        if group is not None:  # a verification tells its verdicts, not findings
            view = replace(view, verdicts=self._verdicts_said(group) or "no verdict yet")
        return view

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.checkpoint.chunks]

    @property
    def running(self) -> list[str]:
        return [n for n, runtime in self.runtime.items() if runtime.task is not None]

    def queue(self) -> list[Task]:
        """The tasks waiting to start, in the order they start: verifications already made
        (one the user asked for, one that waits out a rate limit), reviews by priority,
        then size, and last a new batch of the findings waiting for a verifier
        (``NEW_BATCH``: made as it starts, docs/verification.md §1)."""
        verifying = [
            Task(TaskKind.VERIFY, v.name) for v in self.checkpoint.verifications
            if v.status is ChunkStatus.PENDING and self.runtime[v.name].task is None
        ]  # fmt: skip
        pending = [
            c for c in self.checkpoint.chunks
            if c.status is ChunkStatus.PENDING and self.runtime[c.name].task is None
        ]  # fmt: skip
        pending.sort(key=self._weight)
        batch = [Task(TaskKind.VERIFY, NEW_BATCH)] if self.waiting_units else []
        return verifying + [Task(TaskKind.REVIEW, c.name) for c in pending] + batch

    def is_verification(self, name: str) -> bool:
        return name in self.groups

    def verifying_fingerprints(self, *, waiting: bool = True) -> set[str]:
        """The findings a verification is made (queued or running) for, and, unless
        ``waiting`` is False, those waiting for one."""
        busy = (
            {f.fingerprint for unit in self.waiting_units for f in unit.findings}
            if waiting
            else set()
        )
        for state in self.checkpoint.verifications:
            if not state.status.finished:
                busy.update(self.groups[state.name].fingerprints)
        return busy

    def stop(self, name: str, reason: str) -> bool:
        """Cancel the chunk's task, which ends its process; False when none runs."""
        runtime = self.runtime[name]
        if runtime.task is None:
            return False
        runtime.stop_reason = reason
        runtime.task.cancel()
        return True

    def stop_all(self, reason: str) -> list[asyncio.Task[None]]:
        """Cancel every running task (a reason already given stays); those tasks."""
        tasks = []
        for runtime in self.runtime.values():
            if runtime.task is not None:
                runtime.stop_reason = runtime.stop_reason or reason
                runtime.task.cancel()
                tasks.append(runtime.task)
        return tasks

    def _weight(self, state: ChunkState) -> tuple[int, int]:
        files = state.todo or state.files
        return (-state.priority, -sum(self.sizes.get(f, 0) for f in files))

    def log_path(self, name: str) -> Path | None:
        if self.logs_dir is None:
            return None
        if name in self.groups:  # "verify: web src/a.py" holds a path's slashes
            safe = _SAFE.sub("_", name[len(VERIFY_PREFIX) :]).strip("_")
            return self.logs_dir / "verify" / f"{safe}.jsonl"
        return self.logs_dir / f"{name}.jsonl"

    def sync(self) -> None:
        """Follow a change of the checkpoint's chunk list (an edited plan was applied)."""
        for state in self.checkpoint.chunks:
            self.runtime.setdefault(state.name, Runtime())
        self.writer.changed()

    # ---------------------------------------------------------------------- changes

    def log(self, name: str, kind: LogKind, text: str) -> None:
        self._emit(LogLine(name, kind, text))

    def set_status(
        self, state: ChunkState, status: ChunkStatus, waiting: Waiting = Waiting.NONE
    ) -> None:
        state.status = status
        self.runtime[state.name].waiting = waiting
        self._emit(ChunkStatusChanged(state.name, status, self.view(state.name)))

    def begin(self, state: ChunkState, instructions: str) -> tuple[str, list[str], bool]:
        """A new attempt at the chunk: its session (new or resumed), the prompt, the files
        it reviews, and whether it resumes."""
        runtime = self.runtime[state.name]
        resume = bool(state.session_id)
        if not resume:
            state.session_id = str(uuid.uuid4())
        state.attempts += 1
        # Continuing a session the user, a limit or a shutdown interrupted is no new try.
        runtime.counted_resume = resume and not runtime.retrying
        state.resumes += runtime.counted_resume
        runtime.retrying = False
        runtime.usage = None
        runtime.progressed = False
        if not resume:
            runtime.requests = 0
        state.error = ""
        state.host = ""  # known once a remote executor places the attempt
        scope = state.todo or state.files
        if resume:
            left = [f for f in scope if f not in set(state.files_read)]
            prompt = resume_prompt(self.root, left)
        else:
            # A fresh session has read nothing of its scope; files outside it were
            # reviewed by an earlier run (incremental) and count as read.
            state.files_read = [f for f in state.files if f not in set(scope)]
            left = list(scope)
            change = self.checkpoint.change
            changed = "" if change is None else changed_lines_text(change, scope)
            prompt = first_prompt(
                instructions, self.root, scope, changed, "" if change is None else change.ref
            )
        group = self.groups.get(state.name)
        if group is not None:  # a verification: its findings, the file they are in
            prompt = (verify_resume_prompt if resume else verify_prompt)(self.root, group)
            state.files_read, left = [], list(group.files)
        runtime.stop_reason = ""
        runtime.activity = "starting"
        runtime.started_at = self._now()
        runtime.resumed = resume
        self.set_status(state, ChunkStatus.RUNNING)
        return prompt, left, resume

    def progress(self, state: ChunkState) -> None:
        read = len(set(state.files_read) & set(state.files))
        self._emit(ProgressChanged(state.name, read, len(state.files)))

    def apply(self, state: ChunkState, fact: Fact) -> None:
        """A fact from the chunk's stream (``stream_facts.py``)."""
        name = state.name
        if isinstance(fact, Said):
            self.log(name, fact.kind, fact.text)
        elif isinstance(fact, Activity):
            self.runtime[name].activity = str(fact)
            self._emit(ActivityChanged(name, str(fact)))
        elif isinstance(fact, FileRead) and fact.path not in state.files_read:
            # A file counts as read once its contents came back (progress, resume).
            state.files_read.append(fact.path)
            self.runtime[name].progressed = True  # further than any try before
            self.progress(state)
            self.writer.changed()
        elif isinstance(fact, SessionSeen) and fact.session_id != state.session_id:
            state.session_id = fact.session_id
            self.writer.urgent()  # a kill from now on must still find the session
        elif isinstance(fact, HostPlaced):
            state.host = fact.host
            self._emit(ChunkPlaced(name, fact.host))
            self.writer.changed()
        elif isinstance(fact, Spending):
            runtime = self.runtime[name]
            runtime.live_tokens, runtime.live_cost_usd = fact.tokens, fact.cost_usd
            cost, tokens = state.cost_usd + fact.cost_usd, state.tokens + fact.tokens
            self._emit(UsageChanged(name, cost, tokens, self.checkpoint.cost_usd))

    def ended(self, state: ChunkState) -> None:
        """The chunk's process is over (whatever its outcome): its time counts."""
        runtime = self.runtime[state.name]
        state.elapsed_s += self._now() - runtime.started_at
        runtime.task = None
        runtime.activity = ""

    def account(self, state: ChunkState, outcome: Outcome | None, *, attempt: bool = True) -> None:
        """What the process spent, and the session it ended in (``outcome`` None: the user
        or a shutdown stopped it). An attempt (``attempt``; not a question asked beside it)
        ended without a result line, by a pause, a kill or a crash, still spent what its
        messages said: that counts, at list prices, so a budget is never under-counted."""
        runtime = self.runtime[state.name]
        live_tokens, live_cost = (runtime.live_tokens, runtime.live_cost_usd) if attempt else (0, 0)
        if attempt:
            runtime.live_tokens, runtime.live_cost_usd = 0, 0.0
        result = outcome.result if outcome is not None else None
        if result is None:
            if live_tokens:
                state.cost_usd += live_cost
                state.input_tokens += live_tokens
                usage = UsageChanged(
                    state.name, state.cost_usd, state.tokens, self.checkpoint.cost_usd
                )
                self._emit(usage)
            return
        state.cost_usd += result.total_cost_usd
        state.input_tokens += result.input_tokens
        state.output_tokens += result.output_tokens
        if result.session_id and outcome.kind is not OutcomeKind.SESSION_MISSING:
            state.session_id = result.session_id
        self._emit(UsageChanged(state.name, state.cost_usd, state.tokens, self.checkpoint.cost_usd))

    def done(self, state: ChunkState, findings: list[Finding]) -> None:
        """Reviewed: its findings replace those of the files it reviewed."""
        scope = set(state.todo or state.files)
        kept = [f for f in state.issues if f.file not in scope]
        found = [
            replace(f, chunk=state.name, fingerprint=f.fingerprint or self._fingerprint(f))
            for f in self._inside_repo(state, findings)
        ]
        state.issues = kept + found
        state.hashes = {f: file_hash(self.root / f) for f in state.files}
        state.todo = []
        state.files_read = list(state.files)
        state.error = ""
        self.set_status(state, ChunkStatus.DONE)
        self.progress(state)
        self._emit(ChunkFinished(state.name, ChunkStatus.DONE, "", tuple(found)))

    # ----------------------------------------------------------------- verification

    def queue_verification(self, mode: VerifyMode) -> int:
        """The findings that want a verdict and have none wait for a verifier, a file
        each, judged after merging (a finding several chunks reported is judged once).
        How many files joined the wait."""
        busy = {
            fp
            for state in self.checkpoint.verifications
            if state.status is not ChunkStatus.DONE
            for fp in self.groups[state.name].fingerprints
        }  # (one that failed or was cancelled is not asked again this run: `v` asks)
        busy |= {f.fingerprint for unit in self.waiting_units for f in unit.findings}
        findings = merge(self.checkpoint.findings())
        units = units_to_verify(findings, self.checkpoint.verdicts, VerifyMode(mode), busy)
        self.waiting_units += units
        return len(units)

    def take_verification(self, sessions: int) -> ChunkState:
        """A new verification of the findings waiting first: whole files, its share of
        what waits when ``sessions`` can start now (verify.take_batch)."""
        count = take_batch(self.waiting_units, sessions)
        units, self.waiting_units = self.waiting_units[:count], self.waiting_units[count:]
        return self._verification(units)

    def verify_now(self, fingerprints: set[str]) -> list[str]:
        """Verify these findings (again), in a task of their own at the queue's front:
        the user asked. Its name, or none when none of them is found."""
        self.waiting_units = [
            unit for unit in self.waiting_units
            if not {f.fingerprint for f in unit.findings} & fingerprints
        ]  # fmt: skip
        findings = [f for f in merge(self.checkpoint.findings()) if f.fingerprint in fingerprints]
        units = units_to_verify(findings, {}, VerifyMode.ALL, set())
        return [self._verification(units).name] if units else []

    def _verification(self, units: list[VerifyUnit]) -> ChunkState:
        name, n = batch_name(units), 1
        while name in self.groups or name in self.names:
            n += 1
            name = f"{batch_name(units)} #{n}"
        self.groups[name] = group_of(name, units)
        state = ChunkState(name=name, files=[u.file for u in units])
        self.checkpoint.verifications.append(state)
        self.runtime[name] = Runtime(waiting=Waiting.QUEUED)
        self._emit(ChunkStatusChanged(name, state.status, self.view(name)))
        return state

    def verified(self, state: ChunkState, answered: Mapping[str, FindingVerdict]) -> None:
        """A verifier answered: each of its findings' verdicts is kept by fingerprint
        (``uncertain`` for a finding the answer left out)."""
        group = self.groups[state.name]
        verdicts = verdicts_for(group, answered)
        self.checkpoint.verdicts.update(verdicts)
        said = self._verdicts_said(group)
        self.log(state.name, LogKind.NOTE, f"verdicts: {said}")
        state.files_read = list(state.files)
        state.error = ""
        self.set_status(state, ChunkStatus.DONE)
        self.progress(state)
        self._emit(ChunkFinished(state.name, ChunkStatus.DONE, "", (), verdicts=said))
        self.writer.changed()

    def _verdicts_said(self, group: VerifyGroup) -> str:
        """Its findings' verdicts in words: "2 confirmed, 1 refuted" ("" before any)."""
        known = self.checkpoint.verdicts
        counts = Counter(known[fp].verdict.value for fp in group.fingerprints if fp in known)
        return ", ".join(f"{counts[k]} {k}" for k in VERDICT_WORDS if counts.get(k))

    def _fingerprint(self, finding: Finding) -> str:
        """Of the finding's content, computed once, as it is accepted (fingerprint.py)."""
        return fingerprint(self.root, finding.file, finding.line, finding.title)

    def _inside_repo(self, state: ChunkState, findings: list[Finding]) -> list[Finding]:
        """The findings about the repository's files; the chunk's log counts the others."""
        inside, outside = split_outside(findings)
        if outside:
            files = sorted({f.file for f in outside})
            text = f"dropped {plural(len(outside), 'finding')} outside the repository: {', '.join(files)}"
            self.log(state.name, LogKind.NOTE, text)
            append_meta(self.log_path(state.name), {"outside_repo": len(outside), "files": files})
        return inside

    def failed(self, state: ChunkState, error: str) -> None:
        state.error = error
        self.set_status(state, ChunkStatus.FAILED)
        self.log(state.name, LogKind.ERROR, f"failed: {error}")
        self._emit(ChunkFinished(state.name, ChunkStatus.FAILED, error, ()))

    def cancelled(self, state: ChunkState) -> None:
        state.error = "cancelled"
        self.set_status(state, ChunkStatus.CANCELLED)
        self._emit(ChunkFinished(state.name, ChunkStatus.CANCELLED, "cancelled", ()))

    def stopped(self, state: ChunkState) -> None:
        """Its process was ended by the user (pause, cancel) or a shutdown; the session
        is kept."""
        reason = self.runtime[state.name].stop_reason or "shutdown"
        if reason == "cancel":
            self.cancelled(state)
        elif reason == USAGE_STOP:
            # Its next request would be refused too: it waits for the reset with the pool.
            self.runtime[state.name].retrying = False  # a resume, not another try
            self.set_status(state, ChunkStatus.PENDING, Waiting.USAGE)
        else:
            self.set_status(state, ChunkStatus.PAUSED)
        self.log(state.name, LogKind.NOTE, f"{reason}: process ended, session kept")

    def requeue(
        self, state: ChunkState, waiting: Waiting, *, delay_s: float = 0.0, fresh: bool = False
    ) -> None:
        """Back to the queue, not before ``delay_s`` (``fresh``: in a new session)."""
        if fresh:
            state.session_id = ""
        # After a crash or a timeout the next start is another try.
        self.runtime[state.name].retrying = waiting in (Waiting.RETRY, Waiting.TIMEOUT)
        self.runtime[state.name].not_before = self._now() + delay_s
        self.set_status(state, ChunkStatus.PENDING, waiting)

    def wait_for_usage(self, state: ChunkState, why: str, delay_s: float) -> None:
        """A usage limit: back to the queue until the pool's wait ends; its error says why
        (in the checkpoint too) until it runs again. Its session is kept: it resumes."""
        state.error = why
        self.runtime[state.name].retrying = False  # a resume, not another try
        self.runtime[state.name].not_before = self._now() + delay_s
        self.set_status(state, ChunkStatus.PENDING, Waiting.USAGE)
        self.log(state.name, LogKind.NOTE, why)
        self.writer.changed()

    def settle(self, state: ChunkState, verdict: Verdict, outcome: Outcome) -> None:
        """The verdict on the process's end (``outcomes.py``), but for a rate limit, whose
        wait the pool decides (``throttle.py``)."""
        if verdict.log is not None:
            self.log(state.name, verdict.log.kind, verdict.log.text)
        if verdict.notice:
            self._emit(Notice("warning", verdict.notice))
        if verdict.action is Action.DONE and state.name in self.groups:
            self.verified(state, outcome.verdicts or {})
        elif verdict.action is Action.DONE:
            self.done(state, outcome.findings or [])
        elif verdict.action is Action.FAIL:
            self.failed(state, verdict.error)
        elif verdict.action is Action.REQUEUE:
            fresh = verdict.fresh_session
            self.requeue(state, verdict.waiting, delay_s=verdict.delay_s, fresh=fresh)
        elif verdict.action is Action.OUTAGE:
            self.set_status(state, ChunkStatus.PENDING, Waiting.OUTAGE)

    def unstarted(self, state: ChunkState, resumed: bool) -> None:
        """The attempt could not start: its session id could not be saved first (a full
        disk), and a process started now could not be resumed after a kill."""
        state.attempts -= 1
        runtime = self.runtime[state.name]
        state.resumes -= runtime.counted_resume
        runtime.retrying = not runtime.counted_resume  # as it was before the start
        if not resumed:
            state.session_id = ""  # never used: the next start is a fresh session
        self.set_status(state, ChunkStatus.PENDING, Waiting.DISK)

    def written(self, state: ChunkState, changed: list[str]) -> None:
        """Files of the chunk changed while its worker reviewed them (file_watch.py)."""
        self.changed[state.name] = changed
        text = changed_text(state.name, changed)
        self.log(state.name, LogKind.ERROR, text)
        append_meta(self.log_path(state.name), {"changed_files": changed})
        self._emit(Notice("warning", text))

    def pause(self, state: ChunkState) -> None:
        """A queued chunk is held back by the user."""
        if state.status is ChunkStatus.PENDING:
            self.set_status(state, ChunkStatus.PAUSED)
            self.writer.changed()

    def resume(self, state: ChunkState) -> bool:
        """A paused chunk goes back to the queue (its session continues with --resume)."""
        if state.status is not ChunkStatus.PAUSED:
            return False
        self.set_status(state, ChunkStatus.PENDING, Waiting.QUEUED)
        self.writer.changed()
        return True

    def queue_again(self, state: ChunkState, *, anew: bool = False) -> None:
        """Queued again by the user (retry; ``anew``: review a done chunk again, in a fresh
        session): a clean slate of failures. Its findings stay until the new review ends."""
        if anew:
            state.todo = []
            state.session_id = ""
            state.files_read = []
        runtime = self.runtime[state.name]
        runtime.failures = runtime.timeouts = runtime.fresh_restarts = 0
        runtime.not_before = 0.0
        runtime.retrying = True  # the user's retry is a new try
        state.error = ""
        self.set_status(state, ChunkStatus.PENDING, Waiting.QUEUED)
        self.writer.changed()
