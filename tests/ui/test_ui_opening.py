"""The app opens at once and reads the repository behind its first frame.

The plan view says how far the reading got; its keys wait for the plan; a quit meanwhile
stops the reading; bad input found by the reading closes the app with one line, exit 2.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from textual.widgets import Static

from tui_orchestrator.engine.discovery import Progress
from tui_orchestrator.engine.errors import PlanError
from tui_orchestrator.engine.lock import RepoLock
from tui_orchestrator.engine.plan import load_plan_file
from tui_orchestrator.engine.project import Project, open_project
from tui_orchestrator.engine.statedir import default_plan_path, state_dir
from tui_orchestrator.ui.app import ClaudeTuiApp
from tui_orchestrator.ui.opening import Opening
from tui_orchestrator.ui.screens.help import HelpScreen
from tui_orchestrator.ui.screens.plan import PlanScreen
from tui_orchestrator.ui.widgets.repo_tree import RepoTree

from .conftest import TEST_CONFIG, palette_titles, until

STEP = "12,288 paths listed"


class HeldOpening:
    """Opens the sample repository once released; until then stays at ``STEP``.

    Like discovery, it reports its step over and over, which is where a quit stops it.
    """

    def __init__(self, repo: Path, fail: Exception | None = None) -> None:
        self.repo = repo
        self.fail = fail
        self.go = threading.Event()
        self.stopped = threading.Event()

    def open(self, progress: Progress) -> tuple[Project, None]:
        try:
            while not self.go.wait(0.01):
                progress(STEP)
        except BaseException:
            self.stopped.set()
            raise
        if self.fail is not None:
            raise self.fail
        return open_project(self.repo, TEST_CONFIG), None

    def app(self, abandon=lambda: None) -> ClaudeTuiApp:  # type: ignore[no-untyped-def]
        return ClaudeTuiApp(opening=Opening(self.repo, TEST_CONFIG, self.open, abandon=abandon))


def _text(app: ClaudeTuiApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_the_plan_view_is_drawn_before_the_repository_is_read(shopfront: Path) -> None:
    held = HeldOpening(shopfront)
    app = held.app()
    plan_file = default_plan_path(shopfront)
    before = plan_file.read_bytes()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: STEP in _text(app, "#opening"))
        assert isinstance(app.screen, PlanScreen) and not app.opened
        assert "shopfront" in _text(app, "#totals") and STEP in _text(app, "#totals")
        # The plan keys wait for the plan; the other views for the run.
        await pilot.press("m", "x", "d", "R", "2")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen) and not app.screen.query(RepoTree)
        # Help and the palette work meanwhile, and list no plan key yet.
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        assert "Quit" in await palette_titles(pilot, "quit")
        await pilot.press("escape")
        assert "Move" not in await palette_titles(pilot, "move")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        held.go.set()
        # The tree takes the focus, as it does when the app opens a small repository.
        await until(pilot, lambda: isinstance(app.focused, RepoTree))
        tree = app.screen.query_one(RepoTree)
        assert "chunks" in _text(app, "#totals") and "Opening" not in _text(app, "#totals")
        # Now they work: exclude a file, and the plan file says so.
        assert tree.reveal("src/config.py") is not None
        await pilot.pause()
        await pilot.press("x")
        await until(pilot, lambda: plan_file.read_bytes() != before)
    assert load_plan_file(plan_file).excluded == ("src/config.py",)


async def test_keys_pressed_while_the_tree_is_built_do_no_harm(shopfront: Path, monkeypatch):
    """Between the plan read and the tree mounted, keys wait: none finds a missing tree."""
    built = asyncio.Event()
    real = PlanScreen.rebuild

    async def slow_rebuild(self: PlanScreen) -> None:
        await built.wait()
        await real(self)

    monkeypatch.setattr(PlanScreen, "rebuild", slow_rebuild)
    held = HeldOpening(shopfront)
    held.go.set()
    app = held.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.plan_read)
        assert not app.opened
        asyncio.get_running_loop().call_later(0.3, built.set)
        # Closing help redraws the plan view: it must find the tree, or wait for it.
        await pilot.press("question_mark", "escape")
        await until(pilot, lambda: isinstance(app.focused, RepoTree))
        assert app.opened and app.return_code is None and isinstance(app.screen, PlanScreen)


async def test_quitting_while_the_repository_is_read_stops_the_reading(shopfront: Path) -> None:
    held = HeldOpening(shopfront)
    app = held.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: STEP in _text(app, "#totals"))
        await pilot.press("q")
        await until(pilot, lambda: held.stopped.is_set())
    assert app.return_code == 0 and not app.opened


async def test_a_hang_up_while_the_repository_is_read_frees_the_lock(shopfront: Path) -> None:
    lock = RepoLock(state_dir(shopfront))
    lock.acquire()
    held = HeldOpening(shopfront)
    app = held.app(abandon=lock.release)
    left: list[int] = []
    app.leave_now = left.append
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: STEP in _text(app, "#totals"))
        app._hung_up()  # what the loop's SIGHUP handler calls
        await until(pilot, lambda: left == [130])
        assert not lock.path.exists()


async def test_bad_input_found_by_the_reading_closes_the_app_with_it(shopfront: Path) -> None:
    problem = PlanError("plan.toml: line 3: expected '='")
    held = HeldOpening(shopfront, fail=problem)
    held.go.set()
    app = held.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 2 and app.open_error is problem


def _run_until_it_ends(monkeypatch: pytest.MonkeyPatch, quit_once_open: bool) -> None:
    """`claude-tui REPO` as the command line starts it, quitting as soon as it can."""

    def run(self: ClaudeTuiApp) -> None:
        async def go() -> None:
            async with self.run_test(size=(80, 24)) as pilot:
                await until(pilot, lambda: self.opened or self.return_code is not None)
                if quit_once_open and self.return_code is None:
                    await pilot.press("q")

        asyncio.run(go())

    monkeypatch.setattr(ClaudeTuiApp, "run", run)


def test_an_unreadable_plan_file_is_one_line_and_exit_2(shopfront: Path, monkeypatch, capsys):
    from tui_orchestrator.cli import main

    broken = shopfront / "broken-plan.toml"
    broken.write_text("[[chunk]\nname = 'x'\n", encoding="utf-8")
    _run_until_it_ends(monkeypatch, quit_once_open=False)
    assert main(["--demo", str(shopfront), "--plan", str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken-plan.toml" in err[0], err
    assert broken.read_text(encoding="utf-8") == "[[chunk]\nname = 'x'\n"
    # The lock is free again: the next start opens.
    _run_until_it_ends(monkeypatch, quit_once_open=True)
    assert main(["--demo", str(shopfront)]) == 0


def test_nothing_to_review_is_one_line_and_leaves_no_state_folder(
    tmp_path, config_dir, monkeypatch, capsys
):
    from tui_orchestrator.cli import main

    repo = tmp_path / "notes"
    repo.mkdir()
    (repo / "README.md").write_text("no code here\n", encoding="utf-8")
    _run_until_it_ends(monkeypatch, quit_once_open=False)
    assert main(["--demo", str(repo)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing to analyze" in err[0], err
    assert sorted(p.name for p in repo.iterdir()) == ["README.md"]
