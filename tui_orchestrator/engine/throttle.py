"""Rate limits and outages: the pool governor's decisions carried out on the chunks and
told to the user.

``pool.py`` decides (how far the pool shrinks, how long starts wait, when the breaker
opens); this module applies each decision to the chunk that met it (``chunk_book.py``)
and says it once, in words, as a notice.
"""

from __future__ import annotations

from collections.abc import Callable

from tui_orchestrator.engine.checkpoint import ChunkState
from tui_orchestrator.engine.chunk_book import ChunkBook
from tui_orchestrator.engine.events import Event, Notice, PoolChanged, RunEnd, Topic
from tui_orchestrator.engine.pool import PoolGovernor, Transition
from tui_orchestrator.engine.runner import Outcome
from tui_orchestrator.engine.stream_facts import Throttled
from tui_orchestrator.engine.views import Runtime, Waiting
from tui_orchestrator.engine.wording import plural


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
        # Set once the API has been unreachable for longer than the patience.
        self.gave_up: RunEnd | None = None

    def changed(self) -> None:
        """Tell the displays how the pool stands now."""
        running = len(self.book.running)
        self._emit(PoolChanged(self.pool.state(), running, self._budget_reached()))

    def _notice(self, level: str, text: str, topic: Topic = Topic.GENERAL) -> None:
        self._emit(Notice(level, text, topic))

    def ended(self, outcome: Outcome) -> None:
        """A process ended: the breaker and the pool's growth follow its outcome."""
        changes = self.pool.on_outcome(outcome.kind)
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

    def throttled(self, state: ChunkState, fact: Throttled) -> None:
        """The CLI met a 429/529 mid-chunk and retries it itself: the chunk runs on, but
        the pool slows down as for a limit, before the other workers meet it too."""
        runtime = self.book.runtime[state.name]
        event = fact.notice
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
