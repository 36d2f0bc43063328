"""`claude-tui REPO --since REF --baseline OLD.json`: the app on a change review.

The plan holds the changed files only and the header says what is reviewed; the issues
view filters by the baseline state (``state:``) and by the change (``diff:``), counts both
in its title, and the details say them (docs/change-review.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.support.git import git
from tests.ui.scripted import ScriptedRunner
from tui_orchestrator.engine.baseline import Baseline
from tui_orchestrator.engine.changes import changes_since
from tui_orchestrator.engine.fingerprint import fingerprint, repo_id
from tui_orchestrator.engine.open_run import OpenRun, RunOptions
from tui_orchestrator.engine.project import open_project
from tui_orchestrator.engine.statedir import default_plan_path, since_plan_path
from tui_orchestrator.ui.app import ClaudeTuiApp
from tui_orchestrator.ui.screens.finding import FindingScreen
from tui_orchestrator.ui.screens.issues import IssuesScreen
from tui_orchestrator.ui.widgets.status_line import StatusLine

from .conftest import TEST_CONFIG, FixedIds, until

SIZE = (120, 40)


@pytest.fixture
def changed(shopfront: Path) -> Path:
    """The sample repository committed, then three files changed: the scripted runner's
    finding (line 3 of each file) is on a changed line in two of them."""
    git(shopfront, "init", "-q", "-b", "main")
    git(shopfront, "add", "-A")
    git(shopfront, "commit", "-qm", "base")
    users = shopfront / "src" / "api" / "users.py"
    lines = users.read_text().splitlines(keepends=True)
    lines[2] = "# changed on this branch\n"
    users.write_text("".join(lines))
    orders = shopfront / "src" / "api" / "orders.py"
    orders.write_text(orders.read_text() + "# a line at the end\n")
    (shopfront / "web" / "extra.ts").write_text("export const a = 1;\nexport const b = 2;\n")
    return shopfront


async def test_the_app_reviews_the_change_and_filters_by_baseline_state_and_diff(
    changed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tui_orchestrator.engine.chunk_book.uuid", FixedIds())
    monkeypatch.setattr("tui_orchestrator.engine.pool.STAGGER_S", 0.0)
    monkeypatch.setattr("tui_orchestrator.engine.pool.LAUNCH_GAP_S", 0.0)
    plan_before = default_plan_path(changed).read_bytes()
    since = changes_since(changed, "main")
    # The earlier report had the finding in users.py, graver: it is updated.
    title = "problem in src/api/users.py"
    known = fingerprint(changed, "src/api/users.py", 3, title)
    baseline = Baseline(
        "old.json", repo_id(changed), {known: {"severity": "critical", "title": title}}
    )
    project = open_project(changed, TEST_CONFIG, since=since)
    assert project.discovery.paths == ["src/api/orders.py", "src/api/users.py", "web/extra.ts"]
    run = OpenRun(
        changed,
        TEST_CONFIG,
        ScriptedRunner(),
        RunOptions(headless=False, since=since, baseline=baseline),
    )
    run.open(project)
    app = ClaudeTuiApp(project, run=run)
    try:
        async with app.run_test(size=SIZE) as pilot:
            header = str(app.query_one(StatusLine).render())
            assert "changes since main" in header and "3 files" in header
            await pilot.press("R")
            await until(pilot, lambda: app.run_started and not app.manager.active)
            assert "changes since main" in str(app.query_one(StatusLine).render())
            await pilot.press("3")
            await until(pilot, lambda: isinstance(app.screen, IssuesScreen))
            screen = app.screen
            await until(pilot, lambda: len(screen.rows) == 3)
            table = screen.query_one("#issues-table", DataTable)
            assert "2 new · 1 updated · 2 on changed lines" in str(table.border_title)
            await pilot.press("slash", *"state:new", "enter")
            assert sorted(f.file for f in screen.rows) == ["src/api/orders.py", "web/extra.ts"]
            await pilot.press("slash", "ctrl+u", *"state:upd", "enter")
            assert [f.file for f in screen.rows] == ["src/api/users.py"]
            await pilot.press("slash", "ctrl+u", *"diff:no", "enter")
            assert [f.file for f in screen.rows] == ["src/api/orders.py"]
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, FindingScreen))
            meta = str(app.screen.query_one(".meta").render())
            assert "new since the baseline" in meta and "not on a changed line" in meta
            await pilot.press("escape")
            await pilot.press("slash", "ctrl+u", *"diff:yes", "enter")
            assert sorted(f.file for f in screen.rows) == ["src/api/users.py", "web/extra.ts"]
        await app.flush_plan()
    finally:
        run.close()
    # The full review's plan is the user's: untouched; the change review's is its own.
    assert default_plan_path(changed).read_bytes() == plan_before
    assert since_plan_path(changed).is_file()
    assert (changed / ".claude-tui" / "since" / "checkpoint.toml").is_file()
    assert not (changed / ".claude-tui" / "checkpoint.toml").exists()


def test_claude_tui_repo_since_opens_the_plan_on_the_changed_files(
    changed: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The command line's way in: `claude-tui REPO --since REF` (launch.py)."""
    from tui_orchestrator.cli import main

    from .conftest import drive_the_app

    seen: dict[str, object] = {}

    async def look(app: ClaudeTuiApp, pilot) -> None:
        seen["files"] = sorted(app.editing.plan.all_files())
        seen["header"] = str(app.query_one(StatusLine).render())
        await pilot.press("q")

    drive_the_app(monkeypatch, look)
    assert main(["--demo", str(changed), "--since", "main"]) == 0
    assert seen["files"] == ["src/api/orders.py", "src/api/users.py", "web/extra.ts"]
    assert "changes since main" in str(seen["header"])
    assert "/.claude-tui/since/plan.toml; nothing ran yet" in capsys.readouterr().err

    async def run_and_quit(app: ClaudeTuiApp, pilot) -> None:
        await pilot.press("R")
        await until(pilot, lambda: app.run_started)
        await pilot.press("q")

    drive_the_app(monkeypatch, run_and_quit)
    assert main(["--demo", str(changed), "--since", "main"]) == 0
    farewell = capsys.readouterr().err
    assert "/.claude-tui/since/checkpoint.toml (" in farewell
    assert "--since main` goes on" in farewell


def test_the_app_refuses_a_ref_that_does_not_resolve(changed: Path, capsys) -> None:
    from tui_orchestrator.cli import main

    assert main(["--demo", str(changed), "--since", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--since nope: no such commit" in err[0]


def test_the_app_on_a_change_with_nothing_to_review_says_so_and_exits_0(
    shopfront: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import asyncio

    from tui_orchestrator.cli import main

    git(shopfront, "init", "-q", "-b", "main")
    git(shopfront, "add", "-A")
    git(shopfront, "commit", "-qm", "base")
    (shopfront / "README.md").write_text("# docs only\n")

    def run(self: ClaudeTuiApp) -> None:
        async def go() -> None:
            async with self.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: self.return_code is not None)

        asyncio.run(go())

    monkeypatch.setattr(ClaudeTuiApp, "run", run)
    assert main(["--demo", str(shopfront), "--since", "main"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing to review since main" in err[0], err
    assert not (shopfront / ".claude-tui" / "since").exists()
