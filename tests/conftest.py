"""Shared fixtures: a review repository, the fake `claude`, and running `claude-tui` itself."""

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import Tag
from tests.support.review_repo import make_review_repo
from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.events import Event
from tui_orchestrator.engine.manager import Manager
from tui_orchestrator.engine.run_setup import prepare_run
from tui_orchestrator.engine.runner import ClaudeRunner

SUPPORT = Path(__file__).parent / "support"
FAKE_CLAUDE = SUPPORT / "fake_claude.py"


@pytest.fixture(autouse=True)
def _isolated_user_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
):
    """No test reads or writes the developer's own claude-tui config. Its own user config
    turns verification off: tests about something else need not answer a verifier (those
    about verification ask for it with --verify)."""
    folder = tmp_path_factory.mktemp("user-config")
    (folder / "config.toml").write_text('verify = "off"\n', encoding="utf-8")
    monkeypatch.setenv("CLAUDE_TUI_CONFIG_DIR", str(folder))
    monkeypatch.delenv("CLAUDE_TUI_CLAUDE_BIN", raising=False)


@pytest.fixture
def fake_claude() -> Path:
    FAKE_CLAUDE.chmod(0o755)
    return FAKE_CLAUDE


@dataclass
class FakeEnv:
    """The environment and files of one fake-claude setup."""

    env: dict[str, str]
    log: Path
    state: Path

    def invocations(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def scenario(self, rules: list[dict], default: str = "ok") -> None:
        path = self.state.parent / "scenario.json"
        path.write_text(json.dumps({"rules": rules, "default": default}))
        self.env["FAKE_CLAUDE_SCENARIO"] = str(path)


@pytest.fixture
def fake_env(tmp_path: Path, fake_claude: Path) -> FakeEnv:
    state = tmp_path / "fake-state"
    state.mkdir()
    log = tmp_path / "fake-log.jsonl"
    env = dict(os.environ)
    env.update(
        {
            "FAKE_CLAUDE_STATE": str(state),
            "FAKE_CLAUDE_LOG": str(log),
            "FAKE_CLAUDE_SESSION_WRITE": "start",
            "CLAUDE_TUI_CLAUDE_BIN": str(fake_claude),
        }
    )
    return FakeEnv(env, log, state)


@pytest.fixture
def tag() -> Iterator[Tag]:
    """A tag of this test's own; what still carries it at the end is killed."""
    tag = Tag(uuid.uuid4().hex)
    yield tag
    # A failing test must not leave its processes running for the next ones.
    for pid in tag.processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_review_repo(tmp_path / "repo")


def many_files_repo(root: Path, count: int, per_file_bug: bool = True) -> Path:
    """A git repo with ``count`` files spread over folders, each with one BUG marker."""
    files = {}
    for i in range(count):
        folder = f"pkg{i % 4}"
        body = "x = 1\n" * (5 + i % 7)
        if per_file_bug:
            body += f"# BUG(medium): issue number {i}\n"
        files[f"{folder}/mod_{i:03d}.py"] = body
    return make_review_repo(root, files)


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
):
    """Run `python -m tui_orchestrator ARGS` and return the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "tui_orchestrator", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def load_checkpoint(repo: Path) -> dict:
    return tomllib.loads((repo / ".claude-tui" / "checkpoint.toml").read_text())


def load_report(repo: Path) -> dict:
    return json.loads((repo / ".claude-tui" / "report.json").read_text())


def write_config(path: Path, **settings: object) -> Path:
    import tomli_w

    path.write_text(tomli_w.dumps(settings))
    return path


def claude_manager(
    repo: Path,
    claude_bin: str,
    config: Config,
    *,
    env: dict[str, str] | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> Manager:
    """A manager over ``repo`` running ``claude_bin`` (the fake), with quick checkpoint
    writes: the engine as the integration tests drive it, without the command line."""
    setup = prepare_run(repo, config, backend="claude")
    return Manager(
        root=setup.root,
        checkpoint=setup.checkpoint,
        store=setup.store,
        runner=ClaudeRunner(claude_bin, env=env),
        config=config,
        instructions=setup.instructions,
        sizes=setup.sizes,
        on_event=on_event,
        logs_dir=repo / ".claude-tui" / "logs",
        write_delay=0.05,
    )


async def until_true(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    """Wait on the running loop until ``predicate`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)

