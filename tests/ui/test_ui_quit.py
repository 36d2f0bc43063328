"""Quitting the app ends the run's connections: a remote runner is closed on the app's loop."""

from __future__ import annotations

from tests.ui.scripted import ScriptedRunner


class ClosingRunner(ScriptedRunner):
    """A runner with a connection to close, as the Dask executor's."""

    closed: int = 0

    async def aclose(self) -> None:
        self.closed += 1


async def test_quit_closes_the_runner_after_pausing_the_workers(make_run_app) -> None:
    runner = ClosingRunner(hang={"web", "lib", "src-api", "src-auth", "scripts+src"})
    app = make_run_app(runner)
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
