"""The pool governor's rules, one by one, on a fake clock (no process, no sleep)."""

from __future__ import annotations

import pytest

from tui_orchestrator.engine.pool import (
    Admit,
    Circuit,
    Clock,
    PoolGovernor,
    Transition,
)
from tui_orchestrator.engine.runner import OutcomeKind


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> Clock:
        return Clock(monotonic=lambda: self.now, wall=lambda: 1_700_000_000.0 + self.now)


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def governor(time: FakeTime, workers: int, patience_s: float = 900.0) -> PoolGovernor:
    # No jitter: every pause is exactly its rule's length.
    return PoolGovernor(workers, patience_s, time.clock(), jitter=lambda low, _high: low)


def test_a_limit_halves_the_running_workers_and_pauses_every_start(time: FakeTime) -> None:
    pool = governor(time, 8)
    assert pool.admit(running=7) is Admit.YES
    slow = pool.on_limit(started_at=90.0, retry_after=None, running=8)
    assert slow.new_storm and slow.delay_s == 1.0  # 1 s for the first limit in a row
    assert pool.state().concurrency == 4 and pool.state().limited
    assert pool.admit(running=0) is Admit.NO  # nobody starts during the pause
    time.now += 1.0
    assert pool.admit(running=3) is Admit.YES
    assert pool.admit(running=4) is Admit.NO  # the cap is the halved number


def test_the_apis_retry_after_is_the_pause(time: FakeTime) -> None:
    pool = governor(time, 4)
    slow = pool.on_limit(started_at=90.0, retry_after=7.0, running=4)
    assert slow.delay_s == 7.0 and slow.until == time.now + 7.0
    assert pool.next_wakeup() == time.now + 7.0


def test_processes_in_flight_meet_the_same_storm_not_a_new_one(time: FakeTime) -> None:
    pool = governor(time, 8)
    pool.on_limit(started_at=90.0, retry_after=None, running=8)  # at 100: 8 -> 4
    time.now = 100.5
    # Started at 95, before the pool slowed down: the same storm.
    same = pool.on_limit(started_at=95.0, retry_after=None, running=7)
    assert not same.new_storm
    assert pool.state().concurrency == 4  # not halved again
    assert same.until == 101.0  # the pause not doubled
    # ...but a longer retry-after from it extends the pause.
    longer = pool.on_throttle(started_at=95.0, retry_after=3.0, running=7)
    assert not longer.new_storm and longer.until == 103.5
    # One started after the slowdown meets a new storm: halved, and the pause doubles.
    time.now = 104.0
    new = pool.on_limit(started_at=103.8, retry_after=None, running=4)
    assert new.new_storm and new.delay_s == 2.0
    assert pool.state().concurrency == 2


def test_at_one_worker_starts_are_paced_and_the_pacing_eases_on_success(time: FakeTime) -> None:
    pool = governor(time, 1)
    pool.on_limit(started_at=90.0, retry_after=None, running=1)
    assert pool.state().concurrency == 1 and pool.state().start_gap_s == 1.0
    time.now += 1.0
    assert pool.admit(running=0) is Admit.YES
    pool.started()
    pool.on_outcome(OutcomeKind.OK)  # that start succeeded at once
    assert pool.admit(running=0) is Admit.NO  # the next waits its gap
    time.now += 1.0
    assert pool.admit(running=0) is Admit.YES
    assert pool.state().start_gap_s == pytest.approx(0.95)
    # Another limit in a row at one worker paces harder.
    pool.on_limit(started_at=time.now, retry_after=None, running=1)
    assert pool.state().start_gap_s == pytest.approx(1.425)


def test_successes_grow_the_pool_back_one_worker_a_round_never_above_workers(
    time: FakeTime,
) -> None:
    pool = governor(time, 4)
    pool.on_limit(started_at=90.0, retry_after=None, running=4)
    assert pool.state().concurrency == 2
    grown: list[int] = []
    for _ in range(20):
        if Transition.GREW in pool.on_outcome(OutcomeKind.OK):
            grown.append(pool.state().concurrency)
    # A round is as many successes as the cap: 2 successes to 3, 3 more to 4, then no more.
    assert grown == [3, 4]
    assert pool.state().concurrency == 4 and not pool.state().limited


def test_fewer_workers_lower_the_cap_and_more_lift_it_unless_limits_hold_it(
    time: FakeTime,
) -> None:
    pool = governor(time, 4)
    pool.set_chunk_workers(2)
    assert pool.admit(running=2) is Admit.NO
    pool.set_chunk_workers(6)
    assert pool.state().concurrency == 6
    pool.on_limit(started_at=90.0, retry_after=None, running=6)
    pool.set_chunk_workers(8)  # still limited: the cap stays where the limit put it
    assert pool.state().concurrency == 3 and pool.state().chunk_workers == 8


def test_the_breaker_opens_probes_once_half_open_and_closes_on_an_answer(
    time: FakeTime,
) -> None:
    pool = governor(time, 4)
    assert pool.on_outcome(OutcomeKind.OUTAGE) == [Transition.OPENED]
    assert pool.state().circuit is Circuit.OPEN
    assert pool.admit(running=0) is Admit.NO
    assert pool.next_wakeup() == time.now + 2.0  # the first probe after 2 s
    time.now += 2.0
    assert pool.admit(running=0) is Admit.PROBE
    assert pool.state().circuit is Circuit.HALF_OPEN
    assert pool.admit(running=1) is Admit.NO  # one probe at a time
    # The probe failed too: open again, and the next probe waits twice as long.
    assert pool.on_outcome(OutcomeKind.OUTAGE) == [Transition.OPENED]
    assert pool.next_wakeup() == time.now + 4.0
    # Another process failing meanwhile: already open (said once), the wait doubles on.
    assert pool.on_outcome(OutcomeKind.OUTAGE) == []
    assert pool.next_wakeup() == time.now + 8.0
    time.now += 8.0
    assert pool.admit(running=0) is Admit.PROBE
    # An answer closes it: the whole pool may start again.
    assert pool.on_outcome(OutcomeKind.OK) == [Transition.CLOSED]
    assert pool.state().circuit is Circuit.CLOSED and pool.state().outage_s == 0
    assert pool.admit(running=3) is Admit.YES


def test_an_outage_longer_than_the_patience_gives_up(time: FakeTime) -> None:
    pool = governor(time, 2, patience_s=60.0)
    pool.on_outcome(OutcomeKind.OUTAGE)
    time.now += 30.0
    assert Transition.GAVE_UP not in pool.on_outcome(OutcomeKind.OUTAGE)
    assert pool.state().outage_s == 30.0
    time.now += 31.0
    assert pool.on_outcome(OutcomeKind.OUTAGE) == [Transition.GAVE_UP]


def test_limits_longer_than_the_patience_fail_the_chunk(time: FakeTime) -> None:
    pool = governor(time, 2, patience_s=60.0)
    assert not pool.on_limit(started_at=90.0, retry_after=None, running=2).gave_up
    time.now += 61.0
    assert pool.on_limit(started_at=time.now - 1, retry_after=None, running=1).gave_up
    # A success in between starts the patience afresh.
    pool.on_outcome(OutcomeKind.OK)
    assert not pool.on_limit(started_at=time.now, retry_after=None, running=1).gave_up


def test_a_wall_clock_moment_holds_every_start_until_it_comes(time: FakeTime) -> None:
    pool = governor(time, 2)
    reset = time.clock().wall() + 120.0  # "resets in two minutes"
    pool.hold_until_wall(reset)
    assert pool.admit(running=0) is Admit.NO
    assert pool.state().backoff_s == 120.0
    time.now += 120.0
    assert pool.admit(running=0) is Admit.YES


def test_starts_are_staggered_more_while_the_pool_recovers(time: FakeTime) -> None:
    pool = governor(time, 4)
    pool.started()
    assert pool.next_wakeup() == pytest.approx(time.now + 1.0)  # the first round: 1 s
    assert pool.answered(started_at=time.now)  # ... or until it got an answer, then a stagger
    assert pool.next_wakeup() == pytest.approx(time.now + 0.15)
    pool.on_limit(started_at=90.0, retry_after=None, running=4)
    time.now += 10.0
    pool.started()
    assert pool.next_wakeup() == pytest.approx(time.now + 0.5)


def test_starts_are_paced_to_the_request_rate_learned_from_accepted_and_refused(
    time: FakeTime,
) -> None:
    """The API accepted 10 requests in 10 s, then refused one: about 1 request/s is what
    it allows. Two requests a chunk: a start every 2 s (with a margin), not sooner."""
    pool = governor(time, 8)
    assert pool.rate is None and pool.rate_gap() == 0.0  # no limit met: no pacing
    for _ in range(10):
        pool.answered()
        time.now += 1.0
    for _ in range(5):
        pool.on_outcome(OutcomeKind.OK)  # five chunks done: two requests each
    pool.on_limit(started_at=time.now - 1, retry_after=None, running=1)
    assert pool.rate == pytest.approx(1.0)
    assert pool.rate_gap() == pytest.approx(2 / 0.95)
    time.now += 60  # past the pause
    assert pool.admit(running=0) is Admit.YES
    pool.started()
    time.now += 2.0
    assert pool.admit(running=0) is Admit.NO  # paced: 2.1 s between starts
    time.now += 0.3
    assert pool.admit(running=0) is Admit.YES
    # A while without refusals: the rate grows a little with each accepted request.
    before = pool.rate
    pool.answered()
    assert pool.rate == pytest.approx(before * 1.05)
    assert pool.refusals == 1 and pool.requests == 11


def test_a_burst_of_first_requests_over_estimates_the_rate_and_the_reopening_corrects_it(
    time: FakeTime,
) -> None:
    """Eight workers start at once against 4 requests per 4 s: four are accepted within
    half a second, then refusals. The first estimate (4 a second) is far too high; the
    API accepts again about 4 s after the first acceptance: about 1 a second."""
    pool = governor(time, 8)
    for _ in range(4):
        pool.answered()
        time.now += 0.125
    for _ in range(4):
        pool.on_limit(started_at=time.now - 1, retry_after=None, running=8)
    burst = pool.rate
    assert burst is not None and burst > 2.0  # each refusal of the burst stepped it down
    time.now += 2.0
    pool.on_limit(started_at=time.now - 0.5, retry_after=None, running=1)  # a probe, too soon
    time.now = 100.0 + 5.5
    pool.answered()  # room was made between the probe (102.5) and now: at 104
    assert pool.rate == pytest.approx(4 / 4.0)
    # Corrected once: later acceptances after refusals do not pull it down again.
    pool.on_limit(started_at=time.now - 0.5, retry_after=None, running=1)
    stepped = pool.rate
    assert stepped == pytest.approx(0.85)  # a step down from the corrected rate
    time.now += 3.0
    pool.answered()
    assert pool.rate == pytest.approx(stepped)


def test_a_refusal_while_paced_steps_the_rate_down_but_not_below_what_was_accepted(
    time: FakeTime,
) -> None:
    pool = governor(time, 8)
    for _ in range(30):
        pool.answered()
        time.now += 1.0
    pool.on_limit(started_at=time.now - 1, retry_after=None, running=1)
    assert pool.rate == pytest.approx(1.0)  # 30 accepted in 30 s
    time.now += 60.0
    for _ in range(60):  # a minute at 2 a second, without a refusal: the rate crept up
        pool.answered()
        time.now += 0.5
    grown = pool.rate
    assert grown > 1.5
    pool.on_limit(started_at=time.now - 1, retry_after=None, running=1)
    assert pool.rate == pytest.approx(max(grown * 0.85, 60 / 30))
    for _ in range(5):  # refusal after refusal: never below what the API did accept
        pool.on_limit(started_at=time.now - 1, retry_after=None, running=1)
    assert pool.rate == pytest.approx(60 / 30)


def test_requests_per_chunk_counts_the_chunks_done(time: FakeTime) -> None:
    """What the chunks done made over their sessions (the chunk book counts a resumed
    try's requests with the try before it)."""
    pool = governor(time, 4)
    assert pool.requests_per_chunk == 2.0  # nothing finished yet: a guess
    for _ in range(7):
        pool.answered()  # 3 of a chunk still to finish, 4 of two chunks done
    pool.on_outcome(OutcomeKind.OK, requests=2)
    pool.on_outcome(OutcomeKind.OK, requests=2)
    assert pool.requests_per_chunk == pytest.approx(2.0)
    assert pool.requests == 7


def test_a_rate_an_earlier_run_learned_paces_the_first_starts(time: FakeTime) -> None:
    """The next run against the same API does not burst: its first starts are paced to
    the rate kept (rate_memory.py), and it grows while nothing is refused."""
    pool = PoolGovernor(8, 900.0, time.clock(), jitter=lambda low, _h: low, known_rate=1.0)
    assert pool.rate == 1.0 and pool.known_rate == 1.0
    assert pool.admit(running=0) is Admit.YES
    pool.started()
    time.now += 2.0
    assert pool.admit(running=1) is Admit.NO  # two requests a chunk at 0.95 x 1 request/s
    time.now += 0.3
    assert pool.admit(running=1) is Admit.YES
    pool.answered()
    assert pool.rate == pytest.approx(1.02)


def test_a_run_that_knows_no_rate_starts_its_first_round_one_by_one(time: FakeTime) -> None:
    """Eight CLIs started at once all send their first requests before any answer can tell
    a limit exists. The first round goes one by one instead: each start waits until the
    process started before it got an answer (a stagger at least), or 1 s at most."""
    pool = governor(time, 3)
    assert pool.launching
    first = time.now
    pool.started()
    time.now += 0.9
    assert pool.admit(running=1) is Admit.NO  # no answer yet
    time.now += 0.1
    assert pool.admit(running=1) is Admit.YES  # 1 s: the next goes anyway
    second = time.now
    pool.started()
    time.now += 0.05
    assert not pool.answered(started_at=first)  # the one before: still no answer to this
    assert pool.admit(running=2) is Admit.NO
    assert pool.answered(started_at=second)  # the latest got an answer: after the stagger
    assert pool.admit(running=2) is Admit.NO
    time.now += 0.11
    assert pool.admit(running=2) is Admit.YES
    assert not pool.answered(started_at=second)  # (its second answer opens nothing more)
    pool.started()  # the third of three workers: the first round is over
    assert not pool.launching
    assert pool.next_wakeup() == pytest.approx(time.now + 0.15)


def test_a_refusal_or_a_known_rate_ends_the_first_round(time: FakeTime) -> None:
    pool = governor(time, 8)
    pool.started()
    pool.on_limit(started_at=time.now, retry_after=None, running=1)
    assert not pool.launching  # from now on the learned rate paces the starts
    known = PoolGovernor(8, 900.0, time.clock(), jitter=lambda low, _h: low, known_rate=1.0)
    assert not known.launching


def test_a_rate_a_refusal_met_creeps_up_by_time_and_not_back_to_the_refused_one_while_fresh(
    time: FakeTime,
) -> None:
    """A known rate (or one a refusal met) creeps up 2% each 10 s without a refusal: by
    time, since per answer it would creep the faster the more the API allows. A refusal
    at a rate says the API allows less: for a minute the rate grows to 95% of it at most,
    then on, to find out whether more is allowed now."""
    pool = PoolGovernor(8, 900.0, time.clock(), jitter=lambda low, _h: low, known_rate=1.0)
    for _ in range(60):  # a request a second accepted, none refused
        pool.answered()
        time.now += 1.0
    top = pool.rate
    assert top == pytest.approx(1.02**6)  # at 0, 11, 22, 33, 44 and 55 s: not 60 times
    pool.on_limit(started_at=time.now - 1, retry_after=None, running=1)
    assert pool.rate == pytest.approx(1.0)  # not below the 1 a second the API accepted
    rates = []
    for _ in range(59):  # a minute without a refusal, at 1 a second
        pool.answered()
        rates.append(pool.rate)
        time.now += 1.0
    assert rates[10] == 1.0 and rates[11] == pytest.approx(1.02)  # 10 s quiet first
    assert rates[-1] == pytest.approx(0.95 * top)  # no further while the refusal is fresh
    for _ in range(12):  # over a minute since the refusal: it may grow past
        time.now += 1.0
        pool.answered()
    assert pool.rate == pytest.approx(0.95 * top * 1.02)


def test_a_rate_guessed_from_a_burst_grows_faster_until_a_refusal_meets_it(
    time: FakeTime,
) -> None:
    """The reopening may make the first estimate far too low (the probe after it came
    late): until a refusal met the paced rate, it grows 5% a request after 5 s."""
    pool = governor(time, 8)
    for _ in range(4):
        pool.answered()
        time.now += 0.25
    pool.on_limit(started_at=time.now - 1, retry_after=None, running=8)
    time.now += 7.0
    pool.answered()  # the API accepts again: 4 requests took until the middle (4.5 s)
    assert pool.rate == pytest.approx(4 / 4.5)
    for _ in range(10):  # 5 s after the refusal on it grows (as far as 1.5 x what is used)
        time.now += 0.5
        pool.answered()
    before = pool.rate
    time.now += 0.5
    pool.answered()
    assert before > 1.3 and pool.rate == pytest.approx(before * 1.05)  # 5% a request
    pool.on_limit(started_at=time.now - 1, retry_after=None, running=1)  # met while paced
    time.now += 6.0
    before = pool.rate
    pool.answered()
    assert pool.rate == before  # now it waits 10 s, and then grows 2% a request


def test_a_guessed_rate_grows_no_further_than_the_most_the_reopening_allows(
    time: FakeTime,
) -> None:
    """The API still refused a probe 4 s after the first of 4 accepted requests: it allows
    1 a second at most. Its next probe came late (a guess of 4 in 6 s); the guess grows
    fast, but not past that."""
    pool = governor(time, 8)
    for _ in range(4):
        pool.answered()
        time.now += 0.25
    pool.on_limit(started_at=time.now - 1, retry_after=None, running=8)  # at 101
    time.now = 104.0
    pool.on_limit(started_at=103.5, retry_after=None, running=1)  # a probe: still refused
    time.now = 108.0
    pool.answered()  # room was made between 104 and 108: the middle, 106
    assert pool.rate == pytest.approx(4 / 6)
    for _ in range(40):  # 20 s at 2 a second: 5% an answer after 5 s quiet
        time.now += 0.5
        pool.answered()
    assert pool.rate == pytest.approx(1.0)


def test_after_refusals_in_the_first_round_probes_spread_from_when_the_window_began(
    time: FakeTime,
) -> None:
    """A cold start met a limit: the API's window began about when its first request was
    accepted. Each probe's request (a process's start-up after its start) goes 1.3 times
    as long after that as the refusal before it, so the reopening is bracketed as closely
    for a window of 4 s as of a minute. Once the API accepts again, pauses double again."""
    pool = governor(time, 8)
    first = time.now
    pool.started()
    time.now += 0.8
    pool.answered(started_at=first)  # 0.8 s from start to answer; the window began at 100.8
    time.now += 0.2
    second = time.now
    pool.started()
    time.now += 0.8
    pool.answered(started_at=second)
    time.now = 120.8  # a refusal 20 s into the window: the next probe's request at 126.8
    slow = pool.on_limit(started_at=120.0, retry_after=None, running=1)
    assert slow.delay_s == pytest.approx(126.8 - 0.8 - 120.8)  # (doubling: 1 s, then 2 s...)
    time.now = 126.8
    slow = pool.on_limit(started_at=126.0, retry_after=None, running=1)  # 26 s in: at 134.6
    assert slow.delay_s == pytest.approx(134.6 - 0.8 - 126.8)
    time.now = 134.6
    pool.answered(started_at=133.8)  # accepted: the API made room between 126.8 and 134.6
    pool.on_outcome(OutcomeKind.OK, requests=2)
    slow = pool.on_limit(started_at=134.0, retry_after=None, running=1)
    assert slow.delay_s == 1.0  # a later limit: 1 s, doubling per limit in a row
    # A refusal long after the first round is no cold start: 1 s, not half a minute.
    late = governor(time, 8)
    for _ in range(8):
        late.started()
    for _ in range(30):
        late.answered(started_at=time.now - 1)
        time.now += 1.0
    assert late.on_limit(started_at=time.now - 1, retry_after=None, running=8).delay_s == 1.0


def test_once_a_learned_rate_paces_the_starts_each_success_adds_a_worker_back(
    time: FakeTime,
) -> None:
    """The rate keeps the requests under the limit; a storm used to leave the pool at one
    worker for some 60 chunks (pacing eased 5% a success, then a worker a round)."""
    pool = governor(time, 8)
    for _ in range(10):
        pool.answered()
        time.now += 1.0
    for running in (8, 4, 2):  # three storms in a row: down to one worker
        pool.on_limit(started_at=time.now, retry_after=None, running=running)
        time.now += 0.5
    assert pool.state().concurrency == 1
    time.now += 5.0
    pool.answered()  # accepted again: the rate is corrected, and paces from now on
    grown = [pool.state().concurrency for _ in range(8) if pool.on_outcome(OutcomeKind.OK)]
    assert grown == [2, 3, 4, 5, 6, 7, 8]
    assert pool.state().start_gap_s == 0.0


def test_a_lower_rate_moves_the_next_start_back(time: FakeTime) -> None:
    """A start already scheduled by the old rate's gap keeps the new, longer one."""
    pool = PoolGovernor(8, 900.0, time.clock(), jitter=lambda low, _h: low, known_rate=1.0)
    start = time.now
    pool.started()  # the next at 2 / 0.95 = 2.1 s
    time.now += 0.1
    pool.on_limit(started_at=start, retry_after=None, running=1)  # 0.85 requests/s now
    time.now = start + 2.3  # past the old gap
    assert pool.admit(running=0) is Admit.NO
    time.now = start + 2 / (0.95 * 0.85) + 0.01
    assert pool.admit(running=0) is Admit.YES


def test_the_workers_an_earlier_run_started_without_a_refusal_start_at_once(
    time: FakeTime,
) -> None:
    """An earlier run against this API started 2 workers without a refusal: the first 2
    starts go at the stagger, the rest of the first round one by one."""
    pool = PoolGovernor(4, 900.0, time.clock(), jitter=lambda low, _h: low, free_starts=2)
    pool.started()
    assert pool.next_wakeup() == pytest.approx(time.now + 0.15)
    time.now += 0.15
    pool.started()
    assert pool.next_wakeup() == pytest.approx(time.now + 1.0)  # the third waits
    time.now += 1.0
    pool.started()
    time.now += 1.0
    pool.started()
    assert not pool.launching and pool.started_freely == 4  # the next run: 4 at once
    pool.on_limit(started_at=time.now, retry_after=None, running=4)
    assert pool.started_freely == 0  # a refusal: its rate is kept instead
