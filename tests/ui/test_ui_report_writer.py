"""Every report claude-tui writes goes through one engine function, ``write_report``.

`claude-tui report`, the end of `claude-tui run`, the app's quit with ``--report`` and the
issues view's export: one writer, so a rule about where a report may go (never over a file
git tracks, atomically, our folder's .gitignore) holds for all four.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tui_orchestrator.cli import main
from tui_orchestrator.engine import report_file
from tui_orchestrator.engine.demo import DemoRunner
from tui_orchestrator.ui.app import ClaudeTuiApp
from tui_orchestrator.ui.screens.modals import NameScreen, PickerScreen

from .conftest import drive_the_app, until
from .scripted import ScriptedRunner


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The reports written, as (target, text), through the real writer."""
    calls: list[tuple[str, str]] = []
    real = report_file.write_report

    def spy(target: str | Path, text: str) -> str:
        calls.append((str(target), text))
        return real(target, text)

    monkeypatch.setattr(report_file, "write_report", spy)
    return calls


@pytest.fixture
def fast_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DemoRunner.__init__, "__defaults__", (50.0, 0.0))  # fast, no failure


def test_run_and_report_write_through_the_one_writer(
    shopfront: Path, tmp_path: Path, written: list[tuple[str, str]], fast_demo: None
) -> None:
    assert main(["run", "--demo", str(shopfront)]) == 0
    report = shopfront / ".claude-tui" / "report.json"
    assert [target for target, _ in written] == [str(report)]
    assert json.loads(report.read_text())["totals"]["chunks"] == 5

    out = tmp_path / "review.md"
    checkpoint = shopfront / ".claude-tui" / "checkpoint.toml"
    assert main(["report", str(checkpoint), "--out", str(out)]) == 0
    assert [target for target, _ in written][1:] == [str(out)]
    assert out.read_text().startswith("# claude-tui report: shopfront")


def test_the_apps_quit_writes_through_the_one_writer(
    shopfront: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    written: list[tuple[str, str]],
    fast_demo: None,
) -> None:
    async def review_then_quit(app: ClaudeTuiApp, pilot: Pilot) -> None:
        await pilot.press("R")
        await until(pilot, lambda: app.run_started and not app.manager.active, tries=1000)
        await pilot.press("q")

    drive_the_app(monkeypatch, review_then_quit)
    out = tmp_path / "review.sarif"
    assert main(["--demo", str(shopfront), "--report", str(out)]) == 0
    assert [target for target, _ in written] == [str(out)]
    assert json.loads(out.read_text())["version"] == "2.1.0"


async def test_the_export_writes_through_the_one_writer(
    make_run_app, shopfront: Path, written: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tui_orchestrator.engine.pool.STAGGER_S", 0.0)
    monkeypatch.setattr("tui_orchestrator.engine.pool.LAUNCH_GAP_S", 0.0)
    app = make_run_app(ScriptedRunner())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: app.run_started and not app.manager.active)
        await pilot.press("3", "E")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"json", "enter")
        await until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press("enter")  # the proposed path
        path = shopfront / ".claude-tui" / "report.json"
        await until(pilot, path.exists)
    assert [target for target, _ in written] == [str(path)]
    assert len(json.loads(written[0][1])["issues"]) == 12
