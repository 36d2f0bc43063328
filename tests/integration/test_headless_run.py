"""`claude-tui run` end to end against the fake `claude`: findings, checkpoint, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.conftest import load_checkpoint, load_report, many_files_repo, run_cli, write_config
from tests.support.review_repo import DEFAULT_FINDINGS


def _keys(report: dict) -> set[tuple[str, int, str, str]]:
    return {(i["file"], i["line"], i["severity"], i["title"]) for i in report["issues"]}


def test_run_reports_every_finding_at_repo_relative_lines(repo: Path, fake_env) -> None:
    done = run_cli("run", str(repo), "--workers", "2", env=fake_env.env)
    assert done.returncode == 0, done.stderr
    report = load_report(repo)
    assert report["backend"] == "claude"
    assert _keys(report) == DEFAULT_FINDINGS
    cp = load_checkpoint(repo)
    for chunk in cp["chunks"]:
        assert chunk["status"] == "done"
        assert uuid.UUID(chunk["session_id"])
        assert chunk["attempts"] == 1
        assert chunk["error"] == ""
    assert "Issues found: 3" in done.stderr
    assert done.stdout == ""
    assert (repo / ".claude-tui" / ".gitignore").read_text() == "*\n!.gitignore\n!plan.toml\n!suppressions.toml\n"
    logs = list((repo / ".claude-tui" / "logs").glob("*.jsonl"))
    assert logs and all(p.stat().st_size > 0 for p in logs)


def test_worker_argv_is_read_only_and_names_every_file(repo: Path, fake_env) -> None:
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    (call,) = fake_env.invocations()
    argv = call["argv"]
    assert argv[argv.index("--tools") + 1] == "Read,Grep,Glob"
    assert "--dangerously-skip-permissions" not in argv
    assert "--add-dir" not in argv
    assert argv[argv.index("--output-format") + 1] == "stream-json"
    assert "--verbose" in argv and "--json-schema" in argv
    assert sorted(call["files"]) == ["lib/util.go", "src/app.py"]


def test_report_dash_puts_only_json_on_stdout(repo: Path, fake_env) -> None:
    done = run_cli("run", str(repo), "--report", "-", env=fake_env.env)
    assert done.returncode == 0
    assert _keys(json.loads(done.stdout)) == DEFAULT_FINDINGS


def test_report_format_from_extension_sarif_and_markdown(repo: Path, fake_env, tmp_path) -> None:
    sarif = tmp_path / "out.sarif"
    assert run_cli("run", str(repo), "--report", str(sarif), env=fake_env.env).returncode == 0
    data = json.loads(sarif.read_text())
    assert data["version"] == "2.1.0"
    md = tmp_path / "out.md"
    assert run_cli("run", str(repo), "--report", str(md), env=fake_env.env).returncode == 0
    assert "## Critical (1)" in md.read_text()
    bad = run_cli("run", str(repo), "--report", str(tmp_path / "out.txt"), env=fake_env.env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_fail_on_exits_3_when_a_finding_meets_the_threshold(repo: Path, fake_env) -> None:
    assert run_cli("run", str(repo), "--fail-on", "high", env=fake_env.env).returncode == 3
    # The run is finished: a second run only re-checks the gate.
    assert run_cli("run", str(repo), "--fail-on", "critical", env=fake_env.env).returncode == 3


def test_fail_on_passes_when_findings_are_below(tmp_path: Path, fake_env) -> None:
    from tests.support.review_repo import make_review_repo

    repo = make_review_repo(tmp_path / "r", {"a.py": "x = 1  # BUG(low): small thing\n"})
    assert run_cli("run", str(repo), "--fail-on", "medium", env=fake_env.env).returncode == 0


def test_rerun_of_finished_run_sends_nothing_to_the_model(repo: Path, fake_env) -> None:
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    before = len(fake_env.invocations())
    again = run_cli("run", str(repo), env=fake_env.env)
    assert again.returncode == 0
    assert len(fake_env.invocations()) == before
    assert _keys(load_report(repo)) == DEFAULT_FINDINGS


def test_failed_chunk_is_retried_on_rerun_and_finished_ones_are_not(
    tmp_path: Path, fake_env
) -> None:
    repo = many_files_repo(tmp_path / "r", 8)
    cfg = write_config(tmp_path / "c.toml", max_files_per_chunk=2, max_attempts=1)
    fake_env.scenario([{"file": "pkg1/mod_001.py", "mode": "schema_fail", "times": 1}])
    first = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env)
    assert first.returncode == 1
    cp = load_checkpoint(repo)
    failed = [c for c in cp["chunks"] if c["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"] == "parse error"
    calls_before = len(fake_env.invocations())
    second = run_cli("run", str(repo), "--config", str(cfg), env=fake_env.env)
    assert second.returncode == 0, second.stderr
    new_calls = fake_env.invocations()[calls_before:]
    assert len(new_calls) == 1
    assert set(new_calls[0]["files"]) <= set(failed[0]["files"])
    assert len(load_report(repo)["issues"]) == 8


def test_incremental_rerun_reviews_only_the_changed_file(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 6)
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    before = len(fake_env.invocations())
    target = repo / "pkg2" / "mod_002.py"
    target.write_text(target.read_text() + "# BUG(high): a new problem\n")
    again = run_cli("run", str(repo), env=fake_env.env)
    assert again.returncode == 0, again.stderr
    new_calls = fake_env.invocations()[before:]
    assert [c["files"] for c in new_calls] == [["pkg2/mod_002.py"]]
    titles = {i["title"] for i in load_report(repo)["issues"]}
    assert "a new problem" in titles
    assert {f"issue number {i}" for i in range(6)} <= titles


def test_a_new_file_joins_its_folders_chunk_and_only_it_is_reviewed(
    tmp_path: Path, fake_env
) -> None:
    repo = many_files_repo(tmp_path / "r", 6)
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    before = len(fake_env.invocations())
    (repo / "pkg1" / "new_file.py").write_text("# BUG(info): fresh\n")
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0
    assert [c["files"] for c in fake_env.invocations()[before:]] == [["pkg1/new_file.py"]]
    assert any(i["file"] == "pkg1/new_file.py" for i in load_report(repo)["issues"])


def test_changing_the_prompt_file_makes_every_chunk_stale(repo: Path, fake_env, tmp_path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Look for security problems only.")
    assert run_cli("run", str(repo), "--prompt-file", str(prompt), env=fake_env.env).returncode == 0
    before = len(fake_env.invocations())
    prompt.write_text("Look for performance problems only.")
    assert run_cli("run", str(repo), "--prompt-file", str(prompt), env=fake_env.env).returncode == 0
    assert len(fake_env.invocations()) > before


def test_second_instance_on_the_same_repo_exits_2_naming_the_pid(repo: Path, fake_env) -> None:
    env = dict(fake_env.env, FAKE_CLAUDE_MODE="slow", FAKE_CLAUDE_DELAY="3")
    first = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo)],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.time() + 20
        while not fake_env.invocations() and time.time() < deadline:
            time.sleep(0.1)
        cp_before = (repo / ".claude-tui" / "checkpoint.toml").read_bytes()
        second = run_cli("run", str(repo), env=env)
        assert second.returncode == 2
        assert f"pid {first.pid}" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        assert (repo / ".claude-tui" / "checkpoint.toml").read_bytes() == cp_before
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(30)


def test_stale_lock_of_a_dead_process_is_taken_over(repo: Path, fake_env) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (repo / ".claude-tui").mkdir(exist_ok=True)
    (repo / ".claude-tui" / "lock").write_text(
        json.dumps({"pid": int(dead.stdout), "host": os.uname().nodename})
    )
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0


def test_sigint_writes_checkpoint_exits_130_and_rerun_resumes(tmp_path: Path, fake_env) -> None:
    repo = many_files_repo(tmp_path / "r", 6)
    env = dict(fake_env.env, FAKE_CLAUDE_MODE="slow", FAKE_CLAUDE_DELAY="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--workers", "2", "--max-files-per-chunk", "2"],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    deadline = time.time() + 20
    while len(fake_env.invocations()) < 2 and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    cp = load_checkpoint(repo)
    paused = [c for c in cp["chunks"] if c["status"] == "paused"]
    assert paused and all(c["session_id"] for c in paused)
    report = load_report(repo)
    assert report["unfinished"]
    again = run_cli("run", str(repo), env=fake_env.env)
    assert again.returncode == 0, again.stderr
    resumed = [c for c in fake_env.invocations() if c["resume"]]
    assert {c["resume"] for c in resumed} >= {c["session_id"] for c in paused}
    assert len(load_report(repo)["issues"]) == 6


def test_missing_claude_binary_exits_2_with_one_line(repo: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path))
    env.pop("CLAUDE_TUI_CLAUDE_BIN", None)
    done = run_cli("run", str(repo), env=env)
    assert done.returncode == 2
    assert "Claude Code not found" in done.stderr and "--demo" in done.stderr
    bad = run_cli("run", str(repo), "--claude-bin", str(tmp_path / "nope"), env=env)
    assert bad.returncode == 2 and "not found" in bad.stderr
    not_exec = tmp_path / "claude"
    not_exec.write_text("#!/bin/sh\n")
    bad = run_cli("run", str(repo), "--claude-bin", str(not_exec), env=env)
    assert bad.returncode == 2 and "not executable" in bad.stderr
    assert not (repo / ".claude-tui" / "checkpoint.toml").exists()


def test_a_claude_bin_relative_to_where_the_user_stands_is_found(
    repo: Path, fake_env, tmp_path: Path
) -> None:
    """The workers start in the repository: a relative path must not be looked up there."""
    tools = tmp_path / "tools"
    tools.mkdir()
    os.symlink(fake_env.env["CLAUDE_TUI_CLAUDE_BIN"], tools / "fakeclaude")
    for given in ("tools/fakeclaude", "./tools/fakeclaude"):
        env = dict(fake_env.env, CLAUDE_TUI_CLAUDE_BIN=given)
        done = run_cli("run", str(repo), "--fresh", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert _keys(load_report(repo)) == DEFAULT_FINDINGS


def test_dask_executor_without_the_extra_exits_2(repo: Path, fake_env, tmp_path: Path) -> None:
    # Hide `distributed` even where the [dask] extra is installed.
    shim = tmp_path / "no-dask" / "distributed"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    env = dict(fake_env.env, PYTHONPATH=str(shim.parent))
    done = run_cli("run", str(repo), "--executor", "dask://127.0.0.1:8786", env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "claude-tui: --executor dask://127.0.0.1:8786 needs the optional Dask extra: "
        "pip install 'claude-tui[dask]'"
    ]


def test_corrupt_checkpoint_stops_the_run_and_is_left_in_place(repo: Path, fake_env) -> None:
    state = repo / ".claude-tui"
    state.mkdir()
    (state / "checkpoint.toml").write_text("version = 1\n[[chunks]\nname = ")
    before = (state / "checkpoint.toml").read_bytes()
    done = run_cli("run", str(repo), env=fake_env.env)
    assert done.returncode == 2 and "--fresh" in done.stderr
    assert (state / "checkpoint.toml").read_bytes() == before
    fresh = run_cli("run", str(repo), "--fresh", env=fake_env.env)
    assert fresh.returncode == 0, fresh.stderr
    backups = list(state.glob("checkpoint.*.bak.toml"))
    assert len(backups) == 1 and backups[0].read_bytes() == before


def test_demo_backend_is_labelled_in_output_and_report(repo: Path) -> None:
    env = dict(os.environ, PATH="/nonexistent")
    done = run_cli("run", str(repo), "--demo", env=env, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    assert "DEMO" in done.stderr
    assert load_report(repo)["backend"] == "demo"


def test_the_demo_caps_its_workers_by_memory_as_a_real_run_does(repo: Path) -> None:
    """`--workers 100000` in the demo said "Starting ... with 100000 workers"."""
    env = dict(os.environ, PATH="/nonexistent")
    done = run_cli("run", str(repo), "--demo", "--workers", "100000", env=env, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    warning = re.search(r"warning: 100000 workers need about .* capped at (\d+)", done.stderr)
    assert warning is not None, done.stderr
    capped = int(warning.group(1))
    assert 1 <= capped < 100000
    assert re.search(rf"Starting \d+ of \d+ chunks? with {capped} workers \[DEMO", done.stderr)


def test_a_run_whose_stderr_is_closed_early_still_finishes_its_work(repo: Path, fake_env) -> None:
    """`claude-tui run REPO 2>&1 | head -2`: the reader goes away, the run goes on."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--max-files-per-chunk", "1"],
        env=fake_env.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()
    proc.stderr.close()  # head has read what it wanted
    assert proc.wait(timeout=120) == 0
    assert first.startswith(b"[")
    chunks = load_checkpoint(repo)["chunks"]
    assert len(chunks) > 1 and all(c["status"] == "done" for c in chunks)
    assert load_report(repo)["totals"]["chunks"] == len(chunks)


def test_plan_into_a_pipe_that_closes_ends_quietly(tmp_path: Path) -> None:
    """`claude-tui plan REPO | head -1`: no traceback when the reader goes away."""
    big = many_files_repo(tmp_path / "big", 1500)  # a table far larger than a pipe holds
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "plan", str(big), "--max-files-per-chunk", "1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "Exception ignored" not in err


def test_non_tty_progress_is_plain_lines(repo: Path, fake_env) -> None:
    done = run_cli("run", str(repo), env=fake_env.env)
    assert "\x1b[" not in done.stderr
    assert "started (attempt 1" in done.stderr


def test_non_tty_progress_stays_plain_when_force_color_is_set(repo: Path, fake_env) -> None:
    """FORCE_COLOR makes rich draw bars and colours; a log file must still get plain lines."""
    env = dict(fake_env.env, FORCE_COLOR="1", TERM="xterm-256color")
    assert run_cli("run", str(repo), env=env).returncode == 0
    done = run_cli("run", str(repo), "--fresh", env=env)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr and "\r" not in done.stderr
    # A note naming a long path is one line, not wrapped at rich's default 80 columns.
    (moved,) = [line for line in done.stderr.splitlines() if "--fresh: the old checkpoint" in line]
    assert moved.rstrip().endswith(".toml")


def test_model_turns_budget_and_bare_reach_the_worker_argv(repo: Path, fake_env) -> None:
    done = run_cli(
        "run", str(repo), "--model", "claude-test-1", "--max-turns", "7", "--bare",
        "--max-budget-usd", "5", env=fake_env.env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    argv = fake_env.invocations()[0]["argv"]
    assert argv[argv.index("--model") + 1] == "claude-test-1"
    assert argv[argv.index("--max-turns") + 1] == "7"
    assert "--bare" in argv
    assert float(argv[argv.index("--max-budget-usd") + 1]) == 5.0
    assert "--resume" not in argv and "--session-id" in argv


_TERMINATED_AT_START = """
import os, signal, sys
from tui_orchestrator import cli
from tui_orchestrator.engine import open_run

real_prepare = open_run.prepare_run

def prepare_then_terminated(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)  # lands while the checkpoint is being made
    return real_prepare(*args, **kwargs)

open_run.prepare_run = prepare_then_terminated
sys.exit(cli.main(["run", sys.argv[1]]))
"""


def test_sigterm_while_the_run_starts_up_is_a_clean_interrupt(repo: Path, fake_env) -> None:
    """Before the manager's own handlers exist, SIGTERM still means exit 130, not death."""
    done = subprocess.run(
        [sys.executable, "-c", _TERMINATED_AT_START, str(repo)],
        env=fake_env.env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == ["claude-tui: interrupted"]
    assert not (repo / ".claude-tui" / "lock").exists()
    assert not fake_env.invocations()  # no worker started
    assert run_cli("run", str(repo), env=fake_env.env).returncode == 0


def test_a_worker_that_writes_into_the_repository_is_named_in_log_notice_and_summary(
    repo: Path, fake_env
) -> None:
    """The real CLI gets read-only tools; a --claude-bin wrapper might not."""
    before = {p: (repo / p).read_bytes() for p in ("src/app.py", "lib/util.go")}
    done = run_cli("run", str(repo), env={**fake_env.env, "FAKE_CLAUDE_MODE": "write"})
    assert done.returncode == 0, done.stderr
    (written,) = [p for p, data in before.items() if (repo / p).read_bytes() != data]
    (chunk,) = [c["name"] for c in load_checkpoint(repo)["chunks"]]
    said = f"files changed while chunk {chunk} was reviewed: {written} — a worker may have"
    lines = [line for line in done.stderr.splitlines() if said in line.lower()]
    assert any("warning: " + said in line for line in lines), done.stderr  # the Notice
    assert any(line.startswith("Files changed while chunk") for line in lines)  # the summary
    log = (repo / ".claude-tui" / "logs" / f"{chunk}.jsonl").read_text()
    assert f'"changed_files": ["{written}"]' in log
