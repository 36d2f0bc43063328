"""The app shell: views, help, palette, themes, quitting, and the lazy tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Label

from tui_orchestrator.engine.statedir import default_plan_path
from tui_orchestrator.ui.app import ClaudeTuiApp
from tui_orchestrator.ui.screens.help import HelpScreen, binding_sections
from tui_orchestrator.ui.screens.issues import IssuesScreen
from tui_orchestrator.ui.screens.plan import PlanScreen
from tui_orchestrator.ui.screens.workers import WorkersScreen
from tui_orchestrator.ui.tree_model import TagKind

from .conftest import drive_the_app, palette_titles, until

SIZE = (120, 40)


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_number_keys_switch_views(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, PlanScreen)
        await pilot.press("2")
        assert isinstance(app.screen, WorkersScreen)
        await pilot.press("3")
        assert isinstance(app.screen, IssuesScreen)
        await pilot.press("1")
        assert isinstance(app.screen, PlanScreen)


async def test_clicking_a_tab_switches_views(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("ViewTabs #issues")
        await pilot.pause()
        assert isinstance(app.screen, IssuesScreen)
        await pilot.click("ViewTabs #plan")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)


async def test_placeholders_say_what_will_appear(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        text = str(app.screen.query_one("#workers-placeholder").render())
        assert "progress bar" in text and "pause" in text
        await pilot.press("3")
        text = str(app.screen.query_one("#issues-empty").render())
        assert "appear here as chunks finish" in text


async def test_every_view_shows_the_totals(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for key in "123":
            await pilot.press(key)
            totals = str(app.screen.query_one("#totals").render())
            assert "shopfront" in totals
            assert "5 chunks" in totals
            assert "12 files" in totals
            assert "3 skipped" in totals  # README.md, docs/architecture.md, .gitignore


async def test_question_mark_lists_every_plan_key(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = [str(label.render()) for label in app.screen.query(Label)]
        for key, description in [
            ("m", "Move"),
            ("s", "Split"),
            ("j", "Join"),
            ("n", "New"),
            ("e", "Rename"),
            ("x", "Exclude"),
            ("d", "Delete"),
            ("b", "Balance"),
            ("^z", "Undo"),
            ("^y", "Redo"),
            ("R", "Run"),
            ("1", "Plan"),
            ("? f1", "Help"),
            ("q", "Quit"),
        ]:
            assert key in shown, key
            assert description in shown, description
        await pilot.press("escape")
        assert isinstance(app.screen, PlanScreen)


async def test_help_follows_a_remapped_key(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.set_keymap({"plan.move": "M"})
        await pilot.pause()
        sections = binding_sections(app.screen)
        plan = next(s for s in sections if s.title == "Plan view")
        move = next(row for row in plan.rows if row.action == "move")
        assert move.keys == ["M"]


async def test_f1_opens_help_too(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)


async def test_palette_offers_the_plan_actions(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        titles = await palette_titles(pilot, "split")
        assert any("Split" in title for title in titles)


async def test_palette_runs_an_action(make_app, saved_plan):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # The chunk list's cursor starts on the first chunk (the first to run).
        first = app.screen.table.names[0]
        await palette_titles(pilot, "delete")
        await pilot.press("enter")
        await settle(pilot)
        assert not saved_plan().has_chunk(first)
        assert len(saved_plan().chunks) == 4


async def test_ctrl_t_switches_theme_and_saves_it(make_app, config_dir: Path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "claude-tui-dark"
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.theme == "claude-tui-light"
    saved = tomllib.loads((config_dir / "config.toml").read_text())
    assert saved["theme"] == "claude-tui-light"


async def test_a_theme_picked_in_the_palette_is_saved(make_app, config_dir: Path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.theme = "nord"
        await settle(pilot)
    assert tomllib.loads((config_dir / "config.toml").read_text())["theme"] == "nord"


async def test_starting_does_not_write_the_config(make_app, config_dir: Path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert not (config_dir / "config.toml").exists()


async def test_the_configured_theme_is_used(make_app):
    app = make_app(theme="claude-tui-midnight")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "claude-tui-midnight"


async def test_an_unknown_theme_falls_back_with_a_notice(make_app, config_dir: Path):
    app = make_app(theme="no-such-theme")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "claude-tui-dark"
        assert any("no-such-theme" in n.message for n in app._notifications)
    # The user's setting is left as it was.
    assert not (config_dir / "config.toml").exists()


async def test_q_saves_a_computed_plan_and_quits(
    make_app, shopfront: Path, saved_plan, plans_equal
):
    default_plan_path(shopfront).unlink()
    app = make_app()
    assert app.project.plan_source.startswith("computed")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert plans_equal(saved_plan(), app.project.plan)


async def test_q_saves_the_last_edit(make_app, saved_plan):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.screen.table.select_chunk("web")
        await pilot.press("d", "q")
        await pilot.pause()
    assert app.return_code == 0
    assert not saved_plan().has_chunk("web")


async def test_q_leaves_an_unchanged_plan_file_alone(make_project, shopfront: Path):
    project = make_project()
    before = default_plan_path(shopfront).stat().st_mtime_ns
    app = ClaudeTuiApp(project)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert default_plan_path(shopfront).stat().st_mtime_ns == before


async def test_q_in_a_dialog_does_not_quit(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None


async def test_lines_are_counted_after_the_first_frame(make_app):
    app = make_app()
    assert not app.editing.lines_ready
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.editing.lines_ready
        figures = app.editing.figures
        assert all(row.lines for row in figures.chunks)
        assert sum(row.lines or 0 for row in figures.chunks) == 166


async def test_folders_load_only_when_expanded(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.screen.query_one("#tree")
        src = tree.node_for("src")
        assert src is not None and not src.children
        tree.move_cursor(src)
        await pilot.press("space")
        await pilot.pause()
        assert [child.data.name for child in src.children] == ["api", "auth", "config.py"]


async def test_tree_tags_follow_the_plan(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tags = app.editing.tags
        assert tags.of_folder("lib").chunk == "lib"
        assert tags.of_folder("src").kind == TagKind.MIXED
        assert tags.of_folder("docs") is None
        screen = app.screen
        screen.tree.reveal("src/config.py")
        await pilot.press("x")
        await settle(pilot)
        assert app.editing.tags.of_file("src/config.py").kind == TagKind.EXCLUDED


async def test_clicking_a_chunk_selects_it_and_shows_its_files(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Row 0 of the list is its header; the third chunk is on line 3.
        screen = app.screen
        third = screen.table.names[2]
        await pilot.click("#chunks", offset=(3, 3))
        await pilot.pause()
        assert screen.table.selected_chunk == third
        first_file = app.editing.plan.chunk(third).files[0]
        assert screen.tree.cursor_node.data.path == first_file


async def test_the_tree_cursor_selects_its_chunk_in_the_list(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.tree.reveal("web/api.ts")
        await pilot.pause()
        assert screen.table.selected_chunk == "web"


async def test_switching_views_does_not_pile_up_footer_keys(make_app):
    """Every view switch rebuilds the footer's keys; the old ones must be freed (a leak of
    Textual's Footer kept them all: 536 MB after 10 minutes of the UI benchmark)."""
    import gc

    from textual.widgets._footer import FooterKey

    def footer_keys() -> int:
        gc.collect()
        return sum(isinstance(o, FooterKey) for o in gc.get_objects())

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for key in "231":
            await pilot.press(key)
        await settle(pilot)
        before = footer_keys()
        for _ in range(6):
            for key in "231":
                await pilot.press(key)
        await settle(pilot)
        assert footer_keys() <= before + 20  # one footer's worth of slack, not 18 rebuilds


def test_the_app_writes_the_report_asked_for_when_the_user_quits(
    shopfront: Path, tmp_path: Path, monkeypatch
) -> None:
    import json

    from tui_orchestrator.cli import main
    from tui_orchestrator.engine.demo import DemoRunner

    monkeypatch.setattr(DemoRunner.__init__, "__defaults__", (50.0, 0.0))  # fast, no failure

    async def review_then_quit(app: ClaudeTuiApp, pilot: Pilot) -> None:
        await pilot.press("R")
        for _ in range(400):
            if app.run_started and app.manager is not None and not app.manager.active:
                break
            await pilot.pause(0.05)
        await pilot.press("q")

    drive_the_app(monkeypatch, review_then_quit)
    out = tmp_path / "reports" / "review.sarif"
    assert main(["--demo", str(shopfront), "--report", str(out)]) == 0
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    assert len(sarif["runs"][0]["results"]) > 0


def test_fail_on_is_refused_by_the_app(shopfront: Path, capsys) -> None:
    from tui_orchestrator.cli import main

    assert main(["--demo", str(shopfront), "--fail-on", "high"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "claude-tui run" in err[0]


def test_opening_the_app_walks_the_repository_once(shopfront: Path, monkeypatch) -> None:
    """The plan view and the run share one discovery, on a first start and on a resume."""
    from tui_orchestrator.cli import main
    from tui_orchestrator.engine import discovery, project, run_setup
    from tui_orchestrator.engine.demo import DemoRunner

    monkeypatch.setattr(DemoRunner.__init__, "__defaults__", (50.0, 0.0))
    walks: list[Path] = []
    real = discovery.discover

    def counted(root, config, progress=None, only=None):  # type: ignore[no-untyped-def]
        walks.append(root)
        return real(root, config, progress, only)

    monkeypatch.setattr(project, "discover", counted)
    monkeypatch.setattr(run_setup, "discover", counted)

    async def run_one_then_quit(app: ClaudeTuiApp, pilot: Pilot) -> None:
        if not app.run_started:
            await pilot.press("R")
            for _ in range(400):
                if app.run_started and app.manager is not None and not app.manager.active:
                    break
                await pilot.pause(0.05)
        await pilot.press("q")

    drive_the_app(monkeypatch, run_one_then_quit)
    checkpoint = shopfront / ".claude-tui" / "checkpoint.toml"
    assert main(["--demo", str(shopfront)]) == 0
    assert len(walks) == 1 and checkpoint.is_file()
    walks.clear()
    assert main(["--demo", str(shopfront)]) == 0  # resumes the checkpoint
    assert len(walks) == 1


def test_without_a_path_the_app_opens_the_git_repository_it_is_started_in(
    shopfront: Path, monkeypatch
) -> None:
    from tui_orchestrator.cli import main

    (shopfront / ".git").mkdir()
    monkeypatch.chdir(shopfront / "src")
    opened: list[Path] = []

    async def look_then_quit(app: ClaudeTuiApp, pilot: Pilot) -> None:
        opened.append(app.project.root)
        await pilot.press("q")

    drive_the_app(monkeypatch, look_then_quit)
    assert main(["--demo"]) == 0
    assert opened == [shopfront.resolve()]


def test_without_a_path_outside_a_repository_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    from tui_orchestrator.cli import main

    folder = tmp_path / "notes"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert main(["--demo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "in no git repository" in err[0] and "claude-tui PATH" in err[0]
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("run_it", [True, False], ids=["after-a-run", "before-any-run"])
def test_q_leaves_one_line_saying_what_was_saved_and_where(
    shopfront: Path, monkeypatch, capsys, run_it: bool
) -> None:
    from tui_orchestrator.cli import main
    from tui_orchestrator.engine.demo import DemoRunner

    monkeypatch.setattr(DemoRunner.__init__, "__defaults__", (50.0, 0.0))  # fast, no failure

    async def maybe_run_then_quit(app: ClaudeTuiApp, pilot: Pilot) -> None:
        if run_it:
            await pilot.press("R")
            await until(pilot, lambda: app.run_started and not app.manager.active, tries=1000)
        await pilot.press("q")

    drive_the_app(monkeypatch, maybe_run_then_quit)
    monkeypatch.chdir(shopfront)  # paths are shown as the user can use them from here
    assert main(["--demo", str(shopfront)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    if run_it:
        assert err == ["claude-tui: saved .claude-tui/checkpoint.toml (5 of 5 chunks done)"]
    else:
        assert err == ["claude-tui: your plan is in .claude-tui/plan.toml; nothing ran yet"]
    elsewhere = shopfront.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not below it: the whole path
    drive_the_app(monkeypatch, maybe_run_then_quit)
    assert main(["--demo", str(shopfront)]) == 0
    assert str(shopfront / ".claude-tui") in capsys.readouterr().err
