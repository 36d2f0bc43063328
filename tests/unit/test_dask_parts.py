"""The Dask executor's parts that need no cluster (and no ``distributed``): addresses, the
worker's folder and session shipping, paths coming back from another machine."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from tui_orchestrator.engine import dask_task
from tui_orchestrator.engine.config import Config, load_config
from tui_orchestrator.engine.dask_runner import (
    DaskRunner,
    _Attempt,
    repo_archive,
    repo_commit,
    repo_key,
    scheduler_address,
)
from tui_orchestrator.engine.dask_task import (
    HostFolder,
    HostFolderError,
    SessionShipper,
    extract_archive,
    project_key,
    safe_relative,
)
from tui_orchestrator.engine.errors import ConfigError, ExecutorError
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.prompt import DEFAULT_INSTRUCTIONS, first_prompt, with_root
from tui_orchestrator.engine.runner import Job
from tui_orchestrator.engine.stream import ToolUse

from ._helpers import PROJECT_ROOT, git


@pytest.mark.parametrize(
    ("executor", "address"),
    [
        ("dask://127.0.0.1:8786", "tcp://127.0.0.1:8786"),
        ("dask://scheduler.internal", "tcp://scheduler.internal:8786"),
        ("dask://tls://10.0.0.5:9000", "tls://10.0.0.5:9000"),
    ],
)
def test_dask_urls_become_scheduler_addresses(executor: str, address: str) -> None:
    assert scheduler_address(executor) == address


@pytest.mark.parametrize("executor", ["dask://", "dask://host:port", "dask://h:1/x"])
def test_a_malformed_dask_url_is_a_usage_error(executor: str) -> None:
    with pytest.raises(ExecutorError, match="dask://HOST:PORT"):
        scheduler_address(executor)


def test_the_prompt_names_the_workers_folder_and_keeps_custom_instructions() -> None:
    instructions = "Repository root: a line of the user's own prompt"
    prompt = first_prompt(instructions, Path("/home/me/repo"), ["a.py"])
    moved = with_root(prompt, "/tmp/claude-tui-me/repo-1a2b")
    assert moved.startswith(instructions)
    assert "Repository root: /tmp/claude-tui-me/repo-1a2b\nFiles to review (1):\n- a.py" in moved
    assert "/home/me/repo" not in moved


@pytest.mark.parametrize("bad", ["../x.py", "/etc/passwd", "a/../../b.py", "", "C:/x.py"])
def test_a_shipped_path_never_leaves_the_workers_folder(bad: str) -> None:
    with pytest.raises(HostFolderError):
        safe_relative(bad)


def test_the_workers_folder_is_rebuilt_sessions_ship_as_they_grow_and_all_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_TUI_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "config"))
    spec = {"repo_key": "repo-abc", "files": {"src/a.py": b"x = 1\n", "b.go": b"package b\n"}}
    with HostFolder(spec) as ws:
        assert (ws.root / "src" / "a.py").read_bytes() == b"x = 1\n"
        assert ws.projects == tmp_path / "config" / "projects" / project_key(ws.root)
        ws.restore_session("s1", b'{"turn": 1}\n')
        shipper = SessionShipper(ws, "s1", offset=len(b'{"turn": 1}\n'))
        assert shipper.poll() is None
        with open(ws.session_path("s1"), "ab") as handle:
            handle.write(b'{"turn": 2}\n{"tur')
        # Only whole lines travel; the rest goes with the next look.
        assert shipper.poll() == {
            "k": "session",
            "id": "s1",
            "offset": 12,
            "data": b'{"turn": 2}\n',
        }
        with open(ws.session_path("s1"), "ab") as handle:
            handle.write(b'n": 3}\n')
        assert shipper.poll()["data"] == b'{"turn": 3}\n'
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["repo-abc.lock"]
    assert not ws.projects.exists()


def test_a_shared_path_is_used_as_it_is_and_only_its_sessions_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_TUI_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "config"))
    shared = tmp_path / "nfs" / "repo"
    (shared / "src").mkdir(parents=True)
    (shared / "src" / "a.py").write_text("x = 1\n")
    with HostFolder({"repo_key": "repo-abc", "shared_root": str(shared)}) as ws:
        assert ws.root == shared
        ws.restore_session("s1", b"{}\n")
        (ws.projects / "someone-elses.jsonl").write_text("{}\n")
    assert (shared / "src" / "a.py").exists()
    assert [p.name for p in ws.projects.iterdir()] == ["someone-elses.jsonl"]
    with pytest.raises(HostFolderError, match="not a folder"):
        HostFolder({"repo_key": "k", "shared_root": str(tmp_path / "missing")}).__enter__()


def test_worker_paths_come_back_as_the_repositorys_own(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    runner = DaskRunner("dask://127.0.0.1:8786")
    job = Job(chunk="c", files=["src/a.py"], root=repo, prompt="", session_id="s")
    key = repo_key(repo)
    attempt = _Attempt(job=job, emit=print, log=None, sessions=tmp_path, key=key)
    attempt.root = f"/tmp/claude-tui-w/{key}"
    read = ToolUse("Read", {"file_path": f"/tmp/claude-tui-w/{key}/src/a.py"}, "t1")
    assert runner._localise(attempt, read).input["file_path"] == f"{repo}/src/a.py"
    # Read by an earlier attempt on a machine with another temp folder (the session's history).
    elsewhere = Finding(f"/var/tmp/x/{key}/src/a.py", 3, Severity.HIGH, "t", "d", "c")
    assert runner._relocate_finding(attempt, elsewhere).file == "src/a.py"
    unrelated = Finding("/etc/hosts", 1, Severity.LOW, "t", "d", "c")
    assert runner._relocate_finding(attempt, unrelated).file == "/etc/hosts"


def test_the_engine_imports_without_distributed() -> None:
    probe = (
        "import sys\n"
        "import tui_orchestrator.engine.dask_runner, tui_orchestrator.engine.manager\n"
        "assert 'distributed' not in sys.modules, 'distributed was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_without_the_dask_extra_the_executor_is_refused_with_the_install_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tui_orchestrator.engine.backends import check_executor

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ExecutorError, match=r"pip install 'claude-tui\[dask\]'"):
        check_executor(Config(executor="dask://127.0.0.1:8786"))
    check_executor(Config(executor="local"))


def test_default_prompt_still_round_trips() -> None:
    prompt = first_prompt(DEFAULT_INSTRUCTIONS, Path("/r"), ["a.py"])
    assert with_root(with_root(prompt, "/w"), "/r") == prompt


# --- whole-repository context (--context repo) ----------------------------------------------


def _tar(*members: tuple[str, str, bytes | str]) -> bytes:
    """A tar archive of (kind, name, data or link target) members; kind: file, dir, sym, hard."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for kind, name, data in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(data, bytes)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}[
                kind
            ]
            if kind != "dir":
                assert isinstance(data, str)
                info.linkname = data
            tar.addfile(info)
    return out.getvalue()


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.parametrize("name", ["../evil.py", "/tmp/evil.py", "a/../../evil.py", "C:/evil.py"])
def test_an_archive_with_a_member_outside_the_folder_is_refused_whole(
    tmp_path: Path, name: str
) -> None:
    data = _tar(("file", "ok.py", b"x = 1\n"), ("file", name, b"pwned\n"))
    with pytest.raises(HostFolderError, match="refusing the repository archive"):
        extract_archive(data, tmp_path / "dest")
    # Refused before anything was written.
    assert not (tmp_path / "dest" / "ok.py").exists()
    assert not (tmp_path / "evil.py").exists()


def test_links_pointing_outside_the_folder_are_left_out_and_the_rest_unpacked(
    tmp_path: Path,
) -> None:
    (tmp_path / "secret.txt").write_text("worker's own file\n")
    data = _tar(
        ("dir", "src", b""),
        ("file", "src/a.py", b"x = 1\n"),
        ("sym", "src/inside", "a.py"),
        ("sym", "docs", "src"),
        ("sym", "abs", "/etc/passwd"),
        ("sym", "src/up", "../../secret.txt"),
        ("hard", "hard-out", "../secret.txt"),
    )
    dest = tmp_path / "dest"
    assert extract_archive(data, dest) == 4
    assert _tree(dest) == {"src", "src/a.py", "src/inside", "docs"}
    assert (dest / "src" / "inside").read_text() == "x = 1\n"
    assert (dest / "docs" / "a.py").read_text() == "x = 1\n"


def test_an_archive_that_is_not_a_tar_is_a_host_folder_error(tmp_path: Path) -> None:
    with pytest.raises(HostFolderError, match="cannot unpack"):
        extract_archive(b"not a tar at all" * 100, tmp_path / "dest")


def _repo_spec(archive_key: str = "claude-tui-repo-k-abc-run1", **extra: object) -> dict:
    return {"repo_key": "repo-abc", "archive_key": archive_key, **extra}


COMMITTED = _tar(
    ("file", "src/a.py", b"committed a\n"),
    ("file", "lib/b.py", b"committed b\n"),
    ("file", "README.md", b"# readme\n"),
)


def test_concurrent_attempts_unpack_the_repository_once_and_chunk_files_overlay_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_TUI_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "config"))
    calls: list[Path] = []
    real = dask_task.extract_archive

    def counted(data: bytes, dest: Path) -> int:
        calls.append(dest)
        time.sleep(0.2)  # a slow unpack: the others must wait for it, not start their own
        return real(data, dest)

    monkeypatch.setattr(dask_task, "extract_archive", counted)
    barrier = threading.Barrier(4)
    seen: list[tuple[bool, bytes, bytes]] = []
    errors: list[BaseException] = []

    def attempt(i: int) -> None:
        try:
            files = {"src/a.py": b"working tree a\n"} if i == 0 else {f"new{i}.py": b"n\n"}
            barrier.wait()
            with HostFolder(_repo_spec(files=files), COMMITTED, held=lambda: False) as ws:
                barrier.wait()  # all four are in the folder at once
                own = (ws.root / "src/a.py").read_bytes() if i == 0 else b""
                seen.append((ws.unpacked, (ws.root / "lib/b.py").read_bytes(), own))
        except BaseException as exc:  # pragma: no cover - shown by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert len(calls) == 1
    assert sorted(u for u, _, _ in seen) == [False, False, False, True]
    # Other chunks' files as committed; the chunk's own as in the user's working tree.
    assert all(b == b"committed b\n" for _, b, _ in seen)
    assert [a for _, _, a in seen if a] == [b"working tree a\n"]
    # The run no longer holds the archive: the last attempt removed everything.
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == [
        "repo-abc.lock",
        "repo-abc.unpack.lock",
    ]


def test_the_copy_outlives_its_attempts_while_the_run_holds_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_TUI_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(dask_task, "KEEP_POLL_S", 0.02)
    held = threading.Event()
    held.set()
    with HostFolder(_repo_spec(), COMMITTED, held.is_set) as first:
        assert first.unpacked
        first.restore_session("s1", b"{}\n")
    # Between two chunks on this machine the copy stays (no second unpack); sessions go.
    assert (first.root / "README.md").exists()
    assert not first.session_path("s1").exists()
    with HostFolder(_repo_spec(files={"src/a.py": b"edited\n"}), COMMITTED, held.is_set) as again:
        assert not again.unpacked
        assert (again.root / "src/a.py").read_bytes() == b"edited\n"
    # The run lets the archive go: the copy is removed soon after.
    held.clear()
    deadline = time.monotonic() + 5
    while first.root.exists() or (tmp_path / "work" / "repo-abc.archive").exists():
        assert time.monotonic() < deadline, "the copy outlived the run"
        time.sleep(0.02)


def test_another_runs_archive_replaces_the_copy_instead_of_mixing_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_TUI_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "config"))
    with HostFolder(_repo_spec("run-1"), COMMITTED, lambda: True) as first:
        (first.root / "stale.py").write_text("left by a worker that died\n")
    later = _tar(("file", "src/a.py", b"next commit\n"))
    with HostFolder(_repo_spec("run-2"), later, lambda: False) as second:
        assert second.unpacked
        assert _tree(second.root) == {"src", "src/a.py"}


def test_the_repository_archive_is_the_commit_seen_from_the_folder_given(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sub" / "pkg").mkdir(parents=True)
    (repo / "top.py").write_text("t = 1\n")
    (repo / "sub" / "pkg" / "m.py").write_text("m = 1\n")
    git(repo, "init", "-q")
    with pytest.raises(ConfigError, match="has no commit yet"):
        repo_commit(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    (repo / "sub" / "pkg" / "m.py").write_text("m = 'uncommitted'\n")
    commit = repo_commit(repo / "sub")
    assert len(commit) == 40
    dest = tmp_path / "dest"
    extract_archive(repo_archive(repo / "sub", commit), dest)
    # Paths relative to the folder claude-tui was given, as the chunks' are; the commit's bytes.
    assert _tree(dest) == {"pkg", "pkg/m.py"}
    assert (dest / "pkg" / "m.py").read_text() == "m = 1\n"
    with pytest.raises(ConfigError, match=r"needs a git checkout with a commit: .* is not a git"):
        repo_commit(tmp_path / "dest")


def test_prepare_makes_the_archive_once_and_says_so(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("a = 1\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    runner = DaskRunner("dask://127.0.0.1:8786", context="repo")
    note = runner.prepare(repo)
    assert note.startswith("--context repo: the repository at commit ")
    assert runner.prepare(repo) == note
    assert runner.archive_key(repo).startswith(f"claude-tui-repo-{repo_key(repo)}-")
    assert DaskRunner("dask://127.0.0.1:8786").prepare(repo) == ""
    shared = DaskRunner("dask://127.0.0.1:8786", context="repo", shared_root="/mnt/src")
    assert "changes nothing with --shared-root" in shared.prepare(tmp_path)


def test_context_is_chunk_or_repo(tmp_path: Path) -> None:
    assert Config().context == "chunk"
    assert (
        load_config(flags={"context": "repo"}, environ={}, user_file=tmp_path / "no").context
        == "repo"
    )
    with pytest.raises(ConfigError, match="--context: 'context' must be one of chunk, repo"):
        load_config(flags={"context": "all"}, environ={}, user_file=tmp_path / "no")
    bad = tmp_path / "c.toml"
    bad.write_text('context = "whole"\n')
    with pytest.raises(ConfigError, match=r"c.toml: 'context' must be one of chunk, repo"):
        load_config(config_file=bad, environ={}, user_file=tmp_path / "no")


def test_resuming_a_session_that_never_came_back_is_missing_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that died in its chunk's first turn shipped nothing of the session: the
    chunk starts afresh without a doomed `--resume` (no scheduler is even asked)."""
    import asyncio
    import uuid

    from tui_orchestrator.engine.runner import OutcomeKind

    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    runner = DaskRunner("dask://127.0.0.1:9")  # nothing listens there
    job = Job("c", ["a.py"], tmp_path, "p", str(uuid.uuid4()), resume=True)
    outcome = asyncio.run(runner.run(job, lambda event: None))
    assert outcome.kind is OutcomeKind.SESSION_MISSING
    assert job.session_id in outcome.stderr_tail
