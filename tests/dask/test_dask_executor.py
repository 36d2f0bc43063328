"""The Dask executor: the real Claude Code CLI on two Dask workers (a LocalCluster on
127.0.0.1), against the loopback Messages-API server.

One cluster and one server serve the whole module (the workers' environment points at the
server); each test sets the server's latency and reads its request log.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import load_checkpoint, load_report, run_cli
from tests.support.marks import NEEDS_REAL_CLI
from tests.support.messages_api import ScriptedMessagesServer
from tests.support.real_cli import find_claude_bin, real_cli_env
from tests.support.review_repo import make_review_repo
from tui_orchestrator.engine.config import load_config, user_config_path
from tui_orchestrator.engine.rate_memory import RateMemory, api_identity

distributed = pytest.importorskip(
    "distributed",
    reason="the Dask executor's tests need the [dask] extra: pip install -e '.[test,dask]'",
)
psutil = pytest.importorskip("psutil", reason="installed with distributed")

CLAUDE_BIN = find_claude_bin()

pytestmark = [*NEEDS_REAL_CLI, pytest.mark.dask]


def _files(count: int) -> dict[str, str]:
    return {
        f"pkg{i % 4}/mod{i}.py": f"x = {i}\n\n# BUG(medium): issue number {i}\n"
        for i in range(count)
    }


def _expected(count: int) -> set[tuple[str, int, str, str]]:
    return {(f"pkg{i % 4}/mod{i}.py", 3, "medium", f"issue number {i}") for i in range(count)}


def _keys(report: dict) -> set[tuple[str, int, str, str]]:
    return {(i["file"], i["line"], i["severity"], i["title"]) for i in report["issues"]}


@dataclass
class Cluster:
    srv: ScriptedMessagesServer
    local: distributed.LocalCluster
    client: distributed.Client
    work: Path
    home: Path

    @property
    def executor(self) -> str:
        return "dask://" + self.local.scheduler_address.removeprefix("tcp://")

    def worker_pids(self) -> dict[str, int]:
        return self.client.run(os.getpid)

    def hosts(self) -> set[str]:
        return {address.removeprefix("tcp://") for address in self.worker_pids()}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("dask")
    srv = ScriptedMessagesServer().start()
    # What a worker machine needs (README): Claude Code on its PATH, the API settings in its
    # environment; CLAUDE_TUI_WORKDIR keeps the rebuilt chunks inside the test's folder.
    env = real_cli_env(tmp / "home", srv.base_url)
    env["PATH"] = f"{CLAUDE_BIN.parent}{os.pathsep}{env['PATH']}"
    env["CLAUDE_TUI_WORKDIR"] = str(tmp / "work")
    local = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        env=env,
    )
    client = distributed.Client(local, set_as_default=False)
    try:
        yield Cluster(srv, local, client, tmp / "work", tmp / "home")
    finally:
        client.close()
        local.close()
        srv.stop()


@pytest.fixture
def dask(cluster: Cluster) -> Cluster:
    """The module's cluster with both workers up (a test may have killed one) and a clean log."""
    cluster.client.wait_for_workers(2, timeout=30)
    cluster.srv.latency = 0.0
    cluster.srv.also_read = []
    cluster.srv.clear_log()
    return cluster


def _claude_processes(session_ids: set[str]) -> list[int]:
    """Claude Code processes whose argv names one of the sessions."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if set(cmdline) & session_ids:
            found.append(proc.info["pid"])
    return found


def _manager(setup, runner, cfg, on_event=None):
    """A manager over a prepared run, as OpenRun makes it (logs under .claude-tui/)."""
    from tui_orchestrator.engine.manager import Manager

    return Manager(
        root=setup.root, checkpoint=setup.checkpoint, store=setup.store, runner=runner,
        config=cfg, instructions=setup.instructions, sizes=setup.sizes,
        on_event=on_event, logs_dir=setup.root / ".claude-tui" / "logs",
    )  # fmt: skip


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_repository_runs_through_two_dask_workers_with_findings_and_sessions(
    dask: Cluster, tmp_path: Path
) -> None:
    repo = make_review_repo(tmp_path / "repo", _files(8))
    done = run_cli(
        "run", str(repo), "--workers", "2", "--max-files-per-chunk", "2",
        "--executor", dask.executor,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _keys(load_report(repo)) == _expected(8)
    assert "2 workers, 2 threads" in done.stderr and "running on" in done.stderr
    chunks = load_checkpoint(repo)["chunks"]
    assert len(chunks) == 4
    for chunk in chunks:
        assert chunk["status"] == "done" and chunk["attempts"] == 1
        uuid.UUID(chunk["session_id"])
        # The session came back from the worker and is kept for --resume anywhere.
        saved = repo / ".claude-tui" / "sessions" / f"{chunk['session_id']}.jsonl"
        assert chunk["session_id"] in saved.read_text()
    # Both workers took chunks, and each chunk says which one ran it.
    assert {c["host"] for c in chunks} == dask.hosts()
    # Workers keep nothing once the repository's last chunk ends there: no files, no sessions.
    assert not [p for p in dask.work.iterdir() if p.suffix != ".lock"]
    projects = dask.home / ".claude" / "projects"
    assert not projects.exists() or not any(projects.iterdir())
    # Each process ran in the worker's copy of the repository, never in the repository itself.
    for chunk in chunks:
        log = [
            json.loads(line)
            for line in (repo / ".claude-tui" / "logs" / f"{chunk['name']}.jsonl")
            .read_text()
            .splitlines()
        ]
        (init,) = [e for e in log if e.get("subtype") == "init"]
        assert init["cwd"].startswith(str(dask.work)) and str(repo) not in init["cwd"]
        assert any(e.get("host") == chunk["host"] for e in log if e["type"] == "claude-tui")


def test_verification_runs_on_the_dask_workers_too(dask: Cluster, tmp_path: Path) -> None:
    files = {
        "pkg0/a.py": "x = 1\n# BUG(high): real problem\n",
        "pkg1/b.py": "y = 2\n# DECOY(high): looks bad, is fine\n",
    }
    repo = make_review_repo(tmp_path / "repo", files)
    done = run_cli(
        "run", str(repo), "--workers", "2", "--max-files-per-chunk", "1", "--verify", "high",
        "--executor", dask.executor,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    verdicts = {i["file"]: i["verdict"] for i in load_report(repo)["issues"]}
    assert verdicts == {"pkg0/a.py": "confirmed", "pkg1/b.py": "refuted"}
    # The verifiers ran in a worker's copy, as the reviews did.
    logs = list((repo / ".claude-tui" / "logs" / "verify").glob("*.jsonl"))
    assert logs
    for path in logs:
        inits = [json.loads(x) for x in path.read_text().splitlines() if '"init"' in x]
        assert inits and all(e["cwd"].startswith(str(dask.work)) for e in inits)


def _commit(repo: Path) -> None:
    for args in (["add", "-A"], ["commit", "-qm", "the commit"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=repo, check=True, capture_output=True,
        )  # fmt: skip


def _scheduler_scatters(dask_scheduler: distributed.Scheduler) -> list[dict]:
    return [
        dict(msg)
        for _, msg in dask_scheduler.get_events("all")
        if isinstance(msg, dict) and msg.get("action") == "scatter"
    ]


def _scatters(client: distributed.Client) -> list[dict]:
    """What the scheduler logged of every client's scatter calls (its own record; read there,
    as some other events of the topic do not travel)."""
    return client.run_on_scheduler(_scheduler_scatters)


def _wait_empty(work: Path) -> None:
    _wait(
        lambda: not [p for p in work.iterdir() if p.suffix != ".lock"],
        10,
        "the workers to remove the repository's copy",
    )


def test_context_repo_ships_the_repository_once_and_the_agent_reads_beyond_its_chunk(
    dask: Cluster, tmp_path: Path
) -> None:
    files = _files(8)
    # In no chunk (not a source type): only the repository's archive brings it to a worker.
    files["docs/NOTES.md"] = "Notes.\n\nBUG(high): documented outside every chunk\n"
    repo = make_review_repo(tmp_path / "repo", files)
    _commit(repo)
    # Reviewed as they are in the working tree, not as committed: an edit and a new file.
    (repo / "pkg1" / "mod1.py").write_text("x = 1\n# BUG(low): edited after the commit\n")
    (repo / "pkg2" / "new.py").write_text("# BUG(info): not committed yet\n")
    dask.srv.also_read = ["docs/NOTES.md"]
    scattered = len(_scatters(dask.client))
    done = run_cli(
        "run", str(repo), "--workers", "2", "--max-files-per-chunk", "2",
        "--executor", dask.executor, "--context", "repo",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = {k for k in _expected(8) if k[0] != "pkg1/mod1.py"} | {
        ("pkg1/mod1.py", 2, "low", "edited after the commit"),
        ("pkg2/new.py", 1, "info", "not committed yet"),
        # Read by every chunk on its worker, reported once, with its repository path.
        ("docs/NOTES.md", 3, "high", "documented outside every chunk"),
    }
    assert _keys(load_report(repo)) == expected
    assert "--context repo: the repository at commit" in done.stderr
    chunks = load_checkpoint(repo)["chunks"]
    assert len(chunks) == 5 and all(c["status"] == "done" for c in chunks)
    # The archive went out once for the whole run, whatever the number of chunks.
    assert len(_scatters(dask.client)) - scattered == 1
    # Unpacked once on this machine (both workers share it): the copy stays between chunks.
    unpacked = []
    for chunk in chunks:
        log = (repo / ".claude-tui" / "logs" / f"{chunk['name']}.jsonl").read_text()
        meta = [json.loads(line) for line in log.splitlines() if '"unpacked"' in line]
        unpacked += [m["unpacked"] for m in meta]
    assert sorted(unpacked) == [False] * (len(chunks) - 1) + [True]
    # The run let the archive go: the workers remove the copy and its sessions.
    _wait_empty(dask.work)
    projects = dask.home / ".claude" / "projects"
    assert not projects.exists() or not any(projects.iterdir())


def test_context_repo_copy_goes_when_claude_tui_is_killed_mid_run(
    dask: Cluster, tmp_path: Path
) -> None:
    repo = make_review_repo(tmp_path / "repo", _files(6))
    _commit(repo)
    dask.srv.latency = 1.0
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--workers", "2",
         "--max-files-per-chunk", "1", "--executor", dask.executor, "--context", "repo"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(lambda: any(r.status == 200 for r in dask.srv.requests()), 60, "a first turn")
        copies = [p for p in dask.work.iterdir() if p.suffix == ".archive"]
        assert copies and (dask.work / copies[0].stem / "pkg3" / "mod3.py").is_file()
    finally:
        proc.kill()
        proc.wait()
    # The scheduler lets a dead client's archive go; the workers then remove the copy.
    _wait_empty(dask.work)


def test_context_repo_outside_a_git_checkout_is_one_line_and_exit_2(
    dask: Cluster, tmp_path: Path
) -> None:
    repo = make_review_repo(tmp_path / "repo", _files(2), git=False)
    done = run_cli("run", str(repo), "--executor", dask.executor, "--context", "repo")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"claude-tui: --context repo needs a git checkout with a commit: {repo} "
        "is not a git checkout"
    ]
    assert not (repo / ".claude-tui" / "checkpoint.toml").exists()


def test_a_dask_worker_killed_mid_chunk_loses_no_finding(dask: Cluster, tmp_path: Path) -> None:
    repo = make_review_repo(tmp_path / "repo", _files(6))
    dask.srv.latency = 1.0
    # Both chunks start at once, as after an earlier run against this API that met no limit
    # (engine/rate_memory.py): whichever worker is killed below is then mid-chunk.
    memory = RateMemory(user_config_path().parent, api_identity(os.environ, load_config().model))
    assert memory.remember_free(2, time.time()) == ""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--workers", "2",
         "--max-files-per-chunk", "2", "--executor", dask.executor],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        # Once a chunk's first turn is answered, its worker is mid-chunk: kill that worker.
        _wait(
            lambda: any(r.reply == "read" and r.status == 200 for r in dask.srv.requests()),
            60,
            "a first turn",
        )
        victim, pid = min(dask.worker_pids().items())
        victim_host = victim.removeprefix("tcp://")
        os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "retrying 2/3" in err
    assert _keys(load_report(repo)) == _expected(6)
    chunks = load_checkpoint(repo)["chunks"]
    assert all(c["status"] == "done" for c in chunks)
    # The chunk on the dead worker went on elsewhere as one more attempt, resuming its session.
    (again,) = [c for c in chunks if c["attempts"] == 2]
    assert max(c["attempts"] for c in chunks) == 2
    log = (repo / ".claude-tui" / "logs" / f"{again['name']}.jsonl").read_text()
    # Seen by the client (the worker left the scheduler) or by Dask's re-run of the task.
    crash = [json.loads(line) for line in log.splitlines() if '"kind": "crash"' in line]
    assert crash and "died" in crash[0]["error"]
    assert victim_host in crash[0]["error"] or "ran this attempt" in crash[0]["error"]
    assert any(r.resumed and r.session_id == again["session_id"] for r in dask.srv.requests())


def test_kill_9_of_claude_tui_then_rerun_loses_nothing_and_resends_no_finished_chunk(
    dask: Cluster, tmp_path: Path
) -> None:
    repo = make_review_repo(tmp_path / "repo", _files(8))
    dask.srv.latency = 0.8
    args = [sys.executable, "-m", "tui_orchestrator", "run", str(repo), "--workers", "2",
            "--max-files-per-chunk", "1", "--executor", dask.executor]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    checkpoint = repo / ".claude-tui" / "checkpoint.toml"

    def done_and_running() -> bool:
        try:
            chunks = tomllib.loads(checkpoint.read_text())["chunks"]
        except (OSError, tomllib.TOMLDecodeError):
            return False
        status = [c["status"] for c in chunks]
        return "done" in status and "running" in status

    try:
        _wait(done_and_running, 60, "a finished chunk while others run")
        time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait()
    cp = tomllib.loads(checkpoint.read_text())
    done_files = {f for c in cp["chunks"] if c["status"] == "done" for f in c["files"]}
    unfinished = {c["session_id"] for c in cp["chunks"] if c["status"] != "done"} - {""}
    assert done_files and unfinished
    # The workers end the processes of a client that went away.
    _wait(lambda: not _claude_processes(unfinished), 10, "the orphaned processes to end")
    seen = len(dask.srv.requests())
    again = run_cli("run", str(repo), "--executor", dask.executor)
    assert again.returncode == 0, again.stderr
    for record in dask.srv.requests()[seen:]:
        assert not set(record.files) & done_files, f"finished file sent again: {record.files}"
    assert _keys(load_report(repo)) == _expected(8)


async def test_pause_through_dask_stops_the_remote_process_and_resume_and_ask_continue_it(
    dask: Cluster, tmp_path: Path
) -> None:
    from tui_orchestrator.engine.checkpoint import ChunkStatus
    from tui_orchestrator.engine.config import Config
    from tui_orchestrator.engine.dask_runner import DaskRunner
    from tui_orchestrator.engine.events import ChunkPlaced
    from tui_orchestrator.engine.run_setup import prepare_run

    repo = make_review_repo(tmp_path / "repo", _files(4))
    dask.srv.latency = 1.5
    cfg = Config(workers=2, max_files_per_chunk=2, verify="off")
    setup = prepare_run(repo, cfg, backend="claude")
    runner = DaskRunner(dask.executor)
    events: list = []
    manager = _manager(setup, runner, cfg, on_event=events.append)
    task = manager.start()
    name = manager.checkpoint.chunks[0].name
    files = set(manager.state(name).files)
    deadline = time.monotonic() + 30
    # Pause after the first turn: the session holds it, the second turn is in flight.
    while not any(
        r.status == 200 and r.reply == "read" and set(r.files) <= files for r in dask.srv.requests()
    ):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    session = manager.state(name).session_id
    assert _claude_processes({session}), "the chunk's process is not running on a worker"
    host = manager.state(name).host
    assert host in dask.hosts()
    assert any(isinstance(e, ChunkPlaced) and e.chunk == name for e in events)
    await asyncio.sleep(0.3)  # the first turn's session growth reaches the client
    paused_at = time.monotonic()
    manager.pause(name)
    while _claude_processes({session}):
        assert time.monotonic() - paused_at < 2.0, "the remote process outlived the pause"
        await asyncio.sleep(0.02)
    await asyncio.wait_for(task, 60)
    assert manager.state(name).status is ChunkStatus.PAUSED
    assert manager.state(name).session_id == session
    saved = repo / ".claude-tui" / "sessions" / f"{session}.jsonl"
    assert saved.stat().st_size > 0
    # Its files count as read: their contents are in the session kept here.
    assert set(manager.state(name).files_read) == files
    manager.resume(name)
    await asyncio.wait_for(manager.start(), 60)
    # A follow-up question goes to the same session, restored on whichever worker takes it.
    answer = await asyncio.wait_for(manager.ask(name, "Anything else?"), 60)
    await runner.aclose()
    assert answer.startswith("Scripted answer")
    assert manager.state(name).status is ChunkStatus.DONE
    assert manager.state(name).session_id == session
    assert any(r.session_id == session and r.resumed for r in dask.srv.requests())
    found = {(f.file, f.line, f.title) for c in manager.checkpoint.chunks for f in c.issues}
    assert found == {(f, line, title) for f, line, _, title in _expected(4)}


async def test_cancel_and_budget_reach_the_remote_process(dask: Cluster, tmp_path: Path) -> None:
    from tui_orchestrator.engine.checkpoint import ChunkStatus
    from tui_orchestrator.engine.config import Config
    from tui_orchestrator.engine.dask_runner import DaskRunner
    from tui_orchestrator.engine.run_setup import prepare_run

    repo = make_review_repo(tmp_path / "repo", _files(4))
    dask.srv.latency = 1.5
    cfg = Config(workers=2, max_files_per_chunk=2, max_budget_usd=5.0, verify="off")
    setup = prepare_run(repo, cfg, backend="claude")
    runner = DaskRunner(dask.executor)
    manager = _manager(setup, runner, cfg)
    task = manager.start()
    first, second = (c.name for c in manager.checkpoint.chunks)
    deadline = time.monotonic() + 30
    while True:  # the ids are given as the chunks start
        sessions = {manager.state(first).session_id, manager.state(second).session_id} - {""}
        if len(_claude_processes(sessions)) == 2:
            break
        assert time.monotonic() < deadline, "both chunks should run on the cluster"
        await asyncio.sleep(0.05)
    # Each remote CLI got at most the run's budget.
    for pid in _claude_processes(sessions):
        argv = psutil.Process(pid).cmdline()
        assert float(argv[argv.index("--max-budget-usd") + 1]) <= 5.0
    doomed = manager.state(second).session_id
    cancelled_at = time.monotonic()
    manager.cancel(second)
    while _claude_processes({doomed}):
        assert time.monotonic() - cancelled_at < 2.0, "the remote process outlived the cancel"
        await asyncio.sleep(0.02)
    await asyncio.wait_for(task, 60)
    await runner.aclose()
    assert manager.state(second).status is ChunkStatus.CANCELLED
    assert manager.state(first).status is ChunkStatus.DONE


def test_an_unreachable_scheduler_at_start_is_one_line_and_exit_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    repo = make_review_repo(tmp_path / "repo", _files(2))
    done = run_cli("run", str(repo), "--executor", f"dask://127.0.0.1:{port}", timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"claude-tui: cannot reach the Dask scheduler at dask://127.0.0.1:{port}: "
        "Connection refused (start one with `dask scheduler`)"
    ]
    assert not (repo / ".claude-tui" / "checkpoint.toml").exists()


# The module's cluster holds the default HTTP port; the second one picks another (says so).
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
async def test_a_scheduler_that_goes_away_mid_chunk_is_an_outage(
    cluster: Cluster, tmp_path: Path
) -> None:
    from tui_orchestrator.engine.dask_runner import DaskRunner
    from tui_orchestrator.engine.prompt import DEFAULT_INSTRUCTIONS, first_prompt
    from tui_orchestrator.engine.runner import Job, OutcomeKind
    from tui_orchestrator.engine.stream import Placed

    repo = make_review_repo(tmp_path / "repo", _files(2))
    cluster.srv.latency = 1.5
    # A cluster of its own, so that its scheduler can go away.
    env = real_cli_env(cluster.home, cluster.srv.base_url)
    env["PATH"] = f"{CLAUDE_BIN.parent}{os.pathsep}{env['PATH']}"
    env["CLAUDE_TUI_WORKDIR"] = str(cluster.work)
    local = await distributed.LocalCluster(
        n_workers=1, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None, env=env, asynchronous=True,
    )  # fmt: skip
    runner = DaskRunner("dask://" + local.scheduler_address.removeprefix("tcp://"))
    files = sorted(_files(2))
    session = str(uuid.uuid4())
    job = Job(
        chunk="all", files=files, root=repo, session_id=session,
        prompt=first_prompt(DEFAULT_INSTRUCTIONS, repo, files),
    )  # fmt: skip
    events: list = []
    run = asyncio.ensure_future(runner.run(job, events.append))
    try:
        deadline = time.monotonic() + 30
        while not _claude_processes({session}):
            assert time.monotonic() < deadline and not run.done()
            await asyncio.sleep(0.05)
        assert any(isinstance(e, Placed) for e in events)
        await local.close()
        outcome = await asyncio.wait_for(run, 30)
    finally:
        run.cancel()
        await local.close()
    assert outcome.kind is OutcomeKind.OUTAGE, outcome
    assert "Dask scheduler" in outcome.message
    # Its worker went with it, and the CLI with the worker.
    deadline = time.monotonic() + 10
    while _claude_processes({session}):
        assert time.monotonic() < deadline, "the CLI outlived its worker"
        await asyncio.sleep(0.05)
    await runner.aclose()
