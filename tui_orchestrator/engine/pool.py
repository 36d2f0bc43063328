"""The pool's governor: how many chunks may run now, and when the next one may start.

Three rules live here, apart from the queue (``manager.py``) so each can be read and tested
alone with a fake clock (docs/engine.md):

- **Starts are paced to the request rate the API allows**, once a limit was met, and a
  chunk (about ``requests_per_chunk`` requests, counted over a finished chunk's session,
  its resumed tries too) starts no more often than that rate allows, with a margin. The
  rate is learned from accepted and refused requests: the first refusal takes the rate
  accepted until then (a burst of first requests makes it too high), the time the API
  takes to accept again corrects it once (probes spread in proportion to the time since
  the window began bracket that moment), and each later refusal steps it down, never
  below the rate the API did accept over the last ``RATE_HORIZON_S``. After a while
  without refusals it creeps up, to find out whether more is allowed: a guess fast, up
  to the most the reopening allows; a rate a refusal met slowly, by time, and not as far
  as the rate refused, for a while (docs/engine.md).
- **Rate limits slow the whole pool** (AIMD), as the safety net. A limit halves the number
  of running workers and pauses new starts (the API's retry-after, else 1 s doubling per
  limit in a row); a limit met by a process that was already in flight when the pool
  slowed down is the same storm, not a new one; at one worker, starts are paced; every
  success eases the pacing, then adds a worker back after a round of successes, never
  above ``chunk_workers``. Once a learned rate paces the starts, each success adds a
  worker back at once: the rate keeps the requests under the limit.
- **An unreachable API opens a circuit breaker**: no starts until a probe is due, then one
  chunk at a time (half-open) until an answer closes it; after ``patience_s`` of outage
  the run gives up.
- **Starts are staggered** so N processes never hit the API in one burst. While a run
  knows no rate of its API (no earlier run met a limit of it), its first round of starts
  goes one by one: each waits until the process started before it got an answer, or
  ``LAUNCH_GAP_S`` passed. Against a limit, the first refusal then comes with a worker or
  two in flight instead of all of them; without one, the first round costs up to a
  second a worker, once: as many workers as an earlier run started against the API
  without a refusal (``free_starts``, rate_memory.py) start at once (docs/decisions.md).
- **A usage limit stops the whole pool until it resets** (``usage_limit.py``): nothing
  starts before the reset time the CLI named (plus a little jitter), then one chunk probes,
  and the others follow, staggered, once an answer came through. With no reset time known,
  probes go at growing intervals. The wait counts against no attempt and no patience; a
  reset further away than ``max_usage_wait_s`` gives up at once (headless: exit 1).

The governor decides; the manager acts and tells the user. Methods return what changed
(``Transition``, ``Slowdown``) rather than emitting anything themselves.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum

from tui_orchestrator.engine.runner import OutcomeKind
from tui_orchestrator.engine.usage_limit import (
    RESET_JITTER_S,
    UNKNOWN_FIRST_S,
    UNKNOWN_MAX_S,
    UsageLimit,
)

# The pool's pause after a rate limit with no retry-after: doubles per limit in a row.
LIMIT_PAUSE_S = 1.0
MAX_PAUSE_S = 60.0
# The breaker's first probe waits this long, doubling per failed probe up to PROBE_MAX_S.
PROBE_BASE_S = 2.0
PROBE_MAX_S = 60.0
# Starts are spread out a little so N processes never hit the API in one burst, and more
# while the pool recovers from a rate limit.
STAGGER_S = 0.15
RECOVERY_STAGGER_S = 0.5
# The first round of a run that knows no rate: the longest a start waits for an answer to
# the start before it (about one CLI's start-up on a laptop).
LAUNCH_GAP_S = 1.0
# The learned rate: accepted requests over RATE_HORIZON_S (the API's windows are a
# minute or less), used at RATE_MARGIN, cut by RATE_BACKOFF per refusal (never below the
# rate accepted, over RATE_FLOOR_SPAN_S at least), and grown by RATE_GROWTH after each
# RATE_QUIET_S without a refusal or growth. A refusal costs a process and a resume that
# sends the whole history again; a request sent a little late costs little, so it creeps
# up slowly (by time: per answer, it would creep the faster the more the API allows), and
# while a refusal is fresh (RATE_HORIZON_S) no further than RATE_CEILING of the rate that
# met it. Until a refusal met the paced rate, the rate is a guess from a burst and the
# API's reopening, which may be far too low: it grows faster (RATE_GUESS_GROWTH per
# answer after RATE_GUESS_QUIET_S), up to the most the API's reopening allows.
RATE_HORIZON_S = 60.0
RATE_MARGIN = 0.95
RATE_BACKOFF = 0.85
RATE_FLOOR_SPAN_S = 10.0
RATE_GROWTH = 1.02
RATE_QUIET_S = 10.0
RATE_CEILING = 0.95
RATE_GUESS_GROWTH = 1.05
RATE_GUESS_QUIET_S = 5.0
# It grows no further than this many times the rate the API accepted over RATE_HORIZON_S.
RATE_USED_CAP = 1.5
# After the first refusals of a cold start, the API's window began about when its first
# request was accepted: each probe's request goes this many times as long after that as
# the refusal before it, so the reopening is bracketed as closely for a window of seconds
# as of a minute (what it costs in refused probes: docs/engine.md). Their pauses get less
# jitter (PROBE_JITTER): it would spread them as much as the rule narrows them.
PROBE_SPREAD = 1.3
PROBE_JITTER = 1.05


@dataclass(frozen=True, slots=True)
class Clock:
    """Monotonic time for intervals and wall time for moments the API names (a reset at
    14:00); tests pass functions of their own."""

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time


class Circuit(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Admit(Enum):
    """May a queued chunk start now?"""

    NO = "no"
    YES = "yes"
    # Yes, as the one probe of a half-open breaker: the manager says so to the user.
    PROBE = "probe"
    # Yes, as the one chunk that tries whether a usage limit has reset.
    USAGE_PROBE = "usage probe"


class Transition(StrEnum):
    """A change of the pool the user hears about."""

    GREW = "grew"  # one more worker after a round of successes
    OPENED = "opened"  # the API is unreachable: dispatch paused
    CLOSED = "closed"  # the API answers again
    GAVE_UP = "gave up"  # unreachable for longer than the patience


@dataclass(frozen=True, slots=True)
class Slowdown:
    """What a rate limit did to the pool."""

    delay_s: float  # how long new starts now wait
    until: float  # the monotonic time the pause ends
    new_storm: bool  # False: a process already in flight met the same storm
    gave_up: bool = False  # limited for longer than the patience: the chunk fails


@dataclass(frozen=True, slots=True)
class UsageWait:
    """What a usage limit did to the pool."""

    until: float  # the wall-clock time nothing starts before
    started: bool  # a new wait began (the user hears of it once)
    gave_up: bool = False  # the reset is further away than the longest wait allowed


@dataclass(frozen=True, slots=True)
class PoolState:
    """The pool as the screens show it."""

    chunk_workers: int  # the user's number
    concurrency: int  # the adaptive cap (below ``chunk_workers`` while recovering from limits)
    backoff_s: float  # seconds left of the rate-limit pause
    circuit: Circuit
    start_gap_s: float  # seconds between starts while paced at one worker
    outage_s: float  # seconds the API has been unreachable (0: it answers)
    # The usage limit the pool waits out (None: none), and the wall time its wait ends.
    usage: UsageLimit | None = None
    usage_until: float = 0.0
    # "five-hour usage at 91%": close to a usage limit (quota news; nothing slows down).
    usage_warning: str = ""

    @property
    def limited(self) -> bool:
        return self.concurrency < self.chunk_workers


class PoolGovernor:
    """Concurrency, the rate-limit pause, pacing and the circuit breaker of one run."""

    def __init__(
        self,
        chunk_workers: int,
        patience_s: float,
        clock: Clock | None = None,
        jitter: Callable[[float, float], float] = random.uniform,
        max_usage_wait_s: float | None = None,
        known_rate: float | None = None,
        free_starts: int = 0,
    ) -> None:
        self.clock = clock or Clock()
        self.patience_s = patience_s
        # The longest wait for a usage limit's reset (None: however long it takes).
        self.max_usage_wait_s = max_usage_wait_s
        self.usage: UsageLimit | None = None
        self.usage_warning = ""
        self._usage_until = 0.0  # wall time
        self._usage_since = 0.0  # wall time the wait began
        self._usage_began = float("-inf")  # monotonic time of the latest hold
        self._usage_level = 0  # probes so far with no reset time known
        # Requests the API accepted (monotonic times, the last RATE_HORIZON_S), the
        # latest refusal, the allowed rate learned from them (None: no limit met yet),
        # and how many requests a chunk makes (accepted ones over chunks done).
        self._accepted: deque[float] = deque()
        self._last_refusal = float("-inf")
        self._last_accepted = float("-inf")
        # The rate an earlier run learned of this API (rate_memory.py) paces the first
        # starts; it needs no correction, and it grows while nothing is refused.
        self._corrected = known_rate is not None  # the estimate was checked (or known)
        self.rate: float | None = known_rate
        self.known_rate = known_rate
        # The rate the latest refusal met (None: none in RATE_HORIZON_S since the rate
        # was learned), and whether a refusal ever met the paced rate (else it is a guess).
        self._ceiling: float | None = None
        self._met_while_paced = known_rate is not None
        # The most the API allows, from the refusal before it reopened (None: not known).
        self._bound: float | None = None
        self._grown_at = float("-inf")  # the latest growth of a rate a refusal met
        # The first accepted request of a first round that met a refusal: the start of
        # the API's window, which the probes after it are spread from (None: no such).
        self._window_began: float | None = None
        # The first round of starts of a run that knows no rate goes one by one: the
        # next start waits for an answer to the latest (started after ``_previous_start_at``)
        # or LAUNCH_GAP_S; but for the first ``free_starts``, as many as an earlier run
        # started against this API without a refusal (rate_memory.py).
        self._launching = known_rate is None
        self._free_starts = free_starts
        self._launch_starts = 0
        self._launch_answered = False
        self._previous_start_at = float("-inf")
        self._startup_s = 0.0  # a process's start to its first answer, latest measured
        self._startup_of = float("-inf")  # (the start it was measured for)
        self._requests = 0
        self.refusals = 0
        self._chunks_done = 0
        self._done_requests = 0  # requests of the sessions that finished their chunk
        # A random factor on every pause, so workers of several runs do not retry in step.
        self._jitter = jitter
        self.chunk_workers = max(1, chunk_workers)
        self.concurrency = self.chunk_workers
        self._pause_until = 0.0
        self._limit_level = 0
        self._limited_since: float | None = None
        self._last_limit_at = float("-inf")
        self._start_gap = 0.0
        self._successes = 0
        self._next_start_at = 0.0
        self._last_start_at = float("-inf")
        self.circuit = Circuit.CLOSED
        self._outage_since: float | None = None
        self._probe_at = 0.0
        self._probe_level = 0

    def _now(self) -> float:
        return self.clock.monotonic()

    # ------------------------------------------------------------------- starting

    def admit(self, running: int) -> Admit:
        """May one more chunk start now, with ``running`` at work?"""
        now = self._now()
        if now < self._pause_until or now < self._next_start_at:
            return Admit.NO
        if self.usage is not None:
            # Until the reset nothing starts; then one chunk tries, alone.
            if self.clock.wall() < self._usage_until or running > 0:
                return Admit.NO
            return Admit.USAGE_PROBE
        if self.circuit is Circuit.OPEN:
            if now < self._probe_at:
                return Admit.NO
            self.circuit = Circuit.HALF_OPEN
            return Admit.PROBE if running == 0 else Admit.NO
        if self.circuit is Circuit.HALF_OPEN:
            return Admit.NO if running >= 1 else Admit.YES
        return Admit.YES if running < min(self.concurrency, self.chunk_workers) else Admit.NO

    def started(self) -> None:
        """A chunk started: the next waits a little (more while the pool recovers, as
        long as the learned request rate asks, and in the first round until an answer)."""
        gap = RECOVERY_STAGGER_S if self.concurrency < self.chunk_workers else STAGGER_S
        gap = max(gap, self._start_gap, self.rate_gap())
        if self._launching:
            self._launch_starts += 1
            self._launch_answered = False
            if self._launch_starts >= self.chunk_workers:
                self._launching = False
            elif self._launch_starts >= self._free_starts:
                gap = max(gap, LAUNCH_GAP_S)
        self._previous_start_at = self._last_start_at
        self._last_start_at = self._now()
        self._next_start_at = self._last_start_at + gap

    @property
    def launching(self) -> bool:
        """Is the pool in its first round, starting one chunk per answer?"""
        return self._launching

    @property
    def started_freely(self) -> int:
        """How many starts of the first round met no refusal (0: one did, or the run
        knew a rate and had no first round): the next run may start as many at once."""
        return 0 if self.refusals else self._launch_starts

    # ------------------------------------------------------------------ request rate

    @property
    def requests(self) -> int:
        """Model requests the API accepted so far."""
        return self._requests

    @property
    def requests_per_chunk(self) -> float:
        """Requests a start makes, as the chunks done made them over their sessions: a try
        cut short by a refusal and its resume count as one chunk (counted alone, a resume
        that makes one request of two would make the chunks look cheaper than they are)."""
        if not self._chunks_done or not self._done_requests:
            return 2.0
        return self._done_requests / self._chunks_done

    def rate_gap(self) -> float:
        """Seconds between starts that keep the requests under the learned rate."""
        if self.rate is None:
            return 0.0
        return self.requests_per_chunk / (RATE_MARGIN * self.rate)

    def answered(self, started_at: float = float("-inf")) -> bool:
        """The API accepted a request of a process started at monotonic ``started_at``.
        True when that lets the next start of the first round go now (the caller wakes
        its dispatch): it answered the latest start."""
        now = self._now()
        opened = False
        if started_at > self._startup_of:
            self._startup_of = started_at
            self._startup_s = now - started_at
        latest = started_at > self._previous_start_at
        if self._launching and latest and not self._launch_answered and self._launch_starts:
            self._launch_answered = True
            opened = self._next_start_at > now
            self._next_start_at = min(
                self._next_start_at, max(now, self._last_start_at + STAGGER_S)
            )
        if (
            self.rate is not None
            and not self._corrected
            and self._last_refusal > self._last_accepted
        ):
            self._reopened(now)
        self._accepted.append(now)
        self._last_accepted = now
        self._requests += 1
        self._forget(now)
        self._grow(now)
        return opened

    def _grow(self, now: float) -> None:
        """A while without a refusal: ask a little more (see the constants)."""
        if self.rate is None:
            return
        if self._ceiling is not None and now - self._last_refusal > RATE_HORIZON_S:
            self._ceiling = None  # long enough: find out whether more is allowed now
        if self._ceiling is None and not self._met_while_paced:
            growth, since = RATE_GUESS_GROWTH, now - self._last_refusal
            quiet = RATE_GUESS_QUIET_S
        else:
            # (once a refusal met it, by time: per answer, it would creep up the faster
            # the more requests the API allows)
            growth, since = RATE_GROWTH, now - max(self._last_refusal, self._grown_at)
            quiet = RATE_QUIET_S
        if since <= quiet:
            return
        self._grown_at = now
        grown = self.rate * growth
        if self._ceiling is not None:
            grown = min(grown, RATE_CEILING * self._ceiling)
        if self._bound is not None and not self._met_while_paced:
            grown = min(grown, self._bound)
        used = self._accepted_rate(now, min_span=RATE_FLOOR_SPAN_S)
        if used is not None:
            # (a rate the pool does not come near says nothing of the API)
            grown = min(grown, RATE_USED_CAP * used)
        self.rate = max(self.rate, grown)

    def _forget(self, now: float) -> None:
        while self._accepted and now - self._accepted[0] > RATE_HORIZON_S:
            self._accepted.popleft()

    def _accepted_rate(self, now: float, min_span: float) -> float | None:
        """Requests accepted over the last RATE_HORIZON_S, per second, over at least
        ``min_span`` seconds (None: too few)."""
        self._forget(now)
        if len(self._accepted) < 2:
            return None
        return len(self._accepted) / max(min_span, now - self._accepted[0])

    def _refused(self) -> None:
        """The API refused a request: the first refusal takes the rate accepted so far;
        later ones step the rate down, never below the rate the API did accept."""
        now = self._now()
        self._last_refusal = now
        self.refusals += 1
        if self._launching and self.rate is None and self._accepted:
            self._window_began = self._accepted[0]
        self._launching = False
        if self._corrected and self.rate is not None:
            self._ceiling = self.rate  # (a rate guessed from a burst says nothing)
            self._met_while_paced = True
        if self.rate is None:
            self.rate = self._accepted_rate(now, min_span=1.0)
        else:
            # (over RATE_FLOOR_SPAN_S at least: a few requests accepted in a burst are no rate)
            floor = self._accepted_rate(now, min_span=RATE_FLOOR_SPAN_S) or 0.0
            self.rate = max(floor, self.rate * RATE_BACKOFF)
        self._repace()

    def _reopened(self, now: float) -> None:
        """The first request accepted after the first refusals: the requests accepted
        before them took until the API made room again to be allowed, which is the rate
        it allows. The first estimate came from a burst and is too high; this corrects
        it, once."""
        self._corrected = True
        if now - self._last_refusal > RATE_QUIET_S:
            return  # nothing was sent for a while: the wait tells nothing of the API
        before = [t for t in self._accepted if t <= self._last_refusal]
        # (room was made between the last refusal and now: the middle of the two)
        reopened = (self._last_refusal + now) / 2
        if len(before) >= 2 and reopened > before[0]:
            self.rate = min(self.rate or float("inf"), len(before) / (reopened - before[0]))
            # (the API had made no room yet at the last refusal: at most this rate)
            self._bound = len(before) / (self._last_refusal - before[0])
            self._repace()

    def _repace(self) -> None:
        """The rate went down: the next start keeps the new gap from the latest, not the
        gap the old rate gave it."""
        self._next_start_at = max(self._next_start_at, self._last_start_at + self.rate_gap())

    def next_wakeup(self) -> float | None:
        """The next monotonic time the pool may admit a start it refuses now (None: none)."""
        now = self._now()
        times = [self._pause_until, self._next_start_at]
        if self.circuit is Circuit.OPEN:
            times.append(self._probe_at)
        if self.usage is not None:
            times.append(now + self._usage_until - self.clock.wall())
        future = [t for t in times if t > now]
        return min(future) if future else None

    def set_chunk_workers(self, n: int) -> None:
        """The user's number of workers; growing it lifts the cap unless limits hold it."""
        n = max(1, n)
        grow = n > self.chunk_workers
        self.chunk_workers = n
        if grow and self._limited_since is None:
            self.concurrency = n
        elif not grow:
            self.concurrency = min(self.concurrency, n)

    def hold_until_wall(self, moment: float) -> None:
        """No start before the wall-clock ``moment`` (a usage limit that resets at 14:00)."""
        wait = moment - self.clock.wall()
        if wait > 0:
            self._pause_until = max(self._pause_until, self._now() + wait)

    # ---------------------------------------------------------------- usage limits

    def on_usage_limit(self, limit: UsageLimit, started_at: float) -> UsageWait:
        """A process met a usage limit (it had started at monotonic ``started_at``): the
        pool waits for the reset, or with none known, for the next probe."""
        wall = self.clock.wall()
        started = self.usage is None
        self._launching = False  # after the reset, the chunks follow staggered
        if started:
            self._usage_since = wall
            self._usage_until = 0.0
        if limit.resets_at is not None:
            until = limit.resets_at + self._jitter(*RESET_JITTER_S)
            self.usage = limit
        elif started or started_at >= self._usage_began:
            # A probe (or a first start) met it again: the next probe waits longer. Processes
            # that were in flight when the wait began meet the same limit: no step up.
            interval = min(UNKNOWN_MAX_S, UNKNOWN_FIRST_S * 2**self._usage_level)
            self._usage_level += 1
            until = wall + interval * self._jitter(1.0, 1.1)
            if self.usage is None or self.usage.resets_at is None:
                self.usage = limit
        else:
            until = self._usage_until
        self._usage_until = max(self._usage_until, until)
        self._usage_began = self._now()
        limit_s = self.max_usage_wait_s
        known = self.usage.resets_at is not None
        waited = self._usage_until - (wall if known else self._usage_since)
        gave_up = limit_s is not None and waited > limit_s
        return UsageWait(self._usage_until, started, gave_up)

    def usage_cleared(self) -> bool:
        """An answer came through: a usage limit is over; the chunks waiting for it follow,
        staggered as after a rate limit. True when a wait ended."""
        if self.usage is None:
            return False
        self.usage = None
        self._usage_level = 0
        self._usage_until = 0.0
        self._start_gap = max(self._start_gap, RECOVERY_STAGGER_S)
        return True

    # ------------------------------------------------------------------- outcomes

    def on_outcome(self, kind: OutcomeKind, requests: int = 0) -> list[Transition]:
        """A process ended with ``kind``, its chunk's session having had ``requests`` model
        requests answered (rate limits go to ``on_limit``)."""
        changes: list[Transition] = []
        if kind is OutcomeKind.OUTAGE:
            return self._outage()
        if self.circuit is not Circuit.CLOSED or self._outage_since is not None:
            self.circuit = Circuit.CLOSED
            self._outage_since = None
            self._probe_level = 0
            changes.append(Transition.CLOSED)
        if kind is OutcomeKind.OK:
            self._chunks_done += 1
            self._done_requests += requests
        if kind is OutcomeKind.OK and self._recovered():
            changes.append(Transition.GREW)
        return changes

    def on_limit(self, started_at: float, retry_after: float | None, running: int) -> Slowdown:
        """A chunk's process ended rate limited (it had started at ``started_at``)."""
        now = self._now()
        if self._limited_since is None:
            self._limited_since = now
        if now - self._limited_since > self.patience_s:
            return Slowdown(0.0, self._pause_until, new_storm=False, gave_up=True)
        return self._slow(started_at, retry_after, running)

    def on_throttle(self, started_at: float, retry_after: float | None, running: int) -> Slowdown:
        """A chunk's CLI met a 429/529 and retries it itself: the chunk runs on, but the
        pool slows down as for a limit, before the other workers meet it too."""
        return self._slow(started_at, retry_after, running)

    def _slow(self, started_at: float, retry_after: float | None, running: int) -> Slowdown:
        """Half the workers (multiplicative decrease), and nobody starts before the pause
        ends; at one worker, starts are paced. A process that was already in flight when
        the pool slowed down meets the same storm: it neither doubles the pause nor halves
        the pool again (only a longer retry-after extends the pause)."""
        now = self._now()
        self._refused()
        if started_at < self._last_limit_at:
            if retry_after is not None:
                self._pause_until = max(self._pause_until, now + retry_after)
            return Slowdown(max(0.0, self._pause_until - now), self._pause_until, False)
        if retry_after is None:
            retry_after = self._probe_pause(now)
        jitter = PROBE_JITTER if self._learning else 1.25
        delay = min(MAX_PAUSE_S, retry_after) * self._jitter(1.0, jitter)
        self._limit_level = min(self._limit_level + 1, 6)
        self._successes = 0
        self._last_limit_at = now
        if self.concurrency == 1:
            self._start_gap = min(MAX_PAUSE_S, max(1.0, self._start_gap * 1.5))
        self.concurrency = max(1, min(self.concurrency, running + 1) // 2)
        self._pause_until = max(self._pause_until, now + delay)
        return Slowdown(delay, self._pause_until, True)

    def _probe_pause(self, now: float) -> float:
        """The pause after a refusal: exponential in the limits met in a row (a success
        resets it). But after refusals in the first round, until the API accepts again,
        the next probe's request (a process's start-up after its start) goes PROBE_SPREAD
        times as long after the window began as this refusal."""
        if self._learning and self._window_began is not None:
            began = self._window_began
            target = began + PROBE_SPREAD * (now - began) - self._startup_s
            return max(LIMIT_PAUSE_S, target - now)
        return LIMIT_PAUSE_S * 2**self._limit_level

    @property
    def _learning(self) -> bool:
        """Refused in the first round, and the API has not accepted again since."""
        return self._window_began is not None and not self._corrected

    def _recovered(self) -> bool:
        """A success: pacing eases off first; then, after a round of successes, one more
        worker (additive increase). Once a learned rate paces the starts, it keeps the
        requests under the limit: each success adds a worker back at once. True when the
        pool grew."""
        self._limited_since = None
        self._limit_level = 0
        if self.rate is not None and self._corrected:
            self._start_gap = 0.0
            if self.concurrency >= self.chunk_workers:
                return False
            self.concurrency += 1
            return True
        if self._start_gap > 0:
            self._start_gap *= 0.95
            if self._start_gap < 0.2:
                self._start_gap = 0.0
            return False
        if self.concurrency >= self.chunk_workers:
            return False
        self._successes += 1
        if self._successes < self.concurrency:
            return False
        self.concurrency += 1
        self._successes = 0
        return True

    def _outage(self) -> list[Transition]:
        now = self._now()
        if self._outage_since is None:
            self._outage_since = now
        if now - self._outage_since > self.patience_s:
            return [Transition.GAVE_UP]
        delay = min(PROBE_MAX_S, PROBE_BASE_S * 2**self._probe_level) * self._jitter(1.0, 1.2)
        self._probe_level = min(self._probe_level + 1, 8)
        opened = self.circuit is not Circuit.OPEN
        self.circuit = Circuit.OPEN
        self._probe_at = now + delay
        return [Transition.OPENED] if opened else []

    # ---------------------------------------------------------------------- reading

    def state(self) -> PoolState:
        now = self._now()
        return PoolState(
            chunk_workers=self.chunk_workers,
            concurrency=self.concurrency,
            backoff_s=max(0.0, self._pause_until - now),
            circuit=self.circuit,
            start_gap_s=self._start_gap,
            outage_s=0.0 if self._outage_since is None else now - self._outage_since,
            usage=self.usage,
            usage_until=self._usage_until if self.usage is not None else 0.0,
            usage_warning=self.usage_warning,
        )
