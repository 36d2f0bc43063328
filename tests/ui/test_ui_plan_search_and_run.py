"""The plan view finds what the user names, and follows a run: status, order, time left."""

from __future__ import annotations

from tests.ui.conftest import until
from tests.ui.scripted import ScriptedRunner
from tests.ui.test_ui_plan_keys import SIZE, plan_screen, settle
from tui_orchestrator.engine.checkpoint import ChunkStatus
from tui_orchestrator.ui.tree_model import Kind


async def test_slash_steps_through_files_folders_and_chunks_by_name(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = plan_screen(app)
        await pilot.press("slash", *"api")
        await settle(pilot)
        count = str(screen.query_one("#plan-search-count").render())
        # src/api/ and web/api.ts in the tree; the chunk src-api in the list.
        assert count == "1 of 3 (2 files or folders, 1 chunk)"
        assert screen.tree.selected_entry.path == "src/api"
        assert screen.tree.selected_entry.kind == Kind.FOLDER
        await pilot.press("enter")
        await settle(pilot)
        assert screen.tree.selected_entry.path == "web/api.ts"
        # The folder the search opened for the first match closed again; the typing on
        # the way ("a", "ap") left none open either.
        assert not screen.tree.node_for("src").is_expanded
        assert not screen.tree.node_for("docs").is_expanded
        assert screen.table.selected_chunk == "web"  # the list follows the file's chunk
        await pilot.press("enter")
        await settle(pilot)
        assert screen.table.selected_chunk == "src-api"
        assert str(screen.query_one("#plan-search-count").render()).startswith("3 of 3")
        # Escape closes the bar and leaves the cursor where the search put it; the plan's
        # keys work again (no letter went into the plan).
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.has_class("-searching")
        assert app.focused is screen.tree
        await pilot.press("slash", *"zzz")
        await settle(pilot)
        assert str(screen.query_one("#plan-search-count").render()) == "no match"


async def test_the_chunk_list_runs_in_run_order_and_shows_each_chunks_status(
    make_run_app,
) -> None:
    runner = ScriptedRunner(fail={"scripts+src"}, hang={"lib"})
    app = make_run_app(runner)
    async with app.run_test(size=SIZE) as pilot:
        screen = plan_screen(app)
        # Priority first: web ↑2 starts before the others, whatever the plan's order.
        screen.table.focus()
        screen.table.select_chunk("web")
        await pilot.press("p")
        await pilot.press("ctrl+a", *"2", "enter")
        await settle(pilot)
        assert screen.table.names[0] == "web"
        assert not screen.table.status_of("web")  # no run yet: no status column
        line = str(screen.query_one("#makespan").render())
        assert line.startswith("Predicted ")
        await pilot.press("R")
        settled = {"web", "src-api", "src-auth", "scripts+src"}
        await until(
            pilot,
            lambda: all(app.manager.state(n).status.finished for n in settled),
            tries=400,
        )
        await pilot.press("1")  # back to the plan (R showed the workers)
        await pilot.pause(0.3)
        assert app.screen is screen
        assert screen.table.names[0] == "web"
        assert screen.table.status_of("web") == "done"
        assert screen.table.status_of("scripts+src") == "failed"
        assert screen.table.status_of("lib") == "running"
        line = str(screen.query_one("#makespan").render())
        # lib still runs: the line says what is left, predicted as the plan was.
        assert line.startswith("3 of 5 chunks done · left ~"), line
        assert line.endswith("with 4 workers · whole plan 41s"), line
        assert app.manager.state("lib").status is ChunkStatus.RUNNING
