"""Every key of the plan view changes the plan file as it says, and undo puts it back."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from tui_orchestrator.engine.statedir import default_plan_path
from tui_orchestrator.ui.app import ClaudeTuiApp
from tui_orchestrator.ui.screens.modals import NameScreen, PickerScreen
from tui_orchestrator.ui.screens.plan import PlanScreen

SIZE = (120, 40)


async def settle(pilot: Pilot) -> None:
    """Let the app finish what a key started, saving the plan file included."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def plan_screen(app: ClaudeTuiApp) -> PlanScreen:
    screen = app.screen
    assert isinstance(screen, PlanScreen)
    return screen


async def point_tree_at(pilot: Pilot, path: str) -> None:
    screen = plan_screen(pilot.app)
    assert screen.tree.reveal(path) is not None, path
    screen.tree.focus()
    await pilot.pause()


async def point_table_at(pilot: Pilot, chunk: str) -> None:
    screen = plan_screen(pilot.app)
    screen.table.focus()
    screen.table.select_chunk(chunk)
    await pilot.pause()
    assert screen.table.selected_chunk == chunk


async def pick(pilot: Pilot, text: str) -> None:
    """Type into the open picker's filter and choose the first match."""
    assert isinstance(pilot.app.screen, PickerScreen)
    await pilot.press(*text, "enter")
    await settle(pilot)


async def undo_restores(pilot: Pilot, app: ClaudeTuiApp, saved_plan, plans_equal) -> None:
    await pilot.press("ctrl+z")
    await settle(pilot)
    assert plans_equal(saved_plan(), app.project.plan)


async def test_m_moves_the_selected_file_to_the_picked_chunk(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_tree_at(pilot, "src/config.py")
        await pilot.press("m")
        await pick(pilot, "web")
        plan = saved_plan()
        assert plan.owner_of("src/config.py") == "web"
        assert plan.chunk("web").files[-1] == "src/config.py"
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_m_moves_a_whole_folder(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_tree_at(pilot, "src/auth")
        await pilot.press("m")
        await pick(pilot, "lib")
        plan = saved_plan()
        assert plan.owner_of("src/auth/passwords.py") == "lib"
        assert plan.owner_of("src/auth/session.py") == "lib"
        assert not plan.has_chunk("src-auth")
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_m_on_the_chunk_list_moves_the_chunks_files(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_table_at(pilot, "lib")
        await pilot.press("m")
        await pick(pilot, "web")
        plan = saved_plan()
        assert not plan.has_chunk("lib")
        assert plan.owner_of("lib/store/cache.go") == "web"
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_escape_in_the_picker_changes_nothing(make_app, shopfront: Path):
    before = default_plan_path(shopfront).read_text()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_tree_at(pilot, "src/config.py")
        await pilot.press("m", "escape")
        await settle(pilot)
        assert isinstance(app.screen, PlanScreen)
        assert default_plan_path(shopfront).read_text() == before


async def test_s_splits_the_selected_chunk_in_half(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_table_at(pilot, "src-api")
        await pilot.press("s")
        await pick(pilot, "in half")
        plan = saved_plan()
        assert plan.chunk("src-api").files == ("src/api/__init__.py", "src/api/orders.py")
        assert plan.chunk("src-api-2").files == ("src/api/users.py",)
        assert plan.names.index("src-api-2") == plan.names.index("src-api") + 1
        await undo_restores(pilot, app, saved_plan, plans_equal)
        assert "Undone: split src-api" in [n.message for n in app._notifications]


async def test_s_splits_at_the_picked_file(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_table_at(pilot, "src-api")
        await pilot.press("s")
        await pick(pilot, "orders")
        plan = saved_plan()
        assert plan.chunk("src-api").files == ("src/api/__init__.py",)
        assert plan.chunk("src-api-2").files == ("src/api/orders.py", "src/api/users.py")
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_p_sets_the_priority_that_the_plan_file_keeps(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_table_at(pilot, "web")
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, NameScreen)
        await pilot.press("7", "enter")  # the value is selected: typing replaces it
        await settle(pilot)
        assert saved_plan().chunk("web").priority == 7
        assert any(" ↑7" in line for line in _table_text(app))
        await pilot.press("p")
        await settle(pilot)
        await pilot.press(*"soon", "enter")
        await settle(pilot)
        assert saved_plan().chunk("web").priority == 7  # not a number: nothing changes
        assert any("whole number" in n.message for n in app._notifications)
        await undo_restores(pilot, app, saved_plan, plans_equal)
        assert saved_plan().chunk("web").priority == 0


def _table_text(app: ClaudeTuiApp) -> list[str]:
    table = plan_screen(app).table
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_j_joins_the_picked_chunk_into_the_selected_one(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_table_at(pilot, "lib")
        await pilot.press("j")
        await pick(pilot, "src-auth")
        plan = saved_plan()
        assert not plan.has_chunk("src-auth")
        assert plan.chunk("lib").files == (
            "lib/store/cache.go",
            "lib/store/inventory.go",
            "src/auth/passwords.py",
            "src/auth/session.py",
        )
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_n_makes_a_new_chunk_with_the_default_name(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_tree_at(pilot, "src/auth")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NameScreen)
        await pilot.press("enter")
        await settle(pilot)
        plan = saved_plan()
        # "src-auth" is taken, so the default gets a number.
        assert plan.chunk("src-auth-2").files == ("src/auth/passwords.py", "src/auth/session.py")
        assert not plan.has_chunk("src-auth")
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_n_takes_a_typed_name(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_tree_at(pilot, "src/config.py")
        await pilot.press("n")
        await pilot.pause()
        # The default is selected, so typing replaces it.
        await pilot.press(*"settings", "enter")
        await settle(pilot)
        plan = saved_plan()
        assert plan.chunk("settings").files == ("src/config.py",)
        assert plan.names[-1] == "settings"
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_e_renames_the_selected_chunk(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_table_at(pilot, "web")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, NameScreen)
        await pilot.press(*"frontend", "enter")
        await settle(pilot)
        plan = saved_plan()
        assert not plan.has_chunk("web")
        assert plan.chunk("frontend").files == app.project.plan.chunk("web").files
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_x_excludes_then_includes_the_selection(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_tree_at(pilot, "src/config.py")
        await pilot.press("x")
        await settle(pilot)
        plan = saved_plan()
        assert plan.excluded == ("src/config.py",)
        assert plan.owner_of("src/config.py") is None
        await pilot.press("x")
        await settle(pilot)
        plan = saved_plan()
        assert plan.excluded == ()
        # Included again, it is unassigned (the plan file does not list those).
        assert plan.owner_of("src/config.py") is None
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert saved_plan().excluded == ("src/config.py",)
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_x_on_a_folder_excludes_every_file_below(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_tree_at(pilot, "web")
        await pilot.press("x")
        await settle(pilot)
        plan = saved_plan()
        assert set(plan.excluded) == {
            "web/api.ts",
            "web/components/Cart.tsx",
            "web/components/Search.tsx",
        }
        assert not plan.has_chunk("web")
        said = [n.message for n in app._notifications]
        assert any("chunk web had no file left and went too (ctrl+z undoes)" in m for m in said)
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_d_deletes_the_selected_chunk(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_table_at(pilot, "web")
        await pilot.press("d")
        await settle(pilot)
        plan = saved_plan()
        assert not plan.has_chunk("web")
        assert plan.owner_of("web/api.ts") is None
        assert set(app.editing.plan.unassigned) == set(app.project.plan.chunk("web").files)
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_ctrl_y_redoes_what_ctrl_z_undid(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_table_at(pilot, "web")
        await pilot.press("d")
        await settle(pilot)
        edited = saved_plan()
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert plans_equal(saved_plan(), app.project.plan)
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert plans_equal(saved_plan(), edited)
        # Each says what it took back or brought again.
        said = [n.message for n in app._notifications]
        assert "Undone: delete web" in said and "Redone: delete web" in said


async def test_b_at_the_root_rebalances_the_whole_repository(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_tree_at(pilot, "")
        await pilot.press("b")
        await pick(pilot, "equal")
        plan = saved_plan()
        assert plan.strategy == "equal"
        assert [len(c.files) for c in plan.chunks] == [3, 3, 3, 3]
        await undo_restores(pilot, app, saved_plan, plans_equal)
        assert saved_plan().strategy == "directory"


async def test_b_on_a_file_rebalances_its_folder_only(make_app, saved_plan, plans_equal):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_tree_at(pilot, "src/config.py")
        await pilot.press("b")
        await pick(pilot, "equal")
        plan = saved_plan()
        # The file's folder, src/, was re-partitioned; chunks outside it kept their files.
        assert plan.strategy == "directory"
        assert plan.chunk("lib") == app.project.plan.chunk("lib")
        assert plan.chunk("web") == app.project.plan.chunk("web")
        assert plan.chunk("scripts+src").files == ("scripts/deploy.sh",)
        src_chunks = [c for c in plan.chunks if c.files[0].startswith("src/")]
        assert [len(c.files) for c in src_chunks] == [3, 3]
        await undo_restores(pilot, app, saved_plan, plans_equal)


async def test_capital_r_calls_the_run_hook(make_app, monkeypatch):
    app = make_app()
    calls: list[str] = []
    monkeypatch.setattr(app, "action_run_all", lambda: calls.append("run"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await settle(pilot)
    assert calls == ["run"]


async def test_run_hook_says_the_engine_is_not_connected(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await settle(pilot)
        assert any("not connected" in n.message for n in app._notifications)


async def test_an_impossible_edit_is_an_error_notification(make_app, shopfront: Path):
    before = default_plan_path(shopfront).read_text()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_table_at(pilot, "web")
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*"lib", "enter")
        await settle(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert any("exists already" in n.message for n in errors)
        assert app.editing.plan is app.project.plan
        assert default_plan_path(shopfront).read_text() == before


async def test_a_skipped_path_cannot_be_moved(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await point_tree_at(pilot, "README.md")
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, PlanScreen)
        assert any("skipped by discovery" in n.message for n in app._notifications)


async def test_the_figures_follow_each_edit(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = plan_screen(app).table
        assert table.row_count == 5
        await point_table_at(pilot, "src-api")
        await pilot.press("s")
        await pick(pilot, "in half")
        assert table.row_count == 6
        assert table.names[3] == "src-api-2"
        assert table.selected_chunk == "src-api"


async def test_chunk_keys_with_no_chunk_left_only_say_so(make_app, saved_plan):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        plan_screen(app).table.focus()
        await pilot.press(*"ddddd")
        await settle(pilot)
        assert saved_plan().chunks == ()
        assert len(app.editing.plan.unassigned) == 12
        for key in "msjed":
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, PlanScreen), key
        assert any("There is no chunk" in n.message for n in app._notifications)
        # A new chunk from the tree still works, and takes every unassigned file.
        await point_tree_at(pilot, "")
        await pilot.press("n", "enter")
        await settle(pilot)
        assert len(saved_plan().chunk("shopfront").files) == 12
