"""Rate limits, usage limits and outages: the pool governor's decisions carried out on the
chunks and told to the user.

``pool.py`` decides (how far the pool shrinks, how long starts wait, when the breaker
opens); this module applies each decision to the chunk that met it (``chunk_book.py``)
and says it once, in words, as a notice.
"""

from __future__ import annotations

from collections.abc import Callable

from tui_orchestrator.engine.checkpoint import ChunkState
from tui_orchestrator.engine.chunk_book import USAGE_STOP, ChunkBook
from tui_orchestrator.engine.events import Event, Notice, PoolChanged, RunEnd, Topic
from tui_orchestrator.engine.pool import PoolGovernor, Transition, UsageWait
from tui_orchestrator.engine.runner import Outcome, OutcomeKind
from tui_orchestrator.engine.stream_facts import Throttled
from tui_orchestrator.engine.usage_limit import UsageLimit, resets_text
from tui_orchestrator.engine.views import Runtime, Waiting
from tui_orchestrator.engine.wording import format_seconds, plural


class Throttle:
    """Between the pool governor and the chunks; see the module docstring."""

    def __init__(
        self,
        pool: PoolGovernor,
        book: ChunkBook,
        emit: Callable[[Event], None],
        budget_reached: Callable[[], bool],
    ) -> None:
        self.pool = pool
        self.book = book
        self._emit = emit
        self._budget_reached = budget_reached
        # Set once the API has been unreachable for longer than the patience, or a usage
        # limit resets later than the longest wait allowed; ``stop_text`` says which.
        self.gave_up: RunEnd | None = None
        self.stop_text = ""

    def changed(self) -> None:
        """Tell the displays how the pool stands now."""
        running = len(self.book.running)
        self._emit(PoolChanged(self.pool.state(), running, self._budget_reached()))

    def _notice(self, level: str, text: str, topic: Topic = Topic.GENERAL) -> None:
        self._emit(Notice(level, text, topic))

    def ended(self, outcome: Outcome, requests: int) -> None:
        """A process ended, its chunk's session having had ``requests`` model requests
        answered: the breaker, the pool's growth and its pacing follow its outcome."""
        if outcome.kind is OutcomeKind.OK:
            self.answered()
        changes = self.pool.on_outcome(outcome.kind, requests)
        for change in changes:
            if change is Transition.OPENED:
                why = outcome.message[:80]
                self._notice("error", f"API unreachable ({why}): dispatch paused", Topic.OUTAGE)
            elif change is Transition.CLOSED:
                self._notice("info", "the API answers again: dispatch resumed")
            elif change is Transition.GAVE_UP and self.gave_up is None:
                self.gave_up = RunEnd.OUTAGE
                outage = self.pool.state().outage_s
                text = f"the API has been unreachable for {outage:.0f}s: stopping; every chunk is resumable"
                self._notice("error", text, Topic.OUTAGE)
        if changes:
            self.changed()

    def limited(self, state: ChunkState, runtime: Runtime, outcome: Outcome) -> None:
        """The chunk's process ended rate limited: it waits for the pool's pause (or
        fails, once limits have lasted longer than the patience)."""
        retry_after = outcome.retry_after_s or runtime.retry_after_s
        runtime.retry_after_s = None
        slow = self.pool.on_limit(runtime.started_at, retry_after, len(self.book.running))
        if slow.gave_up:
            self.book.failed(state, "rate limited")
            return
        wait = max(0.0, slow.until - self.pool.clock.monotonic())
        self.book.requeue(state, Waiting.BACKOFF, delay_s=wait)
        pool = self.pool.state()
        text = (
            f"rate limited ({outcome.message[:80]}): pool paused {slow.delay_s:.0f}s, "
            f"{pool.concurrency} of {plural(pool.chunk_workers, 'worker')}"
        )
        self._notice("warning", text, Topic.RATE_LIMIT)
        self.changed()

    # ------------------------------------------------------------------ usage limits

    def usage_limited(self, state: ChunkState, runtime: Runtime) -> None:
        """The chunk's process ended on a usage limit: the chunk waits for the reset (its
        session kept, no attempt spent); the whole pool waits with it."""
        limit = runtime.usage or UsageLimit()
        runtime.usage = None
        wait = self._usage_wait(limit, runtime.started_at)
        now = self.pool.clock.wall()
        why = f"{limit.label}: {resets_text(limit.resets_at, now)}"
        self.book.wait_for_usage(state, why, max(0.0, wait.until - now))

    def _usage_wait(self, limit: UsageLimit, started_at: float) -> UsageWait:
        wait = self.pool.on_usage_limit(limit, started_at)
        pool = self.pool.state()
        checkpoint = self.book.checkpoint
        checkpoint.usage_limit_until = wait.until if limit.resets_at is not None else 0.0
        checkpoint.usage_limit_window = limit.window
        self.book.writer.urgent()  # a restart during the window must wait too
        usage = pool.usage or limit
        resets = resets_text(usage.resets_at, self.pool.clock.wall())
        if wait.gave_up and self.gave_up is None:
            allowed = self.pool.max_usage_wait_s or 0.0
            longest = f"longer than max_usage_wait_s ({format_seconds(allowed)})"
            if not allowed:
                longest = "max_usage_wait_s is 0 (no wait; CI sets it so)"
            self.gave_up = RunEnd.USAGE_LIMIT
            self.stop_text = (
                f"{usage.label} {resets}: {longest}; stopping, every chunk is resumable: "
                "run the same command after the reset to go on"
            )
            self._notice("error", self.stop_text, Topic.USAGE_LIMIT)
        elif wait.started:
            if usage.resets_at is None:
                text = f"{usage.label} ({resets}): nothing is sent until the next probe"
            else:
                text = f"{usage.label}, {resets}: nothing is sent until then; then work resumes"
            self._notice("warning", text, Topic.USAGE_LIMIT)
        if wait.started or wait.gave_up:
            self._stop_the_others(wait.until)
        self.changed()
        return wait

    def _stop_the_others(self, until_wall: float) -> None:
        """Every other running worker would meet the limit at its next request: each is
        stopped now, its session kept, and waits for the reset with the pool (a process
        still starting would otherwise send a refused request once it is up)."""
        delay = max(0.0, until_wall - self.pool.clock.wall())
        for name in self.book.running:
            runtime = self.book.runtime[name]
            if runtime.usage is not None:
                continue  # it met the limit itself: its own end says so
            runtime.not_before = self.pool.clock.monotonic() + delay
            self.book.stop(name, USAGE_STOP)

    def answered(self) -> None:
        """An answer came through: a usage limit the pool waited for is over."""
        if self.pool.usage_cleared():
            checkpoint = self.book.checkpoint
            checkpoint.usage_limit_until, checkpoint.usage_limit_window = 0.0, ""
            self.book.writer.changed()
            self._notice("info", "the usage limit has reset: work resumes", Topic.USAGE_LIMIT)
            self.changed()

    def resume_waiting(self) -> None:
        """A run starts while a usage limit of an earlier one has not reset yet: it waits
        for the reset instead of asking the API again."""
        checkpoint = self.book.checkpoint
        if checkpoint.usage_limit_until > self.pool.clock.wall():
            limit = UsageLimit(checkpoint.usage_limit_until, checkpoint.usage_limit_window)
            self._usage_wait(limit, self.pool.clock.monotonic())
        elif checkpoint.usage_limit_until:
            checkpoint.usage_limit_until, checkpoint.usage_limit_window = 0.0, ""

    # ------------------------------------------------------------------- rate limits

    def throttled(self, state: ChunkState, fact: Throttled) -> None:
        """The CLI met a 429/529 mid-chunk and retries it itself: the chunk runs on, but
        the pool slows down as for a limit, before the other workers meet it too. A usage
        limit stops the pool at once (the process ends on it); a warning that the account
        is close to one is shown and changes nothing."""
        runtime = self.book.runtime[state.name]
        event = fact.notice
        limit = event.usage_limit
        if limit is not None:
            runtime.usage = limit
            self._usage_wait(limit, runtime.started_at)
            return
        is_quota_news = event.raw.get("type") == "rate_limit_event"
        if is_quota_news and event.usage_warning != self.pool.usage_warning:
            self.pool.usage_warning = event.usage_warning  # ("allowed" clears it)
            self.changed()
        if event.retry_after_s is not None:
            runtime.retry_after_s = event.retry_after_s
        if not event.limited:
            return
        slow = self.pool.on_throttle(
            runtime.started_at, event.retry_after_s, len(self.book.running)
        )
        if slow.new_storm:  # (the CLI says so at each of its retries: one notice is enough)
            pool = self.pool.state()
            text = (
                f"rate limited ({state.name}, its CLI retries): new starts wait "
                f"{slow.delay_s:.0f}s, {pool.concurrency} of {plural(pool.chunk_workers, 'worker')}"
            )
            self._notice("warning", text, Topic.RATE_LIMIT)
        self.changed()
