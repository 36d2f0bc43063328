"""The failure matrix against the fake `claude`: every recovery happens and is visible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tests.conftest import load_checkpoint, load_report, many_files_repo, run_cli, write_config


def _chunk_of(cp: dict, path: str) -> dict:
    return next(c for c in cp["chunks"] if path in c["files"])


def test_rate_limit_backs_off_the_pool_and_the_chunk_finishes(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 4)
    cfg = write_config(tmp_path / "c.toml", max_files_per_chunk=1)
    fake_env.scenario([{"file": "pkg0/mod_000.py", "mode": "rate_limit", "times": 1}])
    done = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env)
    assert done.returncode == 0, done.stderr
    assert "rate limited" in done.stderr and "backing off" in done.stderr
    chunk = _chunk_of(load_checkpoint(repo), "pkg0/mod_000.py")
    assert chunk["status"] == "done" and chunk["attempts"] == 2
    assert len(load_report(repo)["issues"]) == 4


def test_overloaded_529_is_treated_as_a_rate_limit(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    fake_env.scenario([{"file": "pkg0/mod_000.py", "mode": "overloaded", "times": 1}])
    done = run_cli("run", str(repo), env=fake_env.env)
    assert done.returncode == 0, done.stderr
    assert "backing off" in done.stderr


def test_rate_limit_past_patience_fails_the_chunk_with_the_reason(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    cfg = write_config(tmp_path / "c.toml", patience_s=1.0)
    fake_env.scenario([], default="rate_limit")
    done = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env, timeout=60)
    assert done.returncode == 1
    chunk = load_checkpoint(repo)["chunks"][0]
    assert chunk["status"] == "failed" and chunk["error"] == "rate limited"


def test_crash_restarts_and_resumes_the_session(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 3)
    fake_env.scenario([{"file": "pkg0/mod_000.py", "mode": "crash", "times": 1}])
    done = run_cli("run", str(repo), env=fake_env.env)
    assert done.returncode == 0, done.stderr
    calls = fake_env.invocations()
    assert len(calls) == 2
    assert calls[1]["resume"] == calls[0]["session_id"]
    chunk = load_checkpoint(repo)["chunks"][0]
    assert chunk["attempts"] == 2 and chunk["status"] == "done"
    assert "crash" in done.stderr or "retrying" in done.stderr


def test_crash_before_the_session_was_written_starts_afresh(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    fake_env.env.pop("FAKE_CLAUDE_SESSION_WRITE")  # the session is written after the first turn
    fake_env.scenario([{"file": "pkg0/mod_000.py", "mode": "crash", "times": 1}])
    done = run_cli("run", str(repo), env=fake_env.env)
    assert done.returncode == 0, done.stderr
    calls = fake_env.invocations()
    # crash, then --resume finds no conversation, then a fresh session with a new id
    assert calls[1]["resume"] == calls[0]["session_id"]
    assert calls[-1]["resume"] is None and calls[-1]["session_id"] != calls[0]["session_id"]
    assert load_checkpoint(repo)["chunks"][0]["session_id"] == calls[-1]["session_id"]


def test_crash_every_time_fails_after_max_attempts_others_finish(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 4)
    cfg = write_config(tmp_path / "c.toml", max_files_per_chunk=1, max_attempts=2)
    fake_env.scenario([{"file": "pkg1/mod_001.py", "mode": "crash"}])
    done = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env, timeout=60)
    assert done.returncode == 1
    cp = load_checkpoint(repo)
    bad = _chunk_of(cp, "pkg1/mod_001.py")
    assert bad["status"] == "failed" and bad["attempts"] == 2 and "crash" in bad["error"]
    assert sum(c["status"] == "done" for c in cp["chunks"]) == 3
    assert "pkg1" in done.stderr


def test_timeout_retries_once_with_resume_then_fails(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    cfg = write_config(tmp_path / "c.toml", chunk_timeout_s=1.0)
    fake_env.scenario([], default="hang")
    start = time.monotonic()
    done = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env, timeout=60)
    assert done.returncode == 1
    assert time.monotonic() - start < 20
    chunk = load_checkpoint(repo)["chunks"][0]
    assert chunk["status"] == "failed" and chunk["error"] == "timeout" and chunk["attempts"] == 2
    calls = fake_env.invocations()
    assert calls[1]["resume"] == calls[0]["session_id"]


def test_unreachable_api_opens_the_breaker_and_burns_no_attempts(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 4)
    cfg = write_config(tmp_path / "c.toml", max_files_per_chunk=1, max_attempts=1)
    fake_env.scenario(
        [{"file": ["pkg0/mod_000.py", "pkg1/mod_001.py"], "mode": "unreachable", "times": 3}]
    )
    done = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env, timeout=90)
    assert done.returncode == 0, done.stderr
    assert "unreachable" in done.stderr and "answers again" in done.stderr
    assert all(c["status"] == "done" for c in load_checkpoint(repo)["chunks"])


def test_outage_past_patience_stops_with_exit_1_and_everything_resumable(
    tmp_path: Path, fake_env
) -> None:
    repo = many_files_repo(tmp_path / "r", 3)
    cfg = write_config(tmp_path / "c.toml", patience_s=2.0, max_files_per_chunk=1)
    fake_env.scenario([], default="unreachable")
    done = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env, timeout=60)
    assert done.returncode == 1
    assert "unreachable" in done.stderr
    cp = load_checkpoint(repo)
    assert all(c["status"] == "pending" for c in cp["chunks"])
    fake_env.env.pop("FAKE_CLAUDE_SCENARIO")
    again = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env)
    assert again.returncode == 0 and len(load_report(repo)["issues"]) == 3


def test_budget_stops_dispatching_and_says_so(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 4)
    env = dict(fake_env.env, FAKE_CLAUDE_COST="0.5")
    done = run_cli(
        "run", str(repo), "--workers", "1", "--max-files-per-chunk", "1",
        "--max-budget-usd", "0.9", env=env,
    )  # fmt: skip
    assert done.returncode == 1
    cp = load_checkpoint(repo)
    assert sum(c["status"] == "done" for c in cp["chunks"]) == 2
    assert all(c["error"] == "budget" for c in cp["chunks"] if c["status"] == "pending")
    assert cp["max_budget_usd"] == 0.9
    assert "budget" in done.stderr
    budgets = [
        float(c["argv"][c["argv"].index("--max-budget-usd") + 1]) for c in fake_env.invocations()
    ]
    assert budgets[0] == pytest.approx(0.9) and budgets[1] == pytest.approx(0.4)


def test_junk_lines_and_unknown_events_are_logged_not_fatal(repo: Path, fake_env) -> None:
    env = dict(fake_env.env, FAKE_CLAUDE_MODE="junk")
    done = run_cli("run", str(repo), env=env)
    assert done.returncode == 0, done.stderr
    log = next((repo / ".claude-tui" / "logs").glob("*.jsonl")).read_text()
    assert "rate_limit_event" in log


def test_a_throttle_the_cli_retries_itself_slows_the_pool_without_costing_an_attempt(
    tmp_path: Path, fake_env
) -> None:
    """A mid-run ``system/api_retry`` with 529 (the CLI retrying) is a limit for the pool."""
    repo = many_files_repo(tmp_path / "r", 6)
    cfg = write_config(tmp_path / "c.toml", max_files_per_chunk=1, workers=3)
    env = dict(fake_env.env, FAKE_CLAUDE_MODE="junk")
    done = run_cli("run", str(repo), "--config", str(cfg), env=env)
    assert done.returncode == 0, done.stderr
    assert "its CLI retries): new starts wait" in done.stderr
    cp = load_checkpoint(repo)
    assert all(c["status"] == "done" and c["attempts"] == 1 for c in cp["chunks"])


def test_parse_error_keeps_the_chunk_and_its_log_and_the_run_continues(
    tmp_path: Path, fake_env
) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    cfg = write_config(tmp_path / "c.toml", max_files_per_chunk=1)
    fake_env.scenario([{"file": "pkg0/mod_000.py", "mode": "parse_error"}])
    done = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env)
    assert done.returncode == 1
    cp = load_checkpoint(repo)
    bad = _chunk_of(cp, "pkg0/mod_000.py")
    assert bad["status"] == "failed" and bad["error"] == "parse error"
    assert _chunk_of(cp, "pkg1/mod_001.py")["status"] == "done"
    assert (repo / ".claude-tui" / "logs" / f"{bad['name']}.jsonl").stat().st_size > 0


def test_findings_in_a_json_block_of_the_text_are_used(repo: Path, fake_env) -> None:
    env = dict(fake_env.env, FAKE_CLAUDE_MODE="json_in_text")
    done = run_cli("run", str(repo), env=env)
    assert done.returncode == 0, done.stderr
    assert len(load_report(repo)["issues"]) == 3


def _pids_alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        # A zombie is dead for our purpose.
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().split()[2] == "Z":
                    continue
        except OSError:
            continue
        alive.append(pid)
    return alive


@pytest.mark.parametrize("trial", range(3))
def test_kill_9_then_rerun_loses_no_finding_and_resends_no_finished_chunk(
    tmp_path: Path, fake_env, trial: int
) -> None:
    repo = many_files_repo(tmp_path / "r", 8)
    env = dict(fake_env.env, FAKE_CLAUDE_MODE="slow", FAKE_CLAUDE_DELAY="0.3")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--workers", "2",
         "--max-files-per-chunk", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0 + trial * 0.9)
    proc.kill()
    proc.wait()
    cp_text = (repo / ".claude-tui" / "checkpoint.toml").read_text()
    import tomllib

    cp = tomllib.loads(cp_text)  # never torn
    done_before = {c["name"]: c for c in cp["chunks"] if c["status"] == "done"}
    workers = [c["pid"] for c in fake_env.invocations()]
    deadline = time.time() + 5
    while _pids_alive(workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not _pids_alive(workers), "workers outlived the orchestrator"
    calls_before = len(fake_env.invocations())
    again = run_cli("run", str(repo), env=dict(fake_env.env))
    assert again.returncode == 0, again.stderr
    for call in fake_env.invocations()[calls_before:]:
        for name, chunk in done_before.items():
            assert not set(call["files"]) & set(chunk["files"]), f"{name} was sent again"
    assert len(load_report(repo)["issues"]) == 8


def test_sigterm_behaves_like_sigint(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 2)
    env = dict(fake_env.env, FAKE_CLAUDE_MODE="slow", FAKE_CLAUDE_DELAY="2")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    deadline = time.time() + 20
    while not fake_env.invocations() and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert load_checkpoint(repo)["chunks"][0]["status"] == "paused"
    assert not _pids_alive([c["pid"] for c in fake_env.invocations()])


def test_the_rate_a_run_learned_paces_the_next_runs_first_starts(tmp_path: Path, fake_env) -> None:
    """A run that met a rate limit keeps the rate the API allowed beside the user's
    config (by a hash of the API, never the key); the next run against it says so and
    paces its starts from the first (engine/rate_memory.py)."""
    repo = many_files_repo(tmp_path / "r", 4)
    cfg = write_config(tmp_path / "c.toml", max_files_per_chunk=1)
    fake_env.env["ANTHROPIC_API_KEY"] = "sk-ant-test-secret"
    fake_env.scenario([{"file": "pkg0/mod_000.py", "mode": "rate_limit", "times": 1}])
    first = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env)
    assert first.returncode == 0, first.stderr
    rates = Path(fake_env.env["CLAUDE_TUI_CONFIG_DIR"]) / "rates.toml"
    kept = tomllib.loads(rates.read_text())
    assert len(kept["rates"]) == 1
    assert "sk-ant-test-secret" not in rates.read_text()
    (identity,) = kept["rates"]
    assert kept["rates"][identity]["rps"] > 0
    # The fake's rate is whatever its burst allowed: a known one makes the pacing plain.
    rates.write_text(f'version = 1\n[rates."{identity}"]\nrps = 2.0\nlearned = {time.time()}\n')
    fake_env.scenario([])
    kept_text = rates.read_text()
    again = run_cli("run", str(repo), "--config", str(cfg), "--fresh", env=fake_env.env)
    assert again.returncode == 0, again.stderr
    # A run that met no limit keeps nothing: the rate it grew to says nothing of one.
    assert rates.read_text() == kept_text
    assert "Rate limits: none met; starts paced to" in again.stderr
    assert "an earlier run learned 2.00 of this API" in again.stderr
    starts = sorted(call["start"] for call in fake_env.invocations()[-4:])
    # The second start waits for two requests at 95% of 2 requests/s: 1.05 s (set as the
    # first starts, before anything could change the rate or the requests a chunk), where
    # unpaced starts are 0.15 s apart.
    assert starts[1] - starts[0] >= 0.8
    # The demo's simulated limits are no API's: it neither reads nor keeps a rate.
    demo = run_cli("run", str(repo), "--demo", "--fresh", env=fake_env.env)
    assert demo.returncode in (0, 1), demo.stderr
    assert rates.read_text() == kept_text and "an earlier run learned" not in demo.stderr


def test_a_run_that_met_no_limit_keeps_how_many_workers_started_without_one(
    tmp_path: Path, fake_env
) -> None:
    """A run that knows nothing of its API starts its first round one by one (pool.py);
    one that met no refusal keeps how many it started, and the next run against the same
    API starts as many at once (engine/rate_memory.py)."""
    repo = many_files_repo(tmp_path / "r", 8)
    cfg = write_config(tmp_path / "c.toml", max_files_per_chunk=1, workers=4)
    fake_env.env["ANTHROPIC_API_KEY"] = "sk-ant-test-secret"
    first = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env)
    assert first.returncode == 0, first.stderr
    rates = Path(fake_env.env["CLAUDE_TUI_CONFIG_DIR"]) / "rates.toml"
    (entry,) = tomllib.loads(rates.read_text())["rates"].values()
    assert entry["free_workers"] == 4 and "rps" not in entry
    kept_text = rates.read_text()
    # Fewer workers than were started freely: nothing new to keep (the 4 were recalled).
    fewer = run_cli(
        "run", str(repo), "--config", str(cfg), "--fresh", "--workers", "2", env=fake_env.env
    )
    assert fewer.returncode == 0, fewer.stderr
    assert rates.read_text() == kept_text
    more = run_cli(
        "run", str(repo), "--config", str(cfg), "--fresh", "--workers", "8", env=fake_env.env
    )
    assert more.returncode == 0, more.stderr
    (entry,) = tomllib.loads(rates.read_text())["rates"].values()
    assert entry["free_workers"] == 8
    # A limit met later replaces it with the rate the API allowed.
    fake_env.scenario([{"file": "pkg0/mod_000.py", "mode": "rate_limit", "times": 1}])
    limited = run_cli("run", str(repo), "--config", str(cfg), "--fresh", env=fake_env.env)
    assert limited.returncode == 0, limited.stderr
    (entry,) = tomllib.loads(rates.read_text())["rates"].values()
    assert entry["rps"] > 0 and "free_workers" not in entry
