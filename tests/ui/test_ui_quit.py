"""Quitting the app ends the run's connections: a remote runner is closed on the app's loop."""

from __future__ import annotations

from pathlib import Path

from tests.ui.scripted import ScriptedRunner
from tui_orchestrator.engine.project import open_project
from tui_orchestrator.engine.run_session import RunOptions, RunSession
from tui_orchestrator.ui.app import ClaudeTuiApp

from .conftest import TEST_CONFIG


class ClosingRunner(ScriptedRunner):
    """A runner with a connection to close, as the Dask executor's."""

    closed: int = 0

    async def aclose(self) -> None:
        self.closed += 1


async def test_quit_closes_the_runner_after_pausing_the_workers(shopfront: Path) -> None:
    runner = ClosingRunner(hang={"web", "lib", "src-api", "src-auth", "scripts+src"})
    project = open_project(shopfront, TEST_CONFIG)
    run = RunSession(shopfront, TEST_CONFIG, runner, RunOptions(headless=False))
    run.open()
    try:
        app = ClaudeTuiApp(project, run=run)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("R")
            for _ in range(200):
                if app.manager.running:
                    break
                await pilot.pause(0.02)
            assert app.manager.running and runner.closed == 0
            await pilot.press("q")
            await pilot.pause(0.3)
            assert not app.manager.running
            assert runner.closed == 1
    finally:
        run.close()
