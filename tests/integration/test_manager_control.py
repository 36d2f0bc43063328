"""The manager's commands against the fake `claude`: pause, resume, cancel, retry, ask, workers."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from tests.conftest import claude_manager, many_files_repo, until_true
from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.events import ChunkFinished, ChunkStarted, ProgressChanged
from tui_orchestrator.engine.manager import Manager


def _manager(repo: Path, fake_env, monkeypatch, events: list, **config) -> Manager:
    for key, value in fake_env.env.items():
        if key.startswith("FAKE_CLAUDE"):
            monkeypatch.setenv(key, value)
    return claude_manager(
        repo,
        fake_env.env["CLAUDE_TUI_CLAUDE_BIN"],
        Config(**{"verify": "off", **config}),
        on_event=events.append,
    )


_until = until_true


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


async def test_pause_stops_process_within_one_second_and_resume_continues_the_session(
    tmp_path: Path, fake_env, monkeypatch
) -> None:
    repo = many_files_repo(tmp_path / "r", 4)
    monkeypatch.setenv("FAKE_CLAUDE_MODE", "slow")
    monkeypatch.setenv("FAKE_CLAUDE_DELAY", "0.4")
    events: list = []
    manager = _manager(repo, fake_env, monkeypatch, events, max_files_per_chunk=4)
    task = manager.start()
    name = manager.checkpoint.chunks[0].name
    await _until(lambda: any(isinstance(e, ProgressChanged) and e.read >= 2 for e in events))
    pid = fake_env.invocations()[0]["pid"]
    session = manager.state(name).session_id
    read_before = list(manager.state(name).files_read)
    started = time.monotonic()
    manager.pause(name)
    await _until(lambda: not _alive(pid), timeout=3)
    assert time.monotonic() - started < 1.0
    await _until(lambda: manager.state(name).status is ChunkStatus.PAUSED)
    assert manager.state(name).session_id == session
    assert manager.state(name).files_read[: len(read_before)] == read_before
    await asyncio.wait_for(task, 10)  # nothing else to do: the loop ends, chunk stays paused
    from tui_orchestrator.engine.checkpoint import CheckpointStore

    saved = CheckpointStore(manager.store.path).load()
    assert saved is not None and saved.chunk(name).status is ChunkStatus.PAUSED
    manager.resume(name)
    summary = await asyncio.wait_for(manager.start(), 30)
    assert summary.done == 1
    last = fake_env.invocations()[-1]
    assert last["resume"] == session and last["resumed_prompt"]
    assert 2 <= len(read_before) < 4
    assert set(last["files"]) == set(manager.state(name).files) - set(read_before)
    assert len(manager.state(name).issues) == 4


async def test_cancel_ends_the_process_and_marks_the_chunk(tmp_path, fake_env, monkeypatch) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    monkeypatch.setenv("FAKE_CLAUDE_MODE", "hang")
    events: list = []
    manager = _manager(repo, fake_env, monkeypatch, events)
    task = manager.start()
    await _until(lambda: any(isinstance(e, ChunkStarted) for e in events))
    await _until(lambda: bool(fake_env.invocations()))
    name = manager.checkpoint.chunks[0].name
    manager.cancel(name)
    await asyncio.wait_for(task, 10)
    assert manager.state(name).status is ChunkStatus.CANCELLED
    assert not _alive(fake_env.invocations()[0]["pid"])
    assert any(isinstance(e, ChunkFinished) and e.status is ChunkStatus.CANCELLED for e in events)


async def test_retry_requeues_a_failed_chunk_resuming_its_session(
    tmp_path, fake_env, monkeypatch
) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    fake_env.scenario([{"file": "pkg0/mod_000.py", "mode": "parse_error", "times": 1}])
    events: list = []
    manager = _manager(repo, fake_env, monkeypatch, events)
    await asyncio.wait_for(manager.start(), 30)
    name = manager.checkpoint.chunks[0].name
    assert manager.state(name).status is ChunkStatus.FAILED
    session = manager.state(name).session_id
    manager.retry(name)
    await asyncio.wait_for(manager.start(), 30)
    assert manager.state(name).status is ChunkStatus.DONE
    assert fake_env.invocations()[-1]["resume"] == session


async def test_ask_sends_a_follow_up_in_the_chunks_session(tmp_path, fake_env, monkeypatch) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    events: list = []
    manager = _manager(repo, fake_env, monkeypatch, events)
    await asyncio.wait_for(manager.start(), 30)
    name = manager.checkpoint.chunks[0].name
    answer = await asyncio.wait_for(manager.ask(name, "Which finding is worst?"), 30)
    assert answer
    call = fake_env.invocations()[-1]
    assert call["resume"] == manager.state(name).session_id
    assert "--json-schema" not in call["argv"]
    assert "Which finding is worst?" in call["argv"][call["argv"].index("-p") + 1]


async def test_a_question_gets_the_budget_that_is_left_like_every_process(
    tmp_path, fake_env, monkeypatch
) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    manager = _manager(repo, fake_env, monkeypatch, [], max_budget_usd=5.0)
    await asyncio.wait_for(manager.start(), 30)
    spent = manager.spent_usd
    assert 0 < spent < 5.0
    name = manager.checkpoint.chunks[0].name
    await asyncio.wait_for(manager.ask(name, "Which finding is worst?"), 30)
    review, question = fake_env.invocations()[0], fake_env.invocations()[-1]
    assert "--json-schema" not in question["argv"]  # (it is the question)
    for call in (review, question):
        assert "--max-budget-usd" in call["argv"]
    left = float(question["argv"][question["argv"].index("--max-budget-usd") + 1])
    assert left == pytest.approx(5.0 - spent, abs=0.01)


async def test_workers_change_live_and_cap_concurrency(tmp_path, fake_env, monkeypatch) -> None:
    repo = many_files_repo(tmp_path / "r", 6)
    monkeypatch.setenv("FAKE_CLAUDE_MODE", "slow")
    monkeypatch.setenv("FAKE_CLAUDE_DELAY", "0.3")
    events: list = []
    manager = _manager(repo, fake_env, monkeypatch, events, workers=1, max_files_per_chunk=1)
    peak = 0

    def watch(event) -> None:
        nonlocal peak
        peak = max(peak, len(manager.running))

    manager.on_event = lambda e: (events.append(e), watch(e))
    task = manager.start()
    await _until(lambda: any(isinstance(e, ChunkStarted) for e in events))
    assert len(manager.running) == 1
    manager.set_chunk_workers(3)
    await _until(lambda: len(manager.running) == 3)
    await asyncio.wait_for(task, 60)
    assert peak == 3
    assert all(c.status is ChunkStatus.DONE for c in manager.checkpoint.chunks)


async def test_queue_runs_priority_first_then_longest_chunk_first(
    tmp_path, fake_env, monkeypatch
) -> None:
    from tests.support.review_repo import make_review_repo

    repo = make_review_repo(
        tmp_path / "r",
        {"a/small.py": "x = 1\n", "b/big.py": "x = 1\n" * 400, "c/mid.py": "x = 1\n" * 50},
    )
    events: list = []
    manager = _manager(repo, fake_env, monkeypatch, events, workers=1, max_files_per_chunk=1)
    manager.checkpoint.chunk("a").priority = 5
    await asyncio.wait_for(manager.start(), 30)
    order = [c["files"][0] for c in fake_env.invocations()]
    assert order == ["a/small.py", "b/big.py", "c/mid.py"]


@pytest.mark.parametrize("mode", ["rate_limit", "overloaded"])
async def test_one_rate_limit_slows_the_whole_pool(tmp_path, fake_env, monkeypatch, mode) -> None:
    repo = many_files_repo(tmp_path / "r", 16)
    fake_env.scenario([{"file": "pkg0/mod_000.py", "mode": mode, "times": 1}])
    events: list = []
    manager = _manager(repo, fake_env, monkeypatch, events, workers=3, max_files_per_chunk=1)
    # The limit comes first, so the rest of the run shows the pool growing back.
    next(c for c in manager.checkpoint.chunks if "pkg0/mod_000.py" in c.files).priority = 10
    await asyncio.wait_for(manager.start(), 60)
    from tui_orchestrator.engine.events import PoolChanged

    caps = [e.pool.concurrency for e in events if isinstance(e, PoolChanged)]
    assert min(caps) < 3  # cut on the limit
    assert max(caps) <= 3  # never above the user's workers
    assert 3 in caps[caps.index(min(caps)) :]  # and grown back on success
    assert all(c.status is ChunkStatus.DONE for c in manager.checkpoint.chunks)
    assert os.path.exists(manager.store.path)
