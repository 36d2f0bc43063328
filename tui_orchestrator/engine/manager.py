"""The run: the queue, the tasks at work, and the user's commands (docs/engine.md).

One asyncio loop starts queued tasks while the pool governor (``pool.py``) admits them,
hands each worker's stream, read as facts (``stream_facts.py``), to the chunk book
(``chunk_book.py``: where a chunk's state changes), and carries out the verdict on each
process's end (``outcomes.py``). Screens read frozen views (``views.py``); the headless
display and the app drive it through the same methods and consume the same events.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from tui_orchestrator.engine import follow_up
from tui_orchestrator.engine.baseline import Baseline
from tui_orchestrator.engine.budget import Budget
from tui_orchestrator.engine.changes import Changes
from tui_orchestrator.engine.checkpoint import Checkpoint, CheckpointStore, ChunkState, ChunkStatus
from tui_orchestrator.engine.chunk_book import ChunkBook
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.errors import ClaudeNotFoundError
from tui_orchestrator.engine.events import (
    ChunkStarted,
    Event,
    Notice,
    RunEnd,
    RunFinished,
    RunStarted,
    Topic,
)
from tui_orchestrator.engine.file_watch import changed_files, hash_files
from tui_orchestrator.engine.findings import Finding, merge
from tui_orchestrator.engine.outcomes import Action, judge
from tui_orchestrator.engine.pool import Admit, Clock, PoolGovernor
from tui_orchestrator.engine.prompt import ask_prompt
from tui_orchestrator.engine.rate_memory import RateMemory
from tui_orchestrator.engine.reports import Keep, ReportOptions, in_diff, render, report_findings
from tui_orchestrator.engine.run_saving import RunSaving
from tui_orchestrator.engine.runner import Job, Outcome, OutcomeKind, Runner
from tui_orchestrator.engine.stream import StreamEvent
from tui_orchestrator.engine.stream_facts import ChunkReading, LogKind, Spending, Throttled
from tui_orchestrator.engine.suppressions import Suppression, add_suppression, who_decides
from tui_orchestrator.engine.tasks import NEW_BATCH, build_job
from tui_orchestrator.engine.throttle import Throttle
from tui_orchestrator.engine.verify import VerdictKind, VerifyMode, verdict_of, wants_verifying
from tui_orchestrator.engine.views import (
    ChunkView,
    RunSummary,
    Runtime,
    RunView,
    eta,
    summarize,
    tally,
)


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
        clock: Clock | None = None,
        write_delay: float = 0.5,
        patient: bool = False,
        suppressions: Mapping[str, Suppression] | None = None,
        baseline: Baseline | None = None,
        diff_only: bool = False,
        rate_memory: RateMemory | None = None,
        known_rate: float | None = None,
        free_starts: int = 0,
    ) -> None:
        self.root = root
        self.checkpoint = checkpoint
        self.store = store
        self.runner = runner
        self.config = config
        self.instructions = instructions
        self.on_event = on_event
        self.logs_dir = logs_dir
        # ``patient`` (the app): a usage limit is waited out however long it lasts; a
        # headless run stops past ``max_usage_wait_s``.
        max_usage_wait = None if patient else config.max_usage_wait_s
        self.pool = PoolGovernor(
            config.workers,
            config.patience_s,
            clock,
            max_usage_wait_s=max_usage_wait,
            known_rate=known_rate,
            free_starts=free_starts,
        )
        # Where the rate the API allowed is kept for the next run (None: nowhere), and how
        # many workers an earlier run started against it without a refusal.
        self.rate_memory = rate_memory
        self.free_starts = free_starts
        self.saving = RunSaving(
            store, checkpoint, emit=self._emit, now=self._now, changed=self._saving_changed,
            delay=write_delay,
        )  # fmt: skip
        self.writer = self.saving.writer
        self.book = ChunkBook(
            checkpoint,
            root=root,
            writer=self.writer,
            emit=self._emit,
            now=self._now,
            max_attempts=config.max_attempts,
            sizes=sizes,
            logs_dir=logs_dir,
        )
        self.budget = Budget(config.max_budget_usd)
        self.throttle = Throttle(self.pool, self.book, self._emit, lambda: self.budget.reached)
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[RunSummary] | None = None
        self._fatal: Exception | None = None
        # The team's suppressions (suppressions.py), read when the run was opened.
        self.suppressions: dict[str, Suppression] = dict(suppressions or {})
        # An earlier report the findings are compared with (--baseline), and whether the
        # reports keep only a change review's findings on changed lines (--diff-only).
        self.baseline = baseline
        self.diff_only = diff_only
        self.checkpoint.max_budget_usd = config.max_budget_usd
        self.checkpoint.backend = runner.backend

    # ------------------------------------------------------------------ reading it

    def _now(self) -> float:
        return self.pool.clock.monotonic()

    def state(self, name: str) -> ChunkState:
        return self.checkpoint.chunk(name)

    def chunk_view(self, name: str) -> ChunkView:
        """The chunk as the screens show it now (KeyError: no such chunk)."""
        return self.book.view(name)

    def chunk_views(self) -> list[ChunkView]:
        """Every chunk, in plan order."""
        return [self.book.view(name) for name in self.book.names]

    def run_view(self) -> RunView:
        pool = self.pool.state()
        return RunView(
            tally=tally(self.checkpoint.chunks),
            pool=pool,
            running=len(self.running),
            active=self.active,
            spent_usd=self.spent_usd,
            budget_usd=self.budget.limit_usd,
            budget_reached=self.budget.reached,
            save_fault=self.save_fault,
            eta_s=eta(self.checkpoint.chunks, pool, self.active),
            error=str(self._fatal) if self._fatal is not None else "",
        )

    def findings(self, keep: Keep = None) -> list[Finding]:
        """Every finding of the run once, in plan order (those ``keep`` accepts)."""
        return report_findings(self.checkpoint, keep)

    @property
    def report_options(self) -> ReportOptions:
        return ReportOptions(
            include_refuted=self.config.include_refuted,
            baseline=self.baseline,
            suppressions=self.suppressions,
            diff_only=self.diff_only,
        )

    def report(self, fmt: str, keep: Keep = None, filtered: str = "") -> str:
        return render(self.checkpoint, fmt, keep, filtered, self.report_options)

    @property
    def change(self) -> Changes | None:
        """A change review's change (``--since``), None in a full review."""
        return self.checkpoint.change

    def baseline_state(self, finding: Finding) -> str:
        """``new``, ``updated`` or ``unchanged`` against the baseline ("" without one)."""
        return "" if self.baseline is None else self.baseline.state(finding).value

    def in_diff(self, finding: Finding) -> bool:
        """Is the finding on a line the change review's change touched (True outside one)?"""
        return in_diff(finding, self.checkpoint)

    @property
    def names(self) -> list[str]:
        return self.book.names

    @property
    def running(self) -> list[str]:
        return self.book.running

    @property
    def chunk_workers(self) -> int:
        return self.pool.chunk_workers

    @property
    def spent_usd(self) -> float:
        return self.checkpoint.cost_usd

    @property
    def save_fault(self) -> str:
        """Why the checkpoint cannot be saved ("disk full (...)"); "" while it can."""
        return self.saving.fault

    @property
    def fatal(self) -> Exception | None:
        """What ended the last run with reason ERROR (None: nothing)."""
        return self._fatal

    @property
    def active(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    # ----------------------------------------------------------- events and writes

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def sync_chunks(self) -> None:
        """Follow a change of the checkpoint's chunk list (an edited plan was applied)."""
        self.book.sync()
        self._wake.set()

    def _saving_changed(self) -> None:
        self.throttle.changed()
        self._wake.set()

    # ------------------------------------------------------------------- the run loop

    def start(self) -> asyncio.Task[RunSummary]:
        """Start the run loop if it is not running (idempotent); the task ends with the
        summary, after ``RunFinished``, and never raises."""
        if self._loop_task is None or self._loop_task.done():
            self._stopping = False
            self._loop_task = asyncio.get_running_loop().create_task(self.run())
        self._wake.set()
        return self._loop_task

    async def run(self) -> RunSummary:
        """Run until every chunk is finished, paused or blocked. Always ends with
        ``RunFinished`` and a summary; a fatal error (Claude Code missing, a checkpoint
        that cannot be written at the start) is its reason ERROR and its error."""
        started = self._now()
        requests_before, refused_before = self.pool.requests, self.pool.refusals
        self.book.changed.clear()
        self._fatal = None  # a new start tries again (the disk may have room now)
        self.throttle.gave_up = None
        self.throttle.stop_text = ""
        for state in self.checkpoint.chunks:
            if state.status is ChunkStatus.RUNNING:
                state.status = ChunkStatus.PENDING  # left running by a process that died
        pending = sum(c.status is ChunkStatus.PENDING for c in self.checkpoint.chunks)
        # Written before the run is announced: a first write that fails (a full disk, a
        # read-only one) ends the start with one line, as any bad environment does.
        self._fatal = await self.saving.begin()
        if self._fatal is None:
            self._emit(
                RunStarted(
                    len(self.checkpoint.chunks), pending, self.chunk_workers, self.runner.backend
                )
            )
            # A usage limit of an earlier run that has not reset: wait, do not ask.
            self.throttle.resume_waiting()
            # Findings of earlier runs still without a verdict (a finished checkpoint
            # run again with --verify all is verified, not reviewed again).
            self._queue_verification()
        try:
            reason = await self._loop()
        except Exception as exc:  # a bug: the run still ends as one, saved and told
            self._fatal, reason = exc, RunEnd.ERROR
        finally:
            await self._end_run()
        if self.pool.refusals > refused_before:
            self._remember_rate()  # (a rate grown without a refusal says nothing of a limit)
        elif self.pool.started_freely > self.free_starts:
            self._remember_free(self.pool.started_freely)
        error = str(self._fatal) if reason is RunEnd.ERROR and self._fatal else ""
        if reason is RunEnd.USAGE_LIMIT:
            error = self.throttle.stop_text
        summary = replace(
            summarize(self.checkpoint, reason, self._now() - started, self.book.changed, error),
            requests=self.pool.requests - requests_before,
            refused=self.pool.refusals - refused_before,
            paced_rps=self.pool.rate,
            rate_recalled=self.pool.known_rate,
            verdicts=self.verdict_counts(),
            verify_cost_usd=self.checkpoint.verify_cost_usd,
        )
        self._emit(
            RunFinished(reason, summary.done, summary.failed, summary.unfinished, summary.error)
        )
        return summary

    def _remember_rate(self) -> None:
        """Keep the request rate the pool paced to for the next run (rate_memory.py)."""
        if self.rate_memory is None or self.pool.rate is None:
            return
        problem = self.rate_memory.remember(self.pool.rate, self.pool.clock.wall())
        if problem:
            self._emit(Notice("warning", problem))

    def _remember_free(self, workers: int) -> None:
        """Keep how many workers started without a refusal: the next run starts as many
        at once (rate_memory.py)."""
        if self.rate_memory is None:
            return
        problem = self.rate_memory.remember_free(workers, self.pool.clock.wall())
        if problem:
            self._emit(Notice("warning", problem))

    async def _loop(self) -> RunEnd:
        while True:
            self._dispatch()
            if not self.running:
                if self._fatal is not None:
                    return RunEnd.ERROR
                if self.throttle.gave_up is not None:
                    return self.throttle.gave_up
                if not self._waiting_work():
                    return self._why_idle()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._next_timer())

    def _why_idle(self) -> RunEnd:
        if self._stopping:
            return RunEnd.STOPPED
        if self.budget.reached and self.book.queue():
            return RunEnd.BUDGET
        if any(c.status is ChunkStatus.PAUSED for c in self.checkpoint.chunks):
            return RunEnd.IDLE
        return RunEnd.DONE

    async def _end_run(self) -> None:
        if self.budget.reached:
            for task in self.book.queue():
                if task.chunk != NEW_BATCH:
                    self.state(task.chunk).error = "budget"
        await self.saving.end()

    def _waiting_work(self) -> bool:
        """Is there queued work the loop should wait for (not blocked for good)?"""
        if self._stopping or self.throttle.gave_up or self._fatal is not None:
            return False
        if self.writer.fault:
            return True  # the state is only in memory: wait for the disk (or a stop)
        return not self.budget.reached and bool(self.book.queue())

    def _next_timer(self) -> float:
        now = self._now()
        times = [
            self.book.runtime[t.chunk].not_before for t in self.book.queue() if t.chunk != NEW_BATCH
        ]
        wakeup = self.pool.next_wakeup()
        if wakeup is not None:
            times.append(wakeup)
        future = [t - now for t in times if t > now]
        return max(0.05, min([1.0, *future]))

    def _dispatch(self) -> None:
        """Start queued tasks while the pool admits them."""
        if self._stopping or self.throttle.gave_up or self._fatal is not None or self.writer.fault:
            return  # (a start must have its session id on disk first)
        if self.budget.check(self.spent_usd):
            self._emit(Notice("warning", self.budget.text(self.spent_usd), Topic.BUDGET))
            self.throttle.changed()
        if self.budget.reached:
            return
        now = self._now()
        for task in self.book.queue():
            if task.chunk != NEW_BATCH and self.book.runtime[task.chunk].not_before > now:
                continue
            admit = self.pool.admit(len(self.running))
            if admit is Admit.NO:
                break
            if task.chunk == NEW_BATCH:  # the findings waiting, split over idle workers
                state = self.book.take_verification(self.chunk_workers - len(self.running))
            else:
                state = self.state(task.chunk)
            if admit is Admit.PROBE:
                self._emit(Notice("info", "probing whether the API is reachable again"))
            elif admit is Admit.USAGE_PROBE:
                text = f"{state.name} tries whether the usage limit has reset"
                self._emit(Notice("info", text, Topic.USAGE_LIMIT))
            self._start(state)
            self.pool.started()

    # ----------------------------------------------------------------- verification

    @property
    def verify_mode(self) -> VerifyMode:
        return VerifyMode(self.config.verify)

    def _queue_verification(self) -> None:
        if self.book.queue_verification(self.verify_mode):
            self._wake.set()

    def verify(self, fingerprints: set[str]) -> list[str]:
        """Verify these findings (again, whatever their verdict), before anything else
        that waits: the task made ([] when a verifier is at work on one of them)."""
        if fingerprints & self.book.verifying_fingerprints(waiting=False):
            return []
        for fp in fingerprints:
            self.checkpoint.verdicts.pop(fp, None)
        names = self.book.verify_now(fingerprints)
        self.writer.changed()
        if names:
            self.start()
        return names

    def suppress(self, fingerprint: str, reason: str) -> Suppression:
        """The team decides not to act on a finding: it goes to the repository's
        suppressions file (suppressions.py), with who decided."""
        entry = add_suppression(self.root, fingerprint, reason, who_decides(self.root))
        self.suppressions[fingerprint] = entry
        return entry

    def verdict_words(self, findings: Iterable[Finding] | None = None) -> dict[str, str]:
        """Each finding's verdict word by fingerprint (every finding of the run unless
        ``findings``): confirmed, refuted or uncertain; "pending" while it waits for one;
        "" when none is wanted. One pass, for a table of thousands of rows."""
        busy = self.book.verifying_fingerprints()
        verdicts, mode = self.checkpoint.verdicts, self.verify_mode
        words = {}
        for f in merge(self.checkpoint.findings()) if findings is None else findings:
            kind = verdict_of(f, verdicts)
            if kind is not VerdictKind.UNVERIFIED:
                words[f.fingerprint] = kind.value
            elif f.fingerprint in busy or wants_verifying(f, mode):
                words[f.fingerprint] = "pending"
            else:
                words[f.fingerprint] = ""
        return words

    def verdict(self, finding: Finding) -> str:
        """One finding's verdict word (``verdict_words``)."""
        return self.verdict_words([finding])[finding.fingerprint]

    def verdict_reason(self, finding: Finding) -> str:
        found = self.checkpoint.verdicts.get(finding.fingerprint)
        return found.reason if found is not None else ""

    def verdict_counts(self) -> dict[str, int]:
        """The findings by verdict word ("pending": wanted a verdict and have none)."""
        counts = Counter(self.verdict_words().values())
        counts.pop("", None)
        return dict(counts)

    # ------------------------------------------------------------------ a task's life

    def _start(self, state: ChunkState) -> None:
        """Where a chunk's worker is started: a new or resumed session, on the runner."""
        prompt, todo, resume = self.book.begin(state, self.instructions)
        verify = self.book.is_verification(state.name)
        job = self._job(state, prompt, resume=resume, todo=todo, verify=verify)
        runtime = self.book.runtime[state.name]
        runtime.task = asyncio.get_running_loop().create_task(self._work(state, job))
        self.throttle.changed()

    def _job(self, state: ChunkState, prompt: str, *, resume: bool, **kw: object) -> Job:
        """The one place a job is made: every process gets the budget that is left."""
        return build_job(
            state,
            root=self.root,
            prompt=prompt,
            budget_usd=self.budget.remaining(self.spent_usd),
            timeout_s=self.config.chunk_timeout_s,
            log_path=self.book.log_path(state.name),
            resume=resume,
            **kw,  # type: ignore[arg-type]
        )

    async def _work(self, state: ChunkState, job: Job) -> None:
        outcome: Outcome | None = None
        try:
            # The session id is on disk before the process starts: a kill at any moment
            # can still resume it (docs/engine.md).
            await self.writer.write_now()
            if self.writer.fault:
                self.book.unstarted(state, job.resume)
            else:
                outcome = await self._run_job(state, job)
        except asyncio.CancelledError:
            self.book.stopped(state)
        except ClaudeNotFoundError as exc:
            self._fatal = exc
            self.book.set_status(state, ChunkStatus.PENDING)  # the run ends with the error
        except Exception as exc:  # a bug in a backend must not take the pool down
            self.book.log(state.name, LogKind.ERROR, f"internal error: {exc!r}")
            outcome = Outcome(OutcomeKind.CRASH, stderr_tail=repr(exc))
        finally:
            self.book.ended(state)
        self.book.account(state, outcome)  # None: stopped; what it spent so far counts
        if outcome is not None:
            self._ended(state, self.book.runtime[state.name], outcome)
        with contextlib.suppress(Exception):
            await asyncio.shield(self.writer.write_now())
        self.throttle.changed()
        self._wake.set()

    async def _run_job(self, state: ChunkState, job: Job) -> Outcome:
        # Hashed before in a thread (up to 10 MB at the size cap; nothing runs yet, so a
        # cancel here loses nothing), after on the loop (0.7 ms for ten 50 kB files, 13 ms
        # at the cap), since an await there would let a stop overtake the result.
        before = await asyncio.to_thread(hash_files, self.root, job.files)
        self._emit(ChunkStarted(state.name, state.attempts, state.session_id, job.resume))
        self.book.progress(state)
        reading = ChunkReading(self.root, state.files)
        runtime = self.book.runtime[state.name]

        def on_stream(event: StreamEvent) -> None:
            for fact in reading.facts(event):
                if isinstance(fact, Throttled):
                    self.throttle.throttled(state, fact)
                else:
                    self.book.apply(state, fact)
                    if isinstance(fact, Spending) and fact.answered:
                        runtime.requests += 1
                        if self.pool.answered(runtime.started_at):  # the rate it allows
                            self._wake.set()  # (and the first round's next start may go)
                        self.throttle.answered()  # (and a usage limit is over)

        outcome = await self.runner.run(job, on_stream)
        changed = changed_files(self.root, before)
        if changed:
            self.book.written(state, changed)
        return outcome

    # -------------------------------------------------------------- a process's end

    def _ended(self, state: ChunkState, runtime: Runtime, outcome: Outcome) -> None:
        """Carry out the verdict on a process's end (outcomes.py); the pool hears of it."""
        self.throttle.ended(outcome, runtime.requests)
        verdict = judge(state.name, outcome, runtime, self.config.max_attempts)
        if verdict.action is Action.LIMITED:
            self.throttle.limited(state, runtime, outcome)
        elif verdict.action is Action.USAGE:
            self.throttle.usage_limited(state, runtime)
        else:
            self.book.settle(state, verdict, outcome)
            if state.status is ChunkStatus.DONE and not self.book.is_verification(state.name):
                self._queue_verification()

    # --------------------------------------------------------------- user commands

    def pause(self, name: str) -> None:
        """Stop the chunk's process within a second; it keeps its session and progress."""
        if not self.book.stop(name, "pause"):
            self.book.pause(self.state(name))

    def resume(self, name: str) -> None:
        """A paused chunk goes back to the queue; its session continues with --resume."""
        if self.book.resume(self.state(name)):
            self._wake.set()

    def cancel(self, name: str) -> None:
        state = self.state(name)
        waiting = state.status in (ChunkStatus.PENDING, ChunkStatus.PAUSED)
        if not self.book.stop(name, "cancel") and waiting:
            self.book.cancelled(state)
            self.writer.urgent()

    def retry(self, name: str) -> None:
        """A failed, cancelled or paused chunk is queued again (resuming its session)."""
        state = self.state(name)
        if state.status in (ChunkStatus.FAILED, ChunkStatus.CANCELLED, ChunkStatus.PAUSED):
            self.book.queue_again(state)
            self._wake.set()

    def review_again(self, name: str) -> None:
        """A done chunk is queued for a whole new review, in a fresh session."""
        state = self.state(name)
        if state.status is not ChunkStatus.DONE:
            raise ValueError(f"chunk {name!r} is {state.status.value}, not done")
        self.book.queue_again(state, anew=True)
        self._wake.set()

    def pause_all(self) -> None:
        for state in [*self.checkpoint.chunks, *self.checkpoint.verifications]:
            if state.status in (ChunkStatus.RUNNING, ChunkStatus.PENDING):
                self.pause(state.name)

    def resume_all(self) -> None:
        for state in [*self.checkpoint.chunks, *self.checkpoint.verifications]:
            if state.status is ChunkStatus.PAUSED:
                self.resume(state.name)

    def log_path(self, name: str) -> Path | None:
        """Where the chunk's (or the verification's) stream log is."""
        return self.book.log_path(name)

    def set_chunk_workers(self, n: int) -> None:
        """Change the number of workers live; running chunks are never killed for it."""
        self.pool.set_chunk_workers(n)
        self.throttle.changed()
        self._wake.set()

    async def ask(self, name: str, question: str) -> str:
        """A follow-up question in the chunk's session; the answer also goes to its log."""
        state = self.state(name)
        if not state.session_id:
            raise ValueError(f"chunk {name!r} has no session yet: run it first")
        forked = name in self.running  # the session is in use: ask a fork of it
        job = self._job(state, ask_prompt(question), resume=True, structured=False, fork=forked)
        self.book.log(name, LogKind.ANSWER, f"? {question.strip()}")
        outcome, answer = await follow_up.ask(
            self.runner, job, lambda kind, text: self.book.log(name, kind, text)
        )
        self.book.account(state, outcome, attempt=False)
        self.writer.changed()
        return answer

    async def stop(self) -> None:
        """Pause every running worker (sessions kept), end the loop, write the checkpoint."""
        self._stopping = True
        tasks = self.book.stop_all("shutdown")
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._wake.set()
        if self._loop_task is not None and not self._loop_task.done():
            with contextlib.suppress(Exception):
                await self._loop_task
        else:
            # close, not write_now: a failed write must leave no retry behind the run.
            await self.writer.close()
