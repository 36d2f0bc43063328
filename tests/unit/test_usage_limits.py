"""Usage limits on their own: what the CLI's lines say, how the pool waits (on a fake
clock), what the failure matrix does, and the settings and checkpoint that carry them."""

from __future__ import annotations

import json

import pytest

from tests.unit.test_pool import FakeTime
from tui_orchestrator.engine.checkpoint import (
    Checkpoint,
    ChunkState,
    checkpoint_from_toml,
    checkpoint_to_toml,
)
from tui_orchestrator.engine.config import load_config
from tui_orchestrator.engine.outcomes import PROGRESS_CAP, Action, judge
from tui_orchestrator.engine.pool import Admit, PoolGovernor
from tui_orchestrator.engine.runner import Outcome, OutcomeKind, classify
from tui_orchestrator.engine.stream import NonJson, RateLimitNotice, Result, parse_line
from tui_orchestrator.engine.usage_limit import UsageLimit
from tui_orchestrator.engine.views import Runtime, Waiting

EPOCH = 1_700_000_000.0
EVENT = {
    "type": "rate_limit_event",
    "rate_limit_info": {
        "status": "rejected",
        "resetsAt": 1796592347,
        "rateLimitType": "five_hour",
        "overageStatus": "rejected",
    },
    "session_id": "s",
}


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def pool_of(time: FakeTime, workers: int = 4, max_wait: float | None = None) -> PoolGovernor:
    return PoolGovernor(
        workers, 900.0, time.clock(), jitter=lambda low, _high: low, max_usage_wait_s=max_wait
    )


# ------------------------------------------------------------------ the CLI's lines


def test_a_rejected_rate_limit_event_is_a_usage_limit_with_its_reset_and_window() -> None:
    (event,) = parse_line(json.dumps(EVENT, separators=(",", ":")))
    assert isinstance(event, RateLimitNotice)
    assert event.usage_limit == UsageLimit(1796592347.0, "five_hour")
    assert event.usage_limit.label == "usage limit (five-hour)"
    millis = dict(EVENT, rate_limit_info={"status": "rejected", "resetsAt": 1796592347000})
    assert parse_line(json.dumps(millis))[0].usage_limit == UsageLimit(1796592347.0, "")
    allowed = dict(EVENT, rate_limit_info={"status": "allowed", "resetsAt": 1})
    assert parse_line(json.dumps(allowed))[0].usage_limit is None
    # A 429 the CLI retries (api_retry) is a rate limit, never a usage limit.
    retry = {"type": "system", "subtype": "api_retry", "error_status": 429}
    assert parse_line(json.dumps(retry))[0].usage_limit is None


def test_an_event_in_the_middle_of_another_line_is_found_and_so_is_that_line() -> None:
    other = json.dumps(
        {"type": "assistant", "message": {"content": [{"type": "text", "text": "hi"}]}}
    )
    event = json.dumps(EVENT, separators=(",", ":"))
    for spliced in (other[:20] + event + other[20:], other + event, event + other):
        found = parse_line(spliced)
        kinds = [type(e).__name__ for e in found]
        assert kinds == ["AssistantText", "RateLimitNotice"], (spliced, found)
        assert found[1].usage_limit == UsageLimit(1796592347.0, "five_hour")
    # A broken event inside junk: the junk is shown, nothing is invented.
    assert parse_line('junk {"type":"rate_limit_event", "rate') == [
        NonJson('junk {"type":"rate_limit_event", "rate')
    ]


def test_close_to_the_limit_is_a_warning_with_its_utilisation() -> None:
    info = {"status": "allowed_warning", "rateLimitType": "seven_day", "utilization": 0.91}
    (event,) = parse_line(json.dumps({"type": "rate_limit_event", "rate_limit_info": info}))
    assert event.usage_warning == "seven-day usage at 91%" and not event.limited
    info = {"status": "allowed_warning"}
    (event,) = parse_line(json.dumps({"type": "rate_limit_event", "rate_limit_info": info}))
    assert event.usage_warning == "close to the usage limit"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("You've hit your limit · resets 9:25pm (UTC)", OutcomeKind.USAGE_LIMIT),
        ("API Error: Request rejected (429) · You've hit your limit", OutcomeKind.USAGE_LIMIT),
        ("You've hit your session limit · resets 4:35am (UTC)", OutcomeKind.USAGE_LIMIT),
        (
            "API Error: Request rejected (429) · Number of request tokens has exceeded your "
            "per-minute rate limit",
            OutcomeKind.RATE_LIMITED,
        ),
    ],
)
def test_the_result_text_tells_a_usage_limit_from_a_rate_limit(text: str, kind) -> None:
    result = Result("success", True, text, "s", api_error_status=429)
    assert classify(result, 1, "") is kind


# ------------------------------------------------------------------------ the pool


def test_a_known_reset_holds_every_start_then_one_probe_then_the_rest(time: FakeTime) -> None:
    pool = pool_of(time)
    reset = EPOCH + time.now + 3600
    wait = pool.on_usage_limit(UsageLimit(reset, "five_hour"), started_at=time.now - 5)
    assert wait.started and not wait.gave_up and wait.until == reset + 0.5  # plus jitter
    assert pool.admit(running=0) is Admit.NO
    assert pool.next_wakeup() == pytest.approx(time.now + 3600.5)
    time.now += 3600.25
    assert pool.admit(running=0) is Admit.NO  # the jitter: not before the API's clock
    time.now += 0.5
    assert pool.admit(running=1) is Admit.NO  # the others finish (they meet it too)
    assert pool.admit(running=0) is Admit.USAGE_PROBE
    assert pool.admit(running=1) is Admit.NO  # one probe at a time
    assert pool.state().usage == UsageLimit(reset, "five_hour")
    assert pool.usage_cleared()  # the probe got an answer
    assert pool.admit(running=1) is Admit.YES and pool.state().usage is None
    # The others follow staggered, as after a rate limit.
    pool.started()
    assert pool.admit(running=2) is Admit.NO
    time.now += 0.5
    assert pool.admit(running=2) is Admit.YES


def test_an_unknown_reset_is_probed_after_1_2_4_minutes_and_never_more_often(
    time: FakeTime,
) -> None:
    pool = pool_of(time)
    waits = []
    for _ in range(6):
        started = time.now
        wait = pool.on_usage_limit(UsageLimit(), started_at=started)
        waits.append(wait.until - (EPOCH + time.now))
        # Workers that were in flight meet the same limit: no step up.
        again = pool.on_usage_limit(UsageLimit(), started_at=started - 1)
        assert again.until == wait.until and not again.started
        time.now = wait.until - EPOCH
        assert pool.admit(running=0) is Admit.USAGE_PROBE
        time.now += 1.0  # the probe meets the limit again
    assert waits == [60.0, 120.0, 240.0, 480.0, 600.0, 600.0]


def test_the_wait_costs_no_patience_and_no_attempt(time: FakeTime) -> None:
    pool = pool_of(time)
    pool.on_usage_limit(UsageLimit(EPOCH + time.now + 10_000, ""), started_at=time.now)
    runtime = Runtime(usage=UsageLimit(None, ""))
    verdict = judge("c", Outcome(OutcomeKind.RATE_LIMITED), runtime, max_attempts=1)
    assert (verdict.action, verdict.waiting) == (Action.USAGE, Waiting.USAGE)
    verdict = judge("c", Outcome(OutcomeKind.USAGE_LIMIT), Runtime(), max_attempts=1)
    assert verdict.action is Action.USAGE
    assert runtime.failures == 0
    time.now += 10_000  # hours of waiting: the patience of rate limits is untouched
    assert pool.on_limit(time.now, None, 1).gave_up is False


def test_a_reset_beyond_the_longest_wait_gives_up_at_once(time: FakeTime) -> None:
    pool = pool_of(time, max_wait=3600)
    near = pool.on_usage_limit(UsageLimit(EPOCH + time.now + 1800, ""), started_at=time.now)
    assert not near.gave_up
    far = pool_of(time, max_wait=3600)
    assert far.on_usage_limit(UsageLimit(EPOCH + time.now + 7200, ""), started_at=0).gave_up
    never = pool_of(time, max_wait=0)
    assert never.on_usage_limit(UsageLimit(EPOCH + time.now + 60, ""), started_at=0).gave_up
    # With no reset known, it gives up once the probes have taken longer than allowed.
    unknown = pool_of(time, max_wait=200)
    assert not unknown.on_usage_limit(UsageLimit(), started_at=time.now).gave_up  # 60 s
    time.now += 61
    assert not unknown.on_usage_limit(UsageLimit(), started_at=time.now).gave_up  # 181 s
    time.now += 121
    assert unknown.on_usage_limit(UsageLimit(), started_at=time.now).gave_up  # 422 s


# ---------------------------------------------------------------- a flaky link


def test_a_transient_fault_that_got_further_spends_no_attempt_up_to_the_hard_cap() -> None:
    runtime = Runtime()
    cut = Outcome(OutcomeKind.TRANSIENT, stderr_tail="empty or malformed response")
    verdicts = []
    for _ in range(PROGRESS_CAP * 2):
        runtime.progressed = True
        verdicts.append(judge("c", cut, runtime, max_attempts=2))
    assert [v.action for v in verdicts[:-1]] == [Action.REQUEUE] * (PROGRESS_CAP * 2 - 1)
    assert all(v.delay_s == 2.0 for v in verdicts[:-1])
    assert verdicts[-1].action is Action.FAIL  # the cap: 4 x max_attempts tries in all
    # No progress: the usual rule, max_attempts tries.
    runtime = Runtime()
    assert judge("c", cut, runtime, max_attempts=2).action is Action.REQUEUE
    assert judge("c", cut, runtime, max_attempts=2).action is Action.FAIL


# --------------------------------------------------------- settings and checkpoint


def test_ci_waits_for_no_usage_limit_unless_the_config_says_so(tmp_path) -> None:
    none = tmp_path / "none.toml"
    assert load_config(environ={}, user_file=none).max_usage_wait_s == 21600.0
    assert load_config(environ={"CI": "true"}, user_file=none).max_usage_wait_s == 0.0
    config = tmp_path / "c.toml"
    config.write_text("max_usage_wait_s = 600\n")
    chosen = load_config(config_file=config, environ={"CI": "1"}, user_file=none)
    assert chosen.max_usage_wait_s == 600.0


def test_the_checkpoint_keeps_the_reset_a_restart_waits_for() -> None:
    checkpoint = Checkpoint(repo="r", chunks=[ChunkState("c", ["a.py"], error="usage limit")])
    assert "usage_limit_until" not in checkpoint_to_toml(checkpoint)
    checkpoint.usage_limit_until, checkpoint.usage_limit_window = 1796592347.5, "five_hour"
    again = checkpoint_from_toml(checkpoint_to_toml(checkpoint))
    assert (again.usage_limit_until, again.usage_limit_window) == (1796592347.5, "five_hour")
