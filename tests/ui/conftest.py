"""Fixtures for the app's tests: the bundled sample repository, copied, and a test config.

The copy always lives at ``<tmp>/shopfront`` so nothing on screen (or in a snapshot)
depends on the temporary folder's name, and it carries a fixed plan file; the user config
goes to a folder of its own through CLAUDE_TUI_CONFIG_DIR, so no test reads or writes the
real one.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

import tui_orchestrator
from tui_orchestrator.engine.config import ENV_CONFIG_DIR, Config
from tui_orchestrator.engine.open_run import OpenRun, RunOptions
from tui_orchestrator.engine.plan import Plan, load_plan_file
from tui_orchestrator.engine.project import Project, open_project
from tui_orchestrator.engine.runner import Runner
from tui_orchestrator.engine.statedir import default_plan_path
from tui_orchestrator.ui.app import ClaudeTuiApp

SAMPLE_REPO = Path(tui_orchestrator.__file__).parent / "sample_repo"

# Limits for re-balancing: three files a chunk.
TEST_CONFIG = Config(max_files_per_chunk=3, verify="off")

# A fixed plan, so the tests do not move when the partition strategies are tuned.
PLAN_TOML = """\
version = 1
strategy = "directory"
max_files_per_chunk = 3
excluded = []

[[chunks]]
name = "lib"
files = ["lib/store/cache.go", "lib/store/inventory.go"]

[[chunks]]
name = "scripts+src"
files = ["scripts/deploy.sh", "src/config.py"]

[[chunks]]
name = "src-api"
files = ["src/api/__init__.py", "src/api/orders.py", "src/api/users.py"]

[[chunks]]
name = "src-auth"
files = ["src/auth/passwords.py", "src/auth/session.py"]

[[chunks]]
name = "web"
files = ["web/api.ts", "web/components/Cart.tsx", "web/components/Search.tsx"]
"""


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv(ENV_CONFIG_DIR, str(folder))
    return folder


@pytest.fixture
def shopfront(tmp_path: Path, config_dir: Path) -> Path:
    repo = tmp_path / "shopfront"
    shutil.copytree(SAMPLE_REPO, repo)
    plan_file = default_plan_path(repo)
    plan_file.parent.mkdir()
    plan_file.write_text(PLAN_TOML, encoding="utf-8")
    return repo


@pytest.fixture
def make_project(shopfront: Path) -> Callable[..., Project]:
    def make(**settings: object) -> Project:
        return open_project(shopfront, TEST_CONFIG.replace(**settings))

    return make


async def until(pilot, predicate: Callable[[], object], tries: int = 300) -> None:
    """Wait (up to about six seconds) until the app shows what ``predicate`` looks for."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError("the app did not get there")


async def palette_titles(pilot: Pilot, query: str) -> list[str]:
    """Open the palette, type ``query``, and read the titles it offers."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press(*query)
    palette = pilot.app.screen
    group = CommandPalette._GATHER_COMMANDS_GROUP

    def searched() -> bool:
        # The query is in, and the search it started has ended.
        typed = palette.query_one(Input).value == query
        return typed and not any(w.group == group and not w.is_finished for w in pilot.app.workers)

    for _ in range(100):
        await pilot.pause(0.05)
        if searched():
            await pilot.pause(0.05)
            if searched():
                break
    else:
        raise AssertionError(f"the palette's search for {query!r} did not end")
    options = palette.query_one("CommandList")
    return [
        str(options.get_option_at_index(i).prompt).split("\n")[0]
        for i in range(options.option_count)
    ]


class FixedIds:
    """Session ids in order (0000001-…), so a run shows the same ids every time."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)

    def uuid4(self) -> str:
        return f"0000{next(self.counter):04d}-0000-4000-8000-000000000000"


@pytest.fixture
def make_run_app(
    shopfront: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., ClaudeTuiApp]]:
    """An app over the sample repository with a real manager and the given runner."""
    monkeypatch.setattr("tui_orchestrator.engine.chunk_book.uuid", FixedIds())
    sessions: list[OpenRun] = []

    def make(runner: Runner, demo: bool = False, **settings: object) -> ClaudeTuiApp:
        config = TEST_CONFIG.replace(**settings)
        project = open_project(shopfront, config)
        run = OpenRun(shopfront, config, runner, RunOptions(headless=False))
        run.open(project)
        sessions.append(run)
        assert run.manager is not None
        run.manager.writer.delay = 0.01
        return ClaudeTuiApp(project, run=run, demo=demo)

    yield make
    for run in sessions:
        run.close()


@pytest.fixture
def make_app(make_project: Callable[..., Project]) -> Callable[..., ClaudeTuiApp]:
    def make(**settings: object) -> ClaudeTuiApp:
        return ClaudeTuiApp(make_project(**settings))

    return make


@pytest.fixture
def saved_plan(shopfront: Path) -> Callable[[], Plan]:
    """Reads the plan file the app writes into the repository."""

    def read() -> Plan:
        return load_plan_file(default_plan_path(shopfront))

    return read


def same_plan(a: Plan, b: Plan) -> bool:
    """Equal as the plan file records them (chunks in order, excluded, strategy)."""
    return (a.chunks, a.excluded, a.strategy) == (b.chunks, b.excluded, b.strategy)


@pytest.fixture
def plans_equal() -> Callable[[Plan, Plan], bool]:
    return same_plan


def drive_the_app(monkeypatch, journey) -> None:
    """`claude-tui REPO` as the command line starts it, with ``journey`` as the user."""
    def run(self: ClaudeTuiApp) -> None:
        async def go() -> None:
            async with self.run_test(size=(120, 40)) as pilot:
                # The repository is read behind the first frame; the plan keys wait for it.
                await until(pilot, lambda: self.opened)
                await journey(self, pilot)

        asyncio.run(go())

    monkeypatch.setattr(ClaudeTuiApp, "run", run)


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC in the app's tests: snapshots show the same clock everywhere."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
