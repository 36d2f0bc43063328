"""Usage limits and flaky links against the fake `claude`: the pool waits for a reset
instead of failing chunks, and a try that got further is no failure."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from tests.conftest import (
    claude_manager,
    load_checkpoint,
    load_report,
    many_files_repo,
    run_cli,
    write_config,
)
from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.events import Notice, Topic
from tui_orchestrator.engine.views import RunEnd


def _chunk_of(cp: dict, path: str) -> dict:
    return next(c for c in cp["chunks"] if path in c["files"])


@pytest.mark.parametrize("mode", ["usage_limit", "usage_split"])
async def test_a_usage_limit_mid_run_waits_for_the_reset_and_every_session_resumes(
    tmp_path: Path, fake_env, fake_claude, mode: str
) -> None:
    """One chunk meets the limit while the others run: nothing starts before the reset,
    no attempt is spent, and the limited chunk resumes its own session after it."""
    repo = many_files_repo(tmp_path / "r", 6)
    # (a whole second, as the CLI names it: the fake would cut a fraction off, and the
    # pool's wait is measured from the second named)
    resets_at = float(int(time.time()) + 3)
    fake_env.env["FAKE_CLAUDE_RESETS_AT"] = str(resets_at)
    fake_env.scenario(
        [
            {"file": "pkg0/mod_000.py", "mode": mode, "times": 1},
            {"file": ["pkg1/mod_001.py", "pkg2/mod_002.py"], "mode": "slow", "delay": 0.3},
        ]
    )
    events: list = []
    config = Config(workers=2, max_files_per_chunk=1, max_usage_wait_s=600, verify="off")
    manager = claude_manager(
        repo, str(fake_claude), config, env=fake_env.env, on_event=events.append
    )
    summary = await asyncio.wait_for(manager.run(), 60)
    assert summary.reason is RunEnd.DONE and summary.done == 6
    calls = fake_env.invocations()
    limited = next(c for c in calls if "pkg0/mod_000.py" in c["files"])
    after = [c for c in calls if c["start"] > limited["start"]]
    # Started after the limit: only once the reset had come (the pool adds a second or more).
    assert after and all(c["start"] >= resets_at for c in after), (resets_at, after)
    again = [c for c in after if "pkg0/mod_000.py" in c["files"]]
    assert [c["resume"] for c in again] == [limited["session_id"]]
    state = next(c for c in manager.checkpoint.chunks if "pkg0/mod_000.py" in c.files)
    assert state.status is ChunkStatus.DONE and state.error == ""
    assert manager.book.runtime[state.name].failures == 0
    assert (state.attempts, state.resumes) == (2, 1)  # the panel: "try 1, resumed 1x"
    said = [e.text for e in events if isinstance(e, Notice) and e.topic is Topic.USAGE_LIMIT]
    assert any(text.startswith("usage limit (five-hour), resets ") for text in said), said
    assert "the usage limit has reset: work resumes" in said
    assert manager.checkpoint.usage_limit_until == 0.0  # over: a restart need not wait
    # The other worker was reading when the limit came: it was stopped at once (its next
    # request would have been refused), kept its session, and resumed it after the reset.


async def test_the_other_workers_stop_at_once_and_resume_their_sessions_after_the_reset(
    tmp_path: Path, fake_env, fake_claude
) -> None:
    """A worker is reading when another meets the usage limit: its next request would be
    refused too, so it is stopped at once, keeps its session, and resumes it after the
    reset (a process still starting up would otherwise send a refused request)."""
    from tests.support.review_repo import make_review_repo

    repo = make_review_repo(
        tmp_path / "r",
        {"big/a.py": "x = 1\n" * 400 + "# BUG(low): a\n", "small/b.py": "# BUG(low): b\n"},
    )
    resets_at = float(int(time.time()) + 4)  # (a whole second, as the CLI names it)
    fake_env.env["FAKE_CLAUDE_RESETS_AT"] = str(resets_at)
    fake_env.scenario(
        [
            {"file": "big/a.py", "mode": "slow", "delay": 3.0, "times": 1},  # starts first
            {"file": "small/b.py", "mode": "usage_limit", "times": 1},
        ]
    )
    config = Config(workers=2, max_files_per_chunk=1, max_usage_wait_s=600, verify="off")
    manager = claude_manager(repo, str(fake_claude), config, env=fake_env.env)
    summary = await asyncio.wait_for(manager.run(), 60)
    assert summary.done == 2
    calls = fake_env.invocations()
    first = next(c for c in calls if c["files"] == ["big/a.py"])
    again = [c for c in calls if c["resume"] == first["session_id"]]
    assert again and all(c["start"] >= resets_at for c in again)
    big = next(c for c in manager.checkpoint.chunks if "big/a.py" in c.files)
    assert (big.attempts, big.resumes) == (2, 1)  # stopped for the limit, not failed
    # It was stopped long before its slow read would have ended (3 s), and sent nothing more.
    assert len([c for c in calls if c["start"] < resets_at]) == 2


def test_a_reset_beyond_the_longest_wait_stops_headless_with_exit_1_naming_the_reset(
    tmp_path: Path, fake_env
) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    cfg = write_config(tmp_path / "c.toml", max_usage_wait_s=60.0, max_files_per_chunk=1)
    fake_env.env["FAKE_CLAUDE_RESETS_AT"] = str(time.time() + 7200)
    fake_env.scenario([], default="usage_limit")
    started = time.monotonic()
    done = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env, timeout=60)
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 30  # it stops at once, it does not wait
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Usage limit (five-hour) resets "), last
    assert "longer than max_usage_wait_s (1m00s)" in last
    assert "run the same command after the reset" in last
    cp = load_checkpoint(repo)
    assert cp["usage_limit_until"] > time.time() + 7000
    assert cp["usage_limit_window"] == "five_hour"
    for chunk in cp["chunks"]:
        assert chunk["status"] == "pending"  # resumable
    limited = [c for c in cp["chunks"] if c["error"]]
    assert limited and limited[0]["error"].startswith("usage limit (five-hour): resets ")


def test_in_ci_a_usage_limit_is_not_waited_for(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 1)
    fake_env.env["CI"] = "true"
    fake_env.env["FAKE_CLAUDE_RESETS_AT"] = str(time.time() + 60)
    fake_env.scenario([], default="usage_limit")
    done = run_cli("run", str(repo), env=fake_env.env, timeout=60)
    assert done.returncode == 1
    assert "max_usage_wait_s is 0" in done.stderr
    assert len(fake_env.invocations()) == 1  # one request, then it stopped


async def test_with_an_api_key_the_unknown_reset_is_probed_at_growing_intervals(
    tmp_path: Path, fake_env, fake_claude, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No event, only the result's words: the pool probes after 1, then 2 (here seconds;
    a minute and two in a real run) and never more often."""
    monkeypatch.setattr("tui_orchestrator.engine.pool.UNKNOWN_FIRST_S", 1.0)
    repo = many_files_repo(tmp_path / "r", 2)
    fake_env.scenario([{"file": "pkg0/mod_000.py", "mode": "usage_key", "times": 2}])
    config = Config(workers=2, max_files_per_chunk=1, max_usage_wait_s=600, verify="off")
    manager = claude_manager(repo, str(fake_claude), config, env=fake_env.env)
    summary = await asyncio.wait_for(manager.run(), 60)
    assert summary.reason is RunEnd.DONE and summary.done == 2
    calls = [c for c in fake_env.invocations() if "pkg0/mod_000.py" in c["files"]]
    assert len(calls) == 3
    gaps = [b["start"] - a["start"] for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= 1.0 and gaps[1] >= 2.0, gaps
    state = next(c for c in manager.checkpoint.chunks if "pkg0/mod_000.py" in c.files)
    assert manager.book.runtime[state.name].failures == 0


async def test_a_restart_during_the_window_waits_instead_of_asking(
    tmp_path: Path, fake_env, fake_claude
) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    config = Config(workers=2, max_files_per_chunk=1, max_usage_wait_s=600, verify="off")
    manager = claude_manager(repo, str(fake_claude), config, env=fake_env.env)
    resets_at = time.time() + 2.0
    manager.checkpoint.usage_limit_until = resets_at
    manager.checkpoint.usage_limit_window = "five_hour"
    summary = await asyncio.wait_for(manager.run(), 60)
    assert summary.done == 2
    calls = fake_env.invocations()
    assert calls and min(c["start"] for c in calls) >= resets_at
    # One probe first; the other chunk follows once it got an answer.
    first, second = sorted(calls, key=lambda c: c["start"])
    assert second["start"] > first["start"]


def test_cut_streams_that_get_further_finish_past_max_attempts(tmp_path: Path, fake_env) -> None:
    """A flaky link cuts every answer after one read: each try gets one file further, so
    none counts as a failure, and the chunk finishes after five tries with max_attempts 2."""
    repo = many_files_repo(tmp_path / "r", 5)
    cfg = write_config(tmp_path / "c.toml", max_files_per_chunk=5, max_attempts=2)
    fake_env.scenario([], default="flaky")
    done = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "root: retrying" in done.stderr
    chunk = load_checkpoint(repo)["chunks"][0]
    assert chunk["status"] == "done" and chunk["attempts"] == 5
    assert len(load_report(repo)["issues"]) == 5


def test_cut_streams_stop_at_the_hard_cap_of_four_times_max_attempts(
    tmp_path: Path, fake_env
) -> None:
    repo = many_files_repo(tmp_path / "r", 12)
    cfg = write_config(tmp_path / "c.toml", max_files_per_chunk=12, max_attempts=2)
    fake_env.scenario([], default="flaky")
    done = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env, timeout=180)
    assert done.returncode == 1
    chunk = load_checkpoint(repo)["chunks"][0]
    assert chunk["status"] == "failed" and chunk["attempts"] == 8
    assert chunk["error"].startswith("transient: ")
